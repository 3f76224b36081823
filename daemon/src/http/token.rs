//! `POST /token` (RFC 8693 token exchange): an API key or a JWT in, a hub-signed JWT out. The
//! caller sends its own service key as `Authorization: Bearer <key>` and needs the key's
//! `validate` permission (or the owner key).
//!
//! Form parameters:
//! - `grant_type` = `urn:ietf:params:oauth:grant-type:token-exchange` (anything else:
//!   `unsupported_grant_type`);
//! - `subject_token` and `subject_token_type`: `urn:ietf:params:oauth:token-type:access_token`
//!   for an API key (`TAUTH_…`/`MELT_…`, the hub's access credentials), or
//!   `urn:ietf:params:oauth:token-type:jwt` / `…:id_token` for a JWT (a provider's id_token,
//!   or a hub JWT);
//! - `audience` (required, once): the new token's `aud`;
//! - `requested_token_type` (optional): only `urn:ietf:params:oauth:token-type:jwt`;
//! - `scope` is refused (`invalid_scope`): the new token carries the subject's own scopes;
//!   `resource` is refused (`invalid_target`: name the service with `audience`); `actor_token`
//!   is refused (no delegation). Other parameters are ignored (RFC 6749 §3.2).
//!
//! Success: 200 `{access_token, issued_token_type: "urn:ietf:params:oauth:token-type:jwt",
//! token_type: "Bearer", expires_in}` with `Cache-Control: no-store`. Errors are RFC 6749 §5.2
//! bodies; an invalid or refused subject token is `invalid_request`, as RFC 8693 §2.2.2
//! requires.

use std::net::SocketAddr;
use std::sync::Arc;

use auth_hub_protocol::identity::SubjectToken;
use auth_hub_protocol::{Jwt, MasterToken};
use chrono::Utc;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::caller;
use super::form::{self, Form};
use super::introspect::{shape, Shape};
use super::reply::{self, Body, Caching};
use crate::error::HubError;
use crate::hub::Hub;
use crate::identity::ops;
use crate::keys::KeyRecord;

/// The audit event of every token-exchange request.
const EVENT: &str = "http_token";

/// The token-exchange grant type.
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// A JWT (what the hub issues; a JWT subject).
pub const TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
/// An OpenID Connect id_token (a provider JWT subject).
pub const TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// An access token: for this hub, an API key.
pub const TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// An OAuth error answer, before it is sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl Refusal {
    fn bad(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
        }
    }

    fn into_response(self) -> Response<Body> {
        reply::oauth_error(self.status, self.code, &self.description)
    }
}

/// A well-formed exchange request.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The credential to exchange.
    pub subject: SubjectToken,
    /// The new token's audience.
    pub audience: String,
}

/// Answers a token-exchange request.
pub async fn post(hub: &Arc<Hub>, peer: SocketAddr, request: Request<Incoming>) -> Response<Body> {
    let caller = match caller::authenticate(hub, request.headers(), peer, EVENT) {
        Ok(caller) => caller,
        Err(refusal) => return *refusal,
    };
    if !ops::may_validate(&caller) {
        audit(hub, &caller, peer, "denied", None);
        return Refusal::bad(
            "unauthorized_client",
            format!(
                "key {} may not exchange tokens: it needs the validate permission \
                 (hyperforge auth key create NAME --permission validate)",
                caller.name
            ),
        )
        .into_response();
    }
    let mut form = match form::read(request).await {
        Ok(form) => form,
        Err(error) => {
            audit(hub, &caller, peer, "bad_request", None);
            return reply::oauth_error(error.status(), "invalid_request", &error.to_string());
        }
    };
    let exchange = match parse(&mut form) {
        Ok(exchange) => exchange,
        Err(refusal) => {
            audit(hub, &caller, peer, refusal.code, None);
            return refusal.into_response();
        }
    };
    let audience = exchange.audience.clone();
    match ops::issue_jwt(
        hub,
        &caller,
        Some(exchange.subject),
        &exchange.audience,
        None,
    )
    .await
    {
        Ok(issued) => {
            audit(hub, &caller, peer, "issued", Some(&audience));
            let expires_in = (issued.expires_at - Utc::now()).num_seconds().max(0);
            let answer = json!({
                "access_token": issued.token.expose(),
                "issued_token_type": TYPE_JWT,
                "token_type": "Bearer",
                "expires_in": expires_in,
            });
            reply::json(StatusCode::OK, &answer, Caching::NoStore)
        }
        Err(error) => {
            let refusal = refusal_of(error);
            audit(hub, &caller, peer, refusal.code, Some(&audience));
            refusal.into_response()
        }
    }
}

