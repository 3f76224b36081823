//! Fuzz target `jwt_parse`: a compact JWT as a client presents it, read with
//! [`auth_hub::identity::provider_jwt::unverified_issuer`], jsonwebtoken's `decode_header`, and
//! validated with [`auth_hub::identity::provider_jwt::validate`] against a fixed provider
//! record and a cache pre-filled with its keys (the RSA, EC P-256 and Ed25519 keys of the seed
//! `corpus/jwks_parse/three_keys`; no network).
//!
//! Input: UTF-8 text. Checks that:
//! - nothing panics;
//! - a token that validates has `iss` the record's issuer (also when read unverified), a string
//!   `sub`, an `aud` holding the client id, an `alg` in the default allow-list, and `exp` not
//!   past at the fixed clock;
//! - a refusal's message never repeats the token.
//!
//! The seeds `corpus/jwt_parse/{rs256,es256,eddsa,…}` are valid tokens until 2100 at the
//! target's fixed clock (2026-12-01), so the fuzzer starts from inside the signature check.

#![no_main]

use std::sync::OnceLock;

use auth_hub::identity::jwks_cache::{parse_jwks, JwksCache};
use auth_hub::identity::provider_jwt::{unverified_issuer, validate, DEFAULT_ALGORITHMS};
use auth_hub_protocol::provider::{Actor, ProviderFields, ProviderId, ProviderRecord};
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const ISSUER: &str = "https://op.example";
const CLIENT_ID: &str = "fuzz-client";
const KEYS: &[u8] = include_bytes!("../corpus/jwks_parse/three_keys");
/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;

struct Fixture {
    record: ProviderRecord,
    cache: JwksCache,
    now: DateTime<Utc>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let now = DateTime::from_timestamp(NOW, 0).expect("a valid time");
        let actor = Actor {
            key: "owner".into(),
            uid: 0,
            pid: None,
            exe: None,
        };
        let record = ProviderRecord {
            id: ProviderId::parse("fuzz/cli/oidc").expect("a valid id"),
            version: 1,
            fields: ProviderFields {
                issuer: Some(ISSUER.into()),
                client_id: Some(CLIENT_ID.into()),
                ..ProviderFields::default()
            },
            created_at: now,
            created_by: actor.clone(),
            updated_at: now,
            updated_by: actor,
            deleted_at: None,
        };
        let keys = parse_jwks(KEYS).expect("the seed JWKS parses");
        assert_eq!(keys.len(), 3);
        Fixture {
            record,
            cache: JwksCache::with_keys(ISSUER, keys),
            now,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let fixture = fixture();
    let issuer = unverified_issuer(token);
    let header = jsonwebtoken::decode_header(token);
    match validate(token, &fixture.record, &fixture.cache, None, fixture.now) {
        Ok(claims) => {
            assert_eq!(claims.get("iss"), Some(&Value::String(ISSUER.into())));
            assert_eq!(issuer.as_deref(), Ok(ISSUER));
            assert!(matches!(claims.get("sub"), Some(Value::String(_))));
            let aud_ok = match claims.get("aud") {
                Some(Value::String(aud)) => aud == CLIENT_ID,
                Some(Value::Array(items)) => items.iter().any(|aud| aud == CLIENT_ID),
                _ => false,
            };
            assert!(aud_ok, "a validated token is not for the client");
            let header = header.expect("a validated token's header decodes");
            assert!(DEFAULT_ALGORITHMS.contains(&format!("{:?}", header.alg).as_str()));
            let exp = claims.get("exp").and_then(Value::as_f64).expect("exp");
            assert!(exp + 60.0 >= NOW as f64, "a validated token has expired");
        }
        Err(error) => {
            if token.len() > 600 {
                assert!(
                    !error.to_string().contains(token),
                    "a refusal repeats the token"
                );
            }
        }
    }
});
