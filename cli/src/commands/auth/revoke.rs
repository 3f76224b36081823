//! `hyperforge auth revoke SCOPE`: remove the standing grants the scope covers (for every key, or
//! only `--key`) and kill the access tokens issued under them, at once.

use auth_hub_protocol::request::Revoke;
use auth_hub_protocol::{Request, Response, SecretScope};
use clap::Args;
use serde_json::json;

use super::{call, plural, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The scope to revoke, such as github/alice/*.
    #[arg(value_name = "SCOPE")]
    pub scope: SecretScope,
    /// Only this key's grants.
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,
}

/// Runs `auth revoke`.
///
/// # Errors
/// Not the owner key (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: RevokeArgs) -> Result<(), CliError> {
    let request = Request::Revoke(Revoke {
        scope: args.scope.clone(),
        key: args.key,
    });
    let reply = match call(&format!("hyperforge auth revoke {}", args.scope), request).await? {
        Response::Revoked(reply) => reply,
        other => return Err(unexpected("revoke", &other)),
    };
    if ctx.out.is_json() {
        return ctx
            .out
            .json(&json!({ "grants": reply.grants, "tokens": reply.tokens }));
    }
    if reply.grants == 0 {
        output::note(&format!("no standing grant matched {}", args.scope));
    }
    ctx.out.line(&format!(
        "revoked {} for {}; {} killed",
        plural(reply.grants, "standing grant", "standing grants"),
        args.scope,
        plural(reply.tokens, "access token", "access tokens")
    ))
}
