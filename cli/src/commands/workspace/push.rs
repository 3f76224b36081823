//! `hyperforge workspace push`: every repository of a workspace pushed to its forges. The
//! distinct scopes of all repositories are asked for in one request, so the owner decides once
//! (the design's `Requesting access to:` block); then repositories are pushed in parallel, each
//! as `hyperforge push` would, and the run ends with one line per repository.

use std::path::Path;

use auth_hub_client::HubClient;
use auth_hub_protocol::SecretScope;
use futures::StreamExt;
use serde_json::json;

use super::approval::{request, scopes_json};
use super::discover::{display_name, repositories_under};
use super::WorkspacePushArgs;
use crate::commands::forge_access::{self, Decisions, ForgeFailure};
use crate::commands::push::{head, push_forge, ForgePush};
use crate::commands::Context;
use crate::config::UserConfig;
use crate::error::{CliError, ErrorKind};
use crate::progress::Progress;
use crate::project::Project;

/// One repository's outcome.
struct RepoPush {
    name: String,
    /// The repository could not be opened or has nothing to push.
    error: Option<String>,
    forges: Vec<ForgePush>,
}

impl RepoPush {
    fn ok(&self) -> bool {
        self.error.is_none() && self.forges.iter().all(|forge| forge.result.is_ok())
    }

    /// Why it failed, naming each failed forge: `github: access denied; codeberg: push failed: …`.
    fn reason(&self) -> String {
        if let Some(error) = &self.error {
            return error.clone();
        }
        self.forges
            .iter()
            .filter_map(|forge| {
                let failure = forge.result.as_ref().err()?;
                Some(format!("{}: {}", forge.forge, failure.reason()))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// True when it failed only because the hub refused its scopes (nothing else went wrong
    /// and nothing was pushed).
    fn only_refused(&self) -> bool {
        self.error.is_none()
            && !self.forges.is_empty()
            && self.forges.iter().all(|forge| {
                forge
                    .result
                    .as_ref()
                    .err()
                    .is_some_and(ForgeFailure::is_refusal)
            })
    }
}

/// Runs `workspace push`.
///
/// # Errors
/// The directory cannot be read, the hub is unreachable; when any repository failed, each
/// reported once on stderr: access denied (3) when every repository was refused by the hub,
/// else a failure (1).
pub async fn run(ctx: &Context, args: WorkspacePushArgs) -> Result<(), CliError> {
    let root = &args.common.path;
    let jobs = usize::from(args.common.jobs);
    let paths = repositories_under(root)?;
    let user = UserConfig::load()?;
    let projects = open_all(root, &paths, &user, jobs).await;

    let client =
        forge_access::connect_forges(format!("hyperforge workspace push {}", root.display()))
            .await?;
    let scopes = distinct_scopes(&projects);
    let decisions = request(ctx, &client, &scopes, args.wait.duration()).await?;

    let total = projects.len();
    let progress = Progress::new(&ctx.out).with_overall(
        u64::try_from(total).unwrap_or(u64::MAX),
        "repositories pushed",
    );
    let mut results = Vec::with_capacity(total);
    let mut pushes = futures::stream::iter(
        projects
            .iter()
            .map(|(name, project)| push_repo(&client, name, project, &decisions, &progress)),
    )
    .buffered(jobs);
    while let Some(result) = pushes.next().await {
        progress.advance();
        if !ctx.out.is_json() {
            if result.ok() {
                progress.suspend(|| ctx.out.line(&format!("Pushing {}... ✓", result.name)))?;
            } else {
                progress.note(&format!("✗ Failed: {} ({})", result.name, result.reason()));
            }
        }
        results.push(result);
    }
    drop(pushes);
    progress.finish();

    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "scopes": scopes_json(&scopes, &decisions),
            "repos": results.iter().map(|repo| json!({
                "repo": repo.name,
                "ok": repo.ok(),
                "error": repo.error,
                "forges": repo.forges.iter().map(ForgePush::json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }))?;
    }
    let failed = results.iter().filter(|repo| !repo.ok()).count();
    if failed == 0 {
        return Ok(());
    }
    let kind = if failed == total && results.iter().all(RepoPush::only_refused) {
        ErrorKind::Denied
    } else {
        ErrorKind::Failure
    };
    Err(CliError::new(
        kind,
        format!("{failed} of {total} repositories failed"),
    ))
}

/// Opens every repository, `jobs` at a time (each costs a few git calls); one that cannot be
/// opened is kept as its error.
async fn open_all(
    root: &Path,
    paths: &[std::path::PathBuf],
    user: &UserConfig,
    jobs: usize,
) -> Vec<(String, Result<Project, String>)> {
    futures::stream::iter(paths.iter().map(|path| async move {
        let project = Project::open_with(path, user)
            .await
            .map_err(|error| error.message().to_owned());
        (display_name(root, path), project)
    }))
    .buffered(jobs)
    .collect()
    .await
}

/// Every forge scope the workspace needs, once each, in first-seen order.
fn distinct_scopes(projects: &[(String, Result<Project, String>)]) -> Vec<SecretScope> {
    forge_access::scopes_of(
        projects
            .iter()
            .filter_map(|(_, project)| project.as_ref().ok())
            .flat_map(|project| &project.forges),
    )
}

/// Pushes one repository to each of its forges; a forge whose scope was refused is not asked
/// for again.
async fn push_repo(
    client: &HubClient,
    name: &str,
    project: &Result<Project, String>,
    decisions: &Decisions,
    progress: &Progress,
) -> RepoPush {
    let mut result = RepoPush {
        name: name.to_owned(),
        error: None,
        forges: Vec::new(),
    };
    let project = match project {
        Ok(project) => project,
        Err(error) => {
            result.error = Some(error.clone());
            return result;
        }
    };
    let head = match head(project).await {
        Ok(head) => head,
        Err(error) => {
            result.error = Some(error.message().to_owned());
            return result;
        }
    };
    for forge in &project.forges {
        let task = progress.task(&format!("{name} → {}", forge.forge.name));
        let outcome = push_forge(client, project, forge, &head, false, decisions, &task).await;
        result.forges.push(outcome);
    }
    result
}
