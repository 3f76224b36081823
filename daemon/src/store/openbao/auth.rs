//! How the hub logs in to OpenBao: a token, or an AppRole login, with the credential read lazily
//! from the hub's local store at the path the config names (never from `config.toml`).
//!
//! - **Token** (`token_path`): read on first use and checked with `auth/token/lookup-self`, which
//!   gives its TTL; a renewable token with a TTL is renewed (`auth/token/renew-self`) once two
//!   thirds of it have passed. A root or periodic token without a TTL is used as is.
//! - **AppRole** (`role_id` + `secret_id_path`): `POST auth/approle/login`; the login is repeated
//!   once two thirds of its lease have passed.
//!
//! A request the server refuses with 403 drops the session; the caller then asks again once,
//! which re-reads the credential from the local store (so `hyperforge auth put <token_path>`
//! takes effect without a restart). A second refusal is [`StoreError::Refused`] naming the local
//! path to update. Tokens are [`SecretValue`]s: never in a message, a log line or `Debug`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use auth_hub_protocol::{SecretPath, SecretValue};
use serde_json::Value;
use zeroize::Zeroizing;

use super::super::settings::OpenBaoAuth;
use super::super::{SecretStore, StoreError};
use super::client::{Client, Method, Reply};
use super::kv::json_string;

/// A logged-in session: the token and when to renew it (or log in again).
struct Session {
    token: SecretValue,
    refresh_at: Option<Instant>,
}

/// The hub's credential for one backend.
pub struct Auth {
    backend: String,
    method: OpenBaoAuth,
    local: Arc<dyn SecretStore>,
    session: Mutex<Option<Session>>,
}

impl Auth {
    /// Logs in with `method`, reading its credential from `local` when first needed.
    pub fn new(backend: &str, method: OpenBaoAuth, local: Arc<dyn SecretStore>) -> Self {
        Self {
            backend: backend.to_owned(),
            method,
            local,
            session: Mutex::new(None),
        }
    }

    /// The local path holding the credential.
    pub fn credential_path(&self) -> &SecretPath {
        match &self.method {
            OpenBaoAuth::Token { token_path } => token_path,
            OpenBaoAuth::AppRole { secret_id_path, .. } => secret_id_path,
        }
    }

    /// A token to send now: the session's, renewed or logged in again when due.
    ///
    /// # Errors
    /// [`StoreError::Refused`] when the credential is missing or refused,
    /// [`StoreError::Unreachable`] when the server does not answer.
    pub fn token(&self, client: &Client) -> Result<SecretValue, StoreError> {
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = session.as_ref() {
            match current.refresh_at {
                Some(at) if Instant::now() >= at => {
                    let renewed = match &self.method {
                        OpenBaoAuth::Token { .. } => self.renew(client, &current.token)?,
                        OpenBaoAuth::AppRole { .. } => None,
                    };
                    *session = renewed;
                }
                _ => return Ok(current.token.clone()),
            }
        }
        if let Some(current) = session.as_ref() {
            return Ok(current.token.clone());
        }
        let fresh = match &self.method {
            OpenBaoAuth::Token { token_path } => self.look_up(client, token_path)?,
            OpenBaoAuth::AppRole {
                role_id,
                secret_id_path,
            } => self.log_in(client, role_id, secret_id_path)?,
        };
        let token = fresh.token.clone();
        *session = Some(fresh);
        Ok(token)
    }

    /// Drops the session if it still holds `stale` (a token the server just refused), so the next
    /// [`Auth::token`] reads the credential again.
    pub fn forget(&self, stale: &SecretValue) {
        let mut session = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if session.as_ref().is_some_and(|s| &s.token == stale) {
            *session = None;
        }
    }

    /// The error for a request refused again after a fresh login: the server's reason and the
    /// local path to update.
    pub fn refused(&self, what: &str, reply: &Reply) -> StoreError {
        StoreError::Refused {
            backend: self.backend.clone(),
            reason: format!(
                "{what} was refused ({}) although the hub's credential was read again; the \
                 token's policy may not cover this path, or {}",
                reply.errors(),
                self.fix()
            ),
        }
    }

