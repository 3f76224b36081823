//! `hyperforge auth provider show ORG/APP/TYPE`: one record — the live one, else the last
//! version of a removed one.

use auth_hub_protocol::provider::ShowProvider;
use auth_hub_protocol::{Request, Response};
use clap::Args;

use super::{parse_id, record_human, record_json, send, Needs};
use crate::commands::auth::unexpected;
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth provider show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The record, `ORG/APP/TYPE`.
    #[arg(value_name = "ORG/APP/TYPE")]
    pub id: String,
}

/// Runs `auth provider show`.
///
/// # Errors
/// A bad address (2), no such record (4), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: ShowArgs) -> Result<(), CliError> {
    let id = parse_id(&args.id)?;
    let request = Request::ShowProvider(ShowProvider { id: id.clone() });
    let command = format!("hyperforge auth provider show {id}");
    let record = match send(&command, Needs::AnyKey, Some(&id), request).await? {
        Response::Provider(reply) => reply.record,
        other => return Err(unexpected("show_provider", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&record_json(&record))
    } else {
        ctx.out.line(&record_human(&record))
    }
}
