//! The store the hub serves from: named backends and the routes between them. Implements
//! [`SecretStore`] itself, so the handlers keep seeing one store; each path goes to the backend of
//! the first route whose scope covers it, else to the default backend.
//!
//! The local store (the sealed file, or memory) is always there as
//! [`LOCAL_BACKEND`]; a declared `kind = "file"` backend is that same store under another name.
//! Housekeeping (integrity, the audit anchor, checkpoints, the key source) is the local store's.
//!
//! The table of backends and routes sits behind one lock that is held only to clone an `Arc`:
//! a request picks its backend, drops the lock, then does its (possibly slow, remote) I/O. A
//! config reload ([`Router::reload`]) swaps the table whole; backends whose settings did not
//! change keep their instance (and so their connections, tokens and caches).

use std::sync::{Arc, PoisonError, RwLock};

use auth_hub_protocol::{SecretPath, SecretScope, SecretValue};

use super::keychain::KeychainStore;
use super::openbao::OpenBaoStore;
use super::settings::{BackendSettings, Layout, Route, LOCAL_BACKEND};
use super::{
    SecretMeta, SecretStore, StoreError, StoreIntegrity, StoreKind, StoreOptions, StoredSecret,
};
use crate::audit::AuditAnchor;

/// Backends by name, and the routes.
pub struct Router {
    /// The local store, [`LOCAL_BACKEND`].
    local: Arc<dyn SecretStore>,
    /// Identifies this hub's items in a shared keychain.
    keychain_id: String,
    table: RwLock<Arc<Table>>,
}

/// One generation of the layout: every backend with its settings, the routes, the default.
struct Table {
    backends: Vec<Backend>,
    routes: Vec<Route>,
    default: String,
}

struct Backend {
    name: String,
    /// `None` for the local store and for backends given to [`Router::with_backends`].
    settings: Option<BackendSettings>,
    store: Arc<dyn SecretStore>,
}

/// A backend as `auth status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// Its name (`file` for the local store).
    pub name: String,
    /// Its kind: `file`, `memory`, `keychain` or `openbao`.
    pub kind: String,
    /// The scopes of the routes that send paths to it, in order.
    pub routes: Vec<SecretScope>,
    /// True for the backend of every path no route matches.
    pub default: bool,
}

/// Metadata from a merged listing, with the backend that holds each path.
pub type ListedSecret = (SecretMeta, String);

