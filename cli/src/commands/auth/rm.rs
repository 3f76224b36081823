//! `hyperforge auth rm PATH`: delete one secret.

use auth_hub_protocol::SecretPath;
use clap::Args;
use serde_json::json;

use super::{connect_keyed, keyed_options};
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The secret to delete.
    #[arg(value_name = "PATH")]
    pub path: SecretPath,
}

/// Runs `auth rm`.
///
/// # Errors
/// Not found (4), denied (3), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: RmArgs) -> Result<(), CliError> {
    let client = connect_keyed(keyed_options(format!("hyperforge auth rm {}", args.path))?).await?;
    client.delete_secret(&args.path).await?;
    if ctx.out.is_json() {
        ctx.out
            .json(&json!({ "path": args.path.as_str(), "deleted": true }))
    } else {
        ctx.out.line(&format!("deleted {}", args.path))
    }
}
