//! `hyperforge auth git-credential get|store|erase`: a git credential helper backed by auth-hub.
//!
//! Configure it for everyday git with
//! `git config --global credential.https://codeberg.org.helper '!hyperforge auth git-credential'`
//! and `credential.https://codeberg.org.useHttpPath true` (git sends the repository path, and so
//! the org, only with `useHttpPath`). For `get`, git's protocol, host (with port) and path are
//! mapped to a forge of the user's config or the built-in ones, then to `{forge}/{org}/token`,
//! asked for with the same scope rules as `auth get`. A host that is no forge, a request without
//! an org, or a refused scope gets no answer (the reason goes to stderr), so git falls through to
//! its next helper. `store` and `erase` are accepted and ignored: tokens are managed with
//! `hyperforge auth put`, never by git.
//!
//! `--fd N` is how `hyperforge push` hands git a token it already holds: the credential is read
//! from inherited descriptor N and given only for the protocol and host it was written for.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, RawFd};

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::{connect_keyed, get_announcing, keyed_options, DEFAULT_WAIT};
use crate::commands::Context;
use crate::config::UserConfig;
use crate::error::CliError;
use crate::forge;
use crate::output;

/// The most git's request (or a handed-over credential) may hold.
const MAX_INPUT: u64 = 64 * 1024;

/// What git asks the helper to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Operation {
    /// Give a credential for the request.
    Get,
    /// git used a credential successfully (ignored).
    Store,
    /// git's credential was refused (ignored).
    Erase,
}

/// Arguments of `auth git-credential`.
#[derive(Debug, Args)]
pub struct GitCredentialArgs {
    /// The operation git asks for.
    #[arg(value_enum)]
    pub operation: Operation,
    /// Read the credential from this inherited file descriptor (used by `hyperforge push`).
    #[arg(long, value_name = "N", hide = true)]
    pub fd: Option<RawFd>,
}

/// git's request: `key=value` lines up to a blank line or the end.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// `https`, `http`, `ssh`…
    pub protocol: Option<String>,
    /// Host, with `:port` when not the default.
    pub host: Option<String>,
    /// The repository path (only with `credential.useHttpPath`).
    pub path: Option<String>,
}

/// Parses git's request.
///
/// # Errors
/// A line without `=`, or a NUL byte.
pub fn parse_request(text: &str) -> Result<Request, String> {
    let mut request = Request::default();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.contains('\0') {
            return Err("the request holds a NUL byte".to_owned());
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("the request line {:?} is not key=value", truncate(line)))?;
        let slot = match key {
            "protocol" => &mut request.protocol,
            "host" => &mut request.host,
            "path" => &mut request.path,
            _ => continue,
        };
        *slot = Some(value.to_owned());
    }
    Ok(request)
}

fn truncate(line: &str) -> String {
    line.chars().take(40).collect()
}

/// Runs `auth git-credential`.
///
/// # Errors
/// Unreadable or malformed input (2). A request this helper cannot answer is not an error.
pub async fn run(_ctx: &Context, args: GitCredentialArgs) -> Result<(), CliError> {
    let input = read_limited(io::stdin().lock(), "standard input")?;
    let request = parse_request(&input).map_err(CliError::usage)?;
    if args.operation != Operation::Get {
        return Ok(());
    }
    let answer = match args.fd {
        Some(fd) => handed_over(fd, &request)?,
        None => from_hub(&request).await,
    };
    if let Some(answer) = answer {
        let mut stdout = io::stdout().lock();
        stdout.write_all(answer.as_bytes())?;
        stdout.flush()?;
    }
    Ok(())
}

/// Reads all of `reader`, refusing more than [`MAX_INPUT`] bytes.
fn read_limited(reader: impl Read, what: &str) -> Result<Zeroizing<String>, CliError> {
    let mut text = Zeroizing::new(String::new());
    reader
        .take(MAX_INPUT + 1)
        .read_to_string(&mut text)
        .map_err(|error| CliError::usage(format!("cannot read {what}: {error}")))?;
    if text.len() as u64 > MAX_INPUT {
        return Err(CliError::usage(format!(
            "{what} holds more than {MAX_INPUT} bytes"
        )));
    }
    Ok(text)
}

