//! `hyperforge workspace status|push|publish --path DIR`: the forge and registry commands over
//! every repository with a `.hyperforge/config.toml` under a directory.

mod approval;
mod discover;
mod packages;
mod publish;
mod push;
mod schedule;
mod status;

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::commands::wait::WaitArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::package::Bump;

/// The workspace verbs.
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Show every repository's forges: remotes, ahead/behind, dirty work trees.
    Status(WorkspaceArgs),
    /// Push every repository to its forges: all scopes asked for at once, pushes in parallel.
    Push(WorkspacePushArgs),
    /// Publish every package to its registry in dependency order, then push each repository.
    Publish(WorkspacePublishArgs),
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

/// Arguments of `workspace publish`.
#[derive(Debug, Args)]
pub struct WorkspacePublishArgs {
    /// The directory to search for repositories.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub path: PathBuf,
    /// How each selected package's version moves: patch, minor, major, or an exact X.Y.Z.
    #[arg(long, value_name = "BUMP", default_value = "patch")]
    pub bump: Bump,
    /// Publish only these packages (repeatable); all of them when not given.
    #[arg(long = "package", value_name = "NAME", num_args = 1..)]
    pub packages: Vec<String>,
    /// With --package: also publish, first, the workspace packages they depend on.
    #[arg(long, requires = "packages")]
    pub deps: bool,
    /// Print the order, versions, registries, token paths and pushes; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How many packages to publish at once (never two of one repository).
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Publish from work trees with uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Do not push branches and tags to the forges afterwards.
    #[arg(long)]
    pub no_push: bool,
    /// How long to wait for approval of all the scopes, in all.
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
        WorkspaceCommand::Publish(args) => publish::run(ctx, args).await,
    }
}
