//! Where the hub's socket and the client's master key are.
//!
//! The rules live once, in the protocol crate's `local::location` (shared with the hub's
//! `paths.rs`), so client and hub cannot miss each other:
//!
//! | | socket | saved key |
//! |---|---|---|
//! | `AUTH_HUB_HOME=DIR` | `DIR/auth-hub.sock` | `DIR/client/master.key` |
//! | `XDG_RUNTIME_DIR` set | `$XDG_RUNTIME_DIR/auth-hub/auth-hub.sock` | `<config dir>/hyperforge/master.key` |
//! | neither | `<data local dir of auth-hub>/auth-hub.sock` | `<config dir>/hyperforge/master.key` |
//!
//! A hub records the socket it really listens on in its state directory (`AUTH_HUB_HOME/state`
//! or the XDG state directory, see [`crate::running`]); when no `AUTH_HUB_SOCKET` is set and a
//! live hub's record names another socket than the table's, the client uses the recorded one.
//!
//! `AUTH_HUB_SOCKET` overrides the socket and a non-empty `AUTH_HUB_TOKEN` overrides the saved key
//! (that is how CI and service accounts run). Empty variables count as unset.
//!
//! The client's key is a 0600 file in a 0700 directory, not an OS keychain entry: a keychain read
//! is a D-Bus round trip (or a Security framework call) on every command, which costs more than
//! the whole `hyperforge auth get` it would serve. The key file is refused when group or others
//! can read it, as ssh refuses a private key with loose permissions.

use std::path::{Path, PathBuf};

use auth_hub_protocol::local::key_file::{self, KeyFileError};
use auth_hub_protocol::local::location::{var, LocationVars, PlatformDirs, APP_NAME};
pub use auth_hub_protocol::local::location::{
    HOME_VAR, KEY_FILE_NAME, SOCKET_NAME, SOCKET_VAR, TOKEN_VAR,
};
use auth_hub_protocol::MasterToken;
use directories::{BaseDirs, ProjectDirs};

use crate::error::AuthError;

/// The log file name of a hub started on demand.
pub const HUB_LOG_NAME: &str = "auth-hub.log";

/// The platform's directories for auth-hub; `None` without a home directory.
pub fn platform_dirs() -> Option<PlatformDirs> {
    ProjectDirs::from("", "", APP_NAME)
        .map(|dirs| PlatformDirs::new(dirs.config_dir(), dirs.state_dir(), dirs.data_local_dir()))
}

/// The hub's home when `AUTH_HUB_HOME` is set.
pub fn hub_home() -> Option<PathBuf> {
    var(HOME_VAR).map(PathBuf::from)
}

/// The socket to connect to: `AUTH_HUB_SOCKET`, else the socket of the hub that owns this
/// state directory (its record, see [`crate::running`]), else the derived default.
///
/// The record matters when the derived socket differs from the one the running hub listens on
/// (a cron job or ssh session without `XDG_RUNTIME_DIR`, a hub under socket activation): the
/// client finds that hub instead of missing it and starting a second one. An explicit
/// `AUTH_HUB_SOCKET` is always used as given.
///
/// # Errors
/// [`AuthError::Discovery`] when neither a variable nor a home directory gives one.
pub fn socket_path() -> Result<PathBuf, AuthError> {
    let vars = LocationVars::from_env();
    let platform = platform_dirs();
    let socket = auth_hub_protocol::local::running::hub_socket(&vars, platform.as_ref())
        .ok_or_else(no_socket)?;
    if vars.socket.is_none() && vars.socket(platform.as_ref()).as_ref() != Some(&socket) {
        tracing::debug!(
            socket = %socket.display(),
            "using the socket the running hub recorded"
        );
    }
    Ok(socket)
}

/// The socket derived from the environment alone (`AUTH_HUB_SOCKET`, `AUTH_HUB_HOME`,
/// `XDG_RUNTIME_DIR`, the data directory), ignoring the running hub's record.
///
/// # Errors
/// [`AuthError::Discovery`] when neither a variable nor a home directory gives one.
pub fn derived_socket_path() -> Result<PathBuf, AuthError> {
    LocationVars::from_env()
        .socket(platform_dirs().as_ref())
        .ok_or_else(no_socket)
}

