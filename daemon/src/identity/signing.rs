//! The hub's JWT signing keys (`jwt-keys.json`, mode 0600 in the state directory): Ed25519 key
//! pairs, each with a `kid`, the newest one signing. A key older than `[jwt] rotate_every` is
//! replaced at the next signature; retired keys stay published in the JWKS for `[jwt] max_ttl`
//! (the longest a token lives) and are then dropped, so a token signed before a rotation stays
//! valid until it expires and never longer.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::error::{IdentityError, JwtError};
use crate::policy::identity_config::JwtSettings;

/// The hub's signing keys, backed by `jwt-keys.json`.
pub struct SigningKeys {
    path: PathBuf,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private keys.
        f.debug_struct("SigningKeys")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Loads `path`, or creates it with a fresh key when missing.
    ///
    /// # Errors
    /// [`IdentityError::File`] or [`IdentityError::InvalidKeys`].
    pub fn load_or_create(path: &Path, now: DateTime<Utc>) -> Result<Self, IdentityError> {
        // Skeleton: no keys until the signing part lands.
        let _ = now;
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// Signs `claims` (a JSON object) with the current key, rotating first when it is older
    /// than `settings.rotate_every` (the new key is persisted before it signs). Returns the
    /// compact JWT and the `kid` used.
    ///
    /// # Errors
    /// [`IdentityError::File`] when a rotation cannot be persisted, [`IdentityError::Sign`].
    pub fn sign(
        &mut self,
        claims: &serde_json::Value,
        settings: &JwtSettings,
        now: DateTime<Utc>,
    ) -> Result<(String, String), IdentityError> {
        let _ = (claims, settings, now);
        unimplemented!("signing")
    }

    /// Checks a compact JWT's signature against the published keys (`alg` must be `EdDSA`,
    /// `kid` one of them) and returns its claims, unchecked otherwise.
    ///
    /// # Errors
    /// [`JwtError`].
    pub fn verify_signature(
        &self,
        token: &str,
        settings: &JwtSettings,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value, JwtError> {
        let _ = (token, settings, now);
        unimplemented!("signing")
    }

    /// The published keys as a JWK Set document: the current key and the retired ones still
    /// inside their overlap.
    pub fn jwks_json(&self, settings: &JwtSettings, now: DateTime<Utc>) -> String {
        let _ = (settings, now);
        unimplemented!("signing")
    }
}
