//! One release at a time per repository: an exclusive `flock` on
//! `<git common dir>/hyperforge-release.lock`, held from the first check to the tag.
//!
//! Two `hyperforge publish` runs in one repository (a user who runs the command twice, two
//! terminals, a workspace publish beside a publish) would otherwise both pass the clean-tree check,
//! bump the same manifest and commit over each other, and the one that fails would "restore" the
//! bytes the other had just written. The second run is refused at once instead, before anything
//! changes. The lock is the kernel's: it goes with the process, so a killed run never leaves a
//! stale lock behind. Worktrees of one repository share the lock, as they share its tags.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::git::Repo;

/// The lock file's name in the git common directory.
pub const LOCK_FILE: &str = "hyperforge-release.lock";

/// A held release lock; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct ReleaseLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "another hyperforge release is running in this repository ({}); wait for it to end, \
         then run this again",
        path.display()
    )]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot take the release lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Takes `repo`'s release lock without waiting.
///
/// # Errors
/// [`LockError::Busy`] when another process holds it; [`LockError::Io`] otherwise.
pub async fn acquire(repo: &Repo) -> Result<ReleaseLock, LockError> {
    let dir = repo.common_dir().await.map_err(|error| LockError::Io {
        path: repo.root().join(".git").join(LOCK_FILE),
        source: io::Error::other(error.to_string()),
    })?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| LockError::Io {
            path: path.clone(),
            source,
        })?;
    // SAFETY: flock on a descriptor this function owns; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let source = io::Error::last_os_error();
        return Err(if source.kind() == io::ErrorKind::WouldBlock {
            LockError::Busy { path }
        } else {
            LockError::Io { path, source }
        });
    }
    Ok(ReleaseLock { _file: file })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_second_release_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let repo = Repo::discover(dir.path()).await.unwrap();

        let first = acquire(&repo).await.unwrap();
        // flock locks belong to the open file description: a second open in this process is
        // refused exactly as another process would be.
        let second = acquire(&repo).await.unwrap_err();
        assert!(matches!(second, LockError::Busy { .. }), "{second}");
        assert!(second
            .to_string()
            .starts_with("another hyperforge release is running in this repository"));
        drop(first);
        acquire(&repo).await.unwrap();
    }
}
