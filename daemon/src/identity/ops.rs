//! The identity operations, shared by the socket handlers (`handler/identity.rs`) and the
//! loopback HTTP endpoints (`http/`): who the caller is, and what it may ask.
//!
//! None of them holds a lock across an `.await`: the keys and signing tables are locked for the
//! synchronous check or signature only, and a provider's JWT (which may fetch its JWKS) is
//! checked on the blocking pool with owned copies of what it needs.

use std::sync::Arc;

use auth_hub_protocol::identity::{
    IssuedJwt, JwksReply, JwtValidation, KeyState, KeyValidation, SubjectToken,
};
use auth_hub_protocol::provider::ProviderRecord;
use auth_hub_protocol::{Jwt, MasterToken, Permissions, ProviderId};
use chrono::Utc;

use super::error::JwtError;
use super::hub_jwt::{self, Subject};
use super::provider_jwt;
use super::signing::unverified_claims;
use crate::error::HubError;
use crate::hub::{lock, Hub};
use crate::keys::{KeyAuthError, KeyRecord};

/// Longest `aud` accepted for a hub JWT.
const MAX_AUDIENCE_LEN: usize = 256;

/// Whether `presented` is an active API key, and what it may do. The key ring compares the
/// presented secret in constant time against every record of that name; an unknown name and
/// a wrong secret both answer `unknown`.
pub fn validate_key(hub: &Hub, presented: &MasterToken) -> KeyValidation {
    let now = Utc::now();
    let keys = lock(&hub.keys);
    let refused = |state, name: Option<String>| KeyValidation {
        state,
        name,
        owner: false,
        scopes: Vec::new(),
        permissions: Permissions::default(),
        expires_at: None,
        revoked_at: None,
    };
    match keys.authenticate(presented, now) {
        Ok(record) => KeyValidation {
            state: KeyState::Active,
            name: Some(record.name.clone()),
            owner: record.owner,
            scopes: record.scopes.clone(),
            permissions: record.permissions,
            expires_at: record.expires_at,
            revoked_at: None,
        },
        Err(KeyAuthError::Malformed(_)) => refused(KeyState::Malformed, None),
        Err(KeyAuthError::Revoked { name }) => {
            // The presented secret matched a revoked record: its holder may learn when.
            let revoked_at = keys
                .list()
                .into_iter()
                .filter(|info| info.name == name)
                .filter_map(|info| info.revoked_at)
                .max();
            KeyValidation {
                revoked_at,
                ..refused(KeyState::Revoked, Some(name))
            }
        }
        Err(KeyAuthError::Expired { name }) => {
            let expires_at = keys
                .list()
                .into_iter()
                .filter(|info| info.name == name && info.revoked_at.is_none())
                .filter_map(|info| info.expires_at)
                .max();
            KeyValidation {
                expires_at,
                ..refused(KeyState::Expired, Some(name))
            }
        }
        Err(KeyAuthError::Unknown { name } | KeyAuthError::Mismatch { name }) => {
            refused(KeyState::Unknown, Some(name))
        }
    }
}

/// A `validate_jwt` answer for a refused token.
fn inactive(reason: &JwtError, provider: Option<ProviderId>) -> JwtValidation {
    JwtValidation {
        active: false,
        reason: Some(reason.reason()),
        provider,
        claims_json: None,
    }
}

/// Validates a hub JWT (its `iss` is the hub's) or a provider's (the record named, else the
/// live OIDC records whose issuer is the token's `iss`). Runs JWKS fetches on the blocking pool.
pub async fn validate_jwt(
    hub: &Arc<Hub>,
    token: &Jwt,
    provider: Option<&ProviderId>,
    audience: Option<&str>,
) -> JwtValidation {
    match check_jwt(hub, token, provider, audience).await {
        Ok(Verified::Hub(claims)) => JwtValidation {
            active: true,
            reason: None,
            provider: None,
            claims_json: serde_json::to_string(&claims).ok(),
        },
        Ok(Verified::Provider { record, claims }) => JwtValidation {
            active: true,
            reason: None,
            provider: Some(record.id),
            claims_json: serde_json::to_string(&claims).ok(),
        },
        Err((error, provider)) => inactive(&error, provider),
    }
}

/// A JWT that checked out.
enum Verified {
    /// The hub's own.
    Hub(hub_jwt::HubClaims),
    /// A provider's, with the record that vouched for it.
    Provider {
        record: Box<ProviderRecord>,
        claims: serde_json::Map<String, serde_json::Value>,
    },
}

/// Routes `token` by its unverified `iss` and verifies it; the error carries the provider it
/// was checked against, if any.
async fn check_jwt(
    hub: &Arc<Hub>,
    token: &Jwt,
    provider: Option<&ProviderId>,
    audience: Option<&str>,
) -> Result<Verified, (JwtError, Option<ProviderId>)> {
    let now = Utc::now();
    let unverified = unverified_claims(token.expose()).map_err(|error| (error, None))?;
    let issuer = match unverified.get("iss") {
        Some(serde_json::Value::String(issuer)) => issuer.clone(),
        Some(_) => return Err((JwtError::Malformed("iss is not a string".to_owned()), None)),
        None => return Err((JwtError::MissingClaim("iss"), None)),
    };
    let settings = hub.config().jwt.clone();
    if provider.is_none() && issuer == settings.issuer {
        let keys = lock(&hub.signing);
        return hub_jwt::verify(&keys, &settings, token.expose(), audience, now)
            .map(Verified::Hub)
            .map_err(|error| (error, None));
    }
    let candidates: Vec<ProviderRecord> = {
        let book = lock(&hub.providers);
        match provider {
            Some(id) => book.get(id).cloned().into_iter().collect(),
            None => book.by_issuer(&issuer).into_iter().cloned().collect(),
        }
    };
    if candidates.is_empty() {
        return Err((JwtError::UnknownIssuer(issuer), provider.cloned()));
    }
    let mut last = None;
    for record in candidates {
        let hub = Arc::clone(hub);
        let token = token.clone();
        let audience = audience.map(str::to_owned);
        let id = record.id.clone();
        let checked = tokio::task::spawn_blocking(move || {
            provider_jwt::validate(
                token.expose(),
                &record,
                &hub.provider_keys,
                audience.as_deref(),
                now,
            )
            .map(|claims| (record, claims))
        })
        .await
        .unwrap_or_else(|error| Err(JwtError::Fetch(format!("validation task failed: {error}"))));
        match checked {
            Ok((record, claims)) => {
                return Ok(Verified::Provider {
                    record: Box::new(record),
                    claims,
                })
            }
            Err(error) => last = Some((error, Some(id))),
        }
    }
    Err(last.unwrap_or((JwtError::UnknownIssuer(issuer), None)))
}

