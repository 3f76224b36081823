//! launchd socket hand-over (macOS): `launch_activate_socket(3)` returns the descriptors launchd
//! opened for a named entry of the agent plist's `Sockets` dictionary.
//!
//! The function is declared here by hand (it lives in libSystem, which every program links). It
//! fills a `malloc`ed array that the caller must `free` — after the call has filled the pointer
//! and the descriptors have been read out of it.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;

use crate::error::HubError;

/// The key of the socket in the LaunchAgent plist's `Sockets` dictionary.
pub const SOCKET_NAME: &str = "Listeners";

extern "C" {
    fn launch_activate_socket(
        name: *const libc::c_char,
        fds: *mut *mut libc::c_int,
        cnt: *mut libc::size_t,
    ) -> libc::c_int;
}

/// The socket launchd opened for [`SOCKET_NAME`], when launchd started this process with one.
///
/// # Errors
/// [`HubError::Setup`] when launchd manages this process but the hand-over fails in a way other
/// than "not launched by launchd" (`ESRCH`) or "no such socket" (`ENOENT`).
pub fn take() -> Result<Option<UnixListener>, HubError> {
    let name = std::ffi::CString::new(SOCKET_NAME)
        .map_err(|_| HubError::Setup("launchd socket name contains NUL".into()))?;
    let mut fds: *mut libc::c_int = std::ptr::null_mut();
    let mut count: libc::size_t = 0;
    // SAFETY: `name` is a valid C string; `fds` and `count` are valid out-pointers that the call
    // fills on success.
    let rc = unsafe { launch_activate_socket(name.as_ptr(), &mut fds, &mut count) };
    if rc == libc::ESRCH || rc == libc::ENOENT {
        return Ok(None);
    }
    if rc != 0 {
        return Err(HubError::Setup(format!(
            "launchd socket hand-over failed: {}",
            std::io::Error::from_raw_os_error(rc)
        )));
    }
    let mut passed: Vec<RawFd> = Vec::with_capacity(count);
    if !fds.is_null() {
        for index in 0..count {
            // SAFETY: on success `fds` points to `count` descriptors.
            passed.push(unsafe { *fds.add(index) });
        }
        // SAFETY: the array was allocated with malloc by launch_activate_socket, has been read,
        // and is freed exactly once.
        unsafe { libc::free(fds.cast()) };
    }
    let mut owned = passed.into_iter().map(|fd| {
        // SAFETY: launchd handed these descriptors to this process; nothing else owns them.
        unsafe { OwnedFd::from_raw_fd(fd) }
    });
    let Some(first) = owned.next() else {
        return Ok(None);
    };
    let extra = owned.count(); // dropped: closed
    if extra > 0 {
        tracing::warn!(
            extra,
            "launchd passed more than one socket; using the first"
        );
    }
    super::set_cloexec(std::os::fd::AsRawFd::as_raw_fd(&first))
        .map_err(|error| HubError::Setup(format!("launchd socket: {error}")))?;
    let listener = UnixListener::from(first);
    listener
        .set_nonblocking(true)
        .map_err(|error| HubError::Setup(format!("launchd socket: {error}")))?;
    Ok(Some(listener))
}
