//! The record format of the file store (laid out in [`super`]'s documentation): the header
//! checked without the key, sealing a record and opening one, and reading the records on disk.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use auth_hub_protocol::SecretPath;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::data_key::DataKey;
use super::{FORMAT_VERSION, LEGACY_VERSION, MAGIC};
use crate::audit::AuditAnchor;
use crate::store::atomic::sync_dir;
use crate::store::memory::{SecretMap, Versions};
use crate::store::slots::SlotPair;
use crate::store::StoreError;

/// Magic, version and key tag: the header of both formats up to the version's own fields.
pub(super) const COMMON_HEADER_LEN: usize = MAGIC.len() + 2;
/// The version 2 header: the common part, the generation and the record length.
pub(super) const HEADER_LEN: usize = COMMON_HEADER_LEN + 8 + 4;
pub(super) const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
pub(super) const TAG_KEYCHAIN: u8 = 1;
pub(super) const TAG_KEY_FILE: u8 = 2;

/// What a record holds, as sealed.
#[derive(Serialize)]
struct ContentsRef<'a> {
    secrets: &'a BTreeMap<SecretPath, Versions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audit_anchor: Option<&'a AuditAnchor>,
}

/// What a record holds, as read; a record from a build before the anchor has none.
#[derive(Deserialize)]
struct Contents {
    secrets: BTreeMap<SecretPath, Versions>,
    #[serde(default)]
    audit_anchor: Option<AuditAnchor>,
}

/// The key source named by an existing store's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SealedWith {
    Keychain,
    KeyFile,
}

impl SealedWith {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Keychain => "keychain",
            Self::KeyFile => "key file",
        }
    }
}

/// A record found on disk at open, in a slot or in a version 1 file.
pub(super) struct Record {
    pub(super) path: PathBuf,
    /// The slot it is in; `None` for a version 1 file.
    pub(super) slot: Option<usize>,
    pub(super) bytes: Vec<u8>,
    pub(super) header: Header,
}

