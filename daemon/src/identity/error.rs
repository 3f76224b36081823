//! Why a JWT was refused, and why an identity operation failed. Messages never contain a token.

use crate::state_file::StateFileError;

/// Why a JWT (hub-issued or a provider's) is not valid. Each variant is one check, so a
/// caller (and `auth verify`) learns which one failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three base64url parts of JSON, or a claim of the wrong type.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// `alg` is `none`, an HMAC algorithm, or one the hub does not implement.
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// `alg` is valid but not in the provider record's (or the hub's) allow-list.
    #[error("algorithm {alg:?} is not allowed for this issuer (allowed: {allowed})")]
    AlgorithmNotAllowed {
        /// The token's `alg`.
        alg: String,
        /// The allow-list, comma-separated.
        allowed: String,
    },
    /// No key in the issuer's JWKS has the token's `kid`, even after re-fetching it.
    #[error("no signing key {0:?} in the issuer's JWKS")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is past (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("issued in the future")]
    IssuedInFuture,
    /// A required claim (`exp`, `iss`, `sub`, `aud`) is missing.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// `iss` is not the expected issuer.
    #[error("issuer {found:?} is not {expected:?}")]
    Issuer {
        /// The issuer expected.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` holds none of the accepted audiences.
    #[error("audience {found:?} is not accepted (expected one of {expected})")]
    Audience {
        /// The accepted audiences, comma-separated.
        expected: String,
        /// The token's `aud`.
        found: String,
    },
    /// No live provider record matches the token's issuer (or the one named).
    #[error("no provider record for issuer {0:?}")]
    UnknownIssuer(String),
    /// The provider's discovery document or JWKS could not be fetched or read.
    #[error("cannot read the provider's keys: {0}")]
    Fetch(String),
}

impl JwtError {
    /// A short reason for `active: false` answers (`expired`, `bad signature`, …): the
    /// message itself.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

/// Why an identity operation (not a token check) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The signing keys file could not be read or written.
    #[error(transparent)]
    File(#[from] StateFileError),
    /// The signing keys file holds a key that cannot be used.
    #[error("signing keys file is invalid: {0}")]
    InvalidKeys(String),
    /// Signing failed.
    #[error("cannot sign a token: {0}")]
    Sign(String),
    /// A token was refused.
    #[error(transparent)]
    Jwt(#[from] JwtError),
}
