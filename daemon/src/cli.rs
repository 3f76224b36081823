//! The daemon's command line: `auth-hub serve`.

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
}
