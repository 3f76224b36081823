//! Where one hub keeps its files, as pure functions of the environment's values. The daemon's
//! `paths.rs`, the client's `discover.rs` and `auth-hub status` all ask this module, so client and
//! hub cannot miss each other.
//!
//! | what | `AUTH_HUB_HOME=DIR` | `XDG_RUNTIME_DIR` set | neither |
//! |---|---|---|---|
//! | socket | `DIR/auth-hub.sock` | `$XDG_RUNTIME_DIR/auth-hub/auth-hub.sock` | `<data local dir of auth-hub>/auth-hub.sock` |
//! | state | `DIR/state/` | `<state dir of auth-hub>` | the same (the data local dir where there is none) |
//! | config | `DIR/config.toml` | `<config dir of auth-hub>/config.toml` | the same |
//! | saved key | `DIR/client/master.key` | `<user config dir>/hyperforge/master.key` | the same |
//!
//! `AUTH_HUB_SOCKET` overrides the socket in every column. Empty variables count as unset. The
//! platform directories come from the caller (the `directories` crate), so nothing here reads
//! the file system.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Overrides the socket path.
pub const SOCKET_VAR: &str = "AUTH_HUB_SOCKET";
/// Overrides the saved master key with the key's text.
pub const TOKEN_VAR: &str = "AUTH_HUB_TOKEN";
/// Puts the hub's config, state, socket and the client's saved key under one directory.
pub const HOME_VAR: &str = "AUTH_HUB_HOME";
/// The per-user runtime directory (Linux), where the socket goes when no home is set.
pub const RUNTIME_DIR_VAR: &str = "XDG_RUNTIME_DIR";
/// The application name the platform directories are derived from.
pub const APP_NAME: &str = "auth-hub";
/// The socket's file name.
pub const SOCKET_NAME: &str = "auth-hub.sock";
/// The saved key's file name.
pub const KEY_FILE_NAME: &str = "master.key";
/// The hub's policy and settings file name.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// A variable's value, or `None` when it is unset or empty.
pub fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|value| !value.is_empty())
}

/// The platform's directories for auth-hub (`directories::ProjectDirs` of [`APP_NAME`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformDirs {
    /// Where `config.toml` goes.
    pub config_dir: PathBuf,
    /// The state directory: the platform's state directory, else the local data directory.
    pub state_dir: PathBuf,
    /// The local data directory, the socket's last resort.
    pub data_local_dir: PathBuf,
}

impl PlatformDirs {
    /// The directories from the platform's answers; `state_dir` is `None` where the platform has
    /// no state directory (macOS), and the local data directory stands in.
    pub fn new(config_dir: &Path, state_dir: Option<&Path>, data_local_dir: &Path) -> Self {
        Self {
            config_dir: config_dir.to_path_buf(),
            state_dir: state_dir.unwrap_or(data_local_dir).to_path_buf(),
            data_local_dir: data_local_dir.to_path_buf(),
        }
    }
}

/// The variables the layout depends on, empty values counted as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationVars {
    /// `AUTH_HUB_HOME` (or `--home`).
    pub home: Option<PathBuf>,
    /// `AUTH_HUB_SOCKET` (or `--socket`).
    pub socket: Option<PathBuf>,
    /// `XDG_RUNTIME_DIR`.
    pub runtime_dir: Option<PathBuf>,
}

impl LocationVars {
    /// The values of [`HOME_VAR`], [`SOCKET_VAR`] and [`RUNTIME_DIR_VAR`].
    pub fn from_env() -> Self {
        Self {
            home: var(HOME_VAR).map(PathBuf::from),
            socket: var(SOCKET_VAR).map(PathBuf::from),
            runtime_dir: var(RUNTIME_DIR_VAR).map(PathBuf::from),
        }
    }

    /// The socket: the explicit one, else `home/auth-hub.sock`, else under the runtime directory,
    /// else in the local data directory; `None` when nothing gives one.
    pub fn socket(&self, platform: Option<&PlatformDirs>) -> Option<PathBuf> {
        if let Some(socket) = &self.socket {
            return Some(socket.clone());
        }
        if let Some(home) = &self.home {
            return Some(home.join(SOCKET_NAME));
        }
        if let Some(runtime) = &self.runtime_dir {
            return Some(runtime.join(APP_NAME).join(SOCKET_NAME));
        }
        platform.map(|dirs| dirs.data_local_dir.join(SOCKET_NAME))
    }

    /// The state directory: `home/state`, else the platform's.
    pub fn state_dir(&self, platform: Option<&PlatformDirs>) -> Option<PathBuf> {
        match &self.home {
            Some(home) => Some(home.join("state")),
            None => platform.map(|dirs| dirs.state_dir.clone()),
        }
    }

    /// The hub's `config.toml`: under the home, else in the platform's config directory.
    pub fn config_file(&self, platform: Option<&PlatformDirs>) -> Option<PathBuf> {
        match &self.home {
            Some(home) => Some(home.join(CONFIG_FILE_NAME)),
            None => platform.map(|dirs| dirs.config_dir.join(CONFIG_FILE_NAME)),
        }
    }

    /// The client's saved key: `home/client/master.key`, else `hyperforge/master.key` in the
    /// user's config directory (`directories::BaseDirs::config_dir`).
    pub fn key_file(&self, user_config_dir: Option<&Path>) -> Option<PathBuf> {
        match &self.home {
            Some(home) => Some(home.join("client").join(KEY_FILE_NAME)),
            None => user_config_dir.map(|dir| dir.join("hyperforge").join(KEY_FILE_NAME)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform() -> PlatformDirs {
        PlatformDirs::new(Path::new("/c"), None, Path::new("/d"))
    }

    #[test]
    fn socket_precedence() {
        let mut vars = LocationVars::default();
        assert_eq!(vars.socket(None), None);
        assert_eq!(
            vars.socket(Some(&platform())),
            Some(PathBuf::from("/d/auth-hub.sock"))
        );
        vars.runtime_dir = Some("/run/user/1000".into());
        assert_eq!(
            vars.socket(None),
            Some(PathBuf::from("/run/user/1000/auth-hub/auth-hub.sock"))
        );
        vars.home = Some("/srv/hub".into());
        assert_eq!(
            vars.socket(None),
            Some(PathBuf::from("/srv/hub/auth-hub.sock"))
        );
        vars.socket = Some("/tmp/other.sock".into());
        assert_eq!(vars.socket(None), Some(PathBuf::from("/tmp/other.sock")));
    }

    #[test]
    fn home_puts_state_config_and_key_under_it() {
        let home = LocationVars {
            home: Some("/h".into()),
            ..LocationVars::default()
        };
        assert_eq!(home.state_dir(None), Some(PathBuf::from("/h/state")));
        assert_eq!(
            home.config_file(None),
            Some(PathBuf::from("/h/config.toml"))
        );
        assert_eq!(
            home.key_file(None),
            Some(PathBuf::from("/h/client/master.key"))
        );
        let none = LocationVars::default();
        assert_eq!(
            none.state_dir(Some(&platform())),
            Some(PathBuf::from("/d")),
            "no state dir: the local data dir"
        );
        assert_eq!(
            none.config_file(Some(&platform())),
            Some(PathBuf::from("/c/config.toml"))
        );
        assert_eq!(
            none.key_file(Some(Path::new("/u"))),
            Some(PathBuf::from("/u/hyperforge/master.key"))
        );
        assert_eq!(none.state_dir(None), None);
    }
}
