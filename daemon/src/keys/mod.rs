//! API keys (master tokens) as the hub stores them: a name, a role, pre-granted scopes and a
//! SHA-256 hash of the key's secret bytes — never the key itself.
//!
//! The [`KeyRing`] owns `keys.json` (a versioned JSON object, mode 0600, replaced atomically). Every
//! mutation is persisted before it returns; when persisting fails the in-memory change is rolled
//! back, so memory and disk never disagree. Revoking a key only marks it, keeping the record for the
//! audit trail. Hashes are compared in constant time.

use std::path::{Path, PathBuf};

use auth_hub_protocol::provider::Actor;
use auth_hub_protocol::response::KeyInfo;
use auth_hub_protocol::{Access, ApiKey, KeyError, MasterToken, Permissions, SecretScope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::state_file::{self, StateFileError};

/// Domain separator hashed before a key's token bytes, so these hashes are never confused with
/// any other SHA-256 in the hub.
const HASH_DOMAIN: &[u8] = b"auth-hub/key/v1\0";
/// Domain separator of a key's public id ([`key_id`]).
const ID_DOMAIN: &[u8] = b"auth-hub/key-id/v1\0";
/// The `version` written to and accepted from `keys.json`.
pub const KEY_FILE_VERSION: u32 = 1;

/// One API key as stored: everything but the key's text, which only its holder knows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// The key's name, the part after `TAUTH_` (or `melt.…` for an imported legacy key).
    pub name: String,
    /// True for the owner key, the only key that may approve, deny, revoke or manage keys.
    pub owner: bool,
    /// Lowercase hex of `sha256(b"auth-hub/key/v1\0" ‖ token bytes)`.
    pub hash: String,
    /// Scopes the key may use without asking, each with [`KeyRecord::permissions`].
    #[serde(default)]
    pub scopes: Vec<SecretScope>,
    /// Rights under [`KeyRecord::scopes`].
    #[serde(default)]
    pub permissions: Permissions,
    /// When the key was created or imported.
    pub created_at: DateTime<Utc>,
    /// When the key stops working, if ever.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was revoked, if it was.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// May validate other credentials and issue hub JWTs for them (`--permission validate`).
    #[serde(default)]
    pub validate: bool,
    /// Who created it; absent for keys from before it was recorded.
    #[serde(default)]
    pub created_by: Option<Actor>,
    /// Who revoked it.
    #[serde(default)]
    pub revoked_by: Option<Actor>,
}

impl KeyRecord {
    /// What may be shown about the key.
    pub fn info(&self) -> KeyInfo {
        KeyInfo {
            name: self.name.clone(),
            owner: self.owner,
            scopes: self.scopes.clone(),
            permissions: self.permissions,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            id: key_id(&self.name, &self.hash, self.revoked_at.is_some()),
            created_by: self.created_by.clone(),
            revoked_by: self.revoked_by.clone(),
            validate: self.validate,
        }
    }

    /// True when the key is neither revoked nor expired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }

    /// True when the key's own pre-granted scopes cover `wanted` and its permissions include
    /// `wanted`'s.
    pub fn allows(&self, wanted: &Access) -> bool {
        self.permissions.includes(wanted.permissions)
            && self
                .scopes
                .iter()
                .any(|scope| scope.covers_scope(&wanted.scope))
    }

