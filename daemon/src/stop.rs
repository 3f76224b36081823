//! `auth-hub stop`: stops the hub that owns this state directory, whatever socket it listens on.
//!
//! The hub is found through its state directory (`--home` / `AUTH_HUB_HOME`, else the XDG state
//! directory): the lock it holds there says whether one runs, and its record (`hub.json`) names
//! the process. That process gets SIGTERM (after checking, where `/proc` tells, that it is an
//! `auth-hub`), and `stop` waits until the lock is released, so the next `auth-hub serve` can
//! start at once.
//!
//! Exit codes: 0 when the hub stopped, and 0 too when none was running (stop is idempotent, as
//! `systemctl stop` is; the message says "not running"); 1 when it did not stop in time, the
//! lock's holder cannot be identified, or a service manager owns the hub (it would start it again
//! on the next connection: the message gives the service manager's command instead).

use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use auth_hub_protocol::local::running::{self, HubRecord};

use crate::cli::StopArgs;
use crate::install::LAUNCHD_LABEL;
use crate::paths::HubPaths;
use crate::state_lock;

/// Exit code when the hub stopped or none was running.
pub const EXIT_STOPPED: u8 = 0;
/// Exit code when the hub could not be stopped.
pub const EXIT_FAILURE: u8 = 1;

/// What `stop` found and did.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// No hub holds the state directory's lock.
    NotRunning,
    /// The hub exited and released the lock.
    Stopped(HubRecord),
}

/// Why the hub was not stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopError {
    /// The state directory could not be determined.
    #[error("{0}")]
    Paths(String),
    /// The lock could not be probed.
    #[error("cannot check the lock in {}: {source}", state_dir.display())]
    Probe {
        /// The state directory.
        state_dir: std::path::PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The lock is held but no live record names its holder.
    #[error("a process holds the lock of {} but left no record of itself; find it with `fuser {}`", state_dir.display(), state_dir.join(running::LOCK_FILE).display())]
    Unknown {
        /// The state directory.
        state_dir: std::path::PathBuf,
    },
    /// The recorded process is not an auth-hub.
    #[error("process {pid} named in {} is {name:?}, not auth-hub; not signalling it", state_dir.join(running::RECORD_FILE).display())]
    NotAHub {
        /// The state directory.
        state_dir: std::path::PathBuf,
        /// The recorded pid.
        pid: u32,
        /// What the process is.
        name: String,
    },
    /// A service manager passed the socket: it owns the hub and would restart it.
    #[error("auth-hub (pid {pid}) on {} was started by a service manager, which would start it again on the next connection; {command}", socket.display())]
    Managed {
        /// The hub's pid.
        pid: u32,
        /// Its socket.
        socket: std::path::PathBuf,
        /// The service manager's stop command.
        command: String,
    },
    /// The signal could not be sent.
    #[error("cannot signal auth-hub (pid {pid}): {source}")]
    Signal {
        /// The hub's pid.
        pid: u32,
        /// The error.
        source: io::Error,
    },
    /// The hub did not release its lock in time.
    #[error("auth-hub (pid {pid}) did not stop within {}s; it still holds {}", timeout.as_secs(), state_dir.display())]
    Timeout {
        /// The hub's pid.
        pid: u32,
        /// The state directory.
        state_dir: std::path::PathBuf,
        /// How long `stop` waited.
        timeout: Duration,
    },
}

/// Runs `auth-hub stop`: prints what happened to `out`, errors to stderr; returns the exit code.
pub fn run(args: &StopArgs, out: &mut impl Write) -> u8 {
    let result = HubPaths::resolve(args.home.clone(), None)
        .map_err(|error| StopError::Paths(error.to_string()))
        .and_then(|paths| stop(&paths.state_dir, Duration::from_secs(args.timeout)));
    let shown = match result {
        Ok(Stopped::NotRunning) => writeln!(out, "auth-hub is not running"),
        Ok(Stopped::Stopped(hub)) => writeln!(
            out,
            "stopped auth-hub (pid {}, socket {})",
            hub.pid,
            hub.socket.display()
        ),
        Err(error) => {
            eprintln!("auth-hub: {error}");
            return EXIT_FAILURE;
        }
    };
    match shown {
        Ok(()) => EXIT_STOPPED,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => EXIT_STOPPED,
        Err(error) => {
            eprintln!("auth-hub: cannot write: {error}");
            EXIT_FAILURE
        }
    }
}

