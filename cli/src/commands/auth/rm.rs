//! `hyperforge auth rm [--destroy] PATH`: delete one secret (`--destroy`: every version, on
//! backends that keep deleted versions).

use auth_hub_client::AuthError;
use auth_hub_protocol::command::command_line;
use auth_hub_protocol::SecretPath;
use clap::Args;
use serde_json::json;

use super::{connect_keyed, keyed_options};
use crate::commands::Context;
use crate::error::{CliError, ErrorKind};

/// Arguments of `auth rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The secret to delete.
    #[arg(value_name = "PATH")]
    pub path: SecretPath,
    /// Remove every version everywhere: on an OpenBao/Vault backend, KV v2's destroy of all
    /// versions and the metadata instead of a soft delete (the same as a plain `rm` elsewhere).
    #[arg(long)]
    pub destroy: bool,
}

/// Runs `auth rm`.
///
/// # Errors
/// Not found (4), denied (3), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: RmArgs) -> Result<(), CliError> {
    let client = connect_keyed(keyed_options(format!("hyperforge auth rm {}", args.path))?).await?;
    let removed = if args.destroy {
        client.destroy_secret(&args.path).await
    } else {
        client.delete_secret(&args.path).await
    };
    match removed {
        Ok(()) => {}
        Err(AuthError::SecretNotFound { .. }) => return Err(not_found(&args.path)),
        Err(error) => return Err(error.into()),
    }
    if ctx.out.is_json() {
        ctx.out.json(
            &json!({ "path": args.path.as_str(), "deleted": true, "destroyed": args.destroy }),
        )
    } else if args.destroy {
        ctx.out.line(&format!("destroyed {}", args.path))
    } else {
        ctx.out.line(&format!("deleted {}", args.path))
    }
}

/// Nothing at `path`: the hint lists what is stored at and below it (`rm` deletes one secret,
/// never a prefix), rather than suggesting to store one.
fn not_found(path: &SecretPath) -> CliError {
    CliError::new(ErrorKind::NotFound, format!("secret not found: {path}")).with_hint(format!(
        "nothing to delete; `rm` deletes one secret: list what is stored under {path} with `{}`",
        command_line(["hyperforge", "auth", "ls", path.as_str()])
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_hints_at_listing_not_storing() {
        let path = SecretPath::parse("github/alice").expect("valid path");
        let error = not_found(&path);
        assert_eq!(error.kind().exit_code(), 4);
        let hint = error.hint().unwrap_or_default();
        assert!(hint.contains("`hyperforge auth ls github/alice`"), "{hint}");
        assert!(!hint.contains("put"), "{hint}");
    }
}
