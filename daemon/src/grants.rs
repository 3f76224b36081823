//! Grants: standing grants, persisted, and pending requests, waiting in memory for the owner.
//!
//! A [`StandingGrant`] lets a key receive access tokens for a scope without a prompt, until it
//! expires or is revoked. The [`GrantBook`] owns `grants.json` (a versioned JSON object, mode
//! 0600, replaced atomically); each change is persisted before it returns and rolled back in
//! memory if persisting fails.
//!
//! A [`PendingBook`] holds requests parked by a `prompt` policy. Each request covers one or more
//! scopes that are decided together or one by one; when every scope has a decision the request
//! leaves the book and its waiter receives the decisions through a oneshot channel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use auth_hub_protocol::response::{GrantInfo, PendingRequest};
use auth_hub_protocol::{Access, Permissions, SecretScope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::state_file::{self, StateFileError};

/// The `version` written to and accepted from `grants.json`.
pub const GRANT_FILE_VERSION: u32 = 1;
/// Default cap on pending requests in all.
pub const DEFAULT_MAX_PENDING: usize = 256;
/// Default cap on pending requests per key.
pub const DEFAULT_MAX_PENDING_PER_KEY: usize = 32;

/// A key's standing permission to receive tokens for a scope without asking.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandingGrant {
    /// The key it is for.
    pub key_name: String,
    /// The scope pattern.
    pub scope: SecretScope,
    /// The rights granted.
    pub permissions: Permissions,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
    /// When it ends, if ever.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl StandingGrant {
    /// What may be shown about the grant.
    pub fn info(&self) -> GrantInfo {
        GrantInfo {
            key_name: self.key_name.clone(),
            scope: self.scope.clone(),
            permissions: self.permissions,
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }

    /// The pattern with the rights granted under it.
    pub fn access(&self) -> Access {
        Access::new(self.scope.clone(), self.permissions)
    }

    /// True when the grant has not expired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// Why `grants.json` could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantStoreError {
    /// The file could not be read, parsed or written; on a failed write nothing changed.
    #[error(transparent)]
    File(#[from] StateFileError),
}

/// The on-disk shape of `grants.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFile {
    version: u32,
    grants: Vec<StandingGrant>,
}

/// The standing grants, backed by `grants.json`.
#[derive(Debug)]
pub struct GrantBook {
    path: PathBuf,
    grants: Vec<StandingGrant>,
}

impl GrantBook {
    /// Loads the grants file at `path`; a missing file gives an empty book.
    ///
    /// # Errors
    /// [`GrantStoreError::File`]: unreadable, corrupt (with line and column), or from a newer hub.
    pub fn load(path: &Path) -> Result<Self, GrantStoreError> {
        let Some(file) = state_file::load::<GrantFile>(path, GRANT_FILE_VERSION)? else {
            return Ok(Self {
                path: path.to_owned(),
                grants: Vec::new(),
            });
        };
        Ok(Self {
            path: path.to_owned(),
            grants: file.grants,
        })
    }

    /// A grant for `key_name`, live at `now`, whose scope covers `wanted`'s and whose permissions
    /// include `wanted`'s.
    pub fn find(
        &self,
        key_name: &str,
        wanted: &Access,
        now: DateTime<Utc>,
    ) -> Option<&StandingGrant> {
        self.grants.iter().find(|grant| {
            grant.key_name == key_name
                && grant.is_live(now)
                && grant.scope.covers_scope(&wanted.scope)
                && grant.permissions.includes(wanted.permissions)
        })
    }

    /// Adds a grant. A grant for the same key and pattern is merged into: the permissions are
    /// joined and the later expiry (no expiry beats any) is kept; an already expired one is
    /// replaced. Returns the grant as now stored.
    ///
    /// # Errors
    /// A write error; nothing was changed.
    pub fn add(&mut self, grant: StandingGrant) -> Result<GrantInfo, GrantStoreError> {
        let existing = self.grants.iter().position(|old| {
            old.key_name == grant.key_name && old.scope.as_str() == grant.scope.as_str()
        });
        let Some(index) = existing else {
            let info = grant.info();
            self.grants.push(grant);
            if let Err(error) = self.persist() {
                self.grants.pop();
                return Err(error);
            }
            return Ok(info);
        };
        let previous = self.grants[index].clone();
        let merged = if previous.is_live(grant.created_at) {
            StandingGrant {
                key_name: grant.key_name,
                scope: grant.scope,
                permissions: previous.permissions.union(grant.permissions),
                created_at: previous.created_at,
                expires_at: match (previous.expires_at, grant.expires_at) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                },
            }
        } else {
            grant
        };
        let info = merged.info();
        self.grants[index] = merged;
        if let Err(error) = self.persist() {
            self.grants[index] = previous;
            return Err(error);
        }
        Ok(info)
    }

    /// Removes the grants whose pattern `scope` covers, of `key` only when given. Returns them.
    ///
    /// # Errors
    /// A write error; nothing was changed.
    pub fn revoke(
        &mut self,
        scope: &SecretScope,
        key: Option<&str>,
    ) -> Result<Vec<StandingGrant>, GrantStoreError> {
        self.remove_where(|grant| {
            key.is_none_or(|key| grant.key_name == key) && scope.covers_scope(&grant.scope)
        })
    }

    /// The grants live at `now`, sorted by key, then scope.
    pub fn list(&self, now: DateTime<Utc>) -> Vec<GrantInfo> {
        let mut live: Vec<&StandingGrant> = self
            .grants
            .iter()
            .filter(|grant| grant.is_live(now))
            .collect();
        live.sort_by(|a, b| {
            a.key_name
                .cmp(&b.key_name)
                .then_with(|| a.scope.as_str().cmp(b.scope.as_str()))
        });
        live.into_iter().map(StandingGrant::info).collect()
    }

    /// How many grants are live at `now`.
    pub fn live_count(&self, now: DateTime<Utc>) -> usize {
        self.grants
            .iter()
            .filter(|grant| grant.is_live(now))
            .count()
    }

    /// Removes grants expired at `now`. Returns how many.
    ///
    /// # Errors
    /// A write error; nothing was changed.
    pub fn purge_expired(&mut self, now: DateTime<Utc>) -> Result<usize, GrantStoreError> {
        self.remove_where(|grant| !grant.is_live(now))
            .map(|removed| removed.len())
    }

    /// The grants file this book persists to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn remove_where(
        &mut self,
        doomed: impl Fn(&StandingGrant) -> bool,
    ) -> Result<Vec<StandingGrant>, GrantStoreError> {
        if !self.grants.iter().any(&doomed) {
            return Ok(Vec::new());
        }
        let previous = self.grants.clone();
        let (removed, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.grants)
            .into_iter()
            .partition(|grant| doomed(grant));
        self.grants = kept;
        if let Err(error) = self.persist() {
            self.grants = previous;
            return Err(error);
        }
        Ok(removed)
    }

    fn persist(&self) -> Result<(), GrantStoreError> {
        let file = GrantFile {
            version: GRANT_FILE_VERSION,
            grants: self.grants.clone(),
        };
        Ok(state_file::save(&self.path, &file)?)
    }
}

