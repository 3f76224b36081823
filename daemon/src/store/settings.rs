//! The store's layout as `config.toml` declares it: named backends (`[store.backend.<name>]`),
//! the routes that send paths to them (`[[store.route]]`, first match wins) and the default
//! backend (`[store] default`). Parsed and validated by `policy::config`; opened by
//! [`super::router`].

use std::path::PathBuf;
use std::time::Duration;

use auth_hub_protocol::{SecretPath, SecretScope};

/// The name of the backend that exists without being declared: the sealed file store (or the
/// memory store of `--store memory`).
pub const LOCAL_BACKEND: &str = "file";

/// Every backend, route and the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The declared backends, in the file's order; the implicit [`LOCAL_BACKEND`] is not listed.
    pub backends: Vec<BackendSpec>,
    /// The routes, first match wins.
    pub routes: Vec<Route>,
    /// The backend of every path no route matches (`[store] default`, else [`LOCAL_BACKEND`]).
    pub default: String,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            backends: Vec::new(),
            routes: Vec::new(),
            default: LOCAL_BACKEND.to_owned(),
        }
    }
}

/// One `[store.backend.<name>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    /// The table's name.
    pub name: String,
    /// What it is.
    pub settings: BackendSettings,
}

/// A backend's kind and settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSettings {
    /// `kind = "file"`: the hub's sealed file store under another name.
    File,
    /// `kind = "keychain"`: each secret an item in the OS keychain.
    Keychain,
    /// `kind = "openbao"` (or `"vault"`): a KV v2 mount of an OpenBao or Vault server.
    OpenBao(OpenBaoSettings),
}

/// One `[[store.route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The paths it sends (`team/*`).
    pub scope: SecretScope,
    /// The backend's name.
    pub backend: String,
}

/// `[store.backend.<name>]` with `kind = "openbao"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBaoSettings {
    /// The server, `https://bao.example:8200` (plain `http://` only on loopback).
    pub url: String,
    /// The KV v2 mount (`secret`).
    pub mount: String,
    /// The folder inside the mount the hub's paths live under (`auth-hub`).
    pub prefix: String,
    /// `X-Vault-Namespace`, for servers with namespaces.
    pub namespace: Option<String>,
    /// A PEM file of CA certificates to trust instead of the system's.
    pub ca_cert: Option<PathBuf>,
    /// How the hub logs in.
    pub auth: OpenBaoAuth,
    /// How long a value read from the server may be served again without asking it (zero: never).
    pub cache_ttl: Duration,
    /// The bound on one HTTP request to the server (connect + answer).
    pub timeout: Duration,
}

/// How the hub authenticates to OpenBao. The credential itself lives in the local store, at a
/// path the config names, never in `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenBaoAuth {
    /// `token_path = "<local secret path>"`: a token, renewed before it expires.
    Token {
        /// Where the token lives in the local store.
        token_path: SecretPath,
    },
    /// `role_id = "…"` and `secret_id_path = "<local secret path>"`: AppRole, logged in again
    /// before the login's token expires.
    AppRole {
        /// The role id (not a secret on its own).
        role_id: String,
        /// Where the secret id lives in the local store.
        secret_id_path: SecretPath,
    },
}

/// Default `mount`.
pub const DEFAULT_MOUNT: &str = "secret";
/// Default `prefix`.
pub const DEFAULT_PREFIX: &str = "auth-hub";
/// Default `timeout` of one request to a remote backend.
pub const DEFAULT_REMOTE_TIMEOUT: Duration = Duration::from_secs(5);
