//! Socket activation and readiness, exactly as systemd does them: a listening socket passed as
//! fd 3 with `LISTEN_FDS=1` and `LISTEN_PID` naming the hub, a wrong `LISTEN_PID` ignored, and
//! `READY=1`/`STOPPING=1` sent to `NOTIFY_SOCKET`.

use std::ffi::{CString, OsStr};
use std::fs;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use auth_hub_tests::{hub_binary, hyperforge_binary, wait_until, Run};

/// How long a hub gets to serve its first request.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A hub started by hand (not through `TestHub`, which binds its own socket). Killed on drop;
/// its log is printed if the test failed.
struct Activated {
    dir_path: PathBuf,
    child: Option<Child>,
}

impl Activated {
    fn home(&self) -> &Path {
        &self.dir_path
    }

    fn log(&self) -> String {
        fs::read_to_string(self.home().join("hub.log")).unwrap_or_default()
    }

    /// `hyperforge auth status` against `socket`, without auto-start.
    fn status(&self, socket: &Path) -> Run {
        let output = Command::new(hyperforge_binary())
            .args(["auth", "status"])
            .env("AUTH_HUB_HOME", self.home())
            .env("AUTH_HUB_SOCKET", socket)
            .env("AUTH_HUB_NO_AUTOSTART", "1")
            .env_remove("AUTH_HUB_TOKEN")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run::from(output)
    }

    /// Waits (doubling backoff) until `auth status` succeeds through `socket`.
    fn wait_served(&self, socket: &Path) -> Run {
        let mut last = None;
        let served = wait_until(START_LIMIT, || {
            let run = self.status(socket);
            if run.code == 0 {
                Some(run)
            } else {
                last = Some(run);
                None
            }
        });
        served.unwrap_or_else(|| {
            panic!(
                "no status through {}: {last:?}\nhub log:\n{}",
                socket.display(),
                self.log()
            )
        })
    }

    /// SIGTERM, then wait.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = i32::try_from(child.id()).unwrap();
            // SAFETY: kill(2) on a child we spawned and have not reaped.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            child.wait().unwrap();
        }
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- auth-hub log ---\n{}", self.log());
        }
    }
}

/// A private home (0700) with an empty config.
fn home() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("act").tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(dir.path().join("config.toml"), "").unwrap();
    dir
}

/// A listening socket bound the way the socket unit does it: `<home>/run/hub.sock`, mode 0600
/// in a 0700 directory.
fn listen(home: &Path) -> (UnixListener, PathBuf) {
    let run = home.join("run");
    fs::DirBuilder::new().mode(0o700).create(&run).unwrap();
    let path = run.join("hub.sock");
    let listener = UnixListener::bind(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    (listener, path)
}

/// Variables the hub must not inherit from the test's environment.
const CLEARED: [&str; 6] = [
    "AUTH_HUB_TOKEN",
    "AUTH_HUB_SOCKET",
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "NOTIFY_SOCKET",
];

/// How the hub is started.
#[derive(Default)]
struct Launch<'a> {
    /// Passed as fd 3, as systemd does.
    socket: Option<&'a UnixListener>,
    /// Set `LISTEN_PID` to the hub's own pid.
    own_pid: bool,
    /// More variables.
    vars: &'a [(&'a str, &'a OsStr)],
}

