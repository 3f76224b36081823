//! The OpenBao / Vault backend (`kind = "openbao"` or `"vault"`): the hub's paths in a KV v2 mount,
//! `GET /v1/<mount>/data/<prefix>/<path>`, the value in the KV data's `value` field. The hub's
//! credential (a token, or an AppRole secret id) is read from the local store at the path the
//! config names; tokens are renewed and AppRole logins repeated before they expire. Every request
//! is bounded by the configured timeout.

use std::sync::Arc;

use auth_hub_protocol::{SecretPath, SecretValue};

use super::settings::OpenBaoSettings;
use super::{SecretMeta, SecretStore, StoreError, StoredSecret};

/// A KV v2 mount as a store.
pub struct OpenBaoStore {
    _private: (),
}

impl OpenBaoStore {
    /// The backend named `name` with `settings`, reading its credential from `local` (the hub's
    /// local store). Contacts nothing: a server that is down fails each request with
    /// [`StoreError::Unreachable`] until it answers.
    ///
    /// # Errors
    /// Unusable settings (a CA file that cannot be read or parsed).
    pub fn open(
        name: &str,
        settings: &OpenBaoSettings,
        local: Arc<dyn SecretStore>,
    ) -> Result<Self, StoreError> {
        let _ = (name, settings, local);
        unimplemented!("helper: openbao")
    }
}

impl SecretStore for OpenBaoStore {
    fn kind(&self) -> &'static str {
        "openbao"
    }

    fn key_source(&self) -> String {
        "none".to_owned()
    }

    fn get(&self, path: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        let _ = path;
        unimplemented!("helper: openbao")
    }

    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        let _ = (path, value);
        unimplemented!("helper: openbao")
    }

    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError> {
        let _ = path;
        unimplemented!("helper: openbao")
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        let _ = prefix;
        unimplemented!("helper: openbao")
    }

    fn history(&self, path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        let _ = path;
        unimplemented!("helper: openbao")
    }
}
