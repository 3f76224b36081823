//! A provider's JWT (an id_token) checked against its AuthProvider record: `alg` from the
//! record's allow-list (never `none`, never HS*), the signature against the issuer's JWKS
//! (re-fetched on an unknown `kid`), `iss` equal to the record's issuer, `aud` one of the
//! record's audiences (or the one the caller expects), and `exp`/`nbf`/`iat` within
//! [`LEEWAY`].
//!
//! The order matters: the header's `alg` is judged before any key is looked up, so `none`,
//! HMAC (the "public key as HMAC secret" confusion) and unlisted algorithms never reach the
//! cache or the network. jsonwebtoken (with ring) checks the signature, with the one algorithm
//! of the header allowed and a key whose type fits it; the claims are checked here against the
//! caller's clock, so every refusal names the claim and the values involved.

use std::time::Duration;

use auth_hub_protocol::provider::ProviderRecord;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::error::JwtError;
use super::jwks_cache::{family_of, JwksCache};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY: Duration = Duration::from_secs(60);

/// Algorithms accepted when the record names none.
pub const DEFAULT_ALGORITHMS: &[&str] = &["RS256", "ES256", "EdDSA", "PS256"];

/// Longest compact JWT read (real id_tokens are a few KiB).
pub const MAX_TOKEN: usize = 64 * 1024;

/// Validates `token` for `provider`, returning its claims (a JSON object). Blocking (a JWKS
/// may be fetched).
///
/// Checks, in order: the shape; `alg` (not `none` nor HS*, and in the record's
/// `algorithms`, else [`DEFAULT_ALGORITHMS`]); the key (by `kid`, from the issuer's JWKS);
/// the signature; `iss`, `sub`, `exp` and `aud` present; `iss` is the record's issuer; `aud`
/// holds `audience` if given, else one of the record's `audiences`, else its `client_id`;
/// `exp`, `nbf` and `iat` against `now` with [`LEEWAY`].
///
/// # Errors
/// [`JwtError`] naming the first check that failed.
pub fn validate(
    token: &str,
    provider: &ProviderRecord,
    cache: &JwksCache,
    audience: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Map<String, Value>, JwtError> {
    let parts = split(token)?;
    let header = decode_json(parts[0], "header")?;
    let algorithm = header_algorithm(&header)?;
    // The payload's shape is checked before a key is looked up (and maybe fetched) for it.
    decode_json(parts[1], "payload")?;
    let allowed = allowed_algorithms(provider);
    if !allowed.contains(&algorithm) {
        return Err(JwtError::AlgorithmNotAllowed {
            alg: format!("{algorithm:?}"),
            allowed: allowed
                .iter()
                .map(|alg| format!("{alg:?}"))
                .collect::<Vec<_>>()
                .join(","),
        });
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(JwtError::Malformed("kid is not a string".to_owned())),
    };
    let issuer =
        provider.fields.issuer.as_deref().ok_or_else(|| {
            JwtError::UnknownIssuer(format!("(provider {} has none)", provider.id))
        })?;

    let key = cache.key_for(issuer, kid, algorithm)?;
    let mut validation = Validation::new(algorithm);
    // Claims are checked below against the caller's clock; jsonwebtoken checks the signature.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
        .map_err(|error| signature_error(error.kind()))?
        .claims;

    check_claims(&claims, provider, issuer, audience, now)?;
    Ok(claims)
}

/// The `iss` of a compact JWT, read without verifying anything (to pick the provider record).
///
/// # Errors
/// [`JwtError::Malformed`] or [`JwtError::MissingClaim`].
pub fn unverified_issuer(token: &str) -> Result<String, JwtError> {
    let parts = split(token)?;
    let claims = decode_json(parts[1], "payload")?;
    string_claim(&claims, "iss")
}

/// The three parts of a compact JWS, each non-empty base64url text.
fn split(token: &str) -> Result<[&str; 3], JwtError> {
    if token.len() > MAX_TOKEN {
        return Err(JwtError::Malformed(format!(
            "longer than {MAX_TOKEN} bytes"
        )));
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None)
            if !header.is_empty() && !payload.is_empty() =>
        {
            Ok([header, payload, signature])
        }
        _ => Err(JwtError::Malformed(
            "not three base64url parts separated by dots".to_owned(),
        )),
    }
}

