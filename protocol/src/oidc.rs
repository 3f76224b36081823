//! The OpenID Connect documents the hub and the CLI read from a provider, parsed and checked:
//! the discovery document (OpenID Connect Discovery 1.0 §3), the device authorization response
//! (RFC 8628 §3.2) and the token endpoint's answers (RFC 6749 §5.1, §5.2; RFC 8628 §3.5).
//!
//! Plain data and validation only; fetching is the caller's. Every parser takes untrusted bytes
//! and answers a precise error, never a panic (they are fuzzed).

use serde::Deserialize;

use crate::secret::Jwt;

/// Largest provider document read (discovery, JWKS, token answers).
pub const MAX_DOCUMENT: usize = 256 * 1024;

/// Why a provider's document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcDocError {
    /// Larger than [`MAX_DOCUMENT`].
    #[error("{document} is {len} bytes, more than the {MAX_DOCUMENT} accepted")]
    TooLarge {
        /// Which document.
        document: &'static str,
        /// Its size.
        len: usize,
    },
    /// Not JSON of the expected shape.
    #[error("{document} is not valid: {reason}")]
    Malformed {
        /// Which document.
        document: &'static str,
        /// The parse error (never a token).
        reason: String,
    },
    /// The discovery document names another issuer than the one it was fetched for (§4.3).
    #[error("discovery document names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The issuer configured.
        expected: String,
        /// The issuer the document names.
        found: String,
    },
    /// An endpoint is not an absolute `https` URL (or `http` on a loopback host).
    #[error("{field} {url:?} must be an https URL (http only on a loopback host)")]
    InsecureUrl {
        /// The field.
        field: &'static str,
        /// The URL (at most 200 characters of it).
        url: String,
    },
    /// The provider does not offer the device flow.
    #[error("the provider offers no device authorization endpoint (RFC 8628)")]
    NoDeviceEndpoint,
}

/// The fields of a discovery document the hub and the CLI use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    /// `issuer`: equal to the issuer it was fetched for.
    pub issuer: String,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `device_authorization_endpoint` (RFC 8628 §4), if offered.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// `id_token_signing_alg_values_supported`.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

impl Discovery {
    /// The discovery document's URL for `issuer`: `{issuer}/.well-known/openid-configuration`.
    pub fn url_for(issuer: &str) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        )
    }

    /// Parses a discovery document fetched for `expected_issuer` and checks it: the issuer
    /// matches exactly, and every endpoint is https (http only on a loopback host).
    ///
    /// # Errors
    /// [`OidcDocError`].
    pub fn parse(bytes: &[u8], expected_issuer: &str) -> Result<Self, OidcDocError> {
        let discovery: Self = parse_json("discovery document", bytes)?;
        if discovery.issuer != expected_issuer {
            return Err(OidcDocError::IssuerMismatch {
                expected: expected_issuer.to_owned(),
                found: discovery.issuer.chars().take(200).collect(),
            });
        }
        check_url("jwks_uri", &discovery.jwks_uri)?;
        check_url("token_endpoint", &discovery.token_endpoint)?;
        if let Some(device) = &discovery.device_authorization_endpoint {
            check_url("device_authorization_endpoint", device)?;
        }
        Ok(discovery)
    }

    /// The device authorization endpoint.
    ///
    /// # Errors
    /// [`OidcDocError::NoDeviceEndpoint`].
    pub fn device_endpoint(&self) -> Result<&str, OidcDocError> {
        self.device_authorization_endpoint
            .as_deref()
            .ok_or(OidcDocError::NoDeviceEndpoint)
    }
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeviceAuthorization {
    /// `device_code`: sent back while polling; a credential, so redacted.
    pub device_code: Jwt,
    /// `user_code`: what the user types on the verification page.
    pub user_code: String,
    /// `verification_uri`.
    pub verification_uri: String,
    /// `verification_uri_complete`, if offered.
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    /// `expires_in`, seconds.
    pub expires_in: u64,
    /// `interval`, seconds between polls; 5 when absent (§3.2).
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    5
}

impl DeviceAuthorization {
    /// Parses and checks a device authorization response.
    ///
    /// # Errors
    /// [`OidcDocError`].
    pub fn parse(bytes: &[u8]) -> Result<Self, OidcDocError> {
        let answer: Self = parse_json("device authorization response", bytes)?;
        check_url("verification_uri", &answer.verification_uri)?;
        if let Some(complete) = &answer.verification_uri_complete {
            check_url("verification_uri_complete", complete)?;
        }
        Ok(answer)
    }
}

/// A successful token response (RFC 6749 §5.1 with OpenID's `id_token`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    /// `access_token`.
    pub access_token: Jwt,
    /// `id_token`, present for an `openid` scope.
    #[serde(default)]
    pub id_token: Option<Jwt>,
    /// `refresh_token`, if issued.
    #[serde(default)]
    pub refresh_token: Option<Jwt>,
    /// `expires_in`, seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// `token_type` (`Bearer`).
    #[serde(default)]
    pub token_type: Option<String>,
}

