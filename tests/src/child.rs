//! What the harnesses that run outside servers (OpenBao, the package registries) share: a
//! free loopback port, and arming a child to die with the test process.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// A loopback port nothing listens on right now.
///
/// # Errors
/// No port could be bound.
pub(crate) fn free_port() -> std::io::Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
}

/// Arms `command` with `PR_SET_PDEATHSIG` = `SIGKILL`, so its child is killed when the thread
/// that spawns it ends, and exits at once if that parent is already gone.
pub(crate) fn die_with_parent(command: &mut Command) {
    // SAFETY: getpid(2) has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the signal was armed.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}
