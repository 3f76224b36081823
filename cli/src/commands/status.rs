//! `hyperforge status [--fetch] [--json]`: per forge, whether its remote is present with the
//! configured URL, how far the current branch is ahead of or behind it, and whether the work
//! tree is dirty. `--fetch` first fetches each forge over HTTPS with its token, the forges'
//! scopes asked for together and waited for at most `--wait` in all (`--no-wait`: not at all).

use std::path::PathBuf;

use auth_hub_client::HubClient;
use clap::Args;
use serde::Serialize;

use crate::commands::forge_access::{self, Decisions, ForgeFailure};
use crate::commands::wait::WaitArgs;
use crate::commands::Context;
use crate::error::CliError;
use crate::project::{git_error, Project, ProjectForge};

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The repository (or any directory inside it).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// Fetch the current branch from every forge first (asks auth-hub for each token).
    #[arg(long)]
    pub fetch: bool,
    /// With --fetch: how long to wait for approval of the forges' scopes, in all.
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// One repository's state.
#[derive(Debug, Serialize)]
pub struct RepoStatus {
    /// The work tree's top level.
    pub path: String,
    /// The current branch; `None` when detached.
    pub branch: Option<String>,
    /// Tracked files changed and not committed.
    pub dirty: bool,
    /// Files git does not track (not counted as dirty).
    pub untracked: usize,
    /// One entry per forge.
    pub forges: Vec<ForgeStatus>,
}

/// One forge's state.
#[derive(Debug, Serialize)]
pub struct ForgeStatus {
    /// The forge's name.
    pub forge: String,
    /// Its org, when known.
    pub org: Option<String>,
    /// Its remote's name.
    pub remote: String,
    /// Whether the remote exists.
    pub present: bool,
    /// The remote's URL now.
    pub url: Option<String>,
    /// The URL the config asks for (`None` without an org).
    pub expected_url: Option<String>,
    /// True when the two agree.
    pub url_matches: bool,
    /// Commits on the branch not on the forge's copy (`None` when that copy is unknown).
    pub ahead: Option<u64>,
    /// Commits on the forge's copy not on the branch.
    pub behind: Option<u64>,
    /// Why the fetch failed, or the org is unknown.
    pub error: Option<String>,
}

/// Collects the status of `project`; with a client and its scope decisions, fetches each forge
/// first (a forge whose scope was refused is not fetched and shows why).
///
/// # Errors
/// Git failures reading the repository.
pub async fn collect(
    project: &Project,
    fetch_with: Option<(&HubClient, &Decisions)>,
) -> Result<RepoStatus, CliError> {
    let repo = &project.repo;
    let branch = repo.current_branch().await.map_err(git_error)?;
    let (changed, untracked) = repo.changes().await.map_err(git_error)?;
    let mut forges = Vec::new();
    for forge in &project.forges {
        let mut error = forge.org.as_ref().err().map(ToString::to_string);
        if let (Some((client, decisions)), Some(branch), None) = (fetch_with, &branch, &error) {
            let fetched = match decisions.refusal_of(forge) {
                Some(refused) => Err(refused),
                None => fetch(client, project, forge, branch).await,
            };
            if let Err(failure) = fetched {
                // The forge's line shows the reason; a refusal also gets the command that
                // grants it, once, on stderr.
                if failure.is_refusal() {
                    for line in failure.lines(&forge.forge.name) {
                        crate::output::note(&line);
                    }
                }
                error = Some(failure.reason());
            }
        }
        let (ahead, behind) = match &branch {
            Some(branch) => compare(project, forge, branch).await?,
            None => (None, None),
        };
        let expected_url = forge.expected_url(&project.name());
        forges.push(ForgeStatus {
            forge: forge.forge.name.clone(),
            org: forge.org.as_ref().ok().cloned(),
            remote: forge.forge.remote.clone(),
            present: forge.remote_url.is_some(),
            url: forge.remote_url.clone(),
            url_matches: expected_url.is_some() && expected_url == forge.remote_url,
            expected_url,
            ahead,
            behind,
            error,
        });
    }
    Ok(RepoStatus {
        path: repo.root().display().to_string(),
        branch,
        dirty: changed > 0,
        untracked,
        forges,
    })
}

