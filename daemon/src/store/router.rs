//! The store the hub serves from: named backends and the routes between them. Implements
//! [`SecretStore`] itself, so the handlers keep seeing one store; each path goes to the backend of
//! the first route whose scope covers it, else to the default backend.

use std::sync::Arc;

use auth_hub_protocol::{SecretPath, SecretValue};

use super::settings::Layout;
use super::{SecretMeta, SecretStore, StoreError, StoreKind, StoreOptions, StoredSecret};

/// Backends by name, and the routes.
pub struct Router {
    _private: (),
}

impl Router {
    /// Opens the local store (`kind`, with `options`) as [`super::settings::LOCAL_BACKEND`] and
    /// every backend of `layout`. A remote backend that does not answer at start is still
    /// opened: its paths fail with [`StoreError::Unreachable`] until it answers.
    ///
    /// # Errors
    /// The local store cannot be opened; a backend's settings are unusable (a keychain backend
    /// with no keychain on this platform is not an error: its requests fail).
    pub fn open(
        kind: StoreKind,
        options: &StoreOptions,
        layout: &Layout,
    ) -> Result<Self, StoreError> {
        let _ = (kind, options, layout);
        unimplemented!("helper: router")
    }

    /// A router over backends already open (tests, `auth mv` unit tests): `backends` by name,
    /// routed by `layout` (whose `backends` list is then ignored).
    ///
    /// # Errors
    /// `layout` names a backend not in `backends`.
    pub fn with_backends(
        backends: Vec<(String, Arc<dyn SecretStore>)>,
        layout: &Layout,
    ) -> Result<Self, StoreError> {
        let _ = (backends, layout);
        unimplemented!("helper: router")
    }

    /// The name of the backend that serves `path`.
    pub fn backend_of(&self, path: &SecretPath) -> String {
        let _ = path;
        unimplemented!("helper: router")
    }

    /// The backend named `name`.
    pub fn backend(&self, name: &str) -> Option<Arc<dyn SecretStore>> {
        let _ = name;
        unimplemented!("helper: router")
    }

    /// Every backend with its name: the local one first, then the declared ones in order.
    pub fn backends(&self) -> Vec<(String, Arc<dyn SecretStore>)> {
        unimplemented!("helper: router")
    }
}

impl SecretStore for Router {
    fn kind(&self) -> &'static str {
        unimplemented!("helper: router")
    }

    fn key_source(&self) -> String {
        unimplemented!("helper: router")
    }

    fn get(&self, path: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        let _ = path;
        unimplemented!("helper: router")
    }

    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        let _ = (path, value);
        unimplemented!("helper: router")
    }

    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError> {
        let _ = path;
        unimplemented!("helper: router")
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        let _ = prefix;
        unimplemented!("helper: router")
    }

    fn history(&self, path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        let _ = path;
        unimplemented!("helper: router")
    }
}
