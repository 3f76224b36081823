//! `hyperforge auth revoke SCOPE`: remove the standing grants the scope covers (for every key, or
//! only `--key`) and kill the access tokens issued under them, at once. The scope `*` (every
//! standing grant) takes `--all-scopes`.

use auth_hub_protocol::request::Revoke;
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::json;

use super::scope_arg::{self, ScopeArg, EVERYTHING};
use super::{call, plural, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The scope to revoke.
    #[command(flatten)]
    pub scope: ScopeArg,
    /// Only this key's grants.
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,
}

/// Runs `auth revoke`.
///
/// # Errors
/// Not the owner key (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: RevokeArgs) -> Result<(), CliError> {
    let scope = args.scope.resolve("revoke")?;
    let request = Request::Revoke(Revoke {
        scope: scope.clone(),
        key: args.key,
    });
    let reply = match call(&scope_arg::command("revoke", &scope), request).await? {
        Response::Revoked(reply) => reply,
        other => return Err(unexpected("revoke", &other)),
    };
    if ctx.out.is_json() {
        return ctx
            .out
            .json(&json!({ "grants": reply.grants, "tokens": reply.tokens }));
    }
    if scope.as_str() == "*" {
        output::note(&format!("--all-scopes: * is {EVERYTHING}"));
    }
    if reply.grants == 0 {
        output::note(&format!("no standing grant matched {scope}"));
    }
    ctx.out.line(&format!(
        "revoked {} for {}; {} killed",
        plural(reply.grants, "standing grant", "standing grants"),
        scope,
        plural(reply.tokens, "access token", "access tokens")
    ))
}
