//! Group commit: how a change to the file store's map becomes durable, one writer persisting
//! a snapshot for every change it covers, and the rollback when persisting fails.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::record::{remove_legacy, seal, unseal};
use super::FileStore;
use crate::audit::AuditAnchor;
use crate::store::manifest;
use crate::store::memory::SecretMap;
use crate::store::slots::SlotPair;
use crate::store::StoreError;

/// The map and the generation of its latest change, guarded together so a snapshot's generation
/// says exactly which changes it holds.
pub(super) struct State {
    pub(super) map: SecretMap,
    pub(super) generation: u64,
}

/// Group-commit bookkeeping.
pub(super) struct Commit {
    /// Every change up to this generation is in the file on disk.
    pub(super) durable: u64,
    /// A writer is sealing and writing a snapshot now.
    pub(super) persisting: bool,
    /// The bytes of the last durable file (ciphertext), to roll back to; `None` before the first.
    pub(super) sealed: Option<Vec<u8>>,
    /// Rolled-back ranges whose writers have not yet collected their error.
    pub(super) failures: Vec<Failure>,
}

/// Changes `after + 1 ..= through` were rolled back because persisting failed.
pub(super) struct Failure {
    after: u64,
    through: u64,
    /// Writers in the range that have not yet taken their error.
    remaining: u64,
    error: StoreError,
}

impl Commit {
    fn take_failure(&mut self, generation: u64) -> Option<StoreError> {
        let index = self
            .failures
            .iter()
            .position(|f| f.after < generation && generation <= f.through)?;
        let failure = &mut self.failures[index];
        let error = replicate(&failure.error);
        failure.remaining = failure.remaining.saturating_sub(1);
        if failure.remaining == 0 {
            self.failures.swap_remove(index);
        }
        Some(error)
    }
}

/// The slot files and the generation of the newest durable record, held by the one writer that
/// is persisting.
pub(super) struct Slots {
    pub(super) pair: SlotPair,
    pub(super) generation: u64,
    /// A version 1 file to remove once a slot is durable.
    pub(super) legacy: Option<PathBuf>,
    /// The audit anchor sealed in the newest durable record.
    pub(super) anchor: Option<AuditAnchor>,
    /// When the newest durable record was written (or the store opened).
    pub(super) sealed_at: Instant,
}

impl FileStore {
    pub(super) fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_commit(&self) -> MutexGuard<'_, Commit> {
        self.commit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn lock_slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns once the change with `generation` is durable, persisting a snapshot itself when no
    /// other writer is; or the error if the change was rolled back.
    pub(super) fn commit(&self, generation: u64) -> Result<(), StoreError> {
        let mut commit = self.lock_commit();
        loop {
            if let Some(error) = commit.take_failure(generation) {
                return Err(error);
            }
            if commit.durable >= generation {
                return Ok(());
            }
            if commit.persisting {
                commit = self
                    .committed
                    .wait(commit)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            commit.persisting = true;
            drop(commit);
            // A panic must not leave `persisting` set, or every later writer would wait forever.
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| self.persist_snapshot()))
                .unwrap_or_else(|_| {
                    Err(StoreError::Encode {
                        reason: "persisting the store panicked".to_owned(),
                    })
                });
            commit = self.lock_commit();
            commit.persisting = false;
            match outcome {
                Ok((snapshot, sealed)) => {
                    commit.durable = snapshot;
                    commit.sealed = Some(sealed);
                }
                Err(error) => {
                    tracing::error!(store = %self.dir.display(), %error, "persisting the store failed; rolling back to the last durable state");
                    let after = commit.durable;
                    let through = self.roll_back(commit.sealed.as_deref());
                    if through > after {
                        commit.failures.push(Failure {
                            after,
                            through,
                            remaining: through - after,
                            error,
                        });
                    }
                }
            }
            self.committed.notify_all();
        }
    }

    /// Seals the current map with the latest audit anchor and writes it durably into the older
    /// slot. Returns the generation of the last change it covers and the record written. The
    /// store's first write also records its generation in the manifest before returning, so a
    /// store that was ever written is never mistaken for a new one.
    fn persist_snapshot(&self) -> Result<(u64, Vec<u8>), StoreError> {
        let mut slots = self.lock_slots();
        let record_generation = slots.generation + 1;
        let anchor = lock(&self.audit_head)
            .clone()
            .or_else(|| slots.anchor.clone());
        let (generation, sealed) = {
            let state = self.read_state();
            (
                state.generation,
                seal(
                    &self.key,
                    self.origin.tag(),
                    record_generation,
                    &state.map,
                    anchor.as_ref(),
                )?,
            )
        };
        let target = slots.pair.next_path().to_owned();
        slots
            .pair
            .write(&sealed)
            .map_err(|e| StoreError::io(&target, e))?;
        slots.generation = record_generation;
        slots.anchor = anchor;
        slots.sealed_at = Instant::now();
        self.durable_generation
            .store(record_generation, Ordering::Release);
        if let Some(legacy) = slots.legacy.take() {
            remove_legacy(&legacy);
        }
        drop(slots);
        // The slot is durable and holds the write; a manifest that cannot be written only
        // weakens loss detection until the next checkpoint, so the write still succeeds.
        if let Err(error) = self.record_generation(true) {
            tracing::error!(%error, "cannot record the store's first generation in its manifest");
        }
        Ok((generation, sealed))
    }

    /// Records the durable generation in the manifest when it differs from what is recorded;
    /// with `first_only`, only when nothing is recorded yet.
    pub(super) fn record_generation(&self, first_only: bool) -> Result<(), StoreError> {
        let mut recorded = lock(&self.manifest);
        let durable = self.durable_generation.load(Ordering::Acquire);
        if durable == *recorded || (first_only && *recorded != 0) {
            return Ok(());
        }
        manifest::write(&self.dir, durable)?;
        *recorded = durable;
        Ok(())
    }

    /// Replaces the map with the last durable file's contents; returns the generation of the
    /// last change discarded.
    fn roll_back(&self, sealed: Option<&[u8]>) -> u64 {
        let durable = match sealed {
            None => Ok(SecretMap::default()),
            Some(bytes) => unseal(&self.dir, &self.key, bytes).map(|(map, _)| map),
        };
        let mut state = self.write_state();
        match durable {
            Ok(map) => state.map = map,
            // The bytes were sealed by this process with this key; keep serving what we have.
            Err(error) => {
                tracing::error!(%error, "cannot decrypt the last durable state to roll back to");
            }
        }
        state.generation
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A copy of a persist error for each writer it concerns.
fn replicate(error: &StoreError) -> StoreError {
    match error {
        StoreError::Io { path, source } => StoreError::Io {
            path: path.clone(),
            source: io::Error::new(source.kind(), source.to_string()),
        },
        other => StoreError::Encode {
            reason: other.to_string(),
        },
    }
}