/// True when `caller` may validate others' credentials: a `validate` key or the owner key.
pub fn may_validate(caller: &KeyRecord) -> bool {
    caller.validate || caller.owner
}

/// The refusal for a caller without `validate`.
pub fn validate_required(operation: &str) -> HubError {
    HubError::BadRequest(format!(
        "{operation} needs a key with the validate permission (hyperforge auth key create NAME \
         --permission validate) or the owner key"
    ))
}

/// Issues a hub JWT for `subject` (validated first), or for `caller` itself when `subject` is
/// `None`. A subject other than the caller needs the caller's `validate` permission.
///
/// # Errors
/// [`HubError::BadRequest`] (no `validate` permission, a bad audience or ttl),
/// [`HubError::InvalidToken`] (the subject's key or JWT is not valid), or a signing failure.
pub async fn issue_jwt(
    hub: &Arc<Hub>,
    caller: &KeyRecord,
    subject: Option<SubjectToken>,
    audience: &str,
    ttl_ms: Option<u64>,
) -> Result<IssuedJwt, HubError> {
    if audience.is_empty()
        || audience.len() > MAX_AUDIENCE_LEN
        || audience.chars().any(char::is_control)
    {
        return Err(HubError::BadRequest(format!(
            "audience must be 1 to {MAX_AUDIENCE_LEN} printable characters"
        )));
    }
    if ttl_ms == Some(0) {
        return Err(HubError::BadRequest("ttl must be positive".to_owned()));
    }
    let subject =
        match subject {
            None => Subject::Key {
                name: caller.name.clone(),
                scopes: caller.scopes.clone(),
            },
            Some(_) if !may_validate(caller) => {
                return Err(validate_required("issue_jwt for a subject"))
            }
            Some(SubjectToken::Key(key)) => {
                let validation = validate_key(hub, &key);
                match (validation.state, validation.name) {
                    (KeyState::Active, Some(name)) => Subject::Key {
                        name,
                        scopes: validation.scopes,
                    },
                    (state, _) => {
                        return Err(HubError::InvalidToken(format!(
                            "the subject key is {}",
                            key_state_name(state)
                        )))
                    }
                }
            }
            Some(SubjectToken::Jwt { token, provider }) => {
                match check_jwt(hub, &token, provider.as_ref(), None).await {
                    Ok(Verified::Provider { record, claims }) => {
                        let text = |name: &str| {
                            claims
                                .get(name)
                                .and_then(serde_json::Value::as_str)
                                .map(str::to_owned)
                        };
                        let (Some(issuer), Some(subject)) = (text("iss"), text("sub")) else {
                            return Err(HubError::InvalidToken(
                                "the subject JWT has no iss or sub".to_owned(),
                            ));
                        };
                        Subject::ProviderUser {
                            provider: record.id,
                            issuer,
                            subject,
                        }
                    }
                    Ok(Verified::Hub(_)) => return Err(HubError::InvalidToken(
                        "a hub JWT cannot be exchanged for another; exchange the credential it \
                         was issued for"
                            .to_owned(),
                    )),
                    Err((error, _)) => {
                        return Err(HubError::InvalidToken(format!(
                            "the subject JWT is not valid: {}",
                            error.reason()
                        )))
                    }
                }
            }
        };
    let settings = hub.config().jwt.clone();
    let mut keys = lock(&hub.signing);
    Ok(hub_jwt::issue(
        &mut keys,
        &settings,
        &subject,
        audience,
        ttl_ms,
        Utc::now(),
    )?)
}

/// A key state as the wire spells it (`active`, `revoked`, …).
pub fn key_state_name(state: KeyState) -> &'static str {
    match state {
        KeyState::Active => "active",
        KeyState::Revoked => "revoked",
        KeyState::Expired => "expired",
        KeyState::Unknown => "unknown",
        KeyState::Malformed => "malformed",
    }
}

/// The hub's JWK Set.
pub fn jwks(hub: &Hub) -> JwksReply {
    let settings = hub.config().jwt.clone();
    JwksReply {
        jwks_json: lock(&hub.signing).jwks_json(&settings, Utc::now()),
    }
}

/// The live key a bearer credential names (the HTTP endpoints' caller).
///
/// # Errors
/// [`HubError::InvalidMasterToken`].
pub fn authenticate_bearer(hub: &Hub, bearer: &MasterToken) -> Result<KeyRecord, HubError> {
    lock(&hub.keys)
        .authenticate(bearer, Utc::now())
        .cloned()
        .map_err(|_| HubError::InvalidMasterToken)
}
