//! AuthProvider records as the hub stores them (`providers.json`): every version of every
//! record, so the newest version of each `ORG/APP/TYPE` is the record and the older ones are its
//! history (the seed's audit table). At most one live (not removed) record per address.
//!
//! Like the keys file: a versioned JSON document replaced atomically and durably (mode 0600);
//! every change is persisted before it returns and rolled back in memory if persisting fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use auth_hub_protocol::provider::{
    Actor, ProviderChange, ProviderFields, ProviderRecord, ProviderVersion,
};
use auth_hub_protocol::{ProviderError, ProviderId};
use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};

use crate::state_file::{self, StateFileError};

/// The `version` written to and accepted from `providers.json`.
pub const PROVIDER_FILE_VERSION: u32 = 1;

/// Why a provider record could not be read, created or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderStoreError {
    /// A live record has this address.
    #[error("provider {id} already exists; change it with `hyperforge auth provider update {id}`")]
    Conflict {
        /// The address.
        id: ProviderId,
    },
    /// No live record has this address.
    #[error("no provider {id}")]
    NotFound {
        /// The address.
        id: ProviderId,
    },
    /// A field is not valid.
    #[error(transparent)]
    Invalid(#[from] ProviderError),
    /// The file's versions break an invariant (numbering, order).
    #[error("providers file {} is inconsistent at {id} version {version}: {reason}", path.display())]
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// The record.
        id: ProviderId,
        /// The version found.
        version: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// The file could not be read, parsed or written; on a failed write nothing changed.
    #[error(transparent)]
    File(#[from] StateFileError),
}

/// The on-disk shape of `providers.json`: every version, in the order written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    version: u32,
    #[serde(default)]
    versions: Vec<ProviderVersion>,
}

/// Every version of every provider record, backed by `providers.json`.
#[derive(Debug)]
pub struct ProviderBook {
    path: PathBuf,
    versions: Vec<ProviderVersion>,
}

impl ProviderBook {
    /// Loads `path`; a missing file is an empty book.
    ///
    /// # Errors
    /// [`ProviderStoreError::File`], or [`ProviderStoreError::Invalid`] for a record that
    /// breaks an invariant.
    pub fn load(path: &Path) -> Result<Self, ProviderStoreError> {
        let Some(file) = state_file::load::<ProviderFile>(path, PROVIDER_FILE_VERSION)? else {
            return Ok(Self {
                path: path.to_owned(),
                versions: Vec::new(),
            });
        };
        check_numbering(path, &file.versions)?;
        Ok(Self {
            path: path.to_owned(),
            versions: file.versions,
        })
    }

