//! The device authorization grant (RFC 8628) from the CLI's side: fetch the provider's
//! discovery document, ask its device authorization endpoint for a device code and a user code,
//! then poll the token endpoint every `interval` seconds until the user has approved (tokens),
//! aborted (`access_denied`), or the code expired (`expired_token`, or `expires_in` passed).
//! `authorization_pending` keeps polling; `slow_down` adds 5 s to the interval (§3.5).
//!
//! Nothing is opened in a browser: the caller prints the verification URL and the user code.
//! The device code and the tokens stay in redacted, zeroized [`Jwt`] values.

use std::time::{Duration, Instant};

use auth_hub_protocol::oidc::{
    DeviceAuthorization, Discovery, OidcDocError, TokenAnswer, TokenResponse,
};

use super::http::{ProviderHttp, ProviderHttpError, Reply};

/// The device code grant type (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// What `slow_down` adds to the polling interval (§3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The shortest interval used, whatever the provider says (an `interval` of 0 would spin).
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Why the device flow did not produce tokens.
#[derive(Debug, thiserror::Error)]
pub enum DeviceFlowError {
    /// The provider could not be reached, or a URL was refused.
    #[error("provider request failed: {0}")]
    Http(#[from] ProviderHttpError),
    /// A document from the provider was refused.
    #[error(transparent)]
    Document(#[from] OidcDocError),
    /// An endpoint answered an unexpected status.
    #[error("the provider's {endpoint} answered HTTP {status}")]
    Status {
        /// Which endpoint.
        endpoint: &'static str,
        /// The status.
        status: u16,
    },
    /// The user refused at the provider (`access_denied`).
    #[error("the login was denied at the provider")]
    Denied,
    /// The device code expired before the user approved (`expired_token`, or `expires_in`
    /// passed while polling).
    #[error("the user code expired before it was approved")]
    Expired,
    /// The token endpoint answered another error.
    #[error("the provider refused the token request: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Provider {
        /// The `error` code.
        error: String,
        /// Its `error_description`, at most 200 characters.
        description: Option<String>,
    },
    /// The answer had tokens but no id_token.
    #[error("the provider sent no id_token (is `openid` among the record's scopes?)")]
    NoIdToken,
}

/// A started device authorization: what to show the user, and where to poll.
#[derive(Debug)]
pub struct DeviceStart {
    /// The provider's discovery document.
    pub discovery: Discovery,
    /// The device authorization answer (device code, user code, URLs, lifetime, interval).
    pub authorization: DeviceAuthorization,
}

/// What one token-endpoint answer means for the polling loop.
#[derive(Debug)]
pub enum Step {
    /// Poll again after this interval.
    Wait(Duration),
    /// The tokens (an id_token among them).
    Done(Box<TokenResponse>),
}

/// Fetches `issuer`'s discovery document and requests a device code for `client_id` with
/// `scopes`.
///
/// # Errors
/// [`DeviceFlowError`].
pub fn start(
    http: &ProviderHttp,
    issuer: &str,
    client_id: &str,
    scopes: &str,
) -> Result<DeviceStart, DeviceFlowError> {
    let url = Discovery::url_for(issuer);
    let reply = http.get("discovery document", &url)?;
    expect_ok("discovery document", &reply)?;
    let discovery = Discovery::parse(&reply.body, issuer)?;
    let endpoint = discovery.device_endpoint()?.to_owned();
    let reply = http.post_form(
        "device_authorization_endpoint",
        &endpoint,
        &[("client_id", client_id), ("scope", scopes)],
    )?;
    if reply.status != 200 {
        // An OAuth error body says why (an unknown client, a scope not allowed).
        if let Ok(TokenAnswer::Error(error)) = TokenAnswer::parse(&reply.body) {
            return Err(provider_error(error.error, error.error_description));
        }
        return Err(DeviceFlowError::Status {
            endpoint: "device authorization endpoint",
            status: reply.status,
        });
    }
    let authorization = DeviceAuthorization::parse(&reply.body)?;
    Ok(DeviceStart {
        discovery,
        authorization,
    })
}

/// Polls the token endpoint until tokens, a refusal, or the code's end. Sleeps `interval`
/// before each poll (never past the code's expiry).
///
/// # Errors
/// [`DeviceFlowError`].
pub fn poll(
    http: &ProviderHttp,
    start: &DeviceStart,
    client_id: &str,
) -> Result<TokenResponse, DeviceFlowError> {
    let authorization = &start.authorization;
    let deadline = Instant::now() + Duration::from_secs(authorization.expires_in);
    let mut interval = Duration::from_secs(authorization.interval).max(MIN_INTERVAL);
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(DeviceFlowError::Expired);
        }
        std::thread::sleep(interval.min(deadline - now));
        let reply = http.post_form(
            "token_endpoint",
            &start.discovery.token_endpoint,
            &[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", authorization.device_code.expose()),
                ("client_id", client_id),
            ],
        )?;
        match judge(&reply, interval)? {
            Step::Wait(next) => interval = next,
            Step::Done(tokens) => return Ok(*tokens),
        }
    }
}

