//! The default store: every secret in one AEAD-sealed record, kept in two slot files in the state
//! directory, `secrets-a.sealed` and `secrets-b.sealed`, written in place by turns ([`slots`](super::slots)).
//!
//! ```text
//! slot   = record ‖ zero padding to the slot's length
//! record = "AHSTORE1" ‖ format version: u8 (2) ‖ key-source tag: u8 (1 keychain, 2 key file)
//!          ‖ generation: u64 LE (one more per write) ‖ record length: u32 LE
//!          ‖ nonce: 24 random bytes, fresh on every write
//!          ‖ XChaCha20-Poly1305(data key, nonce, aad = the 22 header bytes,
//!                               MessagePack with named fields of {secrets: the whole
//!                               versioned map, audit_anchor: the audit chain's head})
//! ```
//!
//! On open, the newest slot that authenticates is the store; a slot torn by a crash mid-write
//! fails authentication and the other slot, one generation older and holding every acknowledged
//! write, is used. Version 1 stores (`secrets.sealed`, the same record without generation and
//! length, replaced by rename on every write) are read and become the slots on the first write.
//!
//! A torn newest slot and a newest slot removed or cut on purpose look the same from the slots
//! alone, and so do no slots and a deleted store. So the latest committed generation is also
//! kept in `store.manifest` ([`manifest`], which explains the reasoning): it is
//! recorded after the slot it names is durable, synchronously only on a store's first write and
//! otherwise from the hub's housekeeping tick, so a write still costs one in-place write and one
//! `fdatasync`. On open, slots older than the manifest are a rollback (the hub warns and audits
//! it), no slot under a manifest is a loss (the hub refuses to start unless told
//! `--accept-store-loss`), and anything else, a torn last write included, is a normal start.
//!
//! Each record also seals the audit log's durable head ([`AuditAnchor`]), noted at the hub's
//! audit flush tick: every write carries the latest one, and while the log grows without writes
//! the store seals it with a write of its own at most every [`ANCHOR_INTERVAL`] and at shutdown
//! (from the first secret write on: a store never written anchors nothing).
//!
//! Reads are served from a decrypted map in memory and never touch the disk. A write updates the
//! map, then writes a sealed snapshot into the older slot; it returns only once that slot is
//! durable, so a `kill -9` at any moment loses no acknowledged write. Concurrent writers are
//! group-committed: each change gets a generation number, one writer at a time seals a snapshot
//! covering every change up to its generation, and every writer that snapshot covers returns when
//! it is durable. If persisting fails, the map is rolled back to the last durable record and every
//! writer not yet durable gets the error. Readers may see a write before it is durable, and a
//! `delete` of a path that is absent returns `false` at once.
//!
//! The 32-byte data key lives in the OS keychain (entry `auth-hub` / `store-key:<keychain id>`,
//! hex) or in `store.key` beside the store (hex, 0600, refused if group or others have access).
//! An existing store keeps the source its header names; a new store under [`KeySource::Auto`]
//! tries the keychain only where one can answer, for at most [`KEYCHAIN_PROBE_TIMEOUT`], and falls
//! back to the key file. The code follows these parts: `commit` (group commit), `record`
//! (the format, sealing and opening) and `data_key` (keychain and key file).
//!
//! [`KeySource::Auto`]: super::KeySource::Auto

mod commit;
mod data_key;
mod record;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use auth_hub_protocol::{SecretPath, SecretValue};
use chrono::Utc;

use self::commit::{lock, Commit, Slots, State};
use self::data_key::{keychain_reachable, obtain_key, DataKey, KeyOrigin};
use self::record::{read_records, remove_legacy, unseal};
use super::atomic::remove_stale_temps;
use super::manifest::{self, Verdict};
use super::memory::SecretMap;
use super::slots::SlotPair;
use super::{SecretMeta, SecretStore, StoreError, StoreIntegrity, StoreOptions, StoredSecret};
use crate::audit::AuditAnchor;

/// Names of the two slot files in the state directory.
pub const SLOT_FILES: [&str; 2] = ["secrets-a.sealed", "secrets-b.sealed"];
/// Name of a version 1 store file, read once and removed after the first write to a slot.
pub const LEGACY_FILE: &str = "secrets.sealed";
/// Name of the key file beside the store.
pub const KEY_FILE: &str = "store.key";
/// First bytes of every store file.
pub const MAGIC: &[u8; 8] = b"AHSTORE1";
/// The record format this build writes.
pub const FORMAT_VERSION: u8 = 2;
/// The single-file format of earlier builds, still read.
pub const LEGACY_VERSION: u8 = 1;
/// Keychain service name of the data key entry.
pub const KEYCHAIN_SERVICE: &str = "auth-hub";
/// How long a new store waits for the keychain before using a key file instead.
pub const KEYCHAIN_PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an existing keychain-sealed store waits for its key (the user may have to unlock).
pub const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the sealed audit anchor trails a growing audit log when no secret is written: then
/// the store writes a record of its own (one slot write) to seal the new head.
pub const ANCHOR_INTERVAL: Duration = Duration::from_secs(2);

