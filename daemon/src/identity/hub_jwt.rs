//! Hub-signed JWTs: what they claim, issuing one, and verifying one.
//!
//! Claims: `iss` (`[jwt] issuer`), `sub` (`key:<name>` for an API key, `<issuer>|<sub>` for a
//! provider user), `aud`, `iat`, `nbf`, `exp`, `jti`, and `scope` (the key's pre-granted scopes,
//! space-separated as RFC 8693 §4.2 does), plus `key` (the key's name) or `provider`
//! (`ORG/APP/TYPE`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use auth_hub_protocol::identity::IssuedJwt;
use auth_hub_protocol::{ProviderId, SecretScope};

use super::error::{IdentityError, JwtError};
use super::signing::SigningKeys;
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
    let _ = (keys, settings, subject, audience, ttl_ms, now);
    unimplemented!("hub_jwt")
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
    let _ = (keys, settings, token, audience, now);
    unimplemented!("hub_jwt")
}
