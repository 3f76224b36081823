//! Where secret values live: the [`SecretStore`] trait and its backends.
//!
//! The request handlers see only the trait. [`open`] builds a backend from the hub's options:
//! [`file::FileStore`] (the default: the whole store AEAD-sealed in one of two slot files, its data
//! key in the OS keychain or in a 0600 key file beside them) or [`memory::MemoryStore`] (nothing persisted, for tests and
//! throwaway hubs).
//!
//! Every backend keeps the same semantics, implemented once in [`memory::SecretMap`]:
//!
//! - versions count from 1 and grow by one per `put` to the same path; `created_at` is kept across
//!   versions, `updated_at` is the time of the latest `put`;
//! - up to [`StoreOptions::history`] earlier versions are kept per path, newest first;
//! - `delete` forgets the path with its whole history, so a later `put` starts again at version 1;
//! - `list` matches whole segments (`github/ali` does not list `github/alice/token`) and returns
//!   paths in sorted order.

pub mod atomic;
pub mod file;
pub mod keychain;
pub mod manifest;
pub mod memory;
pub mod openbao;
pub mod router;
pub mod settings;
pub mod slots;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use auth_hub_protocol::{ErrorCode, SecretPath, SecretValue};

use crate::audit::AuditAnchor;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Versions kept per secret unless configured otherwise.
pub const DEFAULT_HISTORY: usize = 10;

/// A secret's metadata: everything about it except its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMeta {
    /// Where the secret is stored.
    pub path: SecretPath,
    /// Version number, counting from 1.
    pub version: u64,
    /// When the first version was written.
    pub created_at: DateTime<Utc>,
    /// When this version was written.
    pub updated_at: DateTime<Utc>,
}

/// A secret's current value with its metadata. `Debug` shows no value.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    /// The value, zeroized on drop.
    pub value: SecretValue,
    /// Its metadata.
    pub meta: SecretMeta,
}

/// A place secrets are kept. Implementations are shared between request handlers, so every method
/// takes `&self` and is safe to call from many threads at once.
pub trait SecretStore: Send + Sync + 'static {
    /// The backend's name: `"file"` or `"memory"`.
    fn kind(&self) -> &'static str;

    /// Where the data key comes from, for status output: `"keychain"`, `"key file /abs/path"` or
    /// `"none"`.
    fn key_source(&self) -> String;

    /// The current value at `path`, or `None`. The local stores answer from memory, without
    /// I/O; the keychain and OpenBao ask their service, bounded by their timeout.
    ///
    /// # Errors
    /// None for the local stores; a remote backend's [`StoreError`]s.
    fn get(&self, path: &SecretPath) -> Result<Option<StoredSecret>, StoreError>;

    /// True when [`SecretStore::get`] and [`SecretStore::list`] answer from memory without
    /// blocking (the local stores), so the hub serves them inline instead of on the blocking
    /// pool, which costs a thread hop on every read.
    fn reads_from_memory(&self) -> bool {
        false
    }

    /// Writes a new version of `path`. Returns only once the write is durable.
    ///
    /// # Errors
    /// Persisting failed; the write is then not in the store.
    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError>;

    /// Removes `path` and its history; `false` if it was absent. Returns only once durable.
    ///
    /// # Errors
    /// Persisting failed; the secret is then still in the store.
    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError>;

    /// Metadata of every secret whose path starts with the whole segments of `prefix` (`""` lists
    /// everything), sorted by path.
    ///
    /// # Errors
    /// None for the built-in backends.
    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError>;

    /// Metadata of the earlier versions kept for `path`, newest first; empty if there are none or
    /// the path is absent.
    ///
    /// # Errors
    /// None for the built-in backends.
    fn history(&self, path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError>;

    /// What opening the store found about its own completeness (the file store compares its
    /// slots with its manifest); [`StoreIntegrity::Sound`] for backends that keep nothing.
    fn integrity(&self) -> StoreIntegrity {
        StoreIntegrity::Sound
    }

    /// The audit chain's head sealed in the newest durable record at open, if any.
    fn audit_anchor(&self) -> Option<AuditAnchor> {
        None
    }

    /// Housekeeping, called from the hub's audit flush tick and at shutdown, never on a write's
    /// path: notes `audit_head` (the audit log's durable head) to be sealed with the next write,
    /// seals it now with a write of its own when it moved and the last seal is older than the
    /// anchor interval (or `force`), and records the durable generation in the manifest.
    ///
    /// # Errors
    /// Writing the snapshot or the manifest failed; the data is unaffected.
    fn checkpoint(&self, audit_head: Option<&AuditAnchor>, force: bool) -> Result<(), StoreError> {
        let _ = (audit_head, force);
        Ok(())
    }

    /// Removes `path` with every version it has anywhere (OpenBao: KV v2 `destroy` of all
    /// versions and the metadata, where [`SecretStore::delete`] is a soft delete); `false` if it
    /// was absent. Backends without a soft delete forget the path as `delete` does.
    ///
    /// # Errors
    /// As [`SecretStore::delete`].
    fn destroy(&self, path: &SecretPath) -> Result<bool, StoreError> {
        self.delete(path)
    }

    /// A probe for `auth status`: whether the backend answers, accepts the hub's credential, how
    /// long the probe took and the server's version. Local backends are always healthy. Bounded
    /// by the backend's request timeout; never panics.
    fn health(&self) -> BackendHealth {
        BackendHealth::local()
    }
}

