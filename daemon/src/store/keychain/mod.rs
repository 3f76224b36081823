//! The keychain backend (`kind = "keychain"`): each secret one item in the OS keychain (the Secret
//! Service on Linux), with attributes naming the hub and the secret path so that
//! `secret-tool search service auth-hub path github/alice/token` shows it ([`item`] lists them).
//!
//! - **Versions**: an item records its version and its created/updated times as attributes; a
//!   `put` writes version n + 1 as a new item and then deletes version n, so a crash in between
//!   leaves two items and the higher version is served. Earlier versions are not kept: the
//!   Secret Service has no notion of them, so [`SecretStore::history`] is always empty.
//! - **Isolation**: every item carries the hub's keychain id (its canonical state directory), and
//!   every search includes it, so two hubs sharing one keychain never see each other's items.
//! - **Bounded calls**: requests run on the backend's `worker` thread, which keeps the Secret
//!   Service session, and the caller waits at most [`DEFAULT_TIMEOUT`] (the D-Bus calls
//!   themselves time out after 2 s each, and prompts are dismissed at once). A request whose
//!   caller gave up before it started is dropped; one already under way may still complete,
//!   which the timeout message says.
//! - **Errors**: no Secret Service on the bus (or none answering in time) is
//!   [`StoreError::Unreachable`]; a locked collection is [`StoreError::Refused`] telling the user
//!   to unlock it. Both name the backend; the local backends are not affected.
//!
//! On macOS, whose Keychain cannot be searched by custom attributes, the backend keeps an
//! [`index`] entry per hub instead (not tested here: no macOS). On other platforms every call
//! fails with [`StoreError::Unreachable`] saying the backend is not built there.

pub mod index;
pub mod item;
#[cfg(target_os = "linux")]
mod secret_service;
#[cfg(not(target_os = "linux"))]
mod unsupported;
mod worker;

#[cfg(target_os = "linux")]
use secret_service as platform;
#[cfg(not(target_os = "linux"))]
use unsupported as platform;

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_hub_protocol::{SecretPath, SecretValue};

use super::{BackendHealth, SecretMeta, SecretStore, StoreError, StoredSecret};
use worker::{Unanswered, Worker};

/// How long a request waits for the keychain before it fails as unreachable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// What to tell the user when the keychain is locked.
pub const UNLOCK_HINT: &str = "the keychain is locked: unlock it (e.g. log in to the desktop, or \
                               `gnome-keyring-daemon --unlock`)";

/// Why a keychain call failed, before the backend's name is attached.
#[derive(Debug)]
// Where no Secret Service client is built, only `Unreachable` and `Late` occur.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
enum Failure {
    /// Nothing (usable) answers: no bus, no Secret Service on it, or a broken reply.
    Unreachable(String),
    /// The collection holding (or to hold) the item is locked.
    Locked,
    /// An item exists but cannot be served.
    Unusable { path: String, reason: String },
    /// The caller gave up before the request started, so it was not done.
    Late,
    /// Anything else the Secret Service said.
    Other(String),
}

/// How the backend finds a hub's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// By a Secret Service search on their attributes (Linux).
    Attributes,
    /// Through the hub's [`index`] entry (macOS).
    Index,
}

/// Secrets as keychain items.
pub struct KeychainStore {
    name: String,
    layout: Layout,
    keychain_id: Arc<str>,
    timeout: Duration,
    /// The thread that talks to the keychain, or why it could not be started.
    worker: Result<Worker, String>,
}

impl KeychainStore {
    /// The keychain backend named `name` (for messages) of the hub `keychain_id` (an attribute of
    /// every item, so hubs sharing one keychain never see each other's items). Opening contacts
    /// nothing: a missing or locked keychain fails each request, with what to do.
    pub fn open(name: &str, keychain_id: &str) -> Self {
        let layout = if cfg!(target_os = "macos") {
            Layout::Index
        } else {
            Layout::Attributes
        };
        Self::with_layout(name, keychain_id, layout)
    }

    /// The backend with the [`index`] layout, the one macOS uses, whatever the platform: how that
    /// layout is tested against the Secret Service.
    pub fn open_indexed(name: &str, keychain_id: &str) -> Self {
        Self::with_layout(name, keychain_id, Layout::Index)
    }

    fn with_layout(name: &str, keychain_id: &str, layout: Layout) -> Self {
        Self {
            name: name.to_owned(),
            layout,
            keychain_id: Arc::from(keychain_id),
            timeout: DEFAULT_TIMEOUT,
            worker: Worker::start(),
        }
    }

