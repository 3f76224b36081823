//! An authenticating git HTTP server for the forge tests: git's own `git http-backend` run as a
//! CGI program behind a small loopback HTTP/1.1 server that requires HTTP Basic auth.
//!
//! A request to `/{prefix}/{org}/...` is served only when its password equals the token
//! currently accepted for `(prefix, org)` (any username); anything else gets `401` with a
//! `WWW-Authenticate` challenge, so git asks its credential helper. The prefix stands for a forge
//! (`github`, `codeberg`), so one server plays several forges. Every request is recorded (method,
//! path, username, whether it was authorized; never the password) so tests can prove what reached
//! the forge. The CGI child gets a cleared environment with only what CGI needs, so nothing of the
//! test process leaks into it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use tiny_http::{Header, Request, Response, StatusCode};

use crate::listener::{header, Listener};

/// The realm the server names in its `WWW-Authenticate` challenge.
const REALM: &str = "hyperforge test forge";

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedRequest {
    /// HTTP method, such as `GET` or `POST`.
    pub method: String,
    /// Request path including the query string, such as `/github/alice/r.git/info/refs?...`.
    pub path: String,
    /// The Basic auth username, when the request carried credentials.
    pub username: Option<String>,
    /// True when the password matched the accepted token and the request was served.
    pub authorized: bool,
}

/// State shared between the accept loop, request threads and the test.
struct Shared {
    root: PathBuf,
    backend: PathBuf,
    tokens: Mutex<HashMap<(String, String), String>>,
    requests: Mutex<Vec<ServedRequest>>,
    /// Added before every answer, to stand in for a remote forge's network round trip.
    latency: Mutex<std::time::Duration>,
}

/// The running server. Stops (and removes its repositories) on drop, printing its request log
/// first if the test failed.
pub struct GitServer {
    // Declared first so that it stops serving before the repositories are removed.
    listener: Listener,
    root: tempfile::TempDir,
    shared: Arc<Shared>,
}

impl GitServer {
    /// Starts a server on `127.0.0.1:0` with its repositories in a new temporary directory.
    pub fn start() -> Self {
        let root = tempfile::Builder::new()
            .prefix("gitserver")
            .tempdir()
            .expect("temp dir for the git server");
        let shared = Arc::new(Shared {
            root: root.path().to_path_buf(),
            backend: http_backend(),
            tokens: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            latency: Mutex::new(std::time::Duration::ZERO),
        });
        let listener = Listener::start("git server", &shared, handle);
        Self {
            listener,
            root,
            shared,
        }
    }

    /// Delays every answer by `latency` from now on: a stand-in for the round trip to a forge
    /// on the network (benchmarks only; tests run without it).
    pub fn set_latency(&self, latency: std::time::Duration) {
        *self.shared.latency.lock().expect("latency lock") = latency;
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.listener.addr())
    }

    /// The directory holding the repositories (`GIT_PROJECT_ROOT`).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Creates an empty bare repository at `root/prefix/org/repo.git` (default branch `main`,
    /// pushes over HTTP allowed) and returns its path.
    pub fn create_bare(&self, prefix: &str, org: &str, repo: &str) -> PathBuf {
        let path = self
            .root()
            .join(prefix)
            .join(org)
            .join(format!("{repo}.git"));
        std::fs::create_dir_all(&path).expect("create the bare repository's directory");
        git_ok(
            &path,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
        );
        git_ok(&path, &["config", "http.receivepack", "true"]);
        path
    }

    /// Makes `token` the only password accepted for `/{prefix}/{org}/...` (accepting another
    /// token revokes the previous one).
    pub fn accept_token(&self, prefix: &str, org: &str, token: &str) {
        self.shared
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((prefix.to_owned(), org.to_owned()), token.to_owned());
    }

    /// The commit id at `refs/heads/{branch}` in the bare repository, if that branch exists.
    pub fn head_of(&self, prefix: &str, org: &str, repo: &str, branch: &str) -> Option<String> {
        self.commit_of(prefix, org, repo, &format!("refs/heads/{branch}"))
    }

    /// The commit the tag `refs/tags/{tag}` points at in the bare repository, if it exists.
    pub fn tag_of(&self, prefix: &str, org: &str, repo: &str, tag: &str) -> Option<String> {
        self.commit_of(prefix, org, repo, &format!("refs/tags/{tag}"))
    }

    /// The commit `reference` names in the bare repository `root/prefix/org/repo.git`.
    fn commit_of(&self, prefix: &str, org: &str, repo: &str, reference: &str) -> Option<String> {
        let path = self
            .root()
            .join(prefix)
            .join(org)
            .join(format!("{repo}.git"));
        let output = Command::new("git")
            .arg("--git-dir")
            .arg(&path)
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{reference}^{{commit}}"))
            .stderr(Stdio::null())
            .output()
            .expect("run git rev-parse");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<ServedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- git server requests ----");
            for request in self.requests() {
                eprintln!("{request:?}");
            }
        }
    }
}

