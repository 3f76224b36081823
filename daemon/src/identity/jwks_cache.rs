//! Providers' signing keys: each issuer's discovery document gives its `jwks_uri`; the JWK Set
//! found there is parsed and cached. A token whose `kid` is not cached re-fetches the set (the
//! provider rotated its keys), at most once per [`REFETCH_INTERVAL`] per issuer, so a flood of
//! tokens with made-up `kid`s cannot make the hub hammer the provider. A failed fetch is
//! remembered for the same interval, for the same reason. Keys older than [`MAX_AGE`] are
//! fetched again before use, so a key the provider withdrew stops being trusted.
//!
//! Fetches are blocking (ureq, with timeouts, a size limit, no redirects, and https except on a
//! loopback host); callers run them on the blocking pool. The cache's lock is never held across
//! a fetch: two threads may fetch the same issuer at once, which is harmless.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use auth_hub_protocol::oidc::{check_url, Discovery, MAX_DOCUMENT};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::error::JwtError;

/// Shortest time between two fetches of one issuer's JWKS caused by an unknown `kid` (or
/// between two attempts after a failed fetch).
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Longest time a fetched JWKS is used before it is fetched again.
pub const MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// Timeout of one HTTP request (connect and the whole exchange).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Smallest RSA modulus accepted, in bits (what ring verifies; RFC 7518 §3.3).
const MIN_RSA_BITS: usize = 2048;

/// Most keys kept from one JWK Set; providers publish a handful.
const MAX_KEYS: usize = 64;

/// The kind of a key, which decides the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// RSA: `RS256`/`RS384`/`RS512`, `PS256`/`PS384`/`PS512`.
    Rsa,
    /// EC P-256 (`ES256`) or P-384 (`ES384`); [`ProviderKey::algorithm`] says which.
    Ec,
    /// OKP Ed25519: `EdDSA`.
    Ed,
}

/// One usable key of a JWK Set.
#[derive(Clone)]
pub struct ProviderKey {
    /// Its `kid`, if it has one.
    pub kid: Option<String>,
    /// Its algorithm: the JWK's `alg`, else the one its key type implies (`OKP` → `EdDSA`,
    /// P-256 → `ES256`, P-384 → `ES384`); `None` for an RSA key without `alg`.
    pub algorithm: Option<Algorithm>,
    /// Its key type.
    pub family: KeyFamily,
    /// The public key.
    pub key: DecodingKey,
}

impl ProviderKey {
    /// Whether this key can verify a signature made with `algorithm`.
    pub fn fits(&self, algorithm: Algorithm) -> bool {
        if let Some(own) = self.algorithm {
            return own == algorithm;
        }
        family_of(algorithm) == Some(self.family)
    }
}

/// The key family an asymmetric algorithm needs; `None` for HMAC.
pub fn family_of(algorithm: Algorithm) -> Option<KeyFamily> {
    match algorithm {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => Some(KeyFamily::Rsa),
        Algorithm::ES256 | Algorithm::ES384 => Some(KeyFamily::Ec),
        Algorithm::EdDSA => Some(KeyFamily::Ed),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => None,
    }
}

/// Parses a JWK Set document (RFC 7517 §5), keeping the signing keys it can use (`use` absent
/// or `sig`; RSA of at least 2048 bits, EC P-256/P-384, OKP Ed25519) and skipping others
/// (encryption keys, symmetric `oct` keys, unknown key types or curves, keys whose fields do
/// not decode) without failing the whole set. A set with no usable key parses to an empty
/// list; asking it for a key is what fails.
///
/// # Errors
/// [`JwtError::Fetch`] when the document is larger than [`MAX_DOCUMENT`] or is not a JSON
/// object with a `keys` array.
pub fn parse_jwks(bytes: &[u8]) -> Result<Vec<ProviderKey>, JwtError> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    if bytes.len() > MAX_DOCUMENT {
        return Err(JwtError::Fetch(format!(
            "the JWKS is {} bytes, more than the {MAX_DOCUMENT} accepted",
            bytes.len()
        )));
    }
    let set: Set = serde_json::from_slice(bytes)
        .map_err(|error| JwtError::Fetch(format!("the JWKS is not a JWK Set: {error}")))?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|value| match usable_key(value) {
            Ok(key) => Some(key),
            Err(reason) => {
                tracing::debug!(reason, "skipped a key of a provider's JWKS");
                None
            }
        })
        .take(MAX_KEYS)
        .collect())
}

