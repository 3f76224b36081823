//! `hyperforge init --path P --forges github,codeberg --org alice [--create-remote]`: writes
//! `.hyperforge/config.toml`, makes the git remotes match it, and registers the repository with
//! auth-hub (so the hub can watch its declared scopes). No secret is requested unless
//! `--create-remote` asks for the repositories to be created through the forges' APIs.
//!
//! Running it again is safe: it changes only what differs and says what changed.

use std::path::PathBuf;

use auth_hub_client::HubClient;
use clap::Args;

use crate::commands::auth::{announce_wait, connect_keyed, keyed_options, DEFAULT_WAIT};
use crate::commands::forge_access::{self, ForgeFailure};
use crate::commands::{sync, Context};
use crate::config::{self, RepoConfig, UserConfig};
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
}

/// Runs `init`.
///
/// # Errors
/// Not a git repository or a config error (2); a failure (1) when a remote could not be
/// created or the repository could not be registered.
pub async fn run(ctx: &Context, args: InitArgs) -> Result<(), CliError> {
    let repo = open_repo(&args.path).await?;
    let forges: Vec<String> = args.forges.iter().map(|f| f.trim().to_owned()).collect();
    let user = UserConfig::load()?;
    check_known(&forges, &user, RepoConfig::load(repo.root())?.as_ref())?;
    let mut lines = config::write_init(repo.root(), args.org.as_deref(), &forges)?;
    let repo_config = RepoConfig::load(repo.root())?.ok_or_else(|| {
        CliError::failure(format!(
            "{} vanished while init ran",
            RepoConfig::path(repo.root()).display()
        ))
    })?;
    let project = Project::resolve(repo, repo_config, &user).await?;

    let changes = sync::plan(&project);
    sync::apply(&project, &changes).await?;
    lines.extend(
        changes
            .iter()
            .filter(|c| c.changes())
            .map(sync::RemoteChange::describe),
    );
    let mut failures = Vec::new();
    for change in &changes {
        if let sync::RemoteChange::NoOrg { remote, error } = change {
            failures.push(format!("remote {remote} was not set: {error}"));
        }
    }

    let client = connect_keyed(keyed_options(format!(
        "hyperforge init {}",
        project.repo.root().display()
    ))?)
    .await;
    match &client {
        // The hub never reads the client's filesystem: it gets the canonical path.
        Ok(client) => match register(client, project.repo.root()).await {
            Ok(true) => lines.push("registered with auth-hub".to_owned()),
            Ok(false) => {}
            Err(error) => failures.push(format!("not registered with auth-hub: {error}")),
        },
        Err(error) => failures.push(format!("not registered with auth-hub: {error}")),
    }

    if args.create_remote {
        let client =
            client.map_err(|error| CliError::failure(format!("cannot create remotes: {error}")))?;
        let description = args.description.as_deref();
        for forge in &project.forges {
            announce(&client, forge).await;
            match create_remote(&client, &project, forge, args.visibility, description).await {
                Ok(line) => lines.push(line),
                Err(failure) => {
                    for line in failure.lines(&forge.forge.name) {
                        output::note(&line);
                    }
                    failures.push(format!("{}: {}", forge.forge.name, failure.reason()));
                }
            }
        }
    }

    if ctx.out.is_json() {
        ctx.out.json(&serde_json::json!({
            "path": project.repo.root().display().to_string(),
            "changes": lines,
            "errors": failures,
        }))?;
    } else if lines.is_empty() && failures.is_empty() {
        ctx.out.line("nothing changed")?;
    } else {
        for line in &lines {
            ctx.out.line(line)?;
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::failure(failures.join("; ")))
    }
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

/// Says which command approves the forge's scope, when the request will wait for it.
async fn announce(client: &HubClient, forge: &ProjectForge) {
    if let Ok((_, path)) = forge_access::secret_path(forge) {
        announce_wait(client, &[path.parent_scope()], DEFAULT_WAIT).await;
    }
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
