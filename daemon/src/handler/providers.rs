//! AuthProvider records: the owner adds, updates and removes them; any key may read them. Each
//! change is in the audit chain.

use std::sync::Arc;

use auth_hub_protocol::provider::{
    AddProvider, ListProviders, ProviderHistory, RemoveProvider, ShowProvider, UpdateProvider,
};
use auth_hub_protocol::Response;

use crate::error::HubError;
use crate::hub::Hub;
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
    let _ = (hub, session, request);
    unimplemented!("providers")
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
    let _ = (hub, session, request);
    unimplemented!("providers")
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
    let _ = (hub, session, request);
    unimplemented!("providers")
}

/// `show_provider`.
///
/// # Errors
/// A keyless session; not found.
pub fn show_provider(
    hub: &Arc<Hub>,
    session: &Session,
    request: &ShowProvider,
) -> Result<Response, HubError> {
    let _ = (hub, session, request);
    unimplemented!("providers")
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
    let _ = (hub, session, request);
    unimplemented!("providers")
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
    let _ = (hub, session, request);
    unimplemented!("providers")
}
