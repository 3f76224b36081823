//! `POST /introspect` (RFC 7662): is this token active? The caller sends its own service key as
//! `Authorization: Bearer <key>` and needs the key's `validate` permission (401 without a live
//! key, 403 without `validate`; the owner key may too); the form's `token` is an API key (`TAUTH_…`/`MELT_…`), a hub
//! JWT or a provider JWT. `token_type_hint` is accepted and ignored: the token's shape says
//! what it is.
//!
//! An inactive token (revoked, expired, unknown, malformed, a bad signature) is answered with
//! `{"active":false}` and nothing else (§2.2), so the answer tells an attacker nothing about
//! why. An active one carries `token_type` (`Bearer`), `credential` (`api_key`, `hub_jwt` or
//! `provider_jwt`) and the standard members that apply: `sub`, `username`, `client_id`,
//! `scope`, `exp`, `iat`, `nbf`, `iss`, `aud`, `jti`; an API key adds `permissions` and
//! `owner`, a provider JWT (or a hub JWT issued for a provider's user) `provider`
//! (`ORG/APP/TYPE`). An API key's `sub` is `key:<name>`, as in the hub JWTs issued for it.

use std::net::SocketAddr;
use std::sync::Arc;

use auth_hub_protocol::identity::{JwtValidation, KeyState, KeyValidation};
use auth_hub_protocol::{Jwt, MasterToken};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::reply::{self, Body, Caching};
use super::{caller, form};
use crate::hub::Hub;
use crate::identity::ops;
use crate::keys::KeyRecord;

/// The audit event of every introspection request.
const EVENT: &str = "http_introspect";

/// What kind of credential a token's text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `TAUTH_…` or `MELT_…`.
    ApiKey,
    /// Three dot-separated base64url parts.
    Jwt,
    /// Neither: inactive without further work.
    Other,
}

/// The shape of `text`.
pub(crate) fn shape(text: &str) -> Shape {
    if text.starts_with("TAUTH_") || text.starts_with("MELT_") {
        return Shape::ApiKey;
    }
    let base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|p| base64url(p))
    {
        Shape::Jwt
    } else {
        Shape::Other
    }
}

/// Answers an introspection request.
pub async fn post(hub: &Arc<Hub>, peer: SocketAddr, request: Request<Incoming>) -> Response<Body> {
    let caller = match caller::authenticate(hub, request.headers(), peer, EVENT) {
        Ok(caller) => caller,
        Err(refusal) => return *refusal,
    };
    if !ops::may_validate(&caller) {
        audit(hub, &caller, peer, "denied", None);
        return reply::oauth_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            &format!(
                "key {} may not introspect tokens: it needs the validate permission \
                 (hyperforge auth key create NAME --permission validate)",
                caller.name
            ),
        );
    }
    let mut form = match form::read(request).await {
        Ok(form) => form,
        Err(error) => {
            audit(hub, &caller, peer, "bad_request", None);
            return reply::oauth_error(error.status(), "invalid_request", &error.to_string());
        }
    };
    let Some(token) = form.take("token") else {
        audit(hub, &caller, peer, "bad_request", None);
        return reply::oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token parameter is missing",
        );
    };
    let (answer, kind) = introspect(hub, &token).await;
    let outcome = if answer.get("active") == Some(&Value::Bool(true)) {
        "active"
    } else {
        "inactive"
    };
    audit(hub, &caller, peer, outcome, Some(kind));
    reply::json(StatusCode::OK, &answer, Caching::NoStore)
}

/// The introspection answer for `token`, and what kind of credential it was (for the audit).
pub(crate) async fn introspect(hub: &Arc<Hub>, token: &str) -> (Value, &'static str) {
    match shape(token) {
        Shape::ApiKey => {
            let validation = ops::validate_key(hub, &MasterToken::from(token));
            (key_answer(&validation, &hub.config().jwt.issuer), "api_key")
        }
        Shape::Jwt => {
            let validation = ops::validate_jwt(hub, &Jwt::from(token), None, None).await;
            (jwt_answer(&validation), "jwt")
        }
        Shape::Other => (inactive(), "unrecognised"),
    }
}

/// `{"active":false}`, the whole answer for any token that is not active.
pub(crate) fn inactive() -> Value {
    json!({ "active": false })
}

/// The answer for an API key.
pub(crate) fn key_answer(validation: &KeyValidation, issuer: &str) -> Value {
    if validation.state != KeyState::Active {
        return inactive();
    }
    let Some(name) = &validation.name else {
        return inactive();
    };
    let mut answer = Map::new();
    answer.insert("active".into(), Value::Bool(true));
    answer.insert("token_type".into(), "Bearer".into());
    answer.insert("credential".into(), "api_key".into());
    // As in the hub JWTs issued for the key, so an API sees one `sub` either way.
    answer.insert("sub".into(), format!("key:{name}").into());
    answer.insert("username".into(), name.as_str().into());
    answer.insert("client_id".into(), name.as_str().into());
    answer.insert("iss".into(), issuer.into());
    if !validation.scopes.is_empty() {
        let scopes: Vec<String> = validation.scopes.iter().map(ToString::to_string).collect();
        answer.insert("scope".into(), scopes.join(" ").into());
    }
    let mut permissions = Vec::new();
    if validation.permissions.read {
        permissions.push(Value::from("read"));
    }
    if validation.permissions.write {
        permissions.push(Value::from("write"));
    }
    answer.insert("permissions".into(), Value::Array(permissions));
    answer.insert("owner".into(), Value::Bool(validation.owner));
    if let Some(expires) = validation.expires_at {
        answer.insert("exp".into(), expires.timestamp().into());
    }
    Value::Object(answer)
}

