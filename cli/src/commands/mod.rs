//! One module per command group; each verb is its args struct and one async function.

pub mod auth;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::output::Output;

/// What every command gets besides its own arguments.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Where results go, and whether as JSON.
    pub out: Output,
}

/// Runs the parsed command line.
///
/// # Errors
/// The command's error, which decides the exit code.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Context {
        out: Output::new(cli.json),
    };
    match cli.command {
        Command::Auth(command) => auth::run(&ctx, command).await,
    }
}
