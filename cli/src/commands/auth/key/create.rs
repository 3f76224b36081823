//! `hyperforge auth key create NAME`: a service key with pre-granted scopes and an optional
//! expiry. The key is printed once on stdout (the hub keeps only its hash); a note on stderr says
//! it will not be shown again.

use auth_hub_protocol::key::validate_name;
use auth_hub_protocol::request::CreateKey;
use auth_hub_protocol::{Permissions, Request, Response};
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
    /// A permission (repeatable): read or write under its scopes, or validate — check other
    /// API keys and JWTs and exchange them for hub JWTs (a 1st-layer API's service key).
    /// Without read or write here the key reads (reads and writes with --write).
    #[arg(long = "permission", value_name = "PERMISSION", value_enum)]
    pub permissions: Vec<KeyPermission>,
}

/// A value of `--permission`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyPermission {
    /// Read secrets under the key's scopes.
    Read,
    /// Write secrets under the key's scopes (write does not imply read).
    Write,
    /// Validate other credentials and issue hub JWTs for them.
    Validate,
}

/// The rights under the scopes and the validate flag from `--permission` and `--write`.
fn rights(given: &[KeyPermission], write: bool) -> (Permissions, bool) {
    let validate = given.contains(&KeyPermission::Validate);
    let explicit = Permissions {
        read: given.contains(&KeyPermission::Read),
        write: given.contains(&KeyPermission::Write),
    };
    let base = if explicit.read || explicit.write {
        explicit
    } else {
        permissions(false)
    };
    let scoped = if write {
        base.union(permissions(true))
    } else {
        base
    };
    (scoped, validate)
}

/// Runs `auth key create`.
///
/// # Errors
/// A bad name or duration (2), not the owner key or a taken name (2), no key (1),
/// unreachable (5).
pub async fn run(ctx: &Context, args: CreateArgs) -> Result<(), CliError> {
    validate_name(&args.name).map_err(|error| CliError::usage(error.to_string()))?;
    let expires_at_ms = expiry_ms(args.access.expires)?;
    let (permissions, validate) = rights(&args.permissions, args.access.write);
    let request = Request::CreateKey(CreateKey {
        name: args.name.clone(),
        scopes: args.access.scopes,
        permissions,
        expires_at_ms,
        validate,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_flags_combine_with_write() {
        use KeyPermission::{Read, Validate, Write};
        assert_eq!(rights(&[], false), (Permissions::READ, false));
        assert_eq!(rights(&[], true), (Permissions::READ_WRITE, false));
        assert_eq!(rights(&[Validate], false), (Permissions::READ, true));
        assert_eq!(rights(&[Write], false), (Permissions::WRITE, false));
        assert_eq!(
            rights(&[Read, Write, Validate], false),
            (Permissions::READ_WRITE, true)
        );
        assert_eq!(rights(&[Read], true), (Permissions::READ_WRITE, false));
    }
}
