//! `hyperforge auth key revoke NAME`: soft-delete a service key (kept for the audit trail) and
//! kill every access token it obtained, at once.

use auth_hub_protocol::request::RevokeKey;
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::json;

use crate::commands::auth::{call, plural, unexpected};
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth key revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The key's name.
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Runs `auth key revoke`.
///
/// # Errors
/// An unknown key or not the owner key (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: RevokeArgs) -> Result<(), CliError> {
    let request = Request::RevokeKey(RevokeKey {
        name: args.name.clone(),
    });
    let reply = match call(
        &format!("hyperforge auth key revoke {}", args.name),
        request,
    )
    .await?
    {
        Response::KeyRevoked(reply) => reply,
        other => return Err(unexpected("revoke_key", &other)),
    };
    if ctx.out.is_json() {
        return ctx
            .out
            .json(&json!({ "name": reply.name, "tokens": reply.tokens }));
    }
    ctx.out.line(&format!(
        "revoked key {}; {} killed",
        reply.name,
        plural(reply.tokens, "access token", "access tokens")
    ))
}
