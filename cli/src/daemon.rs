//! Find or start the hub: when no hub answers, the CLI starts `auth-hub serve` in the background
//! with the same home (as gpg starts its agent), waits until it listens, and lets the command try
//! once more — unless a service manager owns the hub or the user said not to.
//!
//! One hub owns a state directory (it holds a lock there and records its socket, see
//! [`auth_hub_client::running`]): when that hub is alive, the CLI waits for it instead of starting
//! another, and when two commands start hubs at once the loser exits and the command connects to
//! the winner.
//!
//! Autostart is skipped when `AUTH_HUB_NO_AUTOSTART=1`, when `AUTH_HUB_SOCKET` points at a hub
//! this process cannot describe (set without `AUTH_HUB_HOME`), and when [`managed_by_service`]
//! says a service manager starts the hub on demand. Read-only reports never start one.
//!
//! A started hub is told where to say it listens (`AUTH_HUB_READY_SOCKET`, a datagram socket
//! of this process that it sends `READY=1`, on Linux), so the command connects the moment the hub
//! is ready; polling with a doubling pause stays as the fallback (and the only way elsewhere).
//!
//! A started hub's standard error is appended to its log (`discover::hub_log_path`: the home,
//! else the state directory; 0600), kept whether or not the start works. When it does not, the
//! hub's own last error line is shown inline, with the log's path.

use std::ffi::OsStr;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_hub_client::discover;
use auth_hub_client::running::{self, HubRecord};
use auth_hub_protocol::local::location::LocationVars;

use crate::error::{CliError, ErrorKind};

/// Longest wait for a started hub to listen.
const START_LIMIT: Duration = Duration::from_secs(5);
/// First pause between connection attempts; doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// Longest pause between connection attempts.
const MAX_PAUSE: Duration = Duration::from_millis(100);
/// The most of a log's tail read to find a failed start's error line.
const LOG_TAIL: u64 = 64 * 1024;

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

/// `error` with [`start_hint`] when it says no hub answers (exit 5) and carries no hint of its
/// own: the hint for a failed connect, and for a hub that stopped during the command.
pub fn with_start_hint(error: CliError) -> CliError {
    if error.kind() == ErrorKind::Unreachable && error.hint().is_none() {
        error.with_hint(start_hint())
    } else {
        error
    }
}

/// The error for "no hub answers" from a command that does not start one: "not running" when
/// nothing listens there, else the connection error itself (a permission problem, say).
pub fn not_running(socket: &Path, source: &io::Error) -> CliError {
    let message = match source.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => format!(
            "auth-hub is not running (nothing listens at {})",
            socket.display()
        ),
        _ => format!(
            "auth-hub is not reachable at {}: {source}",
            socket.display()
        ),
    };
    CliError::new(ErrorKind::Unreachable, message).with_hint(start_hint())
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

/// A started hub's log, opened for appending.
struct Log {
    path: PathBuf,
    /// Its length before the hub was started: what the hub writes comes after.
    start: u64,
}

/// Where a started hub's standard error goes: its log file (created 0600, its directory 0700,
/// an existing file's mode tightened to 0600), else nowhere.
fn log_target(path: Option<PathBuf>) -> (Stdio, Option<Log>) {
    let Some(path) = path else {
        return (Stdio::null(), None);
    };
    let opened = (|| -> io::Result<File> {
        if let Some(dir) = path.parent() {
            DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)?;
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(file)
    })();
    match opened {
        Ok(file) => {
            let start = file.metadata().map(|meta| meta.len()).unwrap_or(0);
            (Stdio::from(file), Some(Log { path, start }))
        }
        Err(error) => {
            tracing::debug!(path = %path.display(), %error, "cannot open the hub's log");
            (Stdio::null(), None)
        }
    }
}

/// What the started hub wrote to its log, at most [`LOG_TAIL`] bytes from its end.
fn read_log_since(log: &Log) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(&log.path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(log.start.max(len.saturating_sub(LOG_TAIL))))?;
        let mut bytes = Vec::new();
        file.take(LOG_TAIL).read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_default()
}

