//! This process's limit on open files: the abuse generator holds thousands of connections, and
//! the hub it spawns inherits the raised limit.

/// Raises the soft `RLIMIT_NOFILE` towards `want` (never above the hard limit); returns the limit
/// now in force.
///
/// # Errors
/// The OS error of `getrlimit` or `setrlimit`.
pub fn raise_fd_limit(want: u64) -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit on our own process with a valid, writable struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < want {
        limit.rlim_cur = want.min(limit.rlim_max);
        // SAFETY: setrlimit on our own process with a valid struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}
