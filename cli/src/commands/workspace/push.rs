//! `hyperforge workspace push`: every repository of a workspace pushed to its forges. The
//! distinct scopes of all repositories are asked for in one request, so the owner decides once
//! (the design's `Requesting access to:` block); then repositories are pushed in parallel, each
//! as `hyperforge push` would, and the run ends with one line per repository.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;

use auth_hub_client::HubClient;
use auth_hub_protocol::response::ScopeResult;
use auth_hub_protocol::{Permissions, SecretScope};
use futures::StreamExt;
use serde_json::json;

use super::discover::{display_name, find_repositories};
use super::WorkspaceArgs;
use crate::commands::auth::{announce_wait, connect_keyed, keyed_options, DEFAULT_WAIT};
use crate::commands::forge_access::{self, ForgeFailure};
use crate::commands::push::{head, push_forge, ForgePush};
use crate::commands::Context;
use crate::config::UserConfig;
use crate::error::CliError;
use crate::output;
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

    /// "access denied" when every failure is a denial, else each forge's reason.
    fn reason(&self) -> String {
        if let Some(error) = &self.error {
            return error.clone();
        }
        let failures: Vec<_> = self
            .forges
            .iter()
            .filter_map(|forge| forge.result.as_ref().err().map(|f| (forge, f)))
            .collect();
        let reasons: Vec<String> = failures.iter().map(|(_, f)| f.reason()).collect();
        if reasons.iter().all(|reason| *reason == reasons[0]) && !reasons.is_empty() {
            reasons[0].clone()
        } else {
            failures
                .iter()
                .map(|(forge, failure)| format!("{}: {}", forge.forge, failure.reason()))
                .collect::<Vec<_>>()
                .join("; ")
        }
    }
}

/// Runs `workspace push`.
///
/// # Errors
/// The directory cannot be read, the hub is unreachable; a failure (1) when any repository
/// failed, each reported.
pub async fn run(ctx: &Context, args: WorkspaceArgs) -> Result<(), CliError> {
    let root = &args.path;
    let paths = find_repositories(root)
        .map_err(|error| CliError::usage(format!("cannot read {}: {error}", root.display())))?;
    if paths.is_empty() {
        return Err(CliError::usage(format!(
            "no repository with a .hyperforge/config.toml under {}",
            root.display()
        ))
        .with_hint("run `hyperforge init` in each repository first"));
    }
    let user = UserConfig::load()?;
    let projects = open_all(root, &paths, &user, usize::from(args.jobs)).await;

    let client = connect_keyed(keyed_options(format!(
        "hyperforge workspace push {}",
        root.display()
    ))?)
    .await?;
    let scopes = distinct_scopes(&projects);
    let decisions = request(ctx, &client, &scopes).await?;

    let total = projects.len();
    let progress = std::io::stderr().is_terminal() && !ctx.out.is_json();
    let mut done = 0;
    let mut results = Vec::with_capacity(total);
    let mut pushes = futures::stream::iter(
        projects
            .iter()
            .map(|(name, project)| push_repo(&client, name, project, &decisions)),
    )
    .buffered(usize::from(args.jobs));
    while let Some(result) = pushes.next().await {
        done += 1;
        if progress {
            output::note_inline(&format!("\r[{done}/{total}] {} pushed", result.name));
        }
        results.push(result);
    }
    if progress {
        output::note_inline("\r\x1b[K");
    }

    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "scopes": scopes.iter().map(|scope| json!({
                "scope": scope.as_str(),
                "granted": decisions.get(scope.as_str()).is_some_and(Result::is_ok),
            })).collect::<Vec<_>>(),
            "repos": results.iter().map(|repo| json!({
                "repo": repo.name,
                "ok": repo.ok(),
                "error": repo.error,
                "forges": repo.forges.iter().map(ForgePush::json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        for repo in &results {
            if repo.ok() {
                ctx.out.line(&format!("Pushing {}... ✓", repo.name))?;
            } else {
                ctx.out
                    .line(&format!("✗ Failed: {} ({})", repo.name, repo.reason()))?;
            }
        }
    }
    let failed = results.iter().filter(|repo| !repo.ok()).count();
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "{failed} of {total} repositories failed"
        )))
    }
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
    let mut scopes: Vec<SecretScope> = Vec::new();
    for project in projects
        .iter()
        .filter_map(|(_, project)| project.as_ref().ok())
    {
        for forge in &project.forges {
            if let Ok((_, path)) = forge_access::secret_path(forge) {
                let scope = path.parent_scope();
                if !scopes.iter().any(|known| known.as_str() == scope.as_str()) {
                    scopes.push(scope);
                }
            }
        }
    }
    scopes
}

/// Asks for every scope in one request and prints the design's block of decisions.
async fn request(
    ctx: &Context,
    client: &HubClient,
    scopes: &[SecretScope],
) -> Result<BTreeMap<String, Result<(), ForgeFailure>>, CliError> {
    let mut decisions = BTreeMap::new();
    if scopes.is_empty() {
        return Ok(decisions);
    }
    let human = !ctx.out.is_json();
    if human {
        ctx.out.line("Requesting access to:")?;
        for scope in scopes {
            ctx.out.line(&format!("  {scope}"))?;
        }
        ctx.out.line("\n")?;
    }
    let (_, outcomes) = tokio::join!(
        announce_wait(client, scopes, DEFAULT_WAIT),
        client.request_scopes(scopes, Permissions::READ, DEFAULT_WAIT)
    );
    for outcome in outcomes? {
        let scope = outcome.scope.clone();
        let decision = match outcome.result {
            ScopeResult::Granted(_) => Ok(()),
            ScopeResult::Error(reply) if reply.code == auth_hub_protocol::ErrorCode::Timeout => {
                Err(ForgeFailure::TimedOut { scope })
            }
            ScopeResult::Error(_) => Err(ForgeFailure::Denied { scope }),
        };
        if human {
            ctx.out.line(&match &decision {
                Ok(()) => format!("✓ Granted: {}", outcome.scope),
                Err(ForgeFailure::TimedOut { .. }) => format!("✗ Timed out: {}", outcome.scope),
                Err(_) => format!("✗ Denied: {}", outcome.scope),
            })?;
        }
        decisions.insert(outcome.scope.as_str().to_owned(), decision);
    }
    if human {
        ctx.out.line("\n")?;
    }
    Ok(decisions)
}

/// Pushes one repository to each of its forges; a forge whose scope was refused is not asked
/// for again.
async fn push_repo(
    client: &HubClient,
    name: &str,
    project: &Result<Project, String>,
    decisions: &BTreeMap<String, Result<(), ForgeFailure>>,
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
        let decided = forge_access::secret_path(forge)
            .ok()
            .and_then(|(_, path)| decisions.get(path.parent_scope().as_str()).cloned());
        let outcome = match decided {
            Some(Err(failure)) => ForgePush {
                forge: forge.forge.name.clone(),
                org: forge.org.as_ref().ok().cloned(),
                url: None,
                result: Err(failure),
            },
            _ => push_forge(client, project, forge, &head, false).await,
        };
        result.forges.push(outcome);
    }
    result
}
