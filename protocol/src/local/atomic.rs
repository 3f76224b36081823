//! Atomic, durable file replacement: write a temp file in the same directory, fsync it, rename it
//! over the target, fsync the directory. A crash at any moment leaves the old file or the new one,
//! never a torn mix. Every file the hub persists and the client's saved key go through
//! [`write_atomic`]; the hub's record, which needs no durability, through [`replace_atomic`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;

/// Prefix of temp files, so a crash's leftovers can be recognised and removed.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Replaces `path` with `bytes` atomically and durably; the file gets exactly `mode` (e.g.
/// `0o600`), whatever the umask.
///
/// # Errors
/// Any I/O error; the target is then unchanged and the temp file removed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace(path, bytes, mode, true)
}

/// As [`write_atomic`] but without the two fsyncs: a reader still sees the old file or the new
/// one, never half of one, but after a crash either may be on disk. For a file that describes a
/// running process and is stale after a crash whatever it holds (the hub's `hub.json`).
///
/// # Errors
/// Any I/O error; the target is then unchanged and the temp file removed.
pub fn replace_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace(path, bytes, mode, false)
}

fn replace(path: &Path, bytes: &[u8], mode: u32, durable: bool) -> io::Result<()> {
    let dir = parent_dir(path)?;
    let temp = temp_path(dir, path)?;
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        fs::rename(&temp, path)?;
        if durable {
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Fsyncs a directory so a rename or create inside it survives a crash.
///
/// # Errors
/// Opening or syncing the directory failed.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory `path` is in (`.` for a bare file name).
///
/// # Errors
/// `path` has no parent (it is a root).
pub fn parent_dir(path: &Path) -> io::Result<&Path> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => Ok(dir),
        Some(_) => Ok(Path::new(".")),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path has no parent directory",
        )),
    }
}

fn temp_path(dir: &Path, path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    Ok(dir.join(format!(
        "{TEMP_PREFIX}{name}.{:016x}",
        rand::thread_rng().next_u64()
    )))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn replaces_contents_with_mode() {
        // Durable or not, a replacement leaves the new contents, the mode and no temp file.
        for replace in [write_atomic, replace_atomic] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("data");
            replace(&path, b"one", 0o600).unwrap();
            replace(&path, b"two", 0o600).unwrap();
            assert_eq!(fs::read(&path).unwrap(), b"two");
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::read_dir(dir.path()).unwrap().count(),
                1,
                "no temp file left"
            );
        }
    }

    #[test]
    fn failure_leaves_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("data");
        assert!(write_atomic(&missing, b"x", 0o600).is_err());
    }
}
