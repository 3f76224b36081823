//! systemd socket activation: take the listening socket systemd passed as fd 3.
//!
//! The protocol (`sd_listen_fds(3)`): `LISTEN_PID` names the process the sockets are meant for,
//! `LISTEN_FDS` how many there are (from fd 3 on), `LISTEN_FDNAMES` their names. The variables
//! are inherited by children, so a process must check `LISTEN_PID` before believing them, and
//! clear them so its own children never do. This runs in `main` before the tokio runtime starts:
//! changing the environment is only sound while the process has one thread.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

use crate::error::HubError;

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;
/// At most this many passed descriptors are marked close-on-exec when more than one arrives.
const MAX_EXTRA_FDS: u32 = 64;

/// What the variables say, checked against this process's id.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// No activation variables.
    Absent,
    /// Variables present but not meant for this process (or malformed): bind our own socket.
    Ignore(String),
    /// `count` descriptors were passed to this process.
    Take { count: u32 },
}

/// Reads `LISTEN_PID`/`LISTEN_FDS` (and logs `LISTEN_FDNAMES`), clears all three, and returns
/// fd 3 as a listener when systemd passed it to this process.
///
/// With a `LISTEN_PID` that is not ours, the variables are ignored (and still cleared). With more
/// than one descriptor, fd 3 is taken and a warning names the rest.
///
/// Call only while the process is single-threaded (before the runtime starts).
///
/// # Errors
/// [`HubError::Setup`] when the variables are meant for this process but fd 3 is not a listening
/// Unix stream socket: the unit is wrong, and binding a socket of our own would hide that.
pub fn take() -> Result<Option<UnixListener>, HubError> {
    let pid = std::env::var("LISTEN_PID").ok();
    let fds = std::env::var("LISTEN_FDS").ok();
    let names = std::env::var("LISTEN_FDNAMES").ok();
    // Cleared whatever they say: our children must never mistake them for their own.
    for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(name);
    }
    match decide(pid.as_deref(), fds.as_deref(), std::process::id()) {
        Decision::Absent => Ok(None),
        Decision::Ignore(why) => {
            tracing::info!(%why, "ignoring systemd socket-activation variables; binding our own socket");
            Ok(None)
        }
        Decision::Take { count } => {
            if count > 1 {
                tracing::warn!(
                    count,
                    names = names.as_deref().unwrap_or(""),
                    "systemd passed more than one socket; using fd 3 only"
                );
                // The others stay open but unused; at least no child of ours inherits them.
                // Bounded: the count comes from the environment.
                for extra in 1..count.min(MAX_EXTRA_FDS) {
                    let Some(fd) = RawFd::try_from(extra)
                        .ok()
                        .and_then(|n| FIRST_FD.checked_add(n))
                    else {
                        break;
                    };
                    if let Err(error) = super::set_cloexec(fd) {
                        tracing::warn!(fd, %error, "cannot mark a passed socket close-on-exec");
                    }
                }
            }
            adopt(FIRST_FD).map(Some)
        }
    }
}

/// The pure decision from the variables' values and our pid.
fn decide(pid: Option<&str>, fds: Option<&str>, our_pid: u32) -> Decision {
    let (pid, fds) = match (pid, fds) {
        (None, None) => return Decision::Absent,
        (Some(pid), Some(fds)) => (pid, fds),
        _ => return Decision::Ignore("LISTEN_PID and LISTEN_FDS must both be set".into()),
    };
    match pid.trim().parse::<u32>() {
        Ok(pid) if pid == our_pid => {}
        Ok(pid) => {
            return Decision::Ignore(format!("LISTEN_PID={pid} is not this process ({our_pid})"))
        }
        Err(_) => return Decision::Ignore(format!("LISTEN_PID={pid:?} is not a process id")),
    }
    match fds.trim().parse::<u32>() {
        Ok(0) => Decision::Ignore("LISTEN_FDS=0".into()),
        Ok(count) => Decision::Take { count },
        Err(_) => Decision::Ignore(format!("LISTEN_FDS={fds:?} is not a count")),
    }
}

