//! Identity messages for 1st-layer APIs and app users (the second seed): validate an API key or
//! a provider JWT, issue a hub-signed JWT, publish the hub's public keys (JWKS), and hand the
//! tokens of an OIDC device login to the hub.
//!
//! `validate_key`, `validate_jwt` and `issue_jwt` for someone else's credential need a key
//! holding the `validate` permission (`auth key create NAME --permission validate`); any live
//! key may get a hub JWT for itself and read the JWKS.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::provider::ProviderId;
use crate::scope::{Permissions, SecretScope};
use crate::secret::{Jwt, MasterToken};

/// Is this API key (`TAUTH_…` / `MELT_…`) active?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateKey {
    /// The presented key's full text.
    pub key: MasterToken,
}

/// Validate a JWT: a hub-issued one (its `iss` is the hub) against the hub's keys, or a
/// provider's against that provider's JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateJwt {
    /// The token.
    pub token: Jwt,
    /// The provider whose token it is; when absent, the hub's own tokens and then every live
    /// OIDC provider whose issuer matches the token's `iss`.
    #[serde(default)]
    pub provider: Option<ProviderId>,
    /// The audience the caller expects; the provider record's audiences (or, for a hub JWT,
    /// any) when absent.
    #[serde(default)]
    pub audience: Option<String>,
}

/// Issue a hub-signed JWT (EdDSA) for a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueJwt {
    /// Whose token: a presented key or provider JWT (needs `validate`); the session's own key
    /// when absent.
    #[serde(default)]
    pub subject: Option<SubjectToken>,
    /// The `aud` claim.
    pub audience: String,
    /// Lifetime in milliseconds; the hub's default when absent, capped at its maximum.
    #[serde(default)]
    pub ttl_ms: Option<u64>,
}

/// A credential presented to be exchanged for a hub JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectToken {
    /// An API key's full text.
    Key(MasterToken),
    /// A provider JWT (an id_token), optionally naming its provider.
    Jwt {
        /// The token.
        token: Jwt,
        /// Its provider; found by `iss` when absent.
        #[serde(default)]
        provider: Option<ProviderId>,
    },
}

/// The hub's public signing keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {}

/// Owner: the tokens of a finished OIDC login, for the hub to validate (the id_token against
/// the provider's JWKS) and store under `oidc/ORG/APP/TYPE/…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcLogin {
    /// The provider logged in to.
    pub provider: ProviderId,
    /// The id_token.
    pub id_token: Jwt,
    /// The access token, if the provider sent one.
    #[serde(default)]
    pub access_token: Option<Jwt>,
    /// The refresh token, if the provider sent one.
    #[serde(default)]
    pub refresh_token: Option<Jwt>,
    /// The access token's lifetime in seconds (`expires_in`), if given.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// Owner: refresh a login's tokens with its stored refresh token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcRefresh {
    /// The provider.
    pub provider: ProviderId,
}

/// How an API key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Valid now.
    Active,
    /// Revoked (soft-deleted).
    Revoked,
    /// Past its expiry.
    Expired,
    /// No key of that name, or the secret does not match.
    Unknown,
    /// Not an API key at all.
    Malformed,
}

/// To `validate_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValidation {
    /// How the key stands.
    pub state: KeyState,
    /// Its name, when it parsed.
    #[serde(default)]
    pub name: Option<String>,
    /// True for the owner key.
    #[serde(default)]
    pub owner: bool,
    /// Its pre-granted scopes (when active).
    #[serde(default)]
    pub scopes: Vec<SecretScope>,
    /// Rights under those scopes (when active).
    #[serde(default)]
    pub permissions: Permissions,
    /// Expiry (unix milliseconds), if any.
    #[serde(default, with = "crate::time::opt_millis")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation (unix milliseconds), if revoked.
    #[serde(default, with = "crate::time::opt_millis")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// To `validate_jwt`: `active` with the claims, or not with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtValidation {
    /// True when signature, issuer, audience and times all check out.
    pub active: bool,
    /// Why not, when not active (`expired`, `bad signature`, `audience …`).
    #[serde(default)]
    pub reason: Option<String>,
    /// The provider that issued it; `None` for a hub JWT (or when unknown).
    #[serde(default)]
    pub provider: Option<ProviderId>,
    /// The verified claims as a JSON object (text), when active.
    #[serde(default)]
    pub claims_json: Option<String>,
}

/// To `issue_jwt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedJwt {
    /// The compact JWT.
    pub token: Jwt,
    /// The signing key's id.
    pub kid: String,
    /// Its `exp` (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub expires_at: DateTime<Utc>,
}

/// To `jwks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwksReply {
    /// The JWK Set document (RFC 7517) as JSON text, exactly as `/.well-known/jwks.json`
    /// serves it.
    pub jwks_json: String,
}

/// To `oidc_login` and `oidc_refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSession {
    /// The provider.
    pub provider: ProviderId,
    /// The id_token's `sub`.
    pub subject: String,
    /// The id_token's `iss`.
    pub issuer: String,
    /// The user's name or e-mail when the id_token carries one.
    #[serde(default)]
    pub name: Option<String>,
    /// When the id_token expires (its `exp`, unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub expires_at: DateTime<Utc>,
    /// True when a refresh token is stored.
    #[serde(default)]
    pub refreshable: bool,
}
