//! `hyperforge auth token --audience AUD [--ttl D]`: a hub-signed JWT for this machine's key,
//! printed on stdout for a script to send to an API.

use std::time::Duration;

use auth_hub_protocol::duration::parse_duration;
use auth_hub_protocol::identity::{IssueJwt, IssuedJwt};
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::{json, Value};

use super::{connect_keyed, keyed_options, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The `aud` claim: the API the token is for.
    #[arg(long, value_name = "AUD")]
    pub audience: String,
    /// How long the token lives (such as 10m); the hub's `[jwt] ttl` when absent, capped at
    /// its `[jwt] max_ttl`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ttl: Option<Duration>,
}

/// Runs `auth token`.
///
/// # Errors
/// The hub's refusal; unreachable (5).
pub async fn run(ctx: &Context, args: TokenArgs) -> Result<(), CliError> {
    let ttl_ms = match args.ttl {
        Some(ttl) if ttl.is_zero() => return Err(CliError::usage("--ttl must be positive")),
        Some(ttl) => Some(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
        None => None,
    };
    let client = connect_keyed(keyed_options(format!(
        "hyperforge auth token --audience {}",
        args.audience
    ))?)
    .await?;
    let request = Request::IssueJwt(IssueJwt {
        subject: None,
        audience: args.audience,
        ttl_ms,
    });
    let issued = match client.call(request).await? {
        Response::JwtIssued(issued) => issued,
        other => return Err(unexpected("issue_jwt", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&issued_json(&issued))
    } else {
        ctx.out.secret(issued.token.expose())
    }
}

/// `--json` output: the token, its key id and expiry.
fn issued_json(issued: &IssuedJwt) -> Value {
    json!({
        "token": issued.token.expose(),
        "kid": issued.kid,
        "expires_at": output::time_json(issued.expires_at),
    })
}

#[cfg(test)]
mod tests {
    use auth_hub_protocol::Jwt;
    use chrono::DateTime;

    use super::*;

    #[test]
    fn json_has_token_kid_and_expiry() {
        let issued = IssuedJwt {
            token: Jwt::from("a.b.c"),
            kid: "kid-1".to_owned(),
            expires_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        };
        let json = issued_json(&issued);
        assert_eq!(json["token"], "a.b.c");
        assert_eq!(json["kid"], "kid-1");
        assert_eq!(json["expires_at"], "2023-11-14T22:13:20Z");
    }
}
