//! Fuzz target `jwks_parse`: a provider's JWK Set document, parsed with
//! [`auth_hub::identity::jwks_cache::parse_jwks`].
//!
//! Input: bytes (the document as fetched). Checks that:
//! - parsing never panics, whatever the keys hold;
//! - at most 64 keys are kept, each able to verify its own algorithm (when it names one) and
//!   none able to verify HMAC;
//! - a cache holding the parsed keys finds each key that has a `kid` by that `kid`, and never
//!   fetches anything.

#![no_main]

use auth_hub::identity::jwks_cache::{family_of, parse_jwks, JwksCache};
use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://op.example";

fuzz_target!(|data: &[u8]| {
    let Ok(keys) = parse_jwks(data) else {
        return;
    };
    assert!(keys.len() <= 64, "too many keys kept");
    for key in &keys {
        if let Some(algorithm) = key.algorithm {
            assert!(key.fits(algorithm), "a key does not fit its own alg");
            assert_eq!(family_of(algorithm), Some(key.family));
        }
        assert!(!key.fits(Algorithm::HS256), "a key verifies HMAC");
    }
    let cache = JwksCache::with_keys(ISSUER, keys.clone());
    for key in &keys {
        let (Some(kid), Some(algorithm)) = (&key.kid, key.algorithm) else {
            continue;
        };
        // The first key with this kid is the one found; a later duplicate may be of another type.
        let first = keys
            .iter()
            .find(|other| other.kid.as_deref() == Some(kid.as_str()))
            .expect("the key itself");
        if first.fits(algorithm) {
            let found = cache
                .key_for(ISSUER, Some(kid), algorithm)
                .expect("a kept key is found by its kid");
            assert_eq!(found.kid.as_deref(), Some(kid.as_str()));
        }
    }
});
