//! OIDC logins: the CLI runs the device flow (RFC 8628) against the provider and hands the
//! tokens here; the hub validates the id_token against the provider's record and JWKS and stores
//! the tokens as secrets under `oidc/ORG/APP/TYPE/` (`id_token`, `access_token`,
//! `refresh_token`). `oidc_refresh` uses the stored refresh token at the provider's token
//! endpoint and stores what comes back, validated the same way.
//!
//! The session shown by `status` (subject, issuer, name, expiry, refreshable) is derived from
//! the stored id_token each time, not kept in a file of its own: the store is the one source of
//! truth, so a login survives restarts and `auth rm oidc/…/id_token` ends it. Its claims are
//! read without a new signature check there, since only validated id_tokens are stored.

use std::sync::Arc;

use auth_hub_protocol::identity::{OidcLogin, OidcRefresh, OidcSession};
use auth_hub_protocol::provider::{ProviderId, ProviderRecord};
use auth_hub_protocol::{Jwt, Response, SecretPath, SecretValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::hub::{lock, Hub};
use crate::identity::provider_jwt;
use crate::identity::refresh::{refresh, RefreshError};
use crate::providers::ProviderStoreError;
use crate::session::Session;
use crate::store::SecretStore;

/// The first segment of every login's secret paths.
pub const OIDC_PREFIX: &str = "oidc";
/// The stored tokens' names under `oidc/ORG/APP/TYPE/`.
const ID_TOKEN: &str = "id_token";
const ACCESS_TOKEN: &str = "access_token";
const REFRESH_TOKEN: &str = "refresh_token";

/// `oidc_login` (owner).
///
/// # Errors
/// Owner key required; no such OIDC provider; [`HubError::InvalidToken`]; a store error.
pub async fn oidc_login(
    hub: &Arc<Hub>,
    session: &Session,
    request: OidcLogin,
) -> Result<Response, HubError> {
    session.require_owner("oidc_login")?;
    let record = oidc_record(hub, &request.provider)?;
    let result = login(hub, &record, request).await;
    audit(hub, session, "oidc_login", &record.id, &result);
    result.map(Response::OidcSession)
}

/// `oidc_refresh` (owner).
///
/// # Errors
/// Owner key required; no login or no refresh token; the provider refused; a store error.
pub async fn oidc_refresh(
    hub: &Arc<Hub>,
    session: &Session,
    request: OidcRefresh,
) -> Result<Response, HubError> {
    session.require_owner("oidc_refresh")?;
    let record = oidc_record(hub, &request.provider)?;
    let result = refresh_login(hub, &record).await;
    audit(hub, session, "oidc_refresh", &record.id, &result);
    result.map(Response::OidcSession)
}

/// The logins the hub holds, for `status`: one per stored `oidc/ORG/APP/TYPE/id_token`.
pub async fn logins(hub: &Arc<Hub>) -> Vec<OidcSession> {
    let store = Arc::clone(&hub.store);
    tokio::task::spawn_blocking(move || stored_logins(store.as_ref()))
        .await
        .unwrap_or_default()
}

/// The live provider record, which must be of an OIDC type.
fn oidc_record(hub: &Hub, id: &ProviderId) -> Result<ProviderRecord, HubError> {
    let record = lock(&hub.providers)
        .get(id)
        .cloned()
        .ok_or_else(|| ProviderStoreError::NotFound { id: id.clone() })?;
    if !record.id.is_oidc() {
        return Err(HubError::BadRequest(format!(
            "provider {id} is not an OIDC provider (its type is {})",
            id.kind()
        )));
    }
    Ok(record)
}

/// Validates the login's id_token and stores its tokens.
async fn login(
    hub: &Arc<Hub>,
    record: &ProviderRecord,
    request: OidcLogin,
) -> Result<OidcSession, HubError> {
    let claims = validate(hub, record, &request.id_token).await?;
    let tokens = Tokens {
        id_token: request.id_token,
        access_token: request.access_token,
        refresh_token: request.refresh_token,
    };
    store_tokens(hub, &record.id, tokens, true).await?;
    Ok(session_from_claims(
        &record.id,
        &claims,
        has_refresh_token(hub, &record.id).await?,
    ))
}

/// Uses the stored refresh token, validates the new id_token, stores what came back.
async fn refresh_login(hub: &Arc<Hub>, record: &ProviderRecord) -> Result<OidcSession, HubError> {
    let id = record.id.clone();
    let refresh_path = token_path(&id, REFRESH_TOKEN)?;
    let store = Arc::clone(&hub.store);
    let path = refresh_path.clone();
    let stored = blocking(move || store.get(&path).map_err(HubError::from)).await?;
    let Some(stored) = stored else {
        return Err(HubError::NotFound {
            path: refresh_path.to_string(),
        });
    };
    let issuer = record.fields.issuer.clone().unwrap_or_default();
    let client_id = record.fields.client_id.clone().unwrap_or_default();
    let tokens = blocking(move || {
        refresh(&issuer, &client_id, stored.value.expose()).map_err(|error| match error {
            RefreshError::Refused { .. } => HubError::InvalidToken(error.to_string()),
            RefreshError::Unreachable(_) => HubError::Setup(error.to_string()),
        })
    })
    .await?;
    // A provider may refresh without a new id_token (OIDC Core §12.2): the stored one stays.
    let id_token = match tokens.id_token {
        Some(id_token) => id_token,
        None => {
            let store = Arc::clone(&hub.store);
            let path = token_path(&id, ID_TOKEN)?;
            let old = blocking(move || store.get(&path).map_err(HubError::from)).await?;
            let old = old.ok_or_else(|| HubError::NotFound {
                path: format!("{OIDC_PREFIX}/{id}/{ID_TOKEN}"),
            })?;
            Jwt::new(old.value.expose().to_owned())
        }
    };
    let claims = validate(hub, record, &id_token).await?;
    let keep_refresh = tokens.refresh_token.is_none();
    let new = Tokens {
        id_token,
        access_token: Some(tokens.access_token),
        refresh_token: tokens.refresh_token,
    };
    // Without a rotated refresh token the old one stays valid and stored.
    store_tokens(hub, &id, new, !keep_refresh).await?;
    Ok(session_from_claims(
        &id,
        &claims,
        has_refresh_token(hub, &id).await?,
    ))
}

/// Checks `token` against `record` (audience: the record's client id) on the blocking pool.
async fn validate(
    hub: &Arc<Hub>,
    record: &ProviderRecord,
    token: &Jwt,
) -> Result<Map<String, Value>, HubError> {
    let hub2 = Arc::clone(hub);
    let record = record.clone();
    let token = token.clone();
    blocking(move || {
        let audience = record.fields.client_id.as_deref();
        provider_jwt::validate(
            token.expose(),
            &record,
            &hub2.provider_keys,
            audience,
            Utc::now(),
        )
        .map_err(|error| HubError::InvalidToken(format!("id_token refused: {error}")))
    })
    .await
}

/// The tokens of one login.
struct Tokens {
    id_token: Jwt,
    access_token: Option<Jwt>,
    refresh_token: Option<Jwt>,
}

/// Writes the tokens under `oidc/ORG/APP/TYPE/`. A token the provider did not send is deleted
/// (a stale access token must not outlive its login), except the refresh token when
/// `replace_refresh` is false.
async fn store_tokens(
    hub: &Arc<Hub>,
    id: &ProviderId,
    tokens: Tokens,
    replace_refresh: bool,
) -> Result<(), HubError> {
    let writes = [
        (token_path(id, ID_TOKEN)?, Some(tokens.id_token)),
        (token_path(id, ACCESS_TOKEN)?, tokens.access_token),
        (token_path(id, REFRESH_TOKEN)?, tokens.refresh_token),
    ];
    let store = Arc::clone(&hub.store);
    blocking(move || {
        for (path, token) in writes {
            match token {
                Some(token) => {
                    store.put(&path, SecretValue::new(token.expose().to_owned()))?;
                }
                None if path.as_str().ends_with(REFRESH_TOKEN) && !replace_refresh => {}
                None => {
                    store.delete(&path)?;
                }
            }
        }
        Ok(())
    })
    .await
}

async fn has_refresh_token(hub: &Arc<Hub>, id: &ProviderId) -> Result<bool, HubError> {
    let path = token_path(id, REFRESH_TOKEN)?;
    let store = Arc::clone(&hub.store);
    blocking(move || Ok(store.get(&path)?.is_some())).await
}

/// `oidc/ORG/APP/TYPE/NAME`.
fn token_path(id: &ProviderId, name: &str) -> Result<SecretPath, HubError> {
    SecretPath::parse(&format!("{OIDC_PREFIX}/{id}/{name}"))
        .map_err(|error| HubError::BadRequest(format!("cannot store tokens of {id}: {error}")))
}

/// The session a validated id_token describes.
fn session_from_claims(
    provider: &ProviderId,
    claims: &Map<String, Value>,
    refreshable: bool,
) -> OidcSession {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let expires_at = claims
        .get("exp")
        .and_then(Value::as_i64)
        .and_then(|exp| Utc.timestamp_opt(exp, 0).single())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    OidcSession {
        provider: provider.clone(),
        subject: text("sub").unwrap_or_default(),
        issuer: text("iss").unwrap_or_default(),
        name: text("name").or_else(|| text("email")),
        expires_at,
        refreshable,
    }
}

/// Every stored login, from its id_token's claims; unreadable entries are skipped.
fn stored_logins(store: &dyn SecretStore) -> Vec<OidcSession> {
    let Ok(entries) = store.list(OIDC_PREFIX) else {
        return Vec::new();
    };
    let mut logins = Vec::new();
    for entry in &entries {
        let path = entry.path.as_str();
        let segments: Vec<&str> = path.split('/').collect();
        let [_, org, app, kind, ID_TOKEN] = segments.as_slice() else {
            continue;
        };
        let Ok(provider) = ProviderId::new(org, app, kind) else {
            continue;
        };
        let Ok(Some(stored)) = store.get(&entry.path) else {
            continue;
        };
        let Some(claims) = unverified_claims(stored.value.expose()) else {
            continue;
        };
        let refreshable = token_path(&provider, REFRESH_TOKEN)
            .ok()
            .and_then(|path| store.get(&path).ok().flatten())
            .is_some();
        logins.push(session_from_claims(&provider, &claims, refreshable));
    }
    logins
}

/// The payload of a compact JWT, not verified (it was when it was stored).
fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Audits a login or refresh: provider, subject, outcome; never a token.
fn audit(
    hub: &Hub,
    session: &Session,
    event: &str,
    id: &ProviderId,
    result: &Result<OidcSession, HubError>,
) {
    let scope = format!("{OIDC_PREFIX}/{id}/*");
    let (outcome, detail) = match result {
        Ok(login) => ("ok", format!("sub={} iss={}", login.subject, login.issuer)),
        Err(error) => (error.code().as_str(), error.to_string()),
    };
    hub.record(
        session,
        AuditRecord {
            event,
            scope: Some(&scope),
            outcome,
            detail: Some(&detail),
            ..AuditRecord::default()
        },
    );
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HubError> + Send + 'static,
) -> Result<T, HubError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(HubError::Setup("an OIDC operation panicked".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn session_reads_subject_name_and_expiry() {
        let claims = unverified_claims(&jwt(
            r#"{"sub":"alice","iss":"http://127.0.0.1:1","email":"a@example.test","exp":2000000000}"#,
        ))
        .unwrap();
        let id = ProviderId::parse("osf/cli/oidc").unwrap();
        let session = session_from_claims(&id, &claims, true);
        assert_eq!(session.subject, "alice");
        assert_eq!(session.name.as_deref(), Some("a@example.test"));
        assert_eq!(session.expires_at.timestamp(), 2_000_000_000);
        assert!(session.refreshable);
    }

    #[test]
    fn garbage_is_no_login() {
        assert!(unverified_claims("not-a-jwt").is_none());
        assert!(unverified_claims("a.!!!.c").is_none());
        assert!(unverified_claims(&jwt("[1,2]")).is_none());
    }

    #[test]
    fn token_paths_are_under_oidc() {
        let id = ProviderId::parse("osf/cli/oidc").unwrap();
        assert_eq!(
            token_path(&id, ID_TOKEN).unwrap().as_str(),
            "oidc/osf/cli/oidc/id_token"
        );
    }
}
