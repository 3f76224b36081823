//! The Unix-socket client. SKELETON: signatures fixed, bodies to be written.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use auth_hub_protocol::request::Request;
use auth_hub_protocol::response::{PendingRequest, ScopeOutcome, SecretEntry};
use auth_hub_protocol::{
    Event, MasterToken, Permissions, Response, Secret, SecretPath, SecretScope, Welcome,
};
use tokio::sync::mpsc;

use crate::auth_client::AuthClient;
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
    /// [`AuthError::BackendError`] when no socket path can be derived, key file read errors.
    pub fn from_env(client_name: &str, client_version: &str) -> Result<Self, AuthError> {
        let _ = (client_name, client_version);
        unimplemented!("skeleton")
    }
}

/// A client of one hub: one connection (opened on first use), many requests in flight.
#[derive(Clone)]
pub struct HubClient {
    _private: (),
}

impl HubClient {
    /// A client that connects on first use.
    pub fn new(options: ClientOptions) -> Self {
        let _ = options;
        unimplemented!("skeleton")
    }

    /// Connects and completes the hello now.
    ///
    /// # Errors
    /// [`AuthError::Unreachable`], [`AuthError::InvalidMasterToken`], [`AuthError::UnsupportedVersion`].
    pub async fn connect(options: ClientOptions) -> Result<Self, AuthError> {
        let _ = options;
        unimplemented!("skeleton")
    }

    /// The hub's welcome for the current connection (connecting if needed).
    ///
    /// # Errors
    /// As [`HubClient::connect`].
    pub async fn welcome(&self) -> Result<Welcome, AuthError> {
        unimplemented!("skeleton")
    }

    /// Sends any request and returns its successful response; an error reply becomes the matching
    /// [`AuthError`]. Reconnects once if the connection was found closed.
    ///
    /// # Errors
    /// The error the hub replied with, or a connection error.
    pub async fn call(&self, request: Request) -> Result<Response, AuthError> {
        let _ = request;
        unimplemented!("skeleton")
    }

    /// Requests several scopes together (decided together by the owner); caches granted tokens.
    ///
    /// # Errors
    /// Connection errors; per-scope refusals are in the outcomes.
    pub async fn request_scopes(
        &self,
        scopes: &[SecretScope],
        permissions: Permissions,
        wait: Duration,
    ) -> Result<Vec<ScopeOutcome>, AuthError> {
        let _ = (scopes, permissions, wait);
        unimplemented!("skeleton")
    }

    /// Deletes a secret (owner key: no scope needed).
    ///
    /// # Errors
    /// As [`AuthClient::get_secret`].
    pub async fn delete_secret(&self, path: &SecretPath) -> Result<(), AuthError> {
        let _ = path;
        unimplemented!("skeleton")
    }

    /// Lists secrets with their metadata.
    ///
    /// # Errors
    /// As [`AuthClient::list_secrets`].
    pub async fn list_entries(&self, prefix: &str) -> Result<Vec<SecretEntry>, AuthError> {
        let _ = prefix;
        unimplemented!("skeleton")
    }

    /// Subscribes to pending-request events: the requests pending now, then a stream of events.
    ///
    /// # Errors
    /// As [`HubClient::call`]; needs the owner key.
    pub async fn watch_pending(
        &self,
    ) -> Result<(Vec<PendingRequest>, mpsc::Receiver<Event>), AuthError> {
        unimplemented!("skeleton")
    }
}

#[async_trait]
impl AuthClient for HubClient {
    async fn get_secret(&self, path: &SecretPath) -> Result<Secret, AuthError> {
        let _ = path;
        unimplemented!("skeleton")
    }

    async fn put_secret(&self, path: &SecretPath, value: &str) -> Result<(), AuthError> {
        let _ = (path, value);
        unimplemented!("skeleton")
    }

    async fn list_secrets(&self, prefix: &str) -> Result<Vec<SecretPath>, AuthError> {
        let _ = prefix;
        unimplemented!("skeleton")
    }

    async fn has_scope(&self, scope: &SecretScope) -> bool {
        let _ = scope;
        unimplemented!("skeleton")
    }
}
