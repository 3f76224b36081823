//! Providers' signing keys: each issuer's discovery document gives its `jwks_uri`; the JWK Set
//! found there is parsed and cached. A token whose `kid` is not cached re-fetches the set (the
//! provider rotated its keys), at most once per [`REFETCH_INTERVAL`] per issuer, so a flood of
//! tokens with made-up `kid`s cannot make the hub hammer the provider.
//!
//! Fetches are blocking (ureq, with timeouts and a size limit); callers run them on the
//! blocking pool.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};

use super::error::JwtError;

/// Shortest time between two fetches of one issuer's JWKS.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// One usable key of a JWK Set.
#[derive(Clone)]
pub struct ProviderKey {
    /// Its `kid`, if it has one.
    pub kid: Option<String>,
    /// Its algorithm: the JWK's `alg`, else the one its key type implies (`OKP` → `EdDSA`).
    pub algorithm: Option<Algorithm>,
    /// The public key.
    pub key: DecodingKey,
}

/// Parses a JWK Set document (RFC 7517 §5), keeping the signing keys it can use (`use` absent
/// or `sig`; RSA, EC P-256/P-384, OKP Ed25519) and skipping others. Symmetric (`oct`) keys are
/// never used.
///
/// # Errors
/// [`JwtError::Fetch`] when the document is not a JWK Set.
pub fn parse_jwks(bytes: &[u8]) -> Result<Vec<ProviderKey>, JwtError> {
    let _ = bytes;
    unimplemented!("jwks_cache")
}

/// Every issuer's cached keys.
#[derive(Default)]
pub struct JwksCache {}

impl JwksCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key to verify a token from `issuer` with `kid` (and header `alg`): from the cache,
    /// or fetched (discovery document, then JWKS) when the issuer is new or the `kid` unknown
    /// and the last fetch is older than [`REFETCH_INTERVAL`]. Blocking.
    ///
    /// # Errors
    /// [`JwtError::UnknownKey`] or [`JwtError::Fetch`].
    pub fn key_for(
        &self,
        issuer: &str,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<ProviderKey, JwtError> {
        let _ = (issuer, kid, algorithm);
        unimplemented!("jwks_cache")
    }
}
