//! `request_scope` and `has_scope`: deciding whether a key gets an access token for a scope.
//!
//! For each scope asked: the owner's write-only requests are granted (the owner writes without a
//! prompt); a service key's own pre-granted scopes, then the key's standing grants, then the
//! policy decide (for the owner key, knowing whether a registered repository declares the scope,
//! for `[policy] declared`). Scopes that need a prompt are parked together as one pending request, shown to
//! the owner, and decided together or one by one; the client waits up to its `wait_ms`, capped by
//! the hub's grant timeout.

use std::sync::Arc;
use std::time::Duration;

use auth_hub_protocol::request::{HasScope, RequestScope};
use auth_hub_protocol::response::{
    HasScopeReply, PendingRequest, ScopeOutcome, ScopeOutcomes, ScopeResult, ScopeToken,
};
use auth_hub_protocol::{
    command::grant_command_for, Access, Event, PendingOutcome, PendingResolved, Permissions,
    Response, SecretScope,
};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::grants::Decision;
use crate::hub::{lock, Hub};
use crate::keys::KeyRecord;
use crate::policy::Action;
use crate::session::Session;

/// Most scopes in one request.
const MAX_SCOPES: usize = 64;
/// Longest reason kept, in characters.
const MAX_REASON: usize = 256;

/// What can be decided without asking the owner.
enum Immediate {
    /// Granted; the token may not outlive this.
    Allow(Option<DateTime<Utc>>),
    /// Refused, with the reason.
    Deny(String),
    /// The owner must decide.
    Prompt,
}

/// Handles `request_scope`.
///
/// # Errors
/// Malformed requests, a keyless session, a revoked key, too many pending requests.
pub async fn request_scope(
    hub: &Arc<Hub>,
    session: &Session,
    closed: &CancellationToken,
    request: RequestScope,
) -> Result<Response, HubError> {
    let key = live_key(hub, session)?;
    if request.scopes.is_empty() || request.scopes.len() > MAX_SCOPES {
        return Err(HubError::BadRequest(format!(
            "request 1 to {MAX_SCOPES} scopes, not {}",
            request.scopes.len()
        )));
    }
    if request.permissions.is_empty() {
        return Err(HubError::BadRequest(
            "request read or write permission (or both)".into(),
        ));
    }
    let config = hub.config();
    let now = Utc::now();
    let wanted: Vec<Access> = request
        .scopes
        .iter()
        .map(|scope| Access::new(scope.clone(), request.permissions))
        .collect();
    let mut results: Vec<Option<Result<ScopeToken, HubError>>> =
        std::iter::repeat_with(|| None).take(wanted.len()).collect();
    let mut to_prompt = Vec::new();
    for (index, scope) in wanted.iter().enumerate() {
        match decide_now(hub, &key, scope, now) {
            Immediate::Allow(limit) => {
                results[index] = Some(issue(hub, session, &key.name, scope, limit, now))
            }
            Immediate::Deny(message) => {
                results[index] = Some(Err(refuse(hub, session, scope, message)))
            }
            Immediate::Prompt => to_prompt.push(index),
        }
    }

    if !to_prompt.is_empty() {
        let wait = Duration::from_millis(request.wait_ms).min(config.policy.grant_timeout);
        if wait.is_zero() {
            for &index in &to_prompt {
                let message = format!(
                    "{} needs the owner's approval and the request did not wait; run `{}`",
                    wanted[index].scope,
                    grant_command_for(
                        wanted[index].scope.as_str(),
                        wanted[index].permissions,
                        service_key_name(session)
                    )
                );
                results[index] = Some(Err(refuse(hub, session, &wanted[index], message)));
            }
        } else {
            let scopes: Vec<SecretScope> = to_prompt
                .iter()
                .map(|&index| wanted[index].scope.clone())
                .collect();
            let decisions =
                wait_for_owner(hub, session, closed, &key, scopes, &request, wait, now).await?;
            for (&index, decision) in to_prompt.iter().zip(decisions) {
                let scope = &wanted[index];
                results[index] = Some(match decision {
                    Some(Decision::Approved(_)) => {
                        issue(hub, session, &key.name, scope, None, Utc::now())
                    }
                    Some(Decision::Denied) => Err(refuse(
                        hub,
                        session,
                        scope,
                        format!("the owner denied {}", scope.scope),
                    )),
                    None if hub.shutdown.is_cancelled() => Err(HubError::ShuttingDown),
                    None => {
                        record(hub, session, "scope_timeout", scope, "timeout");
                        Err(HubError::Timeout {
                            scope: scope.scope.to_string(),
                            waited_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        })
                    }
                });
            }
        }
    }

    let outcomes = request
        .scopes
        .into_iter()
        .zip(results)
        .map(|(scope, result)| ScopeOutcome {
            scope,
            // Every scope was decided above; the fallback only keeps a slip from panicking.
            result: match result
                .unwrap_or_else(|| Err(HubError::Setup("scope was not decided".into())))
            {
                Ok(token) => ScopeResult::Granted(token),
                Err(error) => ScopeResult::Error(error.to_reply()),
            },
        })
        .collect();
    Ok(Response::Scopes(ScopeOutcomes { outcomes }))
}

