//! Atomic, durable file replacement: write a temp file in the same directory, fsync it, rename it
//! over the target, fsync the directory. A crash at any moment leaves the old file or the new one,
//! never a torn mix. Every file the hub persists goes through [`write_atomic`], which lives in the
//! protocol crate (`local::atomic`) because the client writes its saved key the same way; the
//! clean-up of a crash's temp files is the hub's alone.

use std::fs;
use std::io;
use std::path::Path;

use auth_hub_protocol::local::atomic::parent_dir;
pub use auth_hub_protocol::local::atomic::{replace_atomic, sync_dir, write_atomic, TEMP_PREFIX};

/// Removes temp files a crash left beside `path`. Returns how many were removed.
///
/// # Errors
/// Reading the directory failed.
pub fn remove_stale_temps(path: &Path) -> io::Result<usize> {
    let dir = parent_dir(path)?;
    let Some(stem) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(0);
    };
    let prefix = format!("{TEMP_PREFIX}{stem}.");
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(&prefix))
        {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temps_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        fs::write(dir.path().join(".tmp-data.0123"), b"torn").unwrap();
        fs::write(dir.path().join("other"), b"keep").unwrap();
        assert_eq!(remove_stale_temps(&path).unwrap(), 1);
        assert!(dir.path().join("other").exists());
    }
}
