//! The packages of a workspace: every repository with a `.hyperforge/config.toml` under the root
//! (found as the other workspace commands find them), opened with its forges, and the packages
//! its manifest holds: one, or the members of a Cargo workspace, which share the repository.
//!
//! A repository without a manifest is kept as [`Contents::NoManifest`] (reported, not an error);
//! one whose manifest or config cannot be read is [`Contents::Broken`], an error for that
//! repository alone.

use std::path::{Path, PathBuf};

use futures::StreamExt;

use super::discover::{display_name, repositories_under};
use crate::config::{RepoConfig, UserConfig};
use crate::error::CliError;
use crate::package::manifest;
use crate::package::{ManifestError, Package};
use crate::project::{open_repo, Project};

/// One repository of the workspace.
#[derive(Debug)]
pub struct Repository {
    /// Its path relative to the root, for reports (`.` for the root itself).
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    pub contents: Contents,
}

/// What a repository holds for publishing.
#[derive(Debug)]
pub enum Contents {
    /// Packages (those of [`Workspace::packages`] whose [`Workspace::repository_of`] names
    /// it), with the repository opened and its config read.
    Packages {
        /// The repository with its forges resolved.
        project: Box<Project>,
        /// Its `.hyperforge/config.toml`, whose `[package]` picks the registry.
        config: Box<RepoConfig>,
    },
    /// No manifest hyperforge knows: nothing to publish here.
    NoManifest,
    /// The repository, its config or its manifest cannot be read: said why.
    Broken(String),
}

/// Every repository and package found under a root.
#[derive(Debug, Default)]
pub struct Workspace {
    /// The repositories, sorted by path.
    pub repositories: Vec<Repository>,
    /// Every package, in repository order (a Cargo workspace's members in manifest order).
    pub packages: Vec<Package>,
    /// For each package, the index of its repository.
    pub repository_of: Vec<usize>,
}

impl Workspace {
    /// The repository of package `index`, with its project, config and packages.
    pub fn repository(&self, index: usize) -> &Repository {
        &self.repositories[self.repository_of[index]]
    }

    /// True when package `index` shares its repository with other packages (a Cargo workspace):
    /// its tag then names it.
    pub fn shares_repository(&self, index: usize) -> bool {
        let repo = self.repository_of[index];
        self.repository_of.iter().filter(|r| **r == repo).count() > 1
    }
}

/// Finds the repositories under `root` and reads their packages, opening `jobs` at a time.
///
/// # Errors
/// `root` cannot be read, or holds no repository (usage errors).
pub async fn discover(root: &Path, user: &UserConfig, jobs: usize) -> Result<Workspace, CliError> {
    let paths = repositories_under(root)?;
    let opened: Vec<(PathBuf, Result<Option<Opened>, String>)> =
        futures::stream::iter(paths.into_iter().map(|path| async move {
            let opened = open(&path, user).await;
            (path, opened)
        }))
        .buffered(jobs.max(1))
        .collect()
        .await;

    let mut workspace = Workspace::default();
    for (path, opened) in opened {
        let repo = workspace.repositories.len();
        let contents = match opened {
            Ok(None) => Contents::NoManifest,
            Err(error) => Contents::Broken(error),
            Ok(Some(opened)) => {
                workspace
                    .repository_of
                    .extend(opened.packages.iter().map(|_| repo));
                workspace.packages.extend(opened.packages);
                Contents::Packages {
                    project: Box::new(opened.project),
                    config: Box::new(opened.config),
                }
            }
        };
        workspace.repositories.push(Repository {
            name: display_name(root, &path),
            path,
            contents,
        });
    }
    Ok(workspace)
}

/// A repository opened, with its packages.
struct Opened {
    project: Project,
    config: RepoConfig,
    packages: Vec<Package>,
}

/// Opens the repository at `path` and reads its packages; `None` when it has no manifest.
async fn open(path: &Path, user: &UserConfig) -> Result<Option<Opened>, String> {
    let packages = match manifest::read(path) {
        Ok(packages) => packages,
        Err(ManifestError::Missing { .. }) => return Ok(None),
        Err(error) => return Err(error.to_string()),
    };
    if packages.is_empty() {
        return Ok(None);
    }
    let repo = open_repo(path)
        .await
        .map_err(|error| error.message().to_owned())?;
    let config = RepoConfig::load(repo.root())
        .map_err(|error| error.to_string())?
        .ok_or_else(|| format!("{} has no .hyperforge/config.toml", repo.root().display()))?;
    let project = Project::resolve(repo, config.clone(), user)
        .await
        .map_err(|error| error.message().to_owned())?;
    Ok(Some(Opened {
        project,
        config,
        packages,
    }))
}
