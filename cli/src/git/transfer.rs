//! Pushing and fetching over HTTPS with a token: [`Repo::transfer`].
//!
//! A token reaches git only through git's credential protocol: [`Repo::transfer`] writes the
//! credential into a pipe that only the spawned git process tree inherits, and configures
//! `hyperforge auth git-credential --fd N` as the one credential helper for that command. The
//! token is never in an argument, an environment variable, a URL or a file, and `.git/config`
//! is not touched.

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Output, Stdio};

use auth_hub_protocol::SecretValue;
use tokio::process::Command;
use zeroize::Zeroizing;

use super::{failure_message, git_in, GitError, Repo};

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

/// Maps `source` through one fetch refspec (`+refs/heads/*:refs/remotes/origin/*` or an exact
/// `refs/heads/main:refs/remotes/origin/main`).
pub(super) fn map_refspec(refspec: &str, source: &str) -> Option<String> {
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
mod tests {
    use super::*;

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