/// Ahead/behind of `branch` against the forge's remote-tracking branch, when it exists.
async fn compare(
    project: &Project,
    forge: &ProjectForge,
    branch: &str,
) -> Result<(Option<u64>, Option<u64>), CliError> {
    let repo = &project.repo;
    let Some(tracking) = repo
        .tracking_ref(&forge.forge.remote, branch)
        .await
        .map_err(git_error)?
    else {
        return Ok((None, None));
    };
    if repo
        .commit_of(&tracking)
        .await
        .map_err(git_error)?
        .is_none()
    {
        return Ok((None, None));
    }
    let (ahead, behind) = repo
        .ahead_behind(&format!("refs/heads/{branch}"), &tracking)
        .await
        .map_err(git_error)?;
    Ok((Some(ahead), Some(behind)))
}

/// Fetches `branch` from the forge over HTTPS into its remote-tracking branch.
async fn fetch(
    client: &HubClient,
    project: &Project,
    forge: &ProjectForge,
    branch: &str,
) -> Result<(), ForgeFailure> {
    let (org, path) = forge_access::secret_path(forge)?;
    let repo = &project.repo;
    let tracking = repo
        .tracking_ref(&forge.forge.remote, branch)
        .await
        .map_err(|error| ForgeFailure::Other(error.to_string()))?
        .unwrap_or_else(|| format!("refs/remotes/{}/{branch}", forge.forge.remote));
    let url = forge_access::transfer_url(forge, &org, &project.name())?;
    let secret = forge_access::fetch_token(client, &path).await?;
    let credential = forge_access::credential(forge, &url, &secret);
    let refspec = format!("+refs/heads/{branch}:{tracking}");
    repo.transfer(
        [
            "fetch",
            "--no-tags",
            "--quiet",
            "--",
            url.as_str(),
            refspec.as_str(),
        ],
        &credential,
        None,
    )
    .await
    .map(drop)
    .map_err(|error| forge_access::transfer_failure(error, "fetch", &path))
}

/// The human form: a header line, then one line per forge.
pub fn describe(status: &RepoStatus) -> Vec<String> {
    let mut lines = vec![format!(
        "{} on {}{}",
        status.path,
        status.branch.as_deref().unwrap_or("(detached HEAD)"),
        match (status.dirty, status.untracked) {
            (true, _) => ", dirty",
            (false, 0) => ", clean",
            (false, _) => ", clean (untracked files)",
        }
    )];
    for forge in &status.forges {
        let remote = match (&forge.url, forge.url_matches) {
            (None, _) => format!("{} missing (run `hyperforge sync`)", forge.remote),
            (Some(_), true) => forge.remote.clone(),
            (Some(url), false) => format!(
                "{} at {url}, configured {} (run `hyperforge sync`)",
                forge.remote,
                forge.expected_url.as_deref().unwrap_or("?")
            ),
        };
        let position = match (forge.ahead, forge.behind) {
            (Some(0), Some(0)) => "up to date".to_owned(),
            (Some(ahead), Some(behind)) => format!("{ahead} ahead, {behind} behind"),
            _ => "not pushed yet".to_owned(),
        };
        let mut line = format!("  {:<10} {remote}: {position}", forge.forge);
        if let Some(error) = &forge.error {
            line.push_str(&format!(" ({error})"));
        }
        lines.push(line);
    }
    lines
}

/// Runs `status`.
///
/// # Errors
/// Config and git errors.
pub async fn run(ctx: &Context, args: StatusArgs) -> Result<(), CliError> {
    let project = Project::open(&args.path).await?;
    let fetching = if args.fetch {
        let client = forge_access::connect_forges(format!(
            "hyperforge status --fetch {}",
            project.repo.root().display()
        ))
        .await?;
        let scopes = forge_access::scopes_of(&project.forges);
        let decisions = forge_access::decide(&client, &scopes, args.wait.duration()).await?;
        Some((client, decisions))
    } else {
        None
    };
    let status = collect(
        &project,
        fetching
            .as_ref()
            .map(|(client, decisions)| (client, decisions)),
    )
    .await?;
    if ctx.out.is_json() {
        return ctx.out.json(&status);
    }
    for line in describe(&status) {
        ctx.out.line(&line)?;
    }
    Ok(())
}
