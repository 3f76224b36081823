//! The command line's root: global options (`--json`, `-v`) and the command groups.
//!
//! Each command has its args struct in its own `commands/` file.

use clap::{ArgAction, Parser, Subcommand};

use crate::commands::auth::AuthCommand;
use crate::commands::docs::{CompletionsArgs, ManArgs};
use crate::commands::init::InitArgs;
use crate::commands::publish::PublishArgs;
use crate::commands::push::PushArgs;
use crate::commands::status::StatusArgs;
use crate::commands::sync::SyncArgs;
use crate::commands::workspace::WorkspaceCommand;

/// hyperforge: mirror git repositories to several forges and publish packages, with tokens kept
/// in auth-hub.
#[derive(Debug, Parser)]
#[command(name = "hyperforge", version, about, propagate_version = true)]
pub struct Cli {
    /// Machine-readable output: one JSON object or array per command on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// Log what happens on stderr (-vv for everything).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Configure a repository's forges, set its remotes, register it with auth-hub.
    Init(InitArgs),
    /// Make the git remotes match .hyperforge/config.toml.
    Sync(SyncArgs),
    /// Per forge: remote, ahead/behind, dirty work tree.
    Status(StatusArgs),
    /// Push the current branch to every forge, each with its token from auth-hub.
    Push(PushArgs),
    /// Release the package here: bump, verify, commit, publish with a token from auth-hub, tag,
    /// push.
    Publish(PublishArgs),
    /// The forge commands over every repository under a directory.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Secrets, grants and keys held by auth-hub.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(CompletionsArgs),
    /// Print the manual page, or write every page into a directory (--dir).
    Man(ManArgs),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn json_is_global() {
        for args in [
            ["hyperforge", "--json", "auth", "grants"],
            ["hyperforge", "auth", "grants", "--json"],
        ] {
            let cli = Cli::try_parse_from(args).expect("parses");
            assert!(cli.json);
        }
    }

    #[test]
    fn missing_subcommand_is_a_usage_error() {
        let error = Cli::try_parse_from(["hyperforge", "auth"]).expect_err("needs a verb");
        assert!(error.use_stderr());
        assert_eq!(error.exit_code(), 2);
    }
}
