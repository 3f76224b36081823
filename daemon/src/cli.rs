//! The daemon's command line: `auth-hub serve`, `auth-hub status`, `auth-hub install`,
//! `auth-hub stop`, `auth-hub uninstall`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::store::StoreKind;

/// auth-hub: the per-user secret broker behind `hyperforge auth`.
#[derive(Debug, Parser)]
#[command(name = "auth-hub", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The daemon's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub in the foreground.
    Serve(ServeArgs),
    /// Show a running hub's state (exit 5 when none answers).
    Status(StatusArgs),
    /// Stop the hub that owns this state directory (exit 0 also when none runs).
    Stop(StopArgs),
    /// Install the hub as a user service (systemd socket activation or a launchd agent).
    Install(InstallArgs),
    /// Stop the user service and remove its files.
    Uninstall(UninstallArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(crate::docs::CompletionsArgs),
    /// Print the manual page, or write every page into a directory (--dir).
    Man(crate::docs::ManArgs),
}

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Keep everything of this hub (config, state, socket) under DIR.
    #[arg(long, value_name = "DIR", env = "AUTH_HUB_HOME")]
    pub home: Option<PathBuf>,
    /// Listen on this socket instead of the default.
    #[arg(long, value_name = "PATH", env = "AUTH_HUB_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Store backend, overriding the config file: file or memory.
    #[arg(long, value_name = "KIND")]
    pub store: Option<StoreKind>,
    /// Start with an empty store when the store's files are gone although writes were committed
    /// (the hub refuses otherwise); the loss is recorded in the audit log.
    #[arg(long)]
    pub accept_store_loss: bool,
}

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The hub's home: its socket is DIR/auth-hub.sock, the saved key DIR/client/master.key.
    #[arg(long, value_name = "DIR", env = "AUTH_HUB_HOME")]
    pub home: Option<PathBuf>,
    /// Connect to this socket.
    #[arg(long, value_name = "PATH", env = "AUTH_HUB_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Print the hub's status reply as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `stop`.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// The hub's home: stop the hub that owns DIR/state.
    #[arg(long, value_name = "DIR", env = "AUTH_HUB_HOME")]
    pub home: Option<PathBuf>,
    /// How long to wait for the hub to exit, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
}

/// Which service manager, for `install` and `uninstall`.
#[derive(Debug, clap::Args)]
#[group(multiple = false)]
pub struct ManagerArgs {
    /// Use a systemd user instance (the default on Linux).
    #[arg(long)]
    pub systemd: bool,
    /// Use a launchd LaunchAgent (the default on macOS).
    #[arg(long)]
    pub launchd: bool,
}

/// Arguments of `install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The service manager.
    #[command(flatten)]
    pub manager: ManagerArgs,
    /// Print the rendered files and the commands; write and run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `uninstall`.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// The service manager.
    #[command(flatten)]
    pub manager: ManagerArgs,
    /// Print the files and commands; remove and run nothing.
    #[arg(long)]
    pub dry_run: bool,
}
