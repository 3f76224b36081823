//! Standing grants: a key's permission to receive tokens for a scope without a prompt, persisted
//! in `grants.json`.
//!
//! A [`StandingGrant`] lasts until it expires or is revoked. The [`GrantBook`] owns `grants.json`
//! (a versioned JSON object, mode 0600, replaced atomically); each change is persisted before it
//! returns and rolled back in memory if persisting fails.

use std::path::{Path, PathBuf};

use auth_hub_protocol::response::GrantInfo;
use auth_hub_protocol::{Access, Permissions, SecretScope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state_file::{self, StateFileError};

/// The `version` written to and accepted from `grants.json`.
pub const GRANT_FILE_VERSION: u32 = 1;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{at, scope};
    use std::fs;

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
}
