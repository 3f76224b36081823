//! `auth-hub status`: asks a running hub for its state, as `hyperforge auth status` does, for
//! people who administer the daemon rather than use the CLI.
//!
//! The socket is found by the rule the client follows (the protocol crate's `local` module:
//! `--socket`, `AUTH_HUB_SOCKET`, the running hub's record in the state directory, `--home` /
//! `AUTH_HUB_HOME`, then the default), and the saved owner key (or `AUTH_HUB_TOKEN`) is sent when
//! there is one; status needs no key, so a missing or refused key only means a keyless session.
//! One request over a blocking socket, with the protocol crate's blocking codec: the daemon does
//! not depend on the client library.
//! No hub answering is exit code 5, as for `hyperforge`.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use auth_hub_protocol::frame::{decode_body, read_frame, write_frame};
use auth_hub_protocol::local::location::LocationVars;
use auth_hub_protocol::local::{key_file, running};
use auth_hub_protocol::request::Status;
use auth_hub_protocol::response::StatusReply;
use auth_hub_protocol::{
    ErrorCode, ErrorReply, FrameError, Hello, HelloReply, MasterToken, Request, RequestEnvelope,
    Response, ResponseResult, ServerMessage, DEFAULT_MAX_FRAME, PROTOCOL_VERSION,
};

use crate::cli::StatusArgs;
use crate::paths::platform_dirs;

/// Exit code when no hub answers at the socket.
pub const EXIT_UNREACHABLE: u8 = 5;
/// Exit code for every other failure.
pub const EXIT_FAILURE: u8 = 1;

/// How long the hub may take to answer the hello, as for the client library.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// The name and reason this command gives the hub.
const CLIENT_NAME: &str = "auth-hub status";

/// Why `auth-hub status` could not show the hub's state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// No socket path could be derived.
    #[error(
        "cannot find the hub's socket: no home directory; set AUTH_HUB_SOCKET or AUTH_HUB_HOME"
    )]
    NoSocket,
    /// Nothing answers at the socket.
    #[error("auth-hub is not reachable at {}: {source}; start one with `auth-hub serve` (or `auth-hub install`)", socket.display())]
    Unreachable {
        /// The socket tried.
        socket: PathBuf,
        /// The connection error.
        source: std::io::Error,
    },
    /// The hub answered with an error or something other than a status.
    #[error("the hub at {} did not answer status: {problem}", socket.display())]
    Hub {
        /// The socket.
        socket: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// The answer could not be written out.
    #[error("cannot write the status: {0}")]
    Output(#[from] std::io::Error),
}

impl StatusError {
    /// The process exit code: [`EXIT_UNREACHABLE`] or [`EXIT_FAILURE`].
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Unreachable { .. } => EXIT_UNREACHABLE,
            _ => EXIT_FAILURE,
        }
    }
}

/// Runs `auth-hub status`: prints the hub's state to `out` (JSON with `--json`) and returns the
/// exit code; errors go to stderr.
pub fn run(args: &StatusArgs, out: &mut impl Write) -> u8 {
    match fetch(args).and_then(|status| show(&status, args.json, out)) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("auth-hub: {error}");
            error.exit_code()
        }
    }
}

/// The locations `args` (which clap fills from `AUTH_HUB_HOME` and `AUTH_HUB_SOCKET`) and the
/// environment give.
fn vars(args: &StatusArgs) -> LocationVars {
    LocationVars {
        home: args.home.clone(),
        socket: args.socket.clone(),
        ..LocationVars::from_env()
    }
}

/// The socket `args` and the environment point at: `--socket`, else the socket of the live hub
/// that owns the state directory (its record), else the derived one, as the client finds it.
///
/// # Errors
/// [`StatusError::NoSocket`] when there is no home directory to derive one from.
pub fn socket(args: &StatusArgs) -> Result<PathBuf, StatusError> {
    running::hub_socket(&vars(args), platform_dirs().as_ref()).ok_or(StatusError::NoSocket)
}

/// The key to send: `AUTH_HUB_TOKEN`, else the saved key (under `--home` when given). A key that
/// cannot be read is reported and left out.
fn master_token(args: &StatusArgs) -> Option<MasterToken> {
    let found = key_file::env_token().and_then(|token| match token {
        Some(token) => Ok(Some(token)),
        None => {
            let user_config = directories::BaseDirs::new();
            match vars(args).key_file(user_config.as_ref().map(|dirs| dirs.config_dir())) {
                Some(path) => key_file::read(&path),
                None => Ok(None),
            }
        }
    });
    found
        .map_err(|error| eprintln!("auth-hub: {error}; asking without a key"))
        .ok()
        .flatten()
}

