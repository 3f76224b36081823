//! The identity operations, shared by the socket handlers (`handler/identity.rs`) and the
//! loopback HTTP endpoints (`http/`): who the caller is, and what it may ask.

use std::sync::Arc;

use auth_hub_protocol::identity::{
    IssuedJwt, JwksReply, JwtValidation, KeyValidation, SubjectToken,
};
use auth_hub_protocol::{Jwt, MasterToken, ProviderId};

use crate::error::HubError;
use crate::hub::Hub;
use crate::keys::KeyRecord;

/// Whether `presented` is an active API key, and what it may do.
pub fn validate_key(hub: &Hub, presented: &MasterToken) -> KeyValidation {
    let _ = (hub, presented);
    unimplemented!("ops")
}

/// Validates a hub JWT (its `iss` is the hub's) or a provider's (the record named, else the
/// live OIDC records whose issuer is the token's `iss`). Runs JWKS fetches on the blocking pool.
pub async fn validate_jwt(
    hub: &Arc<Hub>,
    token: &Jwt,
    provider: Option<&ProviderId>,
    audience: Option<&str>,
) -> JwtValidation {
    let _ = (hub, token, provider, audience);
    unimplemented!("ops")
}

/// Issues a hub JWT for `subject` (validated first), or for `caller` itself when `subject` is
/// `None`. A subject other than the caller needs the caller's `validate` permission.
///
/// # Errors
/// [`HubError::BadRequest`] (no `validate` permission, a bad audience or ttl),
/// [`HubError::InvalidToken`] (the subject's key or JWT is not valid), or a signing failure.
pub async fn issue_jwt(
    hub: &Arc<Hub>,
    caller: &KeyRecord,
    subject: Option<SubjectToken>,
    audience: &str,
    ttl_ms: Option<u64>,
) -> Result<IssuedJwt, HubError> {
    let _ = (hub, caller, subject, audience, ttl_ms);
    unimplemented!("ops")
}

/// The hub's JWK Set.
pub fn jwks(hub: &Hub) -> JwksReply {
    let _ = hub;
    unimplemented!("ops")
}

/// The live key a bearer credential names (the HTTP endpoints' caller).
///
/// # Errors
/// [`HubError::InvalidMasterToken`].
pub fn authenticate_bearer(hub: &Hub, bearer: &MasterToken) -> Result<KeyRecord, HubError> {
    let _ = (hub, bearer);
    unimplemented!("ops")
}
