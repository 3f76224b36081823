//! `hyperforge auth login --provider ORG/APP/TYPE`: an app user's login at an OIDC provider
//! through the device flow (RFC 8628). The provider's record (issuer, client id, scopes) comes
//! from the hub; the CLI prints the verification URL and the user code on stderr (with `--json`
//! also as a first JSON line on stdout) and opens nothing; once the user approved at the
//! provider it hands the tokens to the hub (`oidc_login`), which validates the id_token and
//! stores the tokens under `oidc/ORG/APP/TYPE/`.
//!
//! `--refresh` asks the hub to refresh a stored login with its refresh token instead
//! (`oidc_refresh`); the CLI never sees the tokens then.
//!
//! Exit codes: 0 logged in; 3 denied at the provider or the user code expired before approval
//! (as an approval that never came); 1 a provider or hub failure; 2 a bad `ORG/APP/TYPE` or a
//! record that is not an OIDC provider.

use auth_hub_protocol::identity::{OidcLogin, OidcRefresh, OidcSession};
use auth_hub_protocol::provider::{ProviderId, ProviderRecord, ShowProvider};
use auth_hub_protocol::{Request, Response};
use serde_json::json;

use super::{connect_keyed, keyed_options, unexpected};
use crate::commands::Context;
use crate::error::{CliError, ErrorKind};
use crate::oidc::device_flow::{self, DeviceFlowError};
use crate::oidc::http::ProviderHttp;
use crate::output;

/// Scopes asked for when the record names none: an id_token and a refresh token.
const DEFAULT_SCOPES: &[&str] = &["openid", "offline_access"];

/// Runs `auth login --provider ID [--refresh]`.
///
/// # Errors
/// See the module docs.
pub async fn run(ctx: &Context, provider: &str, refresh: bool) -> Result<(), CliError> {
    let id = ProviderId::parse(provider)
        .map_err(|error| CliError::usage(format!("bad provider {provider:?}: {error}")))?;
    let reason = format!("hyperforge auth login --provider {id}");
    let client = connect_keyed(keyed_options(reason)?).await?;
    if refresh {
        let session = match client
            .call(Request::OidcRefresh(OidcRefresh {
                provider: id.clone(),
            }))
            .await?
        {
            Response::OidcSession(session) => session,
            other => return Err(unexpected("oidc_refresh", &other)),
        };
        return report(ctx, &session, "refreshed");
    }
    let record = match client
        .call(Request::ShowProvider(ShowProvider { id: id.clone() }))
        .await?
    {
        Response::Provider(reply) => reply.record,
        other => return Err(unexpected("show_provider", &other)),
    };
    let (issuer, client_id, scopes) = oidc_settings(&record)?;

    let http = ProviderHttp::new();
    let flow_client_id = client_id.clone();
    let started = tokio::task::spawn_blocking(move || {
        let start = device_flow::start(&http, &issuer, &flow_client_id, &scopes)?;
        Ok::<_, DeviceFlowError>((http, start))
    })
    .await
    .map_err(|error| CliError::failure(format!("the device flow stopped: {error}")))?;
    let (http, start) = started.map_err(flow_error)?;

    let authorization = &start.authorization;
    output::note(&format!(
        "to log in to {id}, open {} and enter the code {}",
        authorization.verification_uri, authorization.user_code
    ));
    if let Some(complete) = &authorization.verification_uri_complete {
        output::note(&format!("(or open {complete})"));
    }
    output::note(&format!(
        "waiting for approval at the provider (the code expires in {} s)…",
        authorization.expires_in
    ));
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "verification_uri": authorization.verification_uri,
            "verification_uri_complete": authorization.verification_uri_complete,
            "user_code": authorization.user_code,
            "expires_in": authorization.expires_in,
        }))?;
    }
    let tokens = tokio::task::spawn_blocking(move || device_flow::poll(&http, &start, &client_id))
        .await
        .map_err(|error| CliError::failure(format!("the device flow stopped: {error}")))?
        .map_err(flow_error)?;
    let id_token = tokens
        .id_token
        .ok_or_else(|| flow_error(DeviceFlowError::NoIdToken))?;
    let session = match client
        .call(Request::OidcLogin(OidcLogin {
            provider: id.clone(),
            id_token,
            access_token: Some(tokens.access_token),
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
        }))
        .await?
    {
        Response::OidcSession(session) => session,
        other => return Err(unexpected("oidc_login", &other)),
    };
    report(ctx, &session, "logged in")
}

/// The issuer, client id and space-separated scopes of an OIDC record.
fn oidc_settings(record: &ProviderRecord) -> Result<(String, String, String), CliError> {
    let id = &record.id;
    let not_oidc = |what: &str| {
        CliError::usage(format!("provider {id} {what}")).with_hint(format!(
            "set it with `hyperforge auth provider update {id} --issuer URL --client-id ID`"
        ))
    };
    if !id.is_oidc() {
        return Err(CliError::usage(format!(
            "provider {id} is not an OIDC provider (its type is {})",
            id.kind()
        )));
    }
    let issuer = record
        .fields
        .issuer
        .clone()
        .ok_or_else(|| not_oidc("has no issuer"))?;
    let client_id = record
        .fields
        .client_id
        .clone()
        .ok_or_else(|| not_oidc("has no client id"))?;
    let mut scopes: Vec<&str> = record.fields.scopes.iter().map(String::as_str).collect();
    if scopes.is_empty() {
        scopes = DEFAULT_SCOPES.to_vec();
    }
    if !scopes.contains(&"openid") {
        scopes.insert(0, "openid");
    }
    Ok((issuer, client_id, scopes.join(" ")))
}

/// The CLI error for a failed device flow: denied and expired are exit 3.
fn flow_error(error: DeviceFlowError) -> CliError {
    match error {
        DeviceFlowError::Denied => CliError::new(ErrorKind::Denied, error.to_string()),
        DeviceFlowError::Expired => CliError::new(ErrorKind::Denied, error.to_string())
            .with_hint("run the login again and approve the new code before it expires"),
        other => CliError::failure(other.to_string()),
    }
}

/// Says who is logged in where, and until when.
fn report(ctx: &Context, session: &OidcSession, verb: &str) -> Result<(), CliError> {
    if ctx.out.is_json() {
        return ctx.out.json(&session_json(session));
    }
    let who = session.name.as_deref().unwrap_or(&session.subject);
    ctx.out.line(&format!(
        "{verb}: {who} at {} ({}) until {}{}; tokens stored under oidc/{}/",
        session.provider,
        session.issuer,
        output::time_human(session.expires_at),
        if session.refreshable {
            ", refreshable"
        } else {
            ""
        },
        session.provider
    ))
}

/// One login as JSON (also used by `auth status`).
pub(crate) fn session_json(session: &OidcSession) -> serde_json::Value {
    json!({
        "provider": session.provider.to_string(),
        "subject": session.subject,
        "issuer": session.issuer,
        "name": session.name,
        "expires_at": output::time_json(session.expires_at),
        "refreshable": session.refreshable,
    })
}
