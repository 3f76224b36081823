//! The owner session the tools drive the hub with: the owner key created over the protocol
//! (`login` on a session without a key), and client options for it.

use std::path::Path;
use std::time::Duration;

use auth_hub_client::{AuthError, ClientOptions, HubClient};
use auth_hub_protocol::request::Login;
use auth_hub_protocol::{MasterToken, Request, Response};

/// Client options for `socket` with `token`: no waiting for prompts, no value cache.
pub fn options(socket: &Path, token: Option<MasterToken>, name: &str) -> ClientOptions {
    ClientOptions {
        socket: socket.to_path_buf(),
        master_token: token,
        client_name: name.into(),
        client_version: env!("CARGO_PKG_VERSION").into(),
        wait: Duration::ZERO,
        secret_ttl: Duration::ZERO,
        max_frame: auth_hub_protocol::DEFAULT_MAX_FRAME,
        reason: "abuse harness".into(),
    }
}

/// Creates the owner key of a hub that has none and returns it.
///
/// # Errors
/// The hub refused (it already has an owner) or the connection failed.
pub async fn login(socket: &Path) -> Result<MasterToken, AuthError> {
    let client = HubClient::new(options(socket, None, "abuse-login"));
    match client
        .call(Request::Login(Login {
            name: String::new(),
        }))
        .await?
    {
        Response::KeyCreated(created) => created
            .key
            .ok_or_else(|| AuthError::Protocol("login answered without a key".into())),
        _ => Err(AuthError::Protocol("unexpected answer to login".into())),
    }
}
