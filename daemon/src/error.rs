//! The daemon's error type, and the one place where errors become wire `ErrorCode`s.

use auth_hub_protocol::{ErrorCode, ErrorReply};

use crate::audit::AuditError;
use crate::grants::{GrantStoreError, PendingError};
use crate::identity::IdentityError;
use crate::keys::KeyStoreError;
use crate::policy::ConfigError;
use crate::providers::ProviderStoreError;
use crate::repos::RepoStoreError;
use crate::store::StoreError;

/// Everything that can go wrong in the hub. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// Policy or the owner refused a scope.
    #[error("{message}")]
    Denied {
        /// The scope refused.
        scope: String,
        /// Why, for people.
        message: String,
        /// The command that grants it.
        command: String,
    },
    /// No decision in time.
    #[error("no decision on {scope} within {waited_ms} ms")]
    Timeout {
        /// The scope.
        scope: String,
        /// How long the hub waited.
        waited_ms: u64,
    },
    /// The hello's key is unknown, revoked, expired or malformed.
    #[error("invalid master token")]
    InvalidMasterToken,
    /// The access token is unknown, expired, revoked, or another key's.
    #[error("invalid or expired access token")]
    InvalidAccessToken,
    /// The token does not cover the path or lacks the permission.
    #[error("access token for {have} does not allow {need} on {path}")]
    InsufficientScope {
        /// The path.
        path: String,
        /// The token's scope and permissions.
        have: String,
        /// What was needed.
        need: String,
    },
    /// No secret there.
    #[error("no secret at {path}")]
    NotFound {
        /// The path.
        path: String,
    },
    /// Malformed, or not allowed for this key.
    #[error("{0}")]
    BadRequest(String),
    /// The operation needs the owner key.
    #[error("{0} needs the owner key")]
    OwnerRequired(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key records could not be changed.
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    /// Grants could not be changed.
    #[error(transparent)]
    Grants(#[from] GrantStoreError),
    /// Too many pending requests.
    #[error(transparent)]
    Pending(#[from] PendingError),
    /// A repository could not be registered or unregistered.
    #[error(transparent)]
    Repos(#[from] RepoStoreError),
    /// The audit log failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The config file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Directories, socket or other start-up problems.
    #[error("{0}")]
    Setup(String),
    /// The hub is shutting down.
    #[error("auth-hub is shutting down")]
    ShuttingDown,
    /// An AuthProvider record could not be created or changed.
    #[error(transparent)]
    Providers(#[from] ProviderStoreError),
    /// Signing keys or a signature failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The caller's key lacks a permission the operation needs (`validate`): `denied` without
    /// a scope, with the command that creates a key holding it.
    #[error("{operation} needs a key with the {permission} permission or the owner key")]
    PermissionRequired {
        /// The operation refused.
        operation: String,
        /// The permission it needs.
        permission: &'static str,
    },
    /// A presented JWT or provider token was refused; the message names the check.
    #[error("{0}")]
    InvalidToken(String),
}

impl HubError {
    /// The wire code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Denied { .. } => ErrorCode::Denied,
            Self::Timeout { .. } => ErrorCode::Timeout,
            Self::InvalidMasterToken => ErrorCode::InvalidMasterToken,
            Self::InvalidAccessToken => ErrorCode::InvalidAccessToken,
            Self::InsufficientScope { .. } => ErrorCode::InsufficientScope,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Keys(KeyStoreError::File(_)) => ErrorCode::Backend,
            Self::Repos(
                RepoStoreError::InvalidPath(_)
                | RepoStoreError::TooMany { .. }
                | RepoStoreError::TooLarge { .. },
            ) => ErrorCode::BadRequest,
            Self::Pending(_) => ErrorCode::Busy,
            Self::BadRequest(_) | Self::OwnerRequired(_) | Self::Keys(_) => ErrorCode::BadRequest,
            Self::Store(error) => error.code(),
            Self::Grants(_)
            | Self::Repos(_)
            | Self::Audit(_)
            | Self::Config(_)
            | Self::Setup(_) => ErrorCode::Backend,
            Self::ShuttingDown => ErrorCode::Unavailable,
            Self::Providers(ProviderStoreError::Conflict { .. }) => ErrorCode::Conflict,
            Self::Providers(ProviderStoreError::NotFound { .. }) => ErrorCode::NotFound,
            Self::Providers(ProviderStoreError::Invalid(_)) => ErrorCode::BadRequest,
            Self::Providers(_) => ErrorCode::Backend,
            Self::Identity(IdentityError::Jwt(_)) | Self::InvalidToken(_) => {
                ErrorCode::InvalidToken
            }
            Self::Identity(_) => ErrorCode::Backend,
            Self::PermissionRequired { .. } => ErrorCode::Denied,
        }
    }

    /// The error as the client will see it, with the context its code calls for.
    pub fn to_reply(&self) -> ErrorReply {
        match self {
            Self::Denied {
                scope,
                message,
                command,
            } => ErrorReply {
                command: Some(command.clone()),
                ..ErrorReply::denied(scope, message.clone())
            },
            Self::Timeout { scope, waited_ms } => ErrorReply::timeout(scope, *waited_ms),
            Self::InsufficientScope { path, have, need } => ErrorReply {
                path: Some(path.clone()),
                have: Some(have.clone()),
                scope: Some(need.clone()),
                ..ErrorReply::new(ErrorCode::InsufficientScope, self.to_string())
            },
            Self::NotFound { path } => ErrorReply {
                path: Some(path.clone()),
                ..ErrorReply::new(ErrorCode::NotFound, self.to_string())
            },
            Self::PermissionRequired { permission, .. } => ErrorReply {
                command: Some(format!(
                    "hyperforge auth key create NAME --permission {permission}"
                )),
                ..ErrorReply::new(ErrorCode::Denied, self.to_string())
            },
            other => ErrorReply::new(other.code(), other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_scope_refusals_keep_their_context() {
        let denied = HubError::Denied {
            scope: "npm/*".into(),
            message: "npm/* is denied by policy rule 1".into(),
            command: "hyperforge auth grant 'npm/*' --key ci".into(),
        }
        .to_reply();
        assert_eq!(denied.code, ErrorCode::Denied);
        assert_eq!(denied.message, "npm/* is denied by policy rule 1");
        assert_eq!(denied.scope.as_deref(), Some("npm/*"));
        assert_eq!(
            denied.command.as_deref(),
            Some("hyperforge auth grant 'npm/*' --key ci")
        );
        let timeout = HubError::Timeout {
            scope: "cargo/*".into(),
            waited_ms: 60_000,
        }
        .to_reply();
        assert_eq!(timeout, ErrorReply::timeout("cargo/*", 60_000));
    }
}
