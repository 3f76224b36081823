//! Process hardening applied first thing in `serve`: private files, no core dumps, no ptrace by
//! other processes of the same user, and enough open files for many clients.
//!
//! With `[store] mlock = true`, [`lock_memory`] also locks every page of the process in RAM
//! (`mlockall(MCL_CURRENT | MCL_FUTURE)`), so decrypted secret values are never written to swap.
//! This locks the whole process, not individual secret buffers: simpler, and it covers every
//! copy (serde buffers, frames) rather than only the store's. It is done only when
//! `RLIMIT_MEMLOCK` is unlimited (raising the soft limit to an unlimited hard limit), because
//! with `MCL_FUTURE` a finite limit would make later allocations (thread stacks) fail instead.
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

/// What [`lock_memory`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryLock {
    /// All current and future pages are locked.
    Locked,
    /// Nothing was locked, for this reason (also logged as a warning).
    Skipped(String),
}

/// Locks all of the process's memory in RAM, if `RLIMIT_MEMLOCK` allows it without limit (or the
/// process may exceed it); otherwise logs a warning saying how to allow it and locks nothing.
pub fn lock_memory() -> MemoryLock {
    let outcome = try_lock_memory();
    match &outcome {
        MemoryLock::Locked => tracing::info!("memory locked (mlockall); secrets are never swapped"),
        MemoryLock::Skipped(reason) => tracing::warn!(
            reason = %reason,
            "[store] mlock is set but memory is NOT locked; continuing"
        ),
    }
    outcome
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn try_lock_memory() -> MemoryLock {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit/geteuid/mlockall act on this process; the struct is valid and
    // initialised.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) != 0 {
            return MemoryLock::Skipped(format!(
                "cannot read RLIMIT_MEMLOCK: {}",
                std::io::Error::last_os_error()
            ));
        }
        if limit.rlim_cur != libc::RLIM_INFINITY && limit.rlim_max == libc::RLIM_INFINITY {
            limit.rlim_cur = libc::RLIM_INFINITY;
            // A failure leaves the soft limit finite, handled just below.
            libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit);
            libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit);
        }
        if limit.rlim_cur != libc::RLIM_INFINITY && libc::geteuid() != 0 {
            return MemoryLock::Skipped(format!(
                "RLIMIT_MEMLOCK is {} bytes; locking all memory needs it unlimited \
                 (systemd: LimitMEMLOCK=infinity; shell: ulimit -l unlimited)",
                limit.rlim_cur
            ));
        }
        if libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) != 0 {
            return MemoryLock::Skipped(format!(
                "mlockall failed: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    MemoryLock::Locked
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn try_lock_memory() -> MemoryLock {
    MemoryLock::Skipped("mlockall is only used on Linux".to_owned())
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