/// Connects (with the key when the hub accepts it, else without) and asks for the status: one
/// request over a blocking socket with the protocol crate's blocking codec.
///
/// # Errors
/// [`StatusError::Unreachable`] when nothing answers; [`StatusError::Hub`] for an error reply.
pub fn fetch(args: &StatusArgs) -> Result<StatusReply, StatusError> {
    let socket = socket(args)?;
    let mut stream = match master_token(args) {
        Some(token) => match hello(&socket, Some(token))? {
            Ok(stream) => stream,
            // Status needs no key: a refused one only means a session without one.
            Err(reply) if reply.code == ErrorCode::InvalidMasterToken => {
                hello(&socket, None)?.map_err(|reply| hub_error(&socket, reply))?
            }
            Err(reply) => return Err(hub_error(&socket, reply)),
        },
        None => hello(&socket, None)?.map_err(|reply| hub_error(&socket, reply))?,
    };
    let broken = |error: FrameError| StatusError::Hub {
        socket: socket.clone(),
        problem: format!("the connection broke: {error}"),
    };
    let id = 1;
    let request = RequestEnvelope {
        id,
        request: Request::Status(Status {}),
    };
    write_frame(&mut stream, &request, DEFAULT_MAX_FRAME).map_err(broken)?;
    loop {
        let message: ServerMessage = receive(&mut stream).map_err(broken)?;
        let ServerMessage::Response(response) = message else {
            continue;
        };
        if response.id != id {
            continue;
        }
        return match response.result {
            ResponseResult::Ok(Response::Status(status)) => Ok(status),
            ResponseResult::Ok(other) => Err(StatusError::Hub {
                socket: socket.clone(),
                problem: format!("protocol error: unexpected answer {}", other.name()),
            }),
            ResponseResult::Error(reply) => Err(hub_error(&socket, reply)),
        };
    }
}

/// Connects and sends the hello: the open session, or the hub's refusal.
///
/// # Errors
/// [`StatusError::Unreachable`] when nothing answers; [`StatusError::Hub`] when the hello breaks.
fn hello(
    socket: &Path,
    master_token: Option<MasterToken>,
) -> Result<Result<UnixStream, ErrorReply>, StatusError> {
    let mut stream = UnixStream::connect(socket).map_err(|source| StatusError::Unreachable {
        socket: socket.to_path_buf(),
        source,
    })?;
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        client_name: CLIENT_NAME.to_owned(),
        client_version: env!("CARGO_PKG_VERSION").to_owned(),
        master_token,
    };
    let exchange = |stream: &mut UnixStream| -> Result<HelloReply, FrameError> {
        stream.set_read_timeout(Some(HELLO_TIMEOUT))?;
        write_frame(stream, &hello, DEFAULT_MAX_FRAME)?;
        let reply = receive(stream)?;
        stream.set_read_timeout(None)?;
        Ok(reply)
    };
    match exchange(&mut stream) {
        Ok(HelloReply::Welcome(_)) => Ok(Ok(stream)),
        Ok(HelloReply::Error(reply)) => Ok(Err(reply)),
        Err(error) => Err(StatusError::Hub {
            socket: socket.to_path_buf(),
            problem: format!("the hello failed: {error}"),
        }),
    }
}

/// Reads and decodes one frame; the end of the stream is an error here.
fn receive<T: serde::de::DeserializeOwned>(stream: &mut UnixStream) -> Result<T, FrameError> {
    match read_frame(stream, DEFAULT_MAX_FRAME)? {
        Some(body) => decode_body(&body),
        None => Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into())),
    }
}

fn hub_error(socket: &Path, reply: ErrorReply) -> StatusError {
    StatusError::Hub {
        socket: socket.to_path_buf(),
        problem: reply.to_string(),
    }
}

/// Writes `status` as text, or as the reply's JSON.
fn show(status: &StatusReply, json: bool, out: &mut impl Write) -> Result<(), StatusError> {
    if json {
        let value = serde_json::to_string_pretty(status)
            .map_err(|error| StatusError::Output(std::io::Error::other(error)))?;
        writeln!(out, "{value}")?;
    } else {
        writeln!(out, "{}", render(status))?;
    }
    Ok(())
}