    /// What to do about a bad credential, in one clause.
    fn fix(&self) -> String {
        match &self.method {
            OpenBaoAuth::Token { token_path } => format!(
                "the token is revoked or expired: store a new one with `hyperforge auth put \
                 {token_path}`"
            ),
            OpenBaoAuth::AppRole {
                role_id,
                secret_id_path,
            } => format!(
                "the secret id of AppRole role {role_id} is wrong or expired: store a new one \
                 with `hyperforge auth put {secret_id_path}`"
            ),
        }
    }

    /// The credential at `path` in the local store.
    fn credential(&self, path: &SecretPath, what: &str) -> Result<SecretValue, StoreError> {
        match self.local.get(path)? {
            Some(stored) if !stored.value.is_empty() => Ok(stored.value),
            _ => Err(StoreError::Refused {
                backend: self.backend.clone(),
                reason: format!(
                    "no {what} at {path} in the local store: store it with `hyperforge auth put \
                     {path}`"
                ),
            }),
        }
    }

    /// Reads the token from the local store and asks the server for its TTL.
    fn look_up(&self, client: &Client, token_path: &SecretPath) -> Result<Session, StoreError> {
        let token = self.credential(token_path, "OpenBao token")?;
        let reply = client.send(Method::Get, "auth/token/lookup-self", Some(&token), None)?;
        if reply.status != 200 {
            return Err(StoreError::Refused {
                backend: self.backend.clone(),
                reason: format!(
                    "the token at {token_path} was refused ({}): {}",
                    reply.errors(),
                    self.fix()
                ),
            });
        }
        let data = &reply.body["data"];
        let renewable = data["renewable"].as_bool().unwrap_or(false);
        let ttl = data["ttl"].as_u64().unwrap_or(0);
        Ok(Session {
            token,
            refresh_at: renewable.then(|| refresh_at(ttl)).flatten(),
        })
    }

    /// Renews `token`; `None` (log in again from the local store) when the server refuses.
    fn renew(&self, client: &Client, token: &SecretValue) -> Result<Option<Session>, StoreError> {
        let reply = client.send(
            Method::Post,
            "auth/token/renew-self",
            Some(token),
            Some("{}"),
        )?;
        if reply.status != 200 {
            tracing::warn!(backend = %self.backend, status = reply.status, "openbao token renewal refused; reading the token again");
            return Ok(None);
        }
        Ok(Some(Session {
            token: token.clone(),
            refresh_at: lease_refresh(&reply.body),
        }))
    }

    /// `POST auth/approle/login` with the role id and the secret id from the local store.
    fn log_in(
        &self,
        client: &Client,
        role_id: &str,
        secret_id_path: &SecretPath,
    ) -> Result<Session, StoreError> {
        let secret_id = self.credential(secret_id_path, "AppRole secret id")?;
        let body = Zeroizing::new(format!(
            r#"{{"role_id":{},"secret_id":{}}}"#,
            Value::from(role_id),
            *json_string(secret_id.expose())
        ));
        let reply = client.send(Method::Post, "auth/approle/login", None, Some(&body))?;
        let token = reply.body["auth"]["client_token"]
            .as_str()
            .filter(|_| reply.status == 200);
        let Some(token) = token else {
            return Err(StoreError::Refused {
                backend: self.backend.clone(),
                reason: format!("AppRole login refused ({}): {}", reply.errors(), self.fix()),
            });
        };
        Ok(Session {
            token: SecretValue::new(token.to_owned()),
            refresh_at: lease_refresh(&reply.body),
        })
    }
}

/// When to renew a login answer's `auth.lease_duration`.
fn lease_refresh(body: &Value) -> Option<Instant> {
    refresh_at(body["auth"]["lease_duration"].as_u64().unwrap_or(0))
}

/// Two thirds into a TTL of `seconds`; `None` for no TTL (root and periodic-less tokens).
fn refresh_at(seconds: u64) -> Option<Instant> {
    (seconds > 0).then(|| Instant::now() + Duration::from_secs(seconds) * 2 / 3)
}