/// Decides one scope now, exactly as [`request_scope`] with `wait_ms` 0 decides it (the same
/// checks, token and audit lines), except that a scope needing the owner's approval is neither
/// refused nor recorded: `Ok(None)`, so that the caller can take the waiting path instead. Used by
/// `get_secret_scoped`.
///
/// # Errors
/// A keyless session, a revoked key, or the scope's refusal (`denied`, as `request_scope` puts it
/// in its outcome).
pub fn request_scope_now(
    hub: &Hub,
    session: &Session,
    wanted: &Access,
) -> Result<Option<ScopeToken>, HubError> {
    let key = live_key(hub, session)?;
    let now = Utc::now();
    match decide_now(hub, &key, wanted, now) {
        Immediate::Allow(limit) => issue(hub, session, &key.name, wanted, limit, now).map(Some),
        Immediate::Deny(message) => Err(refuse(hub, session, wanted, message)),
        Immediate::Prompt => Ok(None),
    }
}

/// Handles `has_scope`: true when the scope would be granted now without a prompt.
///
/// # Errors
/// A keyless session or a revoked key.
pub fn has_scope(hub: &Hub, session: &Session, request: &HasScope) -> Result<Response, HubError> {
    let key = live_key(hub, session)?;
    let wanted = Access::new(request.scope.clone(), request.permissions);
    let decision = decide_now(hub, &key, &wanted, Utc::now());
    Ok(Response::HasScope(HasScopeReply {
        granted: matches!(decision, Immediate::Allow(_)),
        needs_approval: matches!(decision, Immediate::Prompt),
        grant_timeout_ms: u64::try_from(hub.config().policy.grant_timeout.as_millis())
            .unwrap_or(u64::MAX),
    }))
}

/// The session's key record, checked live now (a service key may be revoked mid-session).
fn live_key(hub: &Hub, session: &Session) -> Result<KeyRecord, HubError> {
    let key = session.require_key()?;
    lock(&hub.keys)
        .get(&key.name, Utc::now())
        .cloned()
        .ok_or(HubError::InvalidMasterToken)
}

/// What `wanted` gets now without asking the owner: the one decision both `request_scope` and
/// `has_scope` use.
fn decide_now(hub: &Hub, key: &KeyRecord, wanted: &Access, now: DateTime<Utc>) -> Immediate {
    if key.owner && wanted.permissions == Permissions::WRITE {
        return Immediate::Allow(None);
    }
    if !key.owner && key.allows(wanted) {
        return Immediate::Allow(key.expires_at);
    }
    if let Some(grant) = lock(&hub.grants).find(&key.name, wanted, now) {
        return Immediate::Allow(grant.expires_at);
    }
    let config = hub.config();
    let declared = key.owner && lock(&hub.declared).covers(&wanted.scope);
    let decision = config.policy.decide(&key.name, key.owner, wanted, declared);
    match decision.action {
        Action::Allow => {
            if decision.by_declared(&config.policy) {
                tracing::info!(key = %key.name, scope = %wanted.scope, "declared scope allowed by policy");
            }
            Immediate::Allow(None)
        }
        Action::Prompt => Immediate::Prompt,
        Action::Deny => Immediate::Deny(match decision.rule {
            Some(rule) => format!("{} is denied by policy rule {}", wanted.scope, rule + 1),
            None if key.owner => format!("{} is denied by the default policy", wanted.scope),
            None => format!(
                "key {} may not use {}: it is outside the key's scopes",
                key.name, wanted.scope
            ),
        }),
    }
}

