//! The file store's data key: in the OS keychain or in a 0600 key file beside the store, picked
//! as [`super`]'s documentation says, read and created here.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use super::record::{SealedWith, TAG_KEYCHAIN, TAG_KEY_FILE};
use super::{KEYCHAIN_PROBE_TIMEOUT, KEYCHAIN_SERVICE, KEYCHAIN_TIMEOUT};
use crate::store::atomic::write_atomic;
use crate::store::{KeySource, StoreError, StoreOptions};

const KEY_LEN: usize = 32;
/// Longest key file read; a key is 64 hex digits and a newline.
const MAX_KEY_FILE: u64 = 256;

pub(super) type DataKey = Zeroizing<[u8; KEY_LEN]>;

/// Where the data key of an open store came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeyOrigin {
    Keychain,
    KeyFile(PathBuf),
}

impl KeyOrigin {
    pub(super) fn tag(&self) -> u8 {
        match self {
            Self::Keychain => TAG_KEYCHAIN,
            Self::KeyFile(_) => TAG_KEY_FILE,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Self::Keychain => "keychain".to_owned(),
            Self::KeyFile(path) => format!("key file {}", path.display()),
        }
    }
}

/// True where a keychain may answer: macOS, or a Linux session with a D-Bus session bus.
pub(super) fn keychain_reachable() -> bool {
    if cfg!(target_os = "macos") {
        return true;
    }
    if cfg!(target_os = "linux") {
        return std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
    }
    false
}

/// Picks the data key for the store at `path`, following its header when it exists.
pub(super) fn obtain_key(
    options: &StoreOptions,
    path: &Path,
    key_path: &Path,
    sealed_with: Option<SealedWith>,
    keychain_reachable: bool,
) -> Result<(DataKey, KeyOrigin), StoreError> {
    let id = options.keychain_id.clone();
    let from_file = |key: DataKey| (key, KeyOrigin::KeyFile(key_path.to_owned()));
    match (options.key_source, sealed_with) {
        (KeySource::File, Some(SealedWith::Keychain))
        | (KeySource::Keychain, Some(SealedWith::KeyFile)) => Err(StoreError::KeySourceMismatch {
            path: path.to_owned(),
            sealed_with: sealed_with.map_or("", SealedWith::name),
            requested: options.key_source,
        }),
        (KeySource::File | KeySource::Auto, Some(SealedWith::KeyFile)) => {
            match read_key_file(key_path)? {
                Some(key) => Ok(from_file(key)),
                None => Err(StoreError::MissingKeyFile {
                    store: path.to_owned(),
                    key: key_path.to_owned(),
                }),
            }
        }
        (KeySource::Keychain | KeySource::Auto, Some(SealedWith::Keychain)) => {
            let name = keychain_user(&id);
            match with_timeout(KEYCHAIN_TIMEOUT, move || keychain_read(&id))? {
                Some(key) => Ok((key, KeyOrigin::Keychain)),
                None => Err(StoreError::Locked {
                    reason: format!(
                        "the store is sealed with a keychain key, but the keychain has no entry \
                         {KEYCHAIN_SERVICE}/{name}"
                    ),
                }),
            }
        }
        (KeySource::File, None) => match read_key_file(key_path)? {
            Some(key) => Ok(from_file(key)),
            None => create_key_file(key_path).map(from_file),
        },
        (KeySource::Keychain, None) => {
            let key = with_timeout(KEYCHAIN_TIMEOUT, move || keychain_read_or_create(&id))?;
            Ok((key, KeyOrigin::Keychain))
        }
        (KeySource::Auto, None) => {
            if let Some(key) = read_key_file(key_path)? {
                return Ok(from_file(key));
            }
            if keychain_reachable {
                match with_timeout(KEYCHAIN_PROBE_TIMEOUT, move || keychain_read_or_create(&id)) {
                    Ok(key) => return Ok((key, KeyOrigin::Keychain)),
                    Err(error) => {
                        tracing::warn!(%error, "keychain unavailable for a new store; using a key file");
                    }
                }
            }
            create_key_file(key_path).map(from_file)
        }
    }
}

fn random_key() -> DataKey {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(&mut key[..]);
    key
}

