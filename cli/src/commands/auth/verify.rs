//! `hyperforge auth verify TOKEN`: validate a hub JWT, a provider JWT or an API key and print
//! what it says, for scripts: exit 0 when valid, 3 when not.

use clap::Args;

use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The token or key (`-` reads it from stdin).
    #[arg(value_name = "TOKEN")]
    pub token: String,
}

/// Runs `auth verify`.
///
/// # Errors
/// Not valid (3); the hub's refusal; unreachable (5).
pub async fn run(ctx: &Context, args: VerifyArgs) -> Result<(), CliError> {
    let _ = (ctx, args);
    unimplemented!("verify")
}