/// Checks that `fd` is a listening `AF_UNIX` stream socket, marks it close-on-exec and
/// non-blocking, and takes ownership of it.
fn adopt(fd: RawFd) -> Result<UnixListener, HubError> {
    check_listening_unix(fd)?;
    super::set_cloexec(fd).map_err(|error| setup(fd, error))?;
    // SAFETY: systemd passed this descriptor to this process (LISTEN_PID matched); nothing else
    // in the process owns it, and `take` runs once, so ownership moves here exactly once.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let listener = UnixListener::from(owned);
    listener
        .set_nonblocking(true)
        .map_err(|error| setup(fd, error))?;
    Ok(listener)
}

/// `SO_ACCEPTCONN` set, `SO_TYPE` stream, and a local address of family `AF_UNIX`.
fn check_listening_unix(fd: RawFd) -> Result<(), HubError> {
    let accepting = int_option(fd, libc::SO_ACCEPTCONN).map_err(|e| setup(fd, e))?;
    let kind = int_option(fd, libc::SO_TYPE).map_err(|e| setup(fd, e))?;
    let family = socket_family(fd).map_err(|e| setup(fd, e))?;
    if family != libc::AF_UNIX || kind != libc::SOCK_STREAM || accepting == 0 {
        return Err(HubError::Setup(format!(
            "socket activation: fd {fd} is not a listening Unix stream socket \
             (family {family}, type {kind}, listening {})",
            accepting != 0
        )));
    }
    Ok(())
}

fn int_option(fd: RawFd, option: libc::c_int) -> std::io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
        .map_err(|_| std::io::Error::other("socklen overflow"))?;
    // SAFETY: `value` and `len` are valid for writes and `len` is the size of `value`; an `fd`
    // that is not a socket makes the call fail with ENOTSOCK, nothing worse.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            std::ptr::addr_of_mut!(value).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn socket_family(fd: RawFd) -> std::io::Result<libc::c_int> {
    // SAFETY: an all-zero sockaddr_storage is a valid value of that plain C struct.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_storage>())
        .map_err(|_| std::io::Error::other("socklen overflow"))?;
    // SAFETY: `addr` is large enough for any address and `len` says so.
    let rc = unsafe { libc::getsockname(fd, std::ptr::addr_of_mut!(addr).cast(), &mut len) };
    if rc == 0 {
        Ok(libc::c_int::from(addr.ss_family))
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn setup(fd: RawFd, error: std::io::Error) -> HubError {
    HubError::Setup(format!("socket activation: fd {fd}: {error}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn absent_and_mismatched_variables_are_ignored() {
        assert_eq!(decide(None, None, 42), Decision::Absent);
        assert!(matches!(
            decide(Some("1"), Some("1"), 42),
            Decision::Ignore(_)
        ));
        assert!(matches!(decide(Some("42"), None, 42), Decision::Ignore(_)));
        assert!(matches!(
            decide(Some("x"), Some("1"), 42),
            Decision::Ignore(_)
        ));
        assert!(matches!(
            decide(Some("42"), Some("0"), 42),
            Decision::Ignore(_)
        ));
        assert!(matches!(
            decide(Some("42"), Some("-1"), 42),
            Decision::Ignore(_)
        ));
    }

    #[test]
    fn our_pid_takes_the_descriptors() {
        assert_eq!(
            decide(Some("42"), Some("1"), 42),
            Decision::Take { count: 1 }
        );
        assert_eq!(
            decide(Some("42"), Some("2"), 42),
            Decision::Take { count: 2 }
        );
    }

    #[test]
    fn a_listening_unix_socket_passes_the_check() {
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("s")).unwrap();
        assert!(check_listening_unix(listener.as_raw_fd()).is_ok());
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(check_listening_unix(a.as_raw_fd()).is_err());
        let file = std::fs::File::open(dir.path()).unwrap();
        assert!(check_listening_unix(file.as_raw_fd()).is_err());
    }
}
