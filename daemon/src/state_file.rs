//! Versioned JSON state files (`keys.json`, `grants.json`, `repos.json`): the version is read
//! first so a file from a newer hub is reported as such rather than as corrupt, and every write
//! is atomic, durable and private (0600).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::store::atomic::write_atomic;

/// Mode of every state file.
const FILE_MODE: u32 = 0o600;

/// Why a state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("{} is corrupt: {source}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error, with line and column.
        source: serde_json::Error,
    },
    /// The file was written by a newer (or unknown) version of the hub.
    #[error("{} has version {version}, this hub reads version {supported}", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
        /// The version this hub reads.
        supported: u32,
    },
    /// The contents could not be encoded.
    #[error("cannot encode {}: {source}", path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// The encoding error.
        source: serde_json::Error,
    },
    /// The file could not be written; it is unchanged.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Read first, so a newer file is reported as such rather than as corrupt.
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

/// Loads `path`, which must carry `"version": version`; `Ok(None)` when it does not exist.
///
/// # Errors
/// [`StateFileError::Read`], [`StateFileError::Corrupt`] or [`StateFileError::UnsupportedVersion`].
pub fn load<T: DeserializeOwned>(path: &Path, version: u32) -> Result<Option<T>, StateFileError> {
    let text = match fs::read(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StateFileError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let corrupt = |source| StateFileError::Corrupt {
        path: path.to_owned(),
        source,
    };
    let VersionOnly { version: found } = serde_json::from_slice(&text).map_err(corrupt)?;
    if found != version {
        return Err(StateFileError::UnsupportedVersion {
            path: path.to_owned(),
            version: found,
            supported: version,
        });
    }
    serde_json::from_slice(&text).map(Some).map_err(corrupt)
}

/// Writes `value` to `path` atomically and durably, mode 0600.
///
/// # Errors
/// [`StateFileError::Encode`] or [`StateFileError::Write`]; the file is then unchanged.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), StateFileError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| StateFileError::Encode {
        path: path.to_owned(),
        source,
    })?;
    write_atomic(path, &bytes, FILE_MODE).map_err(|source| StateFileError::Write {
        path: path.to_owned(),
        source,
    })
}
