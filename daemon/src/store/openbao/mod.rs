//! The OpenBao / Vault backend (`kind = "openbao"` or `"vault"`): the hub's paths in a KV v2 mount,
//! `GET /v1/<mount>/data/<prefix>/<path>`, the value in the KV data's `value` field. The hub's
//! credential (a token, or an AppRole secret id) is read from the local store at the path the
//! config names; tokens are renewed and AppRole logins repeated before they expire. Every request
//! is bounded by the configured timeout.
//!
//! The parts: [`client`] (HTTP, timeouts, TLS, transport errors), [`auth`] (token and AppRole
//! sessions), [`kv`] (KV v2 paths, bodies, values and metadata), [`cache`] (the `cache_ttl` value
//! cache). The trait is blocking; the hub calls stores from `spawn_blocking`.
//!
//! What each operation sends:
//!
//! | operation | requests |
//! |---|---|
//! | `get` | `GET <mount>/data/<prefix>/<path>`; 404 (absent, soft-deleted, destroyed) is `None` |
//! | `put` | `POST <mount>/data/…` `{"data":{"value":…}}`, a new KV version |
//! | `delete` | `GET <mount>/metadata/…`, then KV v2's soft delete `DELETE <mount>/data/…` |
//! | `destroy` | `GET <mount>/metadata/…`, then `DELETE <mount>/metadata/…` (every version) |
//! | `list` | `LIST <mount>/metadata/…` recursively, then `GET <mount>/metadata/…` per secret |
//! | `history` | `GET <mount>/metadata/…` |
//! | `health` | `GET sys/health`, `GET auth/token/lookup-self` |
//!
//! **Check-and-set.** The trait's `put` carries no expected version (the hub's writes are
//! last-writer-wins on every backend), so a write sends no `options.cas`. On a mount with
//! `cas_required`, the server's "check-and-set parameter required" answer is met by reading the
//! current version and writing once more with `options.cas` set to it; if another writer got in
//! between, the server's check-and-set mismatch is [`StoreError::Conflict`], and nothing is
//! overwritten blindly.
//!
//! **Metadata.** A read returns the version it served; its `created_at` and `updated_at` are
//! both that version's time (one request per read, as `bao kv get` does). `list` and `history`
//! read the metadata endpoint, whose `created_time` is the secret's first version.
//!
//! **Names.** `list` skips (and counts, in a warning) names under the prefix that the hub's
//! paths cannot express (spaces, `%`, more than eight segments, …); such secrets stay in OpenBao,
//! untouched and unseen by the hub.
//!
//! **Errors.** No answer within the timeout, a refused connection or a 5xx (sealed, standby) is
//! [`StoreError::Unreachable`]; a 403 that persists after the credential was read again is
//! [`StoreError::Refused`] naming the local path to update; a check-and-set mismatch is
//! [`StoreError::Conflict`]; a value the hub cannot serve is [`StoreError::Unusable`]. No message
//! or log line carries a token or a value.

pub mod auth;
pub mod cache;
pub mod client;
pub mod kv;

use std::sync::Arc;
use std::time::Instant;

use auth_hub_protocol::{SecretPath, SecretValue};
use serde_json::Value;

use self::auth::Auth;
use self::cache::Cache;
use self::client::{Client, Method, Reply};
use self::kv::{KvLayout, Versions};
use super::settings::OpenBaoSettings;
use super::{BackendHealth, SecretMeta, SecretStore, StoreError, StoredSecret};

/// Secrets `list` returns at most from one backend; a larger tree is cut (with a warning) so one
/// listing cannot keep the server busy without bound.
pub const MAX_LISTED: usize = 10_000;

/// A KV v2 mount as a store.
pub struct OpenBaoStore {
    name: String,
    client: Client,
    auth: Auth,
    kv: KvLayout,
    cache: Cache,
}