/// What a token-endpoint reply means, given the current polling `interval`.
///
/// # Errors
/// [`DeviceFlowError::Denied`], [`DeviceFlowError::Expired`], another provider error, a
/// malformed answer, or tokens without an id_token.
pub fn judge(reply: &Reply, interval: Duration) -> Result<Step, DeviceFlowError> {
    let answer = match TokenAnswer::parse(&reply.body) {
        Ok(answer) => answer,
        Err(_) if reply.status != 200 => {
            return Err(DeviceFlowError::Status {
                endpoint: "token endpoint",
                status: reply.status,
            })
        }
        Err(error) => return Err(error.into()),
    };
    match answer {
        TokenAnswer::Tokens(tokens) if reply.status == 200 => {
            if tokens.id_token.is_none() {
                return Err(DeviceFlowError::NoIdToken);
            }
            Ok(Step::Done(Box::new(tokens)))
        }
        TokenAnswer::Tokens(_) => Err(DeviceFlowError::Status {
            endpoint: "token endpoint",
            status: reply.status,
        }),
        TokenAnswer::Error(error) => match error.error.as_str() {
            "authorization_pending" => Ok(Step::Wait(interval)),
            "slow_down" => Ok(Step::Wait(interval + SLOW_DOWN_STEP)),
            "access_denied" => Err(DeviceFlowError::Denied),
            "expired_token" => Err(DeviceFlowError::Expired),
            _ => Err(provider_error(error.error, error.error_description)),
        },
    }
}

fn expect_ok(endpoint: &'static str, reply: &Reply) -> Result<(), DeviceFlowError> {
    if reply.status == 200 {
        Ok(())
    } else {
        Err(DeviceFlowError::Status {
            endpoint,
            status: reply.status,
        })
    }
}

/// A provider's error, its texts cut to 200 characters of printable text (they are shown).
fn provider_error(error: String, description: Option<String>) -> DeviceFlowError {
    let clean =
        |text: String| -> String { text.chars().filter(|c| !c.is_control()).take(200).collect() };
    DeviceFlowError::Provider {
        error: clean(error),
        description: description.map(clean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn pending_keeps_the_interval_and_slow_down_adds_five_seconds() {
        let pending = judge(&reply(400, r#"{"error":"authorization_pending"}"#), SECOND);
        assert!(matches!(pending, Ok(Step::Wait(d)) if d == SECOND));
        let slow = judge(&reply(400, r#"{"error":"slow_down"}"#), SECOND);
        assert!(matches!(slow, Ok(Step::Wait(d)) if d == SECOND + SLOW_DOWN_STEP));
    }

    #[test]
    fn denied_and_expired_end_the_flow() {
        let denied = judge(&reply(400, r#"{"error":"access_denied"}"#), SECOND);
        assert!(matches!(denied, Err(DeviceFlowError::Denied)));
        let expired = judge(&reply(400, r#"{"error":"expired_token"}"#), SECOND);
        assert!(matches!(expired, Err(DeviceFlowError::Expired)));
        let other = judge(
            &reply(
                400,
                "{\"error\":\"invalid_client\",\"error_description\":\"no\\u0007pe\"}",
            ),
            SECOND,
        );
        match other {
            Err(DeviceFlowError::Provider { error, description }) => {
                assert_eq!(error, "invalid_client");
                assert_eq!(description.as_deref(), Some("nope"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tokens_need_an_id_token() {
        let done = judge(
            &reply(
                200,
                r#"{"access_token":"at","id_token":"a.b.c","token_type":"Bearer"}"#,
            ),
            SECOND,
        );
        assert!(matches!(done, Ok(Step::Done(_))));
        let no_id = judge(&reply(200, r#"{"access_token":"at"}"#), SECOND);
        assert!(matches!(no_id, Err(DeviceFlowError::NoIdToken)));
    }

    #[test]
    fn an_error_status_without_json_is_reported_by_status() {
        let broken = judge(&reply(502, "<html>bad gateway</html>"), SECOND);
        assert!(matches!(
            broken,
            Err(DeviceFlowError::Status { status: 502, .. })
        ));
    }
}