/// The hub's own error in what it logged: from its last `auth-hub: …` line (what `auth-hub`
/// prints when it stops on an error, possibly continued on following lines) to the end, joined
/// on one line; else its last `ERROR` log line. Terminal colour codes are dropped.
fn hub_error(log: &str) -> Option<String> {
    let lines: Vec<String> = log.lines().map(strip_ansi).collect();
    if let Some(start) = lines
        .iter()
        .rposition(|line| line.starts_with("auth-hub: "))
    {
        let text = lines[start..]
            .iter()
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        return Some(text.trim_start_matches("auth-hub: ").to_owned());
    }
    lines
        .iter()
        .rev()
        .find(|line| line.contains(" ERROR "))
        .map(|line| line.trim().to_owned())
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The live hub that owns this state directory when it listens somewhere other than `socket`:
/// only possible when `AUTH_HUB_SOCKET` names another socket (otherwise discovery already uses
/// the hub's own record).
pub fn hub_elsewhere(socket: &Path) -> Option<HubRecord> {
    // Without the variable the socket came from the record: nothing to read again.
    LocationVars::from_env().socket.as_ref()?;
    discover::running_hub()
        .filter(|hub| hub.socket != socket)
        .filter(|_| state_locked())
}

/// True when a hub holds this state directory's lock: the record's pid only suggests a hub
/// (pids are reused), the held lock proves one.
fn state_locked() -> bool {
    discover::state_dir()
        .ok()
        .is_some_and(|dir| running::is_locked(&dir).unwrap_or(false))
}

/// The error for nothing answering at an explicit `socket` while `hub` owns this state
/// elsewhere: it says so instead of leaving the user with "not running".
pub fn elsewhere_error(socket: &Path, hub: &HubRecord) -> CliError {
    CliError::new(
        ErrorKind::Unreachable,
        format!(
            "nothing answers at {} (AUTH_HUB_SOCKET), but auth-hub (pid {}) owns this state \
             directory and listens on {}",
            socket.display(),
            hub.pid,
            hub.socket.display()
        ),
    )
    .with_hint(format!(
        "unset AUTH_HUB_SOCKET, or set it to {}",
        hub.socket.display()
    ))
}

/// Starts `auth-hub serve` in the background and waits (doubling backoff, at most 5 s) until
/// the hub accepts a connection; returns the socket it listens on.
///
/// When a hub already owns the state directory (its record names a live process), none is
/// started: this waits for that one. When the started hub loses a race to another (it exits with
/// the lock message), this waits for the winner.
///
/// `unreachable` is why the first connection failed, for the message if starting fails too.
///
/// # Errors
/// An [`ErrorKind::Unreachable`] error when the binary cannot be run, exits early, or does not
/// listen in time.
pub async fn start(socket: &Path, unreachable: &io::Error) -> Result<PathBuf, CliError> {
    let not_running = || {
        format!(
            "auth-hub is not running at {} ({unreachable})",
            socket.display()
        )
    };
    if let Some(hub) = discover::running_hub().filter(|_| state_locked()) {
        tracing::debug!(pid = hub.pid, socket = %hub.socket.display(), "a hub owns the state; waiting for it");
        return wait_until_listening(&hub.socket, None, None)
            .await
            .map_err(|why| {
                CliError::new(
                    ErrorKind::Unreachable,
                    format!(
                        "{}; auth-hub (pid {}) owns this state directory but {why}",
                        not_running(),
                        hub.pid
                    ),
                )
                .with_hint("stop it with `auth-hub stop`, then try again")
            });
    }
    let home = discover::hub_home();
    let binary = hub_binary();
    let (stderr, log) = log_target(discover::hub_log_path());
    let mut command = Command::new(&binary);
    command.arg("serve");
    if let Some(home) = &home {
        command.arg("--home").arg(home);
    }
    command
        .env_remove("AUTH_HUB_TOKEN")
        // Not a service of whatever manager started this command: its notifications are not ours
        // to send.
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        // Its own process group: a Ctrl-C meant for this command does not reach the hub.
        .process_group(0);
    let ready = ready_socket();
    if let Some((_, name)) = &ready {
        command.env("AUTH_HUB_READY_SOCKET", name);
    }
    tracing::debug!(binary = %binary.display(), socket = %socket.display(), "starting auth-hub");
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
    // The started hub listens where the environment says, not where a stale record pointed.
    let socket = &discover::derived_socket_path().unwrap_or_else(|_| socket.to_path_buf());
    let child = Some(child);
    let ready = ready.and_then(|(socket, _)| tokio::net::UnixDatagram::from_std(socket).ok());
    wait_until_listening(socket, child, ready)
        .await
        .map_err(|why| {
            let said = log
                .as_ref()
                .and_then(|log| hub_error(&read_log_since(log)))
                .map(|line| format!(": {line}"))
                .unwrap_or_default();
            let error = CliError::new(
                ErrorKind::Unreachable,
                format!(
                    "{}; started {} but {why}{said}",
                    not_running(),
                    binary.display()
                ),
            );
            match &log {
                Some(log) => error.with_hint(format!("its log is {}", log.path.display())),
                None => error.with_hint("run `auth-hub serve` in a terminal to see why"),
            }
        })
}

/// A datagram socket for a started hub's `READY=1` and its `AUTH_HUB_READY_SOCKET` value: a Linux
/// abstract name (no file to clean up) unique to this process. `None` when it cannot be bound, or
/// off Linux: the wait then polls alone.
#[cfg(target_os = "linux")]
fn ready_socket() -> Option<(std::os::unix::net::UnixDatagram, std::ffi::OsString)> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("hyperforge-ready-{}-{nanos:08x}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).ok()?;
    let socket = UnixDatagram::bind_addr(&addr).ok()?;
    socket.set_nonblocking(true).ok()?;
    Some((socket, format!("@{name}").into()))
}

#[cfg(not(target_os = "linux"))]
fn ready_socket() -> Option<(std::os::unix::net::UnixDatagram, std::ffi::OsString)> {
    None
}

/// Polls `socket` until it accepts and returns the socket that did; gives up when the limit
/// passes, or when `child` exits and no other hub owns the state (one that won a race to the
/// state directory is waited for in its place).
///
/// A datagram on `ready` (the started hub's `READY=1`) ends the current pause at once; only the
/// first counts, since anyone on the machine could send one: it earns one early connect, no more.
async fn wait_until_listening(
    socket: &Path,
    mut child: Option<Child>,
    mut ready: Option<tokio::net::UnixDatagram>,
) -> Result<PathBuf, String> {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut socket = socket.to_path_buf();
    loop {
        if tokio::net::UnixStream::connect(&socket).await.is_ok() {
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "auth-hub is listening"
            );
            return Ok(socket);
        }
        if let Some(status) = child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            // Another hub may have won a race to the same state: it counts if it listens.
            match discover::running_hub() {
                Some(winner) => {
                    tracing::debug!(
                        pid = winner.pid,
                        "another hub won the start; waiting for it"
                    );
                    socket = winner.socket;
                    child = None;
                    ready = None;
                    continue;
                }
                None if tokio::net::UnixStream::connect(&socket).await.is_ok() => {
                    return Ok(socket)
                }
                None => return Err(format!("it exited ({status})")),
            }
        }
        let elapsed = started.elapsed();
        if elapsed >= START_LIMIT {
            return Err(format!(
                "it did not listen within {}s",
                START_LIMIT.as_secs()
            ));
        }
        let sleep = tokio::time::sleep(pause.min(START_LIMIT - elapsed));
        match &ready {
            Some(told) => {
                let mut buf = [0u8; 16];
                tokio::select! {
                    _ = told.recv(&mut buf) => {
                        tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "auth-hub says it is ready");
                        ready = None;
                        continue;
                    }
                    () = sleep => {}
                }
            }
            None => sleep.await,
        }
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hintless_no_hub_error_gets_the_start_hint() {
        let lost = CliError::from(auth_hub_client::AuthError::ConnectionLost("eof".into()));
        assert_eq!(with_start_hint(lost).hint(), Some(start_hint()));
        let elsewhere = CliError::new(ErrorKind::Unreachable, "elsewhere").with_hint("unset it");
        assert_eq!(with_start_hint(elsewhere).hint(), Some("unset it"));
        let failed = CliError::failure("disk");
        assert_eq!(with_start_hint(failed).hint(), None);
    }

    #[test]
    fn a_failed_start_shows_the_hubs_own_error() {
        let log =
            "\u{1b}[2m2026-12-01T11:27:32Z\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m auth-hub stopped\n\
                   auth-hub: /h/config.toml:2:1: invalid array\nexpected `]`\n";
        assert_eq!(
            hub_error(log).as_deref(),
            Some("/h/config.toml:2:1: invalid array expected `]`")
        );
        let only_logged =
            "2026-12-01T11:27:32Z  INFO starting\n2026-12-01T11:27:32Z ERROR cannot bind\n";
        assert_eq!(
            hub_error(only_logged).as_deref(),
            Some("2026-12-01T11:27:32Z ERROR cannot bind")
        );
        assert_eq!(hub_error("2026 INFO listening\n"), None);
        assert_eq!(strip_ansi("\u{1b}[31mERROR\u{1b}[0m x"), "ERROR x");
    }

    #[test]
    fn the_log_is_created_private_and_read_from_where_the_hub_began() {
        let dir = std::env::temp_dir().join(format!("hyperforge-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("state").join("auth-hub.log");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(&path, "auth-hub: an old failure\n").expect("old log");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let (_stdio, log) = log_target(Some(path.clone()));
        let log = log.expect("log opened");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(hub_error(&read_log_since(&log)), None);
        let mut file = OpenOptions::new().append(true).open(&path).expect("append");
        io::Write::write_all(&mut file, b"auth-hub: a new failure\n").expect("write");
        assert_eq!(
            hub_error(&read_log_since(&log)).as_deref(),
            Some("a new failure")
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

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
