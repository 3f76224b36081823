//! Git, run as the `git` program: reading a repository's remotes, branch and state, and
//! changing remotes. Pushing and fetching with a token is [`transfer`]; the steps of a release
//! (commit, tag, and putting everything back on failure) are [`release`].
//!
//! The shared design names gix for reads; the reads hyperforge needs (remotes, ahead/behind,
//! a dirty work tree) are one `git` call each, and `git` must be present anyway because it does
//! the pushing, so one tool answers both (see `docs/design-notes.md`).
//!
//! `impl Repo` is spread over the three files; the private helpers that run git (`git_in`,
//! `Repo::git`, `Repo::git_ok`, `failure_message`) live here, where both submodules see them.

mod release;
mod transfer;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tokio::process::Command;

pub use release::Snapshot;
pub use transfer::{Credential, TransferError};

use transfer::map_refspec;

/// Why a git command failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` could not be started.
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// The path is not inside a git work tree.
    #[error("{} is not a git repository", path.display())]
    NotARepository {
        /// The path given.
        path: PathBuf,
    },
    /// A git command exited with an error.
    #[error("git {command} failed: {message}")]
    Failed {
        /// The git subcommand, such as `remote add`.
        command: String,
        /// git's last error line.
        message: String,
    },
    /// The credential pipe could not be set up.
    #[error("cannot pass the credential to git: {0}")]
    Pipe(#[source] std::io::Error),
}

