//! The one HTTP agent every forge client goes through, so limits and safety rules live in one
//! place: TLS through rustls (webpki roots) for real forges, plain `http://` only for loopback
//! (the tests' fake forges), a 10 s connect and 60 s whole-request timeout, response bodies read
//! with a 1 MiB cap, `User-Agent: hyperforge/<version>`, and no redirects (a redirect could carry
//! a token header such as GitLab's `PRIVATE-TOKEN` to another host, which ureq only strips for
//! `Authorization`).
//!
//! The token travels only in a request header; it is never part of a URL, and no error built
//! here contains a header value.

use std::time::Duration;

use auth_hub_protocol::SecretValue;
use zeroize::Zeroizing;

use super::api::ForgeApiError;
use super::url::split_host_port;

/// Time allowed to open the TCP connection and finish the TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request, response body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest response body read; forge API answers for one repository are a few KiB.
pub const MAX_BODY: u64 = 1024 * 1024;

/// How a forge wants its token presented.
#[derive(Debug, Clone, Copy)]
pub enum TokenHeader<'a> {
    /// `Authorization: Bearer TOKEN` (GitHub).
    Bearer(&'a SecretValue),
    /// `Authorization: token TOKEN` (Gitea, Forgejo).
    Token(&'a SecretValue),
    /// `PRIVATE-TOKEN: TOKEN` (GitLab).
    PrivateToken(&'a SecretValue),
}

impl TokenHeader<'_> {
    /// Header name and value; the value is zeroized when dropped.
    fn header(&self) -> (&'static str, Zeroizing<String>) {
        match self {
            Self::Bearer(token) => (
                "Authorization",
                Zeroizing::new(format!("Bearer {}", token.expose())),
            ),
            Self::Token(token) => (
                "Authorization",
                Zeroizing::new(format!("token {}", token.expose())),
            ),
            Self::PrivateToken(token) => {
                ("PRIVATE-TOKEN", Zeroizing::new(token.expose().to_owned()))
            }
        }
    }
}

/// A response: its status and its body (at most [`MAX_BODY`] bytes).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    ///
    /// # Errors
    ///
    /// [`ForgeApiError::BadResponse`] when the body is not JSON.
    pub fn json(&self, url: &str) -> Result<serde_json::Value, ForgeApiError> {
        serde_json::from_slice(&self.body).map_err(|error| ForgeApiError::BadResponse {
            url: url.to_owned(),
            detail: format!(
                "status {} with a body that is not JSON ({error})",
                self.status
            ),
        })
    }
}

/// The blocking HTTP agent for forge APIs.
#[derive(Debug, Clone)]
pub struct ForgeHttp {
    agent: ureq::Agent,
}

impl Default for ForgeHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl ForgeHttp {
    /// An agent with the limits described in the module docs.
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            // Error statuses are answers the forge clients interpret, not transport failures.
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("hyperforge/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: config.into(),
        }
    }

    /// `GET url` with the token and extra headers.
    ///
    /// # Errors
    ///
    /// [`ForgeApiError::InsecureUrl`] / [`ForgeApiError::BadUrl`] for a URL the token may not go
    /// to, [`ForgeApiError::Http`] when the request fails or the body is over [`MAX_BODY`].
    pub fn get(
        &self,
        url: &str,
        token: TokenHeader<'_>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, ForgeApiError> {
        check_url(url)?;
        let (name, value) = token.header();
        let mut request = self.agent.get(url).header(name, value.as_str());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(url, request.call())
    }

    /// `POST url` with a JSON body, the token and extra headers.
    ///
    /// # Errors
    ///
    /// As [`ForgeHttp::get`].
    pub fn post_json(
        &self,
        url: &str,
        token: TokenHeader<'_>,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> Result<Reply, ForgeApiError> {
        check_url(url)?;
        let (name, value) = token.header();
        let mut request = self
            .agent
            .post(url)
            .header(name, value.as_str())
            .header("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(url, request.send(body.to_string()))
    }
}

/// Reads a response body under the cap.
fn read(
    url: &str,
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, ForgeApiError> {
    let http_error = |source| ForgeApiError::Http {
        url: url.to_owned(),
        source,
    };
    let mut response = response.map_err(http_error)?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(http_error)?;
    Ok(Reply { status, body })
}

/// Only `https://` URLs, or `http://` to a loopback host, may receive a token.
///
/// # Errors
///
/// [`ForgeApiError::InsecureUrl`] for plain http elsewhere, [`ForgeApiError::BadUrl`] for any
/// other scheme or a URL with credentials in it.
pub fn check_url(url: &str) -> Result<(), ForgeApiError> {
    let bad = |detail: &str| ForgeApiError::BadUrl {
        url: url.to_owned(),
        detail: detail.to_owned(),
    };
    let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad("only https:// URLs are supported"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("credentials do not belong in the URL"));
    }
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    if secure || is_loopback(authority) {
        Ok(())
    } else {
        Err(ForgeApiError::InsecureUrl {
            url: url.to_owned(),
        })
    }
}

/// True for `localhost`, `127.x.y.z` and `[::1]`, with or without a port.
fn is_loopback(authority: &str) -> bool {
    let Some((host, _port)) = split_host_port(authority) else {
        return false;
    };
    let host = host
        .strip_prefix('[')
        .and_then(|v6| v6.strip_suffix(']'))
        .unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_go_only_to_https_or_loopback() {
        assert!(check_url("https://api.github.com/user").is_ok());
        assert!(check_url("http://127.0.0.1:8080/api/v1/user").is_ok());
        assert!(check_url("http://localhost/api").is_ok());
        assert!(check_url("http://[::1]:99/x").is_ok());
        assert!(matches!(
            check_url("http://example.com/api"),
            Err(ForgeApiError::InsecureUrl { .. })
        ));
        assert!(matches!(
            check_url("http://127.0.0.1.example.com/api"),
            Err(ForgeApiError::InsecureUrl { .. })
        ));
        assert!(matches!(
            check_url("https://user:pw@example.com/"),
            Err(ForgeApiError::BadUrl { .. })
        ));
        assert!(matches!(
            check_url("ftp://example.com/"),
            Err(ForgeApiError::BadUrl { .. })
        ));
    }
}