impl OpenBaoStore {
    /// The backend named `name` with `settings`, reading its credential from `local` (the hub's
    /// local store). Contacts nothing: a server that is down fails each request with
    /// [`StoreError::Unreachable`] until it answers.
    ///
    /// # Errors
    /// Unusable settings (a CA file that cannot be read or parsed).
    pub fn open(
        name: &str,
        settings: &OpenBaoSettings,
        local: Arc<dyn SecretStore>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            name: name.to_owned(),
            client: Client::new(name, settings)?,
            auth: Auth::new(name, settings.auth.clone(), local),
            kv: KvLayout::new(settings),
            cache: Cache::new(settings.cache_ttl),
        })
    }

    /// Sends an authenticated request; on 403 reads the credential again and retries once.
    fn call(&self, method: Method, api: &str, body: Option<&str>) -> Result<Reply, StoreError> {
        let token = self.auth.token(&self.client)?;
        let reply = self.client.send(method, api, Some(&token), body)?;
        if reply.status != 403 {
            return Ok(reply);
        }
        self.auth.forget(&token);
        let token = self.auth.token(&self.client)?;
        let reply = self.client.send(method, api, Some(&token), body)?;
        if reply.status == 403 {
            return Err(self.auth.refused(&format!("/v1/{api}"), &reply));
        }
        Ok(reply)
    }

    /// An answer none of the operation's cases expected.
    fn unexpected(&self, path: &str, reply: &Reply) -> StoreError {
        StoreError::Unusable {
            backend: self.name.clone(),
            path: self.kv.display(path),
            reason: format!("unexpected answer from the server ({})", reply.errors()),
        }
    }

    /// The metadata endpoint's `data` for `path`, `None` when the path has no metadata.
    fn metadata(&self, path: &SecretPath) -> Result<Option<Value>, StoreError> {
        let mut reply = self.call(Method::Get, &self.kv.metadata(path.as_str()), None)?;
        match reply.status {
            200 => Ok(Some(reply.body["data"].take())),
            404 => Ok(None),
            _ => Err(self.unexpected(path.as_str(), &reply)),
        }
    }

    /// Appends every secret under `dir` (a folder inside the prefix) to `found`, counting the
    /// names the hub cannot express in `skipped`.
    fn walk(
        &self,
        dir: &str,
        found: &mut Vec<SecretMeta>,
        skipped: &mut usize,
    ) -> Result<(), StoreError> {
        let reply = self.call(Method::List, &self.kv.metadata(dir), None)?;
        match reply.status {
            200 => {}
            404 => return Ok(()),
            _ => return Err(self.unexpected(dir, &reply)),
        }
        let keys = reply.body["data"]["keys"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for key in keys.iter().filter_map(Value::as_str) {
            if found.len() >= MAX_LISTED {
                tracing::warn!(backend = %self.name, limit = MAX_LISTED, "openbao listing cut at the limit");
                return Ok(());
            }
            let (name, is_dir) = match key.strip_suffix('/') {
                Some(name) => (name, true),
                None => (key, false),
            };
            let full = if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            };
            let Ok(path) = SecretPath::parse(&full) else {
                *skipped += 1;
                continue;
            };
            if is_dir {
                self.walk(path.as_str(), found, skipped)?;
            } else if let Some(meta) = self.metadata(&path)? {
                found.extend(Versions(&meta).current_meta(&path));
            }
        }
        Ok(())
    }
}

