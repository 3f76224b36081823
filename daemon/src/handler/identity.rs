//! `validate_key`, `validate_jwt`, `issue_jwt` and `jwks` on the socket: the session's key is
//! the caller; the work is in `crate::identity::ops`, shared with the HTTP endpoints.

use std::sync::Arc;

use auth_hub_protocol::identity::{IssueJwt, Jwks, ValidateJwt, ValidateKey};
use auth_hub_protocol::Response;

use crate::error::HubError;
use crate::hub::Hub;
use crate::session::Session;

/// `validate_key` (needs `validate`).
///
/// # Errors
/// No `validate` permission.
pub fn validate_key(
    hub: &Arc<Hub>,
    session: &Session,
    request: &ValidateKey,
) -> Result<Response, HubError> {
    let _ = (hub, session, request);
    unimplemented!("identity")
}

/// `validate_jwt` (needs `validate`).
///
/// # Errors
/// No `validate` permission.
pub async fn validate_jwt(
    hub: &Arc<Hub>,
    session: &Session,
    request: ValidateJwt,
) -> Result<Response, HubError> {
    let _ = (hub, session, request);
    unimplemented!("identity")
}

/// `issue_jwt`.
///
/// # Errors
/// See [`crate::identity::ops::issue_jwt`].
pub async fn issue_jwt(
    hub: &Arc<Hub>,
    session: &Session,
    request: IssueJwt,
) -> Result<Response, HubError> {
    let _ = (hub, session, request);
    unimplemented!("identity")
}

/// `jwks` (any key).
///
/// # Errors
/// A keyless session.
pub fn jwks(hub: &Arc<Hub>, session: &Session, request: &Jwks) -> Result<Response, HubError> {
    let _ = (hub, session, request);
    unimplemented!("identity")
}