/// Checks the form's parameters, in the order RFC 6749 and RFC 8693 name them.
///
/// # Errors
/// The [`Refusal`] to answer.
pub(crate) fn parse(form: &mut Form) -> Result<Exchange, Refusal> {
    match form.get("grant_type") {
        None => return Err(Refusal::bad("invalid_request", "grant_type is missing")),
        Some(GRANT_TOKEN_EXCHANGE) => {}
        Some(_) => {
            return Err(Refusal::bad(
                "unsupported_grant_type",
                format!("the only grant_type is {GRANT_TOKEN_EXCHANGE}"),
            ))
        }
    }
    if form.get("actor_token").is_some() || form.get("actor_token_type").is_some() {
        return Err(Refusal::bad(
            "invalid_request",
            "actor_token is not supported (no delegation)",
        ));
    }
    if form.get("scope").is_some() {
        return Err(Refusal::bad(
            "invalid_scope",
            "scope cannot be requested: the token carries the subject's own scopes",
        ));
    }
    if form.get("resource").is_some() {
        return Err(Refusal::bad(
            "invalid_target",
            "resource is not supported: name the service with audience",
        ));
    }
    if let Some(requested) = form.get("requested_token_type") {
        if requested != TYPE_JWT {
            return Err(Refusal::bad(
                "invalid_request",
                format!("the only requested_token_type is {TYPE_JWT}"),
            ));
        }
    }
    let audience = form
        .get("audience")
        .map(str::to_owned)
        .ok_or_else(|| Refusal::bad("invalid_request", "audience is missing"))?;
    let kind = form
        .get("subject_token_type")
        .map(str::to_owned)
        .ok_or_else(|| Refusal::bad("invalid_request", "subject_token_type is missing"))?;
    let token = form
        .take("subject_token")
        .ok_or_else(|| Refusal::bad("invalid_request", "subject_token is missing"))?;
    let subject = match (kind.as_str(), shape(&token)) {
        (TYPE_ACCESS_TOKEN, Shape::ApiKey) => SubjectToken::Key(MasterToken::from(token.as_str())),
        (TYPE_ACCESS_TOKEN, _) => {
            return Err(Refusal::bad(
                "invalid_request",
                "subject_token is not an API key (TAUTH_… or MELT_…)",
            ))
        }
        (TYPE_JWT | TYPE_ID_TOKEN, Shape::Jwt) => SubjectToken::Jwt {
            token: Jwt::from(token.as_str()),
            provider: None,
        },
        (TYPE_JWT | TYPE_ID_TOKEN, _) => {
            return Err(Refusal::bad(
                "invalid_request",
                "subject_token is not a JWT",
            ))
        }
        _ => {
            return Err(Refusal::bad(
                "invalid_request",
                format!(
                    "subject_token_type must be {TYPE_ACCESS_TOKEN} (an API key), {TYPE_JWT} \
                     or {TYPE_ID_TOKEN}"
                ),
            ))
        }
    };
    Ok(Exchange { subject, audience })
}

/// The OAuth error for a failed issue.
fn refusal_of(error: HubError) -> Refusal {
    match error {
        HubError::InvalidToken(why) => Refusal::bad(
            "invalid_request",
            format!("the subject_token is not valid: {why}"),
        ),
        HubError::Identity(crate::identity::IdentityError::Jwt(why)) => Refusal::bad(
            "invalid_request",
            format!("the subject_token is not valid: {why}"),
        ),
        HubError::BadRequest(why) => Refusal::bad("invalid_request", why),
        // The caller is checked before the exchange; this arm keeps the shape if that changes.
        refused @ HubError::PermissionRequired { .. } => {
            Refusal::bad("unauthorized_client", refused.to_string())
        }
        other => {
            tracing::error!(error = %other, "cannot issue a hub JWT over http");
            Refusal {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "server_error",
                description: "the hub could not issue a token; its log says why".into(),
            }
        }
    }
}