/// The owner's answer for one scope of a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approved with these rights (the ones requested).
    Approved(Permissions),
    /// Refused.
    Denied,
}

/// One decision per scope of a request, in the request's order; `None` while undecided.
pub type Decisions = Vec<Option<Decision>>;

/// Receives a request's [`Decisions`] once every scope is decided.
pub type DecisionReceiver = oneshot::Receiver<Decisions>;

/// Why a request could not be parked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PendingError {
    /// The cap on pending requests, in all (`key_name` is `None`) or for one key, is reached.
    #[error("too many pending requests{}: at most {limit}", key_name.as_ref().map(|k| format!(" for key {k:?}")).unwrap_or_default())]
    TooMany {
        /// The cap reached.
        limit: usize,
        /// The key, when its own cap was reached.
        key_name: Option<String>,
    },
    /// The request names no scope.
    #[error("a pending request needs at least one scope")]
    NoScopes,
}

/// What a [`PendingBook::grant`] did to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantOutcome {
    /// The request's id.
    pub id: u64,
    /// The key that asked.
    pub key_name: String,
    /// The scopes this call approved, with the requested permissions.
    pub approved: Vec<Access>,
    /// True when every scope of the request now has a decision; the request has then left the
    /// book and its waiter has been answered.
    pub fully_decided: bool,
}

