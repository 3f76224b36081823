//! Publishing one package as a transaction over its repository: bump the version (and the
//! requirements on packages bumped before it), verify with the ecosystem's tool, commit, publish,
//! tag. Any failure before the registry accepted the package puts the repository back exactly as
//! it was: manifest, lock file, HEAD, index and tags.

use std::path::{Path, PathBuf};

use auth_hub_protocol::{Secret, SecretPath};

use super::refusal::RegistryReason;
use super::{edit, tool, Bump, Package, Registry, Version};
use crate::git::{GitError, Repo, Snapshot};
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
        let version = bump.apply(&package.version)?;
        let tag = if shared_repository {
            format!("{}-v{version}", package.name)
        } else {
            format!("v{version}")
        };
        let token_path = registry.token_path(&package.name);
        Ok(Self {
            package,
            registry,
            version,
            requirement_updates: Vec::new(),
            tag,
            token_path,
        })
    }

    /// The release commit's message.
    pub fn commit_message(&self) -> String {
        format!("chore: release {} v{}", self.package.name, self.version)
    }

    /// The annotated tag's message.
    pub fn tag_message(&self) -> String {
        format!("{} v{}", self.package.name, self.version)
    }

    /// The lock file that records the package's own version (it may not exist).
    pub fn lock_file(&self) -> Option<PathBuf> {
        let name = self.package.ecosystem.lock_file()?;
        Some(self.package.lock_dir.join(name))
    }

    /// The commands a release runs, as a person would type them (no token in them).
    pub fn commands(&self) -> Vec<String> {
        let dir = &self.package.dir;
        let relative =
            |path: &Path| -> String { relative_to(path, dir).to_string_lossy().into_owned() };
        let mut files = vec![self.package.ecosystem.manifest().to_owned()];
        if let Some(lock) = self.lock_file().filter(|lock| lock.exists()) {
            files.push(relative(&lock));
        }
        let dist = "$TMP/dist";
        let dist_files = vec![format!("{dist}/*")];
        let mut commit = vec![
            "git".to_owned(),
            "commit".to_owned(),
            "--only".to_owned(),
            "-m".to_owned(),
            self.commit_message(),
            "--".to_owned(),
        ];
        commit.extend(files);
        vec![
            format!(
                "cd {}",
                auth_hub_protocol::command::shell_quote(&dir.to_string_lossy())
            ),
            tool::verify_invocation(self, dist).display(),
            auth_hub_protocol::command::command_line(commit.iter().map(String::as_str)),
            tool::publish_invocation(self, "$TMP/npmrc", &dist_files)
                .display()
                .replace("'$TMP/dist/*'", "$TMP/dist/*")
                .replace("'$TMP/npmrc'", "$TMP/npmrc"),
            auth_hub_protocol::command::command_line([
                "git",
                "tag",
                "--annotate",
                "-m",
                &self.tag_message(),
                &self.tag,
            ]),
        ]
    }
}

/// `path` relative to `base` when it is inside it or a few levels up, else as it is.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    if let Ok(inside) = path.strip_prefix(base) {
        return inside.to_owned();
    }
    let mut up = PathBuf::new();
    for ancestor in base.ancestors().skip(1) {
        up.push("..");
        if let Ok(rest) = path.strip_prefix(ancestor) {
            return up.join(rest);
        }
    }
    path.to_owned()
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
    #[error("the registry refused the package: {0}")]
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
    task.set("checking");
    let tools = tool::locate(plan.package.ecosystem)?;
    check(repo, plan, allow_dirty).await?;
    let mut snapshot = repo.snapshot().await.map_err(repository)?;

    let published = match prepare_and_publish(repo, plan, token, &tools, &mut snapshot, task).await
    {
        Ok(commit) => commit,
        Err(error) => {
            task.set("undoing");
            return Err(match repo.restore(&snapshot).await {
                Ok(()) => error,
                Err(restore) => ReleaseError::Repository(format!(
                    "{error}; and putting the repository back failed: {restore}"
                )),
            });
        }
    };

    task.set("tagging");
    repo.create_tag(&plan.tag, &published, &plan.tag_message())
        .await
        .map_err(|error| {
            ReleaseError::AfterPublish(format!(
                "tagging failed ({error}); finish with `git tag --annotate -m {} {} {published}`",
                auth_hub_protocol::command::shell_quote(&plan.tag_message()),
                plan.tag
            ))
        })?;
    Ok(Released {
        commit: published,
        tag: plan.tag.clone(),
    })
}