/// Parses 64 hex digits, ignoring surrounding whitespace. Errors never quote the text.
fn decode_key(text: &[u8]) -> Result<DataKey, String> {
    let text = text.trim_ascii();
    if text.len() != KEY_LEN * 2 {
        return Err(format!(
            "expected {} hex digits, found {} bytes",
            KEY_LEN * 2,
            text.len()
        ));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    hex::decode_to_slice(text, &mut key[..])
        .map_err(|_| "contains a character that is not a hex digit".to_owned())?;
    Ok(key)
}

/// Reads the key file; `None` if it does not exist.
pub(super) fn read_key_file(path: &Path) -> Result<Option<DataKey>, StoreError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let metadata = file.metadata().map_err(|e| StoreError::io(path, e))?;
    if !metadata.is_file() {
        return Err(StoreError::BadKeyFile {
            path: path.to_owned(),
            reason: "not a regular file".to_owned(),
        });
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(StoreError::InsecureKeyFile {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut text)
        .map_err(|e| StoreError::io(path, e))?;
    decode_key(&text)
        .map(Some)
        .map_err(|reason| StoreError::BadKeyFile {
            path: path.to_owned(),
            reason,
        })
}

/// Creates a new random key in a 0600 key file, durably.
fn create_key_file(path: &Path) -> Result<DataKey, StoreError> {
    let key = random_key();
    let mut text = Zeroizing::new([0u8; KEY_LEN * 2 + 1]);
    hex::encode_to_slice(&key[..], &mut text[..KEY_LEN * 2]).map_err(|_| StoreError::Encode {
        reason: "cannot hex-encode the key".to_owned(),
    })?;
    text[KEY_LEN * 2] = b'\n';
    write_atomic(path, &text[..], 0o600).map_err(|e| StoreError::io(path, e))?;
    tracing::info!(key_file = %path.display(), "created a new store key file");
    Ok(key)
}

fn keychain_user(id: &str) -> String {
    format!("store-key:{id}")
}

/// Runs a keychain call on its own thread; gives up (leaving the thread) after `timeout`.
fn with_timeout<T: Send + 'static>(
    timeout: Duration,
    call: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, StoreError> {
    let (sender, receiver) = mpsc::channel();
    thread::Builder::new()
        .name("keychain".to_owned())
        .spawn(move || {
            let _ = sender.send(call());
        })
        .map_err(|e| StoreError::Locked {
            reason: format!("cannot start the keychain thread: {e}"),
        })?;
    match receiver.recv_timeout(timeout) {
        Ok(result) => result.map_err(|reason| StoreError::Locked { reason }),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(StoreError::Locked {
            reason: format!("the keychain did not answer within {} s", timeout.as_secs()),
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(StoreError::Locked {
            reason: "the keychain call failed unexpectedly".to_owned(),
        }),
    }
}

fn keychain_entry(id: &str) -> Result<keyring::Entry, String> {
    keyring::Entry::new(KEYCHAIN_SERVICE, &keychain_user(id)).map_err(|e| {
        format!(
            "keychain entry {KEYCHAIN_SERVICE}/{}: {e}",
            keychain_user(id)
        )
    })
}

/// The key in the keychain; `None` if there is no entry.
fn keychain_read(id: &str) -> Result<Option<DataKey>, String> {
    let entry = keychain_entry(id)?;
    match entry.get_password() {
        Ok(text) => {
            let text = Zeroizing::new(text);
            decode_key(text.as_bytes()).map(Some).map_err(|reason| {
                format!(
                    "keychain entry {KEYCHAIN_SERVICE}/{} is not a store key: {reason}",
                    keychain_user(id)
                )
            })
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(format!("keychain: {e}")),
    }
}

/// The key in the keychain, created if there is none. A new key is read back through a fresh
/// entry, so a backend that does not really keep it is caught before any data depends on it.
fn keychain_read_or_create(id: &str) -> Result<DataKey, String> {
    if let Some(key) = keychain_read(id)? {
        return Ok(key);
    }
    let key = random_key();
    let text = Zeroizing::new(hex::encode(&key[..]));
    keychain_entry(id)?
        .set_password(&text)
        .map_err(|e| format!("keychain: cannot store the key: {e}"))?;
    match keychain_read(id)? {
        Some(back) if back[..] == key[..] => Ok(key),
        _ => Err("the keychain did not keep the new key".to_owned()),
    }
}