/// Parks the prompt-needing scopes as one pending request and waits for the owner, the timeout,
/// the client leaving or shutdown. Returns one decision per scope (`None`: undecided).
#[allow(clippy::too_many_arguments)]
async fn wait_for_owner(
    hub: &Hub,
    session: &Session,
    closed: &CancellationToken,
    key: &KeyRecord,
    scopes: Vec<SecretScope>,
    request: &RequestScope,
    wait: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Option<Decision>>, HubError> {
    let count = scopes.len();
    let mut pending = PendingRequest {
        id: 0,
        scopes,
        permissions: request.permissions,
        key_name: key.name.clone(),
        client_name: session.client_name.clone(),
        peer: session.peer.clone(),
        reason: request.reason.chars().take(MAX_REASON).collect(),
        created_at: now,
        expires_at: now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX),
    };
    let (id, mut decided) = lock(&hub.pending).add(pending.clone())?;
    pending.id = id;
    for scope in &pending.scopes {
        let asked = Access::new(scope.clone(), pending.permissions);
        record(hub, session, "scope_pending", &asked, "pending");
    }
    let _ = hub.events.send(Event::PendingAdded(pending));
    tracing::info!(id, key = %key.name, "scope request waits for the owner");

    let (decisions, outcome) = tokio::select! {
        result = &mut decided => match result {
            Ok(decisions) => {
                let outcome = if decisions.iter().all(|d| matches!(d, Some(Decision::Approved(_)))) {
                    PendingOutcome::Granted
                } else {
                    PendingOutcome::Denied
                };
                (decisions, outcome)
            }
            Err(_) => (vec![None; count], PendingOutcome::Cancelled),
        },
        () = tokio::time::sleep(wait) => (take_partial(hub, id, &mut decided, count), PendingOutcome::Timeout),
        () = closed.cancelled() => (take_partial(hub, id, &mut decided, count), PendingOutcome::Cancelled),
    };
    let _ = hub
        .events
        .send(Event::PendingResolved(PendingResolved { id, outcome }));
    Ok(decisions)
}

/// Removes a pending request that ran out of time, keeping whatever was decided already.
fn take_partial(
    hub: &Hub,
    id: u64,
    decided: &mut tokio::sync::oneshot::Receiver<Vec<Option<Decision>>>,
    count: usize,
) -> Vec<Option<Decision>> {
    if let Some(partial) = lock(&hub.pending).remove(id) {
        return partial;
    }
    // Decided in the same instant the wait ended: take the decision.
    decided.try_recv().unwrap_or_else(|_| vec![None; count])
}

fn issue(
    hub: &Hub,
    session: &Session,
    key_name: &str,
    scope: &Access,
    limit: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<ScopeToken, HubError> {
    let mut ttl = hub.config().policy.token_ttl;
    if let Some(limit) = limit {
        ttl = ttl.min((limit - now).to_std().unwrap_or(Duration::ZERO));
    }
    if ttl.is_zero() {
        return Err(refuse(
            hub,
            session,
            scope,
            format!("the grant for {} has expired", scope.scope),
        ));
    }
    let (access_token, expires_at) = hub
        .tokens
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .issue(key_name, scope.clone(), ttl, now);
    record(hub, session, "scope_granted", scope, "granted");
    Ok(ScopeToken {
        access_token,
        permissions: scope.permissions,
        expires_at,
    })
}

/// Records a refusal and returns it as the error the client will see.
fn refuse(hub: &Hub, session: &Session, scope: &Access, message: String) -> HubError {
    record(hub, session, "scope_denied", scope, "denied");
    HubError::Denied {
        scope: scope.scope.to_string(),
        message,
        // A grant without --key goes to the owner key, and without --write it grants read only.
        command: grant_command_for(
            scope.scope.as_str(),
            scope.permissions,
            service_key_name(session),
        ),
    }
}

/// The session's key name when it is a service key: grants for it need `--key NAME`.
fn service_key_name(session: &Session) -> Option<&str> {
    session
        .key
        .as_ref()
        .filter(|key| !key.owner)
        .map(|key| key.name.as_str())
}

fn record(hub: &Hub, session: &Session, event: &str, scope: &Access, outcome: &str) {
    let detail = scope.permissions.to_string();
    hub.record(
        session,
        AuditRecord {
            event,
            scope: Some(scope.scope.as_str()),
            outcome,
            detail: Some(&detail),
            ..Default::default()
        },
    );
}

#[cfg(test)]
mod tests;
