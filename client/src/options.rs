//! [`ClientOptions`]: how a [`crate::HubClient`] reaches the hub (socket, key, names) and how it
//! behaves (how long it waits for approval, how long it reuses a secret).

use std::path::PathBuf;
use std::time::Duration;

use auth_hub_protocol::{Hello, MasterToken, DEFAULT_MAX_FRAME, PROTOCOL_VERSION};

use crate::discover;
use crate::error::AuthError;

/// How to reach the hub and how to behave.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The hub's socket.
    pub socket: PathBuf,
    /// The API key sent in the hello; `None` for a keyless session (status, login).
    pub master_token: Option<MasterToken>,
    /// This program's name, shown to approvers and in the audit log.
    pub client_name: String,
    /// This program's version.
    pub client_version: String,
    /// How long a scope request may wait for the owner's approval (0: do not wait).
    pub wait: Duration,
    /// How long a fetched secret value is reused without asking the hub again.
    pub secret_ttl: Duration,
    /// Largest frame accepted from the hub.
    pub max_frame: usize,
    /// Reason shown to the owner with scope requests.
    pub reason: String,
}

impl ClientOptions {
    /// Options from the environment: socket and key found by [`crate::discover`], wait 60 s,
    /// secret TTL 5 min.
    ///
    /// # Errors
    /// [`AuthError::Discovery`] when no socket path can be derived, key file read errors.
    pub fn from_env(client_name: &str, client_version: &str) -> Result<Self, AuthError> {
        Ok(Self {
            master_token: discover::master_token()?,
            ..Self::new(discover::socket_path()?, client_name, client_version)
        })
    }

    /// Options for an explicit socket, without a key, with the same defaults as
    /// [`ClientOptions::from_env`]; set `master_token` and the rest as needed.
    pub fn new(socket: impl Into<PathBuf>, client_name: &str, client_version: &str) -> Self {
        Self {
            socket: socket.into(),
            master_token: None,
            client_name: client_name.to_owned(),
            client_version: client_version.to_owned(),
            wait: Duration::from_secs(60),
            secret_ttl: Duration::from_secs(5 * 60),
            max_frame: DEFAULT_MAX_FRAME,
            reason: String::new(),
        }
    }

    /// The hello that opens a connection with these options.
    pub(crate) fn hello(&self) -> Hello {
        Hello {
            protocol_version: PROTOCOL_VERSION,
            client_name: self.client_name.clone(),
            client_version: self.client_version.clone(),
            master_token: self.master_token.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_defaults() {
        let options = ClientOptions::new("/tmp/hub.sock", "test", "1.0");
        assert_eq!(options.wait, Duration::from_secs(60));
        assert_eq!(options.secret_ttl, Duration::from_secs(300));
        assert_eq!(options.max_frame, DEFAULT_MAX_FRAME);
        assert!(options.reason.is_empty() && options.master_token.is_none());
    }
}