/// The credential handed over on descriptor `fd`, when it was written for this request's
/// protocol and host.
fn handed_over(fd: RawFd, request: &Request) -> Result<Option<Zeroizing<String>>, CliError> {
    // SAFETY: F_GETFD only queries the descriptor; it is checked to be open before it is owned.
    if fd < 3 || unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        return Err(CliError::usage(format!(
            "--fd {fd} is not an inherited descriptor"
        )));
    }
    // SAFETY: the descriptor is open (checked above), was handed to this process for this
    // purpose, and nothing else in the process uses it.
    let file = unsafe { File::from_raw_fd(fd) };
    let text = read_limited(file, "the handed-over credential")?;
    let mut lines = text.lines();
    let protocol = lines.next().and_then(|l| l.strip_prefix("protocol="));
    let host = lines.next().and_then(|l| l.strip_prefix("host="));
    if protocol.is_none()
        || protocol != request.protocol.as_deref()
        || host != request.host.as_deref()
    {
        output::note("hyperforge: the handed-over credential is for another host; not given");
        return Ok(None);
    }
    let rest: String = lines.flat_map(|line| [line, "\n"]).collect();
    Ok(Some(Zeroizing::new(rest)))
}

/// The forge token for the request, asked of the hub; `None` (with the reason on stderr) when
/// this helper has no answer.
async fn from_hub(request: &Request) -> Option<Zeroizing<String>> {
    let (Some(protocol), Some(host)) = (&request.protocol, &request.host) else {
        return None;
    };
    let user = match UserConfig::load() {
        Ok(user) => user,
        Err(error) => {
            output::note(&format!("hyperforge: {error}"));
            return None;
        }
    };
    let (forge, org) =
        forge::forge_for_request(protocol, host, request.path.as_deref(), &user, None)?;
    let Some(org) = org.or_else(|| forge.org.clone()) else {
        output::note(&format!(
            "hyperforge: git did not send the repository path for {host}, so the org is unknown; \
             run `git config --global credential.{protocol}://{host}.useHttpPath true`"
        ));
        return None;
    };
    let path = match forge.secret_path(&org) {
        Ok(path) => path,
        Err(error) => {
            output::note(&format!("hyperforge: {error}"));
            return None;
        }
    };
    let answer = async {
        let options = keyed_options(format!("git credential for {protocol}://{host}"))?;
        let client = connect_keyed(options).await?;
        Ok::<_, CliError>(get_announcing(&client, &path, DEFAULT_WAIT).await?)
    }
    .await;
    match answer {
        Ok(secret) => {
            let token = secret.value.expose();
            if token.contains(['\n', '\0']) {
                output::note(&format!(
                    "hyperforge: the token at {path} holds a newline or NUL; git cannot take it"
                ));
                return None;
            }
            Some(Zeroizing::new(format!(
                "username={}\npassword={token}\n",
                forge.username()
            )))
        }
        Err(error) => {
            output::note(&format!(
                "hyperforge: no credential from auth-hub: {}",
                error.message()
            ));
            if let Some(hint) = error.hint() {
                output::note(&format!("hint: {hint}"));
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_like_git_sends_them() {
        let request = parse_request(
            "protocol=https\nhost=git.example.com:8443\npath=alice/repo.git\nwwwauth[]=Basic realm=\"x\"\n\nignored=after\n",
        )
        .expect("parses");
        assert_eq!(request.protocol.as_deref(), Some("https"));
        assert_eq!(request.host.as_deref(), Some("git.example.com:8443"));
        assert_eq!(request.path.as_deref(), Some("alice/repo.git"));
        assert_eq!(parse_request("").expect("empty"), Request::default());
    }

    #[test]
    fn malformed_requests_are_refused() {
        assert!(parse_request("protocol https\n").is_err());
        assert!(parse_request("host=a\0b\n").is_err());
    }

    /// An inherited-style descriptor holding a credential written for `http://127.0.0.1:9`.
    fn handed_over_fd() -> RawFd {
        let (reader, mut writer) = std::io::pipe().expect("pipe");
        writer
            .write_all(b"protocol=http\nhost=127.0.0.1:9\nusername=u\npassword=p\n")
            .expect("write");
        drop(writer);
        std::os::fd::IntoRawFd::into_raw_fd(std::os::fd::OwnedFd::from(reader))
    }

    fn http_request(host: &str) -> Request {
        Request {
            protocol: Some("http".to_owned()),
            host: Some(host.to_owned()),
            path: None,
        }
    }

    #[test]
    fn handed_over_credential_is_bound_to_its_host() {
        let answer = handed_over(handed_over_fd(), &http_request("127.0.0.1:9"))
            .expect("reads")
            .expect("answers");
        assert_eq!(answer.as_str(), "username=u\npassword=p\n");

        let elsewhere = http_request("evil.example:80");
        assert!(handed_over(handed_over_fd(), &elsewhere)
            .expect("reads")
            .is_none());
    }
}
