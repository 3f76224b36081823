//! Hub-signed JWTs: what they claim, issuing one, and verifying one.
//!
//! Claims: `iss` (`[jwt] issuer`), `sub` (`key:<name>` for an API key, `<issuer>|<sub>` for a
//! provider user), `aud`, `iat`, `nbf`, `exp`, `jti`, and `scope` (the key's pre-granted scopes,
//! space-separated as RFC 8693 §4.2 does), plus `key` (the key's name) or `provider`
//! (`ORG/APP/TYPE`).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use auth_hub_protocol::identity::IssuedJwt;
use auth_hub_protocol::{Jwt, ProviderId, SecretScope};

use super::error::{IdentityError, JwtError};
use super::signing::{SigningKeys, LEEWAY_SECS};
use crate::policy::identity_config::JwtSettings;

/// Whom a hub JWT is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An API key.
    Key {
        /// Its name.
        name: String,
        /// Its pre-granted scopes.
        scopes: Vec<SecretScope>,
    },
    /// A user a provider vouched for.
    ProviderUser {
        /// The provider.
        provider: ProviderId,
        /// The provider's `iss`.
        issuer: String,
        /// The provider's `sub`.
        subject: String,
    },
}

/// The claims of a hub JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Not before (unix seconds).
    pub nbf: i64,
    /// Expires (unix seconds).
    pub exp: i64,
    /// Unique id.
    pub jti: String,
    /// Scopes, space-separated; absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The API key's name, for a key subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The provider, for a provider user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// Signs a JWT for `subject` and `audience` living `ttl_ms` (the default when `None`, capped
