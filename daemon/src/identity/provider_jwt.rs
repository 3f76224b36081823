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
