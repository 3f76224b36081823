//! `hyperforge push [--path P] [--forge F] [--tags]`: pushes the current branch to every forge
//! (or one), each with its own token from auth-hub, over HTTPS to `{url}/{org}/{repo}.git`.
//!
//! A refused or unanswered scope skips that forge with the design's message and the command
//! that grants it; the other forges still get their push. The remote-tracking branch moves as
//! a normal push moves it, and `.git/config` is left as it was.

use std::path::PathBuf;

use auth_hub_client::HubClient;
use clap::Args;
use serde::Serialize;

use crate::commands::auth::{announce_wait, connect_keyed, keyed_options, DEFAULT_WAIT};
use crate::commands::forge_access::{self, ForgeFailure};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;
use crate::project::{Project, ProjectForge};

/// Arguments of `push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The repository (or any directory inside it).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// Push to this forge only.
    #[arg(long, value_name = "FORGE")]
    pub forge: Option<String>,
    /// Push all tags too.
    #[arg(long)]
    pub tags: bool,
}

/// How one forge's push ended.
#[derive(Debug)]
pub struct ForgePush {
    /// The forge's name.
    pub forge: String,
    /// Its org, when known.
    pub org: Option<String>,
    /// The URL pushed to, when known.
    pub url: Option<String>,
    /// Success, or why not.
    pub result: Result<(), ForgeFailure>,
}

/// `--json` form of a [`ForgePush`].
#[derive(Serialize)]
pub struct ForgePushJson<'a> {
    forge: &'a str,
    org: Option<&'a str>,
    url: Option<&'a str>,
    ok: bool,
    error: Option<String>,
}

impl ForgePush {
    /// Its `--json` form.
    pub fn json(&self) -> ForgePushJson<'_> {
        ForgePushJson {
            forge: &self.forge,
            org: self.org.as_deref(),
            url: self.url.as_deref(),
            ok: self.result.is_ok(),
            error: self.result.as_ref().err().map(ForgeFailure::reason),
        }
    }
}

/// What is pushed: the branch and its commit.
#[derive(Debug, Clone)]
pub struct Head {
    /// The current branch.
    pub branch: String,
    /// The commit it points at.
    pub commit: String,
}

/// The current branch and commit.
///
/// # Errors
/// A detached `HEAD` or a branch without commits (usage errors), git failures.
pub async fn head(project: &Project) -> Result<Head, CliError> {
    let repo = &project.repo;
    let branch = repo
        .current_branch()
        .await
        .map_err(crate::project::git_error)?
        .ok_or_else(|| {
            CliError::usage("HEAD is detached: there is no current branch to push")
                .with_hint("check out a branch first (`git switch NAME`)")
        })?;
    let commit = repo
        .commit_of("HEAD")
        .await
        .map_err(crate::project::git_error)?
        .ok_or_else(|| {
            CliError::usage(format!("branch {branch} has no commits yet"))
                .with_hint("commit something first")
        })?;
    Ok(Head { branch, commit })
}

/// Pushes `head` to one forge: fetches its token, pushes over HTTPS with the token given to git
/// only through the credential protocol, then moves the remote-tracking branch.
pub async fn push_forge(
    client: &HubClient,
    project: &Project,
    forge: &ProjectForge,
    head: &Head,
    tags: bool,
) -> ForgePush {
    let org = forge.org.as_ref().ok().cloned();
    ForgePush {
        forge: forge.forge.name.clone(),
        url: org
            .as_deref()
            .map(|org| forge.forge.push_url(org, &project.name())),
        org,
        result: push_to(client, project, forge, head, tags).await,
    }
}

async fn push_to(
    client: &HubClient,
    project: &Project,
    forge: &ProjectForge,
    head: &Head,
    tags: bool,
) -> Result<(), ForgeFailure> {
    let (org, path) = forge_access::secret_path(forge)?;
    let url = forge_access::transfer_url(forge, &org, &project.name())?;
    let secret = forge_access::fetch_token(client, &path).await?;
    let credential = forge_access::credential(forge, &url, &secret);

    let refspec = format!("{0}:refs/heads/{1}", head.commit, head.branch);
    let mut args = vec!["push", "--porcelain"];
    if tags {
        args.push("--tags");
    }
    args.extend(["--", url.as_str(), refspec.as_str()]);
    project
        .repo
        .transfer(args, &credential)
        .await
        .map_err(|error| forge_access::transfer_failure(error, "push", &path))?;

    // As `git push origin main` would: move refs/remotes/origin/main to what was pushed.
    if forge.remote_url.is_some() {
        let repo = &project.repo;
        let tracking = repo
            .tracking_ref(&forge.forge.remote, &head.branch)
            .await
            .map_err(|error| ForgeFailure::Other(error.to_string()))?;
        if let Some(tracking) = tracking {
            repo.update_ref(&tracking, &head.commit)
                .await
                .map_err(|error| ForgeFailure::Other(format!("pushed, but {error}")))?;
        }
    }
    Ok(())
}

/// Runs `push`.
///
/// # Errors
/// Config errors (2); a failure (1) when any forge failed, each reported on stderr.
pub async fn run(ctx: &Context, args: PushArgs) -> Result<(), CliError> {
    let project = Project::open(&args.path).await?;
    let forges = project.select(args.forge.as_deref())?;
    let head = head(&project).await?;
    let client = connect_keyed(keyed_options(format!(
        "hyperforge push {}",
        project.repo.root().display()
    ))?)
    .await?;

    let mut outcomes = Vec::new();
    for forge in forges {
        if let Ok((_, path)) = forge_access::secret_path(forge) {
            announce_wait(&client, &[path.parent_scope()], DEFAULT_WAIT).await;
        }
        let outcome = push_forge(&client, &project, forge, &head, args.tags).await;
        if !ctx.out.is_json() {
            report(ctx, &outcome, &head)?;
        }
        outcomes.push(outcome);
    }
    if ctx.out.is_json() {
        let json: Vec<_> = outcomes.iter().map(ForgePush::json).collect();
        ctx.out.json(&json)?;
    }
    summary_error(&outcomes)
}

/// Prints one forge's outcome: success on stdout, failure on stderr.
fn report(ctx: &Context, outcome: &ForgePush, head: &Head) -> Result<(), CliError> {
    match &outcome.result {
        Ok(()) => ctx.out.line(&format!(
            "✓ Pushed {} to {} ({})",
            head.branch,
            outcome.forge,
            outcome.url.as_deref().unwrap_or("?")
        )),
        Err(failure) => {
            for line in failure.lines(&outcome.forge) {
                output::note(&line);
            }
            Ok(())
        }
    }
}

/// Failure (1) naming the forges that failed, when any did.
fn summary_error(outcomes: &[ForgePush]) -> Result<(), CliError> {
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|outcome| outcome.result.is_err())
        .map(|outcome| outcome.forge.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "push failed for {} of {} forges: {}",
            failed.len(),
            outcomes.len(),
            failed.join(", ")
        )))
    }
}
