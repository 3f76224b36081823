//! Fixtures for the provider-JWT unit tests: real signing keys (the checked-in test-only RSA
//! key, EC P-256 and Ed25519 keys generated with ring), tokens signed with them, a provider
//! record, and an in-memory [`Fetch`] that serves a provider's discovery document and JWKS and
//! counts the requests.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use auth_hub_protocol::provider::{Actor, ProviderFields, ProviderId, ProviderRecord};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _,
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
};
use serde_json::{json, Value};

use super::jwks_cache::Fetch;

/// The test provider's issuer (loopback, so `check_url` accepts http).
pub const ISSUER: &str = "http://127.0.0.1:9/op";
/// Its JWKS URL.
pub const JWKS_URI: &str = "http://127.0.0.1:9/op/jwks";
/// Its client id (the default audience).
pub const CLIENT_ID: &str = "hub-cli";

/// The checked-in test-only RSA key (see `testdata/README.md`).
pub const RSA_PEM: &str = include_str!("testdata/test-only-rsa-2048.pem");
/// Its public key as PEM.
pub const RSA_PUBLIC_PEM: &str = include_str!("testdata/test-only-rsa-2048.pub.pem");
const RSA_JWK: &str = include_str!("testdata/test-only-rsa-2048.jwk.json");

/// A signing key with its public JWK.
pub struct Signer {
    pub algorithm: Algorithm,
    pub kid: Option<String>,
    key: EncodingKey,
    jwk: Value,
}

impl Signer {
    /// The test-only RSA key, for RS256.
    pub fn rsa(kid: Option<&str>) -> Self {
        let jwk: Value = serde_json::from_str(RSA_JWK).unwrap();
        Self::new(
            Algorithm::RS256,
            kid,
            EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap(),
            jwk,
        )
    }

    /// A fresh EC P-256 key, for ES256.
    pub fn ec(kid: Option<&str>) -> Self {
        Self::ec_on(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            "P-256",
            Algorithm::ES256,
            kid,
        )
    }

    /// A fresh EC P-384 key, for ES384.
    pub fn ec384(kid: Option<&str>) -> Self {
        Self::ec_on(
            &ECDSA_P384_SHA384_FIXED_SIGNING,
            "P-384",
            Algorithm::ES384,
            kid,
        )
    }

    fn ec_on(
        curve: &'static EcdsaSigningAlgorithm,
        name: &str,
        algorithm: Algorithm,
        kid: Option<&str>,
    ) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(curve, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(curve, pkcs8.as_ref(), &rng).unwrap();
        // Uncompressed point: 0x04 || x || y.
        let point = &pair.public_key().as_ref()[1..];
        let (x, y) = point.split_at(point.len() / 2);
        let jwk = json!({
            "kty": "EC", "crv": name,
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        });
        Self::new(
            algorithm,
            kid,
            EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        )
    }

    /// A fresh Ed25519 key, for EdDSA.
    pub fn ed(kid: Option<&str>) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        });
        Self::new(
            Algorithm::EdDSA,
            kid,
            EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk,
        )
    }

    fn new(algorithm: Algorithm, kid: Option<&str>, key: EncodingKey, mut jwk: Value) -> Self {
        if let Some(kid) = kid {
            jwk["kid"] = json!(kid);
        }
        jwk["use"] = json!("sig");
        Self {
            algorithm,
            kid: kid.map(str::to_owned),
            key,
            jwk,
        }
    }

    /// Its public JWK.
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// A compact JWT of `claims` signed with this key.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

/// A JWK Set of these keys' public halves.
pub fn jwks(signers: &[&Signer]) -> Vec<u8> {
    let keys: Vec<Value> = signers.iter().map(|signer| signer.jwk()).collect();
    serde_json::to_vec(&json!({ "keys": keys })).unwrap()
}

/// Claims that pass every check at `now` for the test provider.
pub fn claims(now: DateTime<Utc>) -> Value {
    let now = now.timestamp();
    json!({
        "iss": ISSUER, "sub": "alice", "aud": CLIENT_ID,
        "iat": now, "exp": now + 300, "nbf": now - 5,
        "email": "alice@example.com",
    })
}

/// A compact token from raw header and claims JSON, with `signature` as its third part.
pub fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()),
    )
}

/// The live `osf/cli/oidc` record of the test provider.
pub fn record(audiences: &[&str], algorithms: &[&str]) -> ProviderRecord {
    let actor = Actor {
        key: "owner".into(),
        uid: 1000,
        pid: None,
        exe: None,
    };
    ProviderRecord {
        id: ProviderId::parse("osf/cli/oidc").unwrap(),
        version: 1,
        fields: ProviderFields {
            issuer: Some(ISSUER.into()),
            client_id: Some(CLIENT_ID.into()),
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            algorithms: algorithms.iter().map(|a| (*a).to_owned()).collect(),
            ..ProviderFields::default()
        },
        created_at: Utc::now(),
        created_by: actor.clone(),
        updated_at: Utc::now(),
        updated_by: actor,
        deleted_at: None,
    }
}

/// Documents served from memory, with a count of the requests for each URL.
#[derive(Default)]
pub struct Documents {
    documents: Mutex<HashMap<String, Vec<u8>>>,
    requests: Mutex<HashMap<String, usize>>,
}

impl Documents {
    /// Serves the test provider's discovery document and `jwks` as its JWK Set.
    pub fn provider(jwks: Vec<u8>) -> Arc<Self> {
        let documents = Arc::new(Self::default());
        documents.put(
            &format!("{ISSUER}/.well-known/openid-configuration"),
            serde_json::to_vec(&json!({
                "issuer": ISSUER,
                "jwks_uri": JWKS_URI,
                "token_endpoint": format!("{ISSUER}/token"),
            }))
            .unwrap(),
        );
        documents.put(JWKS_URI, jwks);
        documents
    }

    /// Serves `body` at `url` from now on.
    pub fn put(&self, url: &str, body: Vec<u8>) {
        self.documents.lock().unwrap().insert(url.to_owned(), body);
    }

    /// How many times `url` was requested.
    pub fn requests(&self, url: &str) -> usize {
        self.requests.lock().unwrap().get(url).copied().unwrap_or(0)
    }

    /// How many times the JWKS was requested.
    pub fn jwks_requests(&self) -> usize {
        self.requests(JWKS_URI)
    }

    /// Every request, of any URL.
    pub fn all_requests(&self) -> usize {
        self.requests.lock().unwrap().values().sum()
    }
}

impl Fetch for Arc<Documents> {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        *self
            .requests
            .lock()
            .unwrap()
            .entry(url.to_owned())
            .or_default() += 1;
        self.documents
            .lock()
            .unwrap()
            .get(url)
            .cloned()
            .ok_or_else(|| format!("GET {url} answered 404"))
    }
}
