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

    /// The workspace root's `Cargo.toml` when the package's manifest (`text`) takes its version
    /// from it (`version.workspace = true`).
    pub fn workspace_manifest(&self, text: &str) -> Option<PathBuf> {
        (self.package.ecosystem == super::Ecosystem::Cargo
            && edit::inherits_workspace_version(text))
        .then(|| self.package.lock_dir.join("Cargo.toml"))
    }

    /// The commands a release runs, as a person would type them (no token in them).
    pub fn commands(&self) -> Vec<String> {
        let dir = &self.package.dir;
        let relative =
            |path: &Path| -> String { relative_to(path, dir).to_string_lossy().into_owned() };
        let mut files = vec![self.package.ecosystem.manifest().to_owned()];
        let text = std::fs::read_to_string(self.package.manifest_path()).unwrap_or_default();
        if let Some(root) = self.workspace_manifest(&text) {
            files.push(relative(&root));
        }
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
    // Ctrl-C reaches the tool too (same process group) and fails its step, which this process
    // then undoes: with SIGINT handled here it is not killed half-way through the transaction.
    let _interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    let tools = tool::locate(plan.package.ecosystem)?;
    // Held to the end of the release: a second run in this repository is refused before it
    // changes anything (see `lock`).
    let _lock = super::lock::acquire(repo)
        .await
        .map_err(|error| ReleaseError::Repository(error.to_string()))?;
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
    let mut changed = Vec::new();
    if let Some(root) = plan.workspace_manifest(&text) {
        // `version.workspace = true`: the version is the workspace root's to change.
        write(&manifest, &text)?;
        keep(snapshot, &root)?;
        let root_text = read(&root)?;
        let root_text = edit::set_workspace_version(&root_text, &root, &plan.version)
            .map_err(manifest_error)?;
        write(&root, &root_text)?;
        changed.push(manifest);
        changed.push(root);
    } else {
        let text = edit::set_version(package.ecosystem, &text, &manifest, &plan.version)
            .map_err(manifest_error)?;
        write(&manifest, &text)?;
        changed.push(manifest);
    }

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

#[cfg(test)]
mod tests {
    use auth_hub_protocol::SecretValue;

    use super::*;
    use crate::git::tests::run as git;
    use crate::output::Output;
    use crate::package::Ecosystem;
    use crate::progress::Progress;

    fn version(text: &str) -> Version {
        text.parse().expect("valid version")
    }

    fn package(ecosystem: Ecosystem, name: &str, dir: &Path, lock_dir: &Path) -> Package {
        Package {
            dir: dir.to_owned(),
            ecosystem,
            name: name.to_owned(),
            version: version("0.1.0"),
            dependencies: Vec::new(),
            lock_dir: lock_dir.to_owned(),
        }
    }

    fn self_hosted(kind: Ecosystem, name: &str, url: &str) -> Registry {
        Registry {
            name: name.to_owned(),
            kind,
            url: Some(url.to_owned()),
            token: None,
        }
    }

    #[test]
    fn the_tag_names_the_package_only_in_a_shared_repository() {
        let dir = Path::new("/r");
        let alone = Plan::new(
            package(Ecosystem::Cargo, "wa", dir, dir),
            Registry::builtin(Ecosystem::Cargo),
            &Bump::Patch,
            false,
        )
        .expect("plan");
        assert_eq!(alone.version, version("0.1.1"));
        assert_eq!(alone.tag, "v0.1.1");
        assert_eq!(alone.token_path.as_str(), "cargo/token");
        assert!(alone.requirement_updates.is_empty());

        let member = Plan::new(
            package(Ecosystem::Cargo, "wa", Path::new("/r/crates/wa"), dir),
            Registry::builtin(Ecosystem::Cargo),
            &Bump::Minor,
            true,
        )
        .expect("plan");
        assert_eq!(member.tag, "wa-v0.2.0");
        assert_eq!(member.commit_message(), "chore: release wa v0.2.0");
        assert_eq!(member.lock_file(), Some(PathBuf::from("/r/Cargo.lock")));

        assert!(
            Plan::new(
                package(Ecosystem::Cargo, "wa", dir, dir),
                Registry::builtin(Ecosystem::Cargo),
                &Bump::Exact(version("0.0.9")),
                false,
            )
            .is_err(),
            "an exact version below the current one"
        );
    }

    #[test]
    fn commands_show_the_registry_and_never_a_token() {
        let root = Path::new("/r");
        let plan = Plan::new(
            package(Ecosystem::Cargo, "wa", root, root),
            self_hosted(Ecosystem::Cargo, "my-reg", "sparse+http://127.0.0.1:9/"),
            &Bump::Patch,
            false,
        )
        .expect("plan");
        assert_eq!(
            plan.commands(),
            vec![
                "cd /r".to_owned(),
                "CARGO_REGISTRIES_MY_REG_INDEX=sparse+http://127.0.0.1:9/ cargo package \
                 --allow-dirty --registry my-reg"
                    .to_owned(),
                "git commit --only -m 'chore: release wa v0.1.1' -- Cargo.toml".to_owned(),
                "CARGO_REGISTRIES_MY_REG_INDEX=sparse+http://127.0.0.1:9/ \
                 CARGO_REGISTRIES_MY_REG_TOKEN=… cargo publish --no-verify --allow-dirty \
                 --registry my-reg"
                    .to_owned(),
                "git tag --annotate -m 'wa v0.1.1' v0.1.1".to_owned(),
            ]
        );

        let npm = Plan::new(
            package(Ecosystem::Npm, "@acme/x", root, root),
            Registry::builtin(Ecosystem::Npm),
            &Bump::Patch,
            false,
        )
        .expect("plan");
        assert_eq!(npm.token_path.as_str(), "npm/@acme/token");
        assert_eq!(
            npm.commands()[3],
            "NPM_CONFIG_USERCONFIG=$TMP/npmrc NPM_TOKEN=… npm publish"
        );
        assert_eq!(
            tool::npm_config(&npm),
            "@acme:registry=https://registry.npmjs.org/\n\
             //registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"
        );

        let pypi = Plan::new(
            package(Ecosystem::Pypi, "wpy", root, root),
            self_hosted(Ecosystem::Pypi, "local", "http://127.0.0.1:8080/"),
            &Bump::Patch,
            false,
        )
        .expect("plan");
        assert_eq!(
            pypi.commands()[1..4],
            [
                "python3 -m build --outdir '$TMP/dist'".to_owned(),
                "git commit --only -m 'chore: release wpy v0.1.1' -- pyproject.toml".to_owned(),
                "TWINE_USERNAME=__token__ TWINE_PASSWORD=… twine upload --non-interactive \
                 --disable-progress-bar --repository-url http://127.0.0.1:8080/ $TMP/dist/*"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn npm_configs_point_unscoped_packages_at_the_registry() {
        let root = Path::new("/r");
        let plan = Plan::new(
            package(Ecosystem::Npm, "wjs", root, root),
            self_hosted(Ecosystem::Npm, "local", "http://127.0.0.1:4873"),
            &Bump::Patch,
            false,
        )
        .expect("plan");
        assert_eq!(
            tool::npm_config(&plan),
            "registry=http://127.0.0.1:4873/\n//127.0.0.1:4873/:_authToken=${NPM_TOKEN}\n"
        );
    }

    /// A crate that does not compile: verification fails after the bump, and the release must
    /// leave the repository exactly as it found it (a staged and a dirty file included).
    #[tokio::test]
    async fn a_failed_verification_leaves_the_repository_as_it_was() {
        if tool::locate(Ecosystem::Cargo).is_err() {
            panic!("cargo is needed for this test");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical");
        git(&root, &["init", "--quiet", "--initial-branch=main"]);
        git(&root, &["config", "user.name", "Test"]);
        git(&root, &["config", "user.email", "test@example.invalid"]);
        std::fs::create_dir(root.join("src")).expect("mkdir");
        let manifest = "[package]\nname = \"wa\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
                        description = \"x\"\nlicense = \"MIT\"\n\n# kept as written\n";
        std::fs::write(root.join("Cargo.toml"), manifest).expect("write");
        std::fs::write(root.join("src/lib.rs"), "pub fn broken( {\n").expect("write");
        std::fs::write(root.join(".gitignore"), "/target\n").expect("write");
        git(&root, &["add", "."]);
        git(&root, &["commit", "--quiet", "-m", "first"]);
        git(&root, &["tag", "v0.1.0"]);
        std::fs::write(root.join("staged.txt"), "staged\n").expect("write");
        git(&root, &["add", "staged.txt"]);
        std::fs::write(root.join(".gitignore"), "/target\n# dirty\n").expect("write");
        let state = || {
            (
                git(&root, &["rev-parse", "HEAD"]),
                git(&root, &["write-tree"]),
                git(&root, &["for-each-ref", "refs/tags"]),
                git(&root, &["status", "--porcelain=v1"]),
                std::fs::read(root.join("Cargo.toml")).expect("read"),
                root.join("Cargo.lock").exists(),
            )
        };
        let before = state();

        let plan = Plan::new(
            package(Ecosystem::Cargo, "wa", &root, &root),
            Registry::builtin(Ecosystem::Cargo),
            &Bump::Patch,
            false,
        )
        .expect("plan");
        let repo = Repo::discover(&root).await.expect("repo");
        let token = Secret {
            value: SecretValue::from("not-used"),
            path: plan.token_path.clone(),
            created_at: None,
            updated_at: None,
            version: 1,
        };
        let progress = Progress::new(&Output::new(true));
        let task = progress.task("wa");

        let dirty = release(&repo, &plan, &token, false, &task)
            .await
            .expect_err("dirty");
        assert!(
            matches!(&dirty, ReleaseError::Dirty(list) if list.contains(".gitignore")),
            "{dirty}"
        );
        let error = release(&repo, &plan, &token, true, &task)
            .await
            .expect_err("does not compile");
        assert!(
            matches!(&error, ReleaseError::Verify(line) if line.contains("unclosed delimiter")),
            "the compiler's complaint: {error}"
        );
        assert_eq!(
            state(),
            before,
            "HEAD, index, tags, status, manifest, lock file"
        );

        git(&root, &["tag", "v0.1.1"]);
        let error = release(&repo, &plan, &token, true, &task)
            .await
            .expect_err("tag exists");
        assert!(
            error.to_string().contains("tag v0.1.1 already exists"),
            "{error}"
        );
    }
}
