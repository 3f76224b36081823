//! `AuthError`: every way a client call fails, with the hub's error code kept intact.

use std::path::PathBuf;
use std::time::Duration;

use auth_hub_protocol::{ErrorCode, ErrorReply};

/// Why a client call failed. Match on variants (or [`AuthError::code`]), never on messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Policy or the owner refused the scope; `message` is the hub's word on why (empty from a
    /// hub that does not say).
    #[error("access denied{}{}", to_scope(scope), because(message))]
    AccessDenied {
        /// The scope refused.
        scope: String,
        /// Why, for people: the policy rule, the owner's denial, an expired grant….
        message: String,
        /// The command that would grant it.
        command: Option<String>,
    },
    /// No decision came in time.
    #[error("auth request timed out after {timeout:?}{}", because(message))]
    Timeout {
        /// How long the hub waited.
        timeout: Duration,
        /// The scope concerned.
        scope: Option<String>,
        /// The hub's message, for people (empty from a hub that does not say).
        message: String,
    },
    /// The master key is malformed, unknown, revoked or expired; `reason` is the hub's word on
    /// which (empty from a hub that does not say).
    #[error("invalid master token{}", because(reason))]
    InvalidMasterToken {
        /// Why the hub refused the key, for people (never the key itself).
        reason: String,
    },
    /// The access token is unknown, expired or revoked (the client retries once by itself).
    #[error("invalid access token")]
    InvalidAccessToken,
    /// The token's scope does not cover the path or lacks the permission.
    #[error("insufficient scope for {path}: have {have}, need {need}")]
    InsufficientScope {
        /// The path asked for.
        path: String,
        /// The scope held.
        have: String,
        /// The scope needed.
        need: String,
    },
    /// No secret at that path.
    #[error("secret not found: {path}")]
    SecretNotFound {
        /// The path.
        path: String,
    },
    /// The hub's store failed, or the hub answered something this client cannot use.
    #[error("auth backend error: {0}")]
    BackendError(String),
    /// The hub refused to create something that exists (`conflict`).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A presented JWT or provider token was refused (`invalid_token`).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// A store backend the path lives in (an OpenBao server, the OS keychain) is unreachable
    /// or refuses the hub; the hub's message names the backend. Other paths still work.
    #[error("store backend unavailable: {0}")]
    BackendUnavailable(String),
    /// The hub's store is locked.
    #[error("auth store is locked: {0}")]
    Locked(String),
    /// The hub is shutting down and did not serve the request.
    #[error("auth-hub stopped before answering: {0}")]
    Unavailable(String),
    /// Too many requests already wait for the owner; retry once some are decided.
    #[error("auth-hub is busy: {0}")]
    Busy(String),
    /// The request was refused as malformed or not allowed for this key.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The hub speaks another protocol version.
    #[error("unsupported protocol version: {0}")]
    UnsupportedVersion(String),
    /// No hub answers on the socket.
    #[error("auth-hub is not reachable at {}: {source}", socket.display())]
    Unreachable {
        /// The socket tried.
        socket: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The hub went away with the request in flight (it stopped or was killed) and could not be
    /// reached again. Whether a write that was in flight took effect is unknown.
    #[error("the connection to auth-hub was lost: {0}")]
    ConnectionLost(String),
    /// The socket path is longer than a Unix socket address holds (`sun_path`): no hub can
    /// listen there, so this is a setting to change (`AUTH_HUB_SOCKET`, `AUTH_HUB_HOME`).
    #[error(
        "the auth-hub socket path {} is {len} bytes, longer than the {max} a Unix socket address holds",
        socket.display()
    )]
    SocketPathTooLong {
        /// The path.
        socket: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// The longest path the system takes.
        max: usize,
    },
    /// Something local to find or save failed before any hub was asked: no home directory to
    /// derive the socket, state directory or key file from; a key file that cannot be read or
    /// written, is empty or is readable by others; an `AUTH_HUB_TOKEN` that is not UTF-8. The
    /// message names the file or the variable to set.
    #[error("{0}")]
    Discovery(String),
    /// No master key was found (no `AUTH_HUB_TOKEN`, nothing saved by `hyperforge auth login`).
    #[error("no auth-hub key found: run `hyperforge auth login` (`--recover` if the hub's owner key is lost) or set AUTH_HUB_TOKEN")]
    NoKey,
    /// The connection broke or the peer sent something malformed.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// `: reason` after a message, or nothing when the hub gave no reason.
/// ` to scope S`, or nothing for a refusal that is not about a scope.
fn to_scope(scope: &str) -> String {
    if scope.is_empty() {
        String::new()
    } else {
        format!(" to scope {scope}")
    }
}

fn because(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

impl AuthError {
    /// The hub's error code this error came from, if any.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            Self::AccessDenied { .. } => ErrorCode::Denied,
            Self::Timeout { .. } => ErrorCode::Timeout,
            Self::InvalidMasterToken { .. } => ErrorCode::InvalidMasterToken,
            Self::InvalidAccessToken => ErrorCode::InvalidAccessToken,
            Self::InsufficientScope { .. } => ErrorCode::InsufficientScope,
            Self::SecretNotFound { .. } => ErrorCode::NotFound,
            Self::BackendError(_) => ErrorCode::Backend,
            Self::BackendUnavailable(_) => ErrorCode::BackendUnavailable,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::InvalidToken(_) => ErrorCode::InvalidToken,
            Self::Locked(_) => ErrorCode::Locked,
            Self::Busy(_) => ErrorCode::Busy,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            Self::Unreachable { .. }
            | Self::ConnectionLost(_)
            | Self::SocketPathTooLong { .. }
            | Self::Discovery(_)
            | Self::NoKey
            | Self::Protocol(_) => return None,
        })
    }
}

impl From<ErrorReply> for AuthError {
    fn from(reply: ErrorReply) -> Self {
        match reply.code {
            ErrorCode::Denied => Self::AccessDenied {
                scope: reply.scope.unwrap_or_default(),
                message: reply.message,
                command: reply.command,
            },
            ErrorCode::Timeout => Self::Timeout {
                timeout: Duration::from_millis(reply.timeout_ms.unwrap_or(0)),
                scope: reply.scope,
                message: reply.message,
            },
            ErrorCode::InvalidMasterToken => Self::InvalidMasterToken {
                reason: reply.message,
            },
            ErrorCode::InvalidAccessToken => Self::InvalidAccessToken,
            ErrorCode::InsufficientScope => Self::InsufficientScope {
                path: reply.path.unwrap_or_default(),
                have: reply.have.unwrap_or_default(),
                need: reply.scope.unwrap_or_default(),
            },
            ErrorCode::NotFound => Self::SecretNotFound {
                path: reply.path.unwrap_or_default(),
            },
            ErrorCode::BadRequest => Self::BadRequest(reply.message),
            ErrorCode::UnsupportedVersion => Self::UnsupportedVersion(reply.message),
            ErrorCode::Locked => Self::Locked(reply.message),
            ErrorCode::Busy => Self::Busy(reply.message),
            ErrorCode::Unavailable => Self::Unavailable(reply.message),
            ErrorCode::BackendUnavailable => Self::BackendUnavailable(reply.message),
            ErrorCode::Conflict => Self::Conflict(reply.message),
            ErrorCode::InvalidToken => Self::InvalidToken(reply.message),
            ErrorCode::Backend | ErrorCode::Unknown => Self::BackendError(reply.message),
        }
    }
}