    /// Creates version 1 of a record (or, for an address whose record was removed, a new
    /// version that brings it back).
    ///
    /// # Errors
    /// [`ProviderStoreError::Conflict`], [`ProviderStoreError::Invalid`], or a write error.
    pub fn add(
        &mut self,
        id: ProviderId,
        fields: ProviderFields,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<ProviderRecord, ProviderStoreError> {
        if self.get(&id).is_some() {
            return Err(ProviderStoreError::Conflict { id });
        }
        let fields = fields.with_defaults(&id);
        fields.check(&id)?;
        let changed = fields.set_names();
        let record = match self.newest(&id) {
            // Brought back after a remove: the next version, v1's creation kept.
            Some(removed) => ProviderRecord {
                id,
                version: removed.version + 1,
                fields,
                created_at: removed.created_at,
                created_by: removed.created_by.clone(),
                updated_at: now,
                updated_by: by,
                deleted_at: None,
            },
            None => ProviderRecord {
                id,
                version: 1,
                fields,
                created_at: now,
                created_by: by.clone(),
                updated_at: now,
                updated_by: by,
                deleted_at: None,
            },
        };
        self.commit(ProviderVersion {
            action: "add".to_owned(),
            changed,
            record,
        })
    }

    /// Applies `change` to the live record, making a new version.
    ///
    /// # Errors
    /// [`ProviderStoreError::NotFound`], [`ProviderStoreError::Invalid`], or a write error.
    pub fn update(
        &mut self,
        id: &ProviderId,
        change: ProviderChange,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<ProviderRecord, ProviderStoreError> {
        let current = self
            .get(id)
            .ok_or_else(|| ProviderStoreError::NotFound { id: id.clone() })?;
        if change.is_empty() {
            return Err(ProviderError::Field {
                field: "change",
                reason: "nothing to change was given".to_owned(),
            }
            .into());
        }
        let fields = change.apply(&current.fields)?.with_defaults(id);
        fields.check(id)?;
        let changed = current.fields.changed_to(&fields);
        if changed.is_empty() {
            // Every value given equals the stored one: no new version.
            return Ok(current.clone());
        }
        let record = ProviderRecord {
            version: current.version + 1,
            fields,
            updated_at: now,
            updated_by: by,
            ..current.clone()
        };
        self.commit(ProviderVersion {
            action: "update".to_owned(),
            changed,
            record,
        })
    }

    /// Soft-deletes the live record (a new version with `deleted_at`).
    ///
    /// # Errors
    /// [`ProviderStoreError::NotFound`], or a write error.
    pub fn remove(
        &mut self,
        id: &ProviderId,
        by: Actor,
        now: DateTime<Utc>,
    ) -> Result<ProviderRecord, ProviderStoreError> {
        let current = self
            .get(id)
            .ok_or_else(|| ProviderStoreError::NotFound { id: id.clone() })?;
        let record = ProviderRecord {
            version: current.version + 1,
            updated_at: now,
            updated_by: by,
            deleted_at: Some(now),
            ..current.clone()
        };
        self.commit(ProviderVersion {
            action: "remove".to_owned(),
            changed: Vec::new(),
            record,
        })
    }

    /// The live record at `id`.
    pub fn get(&self, id: &ProviderId) -> Option<&ProviderRecord> {
        self.versions
            .iter()
            .rev()
            .find(|version| &version.record.id == id)
            .map(|version| &version.record)
            .filter(|record| record.deleted_at.is_none())
    }

    /// The newest version of each record, live ones only unless `all`, sorted by address.
    pub fn list(&self, all: bool) -> Vec<ProviderRecord> {
        let mut newest: BTreeMap<&ProviderId, &ProviderRecord> = BTreeMap::new();
        for version in &self.versions {
            newest.insert(&version.record.id, &version.record);
        }
        newest
            .into_values()
            .filter(|record| all || record.deleted_at.is_none())
            .cloned()
            .collect()
    }

    /// Every version of `id`, oldest first; empty when it never existed.
    pub fn history(&self, id: &ProviderId) -> Vec<ProviderVersion> {
        self.versions
            .iter()
            .filter(|version| &version.record.id == id)
            .cloned()
            .collect()
    }

    /// The live OIDC records (`oidc`, `auth0`) whose issuer is `issuer`.
    pub fn by_issuer(&self, issuer: &str) -> Vec<&ProviderRecord> {
        let mut newest: BTreeMap<&ProviderId, &ProviderRecord> = BTreeMap::new();
        for version in &self.versions {
            newest.insert(&version.record.id, &version.record);
        }
        newest
            .into_values()
            .filter(|record| {
                record.deleted_at.is_none()
                    && record.id.is_oidc()
                    && record.fields.issuer.as_deref() == Some(issuer)
            })
            .collect()
    }

    /// The newest version of `id`, live or removed.
    pub fn newest(&self, id: &ProviderId) -> Option<&ProviderRecord> {
        self.versions
            .iter()
            .rev()
            .find(|version| &version.record.id == id)
            .map(|version| &version.record)
    }

    /// Writes the file with `version` appended, then (only once that is durable) appends it in
    /// memory, so a failed write changes nothing.
    fn commit(&mut self, version: ProviderVersion) -> Result<ProviderRecord, ProviderStoreError> {
        let mut versions = Vec::with_capacity(self.versions.len() + 1);
        versions.extend(self.versions.iter().cloned());
        versions.push(version);
        let file = ProviderFile {
            version: PROVIDER_FILE_VERSION,
            versions,
        };
        state_file::save(&self.path, &file)?;
        self.versions = file.versions;
        let newest = self
            .versions
            .last()
            .expect("invariant: a version was just appended");
        Ok(newest.record.clone())
    }

    /// The file this book persists to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Each record's versions must be numbered 1, 2, 3, … in file order, so the newest one is the
/// last and `version` never repeats.
fn check_numbering(path: &Path, versions: &[ProviderVersion]) -> Result<(), ProviderStoreError> {
    let mut last: BTreeMap<&ProviderId, u64> = BTreeMap::new();
    for version in versions {
        let record = &version.record;
        let expected = last.get(&record.id).map_or(1, |n| n + 1);
        if record.version != expected {
            return Err(ProviderStoreError::Inconsistent {
                path: path.to_owned(),
                id: record.id.clone(),
                version: record.version,
                reason: "versions must count up from 1 in file order",
            });
        }
        last.insert(&record.id, expected);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::at;
    use auth_hub_protocol::provider::{ALLOWED_ALGORITHMS, MAX_EXTRA, MAX_FIELD_VALUE};
    use std::fs;

    struct Fixture {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("providers.json");
        Fixture { _dir: dir, path }
    }

    fn id(text: &str) -> ProviderId {
        ProviderId::parse(text).expect("address")
    }

    fn actor(key: &str) -> Actor {
        Actor {
            key: key.to_owned(),
            uid: 1000,
            pid: Some(42),
            exe: Some("/usr/bin/hyperforge".to_owned()),
        }
    }

    fn oidc() -> ProviderFields {
        ProviderFields {
            issuer: Some("https://id.example.com".to_owned()),
            client_id: Some("cli".to_owned()),
            ..ProviderFields::default()
        }
    }

    #[test]
    fn add_fills_defaults_and_refuses_a_second_live_record() {
        let f = fixture();
        let mut book = ProviderBook::load(&f.path).expect("empty");
        let record = book
            .add(id("osf/cli/oidc"), oidc(), actor("owner"), at(1))
            .expect("added");
        assert_eq!(record.version, 1);
        assert_eq!(record.fields.scopes, ["openid"]);
        assert_eq!(record.fields.audiences, ["cli"]);
        assert!(record.fields.algorithms.is_empty());
        assert_eq!(record.created_by, actor("owner"));
        assert_eq!(record.updated_at, at(1));
        let error = book
            .add(id("osf/cli/oidc"), oidc(), actor("owner"), at(2))
            .expect_err("duplicate");
        assert!(matches!(error, ProviderStoreError::Conflict { .. }));
        assert!(error
            .to_string()
            .contains("hyperforge auth provider update osf/cli/oidc"));
        // Another type, app or org is another record.
        book.add(id("osf/cli/auth0"), oidc(), actor("owner"), at(2))
            .expect("other type");
        book.add(id("osf/web/oidc"), oidc(), actor("owner"), at(2))
            .expect("other app");
        book.add(id("tno/cli/oidc"), oidc(), actor("owner"), at(2))
            .expect("other org");
        assert_eq!(book.list(false).len(), 4);
        assert_eq!(book.history(&id("osf/cli/oidc")).len(), 1);
    }

    #[test]
    fn every_update_is_a_new_version_with_what_changed() {
        let f = fixture();
        let mut book = ProviderBook::load(&f.path).expect("empty");
        book.add(id("osf/cli/oidc"), oidc(), actor("owner"), at(1))
            .expect("added");
        let change = ProviderChange {
            client_id: Some("cli2".to_owned()),
            set_extra: [("team".to_owned(), "infra".to_owned())].into(),
            ..ProviderChange::default()
        };
        let record = book
            .update(&id("osf/cli/oidc"), change, actor("other"), at(5))
            .expect("updated");
        assert_eq!(record.version, 2);
        assert_eq!(
            record.fields.audiences,
            ["cli2"],
            "default audience follows"
        );
        assert_eq!(record.created_at, at(1));
        assert_eq!(record.created_by, actor("owner"));
        assert_eq!(record.updated_at, at(5));
        assert_eq!(record.updated_by, actor("other"));
        let history = book.history(&id("osf/cli/oidc"));
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].action, "add");
        assert_eq!(
            history[0].changed,
            ["issuer", "client_id", "scopes", "audiences"]
        );
        assert_eq!(history[1].action, "update");
        assert_eq!(history[1].changed, ["client_id", "audiences", "extra.team"]);

        // The same values again make no version; an empty change is refused.
        let same = ProviderChange {
            client_id: Some("cli2".to_owned()),
            ..ProviderChange::default()
        };
        let record = book
            .update(&id("osf/cli/oidc"), same, actor("other"), at(6))
            .expect("no-op");
        assert_eq!(record.version, 2);
        assert!(matches!(
            book.update(
                &id("osf/cli/oidc"),
                ProviderChange::default(),
                actor("o"),
                at(6)
            ),
            Err(ProviderStoreError::Invalid(_))
        ));
        let unset = ProviderChange {
            unset_extra: vec!["team".to_owned()],
            service_handle: Some("/allai/chat".to_owned()),
            ..ProviderChange::default()
        };
        let record = book
            .update(&id("osf/cli/oidc"), unset, actor("o"), at(7))
            .expect("unset");
        assert!(record.fields.extra.is_empty());
        let clear = ProviderChange {
            service_handle: Some(String::new()),
            ..ProviderChange::default()
        };
        let record = book
            .update(&id("osf/cli/oidc"), clear, actor("o"), at(8))
            .expect("cleared");
        assert_eq!(record.fields.service_handle, None);
        assert_eq!(record.version, 4);
        assert!(matches!(
            book.update(
                &id("osf/web/oidc"),
                ProviderChange::default(),
                actor("o"),
                at(8)
            ),
            Err(ProviderStoreError::NotFound { .. })
        ));
    }

    #[test]
    fn remove_is_soft_and_add_brings_the_record_back_with_its_history() {
        let f = fixture();
        let mut book = ProviderBook::load(&f.path).expect("empty");
        let address = id("osf/cli/oidc");
        book.add(address.clone(), oidc(), actor("owner"), at(1))
            .expect("added");
        let removed = book.remove(&address, actor("rm"), at(2)).expect("removed");
        assert_eq!(removed.version, 2);
        assert_eq!(removed.deleted_at, Some(at(2)));
        assert_eq!(removed.updated_by, actor("rm"));
        assert!(book.get(&address).is_none());
        assert!(book.list(false).is_empty());
        assert_eq!(book.list(true), std::slice::from_ref(&removed));
        assert!(book.by_issuer("https://id.example.com").is_empty());
        assert!(matches!(
            book.remove(&address, actor("rm"), at(3)),
            Err(ProviderStoreError::NotFound { .. })
        ));
        let back = book
            .add(address.clone(), oidc(), actor("again"), at(4))
            .expect("re-added");
        assert_eq!(back.version, 3);
        assert_eq!(back.created_at, at(1), "creation kept from version 1");
        assert_eq!(back.created_by, actor("owner"));
        assert_eq!(back.updated_by, actor("again"));
        assert_eq!(back.deleted_at, None);
        let actions: Vec<String> = book
            .history(&address)
            .into_iter()
            .map(|version| version.action)
            .collect();
        assert_eq!(actions, ["add", "remove", "add"]);
        assert_eq!(
            book.by_issuer("https://id.example.com")
                .iter()
                .map(|record| record.version)
                .collect::<Vec<_>>(),
            [3]
        );
    }

    #[test]
    fn fields_are_validated() {
        let f = fixture();
        let mut book = ProviderBook::load(&f.path).expect("empty");
        let refused = |book: &mut ProviderBook, fields: ProviderFields, what: &str| {
            let error = book
                .add(id("osf/cli/oidc"), fields, actor("o"), at(1))
                .expect_err(what);
            assert!(
                matches!(error, ProviderStoreError::Invalid(_)),
                "{what}: {error}"
            );
            error.to_string()
        };
        let no_issuer = ProviderFields {
            issuer: None,
            ..oidc()
        };
        assert!(refused(&mut book, no_issuer, "no issuer").contains("--issuer"));
        let no_client = ProviderFields {
            client_id: None,
            ..oidc()
        };
        assert!(refused(&mut book, no_client, "no client").contains("--client-id"));
        for issuer in [
            "http://id.example.com",
            "https://id.example.com?x=1",
            "https://id.example.com#f",
            "id.example.com",
            "https://user@id.example.com",
        ] {
            let fields = ProviderFields {
                issuer: Some(issuer.to_owned()),
                ..oidc()
            };
            refused(&mut book, fields, issuer);
        }
        for algorithm in ["none", "HS256", "hs256", "RS1"] {
            let fields = ProviderFields {
                algorithms: vec![algorithm.to_owned()],
                ..oidc()
            };
            assert!(refused(&mut book, fields, algorithm).contains("algorithms"));
        }
        let long = ProviderFields {
            extra: [("k".to_owned(), "v".repeat(MAX_FIELD_VALUE + 1))].into(),
            ..oidc()
        };
        refused(&mut book, long, "long value");
        let many = ProviderFields {
            extra: (0..=MAX_EXTRA)
                .map(|n| (format!("k{n}"), "v".to_owned()))
                .collect(),
            ..oidc()
        };
        refused(&mut book, many, "too many attributes");
        let bad_key = ProviderFields {
            extra: [("a b".to_owned(), "v".to_owned())].into(),
            ..oidc()
        };
        refused(&mut book, bad_key, "bad attribute name");
        let spaced_scope = ProviderFields {
            scopes: vec!["openid email".to_owned()],
            ..oidc()
        };
        refused(&mut book, spaced_scope, "scope with a space");
        assert!(book.list(true).is_empty(), "nothing stored");

        // A loopback http issuer (test providers), a trailing slash kept as given, every
        // allowed algorithm, and a non-OIDC type without issuer are fine.
        let fields = ProviderFields {
            issuer: Some("http://127.0.0.1:4000/".to_owned()),
            algorithms: ALLOWED_ALGORITHMS.iter().map(|a| (*a).to_owned()).collect(),
            ..oidc()
        };
        let record = book
            .add(id("osf/cli/oidc"), fields, actor("o"), at(1))
            .expect("valid");
        assert_eq!(
            record.fields.issuer.as_deref(),
            Some("http://127.0.0.1:4000/")
        );
        let key = book
            .add(
                id("osf/cli/tauth-key"),
                ProviderFields::default(),
                actor("o"),
                at(1),
            )
            .expect("a key provider needs no issuer");
        assert!(key.fields.scopes.is_empty());
        // An update is validated too.
        let bad = ProviderChange {
            algorithms: Some(vec!["none".to_owned()]),
            ..ProviderChange::default()
        };
        assert!(matches!(
            book.update(&id("osf/cli/oidc"), bad, actor("o"), at(2)),
            Err(ProviderStoreError::Invalid(_))
        ));
        assert_eq!(book.history(&id("osf/cli/oidc")).len(), 1);
    }

    #[test]
    fn everything_survives_a_reload_in_a_private_file() {
        let f = fixture();
        let mut book = ProviderBook::load(&f.path).expect("empty");
        book.add(id("osf/cli/oidc"), oidc(), actor("owner"), at(1))
            .expect("added");
        book.remove(&id("osf/cli/oidc"), actor("owner"), at(2))
            .expect("removed");
        book.add(id("osf/cli/oidc"), oidc(), actor("owner"), at(3))
            .expect("back");
        book.add(
            id("osf/cli/melt-key"),
            ProviderFields::default(),
            actor("o"),
            at(4),
        )
        .expect("added");
        let history = book.history(&id("osf/cli/oidc"));
        let listed = book.list(true);
        drop(book);
        let book = ProviderBook::load(&f.path).expect("reloads");
        assert_eq!(book.history(&id("osf/cli/oidc")), history);
        assert_eq!(book.list(true), listed);
        let mode = fs::metadata(&f.path).expect("metadata").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn a_failed_write_changes_nothing_in_memory() {
        let f = fixture();
        let mut book = ProviderBook::load(&f.path).expect("empty");
        book.add(id("osf/cli/oidc"), oidc(), actor("owner"), at(1))
            .expect("added");
        // Make the file's directory unwritable by pointing the book at a missing directory.
        book.path = f.path.join("no-such-dir").join("providers.json");
        let error = book
            .add(id("osf/web/oidc"), oidc(), actor("owner"), at(2))
            .expect_err("write fails");
        assert!(matches!(
            error,
            ProviderStoreError::File(StateFileError::Write { .. })
        ));
        assert!(book.get(&id("osf/web/oidc")).is_none());
        assert!(book.remove(&id("osf/cli/oidc"), actor("o"), at(3)).is_err());
        assert!(book.get(&id("osf/cli/oidc")).is_some());
        assert_eq!(book.history(&id("osf/cli/oidc")).len(), 1);
    }

    #[test]
    fn newer_corrupt_and_misnumbered_files_are_refused() {
        let f = fixture();
        fs::write(&f.path, br#"{"version": 2, "versions": "later"}"#).expect("write");
        assert!(matches!(
            ProviderBook::load(&f.path),
            Err(ProviderStoreError::File(
                StateFileError::UnsupportedVersion { version: 2, .. }
            ))
        ));
        fs::write(&f.path, br#"{"version": 1, "versions": [}"#).expect("write");
        assert!(matches!(
            ProviderBook::load(&f.path),
            Err(ProviderStoreError::File(StateFileError::Corrupt { .. }))
        ));
        let mut book = ProviderBook::load(&f.path.with_extension("new")).expect("empty");
        book.add(id("osf/cli/oidc"), oidc(), actor("o"), at(1))
            .expect("added");
        book.update(
            &id("osf/cli/oidc"),
            ProviderChange {
                client_id: Some("x".to_owned()),
                ..ProviderChange::default()
            },
            actor("o"),
            at(2),
        )
        .expect("updated");
        let text = fs::read_to_string(book.path()).expect("file");
        let skipped = text.replace("\"version\": 2,", "\"version\": 3,");
        assert_ne!(skipped, text);
        fs::write(&f.path, skipped).expect("write");
        assert!(matches!(
            ProviderBook::load(&f.path),
            Err(ProviderStoreError::Inconsistent { version: 3, .. })
        ));
    }
}