/// One JWK as a verification key, or why it is skipped.
fn usable_key(value: serde_json::Value) -> Result<ProviderKey, &'static str> {
    // jsonwebtoken's `Jwk` cannot hold an unknown `kty` or curve, so each key is read on its
    // own: one odd key must not hide the others.
    let jwk: Jwk = serde_json::from_value(value).map_err(|_| "unknown or malformed key")?;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err("not a signing key (use)"),
    }
    if let Some(operations) = &jwk.common.key_operations {
        if !operations.contains(&KeyOperations::Verify) {
            return Err("not a verification key (key_ops)");
        }
    }
    let declared = match jwk.common.key_algorithm {
        None => None,
        Some(algorithm) => Some(signing_algorithm(algorithm).ok_or("not a signing algorithm")?),
    };
    let (family, implied) = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = URL_SAFE_NO_PAD
                .decode(rsa.n.as_bytes())
                .map_err(|_| "RSA modulus is not base64url")?;
            let leading_zeros = modulus.iter().take_while(|byte| **byte == 0).count();
            if (modulus.len() - leading_zeros) * 8 < MIN_RSA_BITS {
                return Err("RSA key shorter than 2048 bits");
            }
            (KeyFamily::Rsa, None)
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => (KeyFamily::Ec, Some(Algorithm::ES256)),
            EllipticCurve::P384 => (KeyFamily::Ec, Some(Algorithm::ES384)),
            _ => return Err("unsupported EC curve"),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => (KeyFamily::Ed, Some(Algorithm::EdDSA)),
            _ => return Err("unsupported OKP curve"),
        },
        AlgorithmParameters::OctetKey(_) => return Err("symmetric key"),
    };
    let algorithm = match (declared, implied) {
        (Some(declared), Some(implied)) if declared != implied => {
            return Err("alg does not fit the key type")
        }
        (Some(declared), None) if family_of(declared) != Some(family) => {
            return Err("alg does not fit the key type")
        }
        (declared, implied) => declared.or(implied),
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "key fields do not decode")?;
    Ok(ProviderKey {
        kid: jwk.common.key_id,
        algorithm,
        family,
        key,
    })
}

/// The signature algorithm a JWK's `alg` names; `None` for HMAC and encryption algorithms.
fn signing_algorithm(algorithm: KeyAlgorithm) -> Option<Algorithm> {
    let algorithm = match algorithm {
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    };
    Some(algorithm)
}

/// How the cache reads a URL: over HTTP in the hub, from memory in tests.
pub trait Fetch: Send + Sync {
    /// The body of a `200` answer to `GET url`, at most [`MAX_DOCUMENT`] bytes.
    ///
    /// # Errors
    /// Why it could not be read (never a token: these are public documents).
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String>;
}

/// The hub's [`Fetch`]: blocking ureq with [`FETCH_TIMEOUT`], a body limit, no redirects (a
/// redirect could leave https), and `check_url` on every URL.
pub struct HttpFetch {
    agent: ureq::Agent,
}

impl HttpFetch {
    /// A fetcher with its own agent.
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(FETCH_TIMEOUT))
            .timeout_global(Some(FETCH_TIMEOUT))
            .max_redirects(0)
            .build();
        Self {
            agent: config.into(),
        }
    }
}

impl Default for HttpFetch {
    fn default() -> Self {
        Self::new()
    }
}

