//! `hyperforge auth verify TOKEN`: validate a hub JWT, a provider JWT or an API key and print
//! what it says, for scripts: exit 0 when valid, 3 when not, 2 when the input is neither a key
//! nor a JWT.
//!
//! `TAUTH_…`/`MELT_…` is an API key (`validate_key`); three dot-separated base64url parts a JWT
//! (`validate_jwt`). `-` reads the token from stdin, so it need not appear in argv (where other
//! users of the machine can see it). The hub answers only to a key holding the `validate`
//! permission, or the owner key.

use std::io;

use auth_hub_protocol::identity::{
    JwtValidation, KeyState, KeyValidation, ValidateJwt, ValidateKey,
};
use auth_hub_protocol::{Jwt, MasterToken, ProviderId, Request, Response};
use clap::Args;
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::put::{read_value, trim_value};
use super::{connect_keyed, keyed_options, unexpected};
use crate::commands::Context;
use crate::error::{CliError, ErrorKind};
use crate::output;

/// Arguments of `auth verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The token or key; `-` reads it from stdin (keeps it out of argv).
    #[arg(value_name = "TOKEN")]
    pub token: String,
    /// For a provider JWT: the provider record (ORG/APP/TYPE) to check it against; found by the
    /// token's issuer when absent.
    #[arg(long, value_name = "ORG/APP/TYPE")]
    pub provider: Option<ProviderId>,
    /// For a JWT: the audience expected; the provider record's audiences (any, for a hub JWT)
    /// when absent.
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,
}

/// What the text presented is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `TAUTH_…` or `MELT_…`.
    Key,
    /// Three dot-separated base64url parts.
    Jwt,
}

/// Sorts the presented text into a key or a JWT.
///
/// # Errors
/// A usage error (exit 2) when it is neither.
fn classify(text: &str) -> Result<Kind, CliError> {
    if text.starts_with("TAUTH_") || text.starts_with("MELT_") {
        return Ok(Kind::Key);
    }
    let parts: Vec<&str> = text.split('.').collect();
    let base64url = |part: &str| {
        part.bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    };
    if parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|part| base64url(part))
    {
        return Ok(Kind::Jwt);
    }
    Err(CliError::usage(
        "not an API key (TAUTH_… or MELT_…) nor a JWT (three dot-separated base64url parts)",
    ))
}