fn no_socket() -> AuthError {
    AuthError::Discovery(format!(
        "cannot find the auth-hub socket: no home directory; set {SOCKET_VAR} or {HOME_VAR}"
    ))
}

/// The log file a hub started on demand writes to: `AUTH_HUB_HOME/auth-hub.log`, else
/// `auth-hub.log` in the hub's state directory ([`state_dir`]), so it is kept whether or not a
/// home is set. `None` without a home directory.
pub fn hub_log_path() -> Option<PathBuf> {
    match hub_home() {
        Some(home) => Some(home.join(HUB_LOG_NAME)),
        None => state_dir().ok().map(|dir| dir.join(HUB_LOG_NAME)),
    }
}

/// The hub's state directory, by the daemon's rule (`paths.rs`): `$AUTH_HUB_HOME/state`, else
/// the XDG state directory of `auth-hub` (the local data directory where there is none).
///
/// # Errors
/// [`AuthError::Discovery`] when there is no `AUTH_HUB_HOME` and no home directory.
pub fn state_dir() -> Result<PathBuf, AuthError> {
    LocationVars::from_env()
        .state_dir(platform_dirs().as_ref())
        .ok_or_else(|| {
            AuthError::Discovery(format!(
                "cannot find the auth-hub state directory: no home directory; set {HOME_VAR}"
            ))
        })
}

/// The live hub that owns this environment's state directory, from its record.
pub fn running_hub() -> Option<crate::running::HubRecord> {
    state_dir()
        .ok()
        .and_then(|dir| crate::running::running(&dir))
}

/// Where [`save_master_token`] writes the key and [`master_token`] reads it.
///
/// # Errors
/// [`AuthError::Discovery`] when there is no `AUTH_HUB_HOME` and no home directory.
pub fn key_file_path() -> Result<PathBuf, AuthError> {
    LocationVars::from_env()
        .key_file(BaseDirs::new().as_ref().map(BaseDirs::config_dir))
        .ok_or_else(|| {
            AuthError::Discovery(format!(
                "cannot find the auth-hub key file: no home directory; set {TOKEN_VAR} or {HOME_VAR}"
            ))
        })
}

/// The master key: `AUTH_HUB_TOKEN`, else the saved key, else `None`.
///
/// # Errors
/// [`AuthError::Discovery`] when a saved key exists but cannot be read, is empty, or is
/// readable by group or others.
pub fn master_token() -> Result<Option<MasterToken>, AuthError> {
    if let Some(token) = key_file::env_token().map_err(key_file_error)? {
        return Ok(Some(token));
    }
    read_key_file(&key_file_path()?)
}

/// Reads a saved key file; `Ok(None)` when there is none.
///
/// # Errors
/// [`AuthError::Discovery`] naming the file: unreadable, not UTF-8, empty, or readable by group
/// or others.
pub fn read_key_file(path: &Path) -> Result<Option<MasterToken>, AuthError> {
    key_file::read(path).map_err(key_file_error)
}

fn key_file_error(error: KeyFileError) -> AuthError {
    AuthError::Discovery(error.to_string())
}

/// Saves the owner key where [`master_token`] finds it; returns a description of where.
///
/// # Errors
/// [`AuthError::Discovery`] when it cannot be written.
pub fn save_master_token(token: &MasterToken) -> Result<String, AuthError> {
    let path = key_file_path()?;
    write_key_file(&path, token)?;
    Ok(format!("key file {}", path.display()))
}

