//! Find or start the hub: when no hub answers, the CLI starts `auth-hub serve` in the background
//! with the same home (as gpg starts its agent), waits until it listens, and lets the command try
//! once more — unless a service manager owns the hub or the user said not to.
//!
//! Autostart is skipped when `AUTH_HUB_NO_AUTOSTART=1`, when `AUTH_HUB_SOCKET` points at a hub
//! this process cannot describe (set without `AUTH_HUB_HOME`), and when [`managed_by_service`]
//! says a service manager starts the hub on demand.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_hub_client::discover;

use crate::error::{CliError, ErrorKind};

/// Longest wait for a started hub to listen.
const START_LIMIT: Duration = Duration::from_secs(5);
/// First pause between connection attempts; doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause between connection attempts.
const MAX_PAUSE: Duration = Duration::from_millis(100);
/// The hub's log file in its home, appended to by a started hub.
const LOG_FILE: &str = "auth-hub.log";

/// The systemd user units that, when loaded, own the hub.
const SYSTEMD_UNITS: [&str; 2] = ["auth-hub.socket", "auth-hub.service"];

/// True when a service manager (a systemd user `auth-hub.socket` or `auth-hub.service`) owns
/// the hub, so the CLI must not start one of its own: the manager starts it on the first
/// connection, or restarts it.
///
/// systemd keeps `$XDG_RUNTIME_DIR/systemd/units/invocation:<unit>` for every unit it has
/// started in the user's session; its presence is the cheap test, no D-Bus needed. A home set
/// with `AUTH_HUB_HOME` is a private hub of its own and never counts as managed.
pub fn managed_by_service() -> bool {
    if std::env::var_os("AUTH_HUB_HOME").is_some_and(|home| !home.is_empty()) {
        return false;
    }
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|dir| !dir.is_empty())
        .is_some_and(|dir| systemd_owns(Path::new(&dir)))
}

/// True when `runtime_dir` shows a started `auth-hub` systemd user unit.
fn systemd_owns(runtime_dir: &Path) -> bool {
    let units = runtime_dir.join("systemd").join("units");
    SYSTEMD_UNITS.iter().any(|unit| {
        // A symlink whose target is the invocation id: symlink_metadata, not metadata.
        std::fs::symlink_metadata(units.join(format!("invocation:{unit}"))).is_ok()
    })
}

/// The hint for "no hub answers": how to start it, depending on who owns it.
pub fn start_hint() -> &'static str {
    if managed_by_service() {
        "systemd manages auth-hub here: start it with `systemctl --user start auth-hub.socket` \
         (see `systemctl --user status auth-hub.service`)"
    } else {
        "start it with `auth-hub serve`, or check AUTH_HUB_SOCKET / AUTH_HUB_HOME"
    }
}

/// True when this process may start a hub after finding none.
pub fn may_autostart() -> bool {
    autostart_allowed(
        std::env::var_os("AUTH_HUB_NO_AUTOSTART").as_deref(),
        std::env::var_os("AUTH_HUB_SOCKET").is_some(),
        std::env::var_os("AUTH_HUB_HOME").is_some(),
    ) && !managed_by_service()
}

/// The decision behind [`may_autostart`], from the variables' values.
fn autostart_allowed(no_autostart: Option<&OsStr>, socket_set: bool, home_set: bool) -> bool {
    let disabled = no_autostart.is_some_and(|v| !v.is_empty() && v != "0");
    // A socket chosen without a home belongs to a hub started some other way: starting one here
    // would not be listening where that variable points for anyone else.
    !disabled && (!socket_set || home_set)
}

/// The `auth-hub` binary: `AUTH_HUB_BIN`, else beside this executable, else found on `PATH`.
fn hub_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("AUTH_HUB_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("auth-hub")))
        .filter(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("auth-hub"))
}

/// Where a started hub's standard error goes: `<home>/auth-hub.log`, else nowhere.
fn log_target(home: Option<&Path>) -> (Stdio, Option<PathBuf>) {
    if let Some(path) = home.map(|home| home.join(LOG_FILE)) {
        if let Ok(file) = OpenOptions::new().create(true).append(true).open(&path) {
            return (Stdio::from(file), Some(path));
        }
    }
    (Stdio::null(), None)
}

/// Starts `auth-hub serve` in the background and waits (doubling backoff, at most 5 s) until
/// `socket` accepts a connection.
///
/// `unreachable` is why the first connection failed, for the message if starting fails too.
///
/// # Errors
/// An [`ErrorKind::Unreachable`] error when the binary cannot be run, exits early, or does not
/// listen in time.
pub async fn start(socket: &Path, unreachable: &io::Error) -> Result<(), CliError> {
    let home = discover::hub_home();
    let binary = hub_binary();
    let (stderr, log) = log_target(home.as_deref());
    let mut command = Command::new(&binary);
    command.arg("serve");
    if let Some(home) = &home {
        command.arg("--home").arg(home);
    }
    command
        .env_remove("AUTH_HUB_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        // Its own process group: a Ctrl-C meant for this command does not reach the hub.
        .process_group(0);
    tracing::debug!(binary = %binary.display(), socket = %socket.display(), "starting auth-hub");
    let not_running = || {
        format!(
            "auth-hub is not running at {} ({unreachable})",
            socket.display()
        )
    };
    let child = command.spawn().map_err(|error| {
        CliError::new(
            ErrorKind::Unreachable,
            format!(
                "{} and {} could not be started: {error}",
                not_running(),
                binary.display()
            ),
        )
        .with_hint("install auth-hub beside hyperforge or on PATH, or set AUTH_HUB_BIN")
    })?;
    wait_until_listening(socket, child).await.map_err(|why| {
        let error = CliError::new(
            ErrorKind::Unreachable,
            format!("{}; started {} but {why}", not_running(), binary.display()),
        );
        match &log {
            Some(log) => error.with_hint(format!("see {}", log.display())),
            None => error.with_hint("run `auth-hub serve` in a terminal to see why"),
        }
    })
}

/// Polls `socket` until it accepts; gives up when the child exits or the limit passes.
async fn wait_until_listening(socket: &Path, mut child: Child) -> Result<(), String> {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "auth-hub is listening"
            );
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another hub may have won a race to the same socket; it counts if it listens.
            if tokio::net::UnixStream::connect(socket).await.is_ok() {
                return Ok(());
            }
            return Err(format!("it exited ({status})"));
        }
        let elapsed = started.elapsed();
        if elapsed >= START_LIMIT {
            return Err(format!(
                "it did not listen within {}s",
                START_LIMIT.as_secs()
            ));
        }
        tokio::time::sleep(pause.min(START_LIMIT - elapsed)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autostart_rules() {
        assert!(autostart_allowed(None, false, false));
        assert!(autostart_allowed(Some(OsStr::new("0")), false, true));
        assert!(!autostart_allowed(Some(OsStr::new("1")), false, false));
        // A socket elsewhere without a home: not ours to start.
        assert!(!autostart_allowed(None, true, false));
        assert!(autostart_allowed(None, true, true));
    }

    #[test]
    fn systemd_invocation_files_mark_the_hub_as_managed() {
        let dir = std::env::temp_dir().join(format!("hyperforge-units-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!systemd_owns(&dir));
        let units = dir.join("systemd").join("units");
        std::fs::create_dir_all(&units).expect("units dir");
        std::fs::write(units.join("invocation:other.service"), "").expect("write");
        assert!(!systemd_owns(&dir));
        std::os::unix::fs::symlink("0123abcd", units.join("invocation:auth-hub.socket"))
            .expect("symlink");
        assert!(systemd_owns(&dir));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
