//! The answers the endpoints send: JSON bodies, OAuth error bodies (RFC 6749 §5.2), and the
//! plain 401/404/405/413 cases. Every builder is infallible (headers are set on a built
//! response), so no handler can fail to answer.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// The body type of every answer.
pub type Body = Full<Bytes>;

/// How long a client may cache the JWKS (`Cache-Control: max-age`), in seconds: short, so a
/// new signing key is seen soon after a rotation.
pub const JWKS_MAX_AGE: u32 = 60;

/// Caching rules of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// `Cache-Control: no-store` and `Pragma: no-cache`: the answer carries or describes a
    /// credential (RFC 6749 §5.1).
    NoStore,
    /// `Cache-Control: public, max-age=N`.
    MaxAge(u32),
}

/// A JSON answer.
pub fn json(status: StatusCode, value: &Value, caching: Caching) -> Response<Body> {
    let text = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    json_text(status, text, caching)
}

/// A JSON answer from already serialized text.
pub fn json_text(status: StatusCode, text: Vec<u8>, caching: Caching) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    match caching {
        Caching::NoStore => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        }
        Caching::MaxAge(seconds) => {
            if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={seconds}")) {
                headers.insert(header::CACHE_CONTROL, value);
            }
        }
    }
    response
}

/// An OAuth error answer: `{"error": code, "error_description": description}`.
pub fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response<Body> {
    json(
        status,
        &json!({ "error": code, "error_description": description }),
        Caching::NoStore,
    )
}

/// 401 for a POST without a usable bearer key: `WWW-Authenticate: Bearer realm="auth-hub"`
/// (RFC 6750 §3), with `error="invalid_token"` when a credential was sent but refused; the
/// body is the RFC 6749 `invalid_client` error.
pub fn unauthorized(sent: bool, description: &str) -> Response<Body> {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    let challenge = if sent {
        "Bearer realm=\"auth-hub\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"auth-hub\""
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// 404 for a path the hub does not serve.
pub fn not_found() -> Response<Body> {
    oauth_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "the hub serves /.well-known/jwks.json, /introspect and /token",
    )
}

/// 405 with the methods the path allows.
pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = oauth_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("this path allows {allow}"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_store_answers_say_so_twice() {
        let response = json(StatusCode::OK, &json!({"active": false}), Caching::NoStore);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::PRAGMA], "no-cache");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn a_refused_credential_is_named_in_the_challenge() {
        let missing = unauthorized(false, "no bearer key");
        assert_eq!(
            missing.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"auth-hub\""
        );
        let refused = unauthorized(true, "unknown key");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(refused.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .is_ok_and(|value| value.contains("error=\"invalid_token\"")));
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        let response = method_not_allowed("POST");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "POST");
    }
}