/// The answer for a JWT, built from its verified claims.
pub(crate) fn jwt_answer(validation: &JwtValidation) -> Value {
    if !validation.active {
        return inactive();
    }
    let claims = validation
        .claims_json
        .as_deref()
        .and_then(|text| serde_json::from_str::<Map<String, Value>>(text).ok());
    let Some(claims) = claims else {
        return inactive();
    };
    let mut answer = Map::new();
    answer.insert("active".into(), Value::Bool(true));
    answer.insert("token_type".into(), "Bearer".into());
    match &validation.provider {
        Some(provider) => {
            answer.insert("credential".into(), "provider_jwt".into());
            answer.insert("provider".into(), provider.to_string().into());
        }
        None => {
            answer.insert("credential".into(), "hub_jwt".into());
            // A hub JWT names the key or the provider it was issued for.
            if let Some(provider) = claims.get("provider").and_then(Value::as_str) {
                answer.insert("provider".into(), provider.into());
            }
        }
    }
    for name in ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"] {
        if let Some(value) = claims.get(name) {
            answer.insert(name.into(), value.clone());
        }
    }
    if let Some(scope) = scope_of(&claims) {
        answer.insert("scope".into(), scope.into());
    }
    if let Some(client) = ["client_id", "azp"]
        .iter()
        .find_map(|name| claims.get(*name).and_then(Value::as_str))
    {
        answer.insert("client_id".into(), client.into());
    }
    if let Some(user) = ["preferred_username", "email", "name", "key"]
        .iter()
        .find_map(|name| claims.get(*name).and_then(Value::as_str))
    {
        answer.insert("username".into(), user.into());
    }
    Value::Object(answer)
}

/// The token's scopes as RFC 7662's space-separated `scope`: a `scope` string as it is, or a
/// `scope`/`scp`/`scopes` array of strings joined.
fn scope_of(claims: &Map<String, Value>) -> Option<String> {
    if let Some(text) = claims.get("scope").and_then(Value::as_str) {
        return Some(text.to_owned());
    }
    ["scope", "scp", "scopes"].iter().find_map(|name| {
        let items = claims.get(*name)?.as_array()?;
        let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
        Some(words.join(" "))
    })
}

/// Appends one call to the audit trail (never a token).
fn audit(hub: &Hub, caller: &KeyRecord, peer: SocketAddr, outcome: &str, kind: Option<&str>) {
    let what = kind.map(|kind| format!("token {kind}"));
    super::audit_call(hub, EVENT, caller, peer, outcome, what);
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_hub_protocol::{Permissions, ProviderId, SecretScope};
    use chrono::{TimeZone, Utc};

    fn validation(state: KeyState) -> KeyValidation {
        KeyValidation {
            state,
            name: Some("ci".into()),
            owner: false,
            scopes: vec![SecretScope::parse("cargo/*").expect("scope")],
            permissions: Permissions::READ,
            expires_at: Some(Utc.timestamp_opt(2_000_000_000, 0).single().expect("time")),
            revoked_at: None,
        }
    }

    #[test]
    fn shapes_are_told_apart() {
        assert_eq!(shape("TAUTH_ci--zabc"), Shape::ApiKey);
        assert_eq!(shape("MELT_a--b--c"), Shape::ApiKey);
        assert_eq!(shape("eyJh.eyJz.c2ln"), Shape::Jwt);
        assert_eq!(shape("eyJh.eyJz."), Shape::Jwt);
        assert_eq!(shape("a.b"), Shape::Other);
        assert_eq!(shape("a b.c.d"), Shape::Other);
        assert_eq!(shape(""), Shape::Other);
    }

    #[test]
    fn any_inactive_key_state_says_nothing_but_active_false() {
        for state in [
            KeyState::Revoked,
            KeyState::Expired,
            KeyState::Unknown,
            KeyState::Malformed,
        ] {
            assert_eq!(key_answer(&validation(state), "auth-hub"), inactive());
        }
        assert_eq!(inactive().to_string(), r#"{"active":false}"#);
    }

    #[test]
    fn an_active_key_has_the_standard_members() {
        let answer = key_answer(&validation(KeyState::Active), "auth-hub");
        assert_eq!(answer["active"], true);
        assert_eq!(answer["sub"], "key:ci");
        assert_eq!(answer["username"], "ci");
        assert_eq!(answer["client_id"], "ci");
        assert_eq!(answer["scope"], "cargo/*");
        assert_eq!(answer["exp"], 2_000_000_000);
        assert_eq!(answer["iss"], "auth-hub");
        assert_eq!(answer["credential"], "api_key");
        assert_eq!(answer["permissions"], json!(["read"]));
    }

    #[test]
    fn a_jwt_answer_copies_verified_claims_only_when_active() {
        let claims = json!({
            "iss": "https://idp.example", "sub": "u1", "aud": ["api"], "exp": 2_000_000_000,
            "iat": 1_999_999_000, "azp": "cli", "email": "u@example.org",
            "scp": ["read", "write"], "nonce": "n"
        });
        let active = JwtValidation {
            active: true,
            reason: None,
            provider: Some(ProviderId::parse("osf/cli/oidc").expect("id")),
            claims_json: Some(claims.to_string()),
        };
        let answer = jwt_answer(&active);
        assert_eq!(answer["credential"], "provider_jwt");
        assert_eq!(answer["provider"], "osf/cli/oidc");
        assert_eq!(answer["client_id"], "cli");
        assert_eq!(answer["username"], "u@example.org");
        assert_eq!(answer["scope"], "read write");
        assert_eq!(answer["aud"], json!(["api"]));
        assert!(answer.get("nonce").is_none());
        let refused = JwtValidation {
            active: false,
            reason: Some("expired".into()),
            provider: None,
            claims_json: Some(claims.to_string()),
        };
        assert_eq!(jwt_answer(&refused), inactive());
    }
}