/// What a health probe found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackendHealth {
    /// The backend answered.
    pub reachable: bool,
    /// It accepted the hub's credential (always true for local backends).
    pub authenticated: bool,
    /// How long the probe took, for remote backends.
    pub latency: Option<Duration>,
    /// The server's version (OpenBao), if it said.
    pub version: Option<String>,
    /// Why it is not healthy, in one line.
    pub problem: Option<String>,
}

impl BackendHealth {
    /// A local backend: reachable and authenticated by construction.
    pub fn local() -> Self {
        Self {
            reachable: true,
            authenticated: true,
            ..Self::default()
        }
    }
}

/// What a store found on open about whether it holds every committed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreIntegrity {
    /// Everything committed is there (a write torn by a crash was never acknowledged).
    Sound,
    /// The slots hold an older generation than one the hub committed.
    RolledBack {
        /// The generation found.
        found: u64,
        /// The generation committed.
        recorded: u64,
    },
    /// No store file was found although a generation was committed; started empty because
    /// `--accept-store-loss` was given.
    LossAccepted {
        /// The generation committed.
        recorded: u64,
    },
}

impl StoreIntegrity {
    /// A sentence for the log, `status` and the audit trail; `None` when sound.
    pub fn describe(&self) -> Option<String> {
        match self {
            Self::Sound => None,
            Self::RolledBack { found, recorded } => Some(format!(
                "rolled back: the store holds generation {found} but generation {recorded} was \
                 committed, so the last {} write(s) are missing (a backup restored over a newer \
                 store, or the newest slot file truncated or removed)",
                recorded - found
            )),
            Self::LossAccepted { recorded } => Some(format!(
                "lost: no store file was found although generation {recorded} was committed; \
                 started empty because of --accept-store-loss"
            )),
        }
    }
}

/// Which backend to open (`--store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The encrypted file store, the default.
    File,
    /// Memory only; everything is lost when the hub stops.
    Memory,
}

impl StoreKind {
    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Memory => "memory",
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StoreKind {
    type Err = ParseOptionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "file" => Ok(Self::File),
            "memory" => Ok(Self::Memory),
            _ => Err(ParseOptionError {
                option: "store kind",
                found: text.to_owned(),
                expected: "'file' or 'memory'",
            }),
        }
    }
}

/// Where the file store's data key comes from (`--key-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// An existing store keeps its source; a new one uses the keychain if it answers, else a file.
    Auto,
    /// The OS keychain only; the store is locked when the keychain is unavailable.
    Keychain,
    /// A 0600 `store.key` file beside the store.
    File,
}

