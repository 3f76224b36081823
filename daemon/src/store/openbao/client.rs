//! The HTTP side of the OpenBao backend: one blocking `ureq` agent per backend, every request
//! bounded by the configured timeout (connect and the whole exchange), the namespace header, and
//! the mapping of transport failures and 5xx answers to [`StoreError::Unreachable`].
//!
//! Nothing here logs or returns a token or a body: errors carry the method, the API path and the
//! server's own error strings, which name paths, not values.

use std::fs;
use std::time::Duration;

use auth_hub_protocol::SecretValue;
use serde_json::Value;
use ureq::tls::{parse_pem, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, RequestBuilder};
use zeroize::Zeroizing;

use super::super::settings::OpenBaoSettings;
use super::super::StoreError;

/// How much of a response body is read at most: KV answers are small, and a value over the hub's
/// limit is refused after reading it ([`super::kv::MAX_VALUE_BYTES`] is far below this).
const MAX_BODY_BYTES: u64 = 8 << 20;

/// The methods the backend uses. `LIST` is sent as `GET …?list=true`, which OpenBao and Vault
/// treat alike, so no custom method is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `GET …?list=true`.
    List,
    /// `POST` with a JSON body.
    Post,
    /// `DELETE`.
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::List => "LIST",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

/// A server's answer: the status and the JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The parsed body.
    pub body: Value,
}

impl Reply {
    /// The server's `errors` strings joined, for messages (`"permission denied"`).
    pub fn errors(&self) -> String {
        let joined = self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        if joined.is_empty() {
            format!("status {}", self.status)
        } else {
            // Server strings are bounded so a hostile server cannot flood a message.
            let mut joined: String = joined.chars().take(300).collect();
            joined.insert_str(0, &format!("status {}: ", self.status));
            joined
        }
    }
}

/// The HTTP client of one backend.
pub struct Client {
    backend: String,
    base: String,
    namespace: Option<String>,
    timeout: Duration,
    agent: Agent,
}

impl Client {
    /// A client for backend `backend` with `settings`. Reads the CA file if one is named.
    ///
    /// # Errors
    /// The CA file cannot be read or holds no certificate.
    pub fn new(backend: &str, settings: &OpenBaoSettings) -> Result<Self, StoreError> {
        let mut config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(settings.timeout))
            .timeout_global(Some(settings.timeout))
            // A redirect could carry the token header elsewhere; OpenBao answers directly.
            .max_redirects(0);
        if let Some(ca) = &settings.ca_cert {
            let pem = fs::read(ca).map_err(|source| StoreError::Io {
                path: ca.clone(),
                source,
            })?;
            let certs: Vec<_> = parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(StoreError::Io {
                    path: ca.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "no PEM certificate in the ca_cert file",
                    ),
                });
            }
            config = config.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::from(certs))
                    .build(),
            );
        }
        Ok(Self {
            backend: backend.to_owned(),
            base: settings.url.trim_end_matches('/').to_owned(),
            namespace: settings.namespace.clone(),
            timeout: settings.timeout,
            agent: config.build().into(),
        })
    }

    /// The backend's name, for errors.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The headers every request carries: the token (if any) and the namespace (if set).
    fn headers<B>(
        &self,
        request: RequestBuilder<B>,
        token: Option<&SecretValue>,
    ) -> RequestBuilder<B> {
        let mut request = request.header("X-Vault-Request", "true");
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token.expose());
        }
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace.as_str());
        }
        request
    }

    /// Sends `method` to `/v1/<api_path>` with `token` (if any) and `body` (JSON text, for
    /// `POST`; the caller builds it in a zeroizing buffer when it holds a secret).
    ///
    /// # Errors
    /// [`StoreError::Unreachable`] when the server cannot be reached, does not answer within the
    /// timeout, or answers 5xx (sealed, standby without forwarding, overloaded). Every other
    /// status is returned for the caller to interpret.
    pub fn send(
        &self,
        method: Method,
        api_path: &str,
        token: Option<&SecretValue>,
        body: Option<&str>,
    ) -> Result<Reply, StoreError> {
        let url = format!("{}/v1/{}", self.base, api_path.trim_start_matches('/'));
        let unreachable = |reason: String| StoreError::Unreachable {
            backend: self.backend.clone(),
            reason: format!("{} /v1/{api_path}: {reason}", method.as_str()),
        };
        let result = match method {
            Method::Get => self.headers(self.agent.get(&url), token).call(),
            Method::List => self
                .headers(self.agent.get(&url), token)
                .query("list", "true")
                .call(),
            Method::Delete => self.headers(self.agent.delete(&url), token).call(),
            Method::Post => self
                .headers(self.agent.post(&url), token)
                .content_type("application/json")
                .send(body.unwrap_or("{}").as_bytes()),
        };
        let mut response = result.map_err(|error| match error {
            ureq::Error::Timeout(_) => unreachable(format!("no answer within {:?}", self.timeout)),
            other => unreachable(other.to_string()),
        })?;
        let status = response.status().as_u16();
        let text = Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(MAX_BODY_BYTES)
                .read_to_string()
                .map_err(|error| match error {
                    ureq::Error::Timeout(_) => {
                        unreachable(format!("no answer within {:?}", self.timeout))
                    }
                    other => unreachable(format!("reading the answer: {other}")),
                })?,
        );
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        let reply = Reply { status, body };
        if status >= 500 {
            return Err(unreachable(reply.errors()));
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use auth_hub_protocol::SecretPath;

    use super::super::super::settings::OpenBaoAuth;
    use super::*;

    fn settings(ca_cert: Option<std::path::PathBuf>) -> OpenBaoSettings {
        OpenBaoSettings {
            url: "https://bao.example:8200/".into(),
            mount: "secret".into(),
            prefix: "auth-hub".into(),
            namespace: None,
            ca_cert,
            auth: OpenBaoAuth::Token {
                token_path: SecretPath::parse("openbao/team/token").unwrap(),
            },
            cache_ttl: Duration::ZERO,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = Client::new("team", &settings(Some(missing.clone())))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("missing.pem"), "{err}");
        let empty = dir.path().join("empty.pem");
        fs::write(&empty, "not a certificate\n").unwrap();
        let err = Client::new("team", &settings(Some(empty)))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
        let client = Client::new("team", &settings(None)).unwrap();
        assert_eq!(client.base, "https://bao.example:8200");
    }

    #[test]
    fn server_errors_are_bounded_and_joined() {
        let reply = Reply {
            status: 400,
            body: serde_json::json!({"errors": ["a", "b"]}),
        };
        assert_eq!(reply.errors(), "status 400: a; b");
        let long = Reply {
            status: 403,
            body: serde_json::json!({"errors": ["x".repeat(1000)]}),
        };
        assert!(long.errors().len() < 350);
        let empty = Reply {
            status: 502,
            body: Value::Null,
        };
        assert_eq!(empty.errors(), "status 502");
    }
}
