//! Publishing one package as a transaction over its repository: bump the version (and the
//! requirements on packages bumped before it), verify with the ecosystem's tool, commit, publish,
//! tag. Any failure before the registry accepted the package puts the repository back exactly as
//! it was: manifest, lock file, HEAD, index and tags.

use auth_hub_protocol::{Secret, SecretPath};

use super::refusal::RegistryReason;
use super::{Bump, Package, Registry, Version};
use crate::git::Repo;
use crate::progress::Task;

/// One package's release, decided before anything changes (what `--dry-run` prints).
#[derive(Debug, Clone)]
pub struct Plan {
    /// The package as it is now.
    pub package: Package,
    /// Where it goes.
    pub registry: Registry,
    /// The version it is released as.
    pub version: Version,
    /// Requirements on workspace packages released earlier in the same run, rewritten before
    /// this one is verified: (dependency name, its new version).
    pub requirement_updates: Vec<(String, Version)>,
    /// The tag created: `v<version>`, or `<name>-v<version>` in a repository holding several
    /// packages (a Cargo workspace).
    pub tag: String,
    /// The registry token's secret path.
    pub token_path: SecretPath,
}

impl Plan {
    /// The plan for releasing `package` to `registry` with `bump`; `shared_repository` when its
    /// repository holds other packages too (the tag then names the package).
    ///
    /// # Errors
    /// The bump cannot be applied to the current version.
    pub fn new(
        package: Package,
        registry: Registry,
        bump: &Bump,
        shared_repository: bool,
    ) -> Result<Self, super::version::VersionError> {
        let _ = (package, registry, bump, shared_repository);
        unimplemented!("helper: publish command")
    }

    /// The commands a release runs, as a person would type them (no token in them).
    pub fn commands(&self) -> Vec<String> {
        unimplemented!("helper: publish command")
    }
}

/// A package released: the commit and tag made.
#[derive(Debug, Clone)]
pub struct Released {
    /// The release commit (`chore: release <name> v<version>`).
    pub commit: String,
    /// The tag pointing at it.
    pub tag: String,
}

/// Why a release failed. Every variant but [`ReleaseError::AfterPublish`] means the repository
/// was put back as it was.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The work tree has changes (and `--allow-dirty` was not given).
    #[error("the work tree has uncommitted changes: {0}")]
    Dirty(String),
    /// The tool is not installed.
    #[error("{tool} is not installed: {hint}")]
    MissingTool {
        /// `cargo`, `npm`, `twine`, `python3`.
        tool: &'static str,
        /// What to install.
        hint: &'static str,
    },
    /// The package does not build or pack.
    #[error("verification failed: {0}")]
    Verify(String),
    /// The registry refused the token at this path (HTTP 401/403).
    #[error("the registry refused the token at {0}")]
    TokenRefused(SecretPath),
    /// The registry refused the package for another reason.
    #[error("the registry refused the package: {0:?}")]
    Registry(RegistryReason),
    /// Reading or changing the repository failed.
    #[error("{0}")]
    Repository(String),
    /// The registry accepted the package, but tagging afterwards failed; the release commit
    /// stays (the package is public), the message says how to finish.
    #[error("published, but {0}")]
    AfterPublish(String),
}

/// Releases `plan` in `repo`: bump, verify, commit, publish with `token`, tag; `task` shows each
/// step. Refuses a dirty work tree unless `allow_dirty`.
///
/// # Errors
/// [`ReleaseError`]; the repository is as it was except after [`ReleaseError::AfterPublish`].
pub async fn release(
    repo: &Repo,
    plan: &Plan,
    token: &Secret,
    allow_dirty: bool,
    task: &Task,
) -> Result<Released, ReleaseError> {
    let _ = (repo, plan, token, allow_dirty, task);
    unimplemented!("helper: publish command")
}
