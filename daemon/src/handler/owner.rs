//! The owner's operations: login, pending requests, grants, revocation, keys and the audit log
//! (`status` is [`super::status`]). Everything here but `login` needs the owner key; a service key can
//! never approve anything, its own requests included.

use std::sync::Arc;
use std::time::Duration;

use auth_hub_protocol::provider::Actor;
use auth_hub_protocol::request::{
    CreateKey, Deny, Grant, ImportKey, Login, ReadAudit, Revoke, RevokeKey,
};
use auth_hub_protocol::response::{
    AuditReply, DenyReply, GrantList, GrantReply, KeyCreated, KeyList, KeyRevokeReply, PendingList,
    RevokeReply,
};
use auth_hub_protocol::{ApiKey, Response, SecretScope};
use chrono::{DateTime, Utc};

use crate::audit::{AuditLog, AuditRecord};
use crate::error::HubError;
use crate::grants::StandingGrant;
use crate::hub::{lock, Hub};
use crate::keys::ServiceKeyOptions;
use crate::session::Session;

/// Most bytes of audit lines returned at once, to stay well inside a client's frame limit.
const MAX_AUDIT_BYTES: usize = 768 * 1024;

/// Handles `login`: creates the owner key on a keyless session of a hub without an owner.
///
/// # Errors
/// A session with a key, a hub that has an owner already.
pub fn login(hub: &Hub, session: &Session, request: &Login) -> Result<Response, HubError> {
    if session.key.is_some() {
        return Err(HubError::BadRequest(
            "login creates the owner key; connect without a key".into(),
        ));
    }
    let name = if request.name.is_empty() {
        "owner"
    } else {
        &request.name
    };
    // A keyless session: the key created is the one that acts.
    let by = peer_actor(session, name);
    let (key, info) = lock(&hub.keys).create_owner_by(name, Some(by), Utc::now())?;
    hub.record(
        session,
        AuditRecord {
            event: "login",
            key: Some(name),
            outcome: "ok",
            ..Default::default()
        },
    );
    Ok(Response::KeyCreated(KeyCreated {
        key: Some(key),
        info,
    }))
}

/// Handles `list_pending` (and the first answer of `watch_pending`).
///
/// # Errors
/// Not the owner key.
pub fn list_pending(hub: &Hub, session: &Session) -> Result<Response, HubError> {
    session.require_owner("list_pending")?;
    Ok(Response::Pending(PendingList {
        requests: lock(&hub.pending).list(),
    }))
}