    /// True when `presented` (a hex hash) equals this record's hash, compared in constant time.
    fn hash_matches(&self, presented: &str) -> bool {
        self.hash.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// What a new service key may do, and who made it (`create_service_with`, `import_with`).
#[derive(Debug, Clone, Default)]
pub struct ServiceKeyOptions {
    /// Scopes it may use without asking.
    pub scopes: Vec<SecretScope>,
    /// Rights under those scopes.
    pub permissions: Permissions,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// May validate other credentials and issue hub JWTs for them.
    pub validate: bool,
    /// Who created (or imported) it.
    pub created_by: Option<Actor>,
}

/// The seed's `APIKey.id` ("Hash(name, value, soft_deleted)"), computed over what the hub
/// keeps: lowercase hex of `sha256(b"auth-hub/key-id/v1\0" ‖ name ‖ 0x00 ‖ hash ‖ 0x00 ‖ flag)`
/// where `name` is the key's name (UTF-8), `hash` the stored hash (64 lowercase hex digits, see
/// [`KeyRecord::hash`]) and `flag` the byte `1` when revoked (soft-deleted), else `0`. Names
/// and hashes never contain a NUL, so the encoding is unambiguous; the id changes when the key
/// is revoked, and it reveals nothing of the key's secret that the stored hash does not.
pub fn key_id(name: &str, hash: &str, soft_deleted: bool) -> String {
    let mut hasher = Sha256::new();
    hasher.update(ID_DOMAIN);
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(hash.as_bytes());
    hasher.update([0]);
    hasher.update([u8::from(soft_deleted)]);
    hex::encode(hasher.finalize())
}

/// Why `keys.json` could not be read or changed, or a key could not be created, imported or
/// revoked. Never contains a key's text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// A record in the keys file breaks an invariant.
    #[error("keys file {} has an invalid record for key {name:?}: {reason}", path.display())]
    InvalidRecord {
        /// The keys file.
        path: PathBuf,
        /// The record's key name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The file could not be read, parsed or written; on a failed write nothing changed.
    #[error(transparent)]
    File(#[from] StateFileError),
    /// The name is not a valid key name.
    #[error(transparent)]
    InvalidName(KeyError),
    /// A live owner key already exists.
    #[error("an owner key already exists ({name:?})")]
    OwnerExists {
        /// The existing owner key's name.
        name: String,
    },
    /// A live key already has this name.
    #[error("a key named {name:?} already exists")]
    NameTaken {
        /// The name.
        name: String,
    },
    /// An imported key's secret is already stored under another live key.
    #[error("this key is already stored as {name:?}")]
    AlreadyImported {
        /// The name it is stored under.
        name: String,
    },
    /// No unrevoked key has this name.
    #[error("no key named {name:?}")]
    NotFound {
        /// The name.
        name: String,
    },
    /// There is no owner key to replace.
    #[error("the hub has no owner key; create one with `hyperforge auth login`")]
    NoOwner,
    /// The owner key cannot be revoked like a service key.
    #[error("{name:?} is the owner key and cannot be revoked")]
    OwnerNotRevocable {
        /// The owner key's name.
        name: String,
    },
}

/// Why a master token was not accepted. The daemon answers every variant with
/// `invalid_master_token`; the variants exist for the log and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyAuthError {
    /// The text is not an API key.
    #[error("malformed master token: {0}")]
    Malformed(KeyError),
    /// No key has this name.
    #[error("no key named {name:?}")]
    Unknown {
        /// The name the token carried.
        name: String,
    },
    /// The key was revoked.
    #[error("key {name:?} was revoked")]
    Revoked {
        /// The key's name.
        name: String,
    },
    /// The key has expired.
    #[error("key {name:?} has expired")]
    Expired {
        /// The key's name.
        name: String,
    },
    /// The name is known but the token's secret does not match.
    #[error("wrong secret for key {name:?}")]
    Mismatch {
        /// The name the token carried.
        name: String,
    },
}

impl KeyAuthError {
    /// The refusal as the client is told it, in the hello reply's message: which of malformed,
    /// unknown, revoked or expired, so a script's operator knows what to fix. An unknown name and
    /// a wrong secret read the same, so a guessed name learns nothing more than a wrong secret.
    pub fn client_message(&self) -> String {
        match self {
            Self::Malformed(error) => format!("not a valid API key: {error}"),
            Self::Unknown { name } | Self::Mismatch { name } => {
                format!("key {name:?} is unknown or its secret is wrong")
            }
            Self::Revoked { name } => format!("key {name:?} was revoked"),
            Self::Expired { name } => format!("key {name:?} has expired"),
        }
    }
}

/// The on-disk shape of `keys.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    keys: Vec<KeyRecord>,
}

/// All API keys, backed by `keys.json`.
#[derive(Debug)]
pub struct KeyRing {
    path: PathBuf,
    records: Vec<KeyRecord>,
}

impl KeyRing {
    /// Loads the keys file at `path`; a missing file gives an empty ring that will be created on
    /// the first change.
    ///
    /// # Errors
    /// [`KeyStoreError::File`] (unreadable, corrupt with line and column, or from a newer hub) or
    /// [`KeyStoreError::InvalidRecord`].
    pub fn load(path: &Path) -> Result<Self, KeyStoreError> {
        let Some(file) = state_file::load::<KeyFile>(path, KEY_FILE_VERSION)? else {
            return Ok(Self {
                path: path.to_owned(),
                records: Vec::new(),
            });
        };
        let records = file.keys;
        for record in &records {
            validate_record(path, record)?;
        }
        let ring = Self {
            path: path.to_owned(),
            records,
        };
        ring.check_single_owner(path)?;
        Ok(ring)
    }