/// Path of `git-http-backend`, found through `git --exec-path`.
fn http_backend() -> PathBuf {
    let output = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("git is installed");
    assert!(output.status.success(), "git --exec-path failed");
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let backend = dir.join("git-http-backend");
    assert!(
        backend.exists(),
        "git-http-backend not found in {}",
        dir.display()
    );
    backend
}

/// Runs `git ARGS` in `dir` and panics unless it succeeds.
fn git_ok(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Serves one request: checks the credentials, then runs the CGI backend.
fn handle(shared: &Shared, mut request: Request) {
    let latency = *shared.latency.lock().expect("latency lock");
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let (path, query) = (path.to_owned(), query.to_owned());
    let credentials = header(&request, "Authorization").and_then(|value| basic_credentials(&value));
    let username = credentials.as_ref().map(|(user, _)| user.clone());
    let authorized = credentials.as_ref().is_some_and(|(_, password)| {
        owner_of(&path).is_some_and(|key| {
            shared
                .tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
                .is_some_and(|accepted| accepted == password)
        })
    });
    shared
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(ServedRequest {
            method: request.method().to_string(),
            path: url.clone(),
            username: username.clone(),
            authorized,
        });
    if !authorized {
        let challenge = Header::from_bytes(
            "WWW-Authenticate",
            format!("Basic realm=\"{REALM}\"").as_bytes(),
        )
        .expect("a valid header");
        let response = Response::from_string("authentication required\n")
            .with_status_code(401)
            .with_header(challenge);
        let _ = request.respond(response);
        return;
    }

    let mut body = Vec::new();
    if request.as_reader().read_to_end(&mut body).is_err() {
        let _ = request.respond(Response::from_string("bad request body\n").with_status_code(400));
        return;
    }
    let cgi = Cgi {
        method: request.method().to_string(),
        path,
        query,
        content_type: header(&request, "Content-Type"),
        content_length: request.body_length().map(|_| body.len()),
        content_encoding: header(&request, "Content-Encoding"),
        git_protocol: header(&request, "Git-Protocol"),
        user: username.unwrap_or_default(),
        remote_addr: request
            .remote_addr()
            .map(|addr| addr.ip().to_string())
            .unwrap_or_else(|| "127.0.0.1".into()),
    };
    match run_cgi(shared, &cgi, body) {
        Ok((child, stdout, status, headers, length)) => {
            let response = Response::new(StatusCode(status), headers, stdout, length, None);
            let _ = request.respond(response);
            // The body was read to its end (or the client went away and the child's next
            // write fails), so the child is finishing: wait for it.
            let mut child = child;
            let _ = child.wait();
        }
        Err(message) => {
            let _ = request.respond(Response::from_string(message).with_status_code(500));
        }
    }
}

/// `(prefix, org)` of a request path `/{prefix}/{org}/...`, refusing `..` and empty parts.
fn owner_of(path: &str) -> Option<(String, String)> {
    let mut parts = path.trim_start_matches('/').split('/');
    let prefix = parts.next()?;
    let org = parts.next()?;
    let rest = parts.next()?;
    let bad = |part: &str| part.is_empty() || part == "." || part == "..";
    if bad(prefix) || bad(org) || bad(rest) || path.split('/').any(|part| part == "..") {
        return None;
    }
    Some((prefix.to_owned(), org.to_owned()))
}

/// `(username, password)` from an `Authorization: Basic ...` value.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Decodes standard base64 (with or without padding).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |byte: u8| -> Option<u32> {
        Some(match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut acc = 0u32;
        for (i, &byte) in chunk.iter().enumerate() {
            acc |= value(byte)? << (18 - 6 * i);
        }
        let [_, a, b, c] = acc.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..chunk.len() - 1]);
    }
    Some(out)
}

