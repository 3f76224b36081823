//! Error codes and the error reply every failed request carries.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::command::grant_command;

/// Why a request failed. Clients branch on the code, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Policy or the owner refused the scope.
    Denied,
    /// Nobody decided before the grant timeout.
    Timeout,
    /// The hello's master token is unknown, revoked or expired.
    InvalidMasterToken,
    /// The access token is unknown, expired or revoked.
    InvalidAccessToken,
    /// The access token does not cover the path, or lacks the permission.
    InsufficientScope,
    /// No secret at that path.
    NotFound,
    /// The request is malformed or not allowed for this key.
    BadRequest,
    /// The client speaks a protocol version the hub does not.
    UnsupportedVersion,
    /// The store failed.
    Backend,
    /// The store is locked (its data key is unavailable).
    Locked,
    /// Too many requests already wait for the owner (a pending cap is full); retry once some
    /// are decided.
    Busy,
    /// The hub is shutting down: the request was not served and a hub must be (re)started.
    /// Older clients decode it as [`ErrorCode::Unknown`], a generic failure.
    Unavailable,
    /// A store backend (an OpenBao server, the OS keychain) is unreachable or refuses the hub's
    /// credential; the message names the backend. Paths served by other backends still work.
    /// Older clients decode it as [`ErrorCode::Unknown`], a generic failure.
    BackendUnavailable,
    /// The request would create something that exists (a second AuthProvider record for the
    /// same `ORG/APP/TYPE`). Older clients decode it as [`ErrorCode::Unknown`].
    Conflict,
    /// A presented JWT or provider token was refused (signature, issuer, audience, expiry,
    /// algorithm); the message says which check failed. Older clients decode it as
    /// [`ErrorCode::Unknown`].
    InvalidToken,
    /// A code this build does not know (sent by a newer peer).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire name, such as `insufficient_scope`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::Timeout => "timeout",
            Self::InvalidMasterToken => "invalid_master_token",
            Self::InvalidAccessToken => "invalid_access_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::NotFound => "not_found",
            Self::BadRequest => "bad_request",
            Self::UnsupportedVersion => "unsupported_version",
            Self::Backend => "backend",
            Self::Locked => "locked",
            Self::Busy => "busy",
            Self::Unavailable => "unavailable",
            Self::BackendUnavailable => "backend_unavailable",
            Self::Conflict => "conflict",
            Self::InvalidToken => "invalid_token",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request: the code, a human message, and the context the code needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What kind of failure.
    pub code: ErrorCode,
    /// For people; never contains a secret.
    pub message: String,
    /// The scope concerned (`denied`, `timeout`, `insufficient_scope`: the scope needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The command that would grant the scope (`denied`, `timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The path concerned (`not_found`, `insufficient_scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The scope the access token has (`insufficient_scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub have: Option<String>,
    /// How long the hub waited (`timeout`), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl ErrorReply {
    /// A reply with a code and message and no context.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            scope: None,
            command: None,
            path: None,
            have: None,
            timeout_ms: None,
        }
    }

    /// `denied` for a scope, with the command that grants it.
    pub fn denied(scope: &str, message: impl Into<String>) -> Self {
        Self {
            scope: Some(scope.to_owned()),
            command: Some(grant_command(scope)),
            ..Self::new(ErrorCode::Denied, message)
        }
    }

    /// `timeout` for a scope after waiting `timeout_ms`.
    pub fn timeout(scope: &str, timeout_ms: u64) -> Self {
        Self {
            scope: Some(scope.to_owned()),
            command: Some(grant_command(scope)),
            timeout_ms: Some(timeout_ms),
            ..Self::new(
                ErrorCode::Timeout,
                format!("no decision on {scope} within {timeout_ms} ms"),
            )
        }
    }
}

impl fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_decode() {
        let bytes = rmp_serde::to_vec("some_new_code").unwrap();
        assert_eq!(
            rmp_serde::from_slice::<ErrorCode>(&bytes).unwrap(),
            ErrorCode::Unknown
        );
        let bytes = rmp_serde::to_vec("insufficient_scope").unwrap();
        assert_eq!(
            rmp_serde::from_slice::<ErrorCode>(&bytes).unwrap(),
            ErrorCode::InsufficientScope
        );
    }

    #[test]
    fn denied_carries_scope_and_command() {
        let reply = ErrorReply::denied("github/alice/*", "denied by policy");
        assert_eq!(
            reply.command.as_deref(),
            Some("hyperforge auth grant 'github/alice/*'")
        );
        assert_eq!(reply.scope.as_deref(), Some("github/alice/*"));
    }
}
