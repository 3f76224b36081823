//! `get_secret`, `get_secret_scoped`, `put_secret`, `list_secrets`, `delete_secret`: every read
//! needs an access token for a scope covering the path (`get_secret_scoped` obtains it in the same
//! request); the owner key may write, delete and list without one.

use std::sync::Arc;

use auth_hub_protocol::request::{
    DeleteSecret, GetSecret, GetSecretScoped, ListSecrets, PutSecret,
};
use auth_hub_protocol::response::{
    Deleted, NeedsApproval, ScopedSecret, SecretEntry, SecretList, Written,
};
use auth_hub_protocol::{
    Access, AccessToken, Permissions, Response, Secret, SecretPath, SecretScope,
};
use chrono::Utc;

use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::hub::Hub;
use crate::session::Session;
use crate::tokens::TokenError;

/// Handles `get_secret`. A local store answers inline from memory; a remote backend's read runs
/// on the blocking pool (it may take up to its timeout).
///
/// # Errors
/// Token errors, `not_found`, store errors.
pub async fn get_secret(
    hub: &Arc<Hub>,
    session: &Session,
    request: &GetSecret,
) -> Result<Response, HubError> {
    read_secret(hub, session, request)
        .await
        .map(Response::Secret)
}

/// Handles `get_secret_scoped`: the path's parent scope decided as `request_scope` with
/// `wait_ms` 0 decides it, then, when granted, the read `get_secret` does with the new token. A
/// scope needing the owner's approval is answered `needs_approval`, and nothing is recorded.
///
/// # Errors
/// As `request_scope` for the scope (`denied`, a revoked key), then as [`get_secret`].
pub async fn get_secret_scoped(
    hub: &Arc<Hub>,
    session: &Session,
    request: &GetSecretScoped,
) -> Result<Response, HubError> {
    let scope = request.path.parent_scope();
    let wanted = Access::new(scope.clone(), Permissions::READ);
    let Some(token) = super::scope::request_scope_now(hub, session, &wanted)? else {
        return Ok(Response::NeedsApproval(NeedsApproval { scope }));
    };
    let get = GetSecret {
        access_token: token.access_token.clone(),
        path: request.path.clone(),
    };
    let secret = read_secret(hub, session, &get).await?;
    Ok(Response::ScopedSecret(ScopedSecret {
        scope,
        token,
        secret,
    }))
}

/// The read behind `get_secret`: the token checked, the store read, the access recorded.
async fn read_secret(
    hub: &Arc<Hub>,
    session: &Session,
    request: &GetSecret,
) -> Result<Secret, HubError> {
    let result = match authorize(
        hub,
        session,
        &request.access_token,
        &request.path,
        Permissions::READ,
    ) {
        Ok(()) => {
            let found = if hub.router.answers_from_memory(&request.path) {
                hub.store.get(&request.path).map_err(HubError::from)
            } else {
                let (hub2, path2) = (hub.clone(), request.path.clone());
                blocking(move || hub2.store.get(&path2).map_err(HubError::from)).await
            };
            found.and_then(|found| {
                found.ok_or_else(|| HubError::NotFound {
                    path: request.path.to_string(),
                })
            })
        }
        Err(error) => Err(error),
    };
    record(hub, session, "get_secret", &request.path, &result);
    let stored = result?;
    Ok(Secret {
        value: stored.value,
        path: request.path.clone(),
        created_at: Some(stored.meta.created_at),
        updated_at: Some(stored.meta.updated_at),
        version: stored.meta.version,
    })
}

/// Handles `put_secret`; returns once the value is durable.
///
/// # Errors
/// Token or owner errors, store errors.
pub async fn put_secret(
    hub: &Arc<Hub>,
    session: &Session,
    request: PutSecret,
) -> Result<Response, HubError> {
    let PutSecret {
        access_token,
        path,
        value,
    } = request;
    let result = match authorize_write(hub, session, access_token.as_ref(), &path, "put_secret") {
        Ok(()) => {
            let (hub2, path2) = (hub.clone(), path.clone());
            blocking(move || hub2.store.put(&path2, value).map_err(HubError::from)).await
        }
        Err(error) => Err(error),
    };
    record(hub, session, "put_secret", &path, &result);
    let meta = result?;
    Ok(Response::Written(Written {
        path,
        version: meta.version,
        updated_at: meta.updated_at,
    }))
}

/// Handles `delete_secret`; returns once the deletion is durable. With `destroy`, the store's
/// [`crate::store::SecretStore::destroy`] (every version, everywhere) instead of its delete.
///
/// # Errors
/// Token or owner errors, `not_found`, store errors.
pub async fn delete_secret(
    hub: &Arc<Hub>,
    session: &Session,
    request: DeleteSecret,
) -> Result<Response, HubError> {
    let DeleteSecret {
        access_token,
        path,
        destroy,
    } = request;
    let result = match authorize_write(hub, session, access_token.as_ref(), &path, "delete_secret")
    {
        Ok(()) => {
            let (hub2, path2) = (hub.clone(), path.clone());
            blocking(move || {
                if destroy {
                    hub2.store.destroy(&path2)
                } else {
                    hub2.store.delete(&path2)
                }
                .map_err(HubError::from)
            })
            .await
            .and_then(|existed| {
                if existed {
                    Ok(())
                } else {
                    Err(HubError::NotFound {
                        path: path.to_string(),
                    })
                }
            })
        }
        Err(error) => Err(error),
    };
    record(hub, session, "delete_secret", &path, &result);
    result?;
    Ok(Response::Deleted(Deleted { path }))
}