/// A parked request, its decisions so far, and the channel to its waiter.
#[derive(Debug)]
struct Pending {
    request: PendingRequest,
    decisions: Decisions,
    waiter: oneshot::Sender<Decisions>,
}

/// Requests waiting for the owner, oldest first.
#[derive(Debug)]
pub struct PendingBook {
    requests: BTreeMap<u64, Pending>,
    next_id: u64,
    max_total: usize,
    max_per_key: usize,
}

impl Default for PendingBook {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_PENDING, DEFAULT_MAX_PENDING_PER_KEY)
    }
}

impl PendingBook {
    /// An empty book holding at most `max_total` requests, `max_per_key` per key.
    pub fn new(max_total: usize, max_per_key: usize) -> Self {
        Self {
            requests: BTreeMap::new(),
            next_id: 1,
            max_total,
            max_per_key,
        }
    }

    /// Parks `request` (its `id` is replaced by a fresh one). Returns the id and the receiver
    /// that gets one decision per scope, in the request's order, once every scope is decided.
    ///
    /// # Errors
    /// [`PendingError::TooMany`] when a cap is reached; [`PendingError::NoScopes`].
    pub fn add(
        &mut self,
        mut request: PendingRequest,
    ) -> Result<(u64, DecisionReceiver), PendingError> {
        if request.scopes.is_empty() {
            return Err(PendingError::NoScopes);
        }
        if self.requests.len() >= self.max_total {
            return Err(PendingError::TooMany {
                limit: self.max_total,
                key_name: None,
            });
        }
        let of_key = self
            .requests
            .values()
            .filter(|pending| pending.request.key_name == request.key_name)
            .count();
        if of_key >= self.max_per_key {
            return Err(PendingError::TooMany {
                limit: self.max_per_key,
                key_name: Some(request.key_name),
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        request.id = id;
        let (waiter, receiver) = oneshot::channel();
        let decisions = vec![None; request.scopes.len()];
        self.requests.insert(
            id,
            Pending {
                request,
                decisions,
                waiter,
            },
        );
        Ok((id, receiver))
    }

    /// Approves, in every pending request (or only `request_id`), each undecided scope that
    /// `scope` covers and whose requested permissions `granted` includes. Requests left with no
    /// undecided scope are answered and removed. Returns one outcome per request touched.
    pub fn grant(
        &mut self,
        scope: &SecretScope,
        granted: Permissions,
        request_id: Option<u64>,
    ) -> Vec<GrantOutcome> {
        let mut outcomes = Vec::new();
        for (&id, pending) in self.requests.iter_mut() {
            if request_id.is_some_and(|wanted| wanted != id) {
                continue;
            }
            let requested = pending.request.permissions;
            if !granted.includes(requested) {
                continue;
            }
            let mut approved = Vec::new();
            for (asked, decision) in pending.request.scopes.iter().zip(&mut pending.decisions) {
                if decision.is_none() && scope.covers_scope(asked) {
                    *decision = Some(Decision::Approved(requested));
                    approved.push(Access::new(asked.clone(), requested));
                }
            }
            if !approved.is_empty() {
                outcomes.push(GrantOutcome {
                    id,
                    key_name: pending.request.key_name.clone(),
                    approved,
                    fully_decided: pending.decisions.iter().all(Option::is_some),
                });
            }
        }
        for outcome in outcomes.iter().filter(|outcome| outcome.fully_decided) {
            self.answer(outcome.id);
        }
        outcomes
    }

    /// Denies, in every pending request (or only `request_id`), each undecided scope that `scope`
    /// covers. Requests left with no undecided scope are answered and removed. Returns the ids of
    /// the requests touched.
    pub fn deny(&mut self, scope: &SecretScope, request_id: Option<u64>) -> Vec<u64> {
        let mut touched = Vec::new();
        let mut finished = Vec::new();
        for (&id, pending) in self.requests.iter_mut() {
            if request_id.is_some_and(|wanted| wanted != id) {
                continue;
            }
            let mut any = false;
            for (asked, decision) in pending.request.scopes.iter().zip(&mut pending.decisions) {
                if decision.is_none() && scope.covers_scope(asked) {
                    *decision = Some(Decision::Denied);
                    any = true;
                }
            }
            if any {
                touched.push(id);
                if pending.decisions.iter().all(Option::is_some) {
                    finished.push(id);
                }
            }
        }
        for id in finished {
            self.answer(id);
        }
        touched
    }

    /// Removes a request without answering it (timeout, cancel) and returns its decisions so far
    /// (`None` for undecided scopes). Its waiter, if still listening, sees the channel close.
    pub fn remove(&mut self, id: u64) -> Option<Decisions> {
        self.requests.remove(&id).map(|pending| pending.decisions)
    }

    /// Removes requests whose waiter has gone away (the client disconnected). Returns their ids.
    pub fn purge_abandoned(&mut self) -> Vec<u64> {
        let gone: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, pending)| pending.waiter.is_closed())
            .map(|(&id, _)| id)
            .collect();
        for id in &gone {
            self.requests.remove(id);
        }
        gone
    }

    /// The pending requests, oldest first.
    pub fn list(&self) -> Vec<PendingRequest> {
        self.requests
            .values()
            .map(|pending| pending.request.clone())
            .collect()
    }

    /// The pending request with this id.
    pub fn get(&self, id: u64) -> Option<&PendingRequest> {
        self.requests.get(&id).map(|pending| &pending.request)
    }

    /// How many requests are pending.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Drops every request without answering (shutdown); each waiter sees the channel close.
    pub fn cancel_all(&mut self) {
        self.requests.clear();
    }

    /// Removes a fully decided request and sends its decisions.
    fn answer(&mut self, id: u64) {
        if let Some(pending) = self.requests.remove(&id) {
            // The waiter may have gone away; then nobody needs the answer.
            let _ = pending.waiter.send(pending.decisions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_hub_protocol::response::PeerInfo;
    use chrono::TimeZone;
    use std::fs;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0)
            .single()
            .expect("valid test timestamp")
    }

    fn scope(pattern: &str) -> SecretScope {
        SecretScope::parse(pattern).expect("valid test scope")
    }

    fn wanted(pattern: &str) -> Access {
        Access::read(scope(pattern))
    }

    fn grant(
        key: &str,
        pattern: &str,
        permissions: Permissions,
        expires: Option<i64>,
    ) -> StandingGrant {
        StandingGrant {
            key_name: key.to_owned(),
            scope: scope(pattern),
            permissions,
            created_at: at(0),
            expires_at: expires.map(at),
        }
    }

    fn book() -> (tempfile::TempDir, GrantBook) {
        let dir = tempfile::tempdir().expect("temp dir");
        let book = GrantBook::load(&dir.path().join("grants.json")).expect("empty book");
        (dir, book)
    }

    fn request(key: &str, scopes: &[&str], permissions: Permissions) -> PendingRequest {
        PendingRequest {
            id: 0,
            scopes: scopes.iter().map(|s| scope(s)).collect(),
            permissions,
            key_name: key.to_owned(),
            client_name: "test".to_owned(),
            peer: PeerInfo {
                uid: 1000,
                pid: Some(42),
                exe: None,
            },
            reason: String::new(),
            created_at: at(0),
            expires_at: at(60),
        }
    }

    #[test]
    fn find_needs_cover_and_permissions() {
        let (_dir, mut book) = book();
        book.add(grant("ci", "github/acme/*", Permissions::READ, None))
            .expect("added");
        let read = wanted("github/acme/token");
        assert!(book.find("ci", &read, at(1)).is_some());
        assert!(book
            .find("ci", &wanted("github/acme/ci/*"), at(1))
            .is_some());
        assert!(book.find("other", &read, at(1)).is_none());
        assert!(book
            .find("ci", &wanted("github/acmex/token"), at(1))
            .is_none());
        assert!(book.find("ci", &wanted("github/*"), at(1)).is_none());
        let write = Access::new(read.scope.clone(), Permissions::WRITE);
        assert!(book.find("ci", &write, at(1)).is_none());
    }

    #[test]
    fn same_key_and_pattern_merge() {
        let (_dir, mut book) = book();
        book.add(grant("ci", "npm/*", Permissions::READ, Some(100)))
            .expect("added");
        let info = book
            .add(grant("ci", "npm/*", Permissions::WRITE, Some(50)))
            .expect("merged");
        assert_eq!(info.permissions, Permissions::READ_WRITE);
        assert_eq!(info.expires_at, Some(at(100)));
        let info = book
            .add(grant("ci", "npm/*", Permissions::READ, None))
            .expect("merged");
        assert_eq!(info.expires_at, None);
        assert_eq!(book.list(at(1)).len(), 1);
        // Another key or pattern is a separate grant.
        book.add(grant("bot", "npm/*", Permissions::READ, None))
            .expect("added");
        book.add(grant("ci", "npm/@acme/*", Permissions::READ, None))
            .expect("added");
        let listed: Vec<(String, String)> = book
            .list(at(1))
            .into_iter()
            .map(|g| (g.key_name, g.scope.to_string()))
            .collect();
        assert_eq!(
            listed,
            [
                ("bot".to_owned(), "npm/*".to_owned()),
                ("ci".to_owned(), "npm/*".to_owned()),
                ("ci".to_owned(), "npm/@acme/*".to_owned()),
            ]
        );
    }

    #[test]
    fn expired_grant_is_replaced_not_merged() {
        let (_dir, mut book) = book();
        book.add(grant("ci", "npm/*", Permissions::WRITE, Some(10)))
            .expect("added");
        let mut fresh = grant("ci", "npm/*", Permissions::READ, Some(100));
        fresh.created_at = at(20);
        let info = book.add(fresh).expect("replaced");
        assert_eq!(info.permissions, Permissions::READ);
        assert_eq!(info.created_at, at(20));
    }

    #[test]
    fn revoke_removes_covered_grants_only() {
        let (_dir, mut book) = book();
        for (key, pattern) in [
            ("ci", "github/alice/*"),
            ("ci", "github/alice/ci/*"),
            ("ci", "github/alicex/*"),
            ("bot", "github/alice/*"),
        ] {
            book.add(grant(key, pattern, Permissions::READ, None))
                .expect("added");
        }
        let removed = book
            .revoke(&scope("github/alice/*"), Some("ci"))
            .expect("revoked");
        let mut patterns: Vec<String> = removed.iter().map(|g| g.scope.to_string()).collect();
        patterns.sort();
        assert_eq!(patterns, ["github/alice/*", "github/alice/ci/*"]);
        assert!(book
            .find("ci", &wanted("github/alicex/token"), at(1))
            .is_some());
        assert!(book
            .find("bot", &wanted("github/alice/token"), at(1))
            .is_some());
        assert_eq!(
            book.revoke(&scope("github/alice/*"), None)
                .expect("revoked")
                .len(),
            1
        );
        assert!(book
            .revoke(&scope("gitlab/*"), None)
            .expect("nothing")
            .is_empty());
    }

    #[test]
    fn expiry_and_purge_persist() {
        let (dir, mut book) = book();
        book.add(grant("ci", "cargo/*", Permissions::READ, Some(10)))
            .expect("added");
        book.add(grant("ci", "npm/*", Permissions::READ_WRITE, None))
            .expect("added");
        assert!(book.find("ci", &wanted("cargo/token"), at(9)).is_some());
        assert!(book.find("ci", &wanted("cargo/token"), at(10)).is_none());
        assert_eq!(book.list(at(10)).len(), 1);
        assert_eq!(book.live_count(at(10)), 1);
        assert_eq!(book.purge_expired(at(10)).expect("purged"), 1);

        let reloaded = GrantBook::load(&dir.path().join("grants.json")).expect("reloads");
        assert_eq!(reloaded.list(at(10)), book.list(at(10)));
        let write = Access::new(scope("npm/token"), Permissions::WRITE);
        assert!(reloaded.find("ci", &write, at(11)).is_some());
    }

    #[test]
    fn failed_write_rolls_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut book =
            GrantBook::load(&dir.path().join("missing").join("grants.json")).expect("empty");
        assert!(matches!(
            book.add(grant("ci", "npm/*", Permissions::READ, None)),
            Err(GrantStoreError::File(StateFileError::Write { .. }))
        ));
        assert!(book.list(at(0)).is_empty());
    }

    #[test]
    fn corrupt_file_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("grants.json");
        fs::write(
            &path,
            r#"{"version":1,"grants":[{"key_name":"ci","scope":"a/*/b","permissions":{"read":true},"created_at":"2024-01-01T00:00:00Z"}]}"#,
        )
        .expect("write");
        assert!(matches!(
            GrantBook::load(&path),
            Err(GrantStoreError::File(StateFileError::Corrupt { .. }))
        ));
        fs::write(&path, r#"{"version":9}"#).expect("write");
        assert!(matches!(
            GrantBook::load(&path),
            Err(GrantStoreError::File(StateFileError::UnsupportedVersion {
                version: 9,
                ..
            }))
        ));
    }

    #[test]
    fn multi_scope_request_decided_piecewise() {
        let mut pending = PendingBook::new(8, 8);
        let (id, mut receiver) = pending
            .add(request(
                "ci",
                &["github/acme/*", "cargo/token", "npm/token"],
                Permissions::READ,
            ))
            .expect("parked");
        assert_eq!(pending.list()[0].id, id);

        let outcomes = pending.grant(&scope("github/*"), Permissions::READ, None);
        assert_eq!(
            outcomes,
            [GrantOutcome {
                id,
                key_name: "ci".into(),
                approved: vec![Access::read(scope("github/acme/*"))],
                fully_decided: false,
            }]
        );
        assert!(receiver.try_recv().is_err());

        // A write-only grant does not include the requested read.
        assert!(pending
            .grant(&scope("cargo/*"), Permissions::WRITE, None)
            .is_empty());
        assert_eq!(pending.deny(&scope("cargo/*"), Some(id)), [id]);
        assert_eq!(pending.len(), 1);

        let outcomes = pending.grant(&scope("npm/token"), Permissions::READ_WRITE, Some(id));
        assert!(outcomes[0].fully_decided);
        assert!(pending.is_empty());
        assert_eq!(
            receiver.try_recv().expect("answered"),
            [
                Some(Decision::Approved(Permissions::READ)),
                Some(Decision::Denied),
                Some(Decision::Approved(Permissions::READ)),
            ]
        );
    }

    #[test]
    fn grant_and_deny_respect_request_id() {
        let mut pending = PendingBook::default();
        let (first, _rx1) = pending
            .add(request("ci", &["npm/token"], Permissions::READ))
            .expect("parked");
        let (second, mut rx2) = pending
            .add(request("bot", &["npm/token"], Permissions::READ))
            .expect("parked");
        assert_ne!(first, second);
        assert_eq!(pending.deny(&scope("npm/*"), Some(second)), [second]);
        assert_eq!(rx2.try_recv().expect("answered"), [Some(Decision::Denied)]);
        assert_eq!(pending.list().len(), 1);
        assert!(pending.deny(&scope("pypi/*"), None).is_empty());
    }

    #[test]
    fn remove_returns_partial_decisions() {
        let mut pending = PendingBook::default();
        let (id, mut receiver) = pending
            .add(request("ci", &["a/*", "b/*"], Permissions::READ))
            .expect("parked");
        pending.grant(&scope("a/*"), Permissions::READ, None);
        assert_eq!(
            pending.remove(id).expect("present"),
            [Some(Decision::Approved(Permissions::READ)), None]
        );
        assert!(pending.remove(id).is_none());
        assert!(matches!(
            receiver.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
    }

    #[test]
    fn caps_and_cancel() {
        let mut pending = PendingBook::new(3, 2);
        let mut receivers = Vec::new();
        for key in ["ci", "ci"] {
            receivers.push(
                pending
                    .add(request(key, &["a/*"], Permissions::READ))
                    .expect("parked")
                    .1,
            );
        }
        assert_eq!(
            pending
                .add(request("ci", &["a/*"], Permissions::READ))
                .expect_err("per-key cap"),
            PendingError::TooMany {
                limit: 2,
                key_name: Some("ci".into())
            }
        );
        receivers.push(
            pending
                .add(request("bot", &["a/*"], Permissions::READ))
                .expect("parked")
                .1,
        );
        let error = pending
            .add(request("other", &["a/*"], Permissions::READ))
            .expect_err("total cap");
        assert_eq!(
            error,
            PendingError::TooMany {
                limit: 3,
                key_name: None
            }
        );
        assert_eq!(
            pending
                .add(request("other", &[], Permissions::READ))
                .expect_err("no scopes"),
            PendingError::NoScopes
        );
        drop(receivers.pop());
        assert_eq!(pending.purge_abandoned().len(), 1);
        pending.cancel_all();
        assert!(pending.is_empty());
        for mut receiver in receivers {
            assert!(matches!(
                receiver.try_recv(),
                Err(oneshot::error::TryRecvError::Closed)
            ));
        }
    }
}
