//! `hyperforge auth token --audience AUD [--ttl D]`: a hub-signed JWT for this machine's key,
//! printed on stdout for a script to send to an API.

use clap::Args;

use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The `aud` claim: the API the token is for.
    #[arg(long, value_name = "AUD")]
    pub audience: String,
}

/// Runs `auth token`.
///
/// # Errors
/// The hub's refusal; unreachable (5).
pub async fn run(ctx: &Context, args: TokenArgs) -> Result<(), CliError> {
    let _ = (ctx, args);
    unimplemented!("token")
}
