//! The git steps of a release: checking the work tree and tags, committing exactly the files a
//! release changed, tagging, and [`Repo::restore`]-ing everything a [`Snapshot`] remembered when
//! a later step fails.

use std::path::{Path, PathBuf};

use super::{failure_message, git_in, GitError, Repo};

impl Repo {
    /// The uncommitted changes `git status` lists (tracked changes and untracked files, not
    /// ignored ones), as paths: empty when the work tree is clean.
    ///
    /// # Errors
    /// [`GitError::Failed`] with git's message.
    pub async fn dirty_paths(&self) -> Result<Vec<String>, GitError> {
        let output = self
            .git_ok("status", ["status", "--porcelain=v1", "-z"])
            .await?;
        let mut paths = Vec::new();
        let mut entries = output.stdout.split(|&byte| byte == 0);
        while let Some(entry) = entries.next() {
            if entry.len() < 4 || entry.starts_with(b"!!") {
                continue;
            }
            paths.push(String::from_utf8_lossy(&entry[3..]).into_owned());
            // A rename or copy is followed by its source path as a separate entry.
            if matches!(entry[0], b'R' | b'C') {
                entries.next();
            }
        }
        Ok(paths)
    }

    /// The directory this repository's worktrees share (`.git` of the main work tree), where
    /// its refs and tags live.
    ///
    /// # Errors
    /// [`GitError::Failed`] when git cannot say.
    pub async fn common_dir(&self) -> Result<PathBuf, GitError> {
        let output = self
            .git_ok("rev-parse", ["rev-parse", "--git-common-dir"])
            .await?;
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim_end());
        // git prints it relative to the work tree's top when it is inside it.
        Ok(if dir.is_absolute() {
            dir
        } else {
            self.root.join(dir)
        })
    }

    /// True when tag `name` exists.
    ///
    /// # Errors
    /// [`GitError::Spawn`].
    pub async fn tag_exists(&self, name: &str) -> Result<bool, GitError> {
        let output = self
            .git([
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &format!("refs/tags/{name}"),
            ])
            .await?;
        Ok(output.status.success())
    }

    /// True when git tracks `path` (a file inside the work tree).
    ///
    /// # Errors
    /// [`GitError::Spawn`].
    pub async fn is_tracked(&self, path: &Path) -> Result<bool, GitError> {
        let output = git_in(&self.root)
            .args(["ls-files", "--error-unmatch", "--"])
            .arg(path)
            .output()
            .await
            .map_err(GitError::Spawn)?;
        Ok(output.status.success())
    }

    /// What [`Repo::restore`] needs to put `HEAD`, the index and the tags back: taken before a
    /// release changes anything. Files are added with [`Snapshot::keep`] before they change.
    ///
    /// # Errors
    /// [`GitError::Failed`] when the index cannot be written as a tree (a merge in progress).
    pub async fn snapshot(&self) -> Result<Snapshot, GitError> {
        let head = self.commit_of("HEAD").await?;
        let index = self.git_ok("write-tree", ["write-tree"]).await?;
        let index_tree = String::from_utf8_lossy(&index.stdout).trim().to_owned();
        Ok(Snapshot {
            head,
            index_tree,
            tags: self.tags().await?,
            files: Vec::new(),
        })
    }

    /// Every tag and the object it points at.
    async fn tags(&self) -> Result<Vec<(String, String)>, GitError> {
        let output = self
            .git_ok(
                "for-each-ref",
                [
                    "for-each-ref",
                    "--format=%(refname) %(objectname)",
                    "refs/tags",
                ],
            )
            .await?;
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let (name, object) = line.rsplit_once(' ')?;
                Some((name.to_owned(), object.to_owned()))
            })
            .collect())
    }

    /// Commits exactly `paths` as they are in the work tree (other staged changes stay staged
    /// and out of the commit), with the user's own git identity; returns the new commit.
    ///
    /// # Errors
    /// [`GitError::Failed`]; a missing identity says how to set one.
    pub async fn commit_paths(&self, message: &str, paths: &[PathBuf]) -> Result<String, GitError> {
        // A path git does not track yet (a first release) must be known before `--only`.
        let added = git_in(&self.root)
            .args(["add", "--"])
            .args(paths)
            .output()
            .await
            .map_err(GitError::Spawn)?;
        if !added.status.success() {
            return Err(GitError::Failed {
                command: "add".to_owned(),
                message: failure_message(&String::from_utf8_lossy(&added.stderr), ""),
            });
        }
        let output = git_in(&self.root)
            .args(["commit", "--quiet", "--only", "-m", message, "--"])
            .args(paths)
            .output()
            .await
            .map_err(GitError::Spawn)?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = if stderr.contains("Please tell me who you are")
                || stderr.contains("unable to auto-detect email address")
                || stderr.contains("empty ident name")
            {
                "git has no identity to commit with: set it with `git config --global user.name \
                 NAME` and `git config --global user.email EMAIL`"
                    .to_owned()
            } else {
                failure_message(&stderr, &String::from_utf8_lossy(&output.stdout))
            };
            return Err(GitError::Failed {
                command: "commit".to_owned(),
                message,
            });
        }
        self.commit_of("HEAD")
            .await?
            .ok_or_else(|| GitError::Failed {
                command: "commit".to_owned(),
                message: "HEAD names no commit after committing".to_owned(),
            })
    }

    /// Creates the annotated tag `name` on `commit`; an existing tag is an error, never moved.
    ///
    /// # Errors
    /// [`GitError::Failed`] with git's message.
    pub async fn create_tag(
        &self,
        name: &str,
        commit: &str,
        message: &str,
    ) -> Result<(), GitError> {
        self.git_ok(
            "tag",
            [
                "tag",
                "--annotate",
                "--no-sign",
                "-m",
                message,
                "--",
                name,
                commit,
            ],
        )
        .await
        .map(drop)
    }

    /// Puts the repository back as `snapshot` found it: tags created since are deleted (and
    /// moved ones put back), the branch goes back to the old `HEAD` (or unborn again), the index
    /// is the old tree again, and each kept file has its old bytes (or is gone again). Every
    /// step is tried; the first failure is returned.
    ///
    /// # Errors
    /// [`GitError`] of the first step that failed.
    pub async fn restore(&self, snapshot: &Snapshot) -> Result<(), GitError> {
        let mut first_error = None;
        let mut note = |result: Result<(), GitError>| {
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        };
        match self.tags().await {
            Ok(now) => {
                for (name, object) in &now {
                    match snapshot.tags.iter().find(|(old, _)| old == name) {
                        None => note(
                            self.git_ok("update-ref", ["update-ref", "-d", name, object])
                                .await
                                .map(drop),
                        ),
                        Some((_, old)) if old != object => note(
                            self.git_ok("update-ref", ["update-ref", name, old])
                                .await
                                .map(drop),
                        ),
                        Some(_) => {}
                    }
                }
                for (name, old) in &snapshot.tags {
                    if !now.iter().any(|(known, _)| known == name) {
                        note(
                            self.git_ok("update-ref", ["update-ref", name, old])
                                .await
                                .map(drop),
                        );
                    }
                }
            }
            Err(error) => note(Err(error)),
        }
        let head = self.commit_of("HEAD").await;
        match (&snapshot.head, head) {
            (Some(old), Ok(now)) if now.as_deref() != Some(old) => {
                note(
                    self.git_ok("reset", ["reset", "--soft", old.as_str()])
                        .await
                        .map(drop),
                );
            }
            // The branch was unborn: deleting the ref HEAD points at makes it unborn again.
            (None, Ok(Some(now))) => note(
                self.git_ok("update-ref", ["update-ref", "-d", "HEAD", now.as_str()])
                    .await
                    .map(drop),
            ),
            (_, Ok(_)) => {}
            (_, Err(error)) => note(Err(error)),
        }
        note(
            self.git_ok("read-tree", ["read-tree", snapshot.index_tree.as_str()])
                .await
                .map(drop),
        );
        for (path, bytes) in &snapshot.files {
            let result = match bytes {
                Some(bytes) => std::fs::write(path, bytes),
                None => match std::fs::remove_file(path) {
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    other => other,
                },
            };
            note(result.map_err(|error| GitError::Failed {
                command: "restore".to_owned(),
                message: format!("cannot write back {}: {error}", path.display()),
            }));
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// A repository's state before a release: `HEAD`, the index as a tree, the tags, and the bytes
/// of each file the release may change. Restored by [`Repo::restore`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    head: Option<String>,
    index_tree: String,
    tags: Vec<(String, String)>,
    files: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl Snapshot {
    /// Remembers `path`'s bytes now (or that it does not exist), once, before it changes.
    ///
    /// # Errors
    /// The file exists but cannot be read.
    pub fn keep(&mut self, path: &Path) -> std::io::Result<()> {
        if self.files.iter().any(|(kept, _)| kept == path) {
            return Ok(());
        }
        let bytes = match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(error),
        };
        self.files.push((path.to_owned(), bytes));
        Ok(())
    }

    /// The commit `HEAD` pointed at, `None` on an unborn branch.
    pub fn head(&self) -> Option<&str> {
        self.head.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::tests::run;

    /// A repository with an identity of its own, so the tests do not depend on the user's.
    fn repository() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().expect("temp dir");
        run(dir.path(), &["init", "--quiet", "--initial-branch=main"]);
        run(dir.path(), &["config", "user.name", "Test"]);
        run(
            dir.path(),
            &["config", "user.email", "test@example.invalid"],
        );
        run(dir.path(), &["config", "commit.gpgsign", "false"]);
        let repo = Repo {
            root: dir.path().to_owned(),
        };
        (dir, repo)
    }

    /// Everything restore must put back: HEAD, the staged tree, the tags, the status.
    fn state(dir: &Path) -> (String, String, String, String) {
        (
            run(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]),
            run(dir, &["write-tree"]),
            run(dir, &["for-each-ref", "refs/tags"]),
            run(dir, &["status", "--porcelain=v1"]),
        )
    }

    #[tokio::test]
    async fn restore_puts_head_index_tags_and_files_back() {
        let (dir, repo) = repository();
        let root = dir.path();
        std::fs::write(root.join("Cargo.toml"), "version = \"0.1.0\"\n").expect("write");
        std::fs::write(root.join("notes.txt"), "one\n").expect("write");
        run(root, &["add", "."]);
        run(root, &["commit", "--quiet", "-m", "first"]);
        run(root, &["tag", "v0.1.0"]);
        // A dirty file and a staged file the user has in progress.
        std::fs::write(root.join("notes.txt"), "one\ntwo (unstaged)\n").expect("write");
        std::fs::write(root.join("staged.txt"), "staged\n").expect("write");
        run(root, &["add", "staged.txt"]);
        assert_eq!(
            repo.dirty_paths().await.expect("status"),
            vec!["notes.txt".to_owned(), "staged.txt".to_owned()]
        );
        let before = state(root);
        let manifest_before = std::fs::read(root.join("Cargo.toml")).expect("read");

        let mut snapshot = repo.snapshot().await.expect("snapshot");
        let manifest = root.join("Cargo.toml");
        let lock = root.join("Cargo.lock");
        snapshot.keep(&manifest).expect("keep");
        snapshot.keep(&lock).expect("keep");
        std::fs::write(&manifest, "version = \"0.1.1\"\n").expect("write");
        std::fs::write(&lock, "created by the release\n").expect("write");
        let commit = repo
            .commit_paths("chore: release x v0.1.1", std::slice::from_ref(&manifest))
            .await
            .expect("commit");
        assert!(!repo.tag_exists("v0.1.1").await.expect("tag check"));
        repo.create_tag("v0.1.1", &commit, "x v0.1.1")
            .await
            .expect("tag");
        assert!(repo.tag_exists("v0.1.1").await.expect("tag check"));
        assert_eq!(
            run(root, &["show", "--format=%s", "--name-only", "HEAD"]).trim(),
            "chore: release x v0.1.1\n\nCargo.toml",
            "only the manifest is in the release commit"
        );
        assert!(
            run(root, &["diff", "--cached", "--name-only"]).contains("staged.txt"),
            "the user's staged file stays staged"
        );

        repo.restore(&snapshot).await.expect("restore");
        assert_eq!(state(root), before);
        assert_eq!(
            std::fs::read(&manifest).expect("read"),
            manifest_before,
            "manifest bytes"
        );
        assert!(!lock.exists(), "a file the release created is gone");
        assert_eq!(
            std::fs::read_to_string(root.join("notes.txt")).expect("read"),
            "one\ntwo (unstaged)\n"
        );
        assert_eq!(
            run(root, &["show", ":staged.txt"]),
            "staged\n",
            "the staged content"
        );
    }

    #[tokio::test]
    async fn restore_makes_an_unborn_branch_unborn_again() {
        let (dir, repo) = repository();
        let root = dir.path();
        let manifest = root.join("package.json");
        std::fs::write(&manifest, "{\"version\": \"0.1.0\"}\n").expect("write");
        let mut snapshot = repo.snapshot().await.expect("snapshot");
        assert_eq!(snapshot.head(), None);
        snapshot.keep(&manifest).expect("keep");
        std::fs::write(&manifest, "{\"version\": \"0.1.1\"}\n").expect("write");
        let commit = repo
            .commit_paths("chore: release x v0.1.1", std::slice::from_ref(&manifest))
            .await
            .expect("commit");
        repo.create_tag("v0.1.1", &commit, "x v0.1.1")
            .await
            .expect("tag");
        repo.restore(&snapshot).await.expect("restore");
        assert_eq!(repo.commit_of("HEAD").await.expect("rev-parse"), None);
        assert_eq!(run(root, &["for-each-ref"]), "");
        assert_eq!(run(root, &["ls-files", "--stage"]), "");
        assert_eq!(
            std::fs::read_to_string(&manifest).expect("read"),
            "{\"version\": \"0.1.0\"}\n"
        );
        assert_eq!(
            run(root, &["symbolic-ref", "HEAD"]).trim(),
            "refs/heads/main"
        );
    }

    #[tokio::test]
    async fn a_missing_identity_is_said_plainly() {
        let (dir, repo) = repository();
        let root = dir.path();
        // An empty name wins over the user's global one, and git refuses it as it refuses none.
        run(root, &["config", "user.name", ""]);
        std::fs::write(root.join("a"), "a").expect("write");
        run(root, &["add", "a"]);
        let error = repo
            .commit_paths("m", &[root.join("a")])
            .await
            .expect_err("no identity");
        assert!(
            error.to_string().contains("git config --global user.email"),
            "{error}"
        );
    }
}
