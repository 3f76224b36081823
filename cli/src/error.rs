//! The CLI's one error type: what went wrong, the exit code it means, and a hint saying what to
//! run next.
//!
//! Exit codes are the same for every command so scripts can branch on them (`DESIGN.md`):
//! 0 success, 1 failure, 2 usage or config error, 3 access denied or approval timed out,
//! 4 secret not found, 5 hub unreachable. Every [`AuthError`] is mapped here, in one place.

use std::fmt;
use std::io;
use std::process::ExitCode;

use auth_hub_client::AuthError;
use auth_hub_protocol::command::grant_command_for;
use auth_hub_protocol::{grant_command, Permissions};

/// The hint when the key from `AUTH_HUB_TOKEN` is refused.
const SERVICE_KEY_HINT: &str =
    "AUTH_HUB_TOKEN holds a key the hub no longer accepts; the owner can create a new one with `hyperforge auth key create`";
/// The hint for every other "you have no usable key" error. It cannot know whether the hub has
/// an owner key yet, so it names both ways; `auth login` itself says which one applies.
const LOGIN_HINT: &str = "run `hyperforge auth login` (if this hub already has an owner key and it is lost: `hyperforge auth login --recover`)";

/// What kind of failure, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Anything else that failed (exit 1).
    Failure,
    /// Bad arguments, a malformed path or value, a config problem (exit 2).
    Usage,
    /// Access denied, or no approval in time (exit 3).
    Denied,
    /// No secret at that path (exit 4).
    NotFound,
    /// No hub answers (exit 5).
    Unreachable,
    /// Standard output was closed by its reader (`hyperforge … | head`): end quietly (exit 0).
    BrokenPipe,
}

impl ErrorKind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::BrokenPipe => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Denied => 3,
            Self::NotFound => 4,
            Self::Unreachable => 5,
        }
    }
}

/// A failed command: the message, its kind (and so its exit code), and an optional hint.
///
/// Messages never contain a secret value or a key: they are built from paths, scopes, names and
/// the hub's own (secret-free) messages.
#[derive(Debug)]
pub struct CliError {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
}

impl CliError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// A failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failure, message)
    }

    /// A usage or config error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    /// Adds (or replaces) the hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the `error: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind().exit_code())
    }

    /// The text printed on standard error: `error: …` and, if there is one, `hint: …`. Empty for
    /// a closed output pipe, which ends quietly.
    pub fn report(&self) -> String {
        if self.kind() == ErrorKind::BrokenPipe {
            return String::new();
        }
        match self.hint() {
            Some(hint) => format!("error: {}\nhint: {hint}\n", self.message()),
            None => format!("error: {}\n", self.message()),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Output errors: a closed pipe ends quietly, anything else is a failure.
impl From<io::Error> for CliError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Self::new(ErrorKind::BrokenPipe, "standard output closed")
        } else {
            Self::failure(format!("cannot write output: {error}"))
        }
    }
}

/// True when the key in use comes from `AUTH_HUB_TOKEN` (a service key, typically).
fn from_env() -> bool {
    std::env::var_os("AUTH_HUB_TOKEN").is_some_and(|token| !token.is_empty())
}

/// The hint for a refused or timed-out scope: the hub's own command when it sent one.
fn grant_hint(scope: Option<&str>, command: Option<&str>) -> Option<String> {
    match (command, scope) {
        (Some(command), _) if !command.is_empty() => Some(format!("run: {command}")),
        (_, Some(scope)) if !scope.is_empty() => Some(format!("run: {}", grant_command(scope))),
        _ => None,
    }
}

