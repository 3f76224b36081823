//! Binding the hub's own socket: refuse when a live hub answers on it, remove a stale file left
//! by a crash, create it 0600, and unlink it on exit only if this process bound it.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

use crate::error::HubError;

/// A socket this process bound; dropping it unlinks the file if it is still ours.
#[derive(Debug)]
pub struct BoundSocket {
    path: PathBuf,
    inode: u64,
}

impl BoundSocket {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BoundSocket {
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        // Only unlink the file we created; a newer hub may have replaced it.
        if fs::symlink_metadata(&self.path).is_ok_and(|meta| meta.ino() == self.inode) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Binds `path` (its directory must exist and be private). Must run inside a tokio runtime.
///
/// # Errors
/// [`HubError::Setup`] when another hub is live on the socket, the path is not a socket, or the
/// bind fails.
pub fn bind(path: &Path) -> Result<(UnixListener, BoundSocket), HubError> {
    use std::os::unix::fs::MetadataExt;
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(HubError::Setup(format!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            )));
        }
        Ok(_) => match StdUnixStream::connect(path) {
            Ok(_) => {
                return Err(HubError::Setup(format!(
                    "another auth-hub is already serving {}; stop it first with `auth-hub stop` (under its AUTH_HUB_HOME), or choose another socket",
                    path.display()
                )))
            }
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::NotFound
                ) =>
            {
                tracing::info!(socket = %path.display(), "removing a stale socket left by a previous hub");
                fs::remove_file(path).map_err(|e| setup(path, e))?;
            }
            Err(error) => return Err(setup(path, error)),
        },
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(setup(path, error)),
    }
    // The umask keeps the socket private from the instant it exists; chmod makes sure.
    // SAFETY: umask only changes this process's file-creation mask.
    let old_mask = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old_mask) };
    let listener = bound.map_err(|e| setup(path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|e| setup(path, e))?;
    let inode = fs::symlink_metadata(path)
        .map_err(|e| setup(path, e))?
        .ino();
    Ok((
        listener,
        BoundSocket {
            path: path.to_path_buf(),
            inode,
        },
    ))
}

fn setup(path: &Path, error: std::io::Error) -> HubError {
    HubError::Setup(format!("socket {}: {error}", path.display()))
}