    /// Checks the key named in `token` and returns its record when the token is valid at `now`.
    ///
    /// # Errors
    /// [`KeyAuthError::Malformed`] when the text is not an API key; [`KeyAuthError::Unknown`],
    /// [`KeyAuthError::Revoked`], [`KeyAuthError::Expired`] or [`KeyAuthError::Mismatch`]
    /// otherwise.
    pub fn authenticate(
        &self,
        token: &MasterToken,
        now: DateTime<Utc>,
    ) -> Result<&KeyRecord, KeyAuthError> {
        let key = ApiKey::parse(token.expose()).map_err(KeyAuthError::Malformed)?;
        let name = key.name();
        let presented = hash_token(&key);
        let mut known = false;
        // Check every record of that name, so the time taken does not depend on which matches.
        let mut live_match = None;
        let mut dead_match = None;
        for record in self.records.iter().filter(|record| record.name == name) {
            known = true;
            if record.hash_matches(&presented) {
                if record.is_live(now) {
                    live_match = Some(record);
                } else {
                    dead_match = Some(record);
                }
            }
        }
        if let Some(record) = live_match {
            return Ok(record);
        }
        let name = name.to_owned();
        match dead_match {
            Some(record) if record.revoked_at.is_some() => Err(KeyAuthError::Revoked { name }),
            Some(_) => Err(KeyAuthError::Expired { name }),
            None if known => Err(KeyAuthError::Mismatch { name }),
            None => Err(KeyAuthError::Unknown { name }),
        }
    }

    /// Whether a session opened with the record named `name` and stored hash `hash` may go on at
    /// `now`.
    ///
    /// # Errors
    /// [`KeyAuthError::Revoked`] or [`KeyAuthError::Expired`] once that key is revoked or has
    /// expired, [`KeyAuthError::Unknown`] once it is replaced (owner-key recovery).
    pub fn check_current(
        &self,
        name: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), KeyAuthError> {
        let record = self
            .records
            .iter()
            .find(|record| record.name == name && record.hash_matches(hash));
        let name = || name.to_owned();
        match record {
            Some(record) if record.is_live(now) => Ok(()),
            Some(record) if record.revoked_at.is_some() => {
                Err(KeyAuthError::Revoked { name: name() })
            }
            Some(_) => Err(KeyAuthError::Expired { name: name() }),
            None => Err(KeyAuthError::Unknown { name: name() }),
        }
    }

    /// True when an owner key exists and is not revoked.
    pub fn has_owner(&self) -> bool {
        self.owner().is_some()
    }

    /// The owner key, unless there is none (or it was revoked).
    pub fn owner(&self) -> Option<&KeyRecord> {
        self.records
            .iter()
            .find(|record| record.owner && record.revoked_at.is_none())
    }

