//! A repository opened for the forge commands: its work tree, its `.hyperforge/config.toml`, the
//! user's forge tables, and each configured forge with its remote and org resolved.
//!
//! `init`, `sync`, `status`, `push` and the workspace commands all start here, so every command
//! sees the same forges, remote names, URLs and orgs.

use std::path::Path;

use crate::config::{RepoConfig, UserConfig};
use crate::error::CliError;
use crate::forge::{self, Forge};
use crate::git::Repo;
use crate::org::{self, OrgError};

/// A repository with its forges resolved.
#[derive(Debug)]
pub struct Project {
    /// The git work tree.
    pub repo: Repo,
    /// Each configured forge, in the config's order.
    pub forges: Vec<ProjectForge>,
}

/// One forge of a project: its settings, the remote's current URL, and its org.
#[derive(Debug)]
pub struct ProjectForge {
    /// The forge's resolved settings.
    pub forge: Forge,
    /// The URL of the forge's remote now, if the remote exists.
    pub remote_url: Option<String>,
    /// The org: from the config, else from the remote's URL.
    pub org: Result<String, OrgError>,
}

impl ProjectForge {
    /// The fetch URL the remote should have; `None` without an org.
    pub fn expected_url(&self, repo_name: &str) -> Option<String> {
        let org = self.org.as_ref().ok()?;
        Some(self.forge.fetch_url(org, repo_name))
    }
}

impl Project {
    /// Opens the repository containing `path` and resolves its forges against the user's config.
    ///
    /// # Errors
    /// Not a git repository or no `.hyperforge/config.toml` (usage errors with a hint), config
    /// errors, git failures.
    pub async fn open(path: &Path) -> Result<Self, CliError> {
        Self::open_with(path, &UserConfig::load()?).await
    }

    /// As [`Project::open`], with the user's config already loaded (the workspace commands open
    /// many repositories).
    ///
    /// # Errors
    /// As [`Project::open`].
    pub async fn open_with(path: &Path, user: &UserConfig) -> Result<Self, CliError> {
        let repo = open_repo(path).await?;
        let config = RepoConfig::load(repo.root())?.ok_or_else(|| {
            CliError::usage(format!(
                "{} has no .hyperforge/config.toml",
                repo.root().display()
            ))
            .with_hint(format!(
                "run `hyperforge init --path {} --forges github --org YOUR-ORG`",
                auth_hub_protocol::command::shell_quote(&repo.root().to_string_lossy())
            ))
        })?;
        Self::resolve(repo, config, user).await
    }

    /// Resolves `config`'s forges for `repo`.
    ///
    /// # Errors
    /// Config errors (unknown forges), git failures.
    pub async fn resolve(
        repo: Repo,
        config: RepoConfig,
        user: &UserConfig,
    ) -> Result<Self, CliError> {
        let mut forges = Vec::new();
        for forge in forge::resolve_forges(&config, user)? {
            let remote_url = repo.remote_url(&forge.remote).await.map_err(git_error)?;
            let org = org::resolve_org(&forge, config.org.as_deref(), remote_url.as_deref());
            forges.push(ProjectForge {
                forge,
                remote_url,
                org,
            });
        }
        Ok(Self { repo, forges })
    }

    /// The repository's name on the forges (its directory's name).
    pub fn name(&self) -> String {
        self.repo.name()
    }

    /// The forges to act on: all, or the one named `only` (a usage error when it is not
    /// configured).
    ///
    /// # Errors
    /// `only` names no configured forge.
    pub fn select(&self, only: Option<&str>) -> Result<Vec<&ProjectForge>, CliError> {
        match only {
            None => Ok(self.forges.iter().collect()),
            Some(name) => {
                let found: Vec<_> = self
                    .forges
                    .iter()
                    .filter(|f| f.forge.name == name)
                    .collect();
                if found.is_empty() {
                    let names: Vec<_> = self.forges.iter().map(|f| f.forge.name.as_str()).collect();
                    Err(
                        CliError::usage(format!("forge `{name}` is not configured here"))
                            .with_hint(format!("configured forges: {}", names.join(", "))),
                    )
                } else {
                    Ok(found)
                }
            }
        }
    }
}

/// The git repository containing `path`.
///
/// # Errors
/// A usage error with a hint when `path` is not in a git work tree.
pub async fn open_repo(path: &Path) -> Result<Repo, CliError> {
    Repo::discover(path).await.map_err(|error| match error {
        crate::git::GitError::NotARepository { path } => {
            CliError::usage(format!("{} is not a git repository", path.display()))
                .with_hint(format!("run `git init {}` first", path.display()))
        }
        other => git_error(other),
    })
}

/// A git failure as a CLI failure (exit 1).
pub fn git_error(error: crate::git::GitError) -> CliError {
    CliError::failure(error.to_string())
}
