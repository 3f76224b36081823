//! `hyperforge workspace status|push --path DIR`: the forge commands over every repository with a
//! `.hyperforge/config.toml` under a directory.

mod discover;
mod push;
mod status;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::commands::wait::WaitArgs;
use crate::commands::Context;
use crate::error::CliError;

/// The workspace verbs.
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Show every repository's forges: remotes, ahead/behind, dirty work trees.
    Status(WorkspaceArgs),
    /// Push every repository to its forges: all scopes asked for at once, pushes in parallel.
    Push(WorkspacePushArgs),
}

/// Arguments shared by the workspace verbs.
#[derive(Debug, Args)]
pub struct WorkspaceArgs {
    /// The directory to search for repositories.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub path: PathBuf,
    /// How many repositories to work on at once.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
}

/// Arguments of `workspace push`.
#[derive(Debug, Args)]
pub struct WorkspacePushArgs {
    /// The directory and the number of jobs.
    #[command(flatten)]
    pub common: WorkspaceArgs,
    /// How long to wait for approval of all the workspace's scopes, in all.
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Runs one workspace verb.
///
/// # Errors
/// The verb's error.
pub async fn run(ctx: &Context, command: WorkspaceCommand) -> Result<(), CliError> {
    match command {
        WorkspaceCommand::Status(args) => status::run(ctx, args).await,
        WorkspaceCommand::Push(args) => push::run(ctx, args).await,
    }
}