/// The status for people.
pub fn render(status: &StatusReply) -> String {
    let policy = match &status.policy_error {
        None => "loaded".to_owned(),
        Some(error) => format!("last load failed, previous policy in force: {error}"),
    };
    let uptime = status.uptime_ms / 1000;
    let mut lines = vec![
        format!(
            "auth-hub {} (protocol {}), pid {}",
            status.server_version, status.protocol_version, status.pid
        ),
        format!(
            "uptime:      {}h {:02}m {:02}s",
            uptime / 3600,
            uptime / 60 % 60,
            uptime % 60
        ),
        format!("socket:      {}", status.socket),
        format!("home:        {}", status.home),
        format!(
            "store:       {} (data key: {})",
            status.store, status.key_source
        ),
        format!("policy file: {}", status.policy_file),
        format!("policy:      {policy}"),
    ];
    if let Some(address) = &status.http_listen {
        lines.push(format!("http:        http://{address}"));
    }
    if let Some(note) = &status.http_restart {
        lines.push(format!("http:        {note}"));
    }
    if status.backends.len() > 1 {
        for backend in &status.backends {
            let mut routes = backend.routes.clone();
            if backend.default {
                routes.push("default".to_owned());
            }
            let health = match (backend.reachable, backend.authenticated) {
                (true, true) => "ok",
                (false, _) => "unreachable",
                (true, false) => "not authenticated",
            };
            let problem = backend
                .problem
                .as_ref()
                .map(|problem| format!(": {problem}"))
                .unwrap_or_default();
            lines.push(format!(
                "backend:     {} ({}; {}): {health}{problem}",
                backend.name,
                backend.kind,
                if routes.is_empty() {
                    "no routes".to_owned()
                } else {
                    routes.join(", ")
                }
            ));
        }
    }
    lines.extend([format!(
        "keys: {}  grants: {}  pending: {}  repositories: {}  declared scopes: {}",
        status.keys,
        status.grants,
        status.pending,
        status.registered_repos,
        status.declared.len()
    )]);
    if let Some(problem) = &status.store_problem {
        lines.push(format!("store:       {problem}"));
    }
    if let Some(problem) = &status.audit_problem {
        lines.push(format!("audit log:   {problem}"));
    }
    if !status.has_owner {
        lines.push("owner key:   none yet: run `hyperforge auth login`".to_owned());
    }
    for problem in &status.repo_errors {
        lines.push(format!("repository {}: {}", problem.repo, problem.error));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_hub_protocol::response::{DeclaredRepoError, DeclaredScope, DeclaredState};

    fn reply() -> StatusReply {
        StatusReply {
            server_version: "0.1.0".into(),
            protocol_version: 1,
            pid: 7,
            uptime_ms: 3_723_000,
            socket: "/run/a.sock".into(),
            home: "/h".into(),
            store: "file".into(),
            key_source: "keychain".into(),
            policy_file: "/h/config.toml".into(),
            policy_error: None,
            keys: 2,
            grants: 1,
            pending: 0,
            has_owner: true,
            session_key: Some("owner".into()),
            session_owner: true,
            registered_repos: 2,
            declared: vec![DeclaredScope {
                scope: "github/alice/*".into(),
                repos: vec!["/r".into()],
                state: DeclaredState::Granted,
            }],
            repo_errors: vec![DeclaredRepoError {
                repo: "/s".into(),
                error: "config missing".into(),
            }],
            store_problem: None,
            audit_problem: None,
            backends: Vec::new(),
            logins: Vec::new(),
            http_listen: None,
            http_restart: None,
        }
    }

    #[test]
    fn text_names_every_part() {
        let text = render(&reply());
        for part in [
            "auth-hub 0.1.0 (protocol 1), pid 7",
            "uptime:      1h 02m 03s",
            "socket:      /run/a.sock",
            "store:       file (data key: keychain)",
            "policy file: /h/config.toml",
            "policy:      loaded",
            "keys: 2  grants: 1  pending: 0  repositories: 2  declared scopes: 1",
            "repository /s: config missing",
        ] {
            assert!(text.contains(part), "{part:?} in\n{text}");
        }
        let failed = render(&StatusReply {
            policy_error: Some("config.toml:2:11: unknown variant".into()),
            ..reply()
        });
        assert!(failed.contains("last load failed"), "{failed}");
        assert!(!text.contains("audit log:"), "{text}");
        let damaged = render(&StatusReply {
            store_problem: Some("rolled back: generation 1 of 2".into()),
            audit_problem: Some("audit log /h/audit.jsonl is empty or was deleted".into()),
            ..reply()
        });
        assert!(
            damaged.contains("\nstore:       rolled back: generation 1 of 2\n"),
            "{damaged}"
        );
        assert!(
            damaged.contains("audit log:   audit log /h/audit.jsonl is empty or was deleted"),
            "{damaged}"
        );
    }

    #[test]
    fn json_is_the_reply() {
        let mut out = Vec::new();
        show(&reply(), true, &mut out).expect("written");
        let value: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(value["declared"][0]["state"], "granted");
        assert_eq!(value["registered_repos"], 2);
    }

    #[test]
    fn backends_show_when_there_are_several() {
        use auth_hub_protocol::response::BackendStatus;
        let local = BackendStatus {
            name: "file".into(),
            kind: "file".into(),
            routes: Vec::new(),
            default: true,
            reachable: true,
            authenticated: true,
            latency_ms: None,
            version: None,
            problem: None,
        };
        let alone = render(&StatusReply {
            backends: vec![local.clone()],
            ..reply()
        });
        assert!(!alone.contains("backend:"), "{alone}");
        let team = BackendStatus {
            name: "team".into(),
            kind: "openbao".into(),
            routes: vec!["team/*".into()],
            default: false,
            reachable: false,
            authenticated: false,
            problem: Some("connection refused".into()),
            ..local.clone()
        };
        let text = render(&StatusReply {
            backends: vec![local, team],
            ..reply()
        });
        assert!(
            text.contains("\nbackend:     file (file; default): ok\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "\nbackend:     team (openbao; team/*): unreachable: connection refused\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_refused_key_falls_back_to_a_keyless_session() {
        use std::os::unix::net::UnixListener;

        use auth_hub_protocol::{ResponseEnvelope, Welcome};

        let dir = tempfile::tempdir().unwrap();
        key_file::write(
            &dir.path().join("client").join("master.key"),
            &MasterToken::from("TAUTH_owner--zgone"),
        )
        .unwrap();
        let socket = dir.path().join("hub.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        // A scripted hub: refuses the key on the first connection, welcomes the second (which
        // must come without one) and answers its status request.
        let hub = std::thread::spawn(move || {
            let (mut first, _) = listener.accept().unwrap();
            let hello: Hello = receive(&mut first).unwrap();
            assert!(hello.master_token.is_some(), "the saved key is sent first");
            let refusal = ErrorReply::new(ErrorCode::InvalidMasterToken, "key was revoked");
            write_frame(&mut first, &HelloReply::Error(refusal), DEFAULT_MAX_FRAME).unwrap();
            let (mut second, _) = listener.accept().unwrap();
            let hello: Hello = receive(&mut second).unwrap();
            assert!(hello.master_token.is_none(), "the retry has no key");
            let welcome = Welcome {
                protocol_version: PROTOCOL_VERSION,
                server_name: "auth-hub".into(),
                server_version: "0.1.0".into(),
                key_name: None,
                owner: false,
                max_frame: 0,
            };
            write_frame(
                &mut second,
                &HelloReply::Welcome(welcome),
                DEFAULT_MAX_FRAME,
            )
            .unwrap();
            let request: RequestEnvelope = receive(&mut second).unwrap();
            assert!(matches!(request.request, Request::Status(_)));
            let answer = ServerMessage::Response(ResponseEnvelope {
                id: request.id,
                result: ResponseResult::Ok(Response::Status(reply())),
            });
            write_frame(&mut second, &answer, DEFAULT_MAX_FRAME).unwrap();
        });
        let args = StatusArgs {
            socket: Some(socket),
            home: Some(dir.path().to_path_buf()),
            json: false,
        };
        let status = fetch(&args).expect("status without the refused key");
        hub.join().unwrap();
        assert_eq!(status, reply());
    }

    #[test]
    fn unreachable_is_exit_5() {
        let args = StatusArgs {
            socket: Some(PathBuf::from("/nonexistent/auth-hub-test.sock")),
            home: None,
            json: false,
        };
        let mut out = Vec::new();
        assert_eq!(run(&args, &mut out), EXIT_UNREACHABLE);
        assert!(out.is_empty());
    }
}
