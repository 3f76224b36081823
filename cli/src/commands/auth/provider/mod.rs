//! `hyperforge auth provider`: AuthProvider records, addressed as `ORG/APP/TYPE`
//! (`osf/cli/oidc`): add, list, show, update, history, rm (a soft delete).

use clap::Subcommand;

use crate::commands::Context;
use crate::error::CliError;

/// The `auth provider` verbs.
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {}

/// Runs one `auth provider` verb.
///
/// # Errors
/// The verb's error.
pub async fn run(ctx: &Context, command: ProviderCommand) -> Result<(), CliError> {
    let _ = ctx;
    match command {}
}