/// What the CGI program is told about the request.
struct Cgi {
    method: String,
    path: String,
    query: String,
    content_type: Option<String>,
    content_length: Option<usize>,
    content_encoding: Option<String>,
    git_protocol: Option<String>,
    user: String,
    remote_addr: String,
}

/// A started CGI child: the child, the rest of its stdout (the body), the status, the headers
/// and the body length when the CGI program declared one.
type CgiOutput = (
    Child,
    BufReader<ChildStdout>,
    u16,
    Vec<Header>,
    Option<usize>,
);

/// Runs `git http-backend` for one request: feeds it `body`, parses its header block.
fn run_cgi(shared: &Shared, cgi: &Cgi, body: Vec<u8>) -> Result<CgiOutput, String> {
    let mut command = Command::new(&shared.backend);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &shared.root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", &cgi.method)
        .env("PATH_INFO", &cgi.path)
        .env("QUERY_STRING", &cgi.query)
        .env("REMOTE_USER", &cgi.user)
        .env("REMOTE_ADDR", &cgi.remote_addr)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(content_type) = &cgi.content_type {
        command.env("CONTENT_TYPE", content_type);
    }
    if let Some(length) = cgi.content_length {
        command.env("CONTENT_LENGTH", length.to_string());
    }
    if let Some(encoding) = &cgi.content_encoding {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = &cgi.git_protocol {
        command.env("GIT_PROTOCOL", protocol);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start git http-backend: {e}\n"))?;
    // Feed stdin and drain stderr on their own threads so a chatty child never blocks.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
        // Dropping stdin closes it: the backend sees the end of the body.
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        if !text.trim().is_empty() {
            eprintln!("git http-backend: {}", text.trim_end());
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut status = 200u16;
    let mut headers = Vec::new();
    let mut length = None;
    loop {
        let mut line = String::new();
        match stdout.read_line(&mut line) {
            Ok(0) | Err(_) => {
                reap(child);
                return Err("git http-backend ended without a complete header block\n".into());
            }
            Ok(_) => {}
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            reap(child);
            return Err(format!("malformed CGI header line: {line}\n"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("Status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|code| code.parse().ok())
                .unwrap_or(500);
        } else if name.eq_ignore_ascii_case("Content-Length") {
            length = value.parse().ok();
        } else if !name.eq_ignore_ascii_case("Transfer-Encoding") {
            if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                headers.push(header);
            }
        }
    }
    Ok((child, stdout, status, headers, length))
}

/// Waits for a CGI child, killing it first if it is still running after its output was used.
fn reap(mut child: Child) {
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_decoded() {
        // "user:pa:ss" — the password may itself contain colons.
        assert_eq!(
            basic_credentials("Basic dXNlcjpwYTpzcw=="),
            Some(("user".into(), "pa:ss".into()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(base64_decode("YQ"), Some(b"a".to_vec()));
    }

    #[test]
    fn owner_needs_prefix_org_and_more() {
        assert_eq!(
            owner_of("/github/alice/r.git/info/refs"),
            Some(("github".into(), "alice".into()))
        );
        assert_eq!(owner_of("/github/alice"), None);
        assert_eq!(owner_of("/github/../x/r.git"), None);
    }
}
