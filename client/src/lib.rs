//! auth-hub-client: how hyperforge and any other tool get secrets from auth-hub.
//!
//! - [`AuthClient`]: the four operations a consumer needs, usable as `dyn AuthClient`.
//! - [`HubClient`]: the Unix-socket client; one multiplexed connection, reconnect, access-token
//!   cache until expiry, value cache for a short TTL, transparent re-request after a hub restart.
//! - [`read_once`]: one read in one round trip, blocking, for a process that reads one secret
//!   and exits; no runtime, no caches.
//! - [`FakeAuthClient`]: an in-memory implementation for consumers' unit tests.
//! - [`discover`]: where the socket and the master key are (`AUTH_HUB_SOCKET`, `AUTH_HUB_TOKEN`,
//!   `AUTH_HUB_HOME`, defaults, and the running hub's record in its state directory).
//! - [`running`]: the record a hub keeps of the socket it really listens on (from the protocol
//!   crate, which the hub shares).
//!
//! ```no_run
//! use auth_hub_client::{AuthClient, AuthError, ClientOptions, HubClient, SecretPath};
//!
//! # async fn run() -> Result<(), AuthError> {
//! let client = HubClient::new(ClientOptions::from_env("my-tool", env!("CARGO_PKG_VERSION"))?);
//! let path = SecretPath::parse("github/alice/token").map_err(|e| AuthError::BadRequest(e.to_string()))?;
//! // Asks for `github/alice/*` (waiting for approval if needed), then fetches the value.
//! let token = client.get_secret(&path).await?;
//! let _header = format!("Bearer {}", token.value.expose());
//! # Ok(())
//! # }
//! ```

pub mod auth_client;
pub mod cache;
pub mod connection;
pub mod discover;
pub mod error;
pub mod fake;
pub mod once;
pub mod options;
pub use auth_hub_protocol::local::running;
pub mod socket;

pub use auth_client::AuthClient;
pub use error::AuthError;
pub use fake::FakeAuthClient;
pub use once::{read_once, ReadOnce};
pub use options::ClientOptions;
pub use socket::HubClient;

pub use auth_hub_protocol as protocol;
pub use auth_hub_protocol::{Permissions, Secret, SecretPath, SecretScope, SecretValue};