impl SecretStore for OpenBaoStore {
    fn kind(&self) -> &'static str {
        "openbao"
    }

    fn key_source(&self) -> String {
        "none".to_owned()
    }

    fn get(&self, path: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        if let Some(hit) = self.cache.get(path) {
            return Ok(Some(hit));
        }
        let reply = self.call(Method::Get, &self.kv.data(path), None)?;
        match reply.status {
            200 => {}
            404 => return Ok(None),
            _ => return Err(self.unexpected(path.as_str(), &reply)),
        }
        let data = &reply.body["data"];
        if data["data"].is_null() {
            return Ok(None);
        }
        let secret = StoredSecret {
            value: kv::value_of(&self.name, path, &data["data"])?,
            meta: kv::read_meta(path, &data["metadata"]),
        };
        self.cache.put(&secret);
        Ok(Some(secret))
    }

    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        self.cache.forget(path);
        let api = self.kv.data(path);
        let mut reply = self.call(Method::Post, &api, Some(&kv::write_body(&value, None)))?;
        if reply.status == 400 && reply.errors().contains("check-and-set parameter required") {
            let current = self
                .metadata(path)?
                .map_or(0, |meta| Versions(&meta).current());
            reply = self.call(
                Method::Post,
                &api,
                Some(&kv::write_body(&value, Some(current))),
            )?;
        }
        match reply.status {
            200 | 204 => Ok(kv::read_meta(path, &reply.body["data"])),
            400 if reply.errors().contains("check-and-set") => Err(StoreError::Conflict {
                backend: self.name.clone(),
                path: path.as_str().to_owned(),
                reason: reply.errors(),
            }),
            _ => Err(self.unexpected(path.as_str(), &reply)),
        }
    }

    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError> {
        self.cache.forget(path);
        let Some(meta) = self.metadata(path)? else {
            return Ok(false);
        };
        let versions = Versions(&meta);
        if !versions.live(versions.current()) {
            return Ok(false);
        }
        let reply = self.call(Method::Delete, &self.kv.data(path), None)?;
        match reply.status {
            200 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(self.unexpected(path.as_str(), &reply)),
        }
    }

    fn destroy(&self, path: &SecretPath) -> Result<bool, StoreError> {
        self.cache.forget(path);
        if self.metadata(path)?.is_none() {
            return Ok(false);
        }
        let reply = self.call(Method::Delete, &self.kv.metadata(path.as_str()), None)?;
        match reply.status {
            200 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(self.unexpected(path.as_str(), &reply)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        let prefix = prefix.trim_matches('/');
        let mut found = Vec::new();
        let mut skipped = 0;
        if !prefix.is_empty() {
            // The prefix is a folder, a secret, or both (`team/x` and `team/x/y`).
            let Ok(path) = SecretPath::parse(prefix) else {
                return Ok(Vec::new());
            };
            if let Some(meta) = self.metadata(&path)? {
                found.extend(Versions(&meta).current_meta(&path));
            }
        }
        self.walk(prefix, &mut found, &mut skipped)?;
        if skipped > 0 {
            tracing::warn!(
                backend = %self.name,
                skipped,
                "openbao holds names under the prefix that hub paths cannot express; they were left out of the listing"
            );
        }
        found.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
        found.dedup_by(|a, b| a.path == b.path);
        Ok(found)
    }

    fn history(&self, path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        Ok(self
            .metadata(path)?
            .map(|meta| Versions(&meta).earlier(path))
            .unwrap_or_default())
    }

    fn health(&self) -> BackendHealth {
        let start = Instant::now();
        let mut health = BackendHealth::default();
        // Standby and sealed servers answer below 500 here, so their state can be reported.
        let probe = self.client.send(
            Method::Get,
            "sys/health?standbyok=true&sealedcode=299&uninitcode=299",
            None,
            None,
        );
        let reply = match probe {
            Ok(reply) => reply,
            Err(error) => {
                health.latency = Some(start.elapsed());
                health.problem = Some(error.to_string());
                return health;
            }
        };
        health.reachable = true;
        health.version = reply.body["version"].as_str().map(str::to_owned);
        if reply.body["sealed"].as_bool() == Some(true) {
            health.problem = Some("the server is sealed".to_owned());
        } else if reply.body["initialized"].as_bool() == Some(false) {
            health.problem = Some("the server is not initialized".to_owned());
        } else {
            match self.call(Method::Get, "auth/token/lookup-self", None) {
                Ok(reply) if reply.status == 200 => health.authenticated = true,
                Ok(reply) => {
                    health.problem = Some(self.auth.refused("lookup-self", &reply).to_string())
                }
                Err(error) => health.problem = Some(error.to_string()),
            }
        }
        health.latency = Some(start.elapsed());
        health
    }
}
