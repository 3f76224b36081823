//! `hyperforge auth provider ls [--all]`: the records, one line each (the newest version);
//! `--all` adds the removed ones.

use auth_hub_protocol::provider::{ListProviders, ProviderRecord};
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::Value;

use super::{record_json, send, Needs};
use crate::commands::auth::unexpected;
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth provider ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Also list removed records.
    #[arg(long)]
    pub all: bool,
}

/// Runs `auth provider ls`.
///
/// # Errors
/// No key (1), unreachable (5).
pub async fn run(ctx: &Context, args: LsArgs) -> Result<(), CliError> {
    let request = Request::ListProviders(ListProviders { all: args.all });
    let records = match send("hyperforge auth provider ls", Needs::AnyKey, None, request).await? {
        Response::Providers(list) => list.records,
        other => return Err(unexpected("list_providers", &other)),
    };
    if ctx.out.is_json() {
        ctx.out
            .json(&Value::Array(records.iter().map(record_json).collect()))
    } else if records.is_empty() {
        ctx.out.line("no provider records")
    } else {
        ctx.out.line(&records_table(&records))
    }
}

fn records_table(records: &[ProviderRecord]) -> String {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|record| {
            vec![
                record.id.to_string(),
                record.version.to_string(),
                if record.deleted_at.is_some() {
                    "removed"
                } else {
                    "live"
                }
                .to_owned(),
                record
                    .fields
                    .issuer
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
                record
                    .fields
                    .service_handle
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
                output::time_human(record.updated_at),
                record.updated_by.key.clone(),
            ]
        })
        .collect();
    output::table(
        &[
            "provider", "version", "state", "issuer", "service", "updated", "by",
        ],
        &rows,
    )
}
