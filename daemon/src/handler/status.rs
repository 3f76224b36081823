//! `status`: the hub's state for `hyperforge auth status` and `auth-hub status`, allowed without
//! a key. Besides counts and paths it judges each declared scope (what registered repositories'
//! configs declare, kept by [`crate::declared::DeclaredBook`]) for the owner key.

use std::sync::Arc;
use std::time::Duration;

use auth_hub_protocol::response::{
    BackendStatus, DeclaredRepoError, DeclaredScope, DeclaredState, StatusReply,
};
use auth_hub_protocol::{Access, Response, SecretScope, PROTOCOL_VERSION};
use chrono::{DateTime, Utc};

use crate::hub::{lock, Hub};
use crate::policy::Action;
use crate::session::Session;
use crate::store::BackendHealth;

/// The longest `status` waits for one backend's health probe. Each backend bounds its own probe
/// by its request timeout; this only guards against one that does not.
const HEALTH_CAP: Duration = Duration::from_secs(15);

/// Handles `status`; allowed without a key. Every backend's health probe runs at once on the
/// blocking pool, so a slow remote backend costs at most its own timeout.
pub async fn status(hub: &Arc<Hub>, session: &Session) -> Response {
    let backends = backend_states(hub).await;
    let now = Utc::now();
    let (keys, has_owner) = {
        let keys = lock(&hub.keys);
        (keys.live_count(now), keys.has_owner())
    };
    let (declared, repo_errors) = declared_states(hub, now);
    let logins = super::oidc::logins(hub).await;
    // Apart from the reply below: its temporaries hold their locks to the end of the statement.
    let http_listen = lock(&hub.http_address).map(|address| address.to_string());
    let http_restart = crate::http::restart_note(hub);
    Response::Status(StatusReply {
        server_version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: PROTOCOL_VERSION,
        pid: std::process::id(),
        uptime_ms: u64::try_from(hub.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        socket: hub.paths.socket.display().to_string(),
        home: hub
            .paths
            .home
            .as_deref()
            .unwrap_or(&hub.paths.state_dir)
            .display()
            .to_string(),
        store: hub.store.kind().into(),
        key_source: hub.store.key_source(),
        policy_file: hub.paths.config_file.display().to_string(),
        policy_error: hub.config_error(),
        keys: count(keys),
        grants: count(lock(&hub.grants).list(now).len()),
        pending: count(lock(&hub.pending).len()),
        has_owner,
        session_key: session.key_name().map(str::to_owned),
        session_owner: session.key.as_ref().is_some_and(|key| key.owner),
        registered_repos: u64::try_from(lock(&hub.repos).len()).unwrap_or(u64::MAX),
        declared,
        repo_errors,
        store_problem: hub.findings.store_problem.clone(),
        audit_problem: hub
            .findings
            .audit_problem
            .clone()
            .or_else(|| hub.audit.check_file()),
        backends,
        logins,
        http_listen,
        http_restart,
    })
}

/// Every backend with its routes and the result of a health probe, probes run concurrently.
async fn backend_states(hub: &Hub) -> Vec<BackendStatus> {
    let described = hub.router.describe();
    let probes: Vec<_> = hub
        .router
        .backends()
        .into_iter()
        .map(|(_, store)| tokio::task::spawn_blocking(move || store.health()))
        .collect();
    let mut states = Vec::with_capacity(described.len());
    for (info, probe) in described.into_iter().zip(probes) {
        let health = match tokio::time::timeout(HEALTH_CAP, probe).await {
            Ok(Ok(health)) => health,
            Ok(Err(_)) => unhealthy("the health probe panicked"),
            Err(_) => unhealthy("the health probe did not finish in 15s"),
        };
        states.push(BackendStatus {
            name: info.name,
            kind: info.kind,
            routes: info.routes.iter().map(ToString::to_string).collect(),
            default: info.default,
            reachable: health.reachable,
            authenticated: health.authenticated,
            latency_ms: health
                .latency
                .map(|latency| u64::try_from(latency.as_millis()).unwrap_or(u64::MAX)),
            version: health.version,
            problem: health.problem,
        });
    }
    states
}

fn unhealthy(problem: &str) -> BackendHealth {
    BackendHealth {
        problem: Some(problem.to_owned()),
        ..BackendHealth::default()
    }
}

/// Each declared scope with its state for the owner key at `now`, and the repository errors.
///
/// The state, first match wins: a live standing grant covering the scope (read) → granted; a
/// pending request of the owner key for a scope it covers → pending; otherwise what policy
/// would decide for an owner read of the scope: allow → allowed by policy, deny → denied by
/// policy, prompt → not granted.
fn declared_states(hub: &Hub, now: DateTime<Utc>) -> (Vec<DeclaredScope>, Vec<DeclaredRepoError>) {
    let (scopes, errors) = {
        let book = lock(&hub.declared);
        (book.scopes(), book.errors())
    };
    let owner = lock(&hub.keys)
        .owner()
        .map(|key| key.name.clone())
        .unwrap_or_default();
    let pending: Vec<SecretScope> = lock(&hub.pending)
        .list()
        .into_iter()
        .filter(|request| request.key_name == owner)
        .flat_map(|request| request.scopes)
        .collect();
    let config = hub.config();
    let grants = lock(&hub.grants);
    let declared = scopes
        .into_iter()
        .map(|(scope, repos)| {
            let state = match SecretScope::parse(&scope) {
                Err(_) => DeclaredState::NotGranted,
                Ok(parsed) => {
                    let wanted = Access::read(parsed);
                    if grants.find(&owner, &wanted, now).is_some() {
                        DeclaredState::Granted
                    } else if pending.iter().any(|p| wanted.scope.covers_scope(p)) {
                        DeclaredState::Pending
                    } else {
                        match config.policy.decide(&owner, true, &wanted, true).action {
                            Action::Allow => DeclaredState::AllowedByPolicy,
                            Action::Deny => DeclaredState::DeniedByPolicy,
                            Action::Prompt => DeclaredState::NotGranted,
                        }
                    }
                }
            };
            DeclaredScope {
                scope,
                repos,
                state,
            }
        })
        .collect();
    (declared, errors)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
