//! Git, run as the `git` program: reading a repository's remotes, branch and state, changing
//! remotes, and pushing or fetching over HTTPS with a token.
//!
//! The shared design names gix for reads; the reads hyperforge needs (remotes, ahead/behind,
//! a dirty work tree) are one `git` call each, and `git` must be present anyway because it does
//! the pushing, so one tool answers both (see `docs/design-notes.md`).
//!
//! A token reaches git only through git's credential protocol: [`Repo::transfer`] writes the
//! credential into a pipe that only the spawned git process tree inherits, and configures
//! `hyperforge auth git-credential --fd N` as the one credential helper for that command. The
//! token is never in an argument, an environment variable, a URL or a file, and `.git/config`
//! is not touched.

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use auth_hub_protocol::SecretValue;
use tokio::process::Command;
use zeroize::Zeroizing;

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

/// What git reports after a push or fetch over HTTPS.
#[derive(Debug)]
pub enum TransferError {
    /// The server refused the credential (HTTP 401/403).
    AuthenticationFailed,
    /// Anything else; git's own message.
    Failed(String),
    /// git could not be run at all.
    Git(GitError),
}

/// The credential given to git for one push or fetch, bound to the URL's protocol and host so
/// the helper answers no other request (a redirect to another host gets nothing).
pub struct Credential<'a> {
    /// `http` or `https`.
    pub protocol: &'a str,
    /// Host with port, as git's credential protocol says it.
    pub host: &'a str,
    /// The user name the forge expects with a token.
    pub username: &'a str,
    /// The token.
    pub password: &'a SecretValue,
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

    /// Runs `git ARGS` (a push or fetch to an HTTPS URL) with `credential` as the only
    /// credential git can use, and no prompt. With `progress`, each line git writes on stderr
    /// (the `\r`-separated updates of `--progress` among them) is handed to it as it arrives.
    ///
    /// # Errors
    /// [`TransferError::AuthenticationFailed`] when the server refuses the credential,
    /// [`TransferError::Failed`] with git's message otherwise.
    pub async fn transfer<I, S>(
        &self,
        args: I,
        credential: &Credential<'_>,
        progress: Option<&dyn Fn(&str)>,
    ) -> Result<String, TransferError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (reader, writer) =
            credential_pipe().map_err(|e| TransferError::Git(GitError::Pipe(e)))?;
        write_credential(writer, credential).map_err(|e| TransferError::Git(GitError::Pipe(e)))?;
        let helper = helper_command(reader.as_raw_fd())
            .map_err(|e| TransferError::Git(GitError::Pipe(e)))?;

        let mut command = git_in(&self.root);
        command
            // An empty value clears every helper configured before it (git 2.9+), so the user's
            // own helpers neither answer nor store the token.
            .args(["-c", "credential.helper=", "-c"])
            .arg(format!("credential.helper={helper}"))
            .args(["-c", "credential.useHttpPath=true", "-c", "core.askPass="])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            // A forge that stops answering ends the transfer after a minute instead of hanging
            // the push (and a workspace push) for ever.
            .env("GIT_HTTP_LOW_SPEED_LIMIT", "1")
            .env("GIT_HTTP_LOW_SPEED_TIME", "60")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            // git and its hooks need no hub key.
            .env_remove("AUTH_HUB_TOKEN");
        let fd = reader.as_raw_fd();
        // SAFETY: between fork and exec only async-signal-safe calls are made (fcntl).
        unsafe {
            command.pre_exec(move || {
                // Let the git process tree inherit the read end (it was opened close-on-exec
                // so that no other child of this process gets it).
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let output = run_streaming(command, progress)
            .await
            .map_err(|error| TransferError::Git(GitError::Spawn(error)))?;
        drop(reader);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        if is_authentication_failure(&stderr) {
            Err(TransferError::AuthenticationFailed)
        } else {
            let stdout = String::from_utf8_lossy(&output.stdout);
            Err(TransferError::Failed(failure_message(&stderr, &stdout)))
        }
    }

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

/// Runs `command` to the end, collecting stdout and stderr as `output()` does, and handing each
/// stderr line (ended by `\n` or `\r`) to `progress` as it arrives.
async fn run_streaming(
    mut command: Command,
    progress: Option<&dyn Fn(&str)>,
) -> std::io::Result<Output> {
    use tokio::io::AsyncReadExt;

    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let read_stdout = async {
        let mut bytes = Vec::new();
        if let Some(pipe) = stdout.as_mut() {
            pipe.read_to_end(&mut bytes).await?;
        }
        Ok::<_, std::io::Error>(bytes)
    };
    let read_stderr = async {
        let mut bytes = Vec::new();
        let Some(pipe) = stderr.as_mut() else {
            return Ok(bytes);
        };
        let mut chunk = [0u8; 4096];
        let mut line_start = 0;
        loop {
            let read = pipe.read(&mut chunk).await?;
            if read == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..read]);
            if let Some(progress) = progress {
                while let Some(end) = bytes[line_start..]
                    .iter()
                    .position(|&byte| byte == b'\n' || byte == b'\r')
                {
                    progress(&String::from_utf8_lossy(
                        &bytes[line_start..line_start + end],
                    ));
                    line_start += end + 1;
                }
            }
        }
        Ok(bytes)
    };
    let (stdout, stderr) = tokio::try_join!(read_stdout, read_stderr)?;
    let status = child.wait().await?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
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

/// Maps `source` through one fetch refspec (`+refs/heads/*:refs/remotes/origin/*` or an exact
/// `refs/heads/main:refs/remotes/origin/main`).
fn map_refspec(refspec: &str, source: &str) -> Option<String> {
    let refspec = refspec.trim().trim_start_matches('+');
    let (from, to) = refspec.split_once(':')?;
    match (from.split_once('*'), to.split_once('*')) {
        (Some((from_head, from_tail)), Some((to_head, to_tail))) => {
            let middle = source.strip_prefix(from_head)?.strip_suffix(from_tail)?;
            (!middle.is_empty()).then(|| format!("{to_head}{middle}{to_tail}"))
        }
        (None, None) if from == source && !to.is_empty() => Some(to.to_owned()),
        _ => None,
    }
}

/// True when git's message says the server refused the credential.
fn is_authentication_failure(stderr: &str) -> bool {
    stderr.contains("Authentication failed")
        || stderr.contains("could not read Username")
        || stderr.contains("could not read Password")
        || stderr.contains("The requested URL returned error: 403")
        || stderr.contains("The requested URL returned error: 401")
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

/// A pipe whose both ends are close-on-exec.
fn credential_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (reader, writer) = std::io::pipe()?;
    Ok((reader.into(), writer.into()))
}

/// Writes the credential (git's `key=value` lines) and closes the write end, so the helper reads
/// it to the end. A few hundred bytes fit in the pipe's buffer: this never blocks.
fn write_credential(writer: OwnedFd, credential: &Credential<'_>) -> std::io::Result<()> {
    let text = Zeroizing::new(format!(
        "protocol={}\nhost={}\nusername={}\npassword={}\n",
        credential.protocol,
        credential.host,
        credential.username,
        credential.password.expose()
    ));
    let mut file = std::fs::File::from(writer);
    file.write_all(text.as_bytes())
}

/// `credential.helper` value running this very program with `--fd N`. The path is quoted for
/// the shell git runs `!` helpers with.
fn helper_command(fd: i32) -> std::io::Result<String> {
    let exe = std::env::current_exe()?;
    let exe = exe.to_string_lossy();
    let quoted = format!("'{}'", exe.replace('\'', r"'\''"));
    Ok(format!("!{quoted} auth git-credential --fd {fd}"))
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

    #[test]
    fn refspecs_map_branches_like_push() {
        let main = "refs/heads/main";
        assert_eq!(
            map_refspec("+refs/heads/*:refs/remotes/origin/*", main).as_deref(),
            Some("refs/remotes/origin/main")
        );
        assert_eq!(
            map_refspec("refs/heads/main:refs/remotes/gh/main", main).as_deref(),
            Some("refs/remotes/gh/main")
        );
        assert_eq!(map_refspec("refs/heads/dev:refs/remotes/o/dev", main), None);
        assert_eq!(map_refspec("refs/tags/*:refs/tags/*", main), None);
        assert_eq!(map_refspec("garbage", main), None);
        assert_eq!(
            map_refspec("+refs/heads/*:refs/remotes/o/*", "refs/heads/a/b").as_deref(),
            Some("refs/remotes/o/a/b")
        );
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

    #[test]
    fn authentication_failures_are_recognised() {
        assert!(is_authentication_failure(
            "remote: denied\nfatal: Authentication failed for 'http://127.0.0.1/x.git/'"
        ));
        assert!(!is_authentication_failure("fatal: repository not found"));
    }

    #[test]
    fn helper_command_quotes_the_path() {
        let command = helper_command(7).expect("current exe");
        assert!(command.starts_with("!'"));
        assert!(command.ends_with("' auth git-credential --fd 7"));
    }
}
