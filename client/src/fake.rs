//! An in-memory [`AuthClient`] for consumers' unit tests: no hub, no socket, no waiting.
//!
//! It follows the hub's rules closely enough for a consumer to test its error paths: a `get`
//! needs a read grant covering the path and fails with [`AuthError::AccessDenied`] (carrying the
//! parent scope and the command that would grant it) otherwise; a `put` needs a write grant; a
//! missing secret is [`AuthError::SecretNotFound`]. It records every scope a `get` asked for, so a
//! test can assert which scopes the code under test needs.
//!
//! ```
//! use auth_hub_client::{AuthClient, AuthError, FakeAuthClient, SecretPath};
//!
//! # futures::executor::block_on(async {
//! let auth = FakeAuthClient::new()
//!     .with_secret("github/alice/token", "ghp_test")
//!     .with_secret("gitlab/alice/token", "glpat_test")
//!     .grant("github/alice/*");
//!
//! let github = SecretPath::parse("github/alice/token").unwrap();
//! assert_eq!(auth.get_secret(&github).await.unwrap().value.expose(), "ghp_test");
//!
//! let gitlab = SecretPath::parse("gitlab/alice/token").unwrap();
//! match auth.get_secret(&gitlab).await {
//!     Err(AuthError::AccessDenied { scope, command, .. }) => {
//!         assert_eq!(scope, "gitlab/alice/*");
//!         assert_eq!(command.as_deref(), Some("hyperforge auth grant 'gitlab/alice/*'"));
//!     }
//!     other => panic!("expected a denial, got {other:?}"),
//! }
//! assert_eq!(auth.requested_scopes(), ["github/alice/*", "gitlab/alice/*"]);
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use auth_hub_protocol::command::grant_command_for;
use auth_hub_protocol::{grant_command, Access, Permissions, Secret, SecretPath, SecretScope};
use chrono::Utc;

use crate::auth_client::AuthClient;
use crate::error::AuthError;

/// In-memory client.
#[derive(Debug, Default)]
pub struct FakeAuthClient {
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    secrets: BTreeMap<SecretPath, Secret>,
    grants: Vec<Access>,
    requested: Vec<String>,
}

impl FakeAuthClient {
    /// An empty client: no secrets, no grants.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a secret.
    ///
    /// # Panics
    /// When `path` is not a valid secret path: a bug in the test itself.
    #[must_use]
    pub fn with_secret(self, path: &str, value: &str) -> Self {
        let path = parse_path(path);
        self.store(&path, value);
        self
    }

    /// Grants read access to `scope` (such as `github/alice/*`, or `*` for everything).
    ///
    /// # Panics
    /// When `scope` is not a valid scope pattern: a bug in the test itself.
    #[must_use]
    pub fn grant(self, scope: &str) -> Self {
        self.add_grant(scope, Permissions::READ)
    }

    /// Grants read and write access to `scope`, as `hyperforge auth grant --write` does.
    ///
    /// # Panics
    /// When `scope` is not a valid scope pattern: a bug in the test itself.
    #[must_use]
    pub fn grant_write(self, scope: &str) -> Self {
        self.add_grant(scope, Permissions::READ_WRITE)
    }

    /// Every scope a `get_secret` asked for, in order, repeats included.
    pub fn requested_scopes(&self) -> Vec<String> {
        self.state().requested.clone()
    }

    /// Every stored path, sorted, whatever the grants.
    pub fn paths(&self) -> Vec<SecretPath> {
        self.state().secrets.keys().cloned().collect()
    }

    fn add_grant(self, scope: &str, permissions: Permissions) -> Self {
        let scope = match SecretScope::parse(scope) {
            Ok(scope) => Access::new(scope, permissions),
            Err(error) => panic!("FakeAuthClient::grant: invalid scope {scope:?}: {error}"),
        };
        self.state().grants.push(scope);
        self
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn allowed(&self, path: &SecretPath, need: Permissions) -> bool {
        self.state()
            .grants
            .iter()
            .any(|grant| grant.allows_path(path, need))
    }

    fn store(&self, path: &SecretPath, value: &str) {
        let now = Utc::now();
        let mut state = self.state();
        let (created_at, version) = match state.secrets.get(path) {
            Some(old) => (old.created_at, old.version + 1),
            None => (Some(now), 1),
        };
        state.secrets.insert(
            path.clone(),
            Secret {
                value: value.into(),
                path: path.clone(),
                created_at,
                updated_at: Some(now),
                version,
            },
        );
    }
}

fn parse_path(path: &str) -> SecretPath {
    match SecretPath::parse(path) {
        Ok(path) => path,
        Err(error) => panic!("FakeAuthClient::with_secret: invalid path {path:?}: {error}"),
    }
}

#[async_trait]
impl AuthClient for FakeAuthClient {
    async fn get_secret(&self, path: &SecretPath) -> Result<Secret, AuthError> {
        let scope = path.parent_scope();
        self.state().requested.push(scope.as_str().to_owned());
        if !self.allowed(path, Permissions::READ) {
            return Err(AuthError::AccessDenied {
                command: Some(grant_command(scope.as_str())),
                message: format!("no read grant covers {path}"),
                scope: scope.as_str().to_owned(),
            });
        }
        self.state()
            .secrets
            .get(path)
            .cloned()
            .ok_or_else(|| AuthError::SecretNotFound {
                path: path.to_string(),
            })
    }

