//! `validate_key`, `validate_jwt`, `issue_jwt` and `jwks` on the socket: the session's key is
//! the caller; the work is in `crate::identity::ops`, shared with the HTTP endpoints.
//!
//! Each is audited under its request's name with the subject's name (a key's name, a JWT's
//! `sub` or provider) and the outcome — never the token presented.

use std::sync::Arc;

use auth_hub_protocol::identity::{IssueJwt, Jwks, KeyState, ValidateJwt, ValidateKey};
use auth_hub_protocol::Response;
use chrono::Utc;
use subtle::ConstantTimeEq;

use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::hub::{lock, Hub};
use crate::identity::ops;
use crate::identity::signing::unverified_claims;
use crate::keys::KeyRecord;
use crate::session::Session;

/// The session's key record: live, and the very record the session authenticated with.
fn caller(hub: &Hub, session: &Session) -> Result<KeyRecord, HubError> {
    let key = session.require_key()?;
    lock(&hub.keys)
        .get(&key.name, Utc::now())
        .filter(|record| bool::from(record.hash.as_bytes().ct_eq(key.hash.as_bytes())))
        .cloned()
        .ok_or(HubError::InvalidMasterToken)
}

/// The caller, when it may validate others' credentials.
fn validator(hub: &Hub, session: &Session, operation: &'static str) -> Result<KeyRecord, HubError> {
    let record = caller(hub, session)?;
    if ops::may_validate(&record) {
        Ok(record)
    } else {
        audit(hub, session, operation, "denied", "no validate permission");
        Err(ops::validate_required(operation))
    }
}

fn audit(hub: &Hub, session: &Session, event: &str, outcome: &str, detail: &str) {
    hub.record(
        session,
        AuditRecord {
            event,
            outcome,
            detail: Some(detail),
            ..Default::default()
        },
    );
}

/// `validate_key` (needs `validate`).
///
/// # Errors
/// No `validate` permission.
pub fn validate_key(
    hub: &Arc<Hub>,
    session: &Session,
    request: &ValidateKey,
) -> Result<Response, HubError> {
    validator(hub, session, "validate_key")?;
    let validation = ops::validate_key(hub, &request.key);
    let outcome = ops::key_state_name(validation.state);
    let detail = match (&validation.name, validation.state) {
        (Some(name), _) => format!("subject key {name}"),
        (None, KeyState::Malformed) => "not an API key".to_owned(),
        (None, _) => "subject unknown".to_owned(),
    };
    audit(hub, session, "validate_key", outcome, &detail);
    Ok(Response::KeyValidation(validation))
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
    validator(hub, session, "validate_jwt")?;
    let validation = ops::validate_jwt(
        hub,
        &request.token,
        request.provider.as_ref(),
        request.audience.as_deref(),
    )
    .await;
    let issuer = validation
        .provider
        .as_ref()
        .map_or_else(|| "hub".to_owned(), ToString::to_string);
    let detail = if validation.active {
        let sub = validation
            .claims_json
            .as_deref()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
            .and_then(|claims| {
                claims
                    .get("sub")
                    .and_then(|sub| sub.as_str().map(str::to_owned))
            })
            .unwrap_or_default();
        format!("issuer {issuer}, subject {sub}")
    } else {
        format!(
            "issuer {issuer}: {}",
            validation.reason.as_deref().unwrap_or("refused")
        )
    };
    let outcome = if validation.active {
        "active"
    } else {
        "inactive"
    };
    audit(hub, session, "validate_jwt", outcome, &detail);
    Ok(Response::JwtValidation(validation))
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
    let record = caller(hub, session)?;
    let for_whom = match &request.subject {
        None => "self",
        Some(auth_hub_protocol::identity::SubjectToken::Key(_)) => "presented key",
        Some(auth_hub_protocol::identity::SubjectToken::Jwt { .. }) => "presented jwt",
    };
    match ops::issue_jwt(
        hub,
        &record,
        request.subject,
        &request.audience,
        request.ttl_ms,
    )
    .await
    {
        Ok(issued) => {
            let sub = unverified_claims(issued.token.expose())
                .ok()
                .and_then(|claims| {
                    claims
                        .get("sub")
                        .and_then(|sub| sub.as_str().map(str::to_owned))
                })
                .unwrap_or_default();
            let detail = format!(
                "for {for_whom}, subject {sub}, audience {}, kid {}",
                request.audience, issued.kid
            );
            audit(hub, session, "issue_jwt", "ok", &detail);
            Ok(Response::JwtIssued(issued))
        }
        Err(error) => {
            let detail = format!("for {for_whom}: {error}");
            audit(hub, session, "issue_jwt", error.code().as_str(), &detail);
            Err(error)
        }
    }
}

/// `jwks` (any key).
///
/// # Errors
/// A keyless session.
pub fn jwks(hub: &Arc<Hub>, session: &Session, request: &Jwks) -> Result<Response, HubError> {
    let Jwks {} = request;
    session.require_key()?;
    let reply = ops::jwks(hub);
    audit(hub, session, "jwks", "ok", "public keys");
    Ok(Response::Jwks(reply))
}
