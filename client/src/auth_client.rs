//! The `AuthClient` trait: the whole surface a consumer such as hyperforge needs.

use async_trait::async_trait;
use auth_hub_protocol::{Permissions, Secret, SecretPath, SecretScope};

use crate::error::AuthError;

/// Gets and stores secrets by path, asking for the covering scope when needed.
#[async_trait]
pub trait AuthClient: Send + Sync {
    /// Gets a secret by path, requesting its parent scope (and waiting for approval) if needed.
    ///
    /// # Errors
    /// [`AuthError::AccessDenied`], [`AuthError::Timeout`], [`AuthError::SecretNotFound`], and the
    /// connection and key errors.
    async fn get_secret(&self, path: &SecretPath) -> Result<Secret, AuthError>;

    /// Stores a secret (the owner key needs no scope; other keys need write on the parent scope).
    ///
    /// # Errors
    /// As [`AuthClient::get_secret`].
    async fn put_secret(&self, path: &SecretPath, value: &str) -> Result<(), AuthError>;

    /// Lists secret paths below a whole-segment prefix (`""` for all). Never values.
    ///
    /// # Errors
    /// As [`AuthClient::get_secret`]; a malformed prefix is [`AuthError::BadRequest`].
    async fn list_secrets(&self, prefix: &str) -> Result<Vec<SecretPath>, AuthError>;

    /// True when `scope` with `permissions` is available now without a prompt. Never waits for an
    /// approver; any error counts as false.
    async fn has_scope(&self, scope: &SecretScope, permissions: Permissions) -> bool;
}