    /// Creates the owner key, returning its text (shown once) and its info.
    ///
    /// # Errors
    /// [`KeyStoreError::OwnerExists`], [`KeyStoreError::NameTaken`],
    /// [`KeyStoreError::InvalidName`], or a write error (nothing changed).
    pub fn create_owner(
        &mut self,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(MasterToken, KeyInfo), KeyStoreError> {
        self.create_owner_by(name, None, now)
    }

    /// [`KeyRing::create_owner`], recording who created it (`created_by`).
    ///
    /// # Errors
    /// As [`KeyRing::create_owner`].
    pub fn create_owner_by(
        &mut self,
        name: &str,
        by: Option<Actor>,
        now: DateTime<Utc>,
    ) -> Result<(MasterToken, KeyInfo), KeyStoreError> {
        if let Some(owner) = self.owner() {
            return Err(KeyStoreError::OwnerExists {
                name: owner.name.clone(),
            });
        }
        let options = ServiceKeyOptions {
            created_by: by,
            ..ServiceKeyOptions::default()
        };
        self.create(name, true, options, now)
    }

    /// Replaces the owner key (recovery of a lost one): the live owner key is revoked, its record
    /// kept for the audit trail, and a new owner key with the same name is created, so standing
    /// grants, which follow the owner's name, keep applying. Both changes are persisted at once.
    /// Returns the new key's text (shown once) and its info.
    ///
    /// # Errors
    /// [`KeyStoreError::NoOwner`], or a write error (nothing changed).
    pub fn rotate_owner(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<(MasterToken, KeyInfo), KeyStoreError> {
        self.rotate_owner_by(None, now)
    }

    /// [`KeyRing::rotate_owner`], recording `by` as the old key's `revoked_by` and the new
    /// key's `created_by`.
    ///
    /// # Errors
    /// As [`KeyRing::rotate_owner`].
    pub fn rotate_owner_by(
        &mut self,
        by: Option<Actor>,
        now: DateTime<Utc>,
    ) -> Result<(MasterToken, KeyInfo), KeyStoreError> {
        let index = self
            .records
            .iter()
            .position(|record| record.owner && record.revoked_at.is_none())
            .ok_or(KeyStoreError::NoOwner)?;
        let key =
            ApiKey::generate(&self.records[index].name).map_err(KeyStoreError::InvalidName)?;
        let options = ServiceKeyOptions {
            created_by: by.clone(),
            ..ServiceKeyOptions::default()
        };
        let record = new_record(&key, hash_token(&key), true, options, now);
        let info = record.info();
        self.records[index].revoked_at = Some(now);
        self.records[index].revoked_by = by;
        self.records.push(record);
        if let Err(error) = self.persist() {
            self.records.pop();
            self.records[index].revoked_at = None;
            self.records[index].revoked_by = None;
            return Err(error);
        }
        Ok((key.to_master_token(), info))
    }

    /// Creates a service key with pre-granted `scopes` and an optional expiry, returning its text
    /// (shown once) and its info.
    ///
    /// # Errors
    /// [`KeyStoreError::NameTaken`] when a live key has the name, [`KeyStoreError::InvalidName`],
    /// or a write error (nothing changed).
    pub fn create_service(
        &mut self,
        name: &str,
        scopes: Vec<SecretScope>,
        permissions: Permissions,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(MasterToken, KeyInfo), KeyStoreError> {
        let options = ServiceKeyOptions {
            scopes,
            permissions,
            expires_at,
            ..ServiceKeyOptions::default()
        };
        self.create_service_with(name, options, now)
    }

    /// [`KeyRing::create_service`] with every option: the `validate` permission and who
    /// created it.
    ///
    /// # Errors
    /// As [`KeyRing::create_service`].
    pub fn create_service_with(
        &mut self,
        name: &str,
        options: ServiceKeyOptions,
        now: DateTime<Utc>,
    ) -> Result<(MasterToken, KeyInfo), KeyStoreError> {
        self.create(name, false, options, now)
    }

    /// Stores an existing key (such as a legacy `MELT_` key, named `melt.…`) as a service key.
    ///
    /// # Errors
    /// [`KeyStoreError::NameTaken`], [`KeyStoreError::AlreadyImported`], or a write error
    /// (nothing changed).
    pub fn import(
        &mut self,
        key: &ApiKey,
        scopes: Vec<SecretScope>,
        permissions: Permissions,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<KeyInfo, KeyStoreError> {
        let options = ServiceKeyOptions {
            scopes,
            permissions,
            expires_at,
            ..ServiceKeyOptions::default()
        };
        self.import_with(key, options, now)
    }

    /// [`KeyRing::import`] with every option: the `validate` permission and who imported it.
    ///
    /// # Errors
    /// As [`KeyRing::import`].
    pub fn import_with(
        &mut self,
        key: &ApiKey,
        options: ServiceKeyOptions,
        now: DateTime<Utc>,
    ) -> Result<KeyInfo, KeyStoreError> {
        self.check_name_free(key.name(), now)?;
        let hash = hash_token(key);
        if let Some(existing) = self
            .records
            .iter()
            .find(|record| record.is_live(now) && record.hash_matches(&hash))
        {
            return Err(KeyStoreError::AlreadyImported {
                name: existing.name.clone(),
            });
        }
        let record = new_record(key, hash, false, options, now);
        let info = record.info();
        self.records.push(record);
        if let Err(error) = self.persist() {
            self.records.pop();
            return Err(error);
        }
        Ok(info)
    }

    /// Revokes every unrevoked key named `name` (there is at most one live one), keeping the
    /// records for the audit trail. Returns the revoked key's info.
    ///
    /// # Errors
    /// [`KeyStoreError::NotFound`], [`KeyStoreError::OwnerNotRevocable`], or a write error
    /// (nothing changed).
    pub fn revoke(&mut self, name: &str, now: DateTime<Utc>) -> Result<KeyInfo, KeyStoreError> {
        self.revoke_by(name, None, now)
    }

    /// [`KeyRing::revoke`], recording who revoked it (`revoked_by`).
    ///
    /// # Errors
    /// As [`KeyRing::revoke`].
    pub fn revoke_by(
        &mut self,
        name: &str,
        by: Option<Actor>,
        now: DateTime<Utc>,
    ) -> Result<KeyInfo, KeyStoreError> {
        let targets: Vec<usize> = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, record)| record.name == name && record.revoked_at.is_none())
            .map(|(index, _)| index)
            .collect();
        if targets.is_empty() {
            return Err(KeyStoreError::NotFound {
                name: name.to_owned(),
            });
        }
        if targets.iter().any(|&index| self.records[index].owner) {
            return Err(KeyStoreError::OwnerNotRevocable {
                name: name.to_owned(),
            });
        }
        for &index in &targets {
            self.records[index].revoked_at = Some(now);
            self.records[index].revoked_by.clone_from(&by);
        }
        if let Err(error) = self.persist() {
            for &index in &targets {
                self.records[index].revoked_at = None;
                self.records[index].revoked_by = None;
            }
            return Err(error);
        }
        // Prefer the key that was live; otherwise the most recent one.
        let shown = targets
            .iter()
            .copied()
            .find(|&index| {
                self.records[index]
                    .expires_at
                    .is_none_or(|expiry| now < expiry)
            })
            .or(targets.last().copied())
            .unwrap_or_default();
        Ok(self.records[shown].info())
    }

    /// The live key named `name`.
    pub fn get(&self, name: &str, now: DateTime<Utc>) -> Option<&KeyRecord> {
        self.records
            .iter()
            .find(|record| record.name == name && record.is_live(now))
    }

    /// Every key, including revoked and expired ones, sorted by name (then creation).
    pub fn list(&self) -> Vec<KeyInfo> {
        let mut records: Vec<&KeyRecord> = self.records.iter().collect();
        records.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| a.created_at.cmp(&b.created_at))
        });
        records.into_iter().map(KeyRecord::info).collect()
    }