impl KeySource {
    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Keychain => "keychain",
            Self::File => "file",
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeySource {
    type Err = ParseOptionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Self::Auto),
            "keychain" => Ok(Self::Keychain),
            "file" => Ok(Self::File),
            _ => Err(ParseOptionError {
                option: "key source",
                found: text.to_owned(),
                expected: "'auto', 'keychain' or 'file'",
            }),
        }
    }
}

/// A store option given as text was not one of the known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {option} '{found}', expected {expected}")]
pub struct ParseOptionError {
    /// Which option (`store kind`, `key source`).
    pub option: &'static str,
    /// The text given.
    pub found: String,
    /// The accepted names.
    pub expected: &'static str,
}

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The hub's state directory; it exists and is private (0700).
    pub dir: PathBuf,
    /// Where the file store's data key comes from.
    pub key_source: KeySource,
    /// Earlier versions kept per secret.
    pub history: usize,
    /// Distinguishes hubs sharing one keychain, such as the canonical state directory.
    pub keychain_id: String,
    /// Start with an empty store when the manifest says one existed but no store file is left
    /// (`auth-hub serve --accept-store-loss`); otherwise that is [`StoreError::Lost`].
    pub accept_loss: bool,
}

impl StoreOptions {
    /// Options for a state directory with the defaults: automatic key source, [`DEFAULT_HISTORY`]
    /// versions, and the directory itself as keychain id.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let keychain_id = dir.display().to_string();
        Self {
            dir,
            key_source: KeySource::Auto,
            history: DEFAULT_HISTORY,
            keychain_id,
            accept_loss: false,
        }
    }
}

/// Opens the backend `kind` with `options`.
///
/// # Errors
/// See [`file::FileStore::open`]; the memory store never fails.
pub fn open(kind: StoreKind, options: &StoreOptions) -> Result<Arc<dyn SecretStore>, StoreError> {
    Ok(match kind {
        StoreKind::File => Arc::new(file::FileStore::open(options)?),
        StoreKind::Memory => Arc::new(memory::MemoryStore::new(options.history)),
    })
}

