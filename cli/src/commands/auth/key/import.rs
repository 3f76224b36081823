//! `hyperforge auth key import`: bring an existing API key, typically a legacy
//! `MELT_<client path>--<token name>--<token>` key, into the hub as a service key. The key is
//! read from stdin (never argv, where `ps` would show it); the hub keeps only its hash.

use auth_hub_protocol::request::ImportKey;
use auth_hub_protocol::{ApiKey, MasterToken, Request, Response};
use clap::Args;
use std::io;

use super::{expiry_ms, key_json, permissions, KeyAccess};
use crate::commands::auth::put::{read_value, trim_value};
use crate::commands::auth::{call, unexpected};
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth key import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the key may do.
    #[command(flatten)]
    pub access: KeyAccess,
}

/// Runs `auth key import`.
///
/// # Errors
/// No key on stdin or a malformed one (2), not the owner key or already imported (2), no key
/// (1), unreachable (5).
pub async fn run(ctx: &Context, args: ImportArgs) -> Result<(), CliError> {
    let raw = read_value(&mut io::stdin().lock(), false)?;
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(no_key_on_stdin());
    }
    let text = trim_value(&raw)?;
    // Parsed here too, so a malformed key is refused before it travels anywhere.
    let key =
        ApiKey::parse(text).map_err(|error| CliError::usage(format!("cannot import: {error}")))?;
    let request = Request::ImportKey(ImportKey {
        key: MasterToken::from(text),
        scopes: args.access.scopes,
        permissions: permissions(args.access.write),
        expires_at_ms: expiry_ms(args.access.expires)?,
    });
    let imported = match call("hyperforge auth key import", request).await? {
        Response::KeyCreated(created) => created.info,
        other => return Err(unexpected("import_key", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&key_json(&imported))
    } else {
        ctx.out
            .line(&format!("imported key {} as {}", key.name(), imported.name))
    }
}

/// Nothing (or only blank space) on stdin: say how to hand the key over.
fn no_key_on_stdin() -> CliError {
    CliError::usage("no key on stdin: nothing to import").with_hint(
        "pipe the key in: hyperforge auth key import --scope 'cargo/*' < legacy-melt.key",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_stdin_hints_at_key_import() {
        let error = no_key_on_stdin();
        assert_eq!(error.kind().exit_code(), 2);
        let hint = error.hint().unwrap_or_default();
        assert!(hint.contains("hyperforge auth key import"), "{hint}");
        assert!(!hint.contains("auth put"), "{hint}");
    }
}
