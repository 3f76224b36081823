//! `hyperforge auth key`: service keys for CI and other programs — created with pre-granted
//! scopes and an optional expiry, listed, revoked (which kills their tokens at once).

pub mod create;
pub mod import;
pub mod list;
pub mod revoke;

use std::time::Duration;

use auth_hub_protocol::duration::parse_duration;
use auth_hub_protocol::{Permissions, SecretScope};

use auth_hub_protocol::provider::Actor;
use auth_hub_protocol::response::KeyInfo;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::{json, Value};

use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// The `auth key` verbs.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a service key; prints it once on stdout.
    Create(create::CreateArgs),
    /// Import an existing key (a legacy MELT_ key) read from stdin, as a service key.
    Import(import::ImportArgs),
    /// List keys, live and expired; --all adds revoked ones (never their tokens).
    #[command(alias = "ls")]
    List(list::ListArgs),
    /// Revoke a service key and kill its access tokens.
    Revoke(revoke::RevokeArgs),
}

/// Runs one `auth key` verb.
///
/// # Errors
/// The verb's error.
pub async fn run(ctx: &Context, command: KeyCommand) -> Result<(), CliError> {
    match command {
        KeyCommand::Create(args) => create::run(ctx, args).await,
        KeyCommand::Import(args) => import::run(ctx, args).await,
        KeyCommand::List(args) => list::run(ctx, args).await,
        KeyCommand::Revoke(args) => revoke::run(ctx, args).await,
    }
}

/// A key's record for `--json` (never its token).
pub(crate) fn key_json(info: &KeyInfo) -> Value {
    let actor = |actor: &Option<Actor>| {
        actor.as_ref().map_or(
            Value::Null,
            |actor| json!({"key": actor.key, "uid": actor.uid, "pid": actor.pid, "exe": actor.exe}),
        )
    };
    json!({
        "id": info.id,
        "name": info.name,
        "owner": info.owner,
        "scopes": info.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "permissions": info.permissions.to_string(),
        "created_at": output::time_json(info.created_at),
        "expires_at": output::opt_time_json(info.expires_at),
        "revoked_at": output::opt_time_json(info.revoked_at),
        "validate": info.validate,
        "created_by": actor(&info.created_by),
        "revoked_by": actor(&info.revoked_by),
    })
}

/// `live`, `expired` or `revoked`.
pub(crate) fn key_state(info: &KeyInfo, now: DateTime<Utc>) -> &'static str {
    if info.revoked_at.is_some() {
        "revoked"
    } else if info.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "live"
    }
}

/// The scopes, rights and expiry of a service key (`key create`, `key import`).
#[derive(Debug, clap::Args)]
pub struct KeyAccess {
    /// A scope the key may read without a prompt, such as cargo/* (repeatable).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<SecretScope>,
    /// Allow writing under those scopes too.
    #[arg(long)]
    pub write: bool,
    /// Stop working after this long (30d, 12h); never when absent.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expires: Option<Duration>,
}

/// `--expires D` as unix milliseconds from now; `None` when absent.
///
/// # Errors
/// A zero duration or one past the end of time (2).
pub(crate) fn expiry_ms(expires: Option<Duration>) -> Result<Option<i64>, CliError> {
    let Some(duration) = expires else {
        return Ok(None);
    };
    if duration.is_zero() {
        return Err(CliError::usage("--expires must be longer than 0"));
    }
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| Utc::now().checked_add_signed(d))
        .map(|at| Some(at.timestamp_millis()))
        .ok_or_else(|| CliError::usage("--expires is too far in the future"))
}

/// Read, or read and write with `--write`.
pub(crate) fn permissions(write: bool) -> Permissions {
    if write {
        Permissions::READ_WRITE
    } else {
        Permissions::READ
    }
}