/// Why a store operation failed. Messages name files and paths, never values or keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing a file failed.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The store file exists but cannot be read as a store; it is left untouched.
    #[error("store file {path} is unusable: {reason}")]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The data key is unavailable (keychain locked, absent or not answering).
    #[error("store is locked: {reason}")]
    Locked {
        /// Why the key could not be had.
        reason: String,
    },
    /// The key file is readable by group or others, so it is not trusted.
    #[error(
        "key file {path} has mode {mode:04o}; it must not be accessible to group or others \
         (chmod 600 {path})"
    )]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file exists but does not hold a key.
    #[error("key file {path} is invalid: {reason}")]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The store exists, sealed with a key file, but the key file is gone; a new key would not
    /// open it.
    #[error("store file {store} is sealed with a key file, but {key} does not exist")]
    MissingKeyFile {
        /// The store file.
        store: PathBuf,
        /// The key file expected beside it.
        key: PathBuf,
    },
    /// The store was sealed with a key from a different source than the one requested.
    #[error("store file {path} is sealed with a key from the {sealed_with}, but key source '{requested}' was requested")]
    KeySourceMismatch {
        /// The store file.
        path: PathBuf,
        /// `keychain` or `key file`.
        sealed_with: &'static str,
        /// The source requested.
        requested: KeySource,
    },
    /// The manifest records committed writes but no store file is left. Nothing is created.
    #[error(
        "the secret store in {} is missing: {} records generation {recorded} but neither {} \
         nor {} exists; restore both from a backup, or accept the loss and start with an empty \
         store: auth-hub serve --accept-store-loss",
        dir.display(), manifest::MANIFEST_FILE, file::SLOT_FILES[0], file::SLOT_FILES[1]
    )]
    Lost {
        /// The state directory.
        dir: PathBuf,
        /// The generation the manifest records.
        recorded: u64,
    },
    /// The store's contents could not be encoded or sealed.
    #[error("cannot encode the store: {reason}")]
    Encode {
        /// What failed.
        reason: String,
    },
    /// A backend did not answer in time or could not be reached (OpenBao down, no Secret
    /// Service on the bus). Local backends keep serving.
    #[error("backend {backend} is unreachable: {reason}")]
    Unreachable {
        /// The backend's name (`[store.backend.<name>]`).
        backend: String,
        /// Why, in one line (no values, no credentials).
        reason: String,
    },
    /// A backend refused the hub's own credential (a revoked OpenBao token, a wrong AppRole
    /// secret id, a locked keychain).
    #[error("backend {backend} refused the hub: {reason}")]
    Refused {
        /// The backend's name.
        backend: String,
        /// Why, in one line, with what to do (unlock the keychain, store a new token at …).
        reason: String,
    },
    /// A write lost a check-and-set race: the secret changed on the backend meanwhile.
    #[error("backend {backend} refused the write to {path}: {reason}")]
    Conflict {
        /// The backend's name.
        backend: String,
        /// The secret path.
        path: String,
        /// What the backend said.
        reason: String,
    },
    /// What a backend holds at a path cannot be served as a hub secret (several fields and no
    /// `value`, a value over the hub's limit, a name the hub's paths cannot express).
    #[error("backend {backend} holds something unusable at {path}: {reason}")]
    Unusable {
        /// The backend's name.
        backend: String,
        /// The secret path (or the backend's own name for it).
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl StoreError {
    /// The wire code for this error: `locked` when the key is unavailable,
    /// `backend_unavailable` when a backend cannot be reached or refuses the hub, else
    /// `backend` (a conflict or an unusable value is a failure of that one path).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Locked { .. } => ErrorCode::Locked,
            Self::Unreachable { .. } | Self::Refused { .. } => ErrorCode::BackendUnavailable,
            _ => ErrorCode::Backend,
        }
    }

    fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn kinds_parse_precisely() {
        assert_eq!("file".parse::<StoreKind>(), Ok(StoreKind::File));
        assert_eq!("memory".parse::<StoreKind>(), Ok(StoreKind::Memory));
        let err = "vault".parse::<StoreKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown store kind 'vault', expected 'file' or 'memory'"
        );
        assert_eq!("auto".parse::<KeySource>(), Ok(KeySource::Auto));
        assert_eq!("keychain".parse::<KeySource>(), Ok(KeySource::Keychain));
        assert_eq!("file".parse::<KeySource>(), Ok(KeySource::File));
        assert!("File".parse::<KeySource>().is_err());
        for kind in [StoreKind::File, StoreKind::Memory] {
            assert_eq!(kind.as_str().parse::<StoreKind>(), Ok(kind));
        }
    }

    #[test]
    fn locked_maps_to_locked_code() {
        let locked = StoreError::Locked {
            reason: "keychain did not answer".into(),
        };
        assert_eq!(locked.code(), ErrorCode::Locked);
        let io = StoreError::io("/x", io::Error::other("disk full"));
        assert_eq!(io.code(), ErrorCode::Backend);
        assert_eq!(io.to_string(), "cannot access /x: disk full");
        let down = StoreError::Unreachable {
            backend: "team".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(down.code(), ErrorCode::BackendUnavailable);
        assert!(down.to_string().contains("team"), "{down}");
        let refused = StoreError::Refused {
            backend: "team".into(),
            reason: "permission denied".into(),
        };
        assert_eq!(refused.code(), ErrorCode::BackendUnavailable);
        let conflict = StoreError::Conflict {
            backend: "team".into(),
            path: "team/a".into(),
            reason: "check-and-set".into(),
        };
        assert_eq!(conflict.code(), ErrorCode::Backend);
        assert!(conflict.to_string().contains("backend team"), "{conflict}");
    }

    #[test]
    fn open_memory_store() {
        let store = open(StoreKind::Memory, &StoreOptions::new("/nonexistent")).unwrap();
        assert_eq!(store.kind(), "memory");
        assert_eq!(store.key_source(), "none");
    }
}