/// What a release refuses before changing anything: a dirty work tree (unless `allow_dirty`),
/// an existing tag.
///
/// # Errors
/// [`ReleaseError::Dirty`], [`ReleaseError::Repository`].
pub async fn check(repo: &Repo, plan: &Plan, allow_dirty: bool) -> Result<(), ReleaseError> {
    if !allow_dirty {
        let dirty = repo.dirty_paths().await.map_err(repository)?;
        if !dirty.is_empty() {
            let mut list: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
            if dirty.len() > list.len() {
                list.push("…");
            }
            return Err(ReleaseError::Dirty(list.join(", ")));
        }
    }
    if repo.tag_exists(&plan.tag).await.map_err(repository)? {
        return Err(ReleaseError::Repository(format!(
            "tag {} already exists: was {} v{} released already?",
            plan.tag, plan.package.name, plan.version
        )));
    }
    Ok(())
}

/// Bump, verify, commit, publish: every step [`release`] undoes when one fails. Returns the
/// release commit.
async fn prepare_and_publish(
    repo: &Repo,
    plan: &Plan,
    token: &Secret,
    tools: &tool::Tools,
    snapshot: &mut Snapshot,
    task: &Task,
) -> Result<String, ReleaseError> {
    task.set(format!("bumping to {}", plan.version));
    let changed = bump(plan, snapshot)?;

    task.set("verifying");
    let verified = tool::verify(tools, plan).await?;

    task.set("committing");
    let mut paths = Vec::new();
    for path in changed {
        if path == plan.package.manifest_path()
            || repo.is_tracked(&path).await.map_err(repository)?
        {
            paths.push(path);
        }
    }
    let commit = repo
        .commit_paths(&plan.commit_message(), &paths)
        .await
        .map_err(repository)?;

    task.set(format!("publishing to {}", plan.registry.name));
    tool::publish(tools, plan, &verified, token).await?;
    Ok(commit)
}

/// Writes the new version (and the requirements on packages released before it) into the
/// manifest and lock file, keeping their old bytes in `snapshot` first; returns the files
/// written.
fn bump(plan: &Plan, snapshot: &mut Snapshot) -> Result<Vec<PathBuf>, ReleaseError> {
    let package = &plan.package;
    let manifest = package.manifest_path();
    let keep = |snapshot: &mut Snapshot, path: &Path| {
        snapshot.keep(path).map_err(|error| {
            ReleaseError::Repository(format!("cannot read {}: {error}", path.display()))
        })
    };
    keep(snapshot, &manifest)?;
    let mut text = read(&manifest)?;
    for (dependency, version) in &plan.requirement_updates {
        text = edit::set_requirement(package.ecosystem, &text, &manifest, dependency, version)
            .map_err(manifest_error)?;
    }
    let text = edit::set_version(package.ecosystem, &text, &manifest, &plan.version)
        .map_err(manifest_error)?;
    write(&manifest, &text)?;
    let mut changed = vec![manifest];

    if let Some(lock) = plan.lock_file() {
        // Kept even when absent or unchanged: the tool may create or rewrite it while verifying.
        keep(snapshot, &lock)?;
        if lock.exists() {
            let old = read(&lock)?;
            let new = edit::set_lock_version(
                package.ecosystem,
                &old,
                &lock,
                &package.name,
                &package.version,
                &plan.version,
            )
            .map_err(manifest_error)?;
            if new != old {
                write(&lock, &new)?;
            }
        }
        changed.push(lock);
    }
    Ok(changed)
}

fn read(path: &Path) -> Result<String, ReleaseError> {
    std::fs::read_to_string(path).map_err(|error| {
        ReleaseError::Repository(format!("cannot read {}: {error}", path.display()))
    })
}

fn write(path: &Path, text: &str) -> Result<(), ReleaseError> {
    std::fs::write(path, text).map_err(|error| {
        ReleaseError::Repository(format!("cannot write {}: {error}", path.display()))
    })
}

fn manifest_error(error: super::ManifestError) -> ReleaseError {
    ReleaseError::Repository(error.to_string())
}

fn repository(error: GitError) -> ReleaseError {
    ReleaseError::Repository(error.to_string())
}
