//! `hyperforge auth provider history ORG/APP/TYPE`: every version of a record, oldest first —
//! what was done (add, update, remove), who did it (key, uid, pid, executable), when, and which
//! fields changed. `--json` gives an array of objects, each the record at that version (with its
//! `version`) plus `action` and `changed`.

use auth_hub_protocol::provider::{ProviderHistory, ProviderVersion};
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::{json, Value};

use super::{actor_human, parse_id, record_json, send, Needs};
use crate::commands::auth::unexpected;
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth provider history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The record, `ORG/APP/TYPE`.
    #[arg(value_name = "ORG/APP/TYPE")]
    pub id: String,
}

/// Runs `auth provider history`.
///
/// # Errors
/// A bad address (2), a record that never existed (4), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: HistoryArgs) -> Result<(), CliError> {
    let id = parse_id(&args.id)?;
    let request = Request::ProviderHistory(ProviderHistory { id: id.clone() });
    let command = format!("hyperforge auth provider history {id}");
    let versions = match send(&command, Needs::AnyKey, Some(&id), request).await? {
        Response::ProviderHistory(reply) => reply.versions,
        other => return Err(unexpected("provider_history", &other)),
    };
    if ctx.out.is_json() {
        ctx.out
            .json(&Value::Array(versions.iter().map(version_json).collect()))
    } else {
        ctx.out.line(&history_human(&versions))
    }
}

fn version_json(version: &ProviderVersion) -> Value {
    let mut value = record_json(&version.record);
    if let Value::Object(map) = &mut value {
        map.insert("action".into(), json!(version.action));
        map.insert("changed".into(), json!(version.changed));
    }
    value
}

fn history_human(versions: &[ProviderVersion]) -> String {
    versions
        .iter()
        .map(|version| {
            let record = &version.record;
            let changed = if version.changed.is_empty() {
                String::new()
            } else {
                format!(": {}", version.changed.join(", "))
            };
            format!(
                "v{} {} {} by {}{changed}",
                record.version,
                output::time_human(record.updated_at),
                version.action,
                actor_human(&record.updated_by)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
