//! Where one hub keeps its files. `--home DIR` or `AUTH_HUB_HOME=DIR` puts everything under DIR so
//! several hubs (and tests) never meet; otherwise the XDG locations are used.
//!
//! | what | with home DIR | default |
//! |---|---|---|
//! | config | `DIR/config.toml` | `$XDG_CONFIG_HOME/auth-hub/config.toml` |
//! | state (store, keys, grants, repositories, audit) | `DIR/state/` | `$XDG_STATE_HOME/auth-hub/` |
//! | socket | `DIR/auth-hub.sock` | `$XDG_RUNTIME_DIR/auth-hub/auth-hub.sock` |
//!
//! The rules are the protocol crate's `local::location`, which the client's `discover` follows
//! too; `AUTH_HUB_SOCKET` overrides the socket in both.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use auth_hub_protocol::local::location::{var, LocationVars, PlatformDirs, APP_NAME};
pub use auth_hub_protocol::local::location::{HOME_VAR, SOCKET_NAME, SOCKET_VAR};

use crate::error::HubError;

/// The resolved file layout of one hub.
#[derive(Debug, Clone)]
pub struct HubPaths {
    /// The home directory, when one was given.
    pub home: Option<PathBuf>,
    /// The policy and settings file.
    pub config_file: PathBuf,
    /// Store, keys, grants, registered repositories and audit log.
    pub state_dir: PathBuf,
    /// The Unix socket.
    pub socket: PathBuf,
}

impl HubPaths {
    /// Resolves the layout from an explicit home (or `AUTH_HUB_HOME`) and socket (or
    /// `AUTH_HUB_SOCKET`).
    ///
    /// # Errors
    /// [`HubError::Setup`] when no home directory can be determined.
    pub fn resolve(home: Option<PathBuf>, socket: Option<PathBuf>) -> Result<Self, HubError> {
        let home = home.or_else(|| var(HOME_VAR).map(PathBuf::from));
        let home = home.as_deref().map(absolute).transpose()?;
        let vars = LocationVars {
            socket: socket.or_else(|| var(SOCKET_VAR).map(PathBuf::from)),
            runtime_dir: LocationVars::from_env().runtime_dir,
            home: home.clone(),
        };
        let platform = match home {
            Some(_) => None,
            None => Some(platform_dirs().ok_or_else(|| {
                HubError::Setup("cannot determine the home directory; pass --home".into())
            })?),
        };
        let platform = platform.as_ref();
        let (Some(config_file), Some(state_dir), Some(socket)) = (
            vars.config_file(platform),
            vars.state_dir(platform),
            vars.socket(platform),
        ) else {
            return Err(HubError::Setup(
                "cannot determine the home directory; pass --home".into(),
            ));
        };
        Ok(Self {
            home,
            config_file,
            state_dir,
            socket,
        })
    }

    /// Creates the state and socket directories (0700) and refuses a state directory that group
    /// or others may write.
    ///
    /// # Errors
    /// [`HubError::Setup`] naming the directory and the problem.
    pub fn prepare(&self) -> Result<(), HubError> {
        if let Some(home) = &self.home {
            create_private_dir(home)?;
        }
        create_private_dir(&self.state_dir)?;
        if let Some(dir) = self.socket.parent() {
            create_private_dir(dir)?;
        }
        let mode = fs::metadata(&self.state_dir)
            .map_err(|e| io_setup(&self.state_dir, e))?
            .mode();
        if mode & 0o022 != 0 {
            return Err(HubError::Setup(format!(
                "state directory {} is writable by group or others (mode {:o}); run chmod 700 on it",
                self.state_dir.display(),
                mode & 0o777
            )));
        }
        Ok(())
    }

    /// The file store's directory (the state directory).
    pub fn store_dir(&self) -> &Path {
        &self.state_dir
    }

    /// API key records.
    pub fn keys_file(&self) -> PathBuf {
        self.state_dir.join("keys.json")
    }

    /// Standing grants.
    pub fn grants_file(&self) -> PathBuf {
        self.state_dir.join("grants.json")
    }

    /// AuthProvider records, every version.
    pub fn providers_file(&self) -> PathBuf {
        self.state_dir.join("providers.json")
    }

    /// The hub's JWT signing keys (private keys: 0600 like every state file).
    pub fn jwt_keys_file(&self) -> PathBuf {
        self.state_dir.join("jwt-keys.json")
    }

    /// Registered repositories.
    pub fn repos_file(&self) -> PathBuf {
        self.state_dir.join("repos.json")
    }

    /// The audit log.
    pub fn audit_file(&self) -> PathBuf {
        self.state_dir.join("audit.jsonl")
    }
}

/// The platform's directories for auth-hub; `None` without a home directory.
pub fn platform_dirs() -> Option<PlatformDirs> {
    directories::ProjectDirs::from("", "", APP_NAME)
        .map(|dirs| PlatformDirs::new(dirs.config_dir(), dirs.state_dir(), dirs.data_local_dir()))
}

fn absolute(path: &Path) -> Result<PathBuf, HubError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| io_setup(path, e))?;
    Ok(cwd.join(path))
}

/// Creates `dir` (and parents) with mode 0700; an existing directory keeps its mode.
fn create_private_dir(dir: &Path) -> Result<(), HubError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_setup(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| io_setup(dir, e))
}

fn io_setup(path: &Path, error: io::Error) -> HubError {
    HubError::Setup(format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_puts_everything_under_it() {
        let dir = tempfile::tempdir().unwrap();
        let paths = HubPaths::resolve(Some(dir.path().to_path_buf()), None).unwrap();
        assert_eq!(paths.config_file, dir.path().join("config.toml"));
        assert_eq!(paths.socket, dir.path().join(SOCKET_NAME));
        assert!(paths.state_dir.starts_with(dir.path()));
        paths.prepare().unwrap();
        let mode = fs::metadata(&paths.state_dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn refuses_world_writable_state() {
        let dir = tempfile::tempdir().unwrap();
        let paths = HubPaths::resolve(Some(dir.path().to_path_buf()), None).unwrap();
        paths.prepare().unwrap();
        fs::set_permissions(&paths.state_dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            matches!(paths.prepare(), Err(HubError::Setup(message)) if message.contains("writable"))
        );
    }
}
