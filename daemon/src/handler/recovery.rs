//! Owner-key recovery: `start_recovery` and `recover`, both on a keyless session (the owner key
//! is what was lost). The proof of local control is reading the code file the hub writes into
//! its 0700 state directory (`crate::recovery`). A successful recovery revokes the old owner key
//! and kills its access tokens, creates a new owner key of the same name (so standing grants
//! keep applying), and leaves secrets, grants and service keys as they are. Every step is
//! audited.

use std::time::Instant;

use auth_hub_protocol::request::Recover;
use auth_hub_protocol::response::{KeyCreated, RecoveryStarted};
use auth_hub_protocol::Response;
use chrono::Utc;

use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::handler::owner::flush_audit;
use crate::hub::{lock, Hub};
use crate::session::Session;

/// Refuses a session that has a key: recovery is for a lost owner key, and an owner who still
/// has it should not need one.
fn require_keyless(session: &Session, operation: &str) -> Result<(), HubError> {
    if session.key.is_some() {
        return Err(HubError::BadRequest(format!(
            "{operation} replaces a lost owner key; connect without a key"
        )));
    }
    Ok(())
}

/// Handles `start_recovery`: writes a fresh one-time code into the state directory.
///
/// # Errors
/// A session with a key; a hub without an owner key; the code file cannot be written.
pub fn start_recovery(hub: &Hub, session: &Session) -> Result<Response, HubError> {
    require_keyless(session, "start_recovery")?;
    if !lock(&hub.keys).has_owner() {
        return Err(HubError::BadRequest(
            "the hub has no owner key to recover; create one with `hyperforge auth login`".into(),
        ));
    }
    let (file, lifetime) = hub
        .recovery
        .issue(Instant::now())
        .map_err(|error| HubError::Setup(error.to_string()))?;
    hub.record(
        session,
        AuditRecord {
            event: "recovery_start",
            outcome: "ok",
            detail: Some(&format!("code written to {}", file.display())),
            ..Default::default()
        },
    );
    flush_audit(hub);
    tracing::warn!(file = %file.display(), "owner-key recovery started");
    Ok(Response::RecoveryStarted(RecoveryStarted {
        code_file: file.display().to_string(),
        expires_in_ms: u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX),
    }))
}

/// Handles `recover`: checks the one-time code and replaces the owner key.
///
/// # Errors
/// A session with a key; a missing, expired or wrong code (the recovery is then cancelled);
/// key persistence errors.
pub fn recover(hub: &Hub, session: &Session, request: &Recover) -> Result<Response, HubError> {
    require_keyless(session, "recover")?;
    if let Err(error) = hub.recovery.redeem(request.code.expose(), Instant::now()) {
        hub.record(
            session,
            AuditRecord {
                event: "recover",
                outcome: "refused",
                detail: Some(&error.to_string()),
                ..Default::default()
            },
        );
        flush_audit(hub);
        return Err(HubError::BadRequest(error.to_string()));
    }
    let (key, info) = {
        let mut keys = lock(&hub.keys);
        let by = keys
            .owner()
            .map(|owner| super::owner::peer_actor(session, &owner.name));
        keys.rotate_owner_by(by, Utc::now())?
    };
    let tokens = hub
        .tokens
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .revoke_key(&info.name);
    hub.record(
        session,
        AuditRecord {
            event: "recover",
            outcome: "ok",
            detail: Some(&format!(
                "owner key {} replaced; the old one is revoked and its {tokens} access tokens killed",
                info.name
            )),
            ..Default::default()
        },
    );
    flush_audit(hub);
    tracing::warn!(key = %info.name, "owner key replaced by recovery");
    Ok(Response::KeyCreated(KeyCreated {
        key: Some(key),
        info,
    }))
}