    async fn put_secret(&self, path: &SecretPath, value: &str) -> Result<(), AuthError> {
        if !self.allowed(path, Permissions::WRITE) {
            let scope = path.parent_scope();
            return Err(AuthError::AccessDenied {
                command: Some(grant_command_for(
                    scope.as_str(),
                    Permissions::READ_WRITE,
                    None,
                )),
                message: format!("no write grant covers {path}"),
                scope: scope.as_str().to_owned(),
            });
        }
        self.store(path, value);
        Ok(())
    }

    async fn list_secrets(&self, prefix: &str) -> Result<Vec<SecretPath>, AuthError> {
        if !prefix.is_empty() {
            SecretPath::parse(prefix).map_err(|error| {
                AuthError::BadRequest(format!("invalid prefix {prefix:?}: {error}"))
            })?;
        }
        let paths: Vec<SecretPath> = self
            .state()
            .secrets
            .keys()
            .filter(|path| path.starts_with_segments(prefix))
            .cloned()
            .collect();
        Ok(paths
            .into_iter()
            .filter(|path| self.allowed(path, Permissions::READ))
            .collect())
    }

    async fn has_scope(&self, scope: &SecretScope, permissions: Permissions) -> bool {
        let wanted = Access::new(scope.clone(), permissions);
        self.state()
            .grants
            .iter()
            .any(|grant| grant.allows(&wanted))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use futures::executor::block_on;

    use super::*;

    fn path(text: &str) -> SecretPath {
        SecretPath::parse(text).unwrap()
    }

    #[test]
    fn get_needs_a_covering_read_grant() {
        let auth = FakeAuthClient::new()
            .with_secret("cargo/token", "c")
            .with_secret("github/alice/token", "g")
            .grant("github/*");
        assert_eq!(
            block_on(auth.get_secret(&path("github/alice/token")))
                .unwrap()
                .value
                .expose(),
            "g"
        );
        let denied = block_on(auth.get_secret(&path("cargo/token"))).unwrap_err();
        assert!(
            matches!(&denied, AuthError::AccessDenied { scope, command, .. }
                if scope == "cargo/*" && command.as_deref() == Some("hyperforge auth grant 'cargo/*'")),
            "{denied:?}"
        );
        assert_eq!(auth.requested_scopes(), ["github/alice/*", "cargo/*"]);
    }

    #[test]
    fn missing_secret_under_a_grant_is_not_found() {
        let auth = FakeAuthClient::new().grant("npm/@acme/*");
        let error = block_on(auth.get_secret(&path("npm/@acme/token"))).unwrap_err();
        assert!(matches!(error, AuthError::SecretNotFound { path } if path == "npm/@acme/token"));
    }

    #[test]
    fn put_needs_write_and_bumps_the_version() {
        let auth = FakeAuthClient::new().grant("pypi/*");
        let target = path("pypi/token");
        let denied = block_on(auth.put_secret(&target, "v1")).unwrap_err();
        assert!(
            matches!(denied, AuthError::AccessDenied { command: Some(c), .. }
            if c == "hyperforge auth grant 'pypi/*' --write")
        );

        let auth = FakeAuthClient::new().grant_write("pypi/*");
        block_on(auth.put_secret(&target, "v1")).unwrap();
        block_on(auth.put_secret(&target, "v2")).unwrap();
        let secret = block_on(auth.get_secret(&target)).unwrap();
        assert_eq!((secret.value.expose(), secret.version), ("v2", 2));
        assert!(secret.created_at.is_some() && secret.updated_at >= secret.created_at);
    }

    #[test]
    fn list_returns_covered_paths_below_the_prefix() {
        let auth = FakeAuthClient::new()
            .with_secret("github/alice/token", "a")
            .with_secret("github/alice/ci/token", "b")
            .with_secret("github/alicex/token", "c")
            .with_secret("github/bob/token", "d")
            .grant("github/alice/*")
            .grant("github/alicex/*");
        let listed = block_on(auth.list_secrets("github/alice")).unwrap();
        assert_eq!(
            listed,
            [path("github/alice/ci/token"), path("github/alice/token")]
        );
        let all = block_on(auth.list_secrets("")).unwrap();
        assert_eq!(all.len(), 3, "bob's token is not granted");
        assert!(matches!(
            block_on(auth.list_secrets("github/")),
            Err(AuthError::BadRequest(_))
        ));
        assert_eq!(auth.paths().len(), 4);
    }

    #[test]
    fn has_scope_checks_grants_and_permissions() {
        let auth = FakeAuthClient::new()
            .grant("github/*")
            .grant_write("cargo/*");
        let scope = |s: &str| SecretScope::parse(s).unwrap();
        assert!(block_on(
            auth.has_scope(&scope("github/alice/*"), Permissions::READ)
        ));
        assert!(!block_on(
            auth.has_scope(&scope("github/alice/*"), Permissions::WRITE)
        ));
        assert!(block_on(
            auth.has_scope(&scope("cargo/*"), Permissions::READ_WRITE)
        ));
        assert!(!block_on(auth.has_scope(&scope("*"), Permissions::READ)));
    }

    #[test]
    #[should_panic(expected = "invalid path")]
    fn invalid_test_input_panics_loudly() {
        let _ = FakeAuthClient::new().with_secret("bad//path", "x");
    }

    #[test]
    fn usable_as_dyn_auth_client() {
        let auth: Box<dyn AuthClient> =
            Box::new(FakeAuthClient::new().grant("*").with_secret("a/b", "v"));
        assert_eq!(
            block_on(auth.get_secret(&path("a/b")))
                .unwrap()
                .value
                .expose(),
            "v"
        );
    }
}
