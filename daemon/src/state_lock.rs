//! One hub per state directory, whatever its socket: an exclusive `flock` on `<state>/hub.lock`,
//! taken before the store is opened and held for the hub's whole life, and the record
//! (`<state>/hub.json`, see [`auth_hub_protocol::local::running`]) that tells clients and a second hub which
//! process holds it and which socket it really listens on.
//!
//! Two hubs on one state would both acknowledge writes and each overwrite the other's store and
//! audit chain; the lock makes the second refuse at start, naming the first's pid and socket. The
//! lock file is opened close-on-exec (the standard library's default), so no child inherits it,
//! and the kernel releases it when the hub exits however it exits: a crashed hub never leaves a
//! lock behind, only a stale record, which readers recognise by its dead pid.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use auth_hub_protocol::local::running::{self, HubRecord, LOCK_FILE, RECORD_FILE};

use crate::store::atomic::replace_atomic;

/// How long a refused hub waits for the holder's record to appear (the holder writes it right
/// after taking the lock), so the refusal can name its pid and socket.
const RECORD_WAIT: Duration = Duration::from_millis(500);

/// Why the state directory could not be locked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateLockError {
    /// Another process holds the lock: another hub owns this state.
    #[error("{}", held_message(state_dir, holder.as_ref()))]
    Held {
        /// The state directory.
        state_dir: PathBuf,
        /// The holder's record, when it could be read.
        holder: Option<HubRecord>,
    },
    /// The lock or record file could not be opened, locked or written.
    #[error("cannot lock the state directory ({}): {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

fn held_message(state_dir: &Path, holder: Option<&HubRecord>) -> String {
    match holder {
        Some(holder) => format!(
            "another auth-hub (pid {}) already owns the state directory {} and listens on {}; \
             use that hub (clients find it through {}), or stop it first with `auth-hub stop`",
            holder.pid,
            state_dir.display(),
            holder.socket.display(),
            state_dir.join(RECORD_FILE).display()
        ),
        None => format!(
            "another auth-hub already owns the state directory {}; stop it first with `auth-hub stop`",
            state_dir.display()
        ),
    }
}

/// The held lock of one state directory; dropping it removes the record and releases the lock.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    record: PathBuf,
}

impl StateLock {
    /// Takes the exclusive lock on `state_dir` (which must exist) without waiting, then records
    /// this process and `socket` in `hub.json`.
    ///
    /// # Errors
    /// [`StateLockError::Held`] when another process holds it (with that hub's record when it can
    /// be read); [`StateLockError::Io`] when the files cannot be opened, locked or written.
    pub fn acquire(
        state_dir: &Path,
        socket: &Path,
        inherited: bool,
    ) -> Result<Self, StateLockError> {
        let path = state_dir.join(LOCK_FILE);
        let io_error = |source| StateLockError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_error)?;
        if !running::try_lock(&file, true).map_err(io_error)? {
            return Err(StateLockError::Held {
                state_dir: state_dir.to_path_buf(),
                holder: wait_for_record(state_dir),
            });
        }
        let lock = Self {
            file,
            record: state_dir.join(RECORD_FILE),
        };
        lock.publish(socket, inherited)?;
        Ok(lock)
    }

    /// Replaces the record with this process serving `socket`.
    ///
    /// # Errors
    /// [`StateLockError::Io`] when the record cannot be written.
    pub fn publish(&self, socket: &Path, inherited: bool) -> Result<(), StateLockError> {
        let record = HubRecord::new(socket, inherited);
        // Atomic but not durable: the record describes a running process and is stale after a
        // crash whatever it holds (the lock, not the record, proves a live hub), and two fsyncs
        // cost a start from milliseconds to a hundred on a busy disk, on the first `get`'s path.
        replace_atomic(&self.record, record.to_json().as_bytes(), 0o600).map_err(|source| {
            StateLockError::Io {
                path: self.record.clone(),
                source,
            }
        })
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Remove the record while the lock is still held (the file closes after this), and only
        // if it is still ours.
        if running::read(self.record.parent().unwrap_or(Path::new(".")))
            .is_some_and(|record| record.pid == std::process::id())
        {
            let _ = fs::remove_file(&self.record);
        }
        let _ = &self.file;
    }
}

