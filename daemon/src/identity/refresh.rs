//! Refreshing an OIDC login at the provider: the token endpoint from the issuer's discovery
//! document, then `grant_type=refresh_token` (RFC 6749 §6) as a public client (`client_id`, no
//! secret). Blocking (ureq with timeouts, no redirects, a body limit, `check_url` on every
//! URL); the caller runs it on the blocking pool and validates the id_token that comes back.

use std::time::Duration;

use auth_hub_protocol::oidc::{check_url, Discovery, TokenAnswer, TokenResponse, MAX_DOCUMENT};

use super::jwks_cache::{Fetch, HttpFetch};

/// Time allowed for the token request.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The provider could not be reached, or sent a document that is not valid.
    #[error("cannot reach the provider's token endpoint: {0}")]
    Unreachable(String),
    /// The provider refused the refresh token (`invalid_grant`: expired or revoked).
    #[error("the provider refused the refresh: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// The OAuth `error` code.
        error: String,
        /// Its description, at most 200 printable characters.
        description: Option<String>,
    },
}

/// Exchanges `refresh_token` for new tokens at `issuer`'s token endpoint.
///
/// # Errors
/// [`RefreshError`].
pub fn refresh(
    issuer: &str,
    client_id: &str,
    refresh_token: &str,
) -> Result<TokenResponse, RefreshError> {
    let discovery_url = Discovery::url_for(issuer);
    let document = HttpFetch::new()
        .fetch(&discovery_url)
        .map_err(RefreshError::Unreachable)?;
    let discovery = Discovery::parse(&document, issuer)
        .map_err(|error| RefreshError::Unreachable(error.to_string()))?;
    let endpoint = discovery.token_endpoint;
    check_url("token_endpoint", &endpoint)
        .map_err(|error| RefreshError::Unreachable(error.to_string()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TOKEN_TIMEOUT))
        .max_redirects(0)
        .build()
        .into();
    let mut response = agent
        .post(&endpoint)
        .header("Accept", "application/json")
        .send_form([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ])
        .map_err(|error| RefreshError::Unreachable(error.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_DOCUMENT as u64)
        .read_to_vec()
        .map_err(|error| RefreshError::Unreachable(error.to_string()))?;
    match TokenAnswer::parse(&body) {
        Ok(TokenAnswer::Tokens(tokens)) if status == 200 => Ok(tokens),
        Ok(TokenAnswer::Error(error)) => Err(RefreshError::Refused {
            error: printable(&error.error),
            description: error.error_description.as_deref().map(printable),
        }),
        Ok(TokenAnswer::Tokens(_)) => Err(RefreshError::Unreachable(format!(
            "the token endpoint answered HTTP {status}"
        ))),
        Err(error) => Err(RefreshError::Unreachable(format!("HTTP {status}: {error}"))),
    }
}

/// At most 200 characters of `text`, control characters dropped (it is shown and logged).
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}
