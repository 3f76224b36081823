//! The blocking HTTP agent for an identity provider's endpoints: every URL checked first
//! (`https`, plain `http` only on a loopback host, as [`check_url`] says), 10 s to connect, 30 s
//! per request, no redirects (a token request must not be replayed elsewhere), bodies read up to
//! [`MAX_DOCUMENT`], a new connection per request, `User-Agent: hyperforge/<version>`. Error
//! statuses are answers (the token endpoint's `authorization_pending` comes with 400), not
//! transport failures.
//!
//! Form values (a device code, a refresh token) travel only in request bodies and never appear
//! in an error built here.

use std::time::Duration;

use auth_hub_protocol::oidc::{check_url, OidcDocError, MAX_DOCUMENT};

/// Time allowed to open the connection (and finish a TLS handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a provider request failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    /// The URL may not be used (not https, not loopback http).
    #[error(transparent)]
    Url(#[from] OidcDocError),
    /// The request failed or the body was too large.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong (no token in it).
        reason: String,
    },
}

/// A provider's answer: status and body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// At most [`MAX_DOCUMENT`] bytes (one more is read to notice a larger body).
    pub body: Vec<u8>,
}

/// The agent.
#[derive(Debug, Clone)]
pub struct ProviderHttp {
    agent: ureq::Agent,
}

impl Default for ProviderHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderHttp {
    /// An agent with the limits of the module docs.
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            // No idle connections kept: polls are seconds apart, longer than many servers keep an
            // idle connection (node: 5 s), and a reused connection the server has just closed
            // fails the poll with a reset.
            .max_idle_connections(0)
            .user_agent(concat!("hyperforge/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: config.into(),
        }
    }

    /// `GET url`.
    ///
    /// # Errors
    /// [`ProviderHttpError`].
    pub fn get(&self, field: &'static str, url: &str) -> Result<Reply, ProviderHttpError> {
        check_url(field, url)?;
        let response = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call();
        read(url, response)
    }

    /// `POST url` with a form body.
    ///
    /// # Errors
    /// [`ProviderHttpError`].
    pub fn post_form(
        &self,
        field: &'static str,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<Reply, ProviderHttpError> {
        check_url(field, url)?;
        let response = self
            .agent
            .post(url)
            .header("Accept", "application/json")
            .send_form(form.iter().copied());
        read(url, response)
    }
}

fn read(
    url: &str,
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, ProviderHttpError> {
    let transport = |reason: String| ProviderHttpError::Transport {
        url: url.chars().take(200).collect(),
        reason,
    };
    let mut response = response.map_err(|error| transport(error.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_DOCUMENT as u64 + 1)
        .read_to_vec()
        .map_err(|error| transport(error.to_string()))?;
    Ok(Reply { status, body })
}