/// A token endpoint error (RFC 6749 §5.2), such as the device flow's `authorization_pending`,
/// `slow_down`, `access_denied` and `expired_token` (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenError {
    /// `error`.
    pub error: String,
    /// `error_description`, if given.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// What the token endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAnswer {
    /// Tokens.
    Tokens(TokenResponse),
    /// An error object.
    Error(TokenError),
}

impl TokenAnswer {
    /// Parses the token endpoint's body: an object with `error` is an error, else tokens.
    ///
    /// # Errors
    /// [`OidcDocError`] when it is neither.
    pub fn parse(bytes: &[u8]) -> Result<Self, OidcDocError> {
        #[derive(Deserialize)]
        struct ErrorProbe {
            #[serde(default)]
            error: Option<String>,
        }
        let probe: ErrorProbe = parse_json("token response", bytes)?;
        if probe.error.is_some() {
            parse_json("token error response", bytes).map(Self::Error)
        } else {
            parse_json("token response", bytes).map(Self::Tokens)
        }
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    document: &'static str,
    bytes: &[u8],
) -> Result<T, OidcDocError> {
    if bytes.len() > MAX_DOCUMENT {
        return Err(OidcDocError::TooLarge {
            document,
            len: bytes.len(),
        });
    }
    serde_json::from_slice(bytes).map_err(|error| OidcDocError::Malformed {
        document,
        reason: without_quoted_value(&error.to_string()),
    })
}

/// serde_json's message without the string value it may quote: `invalid type: string "…",
/// expected u64` repeats the string, which may be a token sent in the wrong field (the fuzz
/// target `oidc_discovery` found it). Field names (in backquotes) and the position stay.
fn without_quoted_value(message: &str) -> String {
    match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if first < last => {
            format!(
                "{}(value hidden){}",
                &message[..first],
                &message[last + 1..]
            )
        }
        _ => message.to_owned(),
    }
}

/// `https://…`, or `http://` on `localhost`, `127.0.0.0/8` or `[::1]` (a provider under test
/// or on the same machine).
pub fn check_url(field: &'static str, url: &str) -> Result<(), OidcDocError> {
    let insecure = || OidcDocError::InsecureUrl {
        field,
        url: url.chars().take(200).collect(),
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(insecure)?;
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host_port.is_empty() || host_port.contains('@') {
        return Err(insecure());
    }
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback_host(host_port) => Ok(()),
        _ => Err(insecure()),
    }
}

fn is_loopback_host(host_port: &str) -> bool {
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_checks_issuer_and_schemes() {
        let doc = br#"{"issuer":"http://127.0.0.1:4000","jwks_uri":"http://127.0.0.1:4000/jwks",
            "token_endpoint":"http://127.0.0.1:4000/token",
            "device_authorization_endpoint":"http://127.0.0.1:4000/device/auth"}"#;
        let parsed = Discovery::parse(doc, "http://127.0.0.1:4000").expect("valid");
        assert_eq!(
            parsed.device_endpoint().expect("device"),
            "http://127.0.0.1:4000/device/auth"
        );
        assert!(matches!(
            Discovery::parse(doc, "http://127.0.0.1:4001"),
            Err(OidcDocError::IssuerMismatch { .. })
        ));
        let remote = br#"{"issuer":"http://id.example","jwks_uri":"http://id.example/jwks",
            "token_endpoint":"https://id.example/token"}"#;
        assert!(matches!(
            Discovery::parse(remote, "http://id.example"),
            Err(OidcDocError::InsecureUrl {
                field: "jwks_uri",
                ..
            })
        ));
    }

    #[test]
    fn token_answers_are_told_apart() {
        let pending = TokenAnswer::parse(br#"{"error":"authorization_pending"}"#).expect("error");
        assert!(matches!(pending, TokenAnswer::Error(e) if e.error == "authorization_pending"));
        let tokens = TokenAnswer::parse(br#"{"access_token":"a","id_token":"b","expires_in":60}"#)
            .expect("tokens");
        assert!(matches!(tokens, TokenAnswer::Tokens(t) if t.expires_in == Some(60)));
        assert!(TokenAnswer::parse(b"[1]").is_err());
    }

    #[test]
    fn errors_never_repeat_a_string_value() {
        let text =
            br#"{"access_token":"AAAAAAAAAAAAAAAAAAAA","expires_in":"AAAAAAAAAAAAAAAAAAAA"}"#;
        let error = TokenAnswer::parse(text).expect_err("expires_in is not a number");
        let message = error.to_string();
        assert!(!message.contains("AAAAAAAAAAAAAAAAAAAA"), "{message}");
        assert!(
            message.contains("(value hidden)") && message.contains("column"),
            "{message}"
        );
        let error = DeviceAuthorization::parse(br#"{"device_code":"x"}"#).expect_err("missing");
        assert!(
            error.to_string().contains("missing field `user_code`"),
            "{error}"
        );
    }

    #[test]
    fn loopback_hosts() {
        assert!(check_url("u", "http://localhost:1/x").is_ok());
        assert!(check_url("u", "http://[::1]:80/").is_ok());
        assert!(check_url("u", "http://127.0.0.1.example.com/").is_err());
        assert!(check_url("u", "http://user@127.0.0.1/").is_err());
        assert!(check_url("u", "ftp://127.0.0.1/").is_err());
    }
}
