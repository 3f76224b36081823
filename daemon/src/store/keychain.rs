//! The keychain backend (`kind = "keychain"`): each secret one item in the OS keychain through the
//! `keyring` crate (the Secret Service on Linux, the Keychain on macOS), with attributes naming the
//! hub and the secret path so that `secret-tool search` shows it.

use auth_hub_protocol::{SecretPath, SecretValue};

use super::{SecretMeta, SecretStore, StoreError, StoredSecret};

/// Secrets as keychain items.
pub struct KeychainStore {
    _private: (),
}

impl KeychainStore {
    /// The keychain backend named `name` (for messages) of the hub `keychain_id` (an attribute of
    /// every item, so hubs sharing one keychain never see each other's items). Opening contacts
    /// nothing: a missing or locked keychain fails each request, with what to do.
    pub fn open(name: &str, keychain_id: &str) -> Self {
        let _ = (name, keychain_id);
        unimplemented!("helper: keychain")
    }
}

impl SecretStore for KeychainStore {
    fn kind(&self) -> &'static str {
        "keychain"
    }

    fn key_source(&self) -> String {
        "none".to_owned()
    }

    fn get(&self, path: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        let _ = path;
        unimplemented!("helper: keychain")
    }

    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        let _ = (path, value);
        unimplemented!("helper: keychain")
    }

    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError> {
        let _ = path;
        unimplemented!("helper: keychain")
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        let _ = prefix;
        unimplemented!("helper: keychain")
    }

    fn history(&self, path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        let _ = path;
        unimplemented!("helper: keychain")
    }
}