/// A listing across backends: what answered, and the backends that failed.
#[derive(Debug, Default)]
pub struct MergedList {
    /// The entries, sorted by path, each with the backend that serves it.
    pub entries: Vec<ListedSecret>,
    /// Backends that could not list, with why; their paths are missing from `entries`.
    pub failures: Vec<StoreError>,
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
        let local = super::open(kind, options)?;
        let router = Self {
            local,
            keychain_id: options.keychain_id.clone(),
            table: RwLock::new(Arc::new(Table {
                backends: Vec::new(),
                routes: Vec::new(),
                default: LOCAL_BACKEND.to_owned(),
            })),
        };
        router.reload(layout)?;
        Ok(router)
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
        let local = backends
            .iter()
            .find(|(name, _)| name == LOCAL_BACKEND)
            .or_else(|| backends.first())
            .map(|(_, store)| store.clone())
            .ok_or_else(|| unknown_backend(&layout.default))?;
        let backends: Vec<Backend> = backends
            .into_iter()
            .map(|(name, store)| Backend {
                name,
                settings: None,
                store,
            })
            .collect();
        let table = Table {
            backends,
            routes: layout.routes.clone(),
            default: layout.default.clone(),
        };
        table.check()?;
        Ok(Self {
            local,
            keychain_id: String::new(),
            table: RwLock::new(Arc::new(table)),
        })
    }

    /// Applies a new layout (a config reload): routes and the default change at once; a backend
    /// keeps its open instance when its kind and settings did not change, and is opened anew
    /// otherwise. On error nothing changes.
    ///
    /// # Errors
    /// The layout names a backend it does not declare; a changed backend cannot be opened.
    pub fn reload(&self, layout: &Layout) -> Result<(), StoreError> {
        let old = self.table();
        let mut backends = vec![Backend {
            name: LOCAL_BACKEND.to_owned(),
            settings: None,
            store: self.local.clone(),
        }];
        for spec in &layout.backends {
            if spec.name == LOCAL_BACKEND {
                // The implicit local store, declared explicitly (validation allows only kind file).
                continue;
            }
            let kept = old
                .backends
                .iter()
                .find(|b| b.name == spec.name && b.settings.as_ref() == Some(&spec.settings));
            let store = match kept {
                Some(backend) => backend.store.clone(),
                None => self.open_backend(&spec.name, &spec.settings)?,
            };
            backends.push(Backend {
                name: spec.name.clone(),
                settings: Some(spec.settings.clone()),
                store,
            });
        }
        let table = Table {
            backends,
            routes: layout.routes.clone(),
            default: layout.default.clone(),
        };
        table.check()?;
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(table);
        Ok(())
    }

    fn open_backend(
        &self,
        name: &str,
        settings: &BackendSettings,
    ) -> Result<Arc<dyn SecretStore>, StoreError> {
        Ok(match settings {
            BackendSettings::File => self.local.clone(),
            BackendSettings::Keychain => Arc::new(KeychainStore::open(name, &self.keychain_id)),
            BackendSettings::OpenBao(bao) => {
                Arc::new(OpenBaoStore::open(name, bao, self.local.clone())?)
            }
        })
    }

    fn table(&self) -> Arc<Table> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// True when the backend serving `path` reads from memory without blocking (see
    /// [`SecretStore::reads_from_memory`]).
    pub fn answers_from_memory(&self, path: &SecretPath) -> bool {
        self.serving(path)
            .is_ok_and(|(_, store)| store.reads_from_memory())
    }

    /// The name of the backend that serves `path`.
    pub fn backend_of(&self, path: &SecretPath) -> String {
        self.table().route(path).to_owned()
    }

    /// The backend named `name`.
    pub fn backend(&self, name: &str) -> Option<Arc<dyn SecretStore>> {
        self.table().get(name)
    }

    /// Every backend with its name: the local one first, then the declared ones in order.
    pub fn backends(&self) -> Vec<(String, Arc<dyn SecretStore>)> {
        self.table()
            .backends
            .iter()
            .map(|b| (b.name.clone(), b.store.clone()))
            .collect()
    }

    /// Every backend as `auth status` shows it (without its health), in [`Router::backends`]
    /// order.
    pub fn describe(&self) -> Vec<BackendInfo> {
        let table = self.table();
        table
            .backends
            .iter()
            .map(|b| BackendInfo {
                name: b.name.clone(),
                kind: match &b.settings {
                    None | Some(BackendSettings::File) => b.store.kind().to_owned(),
                    Some(BackendSettings::Keychain) => "keychain".to_owned(),
                    Some(BackendSettings::OpenBao(_)) => "openbao".to_owned(),
                },
                routes: table
                    .routes
                    .iter()
                    .filter(|route| route.backend == b.name)
                    .map(|route| route.scope.clone())
                    .collect(),
                default: table.default == b.name,
            })
            .collect()
    }

    /// The backend that serves `path`, with its name.
    fn serving(&self, path: &SecretPath) -> Result<(String, Arc<dyn SecretStore>), StoreError> {
        let table = self.table();
        let name = table.route(path);
        let store = table.get(name).ok_or_else(|| unknown_backend(name))?;
        Ok((name.to_owned(), store))
    }

    /// The secrets under `prefix` with the backend serving each, from every backend that can
    /// hold such paths. A backend's entries that route elsewhere (a copy left behind by a route
    /// change) are not shown. A backend that fails is reported in
    /// [`MergedList::failures`]; the others are still listed.
    pub fn list_merged(&self, prefix: &str) -> MergedList {
        let table = self.table();
        let mut merged = MergedList::default();
        let mut listed_stores: Vec<&Arc<dyn SecretStore>> = Vec::new();
        for backend in &table.backends {
            // A `file` alias shares the local instance: list each instance once, and keep the
            // entries that route to any of the names it goes by.
            if listed_stores.iter().any(|s| Arc::ptr_eq(s, &backend.store)) {
                continue;
            }
            let names: Vec<&str> = table
                .backends
                .iter()
                .filter(|b| Arc::ptr_eq(&b.store, &backend.store))
                .map(|b| b.name.as_str())
                .filter(|name| table.may_hold(name, prefix))
                .collect();
            if names.is_empty() {
                continue;
            }
            listed_stores.push(&backend.store);
            match backend.store.list(prefix) {
                Ok(listed) => {
                    for meta in listed {
                        let owner = table.route(&meta.path);
                        if names.contains(&owner) {
                            let owner = owner.to_owned();
                            merged.entries.push((meta, owner));
                        }
                    }
                }
                Err(error) => merged.failures.push(error),
            }
        }
        merged.entries.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        merged
    }

    /// [`Router::list_merged`] as one result: the entries with their backends, or the first
    /// backend's failure.
    ///
    /// # Errors
    /// A backend that can hold paths under `prefix` failed to list them.
    pub fn list_with_backends(&self, prefix: &str) -> Result<Vec<ListedSecret>, StoreError> {
        let mut merged = self.list_merged(prefix);
        match merged.failures.is_empty() {
            true => Ok(merged.entries),
            false => Err(merged.failures.remove(0)),
        }
    }
}