/// Appends one call to the audit trail (never a token).
fn audit(hub: &Hub, caller: &KeyRecord, peer: SocketAddr, outcome: &str, audience: Option<&str>) {
    let what = audience.map(|audience| format!("audience {audience}"));
    super::audit_call(hub, EVENT, caller, peer, outcome, what);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(body: &str) -> Result<Exchange, Refusal> {
        parse(&mut form::parse(body.as_bytes()).expect("form"))
    }

    fn code(body: &str) -> &'static str {
        exchange(body).expect_err("refused").code
    }

    const GRANT: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange";
    const KEY_TYPE: &str =
        "subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token";
    const JWT_TYPE: &str = "subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt";

    #[test]
    fn an_api_key_exchange_parses() {
        let parsed = exchange(&format!(
            "{GRANT}&{KEY_TYPE}&subject_token=TAUTH_user--zabc&audience=orders"
        ))
        .expect("parses");
        assert_eq!(parsed.audience, "orders");
        assert!(
            matches!(&parsed.subject, SubjectToken::Key(key) if key.expose() == "TAUTH_user--zabc")
        );
    }

    #[test]
    fn a_jwt_exchange_parses() {
        let parsed = exchange(&format!(
            "{GRANT}&{JWT_TYPE}&subject_token=eyJh.eyJz.c2ln&audience=orders&\
             requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
        ))
        .expect("parses");
        assert!(matches!(
            parsed.subject,
            SubjectToken::Jwt { provider: None, .. }
        ));
    }

    #[test]
    fn grant_type_is_checked_first() {
        assert_eq!(code("audience=x"), "invalid_request");
        assert_eq!(
            code("grant_type=client_credentials&audience=x"),
            "unsupported_grant_type"
        );
    }

    #[test]
    fn missing_and_mismatched_parameters_are_invalid_requests() {
        let key = "subject_token=TAUTH_user--zabc";
        assert_eq!(
            code(&format!("{GRANT}&{KEY_TYPE}&{key}")),
            "invalid_request"
        );
        assert_eq!(
            code(&format!("{GRANT}&{key}&audience=a")),
            "invalid_request"
        );
        assert_eq!(
            code(&format!("{GRANT}&{KEY_TYPE}&audience=a")),
            "invalid_request"
        );
        assert_eq!(
            code(&format!("{GRANT}&{JWT_TYPE}&{key}&audience=a")),
            "invalid_request"
        );
        assert_eq!(
            code(&format!(
                "{GRANT}&{KEY_TYPE}&subject_token=eyJh.eyJz.c2ln&audience=a"
            )),
            "invalid_request"
        );
        assert_eq!(
            code(&format!(
                "{GRANT}&subject_token_type=urn%3Aother&{key}&audience=a"
            )),
            "invalid_request"
        );
        assert_eq!(
            code(&format!(
                "{GRANT}&{KEY_TYPE}&{key}&audience=a&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
            )),
            "invalid_request"
        );
    }

    #[test]
    fn scope_resource_and_actor_are_refused() {
        let base = format!("{GRANT}&{KEY_TYPE}&subject_token=TAUTH_user--zabc&audience=a");
        assert_eq!(code(&format!("{base}&scope=read")), "invalid_scope");
        assert_eq!(
            code(&format!("{base}&resource=https%3A%2F%2Fx")),
            "invalid_target"
        );
        assert_eq!(code(&format!("{base}&actor_token=x")), "invalid_request");
    }

    #[test]
    fn refused_subjects_are_invalid_requests_and_failures_server_errors() {
        let refusal = refusal_of(HubError::InvalidToken("expired".into()));
        assert_eq!(refusal.code, "invalid_request");
        assert!(refusal.description.contains("expired"));
        let failure = refusal_of(HubError::ShuttingDown);
        assert_eq!(failure.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failure.code, "server_error");
    }
}