/// A git work tree, by its top-level directory.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// The repository containing `path` (the work tree's top level).
    ///
    /// # Errors
    /// [`GitError::NotARepository`] when `path` is not in a work tree; [`GitError::Spawn`].
    pub async fn discover(path: &Path) -> Result<Self, GitError> {
        let output = git_in(path)
            .args(["rev-parse", "--show-toplevel"])
            .output()
            .await
            .map_err(GitError::Spawn)?;
        if !output.status.success() {
            return Err(GitError::NotARepository {
                path: path.to_owned(),
            });
        }
        let root = String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned();
        if root.is_empty() {
            return Err(GitError::NotARepository {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            root: PathBuf::from(root),
        })
    }

    /// The work tree's top-level directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository's name: its directory's name.
    pub fn name(&self) -> String {
        self.root
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The URL of remote `name`, or `None` when it has none.
    ///
    /// # Errors
    /// [`GitError::Spawn`].
    pub async fn remote_url(&self, name: &str) -> Result<Option<String>, GitError> {
        let output = self
            .git(["config", "--get", &format!("remote.{name}.url")])
            .await?;
        Ok(output.status.success().then(|| {
            String::from_utf8_lossy(&output.stdout)
                .trim_end()
                .to_owned()
        }))
    }

    /// Adds remote `name` with `url`.
    ///
    /// # Errors
    /// [`GitError::Failed`] with git's message.
    pub async fn add_remote(&self, name: &str, url: &str) -> Result<(), GitError> {
        self.git_ok("remote add", ["remote", "add", "--", name, url])
            .await
            .map(drop)
    }

    /// Changes the fetch URL of remote `name` to `url`.
    ///
    /// # Errors
    /// [`GitError::Failed`] with git's message.
    pub async fn set_remote_url(&self, name: &str, url: &str) -> Result<(), GitError> {
        self.git_ok("remote set-url", ["remote", "set-url", "--", name, url])
            .await
            .map(drop)
    }

    /// The branch `HEAD` points at, or `None` when detached.
    ///
    /// # Errors
    /// [`GitError::Spawn`].
    pub async fn current_branch(&self) -> Result<Option<String>, GitError> {
        let output = self.git(["symbolic-ref", "--quiet", "HEAD"]).await?;
        if !output.status.success() {
            return Ok(None);
        }
        let reference = String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_owned();
        Ok(reference.strip_prefix("refs/heads/").map(str::to_owned))
    }

    /// The commit a revision names, or `None` when it names nothing (an unborn branch, a
    /// missing ref).
    ///
    /// # Errors
    /// [`GitError::Spawn`].
    pub async fn commit_of(&self, revision: &str) -> Result<Option<String>, GitError> {
        let output = self
            .git([
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &format!("{revision}^{{commit}}"),
            ])
            .await?;
        Ok(output.status.success().then(|| {
            String::from_utf8_lossy(&output.stdout)
                .trim_end()
                .to_owned()
        }))
    }

    /// Commits in `local` and not in `upstream` (ahead), and the reverse (behind).
    ///
    /// # Errors
    /// [`GitError::Failed`] when either revision is missing.
    pub async fn ahead_behind(&self, local: &str, upstream: &str) -> Result<(u64, u64), GitError> {
        let range = format!("{local}...{upstream}");
        let output = self
            .git_ok(
                "rev-list",
                [
                    "rev-list",
                    "--left-right",
                    "--count",
                    "--end-of-options",
                    &range,
                ],
            )
            .await?;
        let text = String::from_utf8_lossy(&output.stdout);
        let mut counts = text.split_whitespace().map(str::parse::<u64>);
        match (counts.next(), counts.next()) {
            (Some(Ok(ahead)), Some(Ok(behind))) => Ok((ahead, behind)),
            _ => Err(GitError::Failed {
                command: "rev-list".to_owned(),
                message: format!("unexpected output {:?}", text.trim()),
            }),
        }
    }

    /// Uncommitted changes in the work tree: (changed tracked files, untracked files).
    ///
    /// # Errors
    /// [`GitError::Failed`] with git's message.
    pub async fn changes(&self) -> Result<(usize, usize), GitError> {
        let output = self
            .git_ok("status", ["status", "--porcelain=v1", "-z"])
            .await?;
        let mut changed = 0;
        let mut untracked = 0;
        let mut entries = output.stdout.split(|&byte| byte == 0);
        while let Some(entry) = entries.next() {
            match entry {
                [] => {}
                [b'?', b'?', ..] => untracked += 1,
                [b'!', b'!', ..] => {}
                [first, ..] => {
                    changed += 1;
                    // A rename or copy is followed by its source path as a separate entry.
                    if matches!(first, b'R' | b'C') {
                        entries.next();
                    }
                }
            }
        }
        Ok((changed, untracked))
    }

    /// The remote-tracking ref that remote `remote`'s fetch refspecs map `refs/heads/{branch}`
    /// to, as `git push` would update it; `None` when no refspec maps it.
    ///
    /// # Errors
    /// [`GitError::Spawn`].
    pub async fn tracking_ref(
        &self,
        remote: &str,
        branch: &str,
    ) -> Result<Option<String>, GitError> {
        let output = self
            .git(["config", "--get-all", &format!("remote.{remote}.fetch")])
            .await?;
        let source = format!("refs/heads/{branch}");
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|refspec| map_refspec(refspec, &source)))
    }

    /// Points `reference` at `commit`, with the reflog message a push writes.
    ///
    /// # Errors
    /// [`GitError::Failed`] with git's message.
    pub async fn update_ref(&self, reference: &str, commit: &str) -> Result<(), GitError> {
        self.git_ok(
            "update-ref",
            ["update-ref", "-m", "update by push", reference, commit],
        )
        .await
        .map(drop)
    }

    async fn git<I, S>(&self, args: I) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        git_in(&self.root)
            .args(args)
            .output()
            .await
            .map_err(GitError::Spawn)
    }

    async fn git_ok<I, S>(&self, command: &str, args: I) -> Result<Output, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = self.git(args).await?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(GitError::Failed {
                command: command.to_owned(),
                message: failure_message(&String::from_utf8_lossy(&output.stderr), ""),
            })
        }
    }
}

/// `git -C dir`, with no pager, no prompt, and a stable language for parsing messages.
fn git_in(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// git's most telling error line: the last `fatal:`/`error:` line, else the last line.
fn failure_message(stderr: &str, stdout: &str) -> String {
    let lines = || {
        stderr
            .lines()
            .chain(stdout.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
    };
    let line = lines()
        .rfind(|line| {
            line.starts_with("fatal:") || line.starts_with("error:") || line.starts_with('!')
        })
        .or_else(|| lines().next_back())
        .unwrap_or("no message");
    let line = line
        .trim_start_matches("fatal:")
        .trim_start_matches("error:")
        .trim();
    line.chars().take(300).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs git in `dir` for a test, returning stdout; panics with git's message on failure.
    /// The release tests use it too.
    pub(crate) fn run(dir: &Path, args: &[&str]) -> String {
        let output = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("LC_ALL", "C")
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
    #[test]
    fn failure_message_prefers_fatal_lines() {
        let stderr = "To http://x\n ! [rejected] main -> main (fetch first)\nerror: failed to push some refs to 'http://x'\nhint: pull first\n";
        assert_eq!(
            failure_message(stderr, ""),
            "failed to push some refs to 'http://x'"
        );
        assert_eq!(failure_message("", ""), "no message");
    }
}
