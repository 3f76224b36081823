//! `auth-hub status`: asks a running hub for its state, as `hyperforge auth status` does, for
//! people who administer the daemon rather than use the CLI.
//!
//! The socket is found as the client finds it (`--socket`, `AUTH_HUB_SOCKET`, the running hub's
//! record in the state directory, `--home` / `AUTH_HUB_HOME`, then the default), and the saved
//! owner key (or `AUTH_HUB_TOKEN`) is sent when there is one; status needs no key, so a missing or refused key only means a keyless session.
//! No hub answering is exit code 5, as for `hyperforge`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use auth_hub_client::{discover, AuthError, ClientOptions, HubClient};
use auth_hub_protocol::request::Status;
use auth_hub_protocol::response::StatusReply;
use auth_hub_protocol::{MasterToken, Request, Response};

use crate::cli::StatusArgs;

/// Exit code when no hub answers at the socket.
pub const EXIT_UNREACHABLE: u8 = 5;
/// Exit code for every other failure.
pub const EXIT_FAILURE: u8 = 1;

/// Why `auth-hub status` could not show the hub's state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// No socket path could be derived.
    #[error("cannot find the hub's socket: {0}")]
    NoSocket(AuthError),
    /// Nothing answers at the socket.
    // The client's error already names the socket and the cause.
    #[error("{source}; start one with `auth-hub serve` (or `auth-hub install`)")]
    Unreachable {
        /// The socket tried.
        socket: PathBuf,
        /// The connection error.
        source: AuthError,
    },
    /// The hub answered with an error or something other than a status.
    #[error("the hub at {} did not answer status: {source}", socket.display())]
    Hub {
        /// The socket.
        socket: PathBuf,
        /// What went wrong.
        source: AuthError,
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
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StatusError::Output)
        .and_then(|runtime| runtime.block_on(fetch(args)))
        .and_then(|status| show(&status, args.json, out));
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("auth-hub: {error}");
            error.exit_code()
        }
    }
}

/// The socket `args` and the environment point at.
///
/// # Errors
/// [`StatusError::NoSocket`] when there is no home directory to derive one from.
pub fn socket(args: &StatusArgs) -> Result<PathBuf, StatusError> {
    if let Some(socket) = &args.socket {
        return Ok(socket.clone());
    }
    if let Some(home) = &args.home {
        // The hub owning DIR/state may listen elsewhere (socket activation, AUTH_HUB_SOCKET).
        if let Some(hub) = auth_hub_client::running::running(&home.join("state")) {
            return Ok(hub.socket);
        }
        return Ok(home.join(discover::SOCKET_NAME));
    }
    discover::socket_path().map_err(StatusError::NoSocket)
}

/// The key to send: `AUTH_HUB_TOKEN`, else the saved key (under `--home` when given). A key that
/// cannot be read is reported and left out.
fn master_token(args: &StatusArgs) -> Option<MasterToken> {
    let env_token = std::env::var_os(discover::TOKEN_VAR).is_some_and(|v| !v.is_empty());
    let found = match &args.home {
        Some(home) if !env_token => {
            discover::read_key_file(&home.join("client").join(discover::KEY_FILE_NAME))
        }
        _ => discover::master_token(),
    };
    found
        .map_err(|error| eprintln!("auth-hub: {error}; asking without a key"))
        .ok()
        .flatten()
}

/// Connects (with the key when the hub accepts it, else without) and asks for the status.
///
/// # Errors
/// [`StatusError::Unreachable`] when nothing answers; [`StatusError::Hub`] for an error reply.
pub async fn fetch(args: &StatusArgs) -> Result<StatusReply, StatusError> {
    let socket = socket(args)?;
    let mut options = ClientOptions::new(&socket, "auth-hub status", env!("CARGO_PKG_VERSION"));
    options.wait = Duration::ZERO;
    options.reason = "auth-hub status".to_owned();
    let keyless = options.clone();
    options.master_token = master_token(args);
    let unreachable = |source: AuthError| match source {
        source @ AuthError::Unreachable { .. } => StatusError::Unreachable {
            socket: socket.clone(),
            source,
        },
        source => StatusError::Hub {
            socket: socket.clone(),
            source,
        },
    };
    let client = match HubClient::connect(options).await {
        Ok(client) => client,
        Err(AuthError::InvalidMasterToken { .. } | AuthError::NoKey) => {
            HubClient::connect(keyless).await.map_err(unreachable)?
        }
        Err(error) => return Err(unreachable(error)),
    };
    match client.call(Request::Status(Status {})).await {
        Ok(Response::Status(status)) => Ok(status),
        Ok(other) => Err(StatusError::Hub {
            socket: socket.clone(),
            source: AuthError::Protocol(format!(
                "unexpected answer {:?}",
                format!("{other:?}").split(['(', ' ']).next().unwrap_or("")
            )),
        }),
        Err(error) => Err(unreachable(error)),
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
        format!(
            "keys: {}  grants: {}  pending: {}  repositories: {}  declared scopes: {}",
            status.keys,
            status.grants,
            status.pending,
            status.registered_repos,
            status.declared.len()
        ),
    ];
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
