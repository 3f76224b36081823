//! `hyperforge init --path P --forges github,codeberg --org alice [--create-remote]`: writes
//! `.hyperforge/config.toml`, makes the git remotes match it, and registers the repository with
//! auth-hub (so the hub can watch its declared scopes). No secret is requested unless
//! `--create-remote` asks for the repositories to be created through the forges' APIs.
//!
//! Running it again is safe: it changes only what differs and says what changed. It never
//! replaces the URL of an existing remote without `--force` (it says which remote would change,
//! from what to what, and changes nothing). With `--create-remote` the repositories are created
//! first, and the config and remotes are written only when every creation succeeded, so a
//! failure leaves the repository as it was. `--dry-run` prints what would be written, changed
//! and created, and changes nothing.

use std::path::PathBuf;

use auth_hub_client::HubClient;
use clap::Args;

use crate::commands::forge_access::{self, ForgeFailure};
use crate::commands::sync::{self, RemoteChange};
use crate::commands::wait::WaitArgs;
use crate::commands::Context;
use crate::config::{self, InitPlan, RepoConfig, UserConfig};
use crate::error::CliError;
use crate::forge;
use crate::forge::api::{self, Created, NewRepo, Visibility};
use crate::output;
use crate::project::{open_repo, Project, ProjectForge};

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The repository (or any directory inside it).
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub path: PathBuf,
    /// The forges to mirror to, in order; the first one's remote is `origin`.
    #[arg(long, value_name = "FORGE,...", value_delimiter = ',', required = true)]
    pub forges: Vec<String>,
    /// The org (user or organisation) on every forge, unless a forge table sets its own.
    #[arg(long)]
    pub org: Option<String>,
    /// Create the repository on each forge through its API (asks auth-hub for each token).
    #[arg(long)]
    pub create_remote: bool,
    /// Visibility of repositories created with --create-remote.
    #[arg(
        long,
        value_enum,
        default_value = "private",
        requires = "create_remote"
    )]
    pub visibility: Visibility,
    /// Description of repositories created with --create-remote.
    #[arg(long, value_name = "TEXT", requires = "create_remote")]
    pub description: Option<String>,
    /// With --create-remote: how long to wait for approval of the forges' scopes, in all.
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Replace the URL of an existing remote that points elsewhere.
    #[arg(long)]
    pub force: bool,
    /// Print what would be written, changed and created; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `init`.
///
/// # Errors
/// Not a git repository, a config error, or a remote URL that would be replaced without
/// `--force` (2, nothing changed); a remote that could not be created (1, or 3 when the hub
/// refused every forge; nothing written); the repository could not be registered (1).
pub async fn run(ctx: &Context, args: InitArgs) -> Result<(), CliError> {
    let repo = open_repo(&args.path).await?;
    let forges: Vec<String> = args.forges.iter().map(|f| f.trim().to_owned()).collect();
    let user = UserConfig::load()?;
    check_known(&forges, &user, RepoConfig::load(repo.root())?.as_ref())?;
    let plan = config::plan_init(repo.root(), args.org.as_deref(), &forges)?;
    let project = Project::resolve(repo, plan.config()?, &user).await?;
    let changes = sync::plan(&project);
    let replacing = check_replacements(&changes, args.force);
    if args.dry_run {
        // The whole plan, then the same refusal a real run would give.
        dry_run(ctx, &project, &plan, &changes, args.create_remote).await?;
        return replacing;
    }
    replacing?;

    let client =
        forge_access::connect_forges(format!("hyperforge init {}", project.repo.root().display()))
            .await;
    let mut lines = Vec::new();
    if args.create_remote {
        let client = client.as_ref().map_err(|error| {
            CliError::new(
                error.kind(),
                format!("cannot create remotes: {}", error.message()),
            )
        })?;
        lines = create_remotes(ctx, client, &project, &args).await?;
    }

    plan.write()?;
    sync::apply(&project, &changes).await?;
    let mut report = plan.changes.clone();
    report.extend(
        changes
            .iter()
            .filter(|c| c.changes())
            .map(RemoteChange::describe),
    );
    report.append(&mut lines);
    let mut failures = Vec::new();
    for change in &changes {
        if let RemoteChange::NoOrg { remote, error } = change {
            failures.push(format!("remote {remote} was not set: {error}"));
        }
    }
    match &client {
        // The hub never reads the client's filesystem: it gets the canonical path.
        Ok(client) => match register(client, project.repo.root()).await {
            Ok(true) => report.push("registered with auth-hub".to_owned()),
            Ok(false) => {}
            Err(error) => failures.push(format!("not registered with auth-hub: {error}")),
        },
        Err(error) => failures.push(format!("not registered with auth-hub: {error}")),
    }

    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({
            "path": project.repo.root().display().to_string(),
            "changes": report,
            "errors": failures,
        }))?;
    } else if report.is_empty() && failures.is_empty() {
        ctx.out.line("nothing changed")?;
    } else {
        for line in &report {
            ctx.out.line(line)?;
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::failure(failures.join("; ")))
    }
}

