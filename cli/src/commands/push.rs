//! `hyperforge push [--path P] [--forge F] [--tags] [--wait D | --no-wait] [--dry-run]`: pushes
//! the current branch to every forge (or one), each with its own token from auth-hub, over HTTPS
//! to `{url}/{org}/{repo}.git`.
//!
//! The forges' scopes are asked for together, waiting at most `--wait` in all. A refused or
//! unanswered scope skips that forge with the design's message and the command that grants it;
//! the other forges still get their push. The remote-tracking branch moves as a normal push
//! moves it, and `.git/config` is left as it was. `--dry-run` says what would be pushed where
//! and whether each scope is granted now (asked with `has_scope`, which never prompts), and
//! pushes nothing.

use std::path::PathBuf;

use auth_hub_client::HubClient;
use clap::Args;
use serde::Serialize;

use crate::commands::forge_access::{self, Decisions, ForgeFailure};
use crate::commands::wait::WaitArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::progress::{Progress, Task};
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
    /// `--wait` / `--no-wait`: how long the whole push waits for approval of its scopes.
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Print what would be pushed where, and whether each scope is granted now; push nothing.
    #[arg(long)]
    pub dry_run: bool,
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

/// Pushes `head` to one forge: fetches its token (unless `decisions` refused its scope), pushes
/// over HTTPS with the token given to git only through the credential protocol, then moves the
/// remote-tracking branch. `task` shows the progress.
pub async fn push_forge(
    client: &HubClient,
    project: &Project,
    forge: &ProjectForge,
    head: &Head,
    tags: bool,
    decisions: &Decisions,
    task: &Task,
) -> ForgePush {
    push_forge_refs(client, project, forge, head, tags, &[], decisions, task).await
}

/// As [`push_forge`], also pushing each of `tags` by name (`publish` pushes the tag it made).
#[allow(clippy::too_many_arguments)]
pub async fn push_forge_refs(
    client: &HubClient,
    project: &Project,
    forge: &ProjectForge,
    head: &Head,
    all_tags: bool,
    tags: &[String],
    decisions: &Decisions,
    task: &Task,
) -> ForgePush {
    let org = forge.org.as_ref().ok().cloned();
    let result = match decisions.refusal_of(forge) {
        Some(failure) => Err(failure),
        None => push_to(client, project, forge, head, all_tags, tags, task).await,
    };
    ForgePush {
        forge: forge.forge.name.clone(),
        url: org
            .as_deref()
            .map(|org| forge.forge.push_url(org, &project.name())),
        org,
        result,
    }
}

