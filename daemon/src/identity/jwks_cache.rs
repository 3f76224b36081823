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
        AlgorithmParameters::EllipticCurve(ec) => {
            let (size, algorithm) = match ec.curve {
                EllipticCurve::P256 => (32, Algorithm::ES256),
                EllipticCurve::P384 => (48, Algorithm::ES384),
                _ => return Err("unsupported EC curve"),
            };
            if decoded_len(&ec.x) != Some(size) || decoded_len(&ec.y) != Some(size) {
                return Err("EC coordinates do not fit the curve");
            }
            (KeyFamily::Ec, Some(algorithm))
        }
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 if decoded_len(&okp.x) == Some(32) => {
                (KeyFamily::Ed, Some(Algorithm::EdDSA))
            }
            EllipticCurve::Ed25519 => return Err("Ed25519 key is not 32 bytes"),
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

/// The length of a base64url field once decoded, if it decodes.
fn decoded_len(field: &str) -> Option<usize> {
    URL_SAFE_NO_PAD
        .decode(field.as_bytes())
        .ok()
        .map(|bytes| bytes.len())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use serde_json::json;

    use super::super::test_keys::{jwks, Documents, Signer, ISSUER, JWKS_URI};
    use super::*;

    fn cache(documents: &Arc<Documents>) -> JwksCache {
        JwksCache::with_fetcher(Box::new(Arc::clone(documents)), REFETCH_INTERVAL)
    }

    #[test]
    fn parse_keeps_signing_keys_and_skips_the_others() {
        let rsa = Signer::rsa(Some("r1"));
        let ec = Signer::ec(Some("e1"));
        let ed = Signer::ed(Some("d1"));
        let mut encryption = rsa.jwk();
        encryption["use"] = json!("enc");
        encryption["kid"] = json!("enc");
        let mut hmac_alg = ec.jwk();
        hmac_alg["alg"] = json!("HS256");
        let mut wrong_alg = ec.jwk();
        wrong_alg["alg"] = json!("ES384");
        let mut short_ec = ec.jwk();
        short_ec["x"] = json!(URL_SAFE_NO_PAD.encode([1_u8; 31]));
        let mut long_ed = ed.jwk();
        long_ed["x"] = json!(URL_SAFE_NO_PAD.encode([1_u8; 33]));
        let mut small_rsa = rsa.jwk();
        small_rsa["n"] = json!(URL_SAFE_NO_PAD.encode([0xc5_u8; 128]));
        let set = json!({"keys": [
            rsa.jwk(), ec.jwk(), ed.jwk(), encryption, hmac_alg, wrong_alg, small_rsa, short_ec,
            long_ed,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "sym"},
            {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521"},
            {"kty": "OKP", "crv": "X25519", "x": "AA", "kid": "x25519"},
            {"kty": "RSA", "n": "not base64!", "e": "AQAB"},
            {"kty": "PQC", "kid": "future"},
            "not an object",
        ]});
        let keys = parse_jwks(&serde_json::to_vec(&set).unwrap()).unwrap();
        let kept: Vec<_> = keys
            .iter()
            .map(|key| (key.kid.clone().unwrap(), key.family, key.algorithm))
            .collect();
        assert_eq!(
            kept,
            vec![
                ("r1".to_owned(), KeyFamily::Rsa, None),
                ("e1".to_owned(), KeyFamily::Ec, Some(Algorithm::ES256)),
                ("d1".to_owned(), KeyFamily::Ed, Some(Algorithm::EdDSA)),
            ]
        );
        assert!(keys[0].fits(Algorithm::PS256) && !keys[0].fits(Algorithm::ES256));
        assert!(keys[1].fits(Algorithm::ES256) && !keys[1].fits(Algorithm::ES384));
    }

    #[test]
    fn parse_refuses_what_is_not_a_jwk_set() {
        for bad in [&b"[]"[..], b"{}", b"{\"keys\": {}}", b"nope", b""] {
            assert!(
                matches!(parse_jwks(bad), Err(JwtError::Fetch(_))),
                "{bad:?}"
            );
        }
        let oversized = format!(
            "{{\"keys\": [], \"pad\": \"{}\"}}",
            "x".repeat(MAX_DOCUMENT)
        );
        let error = parse_jwks(oversized.as_bytes()).err().unwrap();
        assert!(error.to_string().contains("more than"), "{error}");
    }

    #[test]
    fn an_oversized_jwks_is_a_fetch_error() {
        let mut big = jwks(&[&Signer::ed(Some("a"))]);
        big.truncate(big.len() - 1);
        big.extend_from_slice(format!(", \"pad\": \"{}\"}}", "x".repeat(MAX_DOCUMENT)).as_bytes());
        let documents = Documents::provider(big);
        let error = cache(&documents)
            .key_for(ISSUER, Some("a"), Algorithm::EdDSA)
            .err()
            .unwrap();
        assert!(
            matches!(&error, JwtError::Fetch(reason) if reason.contains("more than")),
            "{error}"
        );
    }

    #[test]
    fn a_set_of_only_symmetric_keys_has_no_usable_key() {
        let set = br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "k1", "alg": "HS256"}]}"#;
        assert!(parse_jwks(set).unwrap().is_empty());
        let documents = Documents::provider(set.to_vec());
        let error = cache(&documents)
            .key_for(ISSUER, Some("k1"), Algorithm::RS256)
            .err()
            .unwrap();
        assert!(
            matches!(&error, JwtError::Fetch(reason) if reason.contains("no key the hub can use")),
            "{error}"
        );
    }

    #[test]
    fn keys_are_cached_and_an_unknown_kid_refetches_the_rotated_set() {
        let old = Signer::ec(Some("old"));
        let documents = Documents::provider(jwks(&[&old]));
        let cache = cache(&documents);
        cache
            .key_for(ISSUER, Some("old"), Algorithm::ES256)
            .unwrap();
        cache
            .key_for(ISSUER, Some("old"), Algorithm::ES256)
            .unwrap();
        assert_eq!(documents.jwks_requests(), 1, "the second lookup is cached");

        let new = Signer::ec(Some("new"));
        documents.put(JWKS_URI, jwks(&[&new]));
        let key = cache
            .key_for(ISSUER, Some("new"), Algorithm::ES256)
            .unwrap();
        assert_eq!(key.kid.as_deref(), Some("new"));
        assert_eq!(documents.jwks_requests(), 2);
        assert!(matches!(
            cache.key_for(ISSUER, Some("old"), Algorithm::ES256),
            Err(JwtError::UnknownKey(kid)) if kid == "old"
        ));
        assert_eq!(documents.jwks_requests(), 2, "a re-fetch is rate limited");
    }

    #[test]
    fn a_flood_of_unknown_kids_makes_one_fetch() {
        let documents = Documents::provider(jwks(&[&Signer::ed(Some("real"))]));
        let cache = cache(&documents);
        cache
            .key_for(ISSUER, Some("real"), Algorithm::EdDSA)
            .unwrap();
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let cache = &cache;
                scope.spawn(move || {
                    for n in 0..50 {
                        let kid = format!("made-up-{thread}-{n}");
                        let result = cache.key_for(ISSUER, Some(&kid), Algorithm::EdDSA);
                        assert!(matches!(result, Err(JwtError::UnknownKey(_))));
                    }
                });
            }
        });
        assert_eq!(
            documents.jwks_requests(),
            2,
            "one initial fetch, one re-fetch"
        );
        assert!(cache
            .key_for(ISSUER, Some("real"), Algorithm::EdDSA)
            .is_ok());
    }

    #[test]
    fn the_refetch_interval_is_what_limits() {
        let documents = Documents::provider(jwks(&[&Signer::ed(Some("real"))]));
        let cache = JwksCache::with_fetcher(Box::new(Arc::clone(&documents)), Duration::ZERO);
        cache
            .key_for(ISSUER, Some("real"), Algorithm::EdDSA)
            .unwrap();
        for _ in 0..3 {
            assert!(cache.key_for(ISSUER, Some("x"), Algorithm::EdDSA).is_err());
        }
        assert_eq!(documents.jwks_requests(), 4);
    }

    #[test]
    fn a_failed_fetch_is_remembered() {
        let documents = Arc::new(Documents::default());
        let cache = cache(&documents);
        for _ in 0..5 {
            let error = cache
                .key_for(ISSUER, Some("k"), Algorithm::RS256)
                .err()
                .unwrap();
            assert!(
                matches!(&error, JwtError::Fetch(reason) if reason.contains("404")),
                "{error}"
            );
        }
        assert_eq!(documents.all_requests(), 1);
    }

    #[test]
    fn a_discovery_document_for_another_issuer_is_refused() {
        let documents = Documents::provider(jwks(&[&Signer::ed(Some("k"))]));
        documents.put(
            &format!("{ISSUER}/.well-known/openid-configuration"),
            serde_json::to_vec(&json!({
                "issuer": "http://127.0.0.1:9/evil", "jwks_uri": JWKS_URI,
                "token_endpoint": "http://127.0.0.1:9/evil/token",
            }))
            .unwrap(),
        );
        let error = cache(&documents)
            .key_for(ISSUER, Some("k"), Algorithm::EdDSA)
            .err()
            .unwrap();
        assert!(
            matches!(&error, JwtError::Fetch(reason) if reason.contains("names issuer")),
            "{error}"
        );
        assert_eq!(documents.jwks_requests(), 0);
    }

    #[test]
    fn an_http_issuer_off_loopback_is_never_fetched() {
        let documents = Arc::new(Documents::default());
        let error = cache(&documents)
            .key_for("http://id.example", Some("k"), Algorithm::RS256)
            .err()
            .unwrap();
        assert!(matches!(&error, JwtError::Fetch(reason) if reason.contains("https")));
        assert_eq!(documents.all_requests(), 0);
    }

    #[test]
    fn a_token_without_kid_takes_the_only_kidless_key_of_its_family() {
        let rsa = Signer::rsa(None);
        let ed = Signer::ed(None);
        let documents = Documents::provider(jwks(&[&rsa, &ed]));
        let cache = cache(&documents);
        assert!(cache.key_for(ISSUER, None, Algorithm::RS256).is_ok());
        assert!(cache.key_for(ISSUER, None, Algorithm::EdDSA).is_ok());
        assert!(matches!(
            cache.key_for(ISSUER, None, Algorithm::ES256),
            Err(JwtError::UnknownKey(_))
        ));

        let second = Signer::ed(None);
        let documents = Documents::provider(jwks(&[&ed, &second]));
        assert!(matches!(
            super::JwksCache::with_fetcher(Box::new(documents), REFETCH_INTERVAL).key_for(
                ISSUER,
                None,
                Algorithm::EdDSA
            ),
            Err(JwtError::UnknownKey(_))
        ));

        let with_kid = Signer::ed(Some("k"));
        let documents = Documents::provider(jwks(&[&with_kid]));
        assert!(matches!(
            super::JwksCache::with_fetcher(Box::new(documents), REFETCH_INTERVAL).key_for(
                ISSUER,
                None,
                Algorithm::EdDSA
            ),
            Err(JwtError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_kid_of_another_key_type_is_an_algorithm_error() {
        let documents = Documents::provider(jwks(&[&Signer::ec(Some("k"))]));
        assert!(matches!(
            cache(&documents).key_for(ISSUER, Some("k"), Algorithm::RS256),
            Err(JwtError::Algorithm(_))
        ));
    }

    #[test]
    fn with_keys_serves_its_keys_and_fetches_nothing() {
        let keys = parse_jwks(&jwks(&[&Signer::ed(Some("k"))])).unwrap();
        let cache = JwksCache::with_keys(ISSUER, keys);
        assert!(cache.key_for(ISSUER, Some("k"), Algorithm::EdDSA).is_ok());
        assert!(matches!(
            cache.key_for(ISSUER, Some("other"), Algorithm::EdDSA),
            Err(JwtError::UnknownKey(_))
        ));
        assert!(matches!(
            cache.key_for("http://127.0.0.1:9/else", Some("k"), Algorithm::EdDSA),
            Err(JwtError::Fetch(_))
        ));
    }

    /// The real HTTP fetcher against a loopback server: documents are read, a body over
    /// [`MAX_DOCUMENT`] and a redirect are refused.
    #[test]
    fn http_fetch_reads_a_loopback_provider() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let issuer = format!("http://127.0.0.1:{port}");
        let signer = Signer::rsa(Some("r"));
        let discovery = json!({
            "issuer": issuer, "jwks_uri": format!("{issuer}/jwks"),
            "token_endpoint": format!("{issuer}/token"),
        })
        .to_string();
        let set = String::from_utf8(jwks(&[&signer])).unwrap();
        let serving = std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let response = match request.url() {
                    "/.well-known/openid-configuration" => {
                        tiny_http::Response::from_string(discovery.clone())
                    }
                    "/jwks" => tiny_http::Response::from_string(set.clone()),
                    "/big" => tiny_http::Response::from_string("x".repeat(MAX_DOCUMENT + 1)),
                    "/moved" => tiny_http::Response::from_string("")
                        .with_status_code(302)
                        .with_header(tiny_http::Header::from_bytes("Location", "/jwks").unwrap()),
                    "/stop" => {
                        let _ = request.respond(tiny_http::Response::from_string(""));
                        return;
                    }
                    _ => tiny_http::Response::from_string("").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
        let cache = JwksCache::new();
        let key = cache.key_for(&issuer, Some("r"), Algorithm::RS256).unwrap();
        assert_eq!(key.family, KeyFamily::Rsa);
        let fetch = HttpFetch::new();
        let big = fetch.fetch(&format!("{issuer}/big")).err().unwrap();
        assert!(big.contains("more than"), "{big}");
        let moved = fetch.fetch(&format!("{issuer}/moved")).err().unwrap();
        assert!(!moved.is_empty());
        let missing = fetch.fetch(&format!("{issuer}/nothing")).err().unwrap();
        assert!(missing.contains("404"), "{missing}");
        let _ = fetch.fetch(&format!("{issuer}/stop"));
        serving.join().unwrap();
    }
}
