//! Where the listening socket comes from: inherited from a service manager (systemd's
//! `LISTEN_FDS`, `systemd.rs`; launchd's hand-over, `launchd.rs`) or bound by the hub itself
//! (`bind.rs`). `notify.rs` tells systemd when the hub is ready and when it stops.
//!
//! [`listener`] decides in `main` before the runtime starts (it reads and clears environment
//! variables); [`Source::into_tokio`] then makes the listener inside the runtime.

pub mod bind;
#[cfg(target_os = "macos")]
pub mod launchd;
pub mod notify;
pub mod systemd;

use std::os::fd::RawFd;
use std::path::Path;

use tokio::net::UnixListener;

use crate::error::HubError;

/// The socket the hub will serve.
#[derive(Debug)]
pub enum Source {
    /// A listening socket passed by a service manager. The manager owns the file: the hub never
    /// unlinks it.
    Inherited(std::os::unix::net::UnixListener),
    /// No socket was passed: bind our own at the configured path.
    Bind,
}

/// A listener ready to serve, and the bound socket's guard (`None` when inherited).
pub type Listening = (UnixListener, Option<bind::BoundSocket>);

/// Takes an inherited socket (systemd first, then launchd on macOS), else [`Source::Bind`].
///
/// Call before the runtime starts: it reads and clears `LISTEN_PID`, `LISTEN_FDS` and
/// `LISTEN_FDNAMES`, which is only sound while the process has one thread.
///
/// # Errors
/// [`HubError::Setup`] when a service manager passed a socket that cannot be used.
pub fn listener() -> Result<Source, HubError> {
    if let Some(listener) = systemd::take()? {
        return Ok(Source::Inherited(listener));
    }
    #[cfg(target_os = "macos")]
    if let Some(listener) = launchd::take()? {
        return Ok(Source::Inherited(listener));
    }
    Ok(Source::Bind)
}

impl Source {
    /// The tokio listener: the inherited socket, or a fresh one bound at `socket`. Must run
    /// inside the runtime.
    ///
    /// # Errors
    /// [`HubError::Setup`] from [`bind::bind`], or when the inherited socket cannot join the
    /// runtime.
    pub fn into_tokio(self, socket: &Path) -> Result<Listening, HubError> {
        match self {
            Self::Inherited(listener) => {
                let listener = UnixListener::from_std(listener)
                    .map_err(|error| HubError::Setup(format!("inherited socket: {error}")))?;
                Ok((listener, None))
            }
            Self::Bind => bind::bind(socket).map(|(listener, bound)| (listener, Some(bound))),
        }
    }
}

/// Marks `fd` close-on-exec, so a child the hub starts never inherits the listening socket.
pub(crate) fn set_cloexec(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns; only the FD_CLOEXEC flag changes.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