impl Fetch for HttpFetch {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        check_url("url", url).map_err(|error| error.to_string())?;
        let shown: String = url.chars().take(200).collect();
        let mut response = self
            .agent
            .get(url)
            .header("Accept", "application/json")
            .call()
            .map_err(|error| format!("GET {shown}: {error}"))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(format!("GET {shown} answered {status}"));
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_DOCUMENT as u64)
            .read_to_vec()
            .map_err(|error| match error {
                ureq::Error::BodyExceedsLimit(_) => {
                    format!("GET {shown}: more than {MAX_DOCUMENT} bytes")
                }
                other => format!("GET {shown}: {other}"),
            })
    }
}

/// What the cache knows of one issuer.
#[derive(Default)]
struct IssuerKeys {
    /// The keys of the last successful fetch, and when it was.
    keys: Option<(Vec<ProviderKey>, Instant)>,
    /// When the last fetch for an unknown `kid` started.
    refetched_at: Option<Instant>,
    /// The last failed fetch, when nothing newer succeeded.
    failure: Option<(String, Instant)>,
}

/// What looking a key up in a set found.
enum Lookup {
    Found(ProviderKey),
    /// A key has the `kid` but cannot verify this algorithm.
    WrongType,
    Missing,
}

/// Every issuer's cached keys.
pub struct JwksCache {
    fetcher: Box<dyn Fetch>,
    interval: Duration,
    issuers: Mutex<HashMap<String, IssuerKeys>>,
}

impl Default for JwksCache {
    fn default() -> Self {
        Self::new()
    }
}

impl JwksCache {
    /// An empty cache that fetches over HTTP.
    pub fn new() -> Self {
        Self::with_fetcher(Box::new(HttpFetch::new()), REFETCH_INTERVAL)
    }

    /// An empty cache that reads documents through `fetcher` and re-fetches for an unknown
    /// `kid` at most once per `interval` (tests).
    pub fn with_fetcher(fetcher: Box<dyn Fetch>, interval: Duration) -> Self {
        Self {
            fetcher,
            interval,
            issuers: Mutex::new(HashMap::new()),
        }
    }

    /// A cache holding `keys` for `issuer` and fetching nothing, ever (fuzzing, tests): every
    /// other issuer, and a `kid` not among `keys`, fails.
    pub fn with_keys(issuer: &str, keys: Vec<ProviderKey>) -> Self {
        struct NoNetwork;
        impl Fetch for NoNetwork {
            fn fetch(&self, _url: &str) -> Result<Vec<u8>, String> {
                Err("this cache does not fetch".to_owned())
            }
        }
        let cache = Self::with_fetcher(Box::new(NoNetwork), Duration::MAX);
        let now = Instant::now();
        cache.lock().insert(
            issuer.to_owned(),
            IssuerKeys {
                keys: Some((keys, now)),
                refetched_at: Some(now),
                failure: None,
            },
        );
        cache
    }

