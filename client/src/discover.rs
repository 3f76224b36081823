//! Where the hub's socket and the client's master key are. SKELETON: signatures fixed.
//!
//! Layout (must match the daemon's `paths.rs`):
//! - `AUTH_HUB_HOME=DIR`: socket `DIR/auth-hub.sock`, saved key `DIR/client/master.key`.
//! - otherwise: socket `$XDG_RUNTIME_DIR/auth-hub/auth-hub.sock` (fallback: the hub's state
//!   directory), saved key in the OS keychain (service `auth-hub`, user `owner`) where one answers,
//!   else `<config dir>/hyperforge/master.key` (0600).
//! - `AUTH_HUB_SOCKET` overrides the socket; `AUTH_HUB_TOKEN` overrides the saved key.

use std::path::PathBuf;

use auth_hub_protocol::MasterToken;

use crate::error::AuthError;

/// The hub's home when `AUTH_HUB_HOME` is set.
pub fn hub_home() -> Option<PathBuf> {
    unimplemented!("skeleton")
}

/// The socket to connect to.
///
/// # Errors
/// [`AuthError::BackendError`] when neither a variable nor a home directory gives one.
pub fn socket_path() -> Result<PathBuf, AuthError> {
    unimplemented!("skeleton")
}

/// The master key: `AUTH_HUB_TOKEN`, else the saved key, else `None`.
///
/// # Errors
/// [`AuthError::BackendError`] when a saved key exists but cannot be read.
pub fn master_token() -> Result<Option<MasterToken>, AuthError> {
    unimplemented!("skeleton")
}

/// Saves the owner key where [`master_token`] finds it; returns a description of where.
///
/// # Errors
/// [`AuthError::BackendError`] when it cannot be written.
pub fn save_master_token(token: &MasterToken) -> Result<String, AuthError> {
    let _ = token;
    unimplemented!("skeleton")
}