    /// The same store with another request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn error(&self, failure: Failure) -> StoreError {
        let backend = self.name.clone();
        match failure {
            Failure::Unreachable(reason) => StoreError::Unreachable {
                backend,
                reason: format!(
                    "no Secret Service answers on the hub's D-Bus session bus ({reason}); start \
                     one in the hub's session (gnome-keyring, KeePassXC) or route these paths \
                     to another backend"
                ),
            },
            Failure::Locked => StoreError::Refused {
                backend,
                reason: UNLOCK_HINT.to_owned(),
            },
            Failure::Unusable { path, reason } => StoreError::Unusable {
                backend,
                path,
                reason,
            },
            Failure::Late => StoreError::Unreachable {
                backend,
                reason: format!(
                    "the keychain was busy for more than {} s; the request was not done",
                    self.timeout.as_secs_f32()
                ),
            },
            Failure::Other(reason) => StoreError::Unreachable {
                backend,
                reason: format!("the Secret Service failed: {reason}"),
            },
        }
    }

    /// Runs `call` with the hub's id on the worker's Secret Service session; waits at most the
    /// timeout.
    fn call<T: Send + 'static>(
        &self,
        what: &'static str,
        call: impl Fn(&platform::Connection, &str) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, StoreError> {
        let worker = self.worker()?;
        let hub = Arc::clone(&self.keychain_id);
        self.answer(
            what,
            worker.run(self.timeout, move |connection| call(connection, &hub)),
        )
    }

    /// Runs `call` (which opens what it needs itself) with the hub's id on the worker; waits at
    /// most the timeout.
    fn call_indexed<T: Send + 'static>(
        &self,
        what: &'static str,
        call: impl FnOnce(&str) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, StoreError> {
        let worker = self.worker()?;
        let hub = Arc::clone(&self.keychain_id);
        self.answer(what, worker.run_with(self.timeout, move |_| call(&hub)))
    }

    fn worker(&self) -> Result<&Worker, StoreError> {
        self.worker
            .as_ref()
            .map_err(|reason| StoreError::Unreachable {
                backend: self.name.clone(),
                reason: reason.clone(),
            })
    }

    fn answer<T>(
        &self,
        what: &'static str,
        answer: Result<Result<T, Failure>, Unanswered>,
    ) -> Result<T, StoreError> {
        let unreachable = |reason: String| StoreError::Unreachable {
            backend: self.name.clone(),
            reason,
        };
        match answer {
            Ok(result) => result.map_err(|failure| self.error(failure)),
            Err(Unanswered::Timeout) => Err(unreachable(format!(
                "the Secret Service did not answer a {what} within {} s (a write may still \
                 complete)",
                self.timeout.as_secs_f32()
            ))),
            Err(Unanswered::Gone(reason)) => Err(unreachable(reason)),
        }
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
        let path = path.clone();
        match self.layout {
            Layout::Attributes => self.call("read", move |keychain, hub| {
                platform::get(keychain, hub, &path)
            }),
            Layout::Index => self.call_indexed("read", move |hub| index::get(hub, &path)),
        }
    }

    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        let path = path.clone();
        match self.layout {
            Layout::Attributes => self.call("write", move |keychain, hub| {
                platform::put(keychain, hub, &path, &value)
            }),
            Layout::Index => self.call_indexed("write", move |hub| index::put(hub, &path, &value)),
        }
    }

    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError> {
        let path = path.clone();
        match self.layout {
            Layout::Attributes => self.call("delete", move |keychain, hub| {
                platform::delete(keychain, hub, &path)
            }),
            Layout::Index => self.call_indexed("delete", move |hub| index::delete(hub, &path)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        let prefix = prefix.to_owned();
        match self.layout {
            Layout::Attributes => self.call("list", move |keychain, hub| {
                platform::list(keychain, hub, &prefix)
            }),
            Layout::Index => self.call_indexed("list", move |hub| index::list(hub, &prefix)),
        }
    }

    /// Always empty: the keychain keeps only the current version of each secret.
    fn history(&self, _path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        Ok(Vec::new())
    }

    /// Connects to the Secret Service and asks whether the default collection is locked: cheap,
    /// and bounded by the request timeout.
    fn health(&self) -> BackendHealth {
        let start = Instant::now();
        let result = match self.layout {
            Layout::Attributes => self.call("probe", |keychain, _| platform::probe(keychain)),
            Layout::Index => self.call_indexed("probe", index::probe),
        };
        let latency = Some(start.elapsed());
        match result {
            Ok(()) => BackendHealth {
                latency,
                ..BackendHealth::local()
            },
            Err(error) => BackendHealth {
                reachable: matches!(error, StoreError::Refused { .. }),
                authenticated: false,
                latency,
                version: None,
                problem: Some(error.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn failures_name_the_backend_and_what_to_do() {
        let store = KeychainStore::open("kc", "/state");
        let locked = store.error(Failure::Locked);
        assert!(matches!(locked, StoreError::Refused { .. }));
        assert_eq!(
            locked.to_string(),
            "backend kc refused the hub: the keychain is locked: unlock it (e.g. log in to the \
             desktop, or `gnome-keyring-daemon --unlock`)"
        );
        let gone = store.error(Failure::Unreachable("no bus".into()));
        assert!(matches!(gone, StoreError::Unreachable { .. }));
        assert!(gone
            .to_string()
            .starts_with("backend kc is unreachable: no Secret Service"));
        assert!(gone.to_string().contains("(no bus)"));
    }

    #[test]
    fn no_session_is_unreachable_within_the_timeout() {
        // No Secret Service in unit tests: a bus address where nothing listens is not set here
        // (the environment is shared), so whichever way the session fails it must be reported
        // as unreachable, naming the backend, well within the timeout.
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            return;
        }
        let store = KeychainStore::open("kc", "/state");
        let start = Instant::now();
        let err = store.get(&SecretPath::parse("kc/a").unwrap()).unwrap_err();
        assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
        assert!(
            err.to_string().starts_with("backend kc is unreachable"),
            "{err}"
        );
        assert!(start.elapsed() < DEFAULT_TIMEOUT);
        let health = store.health();
        assert!(!health.reachable && health.problem.is_some(), "{health:?}");
    }

    #[test]
    fn history_is_empty_without_asking_the_keychain() {
        let store = KeychainStore::open("kc", "/state");
        let path = SecretPath::parse("kc/a").unwrap();
        assert!(store.history(&path).unwrap().is_empty());
    }
}
