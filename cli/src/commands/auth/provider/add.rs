//! `hyperforge auth provider add --type T --app A --org O [fields…]`: create a record
//! (version 1, or the next version of a removed one). A live record with the same
//! `ORG/APP/TYPE` is a conflict (exit 1).

use auth_hub_protocol::provider::{AddProvider, ProviderFields};
use auth_hub_protocol::{ProviderId, Request, Response};
use clap::Args;

use super::{parse_attrs, record_human, record_json, send, FieldArgs, Needs};
use crate::commands::auth::unexpected;
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth provider add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The type: oidc, auth0, tauth-key, melt-key, or another.
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: String,
    /// The app (`cli`).
    #[arg(long, value_name = "APP")]
    pub app: String,
    /// The org (`osf`).
    #[arg(long, value_name = "ORG")]
    pub org: String,
    /// The record's fields.
    #[command(flatten)]
    pub fields: FieldArgs,
}

/// Runs `auth provider add`.
///
/// # Errors
/// Bad arguments (2), a live record at that address (1), a service key (3), unreachable (5).
pub async fn run(ctx: &Context, args: AddArgs) -> Result<(), CliError> {
    let id = ProviderId::new(&args.org, &args.app, &args.kind)
        .map_err(|error| CliError::usage(error.to_string()))?;
    let given = args.fields;
    let fields = ProviderFields {
        service_handle: given.service_handle.filter(|handle| !handle.is_empty()),
        issuer: given.issuer,
        client_id: given.client_id,
        scopes: given.scopes,
        audiences: given.audiences,
        algorithms: given.algorithms,
        extra: parse_attrs(&given.attrs)?,
    };
    let request = Request::AddProvider(AddProvider {
        id: id.clone(),
        fields,
    });
    let command = format!("hyperforge auth provider add {id}");
    let record = match send(&command, Needs::Owner, Some(&id), request).await? {
        Response::Provider(reply) => reply.record,
        other => return Err(unexpected("add_provider", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&record_json(&record))
    } else {
        ctx.out
            .line(&format!("added {}\n{}", record.id, record_human(&record)))
    }
}
