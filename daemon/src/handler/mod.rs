//! Request handlers, one file per family: scopes (`scope.rs`), secrets (`secrets.rs`), the
//! owner's operations (`owner.rs`), the hub's status (`status.rs`), registered repositories
//! (`repos.rs`), owner-key recovery (`recovery.rs`) and moving secrets between backends
//! (`move_secrets.rs`), AuthProvider records (`providers.rs`), validating and issuing tokens
//! (`identity.rs`) and OIDC logins (`oidc.rs`). [`dispatch`] routes a request and turns
//! the outcome into a wire result; errors become error codes in `error.rs`, nowhere else.

pub mod identity;
pub mod move_secrets;
pub mod oidc;
pub mod owner;
pub mod providers;
pub mod recovery;
pub mod repos;
pub mod scope;
pub mod secrets;
pub mod status;

use std::sync::Arc;

use auth_hub_protocol::request::Request;
use auth_hub_protocol::{ErrorCode, ErrorReply, Response, ResponseResult};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::error::HubError;
use crate::hub::Hub;
use crate::session::Session;

/// True for requests answered from memory without waiting, which the connection runs inline
/// instead of spawning a task.
pub fn is_quick(request: &Request) -> bool {
    matches!(
        request,
        Request::GetSecret(_)
            | Request::GetSecretScoped(_)
            | Request::HasScope(_)
            | Request::ListSecrets(_)
            | Request::Status(_)
            | Request::ListPending(_)
            | Request::ListGrants(_)
            | Request::ListKeys(_)
            | Request::WatchPending(_)
            | Request::ListRepos(_)
    )
}

/// Runs one request for a session. `closed` is cancelled when the client goes away, which ends
/// any wait for an approval.
pub async fn dispatch(
    hub: &Arc<Hub>,
    session: &Session,
    closed: &CancellationToken,
    request: Request,
) -> ResponseResult {
    // The session's key is checked on every request: it may have been revoked, or (the owner
    // key, by recovery) replaced, since the hello.
    if let Some(key) = &session.key {
        let current = crate::hub::lock(&hub.keys).check_current(&key.name, &key.hash, Utc::now());
        if let Err(error) = current {
            return ResponseResult::Error(ErrorReply::new(
                ErrorCode::InvalidMasterToken,
                error.client_message(),
            ));
        }
    }
    match route(hub, session, closed, request).await {
        Ok(response) => ResponseResult::Ok(response),
        Err(error) => ResponseResult::Error(error.to_reply()),
    }
}

/// Every [`Request`] variant has its arm here (the enum is not `#[non_exhaustive]`), so a new
/// operation without a handler does not compile.
async fn route(
    hub: &Arc<Hub>,
    session: &Session,
    closed: &CancellationToken,
    request: Request,
) -> Result<Response, HubError> {
    match request {
        Request::RequestScope(request) => scope::request_scope(hub, session, closed, request).await,
        Request::HasScope(request) => scope::has_scope(hub, session, &request),
        Request::GetSecret(request) => secrets::get_secret(hub, session, &request).await,
        Request::GetSecretScoped(request) => {
            secrets::get_secret_scoped(hub, session, &request).await
        }
        Request::PutSecret(request) => secrets::put_secret(hub, session, request).await,
        Request::ListSecrets(request) => secrets::list_secrets(hub, session, &request).await,
        Request::DeleteSecret(request) => secrets::delete_secret(hub, session, request).await,
        Request::Login(request) => owner::login(hub, session, &request),
        Request::Status(_) => Ok(status::status(hub, session).await),
        Request::ListPending(_) | Request::WatchPending(_) => owner::list_pending(hub, session),
        Request::Grant(request) => owner::grant(hub, session, &request),
        Request::Deny(request) => owner::deny(hub, session, &request),
        Request::ListGrants(_) => owner::list_grants(hub, session),
        Request::Revoke(request) => owner::revoke(hub, session, &request),
        Request::CreateKey(request) => owner::create_key(hub, session, &request),
        Request::ImportKey(request) => owner::import_key(hub, session, &request),
        Request::ListKeys(_) => owner::list_keys(hub, session),
        Request::RevokeKey(request) => owner::revoke_key(hub, session, &request),
        Request::ReadAudit(request) => owner::read_audit(hub, session, &request).await,
        Request::RegisterRepo(request) => repos::register_repo(hub, session, &request),
        Request::UnregisterRepo(request) => repos::unregister_repo(hub, session, &request),
        Request::ListRepos(_) => repos::list_repos(hub, session),
        Request::StartRecovery(_) => recovery::start_recovery(hub, session),
        Request::Recover(request) => recovery::recover(hub, session, &request),
        Request::MoveSecrets(request) => move_secrets::move_secrets(hub, session, request).await,
        Request::AddProvider(request) => providers::add_provider(hub, session, request),
        Request::UpdateProvider(request) => providers::update_provider(hub, session, request),
        Request::ListProviders(request) => providers::list_providers(hub, session, &request),
        Request::ShowProvider(request) => providers::show_provider(hub, session, &request),
        Request::ProviderHistory(request) => providers::provider_history(hub, session, &request),
        Request::RemoveProvider(request) => providers::remove_provider(hub, session, &request),
        Request::ValidateKey(request) => identity::validate_key(hub, session, &request),
        Request::ValidateJwt(request) => identity::validate_jwt(hub, session, request).await,
        Request::IssueJwt(request) => identity::issue_jwt(hub, session, request).await,
        Request::Jwks(request) => identity::jwks(hub, session, &request),
        Request::OidcLogin(request) => oidc::oidc_login(hub, session, request).await,
        Request::OidcRefresh(request) => oidc::oidc_refresh(hub, session, request).await,
    }
}
