//! `hyperforge sync [--dry-run]`: makes the git remotes match `.hyperforge/config.toml`, one
//! remote per forge, and reports each change. Remotes the config does not name are left alone.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::commands::Context;
use crate::error::CliError;
use crate::project::{git_error, Project};

/// Arguments of `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The repository (or any directory inside it).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// Print what would change without changing anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// What a remote needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum RemoteChange {
    /// The remote is missing.
    Add {
        /// Remote name.
        remote: String,
        /// Its URL.
        url: String,
    },
    /// The remote points elsewhere.
    SetUrl {
        /// Remote name.
        remote: String,
        /// Its URL now.
        old: String,
        /// The configured URL.
        url: String,
    },
    /// Nothing to do.
    Ok {
        /// Remote name.
        remote: String,
        /// Its URL.
        url: String,
    },
    /// The forge's org is unknown, so its URL cannot be built.
    NoOrg {
        /// Remote name.
        remote: String,
        /// Why.
        error: String,
    },
}

impl RemoteChange {
    /// True when applying it changes the repository.
    pub fn changes(&self) -> bool {
        matches!(self, Self::Add { .. } | Self::SetUrl { .. })
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Self::Add { remote, url } => format!("remote {remote}: added {url}"),
            Self::SetUrl { remote, old, url } => format!("remote {remote}: {old} -> {url}"),
            Self::Ok { remote, .. } => format!("remote {remote}: ok"),
            Self::NoOrg { remote, error } => format!("remote {remote}: not set ({error})"),
        }
    }
}

/// The change each forge's remote needs.
pub fn plan(project: &Project) -> Vec<RemoteChange> {
    let name = project.name();
    project
        .forges
        .iter()
        .map(|forge| {
            let remote = forge.forge.remote.clone();
            let url = match &forge.org {
                Ok(org) => forge.forge.fetch_url(org, &name),
                Err(error) => {
                    return RemoteChange::NoOrg {
                        remote,
                        error: error.to_string(),
                    }
                }
            };
            match &forge.remote_url {
                None => RemoteChange::Add { remote, url },
                Some(old) if *old == url => RemoteChange::Ok { remote, url },
                Some(old) => RemoteChange::SetUrl {
                    remote,
                    old: old.clone(),
                    url,
                },
            }
        })
        .collect()
}

/// Applies the changes to the repository's remotes.
///
/// # Errors
/// A git failure, after the changes before it were made.
pub async fn apply(project: &Project, changes: &[RemoteChange]) -> Result<(), CliError> {
    for change in changes {
        match change {
            RemoteChange::Add { remote, url } => project.repo.add_remote(remote, url).await,
            RemoteChange::SetUrl { remote, url, .. } => {
                project.repo.set_remote_url(remote, url).await
            }
            RemoteChange::Ok { .. } | RemoteChange::NoOrg { .. } => Ok(()),
        }
        .map_err(git_error)?;
    }
    Ok(())
}

/// Runs `sync`.
///
/// # Errors
/// Config and git errors; a forge without an org is a failure (1) after the others are synced.
pub async fn run(ctx: &Context, args: SyncArgs) -> Result<(), CliError> {
    let project = Project::open(&args.path).await?;
    let changes = plan(&project);
    if !args.dry_run {
        apply(&project, &changes).await?;
    }
    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({
            "dry_run": args.dry_run,
            "remotes": changes,
        }))?;
    } else {
        let prefix = if args.dry_run { "would: " } else { "" };
        for change in &changes {
            ctx.out.line(&format!("{prefix}{}", change.describe()))?;
        }
    }
    match changes
        .iter()
        .find(|c| matches!(c, RemoteChange::NoOrg { .. }))
    {
        Some(RemoteChange::NoOrg { remote, error }) => Err(CliError::failure(format!(
            "remote {remote} was not set: {error}"
        ))),
        _ => Ok(()),
    }
}