async fn push_to(
    client: &HubClient,
    project: &Project,
    forge: &ProjectForge,
    head: &Head,
    all_tags: bool,
    tags: &[String],
    task: &Task,
) -> Result<(), ForgeFailure> {
    let (org, path) = forge_access::secret_path(forge)?;
    let url = forge_access::transfer_url(forge, &org, &project.name())?;
    task.set("fetching the token");
    let secret = forge_access::fetch_token(client, &path).await?;
    let credential = forge_access::credential(forge, &url, &secret);

    task.set("pushing");
    let refspec = format!("{0}:refs/heads/{1}", head.commit, head.branch);
    let mut args = vec!["push", "--porcelain"];
    // git shows its transfer progress only when asked, since its stderr is a pipe here.
    let progress = task.git_progress();
    if progress.is_some() {
        args.push("--progress");
    }
    if all_tags {
        args.push("--tags");
    }
    let tag_refspecs: Vec<String> = tags
        .iter()
        .map(|tag| format!("refs/tags/{tag}:refs/tags/{tag}"))
        .collect();
    args.extend(["--", url.as_str(), refspec.as_str()]);
    args.extend(tag_refspecs.iter().map(String::as_str));
    project
        .repo
        .transfer(
            args,
            &credential,
            progress.as_ref().map(|f| f as &dyn Fn(&str)),
        )
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
/// Config errors (2); when any forge failed, each reported on stderr: access denied (3) when
/// every forge was refused by the hub, else a failure (1).
pub async fn run(ctx: &Context, args: PushArgs) -> Result<(), CliError> {
    let project = Project::open(&args.path).await?;
    let forges = project.select(args.forge.as_deref())?;
    let head = head(&project).await?;
    let reason = format!("hyperforge push {}", project.repo.root().display());
    if args.dry_run {
        return dry_run(ctx, &project, &forges, &head, args.tags, reason).await;
    }
    let client = forge_access::connect_forges(reason).await?;
    let scopes = forge_access::scopes_of(forges.iter().copied());
    let decisions = forge_access::decide(&client, &scopes, args.wait.duration()).await?;

    let progress = Progress::new(&ctx.out);
    let mut outcomes = Vec::new();
    for forge in forges {
        let task = progress.task(&forge.forge.name);
        let outcome = push_forge(
            &client, &project, forge, &head, args.tags, &decisions, &task,
        )
        .await;
        drop(task);
        if !ctx.out.is_json() {
            report(ctx, &progress, &outcome, &head.branch)?;
        }
        outcomes.push(outcome);
    }
    progress.finish();
    if ctx.out.is_json() {
        let json: Vec<_> = outcomes.iter().map(ForgePush::json).collect();
        ctx.out.json(&json)?;
    }
    let failed: Vec<(&str, &ForgeFailure)> = outcomes
        .iter()
        .filter_map(|outcome| {
            let failure = outcome.result.as_ref().err()?;
            Some((outcome.forge.as_str(), failure))
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(forge_access::summary_error("push", &failed, outcomes.len()))
    }
}

/// Prints one forge's outcome: success (`✓ Pushed <pushed> to <forge> (<url>)`) on stdout,
/// failure on stderr. `pushed` names what went: the branch, or for `publish` the branch and tag.
pub fn report(
    ctx: &Context,
    progress: &Progress,
    outcome: &ForgePush,
    pushed: &str,
) -> Result<(), CliError> {
    match &outcome.result {
        Ok(()) => progress.suspend(|| {
            ctx.out.line(&format!(
                "✓ Pushed {} to {} ({})",
                pushed,
                outcome.forge,
                outcome.url.as_deref().unwrap_or("?")
            ))
        }),
        Err(failure) => {
            for line in failure.lines(&outcome.forge) {
                progress.note(&line);
            }
            Ok(())
        }
    }
}

/// `push --dry-run`: per forge, the branch, commit and URL a push would send, and whether its
/// scope is granted now. Nothing is pushed, no token is fetched and no hub is started.
async fn dry_run(
    ctx: &Context,
    project: &Project,
    forges: &[&ProjectForge],
    head: &Head,
    tags: bool,
    reason: String,
) -> Result<(), CliError> {
    let scopes = forge_access::scopes_of(forges.iter().copied());
    let access = forge_access::preview(reason, &scopes).await;
    let short = head.commit.get(..12).unwrap_or(&head.commit);
    let mut json = Vec::new();
    for forge in forges {
        let name = &forge.forge.name;
        let planned = forge_access::secret_path(forge).and_then(|(org, path)| {
            let url = forge_access::transfer_url(forge, &org, &project.name())?;
            Ok((org, path.parent_scope(), url))
        });
        match planned {
            Ok((org, scope, url)) => {
                let state = access
                    .iter()
                    .find(|(known, _)| known.as_str() == scope.as_str())
                    .map(|(_, state)| state.clone())
                    .unwrap_or_else(|| forge_access::Access::Unknown("not asked".to_owned()));
                if ctx.out.is_json() {
                    json.push(serde_json::json!({
                        "forge": name, "org": org, "url": url, "scope": scope.as_str(),
                        "access": state.name(), "error": null,
                    }));
                } else {
                    ctx.out.line(&format!(
                        "would push {} ({short}){} to {name}: {url} ({})",
                        head.branch,
                        if tags { " and all tags" } else { "" },
                        state.describe(&scope)
                    ))?;
                }
            }
            Err(failure) => {
                if ctx.out.is_json() {
                    json.push(serde_json::json!({
                        "forge": name, "org": null, "url": null, "scope": null,
                        "access": null, "error": failure.reason(),
                    }));
                } else {
                    for line in failure.lines(name) {
                        crate::output::note(&line);
                    }
                }
            }
        }
    }
    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({
            "dry_run": true,
            "branch": head.branch,
            "commit": head.commit,
            "tags": tags,
            "forges": json,
        }))?;
    }
    Ok(())
}
