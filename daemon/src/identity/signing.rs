//! The hub's JWT signing keys (`jwt-keys.json`, mode 0600 in the state directory): Ed25519 key
//! pairs, each with a `kid`, the newest one signing. A key older than `[jwt] rotate_every` is
//! replaced at the next signature; retired keys stay published in the JWKS for `[jwt] max_ttl`
//! (the longest a token lives) plus the verification leeway and are then dropped, so a token
//! signed before a rotation stays valid until it expires and never longer.
//!
//! A `kid` is the key's JWK thumbprint (RFC 7638, SHA-256, base64url): stable, derived from the
//! public key alone, and the same value any JOSE library computes. The private keys are held as
//! PKCS#8 bytes in [`Zeroizing`] buffers and never appear in `Debug` or the log.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::error::{IdentityError, JwtError};
use crate::policy::identity_config::JwtSettings;
use crate::state_file;

/// The `version` written to and accepted from `jwt-keys.json`.
pub const JWT_KEYS_FILE_VERSION: u32 = 1;
/// The only `alg` the hub signs with and accepts for its own tokens.
pub const HUB_ALG: &str = "EdDSA";
/// Clock skew tolerated when checking a token's times, in seconds. A retired key stays published
/// this much longer than `max_ttl` so a token accepted with the leeway still finds its key.
pub const LEEWAY_SECS: u64 = 60;

/// One signing key as held in memory.
#[derive(Clone)]
struct SigningKey {
    /// RFC 7638 thumbprint of the public key.
    kid: String,
    /// The PKCS#8 document (private and public key).
    pkcs8: Zeroizing<Vec<u8>>,
    /// The raw 32-byte public key, base64url (the JWK's `x`).
    x: String,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

impl SigningKey {
    /// A fresh key pair created at `now`.
    fn generate(now: DateTime<Utc>) -> Result<Self, IdentityError> {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| IdentityError::Sign("cannot generate an Ed25519 key".to_owned()))?;
        let pkcs8 = Zeroizing::new(document.as_ref().to_vec());
        Self::from_pkcs8(pkcs8, now, None)
            .map_err(|reason| IdentityError::Sign(format!("generated key unusable: {reason}")))
    }

    /// Rebuilds a key from its PKCS#8 bytes, deriving the public key and `kid`.
    fn from_pkcs8(
        pkcs8: Zeroizing<Vec<u8>>,
        created_at: DateTime<Utc>,
        retired_at: Option<DateTime<Utc>>,
    ) -> Result<Self, String> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
            .map_err(|error| format!("not an Ed25519 PKCS#8 key: {error}"))?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Ok(Self {
            kid: thumbprint(&x),
            pkcs8,
            x,
            created_at,
            retired_at,
        })
    }

    /// True while the key must be published at `now`: current, or retired less than `keep`
    /// ago.
    fn published(&self, keep: chrono::Duration, now: DateTime<Utc>) -> bool {
        self.retired_at.is_none_or(|retired| now < retired + keep)
    }

    /// The public JWK.
    fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "alg": HUB_ALG,
            "use": "sig",
        })
    }
}

/// RFC 7638 JWK thumbprint of an Ed25519 public key (`x` base64url): SHA-256 over the required
/// members in lexicographic order, no whitespace, base64url.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The on-disk shape of one key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    kid: String,
    created_at: DateTime<Utc>,
    #[serde(default)]
    retired_at: Option<DateTime<Utc>>,
    /// The PKCS#8 document, base64url.
    pkcs8: String,
}

impl Drop for StoredKey {
    fn drop(&mut self) {
        self.pkcs8.zeroize();
    }
}

/// The on-disk shape of `jwt-keys.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    version: u32,
    keys: Vec<StoredKey>,
}