    /// How many keys are live at `now`.
    pub fn live_count(&self, now: DateTime<Utc>) -> usize {
        self.records
            .iter()
            .filter(|record| record.is_live(now))
            .count()
    }

    /// The keys file this ring persists to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn create(
        &mut self,
        name: &str,
        owner: bool,
        options: ServiceKeyOptions,
        now: DateTime<Utc>,
    ) -> Result<(MasterToken, KeyInfo), KeyStoreError> {
        let key = ApiKey::generate(name).map_err(KeyStoreError::InvalidName)?;
        self.check_name_free(name, now)?;
        let record = new_record(&key, hash_token(&key), owner, options, now);
        let info = record.info();
        self.records.push(record);
        if let Err(error) = self.persist() {
            self.records.pop();
            return Err(error);
        }
        Ok((key.to_master_token(), info))
    }

    fn check_name_free(&self, name: &str, now: DateTime<Utc>) -> Result<(), KeyStoreError> {
        if self
            .records
            .iter()
            .any(|record| record.name == name && record.is_live(now))
        {
            return Err(KeyStoreError::NameTaken {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    fn check_single_owner(&self, path: &Path) -> Result<(), KeyStoreError> {
        let mut owners = self
            .records
            .iter()
            .filter(|record| record.owner && record.revoked_at.is_none());
        if let (Some(_), Some(second)) = (owners.next(), owners.next()) {
            return Err(KeyStoreError::InvalidRecord {
                path: path.to_owned(),
                name: second.name.clone(),
                reason: "a second unrevoked owner key",
            });
        }
        Ok(())
    }

    fn persist(&self) -> Result<(), KeyStoreError> {
        let file = KeyFile {
            version: KEY_FILE_VERSION,
            keys: self.records.clone(),
        };
        Ok(state_file::save(&self.path, &file)?)
    }
}

fn new_record(
    key: &ApiKey,
    hash: String,
    owner: bool,
    options: ServiceKeyOptions,
    now: DateTime<Utc>,
) -> KeyRecord {
    KeyRecord {
        name: key.name().to_owned(),
        owner,
        hash,
        scopes: options.scopes,
        permissions: options.permissions,
        created_at: now,
        expires_at: options.expires_at,
        revoked_at: None,
        validate: options.validate,
        created_by: options.created_by,
        revoked_by: None,
    }
}

/// Lowercase hex of `sha256(b"auth-hub/key/v1\0" ‖ token bytes)`.
fn hash_token(key: &ApiKey) -> String {
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(key.token_bytes());
    hex::encode(hasher.finalize())
}

fn validate_record(path: &Path, record: &KeyRecord) -> Result<(), KeyStoreError> {
    let invalid = |reason| KeyStoreError::InvalidRecord {
        path: path.to_owned(),
        name: record.name.chars().take(64).collect(),
        reason,
    };
    if auth_hub_protocol::key::validate_name(&record.name).is_err() {
        return Err(invalid("the name is not a valid key name"));
    }
    let hex_ok = record.hash.len() == 64
        && record
            .hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex_ok {
        return Err(invalid("the hash is not 64 lowercase hex digits"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