/// Runs `auth verify`.
///
/// # Errors
/// Not valid (3); not a key nor a JWT (2); the hub's refusal; unreachable (5).
pub async fn run(ctx: &Context, args: VerifyArgs) -> Result<(), CliError> {
    let text: Zeroizing<String> = if args.token == "-" {
        let raw = read_value(&mut io::stdin().lock(), true)?;
        Zeroizing::new(trim_value(&raw)?.trim().to_owned())
    } else {
        Zeroizing::new(args.token.trim().to_owned())
    };
    let kind = classify(&text)?;
    if kind == Kind::Key && (args.provider.is_some() || args.audience.is_some()) {
        return Err(CliError::usage(
            "--provider and --audience apply to JWTs, not to API keys",
        ));
    }
    let client = connect_keyed(keyed_options("hyperforge auth verify".to_owned())?).await?;
    let request = match kind {
        Kind::Key => Request::ValidateKey(ValidateKey {
            key: MasterToken::from(text.as_str()),
        }),
        Kind::Jwt => Request::ValidateJwt(ValidateJwt {
            token: Jwt::from(text.as_str()),
            provider: args.provider,
            audience: args.audience,
        }),
    };
    let response = client.call(request).await?;
    let (verdict, body) = match response {
        Response::KeyValidation(validation) => key_report(&validation),
        Response::JwtValidation(validation) => jwt_report(&validation),
        other => return Err(unexpected("validate", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&body)?;
    } else if verdict.is_ok() {
        ctx.out.line(&human(&body))?;
    }
    verdict
}

/// The verdict (exit 0, 3, or 2 for a malformed key) and the `--json` object for a key.
fn key_report(validation: &KeyValidation) -> (Result<(), CliError>, Value) {
    let state = match validation.state {
        KeyState::Active => "active",
        KeyState::Revoked => "revoked",
        KeyState::Expired => "expired",
        KeyState::Unknown => "unknown",
        KeyState::Malformed => "malformed",
    };
    let body = json!({
        "active": validation.state == KeyState::Active,
        "kind": "key",
        "state": state,
        "name": validation.name,
        "owner": validation.owner,
        "scopes": validation.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "permissions": validation.permissions.to_string(),
        "expires_at": output::opt_time_json(validation.expires_at),
        "revoked_at": output::opt_time_json(validation.revoked_at),
    });
    let name = validation.name.as_deref().unwrap_or("?");
    let verdict = match validation.state {
        KeyState::Active => Ok(()),
        KeyState::Malformed => Err(CliError::usage("not a valid API key")),
        KeyState::Unknown => Err(CliError::new(
            ErrorKind::Denied,
            format!("key {name:?} is unknown or its secret is wrong"),
        )),
        KeyState::Revoked | KeyState::Expired => Err(CliError::new(
            ErrorKind::Denied,
            format!("key {name:?} is {state}"),
        )),
    };
    (verdict, body)
}

/// The verdict and the `--json` object for a JWT: the claims at the top level, as RFC 7662
/// introspection answers, with `active`, `kind` (`hub_jwt`, `provider_jwt`, or `jwt` for a
/// refused token of no known provider) and (for a provider's token) `provider_record`.
fn jwt_report(validation: &JwtValidation) -> (Result<(), CliError>, Value) {
    let mut body: Map<String, Value> = validation
        .claims_json
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    // A refused token names no provider when it was the hub's own or its issuer is unknown:
    // then only `jwt` can be said truthfully.
    let kind = match (&validation.provider, validation.active) {
        (Some(_), _) => "provider_jwt",
        (None, true) => "hub_jwt",
        (None, false) => "jwt",
    };
    body.insert("active".to_owned(), Value::Bool(validation.active));
    body.insert("kind".to_owned(), Value::from(kind));
    if let Some(provider) = &validation.provider {
        body.insert(
            "provider_record".to_owned(),
            Value::from(provider.to_string()),
        );
    }
    if let Some(reason) = &validation.reason {
        body.insert("reason".to_owned(), Value::from(reason.as_str()));
    }
    let verdict = if validation.active {
        Ok(())
    } else {
        Err(CliError::new(
            ErrorKind::Denied,
            format!(
                "token is not valid: {}",
                validation.reason.as_deref().unwrap_or("refused")
            ),
        ))
    };
    (verdict, Value::Object(body))
}

/// The report for people: one `name: value` line per field, `active` and `kind` first.
fn human(body: &Value) -> String {
    let Some(map) = body.as_object() else {
        return body.to_string();
    };
    let mut lines = Vec::new();
    for first in ["active", "kind"] {
        if let Some(value) = map.get(first) {
            lines.push(format!("{first}: {}", plain(value)));
        }
    }
    for (name, value) in map {
        if name != "active" && name != "kind" && !value.is_null() {
            lines.push(format!("{name}: {}", plain(value)));
        }
    }
    lines.join("\n")
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_keys_jwts_and_garbage() {
        assert_eq!(classify("TAUTH_ci--zabc").ok(), Some(Kind::Key));
        assert_eq!(classify("MELT_a--b--c").ok(), Some(Kind::Key));
        assert_eq!(classify("eyJh.eyJz.c2ln").ok(), Some(Kind::Jwt));
        assert_eq!(classify("eyJh.eyJz.").ok(), Some(Kind::Jwt));
        for garbage in ["", "hello", "a.b", "a.b.c.d", ".b.c", "a b.c.d", "a.b+/.c"] {
            let error = classify(garbage).expect_err(garbage);
            assert_eq!(error.kind(), ErrorKind::Usage, "{garbage}");
        }
    }

    #[test]
    fn jwt_report_flattens_claims_and_fails_when_inactive() {
        let active = JwtValidation {
            active: true,
            reason: None,
            provider: None,
            claims_json: Some(r#"{"sub":"key:api","aud":"api","active":"spoof"}"#.to_owned()),
        };
        let (verdict, body) = jwt_report(&active);
        assert!(verdict.is_ok());
        assert_eq!(body["active"], true);
        assert_eq!(body["kind"], "hub_jwt");
        assert_eq!(body["sub"], "key:api");
        let inactive = JwtValidation {
            active: false,
            reason: Some("expired".to_owned()),
            provider: Some("osf/cli/oidc".parse().expect("id")),
            claims_json: None,
        };
        let (verdict, body) = jwt_report(&inactive);
        assert_eq!(verdict.expect_err("inactive").kind(), ErrorKind::Denied);
        assert_eq!(body["kind"], "provider_jwt");
        assert_eq!(body["reason"], "expired");
        assert_eq!(body["provider_record"], "osf/cli/oidc");
    }
}
