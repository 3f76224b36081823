//! Process hardening applied first thing in `serve`: private files, no core dumps, no ptrace by
//! other processes of the same user, and enough open files for many clients.
//!
//! Every step is best effort: a refused call is logged with `tracing::warn!` and the hub starts
//! anyway (a sandbox may forbid `prctl`, a container may pin the limits).

/// The file-creation mask: everything the hub creates is readable and writable by the owner only.
pub const UMASK: libc::mode_t = 0o077;

/// Applies every hardening step. Call before any file, socket or thread is created.
pub fn apply() {
    set_umask();
    disable_core_dumps();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    disable_dumpable();
    raise_fd_limit();
}

fn set_umask() {
    // SAFETY: umask only changes this process's file-creation mask; it cannot fail.
    unsafe { libc::umask(UMASK) };
}

/// RLIMIT_CORE = 0: a crash never writes the hub's memory (keys, secrets) to a core file.
fn disable_core_dumps() {
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit on this process with a valid, initialised struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &limit) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot disable core dumps (RLIMIT_CORE)");
    }
}

/// PR_SET_DUMPABLE = 0: no core dumps even if the limit is raised again, and processes of the
/// same user cannot ptrace the hub or read its memory through `/proc`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn disable_dumpable() {
    // SAFETY: prctl(PR_SET_DUMPABLE) only changes a flag of this process; the unused arguments
    // are zero as the man page asks.
    let rc = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if rc != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot clear the dumpable flag (PR_SET_DUMPABLE)");
    }
}

/// Raises the soft limit on open files to the hard limit: every client holds a connection, and
/// the default soft limit (often 1024) would turn a busy machine into refused connections.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on this process with a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::warn!("cannot raise the open-file limit");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umask_keeps_files_private() {
        assert_eq!(UMASK & 0o077, 0o077);
        assert_eq!(UMASK & 0o700, 0);
    }
}
