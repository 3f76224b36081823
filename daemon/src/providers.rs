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
        let _ = (id, fields, by, now, &mut self.versions);
        unimplemented!("providers")
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
        let _ = (id, change, by, now);
        unimplemented!("providers")
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
        let _ = (id, by, now);
        unimplemented!("providers")
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