/// Handles `list_secrets`: paths and metadata, never values, each with the backend holding it.
/// A backend that cannot list is named in the reply's warnings; the others are listed.
///
/// # Errors
/// A malformed prefix, token or owner errors.
pub async fn list_secrets(
    hub: &Arc<Hub>,
    session: &Session,
    request: &ListSecrets,
) -> Result<Response, HubError> {
    let key = session.require_key()?;
    let prefix = request.prefix.trim_end_matches('/');
    if !prefix.is_empty() {
        SecretPath::parse(prefix)
            .map_err(|error| HubError::BadRequest(format!("invalid prefix: {error}")))?;
    }
    let visible: Option<SecretScope> = match &request.access_token {
        None if key.owner => None,
        None => {
            return Err(HubError::OwnerRequired(
                "list_secrets without an access token",
            ))
        }
        Some(token) => {
            let tokens = hub
                .tokens
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry = tokens
                .lookup(token, Utc::now())
                .map_err(|_| HubError::InvalidAccessToken)?;
            if entry.key_name != key.name {
                return Err(HubError::InvalidAccessToken);
            }
            if !entry.access.permissions.read {
                return Err(HubError::InsufficientScope {
                    path: prefix.to_owned(),
                    have: entry.access.to_string(),
                    need: "read".into(),
                });
            }
            Some(entry.access.scope.clone())
        }
    };
    let (hub2, prefix2) = (hub.clone(), prefix.to_owned());
    let merged = tokio::task::spawn_blocking(move || hub2.router.list_merged(&prefix2))
        .await
        .map_err(|_| HubError::Setup("a store operation panicked".into()))?;
    let mut backends: Vec<&str> = Vec::new();
    let entries: Vec<SecretEntry> = merged
        .entries
        .into_iter()
        .filter(|(meta, _)| {
            visible
                .as_ref()
                .is_none_or(|scope| scope.covers_path(&meta.path))
        })
        .map(|(meta, backend)| SecretEntry {
            path: meta.path,
            version: meta.version,
            created_at: meta.created_at,
            updated_at: meta.updated_at,
            backend: Some(backend),
        })
        .collect();
    for entry in &entries {
        if let Some(name) = entry.backend.as_deref() {
            if !backends.contains(&name) {
                backends.push(name);
            }
        }
    }
    let warnings: Vec<String> = merged.failures.iter().map(ToString::to_string).collect();
    for warning in &warnings {
        tracing::warn!(%warning, "a backend could not be listed");
    }
    let served = backends.join(",");
    hub.record(
        session,
        AuditRecord {
            event: "list_secrets",
            path: Some(prefix),
            backend: (!served.is_empty()).then_some(served.as_str()),
            outcome: if warnings.is_empty() { "ok" } else { "partial" },
            detail: warnings.first().map(String::as_str),
            ..Default::default()
        },
    );
    Ok(Response::Secrets(SecretList { entries, warnings }))
}

/// Checks that `token` belongs to this session's key and allows `need` on `path`.
fn authorize(
    hub: &Hub,
    session: &Session,
    token: &AccessToken,
    path: &SecretPath,
    need: Permissions,
) -> Result<(), HubError> {
    let key = session.require_key()?;
    let tokens = hub
        .tokens
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match tokens.check(token, path, need, Utc::now()) {
        Ok(entry) if entry.key_name == key.name => Ok(()),
        Ok(_) | Err(TokenError::Invalid) => Err(HubError::InvalidAccessToken),
        Err(TokenError::Insufficient { have, need }) => Err(HubError::InsufficientScope {
            path: path.to_string(),
            have,
            need,
        }),
    }
}

/// Writes need a write token, or the owner key without one.
fn authorize_write(
    hub: &Hub,
    session: &Session,
    token: Option<&AccessToken>,
    path: &SecretPath,
    operation: &'static str,
) -> Result<(), HubError> {
    match token {
        Some(token) => authorize(hub, session, token, path, Permissions::WRITE),
        None => session.require_owner(operation).map(|_| ()),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HubError> + Send + 'static,
) -> Result<T, HubError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(HubError::Setup("a store operation panicked".into())))
}

fn record<T>(
    hub: &Hub,
    session: &Session,
    event: &str,
    path: &SecretPath,
    result: &Result<T, HubError>,
) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(error) => error.code().as_str(),
    };
    let backend = hub.router.backend_of(path);
    hub.record(
        session,
        AuditRecord {
            event,
            path: Some(path.as_str()),
            backend: Some(&backend),
            outcome,
            ..Default::default()
        },
    );
}

#[cfg(test)]
mod tests;