impl Table {
    /// The backend of `path`: the first route covering it, else the default.
    fn route(&self, path: &SecretPath) -> &str {
        self.routes
            .iter()
            .find(|route| route.scope.covers_path(path))
            .map_or(self.default.as_str(), |route| route.backend.as_str())
    }

    fn get(&self, name: &str) -> Option<Arc<dyn SecretStore>> {
        self.backends
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.store.clone())
    }

    /// Whether `name` can serve some path under `prefix`: it is the default, or one of its
    /// routes overlaps the prefix (covers it, or lies under it).
    fn may_hold(&self, name: &str, prefix: &str) -> bool {
        if self.default == name {
            return true;
        }
        let prefix = prefix.trim_end_matches('/');
        self.routes
            .iter()
            .filter(|route| route.backend == name)
            .any(|route| {
                let scope = route.scope.prefix();
                prefix.is_empty()
                    || scope.is_empty()
                    || SecretPath::parse(scope).is_ok_and(|p| p.starts_with_segments(prefix))
                    || SecretPath::parse(prefix).is_ok_and(|p| p.starts_with_segments(scope))
            })
    }

    /// Every route and the default name a backend of the table.
    fn check(&self) -> Result<(), StoreError> {
        let names = self
            .routes
            .iter()
            .map(|route| route.backend.as_str())
            .chain(std::iter::once(self.default.as_str()));
        for name in names {
            if self.get(name).is_none() {
                return Err(unknown_backend(name));
            }
        }
        Ok(())
    }
}

fn unknown_backend(name: &str) -> StoreError {
    StoreError::Unusable {
        backend: name.to_owned(),
        path: "*".to_owned(),
        reason: "no such backend is declared".to_owned(),
    }
}