/// The hub's signing keys, backed by `jwt-keys.json`.
pub struct SigningKeys {
    path: PathBuf,
    /// Oldest first; the last one is the current (signing) key and is never retired.
    keys: Vec<SigningKey>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private keys.
        let kids: Vec<&str> = self.keys.iter().map(|key| key.kid.as_str()).collect();
        f.debug_struct("SigningKeys")
            .field("path", &self.path)
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Loads `path`, or creates it with a fresh key when missing.
    ///
    /// # Errors
    /// [`IdentityError::File`] or [`IdentityError::InvalidKeys`].
    pub fn load_or_create(path: &Path, now: DateTime<Utc>) -> Result<Self, IdentityError> {
        let mut keys = Vec::new();
        if let Some(file) = state_file::load::<KeysFile>(path, JWT_KEYS_FILE_VERSION)? {
            for stored in &file.keys {
                let bytes = URL_SAFE_NO_PAD
                    .decode(stored.pkcs8.as_bytes())
                    .map(Zeroizing::new)
                    .map_err(|_| {
                        IdentityError::InvalidKeys(format!("key {:?} is not base64url", stored.kid))
                    })?;
                let key = SigningKey::from_pkcs8(bytes, stored.created_at, stored.retired_at)
                    .map_err(|reason| {
                        IdentityError::InvalidKeys(format!("key {:?}: {reason}", stored.kid))
                    })?;
                if key.kid != stored.kid {
                    return Err(IdentityError::InvalidKeys(format!(
                        "key {:?} does not match its public key",
                        stored.kid
                    )));
                }
                keys.push(key);
            }
        }
        let mut signing = Self {
            path: path.to_owned(),
            keys,
        };
        if signing.current().is_none() {
            signing.keys.push(SigningKey::generate(now)?);
            signing.save()?;
        }
        Ok(signing)
    }

    /// The signing key: the newest, never retired.
    fn current(&self) -> Option<&SigningKey> {
        self.keys.last().filter(|key| key.retired_at.is_none())
    }

    /// The `kid` of the key that signs now.
    pub fn current_kid(&self) -> Option<&str> {
        self.current().map(|key| key.kid.as_str())
    }

    /// How long a retired key stays published.
    fn overlap(settings: &JwtSettings) -> chrono::Duration {
        chrono::Duration::from_std(settings.max_ttl).unwrap_or(chrono::Duration::MAX)
            + chrono::Duration::seconds(LEEWAY_SECS as i64)
    }

    /// Writes every key to the file.
    fn save(&self) -> Result<(), IdentityError> {
        save_keys(&self.path, &self.keys)
    }

    /// Replaces the current key when it is older than `rotate_every` (retiring it, dropping keys
    /// past their overlap), persisting the result before it is used. On a failed write the keys
    /// are unchanged.
    fn rotate_if_due(
        &mut self,
        settings: &JwtSettings,
        now: DateTime<Utc>,
    ) -> Result<(), IdentityError> {
        let rotate_every =
            chrono::Duration::from_std(settings.rotate_every).unwrap_or(chrono::Duration::MAX);
        let due = self
            .current()
            .is_none_or(|key| now.signed_duration_since(key.created_at) >= rotate_every);
        if !due {
            return Ok(());
        }
        let overlap = Self::overlap(settings);
        // Build the next set aside and persist it first: on a failed write nothing changed.
        let mut next: Vec<SigningKey> = self
            .keys
            .iter()
            .cloned()
            .map(|mut key| {
                key.retired_at.get_or_insert(now);
                key
            })
            .filter(|key| key.published(overlap, now))
            .collect();
        next.push(SigningKey::generate(now)?);
        save_keys(&self.path, &next)?;
        self.keys = next;
        tracing::info!(kid = %self.current_kid().unwrap_or_default(), "jwt signing key rotated");
        Ok(())
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
        self.rotate_if_due(settings, now)?;
        let key = self
            .current()
            .ok_or_else(|| IdentityError::Sign("no signing key".to_owned()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        let encoding = EncodingKey::from_ed_der(&key.pkcs8);
        let token = jsonwebtoken::encode(&header, claims, &encoding)
            .map_err(|error| IdentityError::Sign(error.to_string()))?;
        Ok((token, key.kid.clone()))
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
        let header = raw_header(token)?;
        let alg = header
            .get("alg")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| JwtError::Malformed("header has no alg".to_owned()))?;
        if alg != HUB_ALG {
            return Err(JwtError::Algorithm(alg.to_owned()));
        }
        let kid = header
            .get("kid")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| JwtError::Malformed("header has no kid".to_owned()))?;
        let overlap = Self::overlap(settings);
        let key = self
            .keys
            .iter()
            .find(|key| key.kid == kid && key.published(overlap, now))
            .ok_or_else(|| JwtError::UnknownKey(kid.to_owned()))?;
        let decoding = DecodingKey::from_ed_components(&key.x)
            .map_err(|error| JwtError::Malformed(error.to_string()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Times, issuer and audience are checked by the caller, each with its own error.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => JwtError::BadSignature,
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    JwtError::Algorithm(alg.to_owned())
                }
                _ => JwtError::Malformed(error.to_string()),
            })
    }

    /// The published keys as a JWK Set document: the current key and the retired ones still
    /// inside their overlap.
    pub fn jwks_json(&self, settings: &JwtSettings, now: DateTime<Utc>) -> String {
        let overlap = Self::overlap(settings);
        // Newest first: the signing key leads.
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .rev()
            .filter(|key| key.published(overlap, now))
            .map(SigningKey::jwk)
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }
}