/// Reads both slots and a version 1 file. Returns the records whose header is sound, newest
/// first, and the errors of the files whose header is not.
pub(super) fn read_records(
    pair: &SlotPair,
    legacy: &Path,
) -> Result<(Vec<Record>, Vec<StoreError>), StoreError> {
    let mut found = Vec::new();
    for index in 0..2 {
        let path = pair.path(index);
        if let Some(bytes) = pair.read(index).map_err(|e| StoreError::io(path, e))? {
            found.push((path.to_owned(), Some(index), bytes));
        }
    }
    match fs::read(legacy) {
        Ok(bytes) => found.push((legacy.to_owned(), None, bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(StoreError::io(legacy, e)),
    }
    let mut records = Vec::new();
    let mut unreadable = Vec::new();
    for (path, slot, bytes) in found {
        match check_header(&path, &bytes) {
            // A version 1 file is older than any slot, whatever a slot's header says.
            Ok(header) if slot.is_some() == (header.version == FORMAT_VERSION) => {
                records.push(Record {
                    path,
                    slot,
                    bytes,
                    header,
                });
            }
            Ok(header) => unreadable.push(corrupt(
                &path,
                format!("holds a version {} record", header.version),
            )),
            Err(error) => unreadable.push(error),
        }
    }
    records.sort_by(|a, b| {
        (b.slot.is_some(), b.header.generation).cmp(&(a.slot.is_some(), a.header.generation))
    });
    Ok((records, unreadable))
}

/// Removes a version 1 file once a slot holds its contents; a failure only leaves it behind,
/// where it is ignored while a slot is readable.
pub(super) fn remove_legacy(path: &Path) {
    let removed = fs::remove_file(path).and_then(|()| match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    });
    match removed {
        Ok(()) => {
            tracing::info!(file = %path.display(), "removed the version 1 store file; the slots hold its contents")
        }
        Err(error) => {
            tracing::warn!(file = %path.display(), %error, "cannot remove the version 1 store file")
        }
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// What a record's header says.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    version: u8,
    pub(super) sealed_with: SealedWith,
    /// One more per write; 0 for a version 1 record.
    pub(super) generation: u64,
    /// Bytes of the header itself.
    header_len: usize,
    /// Bytes of the whole record, header to tag; what follows is padding.
    record_len: usize,
}

/// Checks everything that can be checked without the key.
fn check_header(path: &Path, bytes: &[u8]) -> Result<Header, StoreError> {
    let too_short = |header_len: usize| {
        corrupt(
            path,
            format!(
                "file is {} bytes long, shorter than the {header_len}-byte header",
                bytes.len()
            ),
        )
    };
    if bytes.len() < COMMON_HEADER_LEN {
        return Err(too_short(COMMON_HEADER_LEN));
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(corrupt(
            path,
            "bad magic: this is not an auth-hub store file",
        ));
    }
    let version = bytes[MAGIC.len()];
    let header_len = match version {
        FORMAT_VERSION => HEADER_LEN,
        LEGACY_VERSION => COMMON_HEADER_LEN,
        _ => {
            return Err(corrupt(
                path,
                format!(
                    "unknown format version {version}; this build reads versions {LEGACY_VERSION} and {FORMAT_VERSION}"
                ),
            ))
        }
    };
    let sealed_with = match bytes[MAGIC.len() + 1] {
        TAG_KEYCHAIN => SealedWith::Keychain,
        TAG_KEY_FILE => SealedWith::KeyFile,
        other => {
            return Err(corrupt(
                path,
                format!("unknown key-source tag {other}; expected 1 (keychain) or 2 (key file)"),
            ))
        }
    };
    if bytes.len() < header_len {
        return Err(too_short(header_len));
    }
    let (generation, record_len) = if version == FORMAT_VERSION {
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&bytes[COMMON_HEADER_LEN..COMMON_HEADER_LEN + 8]);
        let mut length = [0u8; 4];
        length.copy_from_slice(&bytes[COMMON_HEADER_LEN + 8..HEADER_LEN]);
        let length = usize::try_from(u32::from_le_bytes(length)).unwrap_or(usize::MAX);
        (u64::from_le_bytes(generation), length)
    } else {
        (0, bytes.len())
    };
    let minimum = header_len + NONCE_LEN + TAG_LEN;
    if record_len < minimum || record_len > bytes.len() {
        return Err(corrupt(
            path,
            format!(
                "file is truncated: {} bytes, its record claims {record_len}, a sealed store has at least {minimum}",
                bytes.len()
            ),
        ));
    }
    Ok(Header {
        version,
        sealed_with,
        generation,
        header_len,
        record_len,
    })
}

/// Decrypts and decodes the record at the start of `bytes` (a slot, a version 1 file, or a
/// record as sealed): the map and the audit anchor sealed with it.
pub(super) fn unseal(
    path: &Path,
    key: &DataKey,
    bytes: &[u8],
) -> Result<(SecretMap, Option<AuditAnchor>), StoreError> {
    let found = check_header(path, bytes)?;
    let (header, rest) = bytes[..found.record_len].split_at(found.header_len);
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    XChaCha20Poly1305::new(Key::from_slice(&key[..]))
        .decrypt_in_place_detached(
            XNonce::from_slice(nonce),
            header,
            &mut plaintext[..],
            Tag::from_slice(tag),
        )
        .map_err(|_| {
            corrupt(
                path,
                "authentication failed: the data key is wrong or the file was altered",
            )
        })?;
    // The decoder's message could quote decrypted text, so it is not passed on.
    let contents: Contents = rmp_serde::from_slice(&plaintext).map_err(|_| {
        corrupt(
            path,
            "contents decrypt but do not decode as a store of this format",
        )
    })?;
    Ok((
        SecretMap {
            secrets: contents.secrets,
        },
        contents.audit_anchor,
    ))
}

/// Counts bytes, so the plaintext buffer can be allocated once at its final size and no copy of
/// it is left behind by a reallocation.
struct CountingWriter(usize);

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encodes and encrypts the whole map and the audit anchor into a version 2 record of
/// `generation`.
pub(super) fn seal(
    key: &DataKey,
    key_tag: u8,
    generation: u64,
    map: &SecretMap,
    audit_anchor: Option<&AuditAnchor>,
) -> Result<Vec<u8>, StoreError> {
    let contents = ContentsRef {
        secrets: &map.secrets,
        audit_anchor,
    };
    let encode_error = |e: rmp_serde::encode::Error| StoreError::Encode {
        reason: e.to_string(),
    };
    let mut counter = CountingWriter(0);
    rmp_serde::encode::write_named(&mut counter, &contents).map_err(encode_error)?;
    let body_start = HEADER_LEN + NONCE_LEN;
    let record_len = body_start + counter.0 + TAG_LEN;
    let length = u32::try_from(record_len).map_err(|_| StoreError::Encode {
        reason: format!("the store would be {record_len} bytes, more than a record's 4 GiB"),
    })?;
    let mut buffer = Zeroizing::new(Vec::with_capacity(record_len));
    buffer.extend_from_slice(MAGIC);
    buffer.push(FORMAT_VERSION);
    buffer.push(key_tag);
    buffer.extend_from_slice(&generation.to_le_bytes());
    buffer.extend_from_slice(&length.to_le_bytes());
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    buffer.extend_from_slice(&nonce);
    rmp_serde::encode::write_named(&mut *buffer, &contents).map_err(encode_error)?;
    let (head, body) = buffer.split_at_mut(body_start);
    let tag = XChaCha20Poly1305::new(Key::from_slice(&key[..]))
        .encrypt_in_place_detached(XNonce::from_slice(&nonce), &head[..HEADER_LEN], body)
        .map_err(|_| StoreError::Encode {
            reason: "encryption failed".to_owned(),
        })?;
    buffer.extend_from_slice(&tag);
    // The buffer now holds only ciphertext; the empty vector left behind is zeroized on drop.
    Ok(std::mem::take(&mut *buffer))
}