/// Handles `grant`: approves matching pending requests (and keeps standing grants unless
/// `once`), or pre-grants when nothing is pending.
///
/// # Errors
/// Not the owner key; a read grant for requests that want write; `once` with nothing pending;
/// an unknown key for a pre-grant; grant persistence errors.
pub fn grant(hub: &Hub, session: &Session, request: &Grant) -> Result<Response, HubError> {
    session.require_owner("grant")?;
    let now = Utc::now();
    let expires_at = expiry(now, request.ttl_ms)?;
    let mut pending = lock(&hub.pending);
    let matching: Vec<_> = pending
        .list()
        .into_iter()
        .filter(|p| request.request_id.is_none_or(|id| p.id == id))
        .filter(|p| {
            p.scopes
                .iter()
                .any(|scope| request.scope.covers_scope(scope))
        })
        .collect();
    if let Some(wants_more) = matching
        .iter()
        .find(|p| !request.permissions.includes(p.permissions))
    {
        if matching
            .iter()
            .all(|p| !request.permissions.includes(p.permissions))
        {
            return Err(HubError::BadRequest(format!(
                "pending request {} asks for {} on {}; grant with --write",
                wants_more.id, wants_more.permissions, request.scope
            )));
        }
    }
    if request.request_id.is_some() && matching.is_empty() {
        return Err(HubError::BadRequest(format!(
            "no pending request with that id covers {}",
            request.scope
        )));
    }
    let outcomes = pending.grant(&request.scope, request.permissions, request.request_id);
    drop(pending);

    let mut approved = Vec::new();
    let mut keys_approved = Vec::new();
    for outcome in &outcomes {
        if outcome.approved.is_empty() {
            continue;
        }
        approved.push(outcome.id);
        if !keys_approved.contains(&outcome.key_name) {
            keys_approved.push(outcome.key_name.clone());
        }
        // The waiting request announces its own end (handler/scope.rs), once.
    }
    if approved.is_empty() {
        if request.once {
            return Err(HubError::BadRequest(format!(
                "nothing is pending for {}; --once approves waiting requests only",
                request.scope
            )));
        }
        let key_name = match &request.key {
            Some(name) => {
                lock(&hub.keys)
                    .get(name, now)
                    .ok_or_else(|| HubError::BadRequest(format!("no live key named {name}")))?;
                name.clone()
            }
            None => lock(&hub.keys)
                .owner()
                .map(|owner| owner.name.clone())
                .ok_or_else(|| HubError::BadRequest("the hub has no owner key".into()))?,
        };
        keys_approved.push(key_name);
    }
    let mut grants = Vec::new();
    if !request.once {
        let mut book = lock(&hub.grants);
        for key_name in keys_approved {
            grants.push(book.add(StandingGrant {
                key_name,
                scope: request.scope.clone(),
                permissions: request.permissions,
                created_at: now,
                expires_at,
            })?);
        }
    }
    hub.record(
        session,
        AuditRecord {
            event: "grant",
            scope: Some(request.scope.as_str()),
            outcome: "ok",
            detail: Some(&format!("approved {approved:?}, standing {}", grants.len())),
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::Granted(GrantReply { approved, grants }))
}

/// Handles `deny`.
///
/// # Errors
/// Not the owner key; nothing pending for the scope.
pub fn deny(hub: &Hub, session: &Session, request: &Deny) -> Result<Response, HubError> {
    session.require_owner("deny")?;
    // The waiting requests announce their own ends (handler/scope.rs), once.
    let denied = lock(&hub.pending).deny(&request.scope, request.request_id);
    if denied.is_empty() {
        return Err(HubError::BadRequest(format!(
            "nothing is pending for {}",
            request.scope
        )));
    }
    hub.record(
        session,
        AuditRecord {
            event: "deny",
            scope: Some(request.scope.as_str()),
            outcome: "ok",
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::Denied(DenyReply { denied }))
}

/// Handles `list_grants`.
///
/// # Errors
/// Not the owner key.
pub fn list_grants(hub: &Hub, session: &Session) -> Result<Response, HubError> {
    session.require_owner("list_grants")?;
    Ok(Response::Grants(GrantList {
        grants: lock(&hub.grants).list(Utc::now()),
    }))
}

/// Handles `revoke`: removes the standing grants the scope covers and kills every access token
/// issued under the scope, at once.
///
/// # Errors
/// Not the owner key; grant persistence errors.
pub fn revoke(hub: &Hub, session: &Session, request: &Revoke) -> Result<Response, HubError> {
    session.require_owner("revoke")?;
    let removed = lock(&hub.grants).revoke(&request.scope, request.key.as_deref())?;
    let tokens = hub
        .tokens
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .revoke_scope(&request.scope, request.key.as_deref());
    hub.record(
        session,
        AuditRecord {
            event: "revoke",
            scope: Some(request.scope.as_str()),
            outcome: "ok",
            detail: Some(&format!("{} grants, {tokens} tokens", removed.len())),
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::Revoked(RevokeReply {
        grants: count(removed.len()),
        tokens: count(tokens),
    }))
}

/// Handles `create_key`: a service key with pre-granted scopes, shown once.
///
/// # Errors
/// Not the owner key; a bad or taken name; persistence errors.
pub fn create_key(hub: &Hub, session: &Session, request: &CreateKey) -> Result<Response, HubError> {
    session.require_owner("create_key")?;
    let now = Utc::now();
    let expires_at = request.expires_at_ms.map(millis_to_time).transpose()?;
    let options = ServiceKeyOptions {
        scopes: request.scopes.clone(),
        permissions: request.permissions,
        expires_at,
        validate: request.validate,
        created_by: session.actor(),
    };
    let (key, info) = lock(&hub.keys).create_service_with(&request.name, options, now)?;
    hub.record(
        session,
        AuditRecord {
            event: "key_create",
            detail: Some(&if request.validate {
                format!("{} (validate)", request.name)
            } else {
                request.name.clone()
            }),
            outcome: "ok",
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::KeyCreated(KeyCreated {
        key: Some(key),
        info,
    }))
}

/// Handles `import_key` (legacy `MELT_` keys).
///
/// # Errors
/// Not the owner key; a malformed key; persistence errors.
pub fn import_key(hub: &Hub, session: &Session, request: &ImportKey) -> Result<Response, HubError> {
    session.require_owner("import_key")?;
    let key = ApiKey::parse(request.key.expose())
        .map_err(|error| HubError::BadRequest(error.to_string()))?;
    let expires_at = request.expires_at_ms.map(millis_to_time).transpose()?;
    let options = ServiceKeyOptions {
        scopes: request.scopes.clone(),
        permissions: request.permissions,
        expires_at,
        validate: false,
        created_by: session.actor(),
    };
    let info = lock(&hub.keys).import_with(&key, options, Utc::now())?;
    hub.record(
        session,
        AuditRecord {
            event: "key_import",
            detail: Some(key.name()),
            outcome: "ok",
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::KeyCreated(KeyCreated { key: None, info }))
}

/// Handles `list_keys`.
///
/// # Errors
/// Not the owner key.
pub fn list_keys(hub: &Hub, session: &Session) -> Result<Response, HubError> {
    session.require_owner("list_keys")?;
    Ok(Response::Keys(KeyList {
        keys: lock(&hub.keys).list(),
    }))
}

/// Handles `revoke_key`: soft-deletes the key, kills its tokens and drops its grants, at once.
///
/// # Errors
/// Not the owner key; unknown key; the owner key itself; persistence errors.
pub fn revoke_key(hub: &Hub, session: &Session, request: &RevokeKey) -> Result<Response, HubError> {
    session.require_owner("revoke_key")?;
    let info = lock(&hub.keys).revoke_by(&request.name, session.actor(), Utc::now())?;
    let tokens = hub
        .tokens
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .revoke_key(&request.name);
    lock(&hub.grants).revoke(&SecretScope::everything(), Some(&request.name))?;
    hub.record(
        session,
        AuditRecord {
            event: "key_revoke",
            detail: Some(&request.name),
            outcome: "ok",
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::KeyRevoked(KeyRevokeReply {
        name: info.name,
        tokens: count(tokens),
    }))
}

/// Handles `read_audit`.
///
/// # Errors
/// Not the owner key; the log cannot be read.
pub async fn read_audit(
    hub: &Arc<Hub>,
    session: &Session,
    request: &ReadAudit,
) -> Result<Response, HubError> {
    session.require_owner("read_audit")?;
    let (hub2, limit, verify) = (hub.clone(), request.limit as usize, request.verify);
    tokio::task::spawn_blocking(move || {
        let mut lines = hub2.audit.tail(limit)?;
        let mut size = 0;
        let keep = lines.iter().rev().take_while(|line| {
            size += line.len() + 16;
            size <= MAX_AUDIT_BYTES
        });
        let kept = keep.count();
        lines.drain(..lines.len() - kept);
        let verification = if verify {
            let anchors: Vec<_> = hub2
                .findings
                .opened_anchor
                .iter()
                .cloned()
                .chain([hub2.audit.durable_head()])
                .collect();
            Some(AuditLog::verify(&hub2.paths.audit_file(), &anchors)?)
        } else {
            None
        };
        Ok(Response::Audit(AuditReply {
            lines,
            verification,
        }))
    })
    .await
    .unwrap_or_else(|_| Err(HubError::Setup("reading the audit log panicked".into())))
}

/// The actor for a keyless session (`login`, `recover`): the key it creates, with the peer
/// process that asked.
pub(crate) fn peer_actor(session: &Session, key_name: &str) -> Actor {
    Actor {
        key: key_name.to_owned(),
        uid: session.peer.uid,
        pid: session.peer.pid.and_then(|pid| u32::try_from(pid).ok()),
        exe: session.peer.exe.clone(),
    }
}

/// Makes the audit lines written so far durable; a failure is logged, never shown to the client.
pub(crate) fn flush_audit(hub: &Hub) {
    if let Err(error) = hub.audit.flush() {
        tracing::error!(%error, "cannot flush the audit log");
    }
}

fn expiry(now: DateTime<Utc>, ttl_ms: Option<u64>) -> Result<Option<DateTime<Utc>>, HubError> {
    ttl_ms
        .map(|ms| {
            chrono::Duration::from_std(Duration::from_millis(ms))
                .ok()
                .and_then(|ttl| now.checked_add_signed(ttl))
                .ok_or_else(|| HubError::BadRequest(format!("ttl of {ms} ms is out of range")))
        })
        .transpose()
}

fn millis_to_time(ms: i64) -> Result<DateTime<Utc>, HubError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| HubError::BadRequest(format!("time {ms} ms is out of range")))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