impl From<AuthError> for CliError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::AccessDenied {
                scope,
                message,
                command,
            } => {
                let hint = grant_hint(Some(&scope), command.as_deref());
                // The hub's reason (a policy rule, the owner's denial, an expired grant) follows.
                let message = if scope.is_empty() {
                    // A refusal that is not about a scope (a key lacking a permission).
                    format!("access denied: {message}")
                } else if message.is_empty() {
                    format!("access denied to scope {scope}")
                } else {
                    format!("access denied to scope {scope}: {message}")
                };
                let error = Self::new(ErrorKind::Denied, message);
                match hint {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                }
            }
            // The hub's message says what this one does, in milliseconds.
            AuthError::Timeout { timeout, scope, .. } => {
                let what = scope.as_deref().unwrap_or("the request");
                let error = Self::new(
                    ErrorKind::Denied,
                    format!(
                        "no approval for {what} within {}",
                        auth_hub_protocol::duration::format_duration(timeout)
                    ),
                );
                match grant_hint(scope.as_deref(), None) {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                }
            }
            AuthError::SecretNotFound { path } => Self::new(
                ErrorKind::NotFound,
                format!("secret not found: {path}"),
            )
            .with_hint(format!(
                "store one with `printf %s \"$VALUE\" | {}`",
                auth_hub_protocol::command::command_line(["hyperforge", "auth", "put", &path])
            )),
            // How to start the hub depends on who owns it (a look at the filesystem): the hint is
            // attached where the connect failed (`daemon::with_start_hint`), not here.
            error @ (AuthError::Unreachable { .. }
            | AuthError::ConnectionLost(_)
            | AuthError::Unavailable(_)) => Self::new(ErrorKind::Unreachable, error.to_string()),
            error @ AuthError::SocketPathTooLong { .. } => Self::usage(error.to_string())
                .with_hint(
                "set AUTH_HUB_SOCKET to a shorter path, or AUTH_HUB_HOME to a shorter directory",
            ),
            AuthError::InvalidMasterToken { reason } => {
                let source = if from_env() {
                    "the key in AUTH_HUB_TOKEN"
                } else {
                    "the saved auth-hub key"
                };
                let message = if reason.is_empty() {
                    format!("the hub refused {source} (malformed, unknown, revoked or expired)")
                } else {
                    format!("the hub refused {source}: {reason}")
                };
                let error = Self::new(ErrorKind::Denied, message);
                // A service key comes from AUTH_HUB_TOKEN; logging in again would not fix it.
                if from_env() {
                    error.with_hint(SERVICE_KEY_HINT)
                } else {
                    error.with_hint(LOGIN_HINT)
                }
            }
            error @ AuthError::Discovery(_) => Self::failure(error.to_string()),
            AuthError::NoKey => Self::failure(
                "no auth-hub key found (AUTH_HUB_TOKEN is not set and no key is saved)",
            )
            .with_hint(LOGIN_HINT),
            AuthError::BadRequest(message) => Self::usage(message),
            AuthError::InsufficientScope { path, have, need } => Self::failure(format!(
                "insufficient scope for {path}: have {have}, need {need}"
            ))
            .with_hint(format!(
                "run: {}",
                grant_command_for(&need, Permissions::READ_WRITE, None)
            )),
            busy @ AuthError::Busy(_) => Self::failure(busy.to_string())
                .with_hint("decide the waiting requests first: `hyperforge auth pending`"),
            unavailable @ AuthError::BackendUnavailable(_) => {
                Self::failure(unavailable.to_string()).with_hint(
                    "`hyperforge auth status` shows each backend's health; paths on other \
                     backends still work",
                )
            }
            refused @ AuthError::InvalidToken(_) => {
                Self::new(ErrorKind::Denied, refused.to_string())
            }
            other => Self::failure(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn code(error: AuthError) -> u8 {
        CliError::from(error).kind().exit_code()
    }

    #[test]
    fn every_auth_error_has_its_exit_code() {
        assert_eq!(
            code(AuthError::AccessDenied {
                scope: "a/*".into(),
                message: "the owner denied a/*".into(),
                command: None
            }),
            3
        );
        assert_eq!(
            code(AuthError::Timeout {
                timeout: Duration::from_secs(60),
                scope: Some("a/*".into()),
                message: "no decision on a/* within 60000 ms".into()
            }),
            3
        );
        assert_eq!(code(AuthError::SecretNotFound { path: "a/b".into() }), 4);
        assert_eq!(
            code(AuthError::Unreachable {
                socket: "/nowhere".into(),
                source: io::Error::from(io::ErrorKind::NotFound)
            }),
            5
        );
        assert_eq!(
            code(AuthError::InvalidMasterToken {
                reason: "key \"ci\" was revoked".into()
            }),
            3
        );
        assert_eq!(code(AuthError::ConnectionLost("eof".into())), 5);
        assert_eq!(code(AuthError::Unavailable("stopping".into())), 5);
        assert_eq!(
            code(AuthError::SocketPathTooLong {
                socket: "/long".into(),
                len: 200,
                max: 107
            }),
            2
        );
        assert_eq!(code(AuthError::NoKey), 1);
        assert_eq!(code(AuthError::Discovery("key file /k is empty".into())), 1);
        assert_eq!(code(AuthError::BadRequest("owner key required".into())), 2);
        assert_eq!(code(AuthError::InvalidAccessToken), 1);
        assert_eq!(
            code(AuthError::InsufficientScope {
                path: "a/b".into(),
                have: "a/*".into(),
                need: "a/*".into()
            }),
            1
        );
        assert_eq!(code(AuthError::BackendError("disk".into())), 1);
        assert_eq!(
            code(AuthError::BackendUnavailable(
                "backend team is unreachable: connection refused".into()
            )),
            1
        );
        assert_eq!(code(AuthError::Busy("too many pending".into())), 1);
        assert_eq!(code(AuthError::Conflict("osf/cli/oidc exists".into())), 1);
        assert_eq!(code(AuthError::InvalidToken("expired".into())), 3);
        assert_eq!(code(AuthError::Locked("no key".into())), 1);
        assert_eq!(code(AuthError::UnsupportedVersion("2".into())), 1);
        assert_eq!(code(AuthError::Protocol("eof".into())), 1);
    }

    #[test]
    fn denied_hints_at_the_grant_command() {
        let error = CliError::from(AuthError::AccessDenied {
            scope: "github/alice/*".into(),
            message: String::new(),
            command: Some("hyperforge auth grant 'github/alice/*'".into()),
        });
        assert_eq!(
            error.report(),
            "error: access denied to scope github/alice/*\n\
             hint: run: hyperforge auth grant 'github/alice/*'\n"
        );
        // Without the hub's command, the hint is built from the scope.
        let error = CliError::from(AuthError::Timeout {
            timeout: Duration::from_secs(2),
            scope: Some("cargo/*".into()),
            message: "no decision on cargo/* within 2000 ms".into(),
        });
        assert_eq!(error.message(), "no approval for cargo/* within 2s");
        assert_eq!(error.hint(), Some("run: hyperforge auth grant 'cargo/*'"));
    }

    #[test]
    fn denied_shows_the_hubs_reason() {
        let error = CliError::from(AuthError::AccessDenied {
            scope: "cargo/*".into(),
            message: "cargo/* is denied by policy rule 2".into(),
            command: None,
        });
        assert_eq!(
            error.message(),
            "access denied to scope cargo/*: cargo/* is denied by policy rule 2"
        );
        assert_eq!(error.hint(), Some("run: hyperforge auth grant 'cargo/*'"));
    }

    #[test]
    fn key_errors_hint_at_login() {
        for error in [
            AuthError::NoKey,
            AuthError::InvalidMasterToken {
                reason: String::new(),
            },
        ] {
            assert_eq!(CliError::from(error).hint(), Some(LOGIN_HINT));
        }
    }

    #[test]
    fn broken_pipe_is_quiet_success() {
        let error = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(error.kind().exit_code(), 0);
        assert_eq!(error.report(), "");
        let other = CliError::from(io::Error::other("disk full"));
        assert_eq!(other.kind().exit_code(), 1);
    }
}
