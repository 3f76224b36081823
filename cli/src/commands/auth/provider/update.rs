//! `hyperforge auth provider update ORG/APP/TYPE [fields…] [--unset-attr K]…`: change a live
//! record, making a new version. Only the flags given change; a repeated list flag
//! (`--scope`, `--audience`, `--algorithm`) replaces that list; `--service-handle ''` clears
//! the handle.

use auth_hub_protocol::provider::{ProviderChange, UpdateProvider};
use auth_hub_protocol::{Request, Response};
use clap::Args;

use super::{parse_attrs, parse_id, record_human, record_json, send, FieldArgs, Needs};
use crate::commands::auth::unexpected;
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth provider update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The record, `ORG/APP/TYPE`.
    #[arg(value_name = "ORG/APP/TYPE")]
    pub id: String,
    /// The fields to change.
    #[command(flatten)]
    pub fields: FieldArgs,
    /// Remove an extra attribute (repeatable).
    #[arg(long = "unset-attr", value_name = "KEY")]
    pub unset_attrs: Vec<String>,
}

/// Runs `auth provider update`.
///
/// # Errors
/// Bad arguments or nothing to change (2), no such record (4), a service key (3),
/// unreachable (5).
pub async fn run(ctx: &Context, args: UpdateArgs) -> Result<(), CliError> {
    let id = parse_id(&args.id)?;
    let given = args.fields;
    let list = |values: Vec<String>| (!values.is_empty()).then_some(values);
    let change = ProviderChange {
        service_handle: given.service_handle,
        issuer: given.issuer,
        client_id: given.client_id,
        scopes: list(given.scopes),
        audiences: list(given.audiences),
        algorithms: list(given.algorithms),
        set_extra: parse_attrs(&given.attrs)?,
        unset_extra: args.unset_attrs,
    };
    if change.is_empty() {
        return Err(CliError::usage(format!(
            "nothing to change for {id}; give at least one field flag"
        ))
        .with_hint("see `hyperforge auth provider update --help`"));
    }
    let request = Request::UpdateProvider(UpdateProvider {
        id: id.clone(),
        change,
    });
    let command = format!("hyperforge auth provider update {id}");
    let record = match send(&command, Needs::Owner, Some(&id), request).await? {
        Response::Provider(reply) => reply.record,
        other => return Err(unexpected("update_provider", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&record_json(&record))
    } else {
        ctx.out.line(&record_human(&record))
    }
}
