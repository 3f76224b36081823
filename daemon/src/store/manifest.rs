//! The store manifest, `store.manifest`: the latest committed generation of the file store, kept
//! outside the two slot files so that the hub can tell, on start, a crash from lost or
//! rolled-back data.
//!
//! ```text
//! {"version": 1, "generation": 42}
//! ```
//!
//! The manifest is written lazily, never on a write's critical path: on the store's first
//! durable write (one extra atomic write, once per store), then by the hub's housekeeping tick
//! (every 200 ms, only when the generation moved) and at shutdown. It is always written *after*
//! the slot it names is durable, so it never runs ahead of the slots: `recorded <= durable`,
//! whatever moment a crash picks. A crash tears at most the slot being written, whose generation
//! is `durable + 1`, and leaves the slot holding `durable` intact, so after any crash the newest
//! slot that authenticates has `found >= durable >= recorded`. Hence, on open ([`judge`]):
//!
//! - no manifest and no slots: a new store (quiet);
//! - `found >= recorded`: the store is current; a torn newest slot (the last write interrupted by
//!   a crash, never acknowledged) lands here and the older slot is the truth;
//! - `found < recorded`: a generation the hub committed is gone, which no crash explains: the
//!   slots were rolled back (restored from a backup, the newest slot truncated or deleted). The
//!   hub starts, warns, shows it in `auth status` and audits it;
//! - no slot at all but `recorded >= 1`: the store was lost (deleted). The hub refuses to start
//!   unless `auth-hub serve --accept-store-loss` accepts an empty store;
//! - slots but no manifest: a store from a build before the manifest (or the manifest was
//!   removed); it is recorded now.
//!
//! The lag is the price of not doubling a write's cost: a rollback of the last writes before a
//! `kill -9` (at most ~200 ms of them) looks like a crash and is not reported. The manifest is
//! plain JSON, not sealed: it guards against accidents (files deleted, a backup restored over a
//! newer store, a sync tool), not against someone who can rewrite the state directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::StoreError;

/// Name of the manifest in the state directory.
pub const MANIFEST_FILE: &str = "store.manifest";
/// The manifest format this build reads and writes.
const MANIFEST_VERSION: u32 = 1;
/// Longest manifest read.
const MAX_MANIFEST: usize = 4096;

#[derive(Debug, Serialize, Deserialize)]
struct ManifestFile {
    version: u32,
    generation: u64,
}

/// The manifest path in state directory `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(MANIFEST_FILE)
}

/// The generation the manifest records; `None` when there is none.
///
/// # Errors
/// [`StoreError::Io`] when it cannot be read, [`StoreError::Corrupt`] when it is not a manifest.
pub fn read(dir: &Path) -> Result<Option<u64>, StoreError> {
    let file = path(dir);
    let bytes = match fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(file, e)),
    };
    let corrupt = |reason: String| StoreError::Corrupt {
        path: file.clone(),
        reason,
    };
    if bytes.len() > MAX_MANIFEST {
        return Err(corrupt(format!(
            "{} bytes, a manifest has at most {MAX_MANIFEST}",
            bytes.len()
        )));
    }
    let manifest: ManifestFile = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(format!("not a store manifest: {e}")))?;
    if manifest.version != MANIFEST_VERSION {
        return Err(corrupt(format!(
            "manifest version {}, this hub reads version {MANIFEST_VERSION}",
            manifest.version
        )));
    }
    Ok(Some(manifest.generation))
}

/// Records `generation` atomically and durably (0600).
///
/// # Errors
/// [`StoreError::Io`]; the previous manifest is then unchanged.
pub fn write(dir: &Path, generation: u64) -> Result<(), StoreError> {
    let file = path(dir);
    let bytes = serde_json::to_vec(&ManifestFile {
        version: MANIFEST_VERSION,
        generation,
    })
    .map_err(|e| StoreError::Encode {
        reason: e.to_string(),
    })?;
    write_atomic(&file, &bytes, 0o600).map_err(|e| StoreError::io(file, e))
}

/// What the slots found on open mean, given what the manifest records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing was ever written: a new store.
    New,
    /// The slots hold the latest recorded generation or newer (a torn last write included).
    Current,
    /// Slots exist but no manifest: a store from an earlier build, or the manifest was removed.
    Unrecorded,
    /// The newest slot is older than a generation the hub committed.
    RolledBack {
        /// The generation the slots hold.
        found: u64,
        /// The generation the manifest records.
        recorded: u64,
    },
    /// No slot exists, but the manifest records a committed generation.
    Lost {
        /// The generation the manifest records.
        recorded: u64,
    },
}

/// Judges `found`, the generation of the newest record that authenticates (`None` when no store
/// file exists), against `recorded`, the manifest's generation (`None` without a manifest).
pub fn judge(recorded: Option<u64>, found: Option<u64>) -> Verdict {
    match (recorded, found) {
        (None | Some(0), None) => Verdict::New,
        (Some(recorded), None) => Verdict::Lost { recorded },
        (None, Some(_)) => Verdict::Unrecorded,
        (Some(recorded), Some(found)) if found < recorded => {
            Verdict::RolledBack { found, recorded }
        }
        (Some(_), Some(_)) => Verdict::Current,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_new_store_is_quiet() {
        assert_eq!(judge(None, None), Verdict::New);
        assert_eq!(judge(Some(0), None), Verdict::New);
    }

    #[test]
    fn a_torn_last_write_is_current() {
        // The manifest never runs ahead of the durable slot: a crash tearing generation 8 leaves
        // generation 7 readable and a manifest at 7 or lower.
        assert_eq!(judge(Some(7), Some(7)), Verdict::Current);
        assert_eq!(judge(Some(5), Some(7)), Verdict::Current);
        assert_eq!(judge(Some(1), Some(1)), Verdict::Current);
    }

    #[test]
    fn a_committed_generation_missing_is_a_rollback() {
        assert_eq!(
            judge(Some(2), Some(1)),
            Verdict::RolledBack {
                found: 1,
                recorded: 2
            }
        );
        assert_eq!(
            judge(Some(900), Some(0)),
            Verdict::RolledBack {
                found: 0,
                recorded: 900
            }
        );
    }

    #[test]
    fn no_slot_after_a_commit_is_loss() {
        assert_eq!(judge(Some(1), None), Verdict::Lost { recorded: 1 });
        assert_eq!(judge(Some(42), None), Verdict::Lost { recorded: 42 });
    }

    #[test]
    fn slots_without_a_manifest_are_recorded() {
        assert_eq!(judge(None, Some(3)), Verdict::Unrecorded);
    }

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        write(dir.path(), 17).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(17));
        let mode = fs::metadata(path(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::write(path(dir.path()), b"{\"version\":9,\"generation\":1}").unwrap();
        assert!(matches!(
            read(dir.path()),
            Err(StoreError::Corrupt { reason, .. }) if reason.contains("version 9")
        ));
        fs::write(path(dir.path()), b"garbage").unwrap();
        assert!(matches!(read(dir.path()), Err(StoreError::Corrupt { .. })));
    }
}