/// The encrypted file store. See the module documentation for the format and guarantees.
pub struct FileStore {
    dir: PathBuf,
    key: DataKey,
    origin: KeyOrigin,
    history: usize,
    state: RwLock<State>,
    commit: Mutex<Commit>,
    committed: Condvar,
    slots: Mutex<Slots>,
    /// What open found about the store's completeness.
    integrity: StoreIntegrity,
    /// The audit anchor of the record opened.
    opened_anchor: Option<AuditAnchor>,
    /// The audit log's durable head as last noted by [`SecretStore::checkpoint`].
    audit_head: Mutex<Option<AuditAnchor>>,
    /// The generation of the newest durable record; only grows.
    durable_generation: AtomicU64,
    /// The generation the manifest records (0 for none); writes of the manifest hold it.
    manifest: Mutex<u64>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.dir)
            .field("key_source", &self.origin.describe())
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens (or prepares to create) the store in `options.dir`: removes temp files a crash left,
    /// reads the slots (and a version 1 file), takes the newest record that authenticates, and
    /// obtains the data key. No record at all is an empty store, written on the first change,
    /// unless the manifest says records were committed. Judges the slots against the manifest
    /// (see [`manifest`]) and records a missing manifest.
    ///
    /// # Errors
    /// - [`StoreError::Corrupt`] when store files exist but none is usable: short, a bad magic,
    ///   an unknown version or key tag, failing authentication (wrong key or tampering) or not
    ///   decoding; the files are never replaced by an empty store;
    /// - [`StoreError::Lost`] when no store file is left under a manifest recording writes, and
    ///   `options.accept_loss` is not set;
    /// - [`StoreError::Locked`] when the keychain holding the key is unavailable;
    /// - [`StoreError::InsecureKeyFile`], [`StoreError::BadKeyFile`],
    ///   [`StoreError::MissingKeyFile`], [`StoreError::KeySourceMismatch`] for key problems;
    /// - [`StoreError::Io`] for anything the file system refuses.
    pub fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        Self::open_with(options, keychain_reachable())
    }

    fn open_with(options: &StoreOptions, keychain_reachable: bool) -> Result<Self, StoreError> {
        let dir = fs::canonicalize(&options.dir).map_err(|e| StoreError::io(&options.dir, e))?;
        let legacy_path = dir.join(LEGACY_FILE);
        let key_path = dir.join(KEY_FILE);
        let mut pair = SlotPair::new(&dir, SLOT_FILES);
        let manifest_path = manifest::path(&dir);
        for stale in [
            &legacy_path,
            &key_path,
            &manifest_path,
            pair.path(0),
            pair.path(1),
        ] {
            let removed = remove_stale_temps(stale).map_err(|e| StoreError::io(&dir, e))?;
            if removed > 0 {
                tracing::info!(removed, file = %stale.display(), "removed temp files left by a crash");
            }
        }
        let recorded = manifest::read(&dir)?;
        let (records, unreadable) = read_records(&pair, &legacy_path)?;
        let newest = records.first();
        let store_path = newest.map_or_else(|| pair.path(0).to_owned(), |r| r.path.clone());
        let sealed_with = newest.map(|r| r.header.sealed_with);
        if newest.is_none() {
            if let Some(error) = unreadable.into_iter().next() {
                return Err(error);
            }
            // Refused before a key is looked up or created: nothing in the directory changes.
            if let Verdict::Lost { recorded } = manifest::judge(recorded, None) {
                if !options.accept_loss {
                    return Err(StoreError::Lost { dir, recorded });
                }
            }
        }
        let (key, origin) = obtain_key(
            options,
            &store_path,
            &key_path,
            sealed_with,
            keychain_reachable,
        )?;

        let mut rejected = Vec::new();
        let mut chosen = None;
        for record in records {
            match unseal(&record.path, &key, &record.bytes) {
                Ok(contents) => {
                    chosen = Some((record, contents));
                    break;
                }
                Err(error) => rejected.push(error),
            }
        }
        let found = chosen.as_ref().map(|(record, _)| record.header.generation);
        let mut anchor = None;
        let (map, sealed, generation, legacy) = match chosen {
            None if !rejected.is_empty() => return Err(rejected.swap_remove(0)),
            None => (SecretMap::default(), None, 0, None),
            Some((record, (map, sealed_anchor))) => {
                anchor = sealed_anchor;
                for error in &rejected {
                    tracing::warn!(%error, using = %record.path.display(), "skipped an unusable store record (a crash during a write leaves one)");
                }
                match record.slot {
                    Some(index) => {
                        pair.newest_is(index);
                        if legacy_path.exists() {
                            remove_legacy(&legacy_path);
                        }
                        (map, Some(record.bytes), record.header.generation, None)
                    }
                    None => (map, Some(record.bytes), 0, Some(legacy_path)),
                }
            }
        };
        let mut integrity = StoreIntegrity::Sound;
        let mut manifest_recorded = recorded.unwrap_or(0);
        match manifest::judge(recorded, found) {
            Verdict::New | Verdict::Current => {}
            Verdict::Unrecorded => {
                manifest::write(&dir, generation)?;
                manifest_recorded = generation;
                tracing::info!(generation, manifest = %manifest_path.display(), "recorded the store's generation in a new manifest");
            }
            Verdict::RolledBack { found, recorded } => {
                integrity = StoreIntegrity::RolledBack { found, recorded };
            }
            Verdict::Lost { recorded } => integrity = StoreIntegrity::LossAccepted { recorded },
        }
        if let Some(problem) = integrity.describe() {
            tracing::warn!(store = %dir.display(), "the store was {problem}");
        }
        tracing::info!(
            store = %dir.display(),
            secrets = map.len(),
            generation,
            key_source = %origin.describe(),
            "opened the file store"
        );
        Ok(Self {
            dir,
            key,
            origin,
            history: options.history,
            state: RwLock::new(State { map, generation: 0 }),
            commit: Mutex::new(Commit {
                durable: 0,
                persisting: false,
                sealed,
                failures: Vec::new(),
            }),
            committed: Condvar::new(),
            slots: Mutex::new(Slots {
                pair,
                generation,
                legacy,
                anchor: anchor.clone(),
                sealed_at: Instant::now(),
            }),
            integrity,
            opened_anchor: anchor,
            audit_head: Mutex::new(None),
            durable_generation: AtomicU64::new(generation),
            manifest: Mutex::new(manifest_recorded),
        })
    }

    /// The state directory holding the slot files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl SecretStore for FileStore {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn key_source(&self) -> String {
        self.origin.describe()
    }

    fn get(&self, path: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        Ok(self.read_state().map.get(path))
    }

    fn reads_from_memory(&self) -> bool {
        true
    }

    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        let (meta, generation) = {
            let mut state = self.write_state();
            let meta = state.map.put(path, value, Utc::now(), self.history);
            state.generation += 1;
            (meta, state.generation)
        };
        self.commit(generation)?;
        Ok(meta)
    }

    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError> {
        let generation = {
            let mut state = self.write_state();
            if !state.map.delete(path) {
                return Ok(false);
            }
            state.generation += 1;
            state.generation
        };
        self.commit(generation)?;
        Ok(true)
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        Ok(self.read_state().map.list(prefix))
    }

    fn history(&self, path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        Ok(self.read_state().map.history(path))
    }

    fn integrity(&self) -> StoreIntegrity {
        self.integrity.clone()
    }

    fn audit_anchor(&self) -> Option<AuditAnchor> {
        self.opened_anchor.clone()
    }

    fn checkpoint(&self, audit_head: Option<&AuditAnchor>, force: bool) -> Result<(), StoreError> {
        if let Some(head) = audit_head {
            *lock(&self.audit_head) = Some(head.clone());
        }
        let due = {
            let slots = self.lock_slots();
            let noted = lock(&self.audit_head).clone();
            slots.generation > 0
                && noted.is_some()
                && noted != slots.anchor
                && (force || slots.sealed_at.elapsed() >= ANCHOR_INTERVAL)
        };
        if due {
            let generation = {
                let mut state = self.write_state();
                state.generation += 1;
                state.generation
            };
            self.commit(generation)?;
        }
        self.record_generation(false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;
    use std::thread;

    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
    use rand::rngs::OsRng;
    use rand::RngCore;

    use super::data_key::read_key_file;
    use super::record::{COMMON_HEADER_LEN, HEADER_LEN, NONCE_LEN, TAG_KEY_FILE};
    use super::*;
    use crate::store::KeySource;
    use crate::test_support::path;

    fn options(dir: &Path) -> StoreOptions {
        StoreOptions {
            key_source: KeySource::File,
            ..StoreOptions::new(dir)
        }
    }

    fn open(dir: &Path) -> Result<FileStore, StoreError> {
        FileStore::open_with(&options(dir), false)
    }

    fn record_len(slot: &[u8]) -> usize {
        let mut length = [0u8; 4];
        length.copy_from_slice(&slot[COMMON_HEADER_LEN + 8..HEADER_LEN]);
        u32::from_le_bytes(length) as usize
    }

    fn value_at(dir: &Path, text: &str) -> Option<String> {
        open(dir)
            .unwrap()
            .get(&path(text))
            .unwrap()
            .map(|s| s.value.expose().to_owned())
    }

    /// Flips a byte inside the sealed record of a slot, as a write torn by a crash would.
    fn tear(dir: &Path, slot: usize) {
        let file = dir.join(SLOT_FILES[slot]);
        let mut bytes = fs::read(&file).unwrap();
        let middle = record_len(&bytes) / 2;
        bytes[middle] ^= 0x40;
        fs::write(&file, &bytes).unwrap();
    }

    /// A version 1 store file of `map`, as earlier builds wrote it.
    fn seal_version_1(key: &DataKey, map: &SecretMap) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[LEGACY_VERSION, TAG_KEY_FILE]);
        let nonce = [7u8; NONCE_LEN];
        bytes.extend_from_slice(&nonce);
        let mut body = rmp_serde::to_vec_named(map).unwrap();
        let tag = XChaCha20Poly1305::new(Key::from_slice(&key[..]))
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), &bytes[..10], &mut body)
            .unwrap();
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&tag);
        bytes
    }

    fn corrupt_reason(result: Result<FileStore, StoreError>) -> String {
        match result {
            Err(StoreError::Corrupt { reason, .. }) => reason,
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        assert_eq!(store.kind(), "file");
        let key_file = fs::canonicalize(dir.path()).unwrap().join(KEY_FILE);
        assert_eq!(
            store.key_source(),
            format!("key file {}", key_file.display())
        );
        assert!(!dir.path().join(SLOT_FILES[0]).exists(), "created lazily");
        let meta = store
            .put(&path("github/alice/token"), "ghp_first".into())
            .unwrap();
        store.put(&path("cargo/token"), "cargo_x".into()).unwrap();
        store.put(&path("gone/token"), "bye".into()).unwrap();
        assert!(store.delete(&path("gone/token")).unwrap());
        drop(store);

        let store = open(dir.path()).unwrap();
        let got = store.get(&path("github/alice/token")).unwrap().unwrap();
        assert_eq!(got.value.expose(), "ghp_first");
        assert_eq!(got.meta, meta);
        assert!(store.get(&path("gone/token")).unwrap().is_none());
        assert_eq!(store.list("").unwrap().len(), 2);
        let mode = fs::metadata(dir.path().join(SLOT_FILES[0]))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn versions_and_history_persist() {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions {
            history: 2,
            ..options(dir.path())
        };
        let store = FileStore::open_with(&opts, false).unwrap();
        let p = path("npm/@acme-corp/token");
        let first = store.put(&p, "one".into()).unwrap();
        let second = store.put(&p, "two".into()).unwrap();
        let third = store.put(&p, "three".into()).unwrap();
        let fourth = store.put(&p, "four".into()).unwrap();
        assert_eq!(
            [first.version, second.version, third.version, fourth.version],
            [1, 2, 3, 4]
        );
        assert_eq!(fourth.created_at, first.created_at);
        drop(store);
        let store = FileStore::open_with(&opts, false).unwrap();
        assert_eq!(store.history(&p).unwrap(), vec![third, second]);
        let current = store.get(&p).unwrap().unwrap();
        assert_eq!(current.meta, fourth);
        assert_eq!(current.value.expose(), "four");
        assert!(store.delete(&p).unwrap());
        assert_eq!(store.put(&p, "anew".into()).unwrap().version, 1);
        assert!(store.history(&p).unwrap().is_empty());
    }

    #[test]
    fn list_prefix_is_whole_segment() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        store.put(&path("github/alice/token"), "a".into()).unwrap();
        store.put(&path("github/ali"), "b".into()).unwrap();
        store.put(&path("github/bob/token"), "c".into()).unwrap();
        let names = |prefix: &str| -> Vec<String> {
            store
                .list(prefix)
                .unwrap()
                .into_iter()
                .map(|m| m.path.to_string())
                .collect()
        };
        assert_eq!(names("github/ali"), vec!["github/ali"]);
        assert_eq!(names("github/alice"), vec!["github/alice/token"]);
        assert_eq!(
            names(""),
            vec!["github/ali", "github/alice/token", "github/bob/token"]
        );
    }

    #[test]
    fn wrong_key_is_an_authentication_error() {
        let dir = tempfile::tempdir().unwrap();
        open(dir.path())
            .unwrap()
            .put(&path("a/b"), "value".into())
            .unwrap();
        let other = tempfile::tempdir().unwrap();
        open(other.path()).unwrap();
        fs::copy(other.path().join(KEY_FILE), dir.path().join(KEY_FILE)).unwrap();
        let reason = corrupt_reason(open(dir.path()));
        assert!(reason.contains("authentication failed"), "{reason}");
        // The file is left as it was.
        assert!(fs::metadata(dir.path().join(SLOT_FILES[0])).unwrap().len() > 50);
    }

    #[test]
    fn truncated_or_garbage_file_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        open(dir.path())
            .unwrap()
            .put(&path("a/b"), "value".into())
            .unwrap();
        let file = dir.path().join(SLOT_FILES[0]);
        let good = fs::read(&file).unwrap();
        let record_len = record_len(&good);
        for len in 0..record_len {
            fs::write(&file, &good[..len]).unwrap();
            corrupt_reason(open(dir.path()));
        }
        for index in 0..record_len {
            let mut bad = good.clone();
            bad[index] ^= 0x01;
            fs::write(&file, &bad).unwrap();
            assert!(
                matches!(open(dir.path()), Err(StoreError::Corrupt { .. })),
                "byte {index}"
            );
        }
        let mut garbage = vec![0u8; 4096];
        OsRng.fill_bytes(&mut garbage);
        fs::write(&file, &garbage).unwrap();
        assert!(corrupt_reason(open(dir.path())).contains("bad magic"));

        let mut bad = good.clone();
        bad[8] = 9;
        fs::write(&file, &bad).unwrap();
        assert!(corrupt_reason(open(dir.path())).contains("unknown format version 9"));
        let mut bad = good.clone();
        bad[9] = 7;
        fs::write(&file, &bad).unwrap();
        assert!(corrupt_reason(open(dir.path())).contains("unknown key-source tag 7"));
        fs::write(&file, &good[..40]).unwrap();
        assert!(corrupt_reason(open(dir.path())).contains("truncated"));
        fs::write(&file, b"").unwrap();
        assert!(corrupt_reason(open(dir.path())).contains("shorter than"));
        fs::write(&file, &good).unwrap();
        assert!(open(dir.path())
            .unwrap()
            .get(&path("a/b"))
            .unwrap()
            .is_some());
    }

    #[test]
    fn writes_alternate_and_the_newest_sound_slot_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        let p = path("a/b");
        for value in ["one", "two", "three"] {
            store.put(&p, value.into()).unwrap();
        }
        drop(store);
        assert_eq!(value_at(dir.path(), "a/b").as_deref(), Some("three"));
        // A crash tearing the newest slot (slot 0, generation 3) falls back to slot 1.
        tear(dir.path(), 0);
        let store = open(dir.path()).unwrap();
        assert_eq!(store.get(&p).unwrap().unwrap().value.expose(), "two");
        // The next write goes over the torn slot, never over the one the store was read from.
        store.put(&p, "four".into()).unwrap();
        drop(store);
        assert_eq!(value_at(dir.path(), "a/b").as_deref(), Some("four"));
        tear(dir.path(), 0);
        assert_eq!(value_at(dir.path(), "a/b").as_deref(), Some("two"));
    }

    #[test]
    fn both_slots_unusable_is_corrupt_and_nothing_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        store.put(&path("a/b"), "one".into()).unwrap();
        store.put(&path("a/b"), "two".into()).unwrap();
        drop(store);
        tear(dir.path(), 0);
        tear(dir.path(), 1);
        let before: Vec<Vec<u8>> = SLOT_FILES
            .iter()
            .map(|name| fs::read(dir.path().join(name)).unwrap())
            .collect();
        assert!(corrupt_reason(open(dir.path())).contains("authentication failed"));
        for (name, bytes) in SLOT_FILES.iter().zip(&before) {
            assert_eq!(&fs::read(dir.path().join(name)).unwrap(), bytes);
        }
    }

    #[test]
    fn a_version_1_store_is_read_and_moved_into_the_slots() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()).unwrap());
        let key = read_key_file(&dir.path().join(KEY_FILE)).unwrap().unwrap();
        let mut map = SecretMap::default();
        map.put(&path("old/token"), "kept".into(), Utc::now(), 5);
        let legacy = dir.path().join(LEGACY_FILE);
        fs::write(&legacy, seal_version_1(&key, &map)).unwrap();

        // A first write torn by a crash leaves the version 1 file as the store.
        fs::write(dir.path().join(SLOT_FILES[0]), [0u8; 4096]).unwrap();
        assert_eq!(value_at(dir.path(), "old/token").as_deref(), Some("kept"));
        fs::remove_file(dir.path().join(SLOT_FILES[0])).unwrap();

        let store = open(dir.path()).unwrap();
        assert_eq!(
            store
                .get(&path("old/token"))
                .unwrap()
                .unwrap()
                .value
                .expose(),
            "kept"
        );
        assert!(legacy.exists(), "kept until a slot holds its contents");
        store.put(&path("new/token"), "added".into()).unwrap();
        assert!(!legacy.exists());
        drop(store);
        assert_eq!(value_at(dir.path(), "old/token").as_deref(), Some("kept"));
        assert_eq!(value_at(dir.path(), "new/token").as_deref(), Some("added"));
    }

    #[test]
    fn concurrent_puts_then_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(open(dir.path()).unwrap());
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let store = Arc::clone(&store);
                thread::spawn(move || {
                    for i in 0..20 {
                        let meta = store
                            .put(
                                &path(&format!("t{t}/s{}", i % 3)),
                                format!("{t}-{i}").into(),
                            )
                            .unwrap();
                        assert_eq!(meta.version, i / 3 + 1);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(store);
        let store = open(dir.path()).unwrap();
        assert_eq!(store.list("").unwrap().len(), 48);
        for t in 0..16 {
            for s in 0..3 {
                let last = (0..20).filter(|i| i % 3 == s).max().unwrap();
                let got = store.get(&path(&format!("t{t}/s{s}"))).unwrap().unwrap();
                assert_eq!(got.value.expose(), format!("{t}-{last}"));
            }
        }
    }

    #[test]
    fn insecure_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        open(dir.path()).unwrap();
        let key_file = dir.path().join(KEY_FILE);
        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o644)).unwrap();
        match open(dir.path()) {
            Err(error @ StoreError::InsecureKeyFile { mode: 0o644, .. }) => {
                assert!(error.to_string().contains("mode 0644"), "{error}");
            }
            other => panic!("expected InsecureKeyFile, got {other:?}"),
        }
    }

    #[test]
    fn bad_or_missing_key_file() {
        let dir = tempfile::tempdir().unwrap();
        open(dir.path())
            .unwrap()
            .put(&path("a/b"), "v".into())
            .unwrap();
        let key_file = dir.path().join(KEY_FILE);
        fs::write(&key_file, "zz").unwrap();
        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            open(dir.path()),
            Err(StoreError::BadKeyFile { .. })
        ));
        fs::remove_file(&key_file).unwrap();
        assert!(matches!(
            open(dir.path()),
            Err(StoreError::MissingKeyFile { .. })
        ));
        let auto = StoreOptions::new(dir.path());
        assert!(matches!(
            FileStore::open_with(&auto, false),
            Err(StoreError::MissingKeyFile { .. })
        ));
        assert!(!key_file.exists(), "no new key over an existing store");
    }

    #[test]
    fn auto_without_keychain_uses_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let auto = StoreOptions::new(dir.path());
        let store = FileStore::open_with(&auto, false).unwrap();
        assert!(store.key_source().starts_with("key file /"));
        store.put(&path("a/b"), "v".into()).unwrap();
        drop(store);
        let bytes = fs::read(dir.path().join(SLOT_FILES[0])).unwrap();
        assert_eq!(bytes[9], TAG_KEY_FILE);
        // An existing key file wins, even where a keychain could answer.
        let store = FileStore::open_with(&auto, true).unwrap();
        assert!(store.key_source().starts_with("key file /"));
        let keychain = StoreOptions {
            key_source: KeySource::Keychain,
            ..StoreOptions::new(dir.path())
        };
        assert!(matches!(
            FileStore::open_with(&keychain, false),
            Err(StoreError::KeySourceMismatch { .. })
        ));
    }

    #[test]
    fn sealed_file_never_holds_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        let value = "ghp_PLAINTEXT_MARKER_0123456789";
        for _ in 0..3 {
            store
                .put(&path("github/alice/token"), value.into())
                .unwrap();
        }
        let first = fs::read(dir.path().join(SLOT_FILES[0])).unwrap();
        let second = fs::read(dir.path().join(SLOT_FILES[1])).unwrap();
        for bytes in [&first, &second] {
            assert_eq!(&bytes[..8], MAGIC);
            assert!(!bytes.windows(value.len()).any(|w| w == value.as_bytes()));
            assert!(!bytes.windows(12).any(|w| w == b"github/alice"));
        }
        let nonce = HEADER_LEN..HEADER_LEN + NONCE_LEN;
        assert_ne!(first[nonce.clone()], second[nonce], "fresh nonce per write");
        assert!(!format!("{store:?}").contains("PLAINTEXT"));
    }

    #[test]
    fn failed_persist_rolls_back() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("state");
        fs::create_dir(&dir).unwrap();
        let store = open(&dir).unwrap();
        let p = path("a/b");
        store.put(&p, "durable".into()).unwrap();
        let moved = parent.path().join("moved");
        fs::rename(&dir, &moved).unwrap();
        let error = store.put(&p, "lost".into()).unwrap_err();
        assert!(matches!(error, StoreError::Io { .. }), "{error:?}");
        let got = store.get(&p).unwrap().unwrap();
        assert_eq!(got.value.expose(), "durable");
        assert_eq!(got.meta.version, 1);
        fs::rename(&moved, &dir).unwrap();
        assert_eq!(store.put(&p, "later".into()).unwrap().version, 2);
        drop(store);
        assert_eq!(
            open(&dir).unwrap().get(&p).unwrap().unwrap().value.expose(),
            "later"
        );
    }

    #[test]
    fn stale_temps_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        open(dir.path())
            .unwrap()
            .put(&path("a/b"), "v".into())
            .unwrap();
        let temp = dir.path().join(".tmp-secrets.sealed.00ff");
        fs::write(&temp, b"torn").unwrap();
        open(dir.path()).unwrap();
        assert!(!temp.exists());
    }

    fn generation_of(dir: &Path, slot: usize) -> u64 {
        let bytes = fs::read(dir.join(SLOT_FILES[slot])).unwrap();
        let mut generation = [0u8; 8];
        generation.copy_from_slice(&bytes[COMMON_HEADER_LEN..COMMON_HEADER_LEN + 8]);
        u64::from_le_bytes(generation)
    }

    fn anchor(seq: u64) -> AuditAnchor {
        AuditAnchor {
            seq,
            hash: format!("{seq:064x}"),
        }
    }

    #[test]
    fn the_first_write_records_the_manifest_and_later_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        assert_eq!(
            manifest::read(dir.path()).unwrap(),
            None,
            "nothing written yet"
        );
        store.put(&path("a/b"), "one".into()).unwrap();
        assert_eq!(manifest::read(dir.path()).unwrap(), Some(1));
        store.put(&path("a/b"), "two".into()).unwrap();
        store.put(&path("a/b"), "three".into()).unwrap();
        assert_eq!(
            manifest::read(dir.path()).unwrap(),
            Some(1),
            "a write does not wait for the manifest"
        );
        store.checkpoint(None, false).unwrap();
        assert_eq!(manifest::read(dir.path()).unwrap(), Some(3));
        assert_eq!(store.integrity(), StoreIntegrity::Sound);
    }

    #[test]
    fn a_torn_newest_slot_after_a_crash_is_sound() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        for value in ["one", "two", "three"] {
            store.put(&path("a/b"), value.into()).unwrap();
        }
        store.checkpoint(None, false).unwrap();
        // The write of generation 4 is torn by a crash: never acknowledged, never recorded.
        store.put(&path("a/b"), "four".into()).unwrap();
        drop(store);
        tear(dir.path(), 1);
        let store = open(dir.path()).unwrap();
        assert_eq!(store.integrity(), StoreIntegrity::Sound);
        assert_eq!(
            store.get(&path("a/b")).unwrap().unwrap().value.expose(),
            "three"
        );
    }

    #[test]
    fn a_newest_slot_cut_after_it_was_recorded_is_a_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        store.put(&path("a/b"), "one".into()).unwrap();
        store.put(&path("a/b"), "two".into()).unwrap();
        store.checkpoint(None, false).unwrap();
        drop(store);
        assert_eq!(generation_of(dir.path(), 1), 2);
        let newest = dir.path().join(SLOT_FILES[1]);
        let bytes = fs::read(&newest).unwrap();
        fs::write(&newest, &bytes[..100]).unwrap();
        let store = open(dir.path()).unwrap();
        assert_eq!(
            store.integrity(),
            StoreIntegrity::RolledBack {
                found: 1,
                recorded: 2
            }
        );
        assert_eq!(
            store.get(&path("a/b")).unwrap().unwrap().value.expose(),
            "one"
        );
        // Once reported, the manifest takes the generation in force: the next start is quiet.
        store.checkpoint(None, false).unwrap();
        assert_eq!(manifest::read(dir.path()).unwrap(), Some(1));
        store.put(&path("a/b"), "again".into()).unwrap();
        drop(store);
        let store = open(dir.path()).unwrap();
        assert_eq!(store.integrity(), StoreIntegrity::Sound);
        assert_eq!(
            store.get(&path("a/b")).unwrap().unwrap().value.expose(),
            "again"
        );
    }

    #[test]
    fn no_slot_under_a_manifest_is_refused_unless_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        store.put(&path("a/b"), "one".into()).unwrap();
        store.put(&path("a/b"), "two".into()).unwrap();
        drop(store);
        for name in SLOT_FILES {
            fs::remove_file(dir.path().join(name)).unwrap();
        }
        let error = open(dir.path()).unwrap_err();
        assert!(
            matches!(error, StoreError::Lost { recorded: 1, .. }),
            "{error:?}"
        );
        let message = error.to_string();
        for part in [
            "store.manifest records generation 1",
            "secrets-a.sealed",
            "auth-hub serve --accept-store-loss",
        ] {
            assert!(message.contains(part), "{part:?} in {message}");
        }
        assert!(!dir.path().join(SLOT_FILES[0]).exists(), "nothing created");
        let accepting = StoreOptions {
            accept_loss: true,
            ..options(dir.path())
        };
        let store = FileStore::open_with(&accepting, false).unwrap();
        assert_eq!(
            store.integrity(),
            StoreIntegrity::LossAccepted { recorded: 1 }
        );
        assert!(store.list("").unwrap().is_empty());
        store.checkpoint(None, false).unwrap();
        drop(store);
        // Accepted once: the next start without the flag is a new, empty store.
        let store = open(dir.path()).unwrap();
        assert_eq!(store.integrity(), StoreIntegrity::Sound);
        store.put(&path("a/b"), "anew".into()).unwrap();
        assert_eq!(manifest::read(dir.path()).unwrap(), Some(1));
    }

    #[test]
    fn a_store_from_before_the_manifest_is_recorded_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        store.put(&path("a/b"), "one".into()).unwrap();
        store.put(&path("a/b"), "two".into()).unwrap();
        drop(store);
        fs::remove_file(manifest::path(dir.path())).unwrap();
        let store = open(dir.path()).unwrap();
        assert_eq!(store.integrity(), StoreIntegrity::Sound);
        assert_eq!(manifest::read(dir.path()).unwrap(), Some(2));
    }

    #[test]
    fn the_audit_anchor_rides_with_writes_and_is_sealed_on_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        // A store never written anchors nothing: no slot appears for the audit log alone.
        store.checkpoint(Some(&anchor(3)), true).unwrap();
        assert!(!dir.path().join(SLOT_FILES[0]).exists());
        store.put(&path("a/b"), "one".into()).unwrap();
        drop(store);
        assert_eq!(open(dir.path()).unwrap().audit_anchor(), Some(anchor(3)));

        let store = open(dir.path()).unwrap();
        store.checkpoint(Some(&anchor(5)), false).unwrap();
        assert!(
            !dir.path().join(SLOT_FILES[1]).exists(),
            "not due yet: no write of its own"
        );
        store.put(&path("a/c"), "two".into()).unwrap();
        assert_eq!(generation_of(dir.path(), 1), 2);
        store.checkpoint(Some(&anchor(9)), true).unwrap();
        assert_eq!(
            generation_of(dir.path(), 0),
            3,
            "sealed by a write of its own"
        );
        store.checkpoint(Some(&anchor(9)), true).unwrap();
        assert_eq!(
            generation_of(dir.path(), 1),
            2,
            "nothing new: nothing written"
        );
        drop(store);
        let store = open(dir.path()).unwrap();
        assert_eq!(store.audit_anchor(), Some(anchor(9)));
        assert_eq!(store.list("").unwrap().len(), 2);
        assert_eq!(store.integrity(), StoreIntegrity::Sound);
    }

    #[test]
    fn a_crash_during_the_first_write_leaves_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()).unwrap());
        // The first write creates its slot by rename; a crash leaves at most the temp file.
        let temp = dir
            .path()
            .join(format!(".tmp-{}.0123456789abcdef", SLOT_FILES[0]));
        fs::write(&temp, [0u8; 100]).unwrap();
        let store = open(dir.path()).unwrap();
        assert!(store.list("").unwrap().is_empty());
        assert!(!temp.exists());
        store.put(&path("a/b"), "v".into()).unwrap();
        drop(store);
        assert_eq!(value_at(dir.path(), "a/b").as_deref(), Some("v"));
    }
}