/// Writes `token` to `path` atomically and durably: a 0600 temp file created beside it (the
/// directory is created 0700 when missing), fsync, rename over `path`, fsync of the directory
/// (the protocol crate's `local::key_file::write`).
///
/// # Errors
/// [`AuthError::Discovery`] naming the file.
pub fn write_key_file(path: &Path, token: &MasterToken) -> Result<(), AuthError> {
    key_file::write(path, token).map_err(key_file_error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Mutex, MutexGuard};

    use std::ffi::OsString;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use auth_hub_protocol::local::key_file::trimmed;

    use super::*;

    /// Environment variables are process-wide: every test touching them holds this lock.
    static ENV: Mutex<()> = Mutex::new(());

    const VARS: [&str; 8] = [
        SOCKET_VAR,
        TOKEN_VAR,
        HOME_VAR,
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "XDG_STATE_HOME",
        "XDG_DATA_HOME",
        "HOME",
    ];

    /// Holds the lock and restores every variable in [`VARS`] on drop.
    struct Env {
        saved: Vec<(&'static str, Option<OsString>)>,
        _guard: MutexGuard<'static, ()>,
    }

    impl Env {
        fn new() -> Self {
            let guard = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let saved = VARS
                .iter()
                .map(|name| (*name, std::env::var_os(name)))
                .collect();
            for name in VARS {
                std::env::remove_var(name);
            }
            Self {
                saved,
                _guard: guard,
            }
        }

        fn set(&self, name: &str, value: impl AsRef<std::ffi::OsStr>) {
            std::env::set_var(name, value);
        }
    }

    impl Drop for Env {
        fn drop(&mut self) {
            for (name, value) in &self.saved {
                match value {
                    Some(value) => std::env::set_var(name, value),
                    None => std::env::remove_var(name),
                }
            }
        }
    }

    #[test]
    fn socket_precedence() {
        let env = Env::new();
        let home = tempfile::tempdir().unwrap();
        env.set("HOME", home.path());

        let expected = ProjectDirs::from("", "", "auth-hub")
            .unwrap()
            .data_local_dir()
            .join(SOCKET_NAME);
        assert_eq!(socket_path().unwrap(), expected);

        env.set("XDG_RUNTIME_DIR", "");
        assert_eq!(socket_path().unwrap(), expected, "empty counts as unset");

        env.set("XDG_RUNTIME_DIR", "/run/user/1000");
        assert_eq!(
            socket_path().unwrap(),
            Path::new("/run/user/1000/auth-hub/auth-hub.sock")
        );

        env.set(HOME_VAR, "/srv/hub");
        assert_eq!(socket_path().unwrap(), Path::new("/srv/hub/auth-hub.sock"));
        assert_eq!(hub_home().unwrap(), Path::new("/srv/hub"));

        env.set(SOCKET_VAR, "/tmp/other.sock");
        assert_eq!(socket_path().unwrap(), Path::new("/tmp/other.sock"));
    }

    #[test]
    fn a_live_hub_record_wins_over_the_derived_socket() {
        let env = Env::new();
        let home = tempfile::tempdir().unwrap();
        env.set(HOME_VAR, home.path());
        let state = home.path().join("state");
        fs::create_dir_all(&state).unwrap();
        assert_eq!(state_dir().unwrap(), state);
        assert_eq!(socket_path().unwrap(), home.path().join(SOCKET_NAME));

        let record = crate::running::HubRecord::new(Path::new("/tmp/elsewhere.sock"), false);
        fs::write(state.join(crate::running::RECORD_FILE), record.to_json()).unwrap();
        assert_eq!(socket_path().unwrap(), Path::new("/tmp/elsewhere.sock"));
        assert_eq!(
            derived_socket_path().unwrap(),
            home.path().join(SOCKET_NAME)
        );

        // An explicit socket is used as given.
        env.set(SOCKET_VAR, "/tmp/explicit.sock");
        assert_eq!(socket_path().unwrap(), Path::new("/tmp/explicit.sock"));
        std::env::remove_var(SOCKET_VAR);

        // A record whose process is gone is ignored.
        let stale = crate::running::HubRecord {
            pid: 0x7fff_fff0,
            ..record
        };
        fs::write(state.join(crate::running::RECORD_FILE), stale.to_json()).unwrap();
        assert_eq!(socket_path().unwrap(), home.path().join(SOCKET_NAME));
    }

    #[test]
    fn key_file_precedence() {
        let env = Env::new();
        let home = tempfile::tempdir().unwrap();
        env.set("HOME", home.path());
        env.set("XDG_CONFIG_HOME", home.path().join("cfg"));
        assert_eq!(
            key_file_path().unwrap(),
            home.path().join("cfg/hyperforge/master.key")
        );
        env.set(HOME_VAR, home.path().join("hub"));
        assert_eq!(
            key_file_path().unwrap(),
            home.path().join("hub/client/master.key")
        );
    }

    #[test]
    fn saved_key_round_trips_with_private_modes() {
        let env = Env::new();
        let home = tempfile::tempdir().unwrap();
        env.set(HOME_VAR, home.path().join("hub"));
        assert!(master_token().unwrap().is_none(), "nothing saved yet");

        let token = MasterToken::from("TAUTH_owner--zabc");
        let saved = save_master_token(&token).unwrap();
        let path = home.path().join("hub/client/master.key");
        assert_eq!(saved, format!("key file {}", path.display()));
        assert_eq!(fs::read_to_string(&path).unwrap(), "TAUTH_owner--zabc\n");
        let file_mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!((file_mode, dir_mode), (0o600, 0o700));
        assert_eq!(master_token().unwrap().unwrap(), token);

        // Saving again replaces the key and leaves no temp file behind.
        save_master_token(&MasterToken::from("TAUTH_owner--znew")).unwrap();
        assert_eq!(
            master_token().unwrap().unwrap().expose(),
            "TAUTH_owner--znew"
        );
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn token_variable_overrides_the_saved_key() {
        let env = Env::new();
        let home = tempfile::tempdir().unwrap();
        env.set(HOME_VAR, home.path());
        save_master_token(&MasterToken::from("TAUTH_owner--zsaved")).unwrap();
        env.set(TOKEN_VAR, "");
        assert_eq!(
            master_token().unwrap().unwrap().expose(),
            "TAUTH_owner--zsaved"
        );
        env.set(TOKEN_VAR, "TAUTH_ci--zenv");
        assert_eq!(master_token().unwrap().unwrap().expose(), "TAUTH_ci--zenv");
    }

    #[test]
    fn client_options_from_env_use_discovery_and_defaults() {
        let env = Env::new();
        env.set(HOME_VAR, "/srv/hub");
        env.set(TOKEN_VAR, "TAUTH_ci--zenv\n");
        let options = crate::ClientOptions::from_env("hyperforge", "1.2.3").unwrap();
        assert_eq!(options.socket, Path::new("/srv/hub/auth-hub.sock"));
        assert_eq!(options.master_token.unwrap().expose(), "TAUTH_ci--zenv");
        assert_eq!(
            (
                options.client_name.as_str(),
                options.client_version.as_str()
            ),
            ("hyperforge", "1.2.3")
        );
        assert_eq!(options.wait, std::time::Duration::from_secs(60));
        assert_eq!(options.secret_ttl, std::time::Duration::from_secs(300));
        assert_eq!(options.max_frame, auth_hub_protocol::DEFAULT_MAX_FRAME);
        assert!(options.reason.is_empty());
    }

    #[test]
    fn loose_key_file_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        fs::write(&path, "TAUTH_owner--zabc\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = read_key_file(&path).unwrap_err().to_string();
        assert!(error.contains("mode 0644"), "{error}");
        assert!(
            error.contains(&format!("chmod 600 {}", path.display())),
            "{error}"
        );
        assert!(!error.contains("zabc"), "{error}");
    }

    #[test]
    fn only_one_trailing_newline_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        for (text, expected) in [("k\n", "k"), ("k\r\n", "k"), ("k\n\n", "k\n"), ("k", "k")] {
            let token = MasterToken::from(text);
            write_key_file(&path, &token).unwrap();
            // write_key_file adds one newline of its own.
            let read = read_key_file(&path).unwrap().unwrap();
            assert_eq!(read.expose(), text, "{text:?}");
            assert_eq!(trimmed(text.to_owned()).expose(), expected, "{text:?}");
        }
        fs::write(&path, "\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_key_file(&path)
            .unwrap_err()
            .to_string()
            .contains("is empty"));
    }
}
