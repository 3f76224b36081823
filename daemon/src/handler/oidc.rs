//! OIDC logins: the CLI runs the device flow (RFC 8628) against the provider and hands the
//! tokens here; the hub validates the id_token against the provider's record and JWKS and stores
//! the tokens as secrets under `oidc/ORG/APP/TYPE/` (`id_token`, `access_token`,
//! `refresh_token`). `oidc_refresh` uses the stored refresh token at the provider's token
//! endpoint and stores what comes back, validated the same way.

use std::sync::Arc;

use auth_hub_protocol::identity::{OidcLogin, OidcRefresh, OidcSession};
use auth_hub_protocol::Response;

use crate::error::HubError;
use crate::hub::Hub;
use crate::session::Session;

/// `oidc_login` (owner).
///
/// # Errors
/// Owner key required; no such OIDC provider; [`HubError::InvalidToken`]; a store error.
pub async fn oidc_login(
    hub: &Arc<Hub>,
    session: &Session,
    request: OidcLogin,
) -> Result<Response, HubError> {
    let _ = (hub, session, request);
    unimplemented!("oidc")
}

/// `oidc_refresh` (owner).
///
/// # Errors
/// Owner key required; no login or no refresh token; the provider refused; a store error.
pub async fn oidc_refresh(
    hub: &Arc<Hub>,
    session: &Session,
    request: OidcRefresh,
) -> Result<Response, HubError> {
    let _ = (hub, session, request);
    unimplemented!("oidc")
}

/// The logins the hub holds, for `status`.
pub async fn logins(hub: &Arc<Hub>) -> Vec<OidcSession> {
    let _ = hub;
    Vec::new()
}
