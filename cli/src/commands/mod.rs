//! One module per command group; each verb is its args struct and one async function.

pub mod auth;
pub mod docs;
pub mod forge_access;
pub mod init;
pub mod publish;
pub mod push;
pub mod status;
pub mod sync;
pub mod wait;
pub mod workspace;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::output::Output;

/// What every command gets besides its own arguments.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Where results go, and whether as JSON.
    pub out: Output,
}

impl Context {
    /// The context of a command line with or without `--json`.
    pub fn new(json: bool) -> Self {
        Self {
            out: Output::new(json),
        }
    }
}

/// Runs the parsed command line.
///
/// # Errors
/// The command's error, which decides the exit code.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Context::new(cli.json);
    match cli.command {
        Command::Auth(command) => auth::run(&ctx, command).await,
        Command::Init(args) => init::run(&ctx, args).await,
        Command::Sync(args) => sync::run(&ctx, args).await,
        Command::Status(args) => status::run(&ctx, args).await,
        Command::Push(args) => push::run(&ctx, args).await,
        Command::Publish(args) => publish::run(&ctx, args).await,
        Command::Workspace(command) => workspace::run(&ctx, command).await,
        Command::Completions(args) => docs::completions(&args),
        Command::Man(args) => docs::man(&args),
    }
}