/// True when some process holds the lock of `state_dir` (a hub owns it). Probes with a shared
/// lock, released at once.
///
/// # Errors
/// The lock file exists but cannot be opened or probed.
pub fn is_held(state_dir: &Path) -> io::Result<bool> {
    running::is_locked(state_dir)
}

/// Removes a record no hub stands behind (its hub crashed), holding the lock meanwhile so no hub
/// starting at the same moment loses its fresh record. Returns whether one was removed.
///
/// # Errors
/// The lock file cannot be opened or locked.
pub fn remove_stale_record(state_dir: &Path) -> io::Result<bool> {
    let file = match File::open(state_dir.join(LOCK_FILE)) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    if !running::try_lock(&file, true)? {
        return Ok(false);
    }
    match fs::remove_file(state_dir.join(RECORD_FILE)) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// The live holder's record, waiting briefly for a holder that has just taken the lock.
fn wait_for_record(state_dir: &Path) -> Option<HubRecord> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(record) = running::running(state_dir) {
            if record.pid != std::process::id() {
                return Some(record);
            }
        }
        if start.elapsed() >= RECORD_WAIT {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(mut check: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        while start.elapsed() < Duration::from_secs(10) {
            if check() {
                return true;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        false
    }

    #[test]
    fn the_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("a.sock");
        assert!(!is_held(dir.path()).expect("probe"));
        let lock = StateLock::acquire(dir.path(), &socket, false).expect("first lock");
        assert!(is_held(dir.path()).expect("probe"));
        let record = running::running(dir.path()).expect("record written");
        assert_eq!(record.pid, std::process::id());
        assert_eq!(record.socket, socket);

        // A second open file description conflicts even within one process.
        let error = StateLock::acquire(dir.path(), &dir.path().join("b.sock"), false)
            .expect_err("second lock");
        assert!(matches!(error, StateLockError::Held { .. }), "{error}");

        drop(lock);
        assert!(!is_held(dir.path()).expect("probe"));
        assert!(running::read(dir.path()).is_none(), "record removed");
        StateLock::acquire(dir.path(), &socket, false).expect("free again");
    }

    #[test]
    fn a_stale_record_is_removed_only_without_a_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let lock = StateLock::acquire(dir.path(), &dir.path().join("s.sock"), false).expect("lock");
        assert!(!remove_stale_record(dir.path()).expect("probe"), "held");
        assert!(running::read(dir.path()).is_some());
        // A crashed hub: the lock is gone, the record stays.
        let record = fs::read(dir.path().join(RECORD_FILE)).expect("record");
        drop(lock);
        fs::write(dir.path().join(RECORD_FILE), record).expect("stale record");
        assert!(remove_stale_record(dir.path()).expect("removed"));
        assert!(running::read(dir.path()).is_none());
    }

    #[test]
    fn a_refusal_names_the_holder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let lock = StateLock::acquire(dir.path(), &dir.path().join("live.sock"), false)
            .expect("first lock");
        // Pretend the holder is another live process (pid 1 always exists).
        let holder = HubRecord {
            pid: 1,
            ..HubRecord::new(&dir.path().join("live.sock"), false)
        };
        fs::write(dir.path().join(RECORD_FILE), holder.to_json()).expect("record");
        let error =
            StateLock::acquire(dir.path(), &dir.path().join("mine.sock"), false).expect_err("held");
        let text = error.to_string();
        assert!(text.contains("pid 1)"), "{text}");
        assert!(text.contains("live.sock"), "{text}");
        assert!(text.contains("auth-hub stop"), "{text}");
        // The record is not ours: dropping the lock leaves it, and the lock is released.
        drop(lock);
        assert!(!is_held(dir.path()).expect("probe"));
        assert!(wait(|| running::read(dir.path()).is_some()));
    }
}