/// A base64url (unpadded) JSON object.
fn decode_json(part: &str, what: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.as_bytes())
        .map_err(|_| JwtError::Malformed(format!("the {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        // serde_json's message names a position, never the text.
        Ok(_) => Err(JwtError::Malformed(format!(
            "the {what} is not a JSON object"
        ))),
        Err(error) => Err(JwtError::Malformed(format!(
            "the {what} is not JSON: {error}"
        ))),
    }
}

/// The header's `alg`, refused when it is `none`, HMAC or unknown. A `crit` header names
/// extensions the hub does not implement (RFC 7515 §4.1.11), so it is refused too.
fn header_algorithm(header: &Map<String, Value>) -> Result<Algorithm, JwtError> {
    let Some(Value::String(name)) = header.get("alg") else {
        return Err(JwtError::Malformed("the header has no alg".to_owned()));
    };
    let shown = || name.chars().take(32).collect::<String>();
    let algorithm: Algorithm = name.parse().map_err(|_| JwtError::Algorithm(shown()))?;
    if family_of(algorithm).is_none() {
        return Err(JwtError::Algorithm(shown()));
    }
    if header.contains_key("crit") {
        return Err(JwtError::Malformed(
            "the header has critical extensions (crit)".to_owned(),
        ));
    }
    Ok(algorithm)
}

/// The record's algorithms the hub can verify (HMAC and unknown names dropped), else the
/// defaults.
fn allowed_algorithms(provider: &ProviderRecord) -> Vec<Algorithm> {
    let named: &[String] = &provider.fields.algorithms;
    let parse = |name: &str| {
        name.parse::<Algorithm>()
            .ok()
            .filter(|alg| family_of(*alg).is_some())
    };
    if named.is_empty() {
        DEFAULT_ALGORITHMS
            .iter()
            .filter_map(|name| parse(name))
            .collect()
    } else {
        named.iter().filter_map(|name| parse(name)).collect()
    }
}

/// The refusal a failed signature check means.
fn signature_error(kind: &ErrorKind) -> JwtError {
    match kind {
        ErrorKind::InvalidSignature | ErrorKind::Crypto(_) => JwtError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            JwtError::Algorithm("(does not fit the key)".to_owned())
        }
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            JwtError::Fetch("the issuer's key cannot be used".to_owned())
        }
        ErrorKind::Base64(_) => JwtError::Malformed("a part is not base64url".to_owned()),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            JwtError::Malformed("the header or payload is not valid JSON".to_owned())
        }
        _ => JwtError::Malformed("not a JWT".to_owned()),
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    provider: &ProviderRecord,
    issuer: &str,
    audience: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), JwtError> {
    let iss = string_claim(claims, "iss")?;
    string_claim(claims, "sub")?;
    let exp = time_claim(claims, "exp")?.ok_or(JwtError::MissingClaim("exp"))?;
    let audiences = audience_claim(claims)?;

    if iss != issuer {
        return Err(JwtError::Issuer {
            expected: issuer.to_owned(),
            found: iss.chars().take(200).collect(),
        });
    }
    let expected: Vec<&str> = match audience {
        Some(audience) => vec![audience],
        None if !provider.fields.audiences.is_empty() => provider
            .fields
            .audiences
            .iter()
            .map(String::as_str)
            .collect(),
        None => provider.fields.client_id.as_deref().into_iter().collect(),
    };
    if !audiences.iter().any(|aud| expected.contains(&aud.as_str())) {
        return Err(JwtError::Audience {
            expected: expected.join(","),
            found: audiences.join(",").chars().take(200).collect(),
        });
    }

    let now = now.timestamp();
    let leeway = i64::try_from(LEEWAY.as_secs()).unwrap_or(i64::MAX);
    if exp.saturating_add(leeway) < now {
        return Err(JwtError::Expired);
    }
    if time_claim(claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(JwtError::NotYetValid);
    }
    if time_claim(claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(JwtError::IssuedInFuture);
    }
    Ok(())
}

fn string_claim(claims: &Map<String, Value>, name: &'static str) -> Result<String, JwtError> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(JwtError::MissingClaim(name)),
        Some(Value::String(value)) => Ok(value.clone()),
        Some(_) => Err(JwtError::Malformed(format!("{name} is not a string"))),
    }
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch, fractions dropped.
fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => {
            if let Some(seconds) = number.as_i64() {
                return Ok(Some(seconds));
            }
            match number.as_f64() {
                // `as` saturates: a date past i64 is "never" (or "forever ago").
                Some(seconds) if seconds.is_finite() => Ok(Some(seconds.floor() as i64)),
                _ => Err(JwtError::Malformed(format!("{name} is not a number"))),
            }
        }
        Some(_) => Err(JwtError::Malformed(format!("{name} is not a number"))),
    }
}

/// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
fn audience_claim(claims: &Map<String, Value>) -> Result<Vec<String>, JwtError> {
    match claims.get("aud") {
        None | Some(Value::Null) => Err(JwtError::MissingClaim("aud")),
        Some(Value::String(aud)) => Ok(vec![aud.clone()]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(aud) => Ok(aud.clone()),
                _ => Err(JwtError::Malformed("aud holds a non-string".to_owned())),
            })
            .collect(),
        Some(Value::Array(_)) => Err(JwtError::MissingClaim("aud")),
        Some(_) => Err(JwtError::Malformed(
            "aud is not a string or an array".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::super::jwks_cache::REFETCH_INTERVAL;
    use super::super::test_keys::{
        claims, jwks, raw_token, record, Documents, Signer, CLIENT_ID, ISSUER, JWKS_URI,
        RSA_PUBLIC_PEM,
    };
    use super::*;

    /// A provider serving `signers`' keys, and a cache reading it.
    fn provider(signers: &[&Signer]) -> (Arc<Documents>, JwksCache) {
        let documents = Documents::provider(jwks(signers));
        let cache = JwksCache::with_fetcher(Box::new(Arc::clone(&documents)), REFETCH_INTERVAL);
        (documents, cache)
    }

    fn check(token: &str, cache: &JwksCache) -> Result<Map<String, Value>, JwtError> {
        validate(token, &record(&[], &[]), cache, None, Utc::now())
    }

    #[test]
    fn valid_tokens_of_each_key_type() {
        let rsa = Signer::rsa(Some("rsa"));
        let ec = Signer::ec(Some("ec"));
        let ed = Signer::ed(Some("ed"));
        let (documents, cache) = provider(&[&rsa, &ec, &ed]);
        for signer in [&rsa, &ec, &ed] {
            let claims = check(&signer.sign(&claims(Utc::now())), &cache)
                .unwrap_or_else(|error| panic!("{:?}: {error}", signer.algorithm));
            assert_eq!(claims["sub"], json!("alice"));
            assert_eq!(claims["email"], json!("alice@example.com"));
        }
        assert_eq!(documents.jwks_requests(), 1);
    }

    #[test]
    fn es384_when_the_record_allows_it() {
        let p384 = Signer::ec384(Some("p384"));
        let p256 = Signer::ec(Some("p256"));
        let (_, cache) = provider(&[&p384, &p256]);
        let token = p384.sign(&claims(Utc::now()));
        assert!(matches!(
            check(&token, &cache),
            Err(JwtError::AlgorithmNotAllowed { .. })
        ));
        let record = record(&[], &["ES384", "ES256"]);
        assert!(validate(&token, &record, &cache, None, Utc::now()).is_ok());
        // An ES384 token naming the P-256 key is refused before any signature math.
        let raw = raw_token(
            &json!({"alg": "ES384", "kid": "p256"}),
            &claims(Utc::now()),
            "AA",
        );
        assert!(matches!(
            validate(&raw, &record, &cache, None, Utc::now()),
            Err(JwtError::Algorithm(_))
        ));
    }

    #[test]
    fn audiences() {
        let signer = Signer::ed(Some("k"));
        let (_, cache) = provider(&[&signer]);
        let now = Utc::now();
        let mut wrong = claims(now);
        wrong["aud"] = json!("someone-else");
        let token = signer.sign(&wrong);
        assert!(matches!(
            check(&token, &cache),
            Err(JwtError::Audience { expected, found })
                if expected == CLIENT_ID && found == "someone-else"
        ));
        // The caller's audience replaces the record's.
        assert!(validate(&token, &record(&[], &[]), &cache, Some("someone-else"), now).is_ok());
        // The record's audiences replace the client id.
        let api = record(&["api-1", "api-2"], &[]);
        assert!(validate(&token, &api, &cache, None, now).is_err());
        let mut listed = claims(now);
        listed["aud"] = json!(["other", "api-2"]);
        assert!(validate(&signer.sign(&listed), &api, &cache, None, now).is_ok());
        let mut missing = claims(now);
        missing.as_object_mut().unwrap().remove("aud");
        assert!(matches!(
            check(&signer.sign(&missing), &cache),
            Err(JwtError::MissingClaim("aud"))
        ));
    }

    #[test]
    fn times_with_leeway() {
        let signer = Signer::ec(Some("k"));
        let (_, cache) = provider(&[&signer]);
        let now = Utc::now();
        let leeway = i64::try_from(LEEWAY.as_secs()).unwrap();
        let at = |field: &str, offset: i64| {
            let mut claims = claims(now);
            claims[field] = json!(now.timestamp() + offset);
            signer.sign(&claims)
        };
        let record = record(&[], &[]);
        let run = |token: String| validate(&token, &record, &cache, None, now);
        assert!(matches!(
            run(at("exp", -leeway - 1)),
            Err(JwtError::Expired)
        ));
        assert!(run(at("exp", -leeway + 1)).is_ok(), "within the leeway");
        assert!(matches!(
            run(at("nbf", leeway + 5)),
            Err(JwtError::NotYetValid)
        ));
        assert!(run(at("nbf", leeway - 5)).is_ok());
        assert!(matches!(
            run(at("iat", leeway + 5)),
            Err(JwtError::IssuedInFuture)
        ));
        assert!(run(at("iat", leeway - 5)).is_ok());
        // The clock is the caller's: the same token, validated an hour later, has expired.
        let token = signer.sign(&claims(now));
        assert!(matches!(
            validate(
                &token,
                &record,
                &cache,
                None,
                now + chrono::Duration::hours(1)
            ),
            Err(JwtError::Expired)
        ));
    }

    #[test]
    fn required_claims_and_issuer() {
        let signer = Signer::ed(Some("k"));
        let (_, cache) = provider(&[&signer]);
        for claim in ["sub", "exp", "iss"] {
            let mut claims = claims(Utc::now());
            claims.as_object_mut().unwrap().remove(claim);
            let error = check(&signer.sign(&claims), &cache).err().unwrap();
            assert!(matches!(error, JwtError::MissingClaim(name) if name == claim));
        }
        let mut other = claims(Utc::now());
        other["iss"] = json!("http://127.0.0.1:9/evil");
        assert!(matches!(
            check(&signer.sign(&other), &cache),
            Err(JwtError::Issuer { expected, found })
                if expected == ISSUER && found == "http://127.0.0.1:9/evil"
        ));
        let mut typed = claims(Utc::now());
        typed["exp"] = json!("tomorrow");
        assert!(matches!(
            check(&signer.sign(&typed), &cache),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let signer = Signer::rsa(Some("k"));
        let (_, cache) = provider(&[&signer]);
        let token = signer.sign(&claims(Utc::now()));
        let (head, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = head.split_once('.').unwrap();

        let mut forged = claims(Utc::now());
        forged["sub"] = json!("mallory");
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let tampered_payload = format!("{header}.{payload}.{signature}");
        assert!(matches!(
            check(&tampered_payload, &cache),
            Err(JwtError::BadSignature)
        ));

        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[10] ^= 1;
        let tampered_signature = format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert!(matches!(
            check(&tampered_signature, &cache),
            Err(JwtError::BadSignature)
        ));
        assert!(matches!(
            check(&format!("{head}."), &cache),
            Err(JwtError::BadSignature)
        ));

        // Signed by another key carrying this key's kid.
        let impostor = Signer::ed(Some("k"));
        assert!(matches!(
            check(&impostor.sign(&claims(Utc::now())), &cache),
            Err(JwtError::Algorithm(_))
        ));
    }

    #[test]
    fn alg_none_is_refused_before_any_key_lookup() {
        let signer = Signer::rsa(Some("k"));
        let (documents, cache) = provider(&[&signer]);
        for alg in ["none", "None", "NONE"] {
            let token = raw_token(&json!({"alg": alg, "kid": "k"}), &claims(Utc::now()), "");
            assert!(
                matches!(check(&token, &cache), Err(JwtError::Algorithm(found)) if found == alg),
                "{alg}"
            );
        }
        assert_eq!(documents.all_requests(), 0);
    }

    /// The classic confusion: an HS256 token whose HMAC secret is the provider's RSA public
    /// key (which is public), hoping the verifier feeds its RSA key to HMAC.
    #[test]
    fn hmac_with_the_public_key_as_secret_is_refused() {
        let signer = Signer::rsa(Some("k"));
        let (documents, cache) = provider(&[&signer]);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k".into());
        let token = jsonwebtoken::encode(
            &header,
            &claims(Utc::now()),
            &EncodingKey::from_secret(RSA_PUBLIC_PEM.as_bytes()),
        )
        .unwrap();
        assert!(matches!(
            check(&token, &cache),
            Err(JwtError::Algorithm(alg)) if alg == "HS256"
        ));
        // Even when the record lists it.
        assert!(matches!(
            validate(&token, &record(&[], &["HS256", "RS256"]), &cache, None, Utc::now()),
            Err(JwtError::Algorithm(alg)) if alg == "HS256"
        ));
        assert_eq!(documents.all_requests(), 0);
    }

    #[test]
    fn algorithms_outside_the_allow_list_are_refused() {
        let rsa = Signer::rsa(Some("rsa"));
        let ec = Signer::ec(Some("ec"));
        let (documents, cache) = provider(&[&rsa, &ec]);
        let only_ec = record(&[], &["ES256"]);
        let error = validate(
            &rsa.sign(&claims(Utc::now())),
            &only_ec,
            &cache,
            None,
            Utc::now(),
        )
        .err()
        .unwrap();
        assert!(
            matches!(&error, JwtError::AlgorithmNotAllowed { alg, allowed }
                if alg == "RS256" && allowed == "ES256"),
            "{error}"
        );
        assert_eq!(documents.all_requests(), 0);
        assert!(validate(
            &ec.sign(&claims(Utc::now())),
            &only_ec,
            &cache,
            None,
            Utc::now()
        )
        .is_ok());
        // RS384 is not among the defaults.
        let mut header = Header::new(Algorithm::RS384);
        header.kid = Some("rsa".into());
        let rs384 = jsonwebtoken::encode(
            &header,
            &claims(Utc::now()),
            &EncodingKey::from_rsa_pem(super::super::test_keys::RSA_PEM.as_bytes()).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            check(&rs384, &cache),
            Err(JwtError::AlgorithmNotAllowed { .. })
        ));
        assert!(validate(&rs384, &record(&[], &["RS384"]), &cache, None, Utc::now()).is_ok());
    }

    #[test]
    fn a_rotated_key_is_found_by_refetching() {
        let old = Signer::ed(Some("2026-01"));
        let (documents, cache) = provider(&[&old]);
        assert!(check(&old.sign(&claims(Utc::now())), &cache).is_ok());
        let new = Signer::ed(Some("2026-02"));
        documents.put(JWKS_URI, jwks(&[&new]));
        assert!(check(&new.sign(&claims(Utc::now())), &cache).is_ok());
        assert_eq!(documents.jwks_requests(), 2);
        let stranger = Signer::ed(Some("never-published"));
        assert!(matches!(
            check(&stranger.sign(&claims(Utc::now())), &cache),
            Err(JwtError::UnknownKey(kid)) if kid == "never-published"
        ));
    }

    #[test]
    fn malformed_tokens() {
        let signer = Signer::ed(Some("k"));
        let (documents, cache) = provider(&[&signer]);
        let good = signer.sign(&claims(Utc::now()));
        let (header, _) = good.split_once('.').unwrap();
        for bad in [
            String::new(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "..".to_owned(),
            format!("{header}.!!!.sig"),
            format!("{}.e30.", URL_SAFE_NO_PAD.encode("[1]")),
            format!("{}.e30.", URL_SAFE_NO_PAD.encode(r#"{"kid":"k"}"#)),
            format!(
                "{}.e30.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","kid":7}"#)
            ),
            format!(
                "{}.e30.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","crit":["x"]}"#)
            ),
            "x".repeat(MAX_TOKEN + 1),
        ] {
            assert!(
                matches!(check(&bad, &cache), Err(JwtError::Malformed(_))),
                "{bad:.60}"
            );
        }
        assert!(matches!(
            check(&raw_token(&json!({"alg": "ES512"}), &json!({}), ""), &cache),
            Err(JwtError::Algorithm(_))
        ));
        assert_eq!(documents.all_requests(), 0);
    }

    #[test]
    fn unverified_issuer_reads_iss_only() {
        let signer = Signer::ed(Some("k"));
        assert_eq!(
            unverified_issuer(&signer.sign(&claims(Utc::now()))).unwrap(),
            ISSUER
        );
        let forged = raw_token(&json!({"alg": "none"}), &json!({"iss": "x"}), "");
        assert_eq!(unverified_issuer(&forged).unwrap(), "x");
        assert!(matches!(
            unverified_issuer(&raw_token(&json!({}), &json!({"sub": "a"}), "")),
            Err(JwtError::MissingClaim("iss"))
        ));
        assert!(matches!(
            unverified_issuer(&raw_token(&json!({}), &json!({"iss": 5}), "")),
            Err(JwtError::Malformed(_))
        ));
        assert!(matches!(
            unverified_issuer("nope"),
            Err(JwtError::Malformed(_))
        ));
    }

    #[test]
    fn a_record_without_issuer_is_an_unknown_issuer() {
        let signer = Signer::ed(Some("k"));
        let (_, cache) = provider(&[&signer]);
        let mut record = record(&[], &[]);
        record.fields.issuer = None;
        assert!(matches!(
            validate(
                &signer.sign(&claims(Utc::now())),
                &record,
                &cache,
                None,
                Utc::now()
            ),
            Err(JwtError::UnknownIssuer(_))
        ));
    }
}
