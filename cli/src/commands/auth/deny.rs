//! `hyperforge auth deny SCOPE`: refuse the pending requests the scope covers (or the one named
//! by `--request`); the waiting clients get `denied` at once.

use auth_hub_protocol::request::Deny;
use auth_hub_protocol::{Request, Response, SecretScope};
use clap::Args;
use serde_json::json;

use super::{call, unexpected};
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth deny`.
#[derive(Debug, Args)]
pub struct DenyArgs {
    /// The scope to refuse, such as github/alice/*.
    #[arg(value_name = "SCOPE")]
    pub scope: SecretScope,
    /// Decide only this pending request (its id from `hyperforge auth pending`).
    #[arg(long = "request", value_name = "ID")]
    pub request_id: Option<u64>,
}

/// Runs `auth deny`.
///
/// # Errors
/// Nothing pending or not the owner key (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: DenyArgs) -> Result<(), CliError> {
    let request = Request::Deny(Deny {
        scope: args.scope.clone(),
        request_id: args.request_id,
    });
    let denied = match call(&super::scope_arg::command("deny", &args.scope), request).await? {
        Response::Denied(reply) => reply.denied,
        other => return Err(unexpected("deny", &other)),
    };
    if ctx.out.is_json() {
        return ctx.out.json(&json!({ "denied": denied }));
    }
    let ids: Vec<String> = denied.iter().map(u64::to_string).collect();
    let noun = if ids.len() == 1 {
        "request"
    } else {
        "requests"
    };
    ctx.out.line(&format!(
        "denied {noun} {} for {}",
        ids.join(", "),
        args.scope
    ))
}