/// at `settings.max_ttl`).
///
/// # Errors
/// [`IdentityError`] from signing (or a rotation that cannot be persisted).
pub fn issue(
    keys: &mut SigningKeys,
    settings: &JwtSettings,
    subject: &Subject,
    audience: &str,
    ttl_ms: Option<u64>,
    now: DateTime<Utc>,
) -> Result<IssuedJwt, IdentityError> {
    let ttl = ttl_ms
        .map_or(settings.ttl, Duration::from_millis)
        .min(settings.max_ttl);
    // Whole seconds, as JWT times are; at least one so the token is not born expired.
    let ttl_secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
    let iat = now.timestamp();
    let exp = iat.saturating_add(ttl_secs);
    let (sub, scope, key, provider) = match subject {
        Subject::Key { name, scopes } => {
            let scope = (!scopes.is_empty()).then(|| {
                scopes
                    .iter()
                    .map(|scope| scope.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            (format!("key:{name}"), scope, Some(name.clone()), None)
        }
        Subject::ProviderUser {
            provider,
            issuer,
            subject,
        } => (
            format!("{issuer}|{subject}"),
            None,
            None,
            Some(provider.to_string()),
        ),
    };
    let claims = HubClaims {
        iss: settings.issuer.clone(),
        sub,
        aud: audience.to_owned(),
        iat,
        nbf: iat,
        exp,
        jti: new_jti(),
        scope,
        key,
        provider,
    };
    let value = serde_json::to_value(&claims)
        .map_err(|error| IdentityError::Sign(format!("cannot encode claims: {error}")))?;
    let (token, kid) = keys.sign(&value, settings, now)?;
    let expires_at = DateTime::from_timestamp(exp, 0)
        .ok_or_else(|| IdentityError::Sign("expiry out of range".to_owned()))?;
    Ok(IssuedJwt {
        token: Jwt::new(token),
        kid,
        expires_at,
    })
}

/// A random token id: 16 bytes, base64url.
fn new_jti() -> String {
    let mut bytes = [0_u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Verifies a hub JWT: signature (EdDSA, a published `kid`), `iss`, `exp`/`nbf`/`iat` with a
/// small leeway, and `aud` when `audience` is given.
///
/// # Errors
/// [`JwtError`].
pub fn verify(
    keys: &SigningKeys,
    settings: &JwtSettings,
    token: &str,
    audience: Option<&str>,
    now: DateTime<Utc>,
) -> Result<HubClaims, JwtError> {
    let claims = keys.verify_signature(token, settings, now)?;
    let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(i64::MAX);
    let now = now.timestamp();
    let iss = string_claim(&claims, "iss")?;
    if iss != settings.issuer {
        return Err(JwtError::Issuer {
            expected: settings.issuer.clone(),
            found: iss.to_owned(),
        });
    }
    string_claim(&claims, "sub")?;
    let exp = time_claim(&claims, "exp")?.ok_or(JwtError::MissingClaim("exp"))?;
    if now > exp.saturating_add(leeway) {
        return Err(JwtError::Expired);
    }
    if time_claim(&claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(JwtError::NotYetValid);
    }
    if time_claim(&claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(JwtError::IssuedInFuture);
    }
    let aud = string_claim(&claims, "aud")?;
    if let Some(expected) = audience {
        if aud != expected {
            return Err(JwtError::Audience {
                expected: expected.to_owned(),
                found: aud.to_owned(),
            });
        }
    }
    serde_json::from_value(claims).map_err(|error| JwtError::Malformed(error.to_string()))
}

/// A required string claim.
fn string_claim<'a>(
    claims: &'a serde_json::Value,
    name: &'static str,
) -> Result<&'a str, JwtError> {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => Err(JwtError::MissingClaim(name)),
        Some(serde_json::Value::String(text)) => Ok(text),
        Some(_) => Err(JwtError::Malformed(format!("{name} is not a string"))),
    }
}

/// An optional NumericDate claim, in whole seconds.
fn time_claim(claims: &serde_json::Value, name: &'static str) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            // RFC 7519 allows fractional seconds; the whole part is what matters here.
            .or_else(|| value.as_f64().map(|seconds| seconds as i64))
            .map(Some)
            .ok_or_else(|| JwtError::Malformed(format!("{name} is not a number"))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use chrono::{DateTime, TimeZone, Utc};

    use super::{issue, verify, Subject};
    use crate::identity::error::JwtError;
    use crate::identity::signing::SigningKeys;
    use crate::policy::identity_config::JwtSettings;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
            .single()
            .expect("time")
    }

    fn settings() -> JwtSettings {
        JwtSettings {
            issuer: "hub-test".to_owned(),
            ttl: Duration::from_secs(300),
            max_ttl: Duration::from_secs(600),
            rotate_every: Duration::from_secs(3600),
        }
    }

    fn key_subject() -> Subject {
        Subject::Key {
            name: "api".to_owned(),
            scopes: vec!["github/alice/*".parse().expect("scope")],
        }
    }

    fn keys(dir: &tempfile::TempDir) -> SigningKeys {
        SigningKeys::load_or_create(&dir.path().join("jwt-keys.json"), t0()).expect("keys")
    }

    fn b64(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    #[test]
    fn issued_token_verifies_with_its_claims() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = keys(&dir);
        let issued =
            issue(&mut keys, &settings(), &key_subject(), "api", None, t0()).expect("issue");
        assert_eq!(issued.expires_at, t0() + chrono::Duration::seconds(300));
        let claims =
            verify(&keys, &settings(), issued.token.expose(), Some("api"), t0()).expect("verify");
        assert_eq!(claims.iss, "hub-test");
        assert_eq!(claims.sub, "key:api");
        assert_eq!(claims.aud, "api");
        assert_eq!(claims.key.as_deref(), Some("api"));
        assert_eq!(claims.scope.as_deref(), Some("github/alice/*"));
        assert_eq!(claims.exp - claims.iat, 300);
        let header = crate::identity::signing::raw_header(issued.token.expose()).expect("header");
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["kid"], issued.kid.as_str());
    }

    #[test]
    fn ttl_is_capped_at_max_ttl() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = keys(&dir);
        let issued = issue(
            &mut keys,
            &settings(),
            &key_subject(),
            "api",
            Some(86_400_000),
            t0(),
        )
        .expect("issue");
        assert_eq!(issued.expires_at, t0() + chrono::Duration::seconds(600));
    }

    #[test]
    fn refuses_expired_wrong_issuer_wrong_audience_and_future_tokens() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = keys(&dir);
        let token = issue(&mut keys, &settings(), &key_subject(), "api", None, t0())
            .expect("issue")
            .token;
        let token = token.expose();
        // Within the leeway, still valid; beyond it, expired.
        let edge = t0() + chrono::Duration::seconds(300 + 60);
        assert!(verify(&keys, &settings(), token, None, edge).is_ok());
        let late = edge + chrono::Duration::seconds(1);
        assert_eq!(
            verify(&keys, &settings(), token, None, late),
            Err(JwtError::Expired)
        );
        let other_issuer = JwtSettings {
            issuer: "someone-else".to_owned(),
            ..settings()
        };
        assert!(matches!(
            verify(&keys, &other_issuer, token, None, t0()),
            Err(JwtError::Issuer { .. })
        ));
        assert!(matches!(
            verify(&keys, &settings(), token, Some("billing"), t0()),
            Err(JwtError::Audience { .. })
        ));
        let early = t0() - chrono::Duration::seconds(61);
        assert_eq!(
            verify(&keys, &settings(), token, None, early),
            Err(JwtError::NotYetValid)
        );
    }

    #[test]
    fn refuses_tampered_payload_and_signature() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = keys(&dir);
        let token = issue(&mut keys, &settings(), &key_subject(), "api", None, t0())
            .expect("issue")
            .token;
        let parts: Vec<&str> = token.expose().split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        claims["sub"] = "key:owner".into();
        let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(
            verify(&keys, &settings(), &forged, None, t0()),
            Err(JwtError::BadSignature)
        );
        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        signature[0] ^= 1;
        let flipped = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(signature)
        );
        assert_eq!(
            verify(&keys, &settings(), &flipped, None, t0()),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn refuses_alg_none_hmac_and_unknown_kid() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = keys(&dir);
        let issued =
            issue(&mut keys, &settings(), &key_subject(), "api", None, t0()).expect("issue");
        let parts: Vec<&str> = issued.token.expose().split('.').collect();
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none", "kid": issued.kid})),
            parts[1]
        );
        assert_eq!(
            verify(&keys, &settings(), &none, None, t0()),
            Err(JwtError::Algorithm("none".to_owned()))
        );
        // HS256 "signed" with the public key, the classic confusion attack.
        let hs = format!(
            "{}.{}.{}",
            b64(&serde_json::json!({"alg": "HS256", "kid": issued.kid})),
            parts[1],
            parts[2]
        );
        assert_eq!(
            verify(&keys, &settings(), &hs, None, t0()),
            Err(JwtError::Algorithm("HS256".to_owned()))
        );
        let unknown = format!(
            "{}.{}.{}",
            b64(&serde_json::json!({"alg": "EdDSA", "kid": "not-a-kid"})),
            parts[1],
            parts[2]
        );
        assert_eq!(
            verify(&keys, &settings(), &unknown, None, t0()),
            Err(JwtError::UnknownKey("not-a-kid".to_owned()))
        );
        // A token from another hub's keys (a kid this hub never published).
        let other_dir = tempfile::tempdir().expect("dir");
        let mut other = self::keys(&other_dir);
        let foreign = issue(&mut other, &settings(), &key_subject(), "api", None, t0())
            .expect("issue")
            .token;
        assert!(matches!(
            verify(&keys, &settings(), foreign.expose(), None, t0()),
            Err(JwtError::UnknownKey(_))
        ));
        assert!(matches!(
            verify(&keys, &settings(), "not.a-jwt", None, t0()),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_they_expire_then_drops_the_key() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = keys(&dir);
        let settings = settings();
        let old = issue(
            &mut keys,
            &settings,
            &key_subject(),
            "api",
            Some(600_000),
            t0(),
        )
        .expect("issue");
        // Past rotate_every: the next signature rotates.
        let later = t0() + chrono::Duration::seconds(3600);
        let new = issue(&mut keys, &settings, &key_subject(), "api", None, later).expect("issue");
        assert_ne!(old.kid, new.kid, "the key rotated");
        let jwks: serde_json::Value =
            serde_json::from_str(&keys.jwks_json(&settings, later)).expect("jwks");
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|key| key["kid"].as_str().expect("kid"))
            .collect();
        assert_eq!(kids, [new.kid.as_str(), old.kid.as_str()]);
        // The old token (issued at t0 with max_ttl, so long expired at `later`) is refused for
        // its expiry, not its key; one signed just before the rotation stays valid.
        let just_before = later - chrono::Duration::seconds(1);
        let dir2 = tempfile::tempdir().expect("dir");
        let mut keys2 = self::keys(&dir2);
        let before = issue(
            &mut keys2,
            &settings,
            &key_subject(),
            "api",
            Some(600_000),
            just_before,
        )
        .expect("issue");
        issue(&mut keys2, &settings, &key_subject(), "api", None, later).expect("rotate");
        assert_ne!(keys2.current_kid(), Some(before.kid.as_str()));
        let near_expiry = just_before + chrono::Duration::seconds(600);
        assert!(verify(&keys2, &settings, before.token.expose(), None, near_expiry).is_ok());
        // After the overlap the retired key is unpublished, and the next rotation drops it.
        let gone = later + chrono::Duration::seconds(600 + 60);
        assert!(matches!(
            verify(&keys2, &settings, before.token.expose(), None, gone),
            Err(JwtError::UnknownKey(_))
        ));
        let after = later + chrono::Duration::seconds(2 * 3600);
        issue(&mut keys2, &settings, &key_subject(), "api", None, after).expect("rotate again");
        let reloaded =
            SigningKeys::load_or_create(&dir2.path().join("jwt-keys.json"), after).expect("load");
        let text = std::fs::read_to_string(dir2.path().join("jwt-keys.json")).expect("file");
        assert!(!text.contains(&before.kid), "dropped key still stored");
        let jwks: serde_json::Value =
            serde_json::from_str(&reloaded.jwks_json(&settings, after)).expect("jwks");
        assert_eq!(jwks["keys"].as_array().expect("keys").len(), 2);
    }

    #[test]
    fn provider_user_subject() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = keys(&dir);
        let subject = Subject::ProviderUser {
            provider: "osf/cli/oidc".parse().expect("id"),
            issuer: "https://idp.example".to_owned(),
            subject: "user-1".to_owned(),
        };
        let issued = issue(&mut keys, &settings(), &subject, "api", None, t0()).expect("issue");
        let claims = verify(&keys, &settings(), issued.token.expose(), None, t0()).expect("verify");
        assert_eq!(claims.sub, "https://idp.example|user-1");
        assert_eq!(claims.provider.as_deref(), Some("osf/cli/oidc"));
        assert_eq!(claims.scope, None);
    }
}