/// Writes `keys` to `path` (atomic, durable, 0600).
fn save_keys(path: &Path, keys: &[SigningKey]) -> Result<(), IdentityError> {
    let file = KeysFile {
        version: JWT_KEYS_FILE_VERSION,
        keys: keys
            .iter()
            .map(|key| StoredKey {
                kid: key.kid.clone(),
                created_at: key.created_at,
                retired_at: key.retired_at,
                pkcs8: URL_SAFE_NO_PAD.encode(key.pkcs8.as_slice()),
            })
            .collect(),
    };
    Ok(state_file::save(path, &file)?)
}

/// A compact JWT's header, read without trusting anything in it.
///
/// # Errors
/// [`JwtError::Malformed`] unless the token is three base64url parts with a JSON object header.
pub fn raw_header(token: &str) -> Result<serde_json::Map<String, serde_json::Value>, JwtError> {
    raw_part(token, 0, "header")
}

/// A compact JWT's claims, read without checking the signature (to route it by `iss`).
///
/// # Errors
/// [`JwtError::Malformed`] unless the token is three base64url parts with a JSON object payload.
pub fn unverified_claims(
    token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, JwtError> {
    raw_part(token, 1, "payload")
}

fn raw_part(
    token: &str,
    index: usize,
    what: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, JwtError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(JwtError::Malformed(
            "not three dot-separated parts".to_owned(),
        ));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(parts[index].as_bytes())
        .map_err(|_| JwtError::Malformed(format!("{what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed(format!("{what} is not a JSON object"))),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use chrono::{TimeZone, Utc};

    use super::{thumbprint, SigningKeys};
    use crate::identity::error::IdentityError;

    #[test]
    fn keys_file_survives_a_reload_and_is_private() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("jwt-keys.json");
        let now = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let first = SigningKeys::load_or_create(&path, now).expect("create");
        let kid = first.current_kid().expect("kid").to_owned();
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = SigningKeys::load_or_create(&path, now).expect("load");
        assert_eq!(again.current_kid(), Some(kid.as_str()));
        assert_eq!(
            first.jwks_json(&Default::default(), now),
            again.jwks_json(&Default::default(), now)
        );
    }

    #[test]
    fn debug_and_jwks_show_no_private_key() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("jwt-keys.json");
        let now = Utc::now();
        let keys = SigningKeys::load_or_create(&path, now).expect("create");
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        let private = file["keys"][0]["pkcs8"].as_str().expect("pkcs8").to_owned();
        assert!(private.len() > 40);
        let debug = format!("{keys:?}");
        assert!(!debug.contains(&private[..20]), "{debug}");
        let jwks = keys.jwks_json(&Default::default(), now);
        assert!(!jwks.contains(&private[..20]));
        let jwks: serde_json::Value = serde_json::from_str(&jwks).expect("jwks");
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk.as_object().expect("object").len(), 6);
        assert_eq!(
            jwk["kid"].as_str(),
            Some(thumbprint(jwk["x"].as_str().expect("x")).as_str())
        );
    }

    #[test]
    fn thumbprint_matches_rfc_8037_example() {
        // RFC 8037 appendix A.3: the thumbprint of the A.2 public key.
        assert_eq!(
            thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn a_tampered_keys_file_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("jwt-keys.json");
        let now = Utc::now();
        SigningKeys::load_or_create(&path, now).expect("create");
        let mut file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        file["keys"][0]["kid"] = "swapped".into();
        std::fs::write(&path, file.to_string()).expect("write");
        assert!(matches!(
            SigningKeys::load_or_create(&path, now),
            Err(IdentityError::InvalidKeys(_))
        ));
    }
}
