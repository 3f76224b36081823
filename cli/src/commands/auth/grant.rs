//! `hyperforge auth grant SCOPE`: approve the pending requests the scope covers (or the one named
//! by `--request`), keeping a standing grant unless `--once`; with nothing pending, pre-grant the
//! scope (to the owner key, or to `--key`). The scope `*` (every secret) takes `--all-scopes`.

use std::time::Duration;

use auth_hub_protocol::duration::parse_duration;
use auth_hub_protocol::request::Grant;
use auth_hub_protocol::response::GrantReply;
use auth_hub_protocol::{Permissions, Request, Response, SecretScope};
use clap::Args;
use serde_json::{json, Value};

use super::grants::{grant_json, until};
use super::scope_arg::{self, ScopeArg, EVERYTHING};
use super::{call, millis, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth grant`.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The scope to grant.
    #[command(flatten)]
    pub scope: ScopeArg,
    /// How long the standing grant lasts (8h, 7d); until revoked when absent.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    /// Approve the waiting requests only; keep no standing grant.
    #[arg(long)]
    pub once: bool,
    /// Grant write as well as read.
    #[arg(long)]
    pub write: bool,
    /// Decide only this pending request (its id from `hyperforge auth pending`).
    #[arg(long = "request", value_name = "ID")]
    pub request_id: Option<u64>,
    /// Pre-grant to this service key instead of the owner key.
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,
}

/// Runs `auth grant`.
///
/// # Errors
/// Not the owner key or nothing to decide (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: GrantArgs) -> Result<(), CliError> {
    let scope = args.scope.resolve("grant")?;
    let ttl_ms = match args.ttl {
        Some(ttl) if ttl.is_zero() => return Err(CliError::usage("--ttl must be longer than 0")),
        Some(ttl) => Some(millis(ttl, "--ttl")?),
        None => None,
    };
    let permissions = if args.write {
        Permissions::READ_WRITE
    } else {
        Permissions::READ
    };
    let request = Request::Grant(Grant {
        scope: scope.clone(),
        permissions,
        ttl_ms,
        once: args.once,
        request_id: args.request_id,
        key: args.key,
    });
    let reply = match call(&scope_arg::command("grant", &scope), request).await? {
        Response::Granted(reply) => reply,
        other => return Err(unexpected("grant", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&reply_json(&reply))
    } else {
        if scope.as_str() == "*" {
            output::note(&format!("--all-scopes: * is {EVERYTHING}"));
        }
        ctx.out.line(&reply_text(&scope, permissions, &reply))
    }
}

/// The reply for `--json`.
fn reply_json(reply: &GrantReply) -> Value {
    json!({
        "approved": reply.approved,
        "grants": reply.grants.iter().map(grant_json).collect::<Vec<_>>(),
    })
}

/// What was approved and granted, for people.
fn reply_text(scope: &SecretScope, permissions: Permissions, reply: &GrantReply) -> String {
    let mut lines = Vec::new();
    if !reply.approved.is_empty() {
        let ids: Vec<String> = reply.approved.iter().map(u64::to_string).collect();
        let noun = if ids.len() == 1 {
            "request"
        } else {
            "requests"
        };
        lines.push(format!(
            "approved {noun} {} for {scope} ({permissions})",
            ids.join(", ")
        ));
    }
    for grant in &reply.grants {
        lines.push(format!(
            "granted {} ({}) to {} {}",
            grant.scope,
            grant.permissions,
            grant.key_name,
            until(grant)
        ));
    }
    if lines.is_empty() {
        lines.push(format!(
            "nothing pending for {scope}; no standing grant kept"
        ));
    } else if reply.grants.is_empty() {
        lines.push("once: no standing grant kept".to_owned());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use auth_hub_protocol::response::GrantInfo;
    use chrono::DateTime;

    use super::*;

    #[test]
    fn approved_and_pregranted_are_described() {
        let scope = SecretScope::parse("github/alice/*").expect("valid scope");
        let reply = GrantReply {
            approved: vec![3, 4],
            grants: vec![GrantInfo {
                key_name: "owner".into(),
                scope: scope.clone(),
                permissions: Permissions::READ,
                created_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
                expires_at: None,
            }],
        };
        assert_eq!(
            reply_text(&scope, Permissions::READ, &reply),
            "approved requests 3, 4 for github/alice/* (read)\n\
             granted github/alice/* (read) to owner until revoked"
        );
        let once = GrantReply {
            approved: vec![7],
            grants: vec![],
        };
        assert!(
            reply_text(&scope, Permissions::READ, &once).ends_with("once: no standing grant kept")
        );
        assert_eq!(reply_json(&once)["approved"][0], 7);
    }
}
