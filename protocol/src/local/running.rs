//! The running hub's record: which process owns a state directory and the socket it really
//! listens on.
//!
//! A hub takes an exclusive lock on `<state>/hub.lock` before it opens its store and holds it for
//! its whole life, so one state directory has at most one hub. Right after taking the lock it
//! writes `<state>/hub.json` (atomically, 0600):
//!
//! ```json
//! {"version": 1, "pid": 4242, "socket": "/run/user/1000/auth-hub/auth-hub.sock", "inherited": false}
//! ```
//!
//! `socket` is the socket the hub serves: the one it bound, or the one a service manager passed
//! (`inherited: true`). A client whose own derived socket differs (a cron job or ssh session
//! without `XDG_RUNTIME_DIR`) reads the record and connects there instead of starting a second
//! hub. A record is trusted only while its process is alive; a stale one (a crashed hub) is
//! ignored, and the next hub replaces it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::location::{LocationVars, PlatformDirs};

/// The lock file in the state directory.
pub const LOCK_FILE: &str = "hub.lock";
/// The record file in the state directory.
pub const RECORD_FILE: &str = "hub.json";
/// The record's `version`.
pub const RECORD_VERSION: u32 = 1;
/// The largest record read; anything longer is not a record.
const MAX_RECORD: u64 = 16 * 1024;

/// What a running hub says about itself in its state directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubRecord {
    /// Always [`RECORD_VERSION`].
    pub version: u32,
    /// The hub's process id.
    pub pid: u32,
    /// The socket it listens on.
    pub socket: PathBuf,
    /// True when a service manager (systemd, launchd) passed the socket and so owns the hub.
    #[serde(default)]
    pub inherited: bool,
}

impl HubRecord {
    /// The record of this process serving `socket`.
    pub fn new(socket: &Path, inherited: bool) -> Self {
        Self {
            version: RECORD_VERSION,
            pid: std::process::id(),
            socket: socket.to_path_buf(),
            inherited,
        }
    }

    /// The record's text.
    pub fn to_json(&self) -> String {
        // Only a socket path that is not UTF-8 fails: the record is then empty, which readers
        // ignore (they fall back to the derived socket); the lock itself still holds.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The record in `state_dir`, whatever its process's state; `None` when there is none or it is
/// not a record of this version.
pub fn read(state_dir: &Path) -> Option<HubRecord> {
    read_file(&state_dir.join(RECORD_FILE)).ok().flatten()
}

fn read_file(path: &Path) -> io::Result<Option<HubRecord>> {
    use std::io::Read;
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut text = Vec::new();
    file.take(MAX_RECORD).read_to_end(&mut text)?;
    Ok(serde_json::from_slice::<HubRecord>(&text)
        .ok()
        .filter(|record| record.version == RECORD_VERSION && record.pid != 0))
}

/// The record in `state_dir` when its process is alive: the hub that owns that state.
pub fn running(state_dir: &Path) -> Option<HubRecord> {
    read(state_dir).filter(|record| process_alive(record.pid))
}

/// The socket to connect to: the explicit one (`AUTH_HUB_SOCKET`, `--socket`), else the socket
/// of the live hub that owns the state directory (its record), else the derived one
/// ([`LocationVars::socket`]).
///
/// The record matters when the derived socket differs from the one the running hub listens on
/// (a cron job or ssh session without `XDG_RUNTIME_DIR`, a hub under socket activation): the
/// client finds that hub instead of missing it and starting a second one.
pub fn hub_socket(vars: &LocationVars, platform: Option<&PlatformDirs>) -> Option<PathBuf> {
    if let Some(socket) = &vars.socket {
        return Some(socket.clone());
    }
    match vars.state_dir(platform).and_then(|dir| running(&dir)) {
        Some(hub) => Some(hub.socket),
        None => vars.socket(platform),
    }
}

/// True when some process holds the lock of `state_dir` (a hub owns it), which is the truth a
/// record's pid only suggests (a pid can be reused). Probes with a shared lock, released at once.
///
/// # Errors
/// The lock file exists but cannot be opened or probed.
pub fn is_locked(state_dir: &Path) -> io::Result<bool> {
    let file = match fs::File::open(state_dir.join(LOCK_FILE)) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    Ok(!try_lock(&file, false)?)
}

/// `flock(file, LOCK_EX or LOCK_SH | LOCK_NB)`: `Ok(true)` when taken (it lasts as long as this
/// open file), `Ok(false)` when another open file holds a conflicting lock.
///
/// # Errors
/// Any other `flock` failure (a file system without locks, for one).
pub fn try_lock(file: &fs::File, exclusive: bool) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let operation = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    loop {
        // SAFETY: flock on a descriptor `file` owns for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), operation | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(code) if code == libc::EWOULDBLOCK => return Ok(false),
            _ => return Err(error),
        }
    }
}

/// True when a process with this id exists (signal 0 checks without sending anything).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks whether the process exists and may be signalled.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    // EPERM: it exists but belongs to someone else (not our hub, but alive).
    io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Above Linux's largest `pid_max` (2^22) and macOS's: never a live process.
    const DEAD_PID: u32 = 0x7fff_fff0;

    #[test]
    fn a_live_record_is_read_and_a_stale_one_ignored() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(running(dir.path()), None, "no record");
        let record = HubRecord::new(Path::new("/run/x.sock"), false);
        fs::write(dir.path().join(RECORD_FILE), record.to_json()).unwrap();
        assert_eq!(running(dir.path()), Some(record.clone()));

        let stale = HubRecord {
            pid: DEAD_PID,
            ..record
        };
        fs::write(dir.path().join(RECORD_FILE), stale.to_json()).unwrap();
        assert_eq!(read(dir.path()), Some(stale));
        assert_eq!(running(dir.path()), None, "its process is gone");
    }

    #[test]
    fn garbage_and_other_versions_are_not_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RECORD_FILE);
        for text in [
            "",
            "{",
            "[1, 2]",
            r#"{"version": 2, "pid": 1, "socket": "/s"}"#,
            r#"{"version": 1, "pid": 0, "socket": "/s"}"#,
        ] {
            fs::write(&path, text).unwrap();
            assert_eq!(read(dir.path()), None, "{text:?}");
        }
        fs::write(&path, r#"{"version": 1, "pid": 1, "socket": "/s"}"#).unwrap();
        assert_eq!(read(dir.path()).map(|r| r.inherited), Some(false));
    }

    #[test]
    fn the_lock_probe_sees_a_holder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_locked(dir.path()).unwrap(), "no lock file");
        let file = fs::File::create(dir.path().join(LOCK_FILE)).unwrap();
        assert!(!is_locked(dir.path()).unwrap(), "nobody holds it");
        assert!(try_lock(&file, true).unwrap());
        assert!(is_locked(dir.path()).unwrap());
        drop(file);
        assert!(!is_locked(dir.path()).unwrap(), "released with its file");
    }

    #[test]
    fn liveness() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(0));
        assert!(!process_alive(DEAD_PID));
    }
}