/// Refuses (usage error, before anything is changed) to replace an existing remote's URL
/// without `--force`, naming each remote with its old and new URL.
///
/// # Errors
/// The usage error.
fn check_replacements(changes: &[RemoteChange], force: bool) -> Result<(), CliError> {
    let replaced: Vec<String> = changes
        .iter()
        .filter_map(|change| match change {
            RemoteChange::SetUrl { remote, old, url } => {
                Some(format!("remote {remote}: {old} -> {url}"))
            }
            _ => None,
        })
        .collect();
    if replaced.is_empty() || force {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "init would replace the URL of an existing remote:\n  {}",
        replaced.join("\n  ")
    ))
    .with_hint("nothing was changed; run it again with --force to replace the URL"))
}

/// Creates the repository on every forge, after asking for all their scopes at once (waiting at
/// most `--wait` in all); returns one line per forge. When any forge fails, the created ones are
/// still reported and nothing local is written.
///
/// # Errors
/// A connection error, or the summary of the failures (each already printed on stderr).
async fn create_remotes(
    ctx: &Context,
    client: &HubClient,
    project: &Project,
    args: &InitArgs,
) -> Result<Vec<String>, CliError> {
    let scopes = forge_access::scopes_of(&project.forges);
    let decisions = forge_access::decide(client, &scopes, args.wait.duration()).await?;
    let description = args.description.as_deref();
    let mut lines = Vec::new();
    let mut failures: Vec<(&str, ForgeFailure)> = Vec::new();
    for forge in &project.forges {
        let created = match decisions.refusal_of(forge) {
            Some(refused) => Err(refused),
            None => create_remote(client, project, forge, args.visibility, description).await,
        };
        match created {
            Ok(line) => lines.push(line),
            Err(failure) => {
                for line in failure.lines(&forge.forge.name) {
                    output::note(&line);
                }
                failures.push((&forge.forge.name, failure));
            }
        }
    }
    if failures.is_empty() {
        return Ok(lines);
    }
    let file = RepoConfig::path(project.repo.root());
    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({
            "path": project.repo.root().display().to_string(),
            "changes": lines,
            "errors": failures.iter().map(|(name, f)| format!("{name}: {}", f.reason())).collect::<Vec<_>>(),
            "written": false,
        }))?;
    } else {
        for line in &lines {
            ctx.out.line(line)?;
        }
    }
    let failed: Vec<(&str, &ForgeFailure)> = failures
        .iter()
        .map(|(name, failure)| (*name, failure))
        .collect();
    Err(
        forge_access::summary_error("remote creation", &failed, project.forges.len()).with_hint(
            format!(
                "{} and the git remotes were left unchanged; run init again once fixed",
                file.display()
            ),
        ),
    )
}

/// `init --dry-run`: the config lines that would change, the remote changes, and with
/// `--create-remote` the repositories that would be created with whether each scope is granted
/// now (`has_scope`: no prompt, no token; a hub that is not running is not started).
async fn dry_run(
    ctx: &Context,
    project: &Project,
    plan: &InitPlan,
    changes: &[RemoteChange],
    create: bool,
) -> Result<(), CliError> {
    let scopes = if create {
        forge_access::scopes_of(&project.forges)
    } else {
        Vec::new()
    };
    let access = forge_access::preview(
        format!(
            "hyperforge init --dry-run {}",
            project.repo.root().display()
        ),
        &scopes,
    )
    .await;
    let name = project.name();
    // Per forge: the line for people and the entry for --json.
    let mut creations: Vec<(String, serde_json::Value)> = Vec::new();
    for forge in project.forges.iter().filter(|_| create) {
        let forge_name = &forge.forge.name;
        let planned =
            forge_access::secret_path(forge).map(|(org, path)| (org, path.parent_scope()));
        creations.push(match planned {
            Ok((org, scope)) => {
                let state = access
                    .iter()
                    .find(|(known, _)| known.as_str() == scope.as_str())
                    .map_or_else(
                        || forge_access::Access::Unknown("not asked".to_owned()),
                        |(_, state)| state.clone(),
                    );
                (
                    format!(
                        "create {org}/{name} on {forge_name} ({})",
                        state.describe(&scope)
                    ),
                    serde_json::json!({
                        "forge": forge_name, "repo": format!("{org}/{name}"),
                        "scope": scope.as_str(), "access": state.name(), "error": null,
                    }),
                )
            }
            Err(failure) => (
                format!("create on {forge_name}: impossible ({})", failure.reason()),
                serde_json::json!({
                    "forge": forge_name, "repo": null, "scope": null, "access": null,
                    "error": failure.reason(),
                }),
            ),
        });
    }
    if ctx.out.is_json() {
        return ctx.out.json(&serde_json::json!({
            "dry_run": true,
            "path": project.repo.root().display().to_string(),
            "config": plan.changes,
            "remotes": changes,
            "create": creations.iter().map(|(_, json)| json).collect::<Vec<_>>(),
        }));
    }
    let mut lines: Vec<String> = plan.changes.clone();
    lines.extend(
        changes
            .iter()
            .filter(|c| c.changes() || matches!(c, RemoteChange::NoOrg { .. }))
            .map(RemoteChange::describe),
    );
    lines.extend(creations.into_iter().map(|(line, _)| line));
    lines.push(format!(
        "register {} with auth-hub",
        project.repo.root().display()
    ));
    for line in lines {
        ctx.out.line(&format!("would: {line}"))?;
    }
    Ok(())
}