/// Stops the hub that holds `state_dir`'s lock and waits up to `timeout` for it to release it.
///
/// # Errors
/// Every [`StopError`] but `Paths`.
pub fn stop(state_dir: &Path, timeout: Duration) -> Result<Stopped, StopError> {
    let held = |state_dir: &Path| {
        state_lock::is_held(state_dir).map_err(|source| StopError::Probe {
            state_dir: state_dir.to_path_buf(),
            source,
        })
    };
    if !held(state_dir)? {
        // A crashed hub's record would send clients to a dead socket; nobody stands behind it.
        if let Ok(true) = state_lock::remove_stale_record(state_dir) {
            tracing::debug!(state = %state_dir.display(), "removed a stale hub record");
        }
        return Ok(Stopped::NotRunning);
    }
    let Some(hub) = running::running(state_dir) else {
        return Err(StopError::Unknown {
            state_dir: state_dir.to_path_buf(),
        });
    };
    if hub.inherited {
        return Err(StopError::Managed {
            pid: hub.pid,
            socket: hub.socket.clone(),
            command: manager_stop_command(),
        });
    }
    // `auth-hub`, or an installed variant such as `auth-hub-0.2` (comm is cut at 15 bytes).
    if let Some(name) = process_name(hub.pid).filter(|name| !name.starts_with("auth-hub")) {
        return Err(StopError::NotAHub {
            state_dir: state_dir.to_path_buf(),
            pid: hub.pid,
            name,
        });
    }
    let pid = libc::pid_t::try_from(hub.pid).map_err(|_| StopError::Unknown {
        state_dir: state_dir.to_path_buf(),
    })?;
    // SAFETY: kill(2) on the pid the lock holder recorded, checked above to be an auth-hub.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(StopError::Signal {
            pid: hub.pid,
            source: io::Error::last_os_error(),
        });
    }
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    while held(state_dir)? {
        if start.elapsed() >= timeout {
            return Err(StopError::Timeout {
                pid: hub.pid,
                state_dir: state_dir.to_path_buf(),
                timeout,
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    Ok(Stopped::Stopped(hub))
}

/// The process's command name where `/proc` tells it (Linux); `None` elsewhere.
fn process_name(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|name| name.trim_end().to_owned())
}

/// How this platform's service manager stops the hub for good.
fn manager_stop_command() -> String {
    if cfg!(target_os = "macos") {
        format!("stop it with `launchctl bootout gui/$(id -u)/{LAUNCHD_LABEL}`")
    } else {
        "stop it with `systemctl --user stop auth-hub.socket auth-hub.service`".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_lock::StateLock;

    #[test]
    fn nothing_to_stop_is_not_running() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            stop(dir.path(), Duration::from_secs(1)).expect("stop"),
            Stopped::NotRunning
        );
    }

    #[test]
    fn a_managed_hub_is_left_to_its_manager() {
        let dir = tempfile::tempdir().expect("temp dir");
        let _lock = StateLock::acquire(dir.path(), &dir.path().join("s.sock"), true).expect("lock");
        // The record names this very test process, which must not be signalled: the inherited
        // flag stops `stop` before any signal.
        let error = stop(dir.path(), Duration::from_secs(1)).expect_err("refused");
        assert!(matches!(error, StopError::Managed { .. }), "{error}");
        assert!(error.to_string().contains("auth-hub.socket"), "{error}");
    }

    #[test]
    fn a_recorded_process_that_is_not_a_hub_is_not_signalled() {
        let dir = tempfile::tempdir().expect("temp dir");
        let _lock =
            StateLock::acquire(dir.path(), &dir.path().join("s.sock"), false).expect("lock");
        if process_name(std::process::id()).is_none() {
            return; // no /proc here: the check cannot be made
        }
        let error = stop(dir.path(), Duration::from_secs(1)).expect_err("refused");
        assert!(matches!(error, StopError::NotAHub { .. }), "{error}");
    }
}