/// Starts `auth-hub serve --home DIR` (log in `DIR/hub.log`) as `launch` says.
///
/// `LISTEN_PID` must name the process that execs the hub, and that pid exists only after the
/// fork, so `Command::env` (fixed before it) cannot say it. As systemd does, the variable is set
/// in the child between fork and exec, where `getpid()` is already the hub's pid (exec keeps
/// it). std installs a `Command`'s own environment *after* the `pre_exec` closures, which would
/// undo a `setenv` there; so this command changes no variable through `Command`, and the closure
/// makes every change with `setenv`/`unsetenv` on the inherited environment, from C strings
/// prepared before the fork. The child only calls `dup2`, `fcntl`, `getpid`, `setenv` and
/// `unsetenv` (glibc resets its allocator's locks in a forked child; no test thread changes the
/// environment).
fn spawn_hub(home: &Path, launch: &Launch<'_>) -> Activated {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join("hub.log"))
        .unwrap();
    let mut command = Command::new(hub_binary());
    command
        .args(["serve", "--home"])
        .arg(home)
        .args(["--store", "file"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let cleared: Vec<CString> = CLEARED.iter().map(|v| CString::new(*v).unwrap()).collect();
    let mut set: Vec<(CString, CString)> = vec![(c"AUTH_HUB_LOG".into(), c"debug".into())];
    for (name, value) in launch.vars {
        set.push((
            CString::new(*name).unwrap(),
            CString::new(value.as_bytes()).unwrap(),
        ));
    }
    let fd: Option<RawFd> = launch.socket.map(AsRawFd::as_raw_fd);
    let own_pid = launch.own_pid;
    // SAFETY: the closure runs in the forked child before exec and only calls the functions
    // named above, on this process's own descriptors and environment, with C strings built
    // before the fork.
    unsafe {
        command.pre_exec(move || {
            for name in &cleared {
                libc::unsetenv(name.as_ptr());
            }
            for (name, value) in &set {
                if libc::setenv(name.as_ptr(), value.as_ptr(), 1) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some(fd) = fd {
                if fd != 3 && libc::dup2(fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // dup2 clears FD_CLOEXEC on the copy, but does nothing when fd is already 3.
                let flags = libc::fcntl(3, libc::F_GETFD);
                if flags < 0 || libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if own_pid {
                let mut buf = [0u8; 16];
                let len = format_pid(libc::getpid().unsigned_abs(), &mut buf);
                // buf[len] is already NUL.
                debug_assert!(len < buf.len());
                if libc::setenv(c"LISTEN_PID".as_ptr(), buf.as_ptr().cast(), 1) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    Activated {
        dir_path: home.to_path_buf(),
        child: Some(child),
    }
}

/// Writes `n` in decimal into `buf` without allocating (we are between fork and exec); returns
/// the length.
fn format_pid(mut n: u32, buf: &mut [u8; 16]) -> usize {
    let mut digits = [0u8; 10];
    let mut len = 0;
    loop {
        digits[len] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (slot, digit) in buf.iter_mut().zip(digits[..len].iter().rev()) {
        *slot = *digit;
    }
    len
}

#[test]
fn serves_through_an_inherited_socket() {
    let dir = home();
    let (listener, path) = listen(dir.path());
    let names = OsStr::new("auth-hub.socket");
    let one = OsStr::new("1");
    let hub = spawn_hub(
        dir.path(),
        &Launch {
            socket: Some(&listener),
            own_pid: true,
            vars: &[("LISTEN_FDS", one), ("LISTEN_FDNAMES", names)],
        },
    );
    // Our copy closed: if the hub died, a client is refused instead of waiting forever.
    drop(listener);
    hub.wait_served(&path);
    assert!(
        !hub.home().join("auth-hub.sock").exists(),
        "the hub bound its own socket despite the inherited one"
    );
    assert!(hub.log().contains("inherited"), "log:\n{}", hub.log());
}

#[test]
fn a_stopped_hub_leaves_the_inherited_socket_file() {
    let dir = home();
    let (listener, path) = listen(dir.path());
    let mut hub = spawn_hub(
        dir.path(),
        &Launch {
            socket: Some(&listener),
            own_pid: true,
            vars: &[("LISTEN_FDS", OsStr::new("1"))],
        },
    );
    drop(listener);
    hub.wait_served(&path);
    hub.stop();
    // The socket unit owns the file: the hub must not unlink it.
    assert!(path.exists());
}

#[test]
fn a_wrong_listen_pid_is_ignored() {
    let dir = home();
    let (listener, path) = listen(dir.path());
    // Meant for another process (pid 1): the hub must bind its own socket.
    let hub = spawn_hub(
        dir.path(),
        &Launch {
            socket: Some(&listener),
            own_pid: false,
            vars: &[
                ("LISTEN_FDS", OsStr::new("1")),
                ("LISTEN_PID", OsStr::new("1")),
            ],
        },
    );
    drop(listener);
    hub.wait_served(&hub.home().join("auth-hub.sock"));
    // The passed socket's file is left alone.
    assert!(path.exists());
    assert!(hub.log().contains("LISTEN_PID=1"), "log:\n{}", hub.log());
}

#[test]
fn readiness_and_stopping_reach_notify_socket() {
    let dir = home();
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut hub = spawn_hub(
        dir.path(),
        &Launch {
            vars: &[("NOTIFY_SOCKET", notify_path.as_os_str())],
            ..Launch::default()
        },
    );
    let mut buf = [0u8; 256];
    let n = notify
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no READY=1 within 10 s ({e})\nhub log:\n{}", hub.log()));
    assert_eq!(&buf[..n], b"READY=1");
    // Ready means ready: the first request after READY=1 is served, no retry needed.
    hub.status(&hub.home().join("auth-hub.sock")).assert_code(0);
    hub.stop();
    let n = notify.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn pids_are_formatted_without_allocating() {
    let mut buf = [0u8; 16];
    assert_eq!(format_pid(0, &mut buf), 1);
    assert_eq!(&buf[..2], b"0\0");
    let mut buf = [0u8; 16];
    assert_eq!(format_pid(4_194_304, &mut buf), 7);
    assert_eq!(&buf[..8], b"4194304\0");
}

#[test]
fn status_reports_the_inherited_socket_and_clients_find_it_through_the_record() {
    let dir = home();
    let (listener, path) = listen(dir.path());
    let hub = spawn_hub(
        dir.path(),
        &Launch {
            socket: Some(&listener),
            own_pid: true,
            vars: &[("LISTEN_FDS", OsStr::new("1"))],
        },
    );
    drop(listener);
    hub.wait_served(&path);
    // Only AUTH_HUB_HOME: the derived socket (HOME/auth-hub.sock) is not the one served; the
    // state directory's record leads there, and status names the inherited socket.
    let hyperforge = Run::from(
        Command::new(hyperforge_binary())
            .args(["--json", "auth", "status"])
            .env("AUTH_HUB_HOME", hub.home())
            .env("AUTH_HUB_NO_AUTOSTART", "1")
            .env_remove("AUTH_HUB_SOCKET")
            .env_remove("AUTH_HUB_TOKEN")
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    hyperforge.assert_code(0);
    assert_eq!(hyperforge.json()["socket"], path.display().to_string());
    let daemon = Run::from(
        Command::new(hub_binary())
            .args(["status", "--json", "--home"])
            .arg(hub.home())
            .env_remove("AUTH_HUB_SOCKET")
            .env_remove("AUTH_HUB_TOKEN")
            .output()
            .unwrap(),
    );
    daemon.assert_code(0);
    assert_eq!(daemon.json()["socket"], path.display().to_string());
    // `auth-hub stop` leaves a service manager's hub to the service manager, and says how.
    let stop = Run::from(
        Command::new(hub_binary())
            .args(["stop", "--home"])
            .arg(hub.home())
            .output()
            .unwrap(),
    );
    stop.assert_code(1);
    assert!(
        stop.stderr
            .contains("systemctl --user stop auth-hub.socket auth-hub.service"),
        "{stop:?}"
    );
    assert!(UnixStream::connect(&path).is_ok(), "the hub still runs");
}