/// Refuses, before anything is written, a forge that is neither built in nor defined by a
/// `[forge.<name>]` table of the user's config or the repository's.
///
/// # Errors
/// A usage error naming the forge, with the built-in names and an example table.
fn check_known(
    forges: &[String],
    user: &UserConfig,
    repo: Option<&RepoConfig>,
) -> Result<(), CliError> {
    let defined = |name: &str| {
        forge::builtin(name).is_some()
            || user.forge.contains_key(name)
            || repo.is_some_and(|repo| repo.forge.contains_key(name))
    };
    match forges.iter().find(|name| !defined(name)) {
        None => Ok(()),
        Some(name) => Err(CliError::usage(format!("unknown forge `{name}` in --forges")).with_hint(
            format!(
                "the built-in forges are {}; define another in {}, e.g.\n  [forge.{name}]\n  kind = \"gitea\"\n  url = \"https://git.example.com\"",
                forge::builtin_names(),
                UserConfig::path().map_or_else(|| "your user config".to_owned(), |p| p.display().to_string()),
            ),
        )),
    }
}

/// Registers the repository at its canonical path; true when it was new to the hub.
async fn register(client: &HubClient, root: &std::path::Path) -> Result<bool, CliError> {
    let canonical = std::fs::canonicalize(root).map_err(|error| {
        CliError::failure(format!("cannot resolve {}: {error}", root.display()))
    })?;
    Ok(client.register_repo(&canonical).await?)
}

/// Creates the repository on one forge through its REST API; an existing one is reported.
async fn create_remote(
    client: &HubClient,
    project: &Project,
    forge: &ProjectForge,
    visibility: Visibility,
    description: Option<&str>,
) -> Result<String, ForgeFailure> {
    let (org, path) = forge_access::secret_path(forge)?;
    let secret = forge_access::fetch_token(client, &path).await?;
    let name = project.name();
    let kind = forge.forge.kind;
    let api_url = forge.forge.api_url.clone();
    let (owner, repo_name, description) =
        (org.clone(), name.clone(), description.map(str::to_owned));
    // The forge clients are blocking; a CLI runtime has nothing else to do meanwhile.
    let created = tokio::task::spawn_blocking(move || {
        let repo = NewRepo {
            owner: &owner,
            name: &repo_name,
            visibility,
            description: description.as_deref(),
        };
        api::create_repo(kind, &api_url, &secret.value, &repo)
    })
    .await
    .map_err(|error| ForgeFailure::Other(format!("the API call did not finish: {error}")))?
    .map_err(|error| ForgeFailure::Other(error.to_string()))?;
    Ok(match created {
        Created::Created { web_url, .. } => {
            format!("{}: created {org}/{name} ({web_url})", forge.forge.name)
        }
        Created::AlreadyExists => format!("{}: {org}/{name} already exists", forge.forge.name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_a_remote_url_needs_force() {
        let changes = vec![
            RemoteChange::SetUrl {
                remote: "origin".into(),
                old: "git@github.com:bob/x.git".into(),
                url: "git@github.com:alice/x.git".into(),
            },
            RemoteChange::Add {
                remote: "codeberg".into(),
                url: "git@codeberg.org:alice/x.git".into(),
            },
        ];
        let error = check_replacements(&changes, false).expect_err("refused");
        assert_eq!(error.kind(), crate::error::ErrorKind::Usage);
        assert_eq!(
            error.message(),
            "init would replace the URL of an existing remote:\n  remote origin: git@github.com:bob/x.git -> git@github.com:alice/x.git"
        );
        assert!(error.hint().is_some_and(|hint| hint.contains("--force")));
        assert!(check_replacements(&changes, true).is_ok());
        assert!(
            check_replacements(&changes[1..], false).is_ok(),
            "adding is fine"
        );
    }
}
