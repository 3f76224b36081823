//! `hyperforge auth provider rm ORG/APP/TYPE`: soft-delete a record. Its history stays
//! (`provider history`, `provider ls --all`); `provider add` brings it back as a new version.

use auth_hub_protocol::provider::RemoveProvider;
use auth_hub_protocol::{Request, Response};
use clap::Args;

use super::{parse_id, record_json, send, Needs};
use crate::commands::auth::unexpected;
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth provider rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The record, `ORG/APP/TYPE`.
    #[arg(value_name = "ORG/APP/TYPE")]
    pub id: String,
}

/// Runs `auth provider rm`.
///
/// # Errors
/// A bad address (2), no live record there (4), a service key (3), unreachable (5).
pub async fn run(ctx: &Context, args: RmArgs) -> Result<(), CliError> {
    let id = parse_id(&args.id)?;
    let request = Request::RemoveProvider(RemoveProvider { id: id.clone() });
    let command = format!("hyperforge auth provider rm {id}");
    let record = match send(&command, Needs::Owner, Some(&id), request).await? {
        Response::Provider(reply) => reply.record,
        other => return Err(unexpected("remove_provider", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&record_json(&record))
    } else {
        ctx.out.line(&format!(
            "removed provider {} (version {}; its history is kept)",
            record.id, record.version
        ))
    }
}