impl SecretStore for Router {
    fn kind(&self) -> &'static str {
        self.local.kind()
    }

    fn key_source(&self) -> String {
        self.local.key_source()
    }

    fn get(&self, path: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        self.serving(path)?.1.get(path)
    }

    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        self.serving(path)?.1.put(path, value)
    }

    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError> {
        self.serving(path)?.1.delete(path)
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        Ok(self
            .list_with_backends(prefix)?
            .into_iter()
            .map(|(meta, _)| meta)
            .collect())
    }

    fn history(&self, path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        self.serving(path)?.1.history(path)
    }

    fn integrity(&self) -> StoreIntegrity {
        self.local.integrity()
    }

    fn audit_anchor(&self) -> Option<AuditAnchor> {
        self.local.audit_anchor()
    }

    fn checkpoint(&self, audit_head: Option<&AuditAnchor>, force: bool) -> Result<(), StoreError> {
        self.local.checkpoint(audit_head, force)
    }

    fn destroy(&self, path: &SecretPath) -> Result<bool, StoreError> {
        self.serving(path)?.1.destroy(path)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::settings::BackendSpec;
    use crate::test_support::path;

    fn route(scope: &str, backend: &str) -> Route {
        Route {
            scope: SecretScope::parse(scope).unwrap(),
            backend: backend.to_owned(),
        }
    }

    fn value(text: &str) -> SecretValue {
        SecretValue::from(text.to_owned())
    }

    /// Every secret's path and backend, as the router lists them.
    fn listed(router: &Router) -> Vec<(String, String)> {
        router
            .list_with_backends("")
            .unwrap()
            .into_iter()
            .map(|(meta, backend)| (meta.path.as_str().to_owned(), backend))
            .collect()
    }

    /// `file`, `team` and `kc` memory stores, `team/*` and `team/x/*`-free routes.
    fn three() -> (Router, Vec<Arc<dyn SecretStore>>) {
        let stores: Vec<Arc<dyn SecretStore>> = (0..3)
            .map(|_| Arc::new(MemoryStore::new(3)) as Arc<dyn SecretStore>)
            .collect();
        let layout = Layout {
            backends: Vec::new(),
            routes: vec![route("team/*", "team"), route("cargo/token", "kc")],
            default: LOCAL_BACKEND.to_owned(),
        };
        let router = Router::with_backends(
            vec![
                ("file".into(), stores[0].clone()),
                ("team".into(), stores[1].clone()),
                ("kc".into(), stores[2].clone()),
            ],
            &layout,
        )
        .unwrap();
        (router, stores)
    }

    #[test]
    fn first_matching_route_wins_else_default() {
        let (router, stores) = three();
        assert_eq!(router.backend_of(&path("team/a/token")), "team");
        assert_eq!(router.backend_of(&path("team")), "file");
        assert_eq!(router.backend_of(&path("teams/token")), "file");
        assert_eq!(router.backend_of(&path("cargo/token")), "kc");
        assert_eq!(router.backend_of(&path("cargo/other")), "file");

        router.put(&path("team/a/token"), value("t")).unwrap();
        router.put(&path("github/me/token"), value("g")).unwrap();
        assert!(stores[1].get(&path("team/a/token")).unwrap().is_some());
        assert!(stores[0].get(&path("team/a/token")).unwrap().is_none());
        assert!(stores[0].get(&path("github/me/token")).unwrap().is_some());
        assert_eq!(
            router
                .get(&path("team/a/token"))
                .unwrap()
                .unwrap()
                .meta
                .version,
            1
        );
        assert!(router.delete(&path("team/a/token")).unwrap());
        assert!(stores[1].get(&path("team/a/token")).unwrap().is_none());
    }

    #[test]
    fn merged_list_is_sorted_attributed_and_hides_stale_copies() {
        let (router, stores) = three();
        router.put(&path("team/b"), value("1")).unwrap();
        router.put(&path("alpha/x"), value("2")).unwrap();
        router.put(&path("cargo/token"), value("3")).unwrap();
        // A stale copy in the default store of a path that routes to `team`.
        stores[0].put(&path("team/stale"), value("4")).unwrap();
        assert_eq!(
            listed(&router),
            vec![
                ("alpha/x".to_owned(), "file".to_owned()),
                ("cargo/token".to_owned(), "kc".to_owned()),
                ("team/b".to_owned(), "team".to_owned()),
            ]
        );
        let team: Vec<String> = router
            .list("team")
            .unwrap()
            .into_iter()
            .map(|meta| meta.path.as_str().to_owned())
            .collect();
        assert_eq!(team, vec!["team/b".to_owned()]);
    }

    /// A store whose every operation fails as an unreachable server would.
    struct Down;

    impl SecretStore for Down {
        fn kind(&self) -> &'static str {
            "openbao"
        }
        fn key_source(&self) -> String {
            "none".into()
        }
        fn get(&self, _: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
            Err(self.error())
        }
        fn put(&self, _: &SecretPath, _: SecretValue) -> Result<SecretMeta, StoreError> {
            Err(self.error())
        }
        fn delete(&self, _: &SecretPath) -> Result<bool, StoreError> {
            Err(self.error())
        }
        fn list(&self, _: &str) -> Result<Vec<SecretMeta>, StoreError> {
            Err(self.error())
        }
        fn history(&self, _: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
            Err(self.error())
        }
    }

    impl Down {
        fn error(&self) -> StoreError {
            StoreError::Unreachable {
                backend: "team".into(),
                reason: "connection refused".into(),
            }
        }
    }

    #[test]
    fn a_failing_backend_leaves_the_others_listed_and_serving() {
        let local: Arc<dyn SecretStore> = Arc::new(MemoryStore::new(3));
        let layout = Layout {
            backends: Vec::new(),
            routes: vec![route("team/*", "team")],
            default: LOCAL_BACKEND.to_owned(),
        };
        let router = Router::with_backends(
            vec![("file".into(), local), ("team".into(), Arc::new(Down))],
            &layout,
        )
        .unwrap();
        router.put(&path("github/me/token"), value("g")).unwrap();
        assert!(matches!(
            router.get(&path("team/x")),
            Err(StoreError::Unreachable { .. })
        ));
        let merged = router.list_merged("");
        assert_eq!(merged.entries.len(), 1);
        assert_eq!(merged.failures.len(), 1);
        assert!(router.list_with_backends("").is_err());
        // Nothing under `github` can be in `team`: it is not asked.
        assert_eq!(router.list_with_backends("github").unwrap().len(), 1);
        // Reads of local paths are served inline; the remote backend's go to the blocking pool.
        assert!(router.answers_from_memory(&path("github/me/token")));
        assert!(!router.answers_from_memory(&path("team/x")));
    }

    #[test]
    fn unknown_backends_are_refused() {
        let local: Arc<dyn SecretStore> = Arc::new(MemoryStore::new(3));
        let layout = Layout {
            backends: Vec::new(),
            routes: vec![route("team/*", "nowhere")],
            default: LOCAL_BACKEND.to_owned(),
        };
        let error = Router::with_backends(vec![("file".into(), local)], &layout)
            .err()
            .unwrap();
        assert!(error.to_string().contains("nowhere"), "{error}");
    }

    fn alias_layout(routes: Vec<Route>, default: &str) -> Layout {
        Layout {
            backends: vec![BackendSpec {
                name: "other".into(),
                settings: BackendSettings::File,
            }],
            routes,
            default: default.to_owned(),
        }
    }

    #[test]
    fn file_alias_shares_the_local_store_and_reload_swaps_routes() {
        let dir = tempfile::tempdir().unwrap();
        let layout = alias_layout(vec![route("team/*", "other")], LOCAL_BACKEND);
        let router =
            Router::open(StoreKind::Memory, &StoreOptions::new(dir.path()), &layout).unwrap();
        assert_eq!(router.backends().len(), 2);
        assert!(Arc::ptr_eq(
            &router.backend("file").unwrap(),
            &router.backend("other").unwrap()
        ));
        router.put(&path("team/a"), value("1")).unwrap();
        router.put(&path("b/c"), value("2")).unwrap();
        assert_eq!(
            listed(&router),
            vec![
                ("b/c".to_owned(), "file".to_owned()),
                ("team/a".to_owned(), "other".to_owned()),
            ]
        );
        let info = router.describe();
        assert_eq!(info[0].name, "file");
        assert!(info[0].default);
        assert_eq!(info[1].routes, vec![SecretScope::parse("team/*").unwrap()]);
        assert_eq!(info[1].kind, "memory");

        // Reload: no routes, default `other`; the instance is kept.
        let before = router.backend("other").unwrap();
        router.reload(&alias_layout(Vec::new(), "other")).unwrap();
        assert_eq!(router.backend_of(&path("team/a")), "other");
        assert_eq!(router.backend_of(&path("b/c")), "other");
        assert!(Arc::ptr_eq(&before, &router.backend("other").unwrap()));
        // A layout naming an unknown backend changes nothing.
        let bad = alias_layout(vec![route("x/*", "ghost")], LOCAL_BACKEND);
        assert!(router.reload(&bad).is_err());
        assert_eq!(router.backend_of(&path("b/c")), "other");
        assert_eq!(router.kind(), "memory");
    }
}
