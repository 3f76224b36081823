//! The client's saved master key: a 0600 file in a 0700 directory (see [`super::location`] for
//! where), one line of key text. A file that group or others can read is refused, as ssh refuses
//! a private key with loose permissions. `AUTH_HUB_TOKEN` overrides the file ([`env_token`]).
//!
//! Read by the client (every command) and by `auth-hub status`, written by `hyperforge auth
//! login`; the key text is zeroized after use and never appears in an error.

use std::fs::{DirBuilder, File};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::atomic::write_atomic;
use super::location::{var, TOKEN_VAR};
use crate::MasterToken;

/// Why the saved key (or `AUTH_HUB_TOKEN`) could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Opening, inspecting, reading or writing the file failed.
    #[error("cannot {action} key file {}: {source}", path.display())]
    Io {
        /// What was attempted (`open`, `inspect`, `read`, `write`).
        action: &'static str,
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Group or others may access the file.
    #[error("key file {} is accessible by group or others (mode {mode:04o}); run `chmod 600 {}`", path.display(), path.display())]
    Loose {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file holds no key.
    #[error("key file {} is empty; replace the lost owner key with `hyperforge auth login --recover`, or set {}", path.display(), TOKEN_VAR)]
    Empty {
        /// The key file.
        path: PathBuf,
    },
    /// The path has no directory to put the file in.
    #[error("key file {} has no directory", path.display())]
    NoDirectory {
        /// The key file.
        path: PathBuf,
    },
    /// The key's directory could not be created.
    #[error("cannot create {}: {source}", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// `AUTH_HUB_TOKEN` is not UTF-8.
    #[error("{} is not valid UTF-8", TOKEN_VAR)]
    VarNotUtf8,
}

/// The key in `AUTH_HUB_TOKEN` (one trailing newline dropped); `None` when unset or empty.
///
/// # Errors
/// [`KeyFileError::VarNotUtf8`].
pub fn env_token() -> Result<Option<MasterToken>, KeyFileError> {
    match var(TOKEN_VAR) {
        None => Ok(None),
        Some(token) => match token.into_string() {
            Ok(text) => Ok(Some(trimmed(text))),
            Err(_) => Err(KeyFileError::VarNotUtf8),
        },
    }
}

/// Reads a saved key file; `Ok(None)` when there is none.
///
/// # Errors
/// [`KeyFileError`] naming the file: unreadable, not UTF-8, empty, or accessible by group or
/// others.
pub fn read(path: &Path) -> Result<Option<MasterToken>, KeyFileError> {
    let io_error = |action, source| KeyFileError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error("open", error)),
    };
    // Checked on the open file, so the mode checked is the mode of the file read.
    let mode = file
        .metadata()
        .map_err(|error| io_error("inspect", error))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Loose {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|error| io_error("read", error))?;
    let token = trimmed(std::mem::take(&mut *text));
    if token.is_empty() {
        return Err(KeyFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(Some(token))
}

/// Writes `token` to `path` atomically and durably, 0600, creating its directory 0700 when
/// missing.
///
/// # Errors
/// [`KeyFileError`] naming the file or directory.
pub fn write(path: &Path, token: &MasterToken) -> Result<(), KeyFileError> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .ok_or_else(|| KeyFileError::NoDirectory {
            path: path.to_path_buf(),
        })?;
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| KeyFileError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })?;
    let mut line = Zeroizing::new(String::with_capacity(token.len() + 1));
    line.push_str(token.expose());
    line.push('\n');
    write_atomic(path, line.as_bytes(), 0o600).map_err(|source| KeyFileError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Drops one trailing newline (`\n` or `\r\n`) without copying the text.
pub fn trimmed(mut text: String) -> MasterToken {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    MasterToken::new(text)
}
