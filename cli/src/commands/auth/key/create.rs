//! `hyperforge auth key create NAME`: a service key with pre-granted scopes and an optional
//! expiry. The key is printed once on stdout (the hub keeps only its hash); a note on stderr says
//! it will not be shown again.

use auth_hub_protocol::key::validate_name;
use auth_hub_protocol::request::CreateKey;
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::json;

use super::{expiry_ms, key_json, permissions, KeyAccess};
use crate::commands::auth::{call, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth key create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The key's name ([A-Za-z0-9._-], unique among live keys).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// What the key may do.
    #[command(flatten)]
    pub access: KeyAccess,
}

/// Runs `auth key create`.
///
/// # Errors
/// A bad name or duration (2), not the owner key or a taken name (2), no key (1),
/// unreachable (5).
pub async fn run(ctx: &Context, args: CreateArgs) -> Result<(), CliError> {
    validate_name(&args.name).map_err(|error| CliError::usage(error.to_string()))?;
    let expires_at_ms = expiry_ms(args.access.expires)?;
    let permissions = permissions(args.access.write);
    let request = Request::CreateKey(CreateKey {
        name: args.name.clone(),
        scopes: args.access.scopes,
        permissions,
        expires_at_ms,
        validate: false,
    });
    let created = match call(
        &format!("hyperforge auth key create {}", args.name),
        request,
    )
    .await?
    {
        Response::KeyCreated(created) => created,
        other => return Err(unexpected("create_key", &other)),
    };
    let key = created
        .key
        .ok_or_else(|| CliError::failure("the hub created the key but did not send it"))?;
    output::note(&format!(
        "created key {}; it is shown only this once: store it now (for CI, as AUTH_HUB_TOKEN)",
        created.info.name
    ));
    if ctx.out.is_json() {
        let mut report = key_json(&created.info);
        report["key"] = json!(key.expose());
        ctx.out.json(&report)
    } else {
        ctx.out.secret(key.expose())
    }
}
