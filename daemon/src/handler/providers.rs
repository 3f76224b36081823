//! AuthProvider records: the owner adds, updates and removes them; any key may read them. Each
//! change (and each refused change) is in the audit chain, as `add_provider`, `update_provider`
//! or `remove_provider` with the address and the version written (`osf/cli/oidc v2`).

use std::sync::Arc;

use auth_hub_protocol::provider::{
    Actor, AddProvider, ListProviders, ProviderHistory, ProviderHistoryReply, ProviderList,
    ProviderRecord, ProviderReply, RemoveProvider, ShowProvider, UpdateProvider,
};
use auth_hub_protocol::{ProviderId, Response};
use chrono::Utc;

use super::owner::flush_audit;
use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::hub::{lock, Hub};
use crate::providers::ProviderStoreError;
use crate::session::Session;

/// `add_provider`.
///
/// # Errors
/// Owner key required; conflict; invalid fields; a write error.
pub fn add_provider(
    hub: &Arc<Hub>,
    session: &Session,
    request: AddProvider,
) -> Result<Response, HubError> {
    let by = owner_actor(session, "add_provider")?;
    let id = request.id.clone();
    let result = lock(&hub.providers).add(request.id, request.fields, by, Utc::now());
    audited(hub, session, "add_provider", &id, result)
}

/// `update_provider`.
///
/// # Errors
/// Owner key required; not found; invalid fields; a write error.
pub fn update_provider(
    hub: &Arc<Hub>,
    session: &Session,
    request: UpdateProvider,
) -> Result<Response, HubError> {
    let by = owner_actor(session, "update_provider")?;
    let result = lock(&hub.providers).update(&request.id, request.change, by, Utc::now());
    audited(hub, session, "update_provider", &request.id, result)
}

/// `list_providers`.
///
/// # Errors
/// A keyless session.
pub fn list_providers(
    hub: &Arc<Hub>,
    session: &Session,
    request: &ListProviders,
) -> Result<Response, HubError> {
    session.require_key()?;
    Ok(Response::Providers(ProviderList {
        records: lock(&hub.providers).list(request.all),
    }))
}

/// `show_provider`: the live record, else the newest version of a removed one (its
/// `deleted_at` set).
///
/// # Errors
/// A keyless session; not found (never existed).
pub fn show_provider(
    hub: &Arc<Hub>,
    session: &Session,
    request: &ShowProvider,
) -> Result<Response, HubError> {
    session.require_key()?;
    let record = lock(&hub.providers)
        .newest(&request.id)
        .cloned()
        .ok_or_else(|| not_found(&request.id))?;
    Ok(Response::Provider(ProviderReply { record }))
}

/// `provider_history`.
///
/// # Errors
/// A keyless session; not found (never existed).
pub fn provider_history(
    hub: &Arc<Hub>,
    session: &Session,
    request: &ProviderHistory,
) -> Result<Response, HubError> {
    session.require_key()?;
    let versions = lock(&hub.providers).history(&request.id);
    if versions.is_empty() {
        return Err(not_found(&request.id));
    }
    Ok(Response::ProviderHistory(ProviderHistoryReply { versions }))
}

/// `remove_provider`.
///
/// # Errors
/// Owner key required; not found; a write error.
pub fn remove_provider(
    hub: &Arc<Hub>,
    session: &Session,
    request: &RemoveProvider,
) -> Result<Response, HubError> {
    let by = owner_actor(session, "remove_provider")?;
    let result = lock(&hub.providers).remove(&request.id, by, Utc::now());
    audited(hub, session, "remove_provider", &request.id, result)
}

/// The owner's [`Actor`], or the refusal for any other session.
fn owner_actor(session: &Session, operation: &'static str) -> Result<Actor, HubError> {
    session.require_owner(operation)?;
    session.actor().ok_or(HubError::InvalidMasterToken)
}

fn not_found(id: &ProviderId) -> HubError {
    HubError::Providers(ProviderStoreError::NotFound { id: id.clone() })
}

/// Records the outcome of a change in the audit chain (the version written, or the error code)
/// and makes it durable before answering.
fn audited(
    hub: &Hub,
    session: &Session,
    event: &'static str,
    id: &ProviderId,
    result: Result<ProviderRecord, ProviderStoreError>,
) -> Result<Response, HubError> {
    let result = result.map_err(HubError::from);
    let (detail, outcome) = match &result {
        Ok(record) => (format!("{id} v{}", record.version), "ok"),
        Err(error) => (id.to_string(), error.code().as_str()),
    };
    hub.record(
        session,
        AuditRecord {
            event,
            detail: Some(&detail),
            outcome,
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::Provider(ProviderReply { record: result? }))
}