    /// The key to verify a token from `issuer` with `kid` (and header `alg`): from the cache,
    /// or fetched (discovery document, then JWKS) when the issuer is new, its keys older than
    /// [`MAX_AGE`], or the `kid` unknown and the last re-fetch older than [`REFETCH_INTERVAL`].
    /// A token with a `kid` takes the key with that `kid`; a token without one takes the only
    /// key without a `kid` that fits its algorithm, if there is exactly one. Blocking.
    ///
    /// # Errors
    /// [`JwtError::UnknownKey`] (no such key, even after a re-fetch),
    /// [`JwtError::Algorithm`] (the key with that `kid` is of another type), or
    /// [`JwtError::Fetch`] (the documents could not be fetched or read, or the set holds no
    /// usable key).
    pub fn key_for(
        &self,
        issuer: &str,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<ProviderKey, JwtError> {
        let started = Instant::now();
        {
            let mut issuers = self.lock();
            let entry = issuers.entry(issuer.to_owned()).or_default();
            let fresh = entry.keys.as_ref().and_then(|(keys, fetched_at)| {
                (started.saturating_duration_since(*fetched_at) < MAX_AGE).then_some(keys)
            });
            if let Some(keys) = fresh {
                let empty = keys.is_empty();
                match lookup(keys, kid, algorithm) {
                    Lookup::Found(key) => return Ok(key),
                    Lookup::WrongType => return Err(wrong_type(algorithm)),
                    Lookup::Missing => {}
                }
                if entry
                    .refetched_at
                    .is_some_and(|at| started.saturating_duration_since(at) < self.interval)
                {
                    return Err(missing(kid, empty));
                }
                // Claimed before fetching, so a flood of unknown kids makes one fetch.
                entry.refetched_at = Some(started);
            } else if let Some((reason, at)) = &entry.failure {
                if started.saturating_duration_since(*at) < self.interval {
                    return Err(JwtError::Fetch(reason.clone()));
                }
                entry.failure = Some((reason.clone(), started));
            }
        }
        let fetched = self.fetch_keys(issuer);
        let mut issuers = self.lock();
        let entry = issuers.entry(issuer.to_owned()).or_default();
        match fetched {
            Ok(keys) => {
                let empty = keys.is_empty();
                let found = lookup(&keys, kid, algorithm);
                entry.keys = Some((keys, Instant::now()));
                entry.failure = None;
                match found {
                    Lookup::Found(key) => Ok(key),
                    Lookup::WrongType => Err(wrong_type(algorithm)),
                    Lookup::Missing => Err(missing(kid, empty)),
                }
            }
            Err(error) => {
                tracing::warn!(issuer, %error, "cannot fetch a provider's keys");
                let reason = match &error {
                    JwtError::Fetch(reason) => reason.clone(),
                    other => other.to_string(),
                };
                entry.failure = Some((reason, started));
                Err(error)
            }
        }
    }

    /// Discovery document, then JWK Set, for `issuer`.
    fn fetch_keys(&self, issuer: &str) -> Result<Vec<ProviderKey>, JwtError> {
        check_url("issuer", issuer).map_err(|error| JwtError::Fetch(error.to_string()))?;
        let document = self
            .fetcher
            .fetch(&Discovery::url_for(issuer))
            .map_err(|reason| JwtError::Fetch(format!("discovery document: {reason}")))?;
        let discovery = Discovery::parse(&document, issuer)
            .map_err(|error| JwtError::Fetch(error.to_string()))?;
        let set = self
            .fetcher
            .fetch(&discovery.jwks_uri)
            .map_err(|reason| JwtError::Fetch(format!("JWKS: {reason}")))?;
        parse_jwks(&set)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, IssuerKeys>> {
        // The map holds no invariant a panicking holder could break half-way.
        self.issuers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn lookup(keys: &[ProviderKey], kid: Option<&str>, algorithm: Algorithm) -> Lookup {
    match kid {
        Some(kid) => match keys.iter().find(|key| key.kid.as_deref() == Some(kid)) {
            Some(key) if key.fits(algorithm) => Lookup::Found(key.clone()),
            Some(_) => Lookup::WrongType,
            None => Lookup::Missing,
        },
        None => {
            let family = family_of(algorithm);
            let mut same_family = keys.iter().filter(|key| Some(key.family) == family);
            match (same_family.next(), same_family.next()) {
                (Some(only), None) if only.kid.is_none() && only.fits(algorithm) => {
                    Lookup::Found(only.clone())
                }
                _ => Lookup::Missing,
            }
        }
    }
}

fn wrong_type(algorithm: Algorithm) -> JwtError {
    JwtError::Algorithm(format!("{algorithm:?}"))
}

fn missing(kid: Option<&str>, empty: bool) -> JwtError {
    if empty {
        return JwtError::Fetch(
            "the issuer's JWKS holds no key the hub can use (RSA, EC P-256/P-384 or Ed25519 \
             signing keys)"
                .to_owned(),
        );
    }
    JwtError::UnknownKey(match kid {
        Some(kid) => kid.chars().take(128).collect(),
        None => "(none)".to_owned(),
    })
}
