//! The hub's shared state: every table the handlers read and change, each behind its own lock.
//!
//! Locks are `std::sync` and are never held across an `.await`; slow work (store writes) runs on
//! the blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Instant;

use auth_hub_protocol::Event;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use crate::audit::{AuditLog, AuditRecord};
use crate::declared::{self, DeclaredBook};
use crate::error::HubError;
use crate::grants::{GrantBook, PendingBook};
use crate::identity::jwks_cache::JwksCache;
use crate::identity::signing::SigningKeys;
use crate::integrity::{self, Findings};
use crate::keys::KeyRing;
use crate::paths::HubPaths;
use crate::policy::HubConfig;
use crate::providers::ProviderBook;
use crate::recovery::RecoveryCodes;
use crate::repos::RepoBook;
use crate::session::Session;
use crate::state_lock::StateLock;
use crate::store::router::Router;
use crate::store::{SecretStore, StoreError, StoreKind, StoreOptions};
use crate::tokens::TokenTable;

/// Most access tokens held at once.
const MAX_TOKENS: usize = 65_536;

/// How a hub is opened.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Its files.
    pub paths: HubPaths,
    /// Overrides the config file's store backend (`--store memory`).
    pub store: Option<StoreKind>,
    /// True when a service manager passed the socket (`paths.socket` is then the inherited
    /// socket's path), for the record in the state directory.
    pub inherited: bool,
    /// Start with an empty store when the store's files are gone (`--accept-store-loss`).
    pub accept_store_loss: bool,
}

/// Everything one hub owns.
pub struct Hub {
    /// Its files.
    pub paths: HubPaths,
    config: RwLock<Arc<HubConfig>>,
    config_error: Mutex<Option<String>>,
    /// API keys.
    pub keys: Mutex<KeyRing>,
    /// Standing grants.
    pub grants: Mutex<GrantBook>,
    /// AuthProvider records, every version.
    pub providers: Mutex<ProviderBook>,
    /// The hub's JWT signing keys.
    pub signing: Mutex<SigningKeys>,
    /// Providers' JWKS, fetched on demand.
    pub provider_keys: JwksCache,
    /// The loopback HTTP listener's address, once it is bound (`[http] listen`).
    pub http_address: Mutex<Option<std::net::SocketAddr>>,
    /// Requests waiting for the owner.
    pub pending: Mutex<PendingBook>,
    /// Registered repositories.
    pub repos: Mutex<RepoBook>,
    /// What each registered repository's `.hyperforge/config.toml` declares.
    pub declared: Mutex<DeclaredBook>,
    /// Woken when a repository is registered or unregistered, so the watcher updates its set.
    pub repos_changed: Notify,
    /// Access tokens.
    pub tokens: RwLock<TokenTable>,
    /// Secret values: [`Hub::router`] seen through the trait, for handlers that only read and
    /// write paths.
    pub store: Arc<dyn SecretStore>,
    /// The router over the local store and the declared backends: which backend serves a path,
    /// merged listings, health, reload.
    pub router: Arc<Router>,
    /// The audit trail.
    pub audit: AuditLog,
    /// What opening found missing from the store or the audit log.
    pub findings: Findings,
    /// Pending-request events for watchers.
    pub events: broadcast::Sender<Event>,
    /// When the hub started.
    pub started: Instant,
    /// Cancelled when the hub shuts down.
    pub shutdown: CancellationToken,
    /// The one-time code of an owner-key recovery in progress.
    pub recovery: RecoveryCodes,
    /// The state directory's lock, held for the hub's life; declared last so it is released
    /// after everything else is dropped.
    _state_lock: StateLock,
}

impl Hub {
    /// Opens every table from the hub's files. A missing file is an empty table; a corrupt one is
    /// an error (nothing is overwritten). An invalid config file is an error at start-up.
    ///
    /// First of all it takes the state directory's lock ([`StateLock`]) and records this process
    /// and `paths.socket` there: a second hub on the same state refuses before touching anything.
    ///
    /// # Errors
    /// Any [`HubError`] from the directories, the state lock (another hub owns the state), config,
    /// store, keys, grants, repositories or audit log.
    pub fn open(options: HubOptions) -> Result<Arc<Self>, HubError> {
        let paths = options.paths;
        paths.prepare()?;
        let state_lock = StateLock::acquire(&paths.state_dir, &paths.socket, options.inherited)
            .map_err(|error| HubError::Setup(error.to_string()))?;
        let config = HubConfig::load(&paths.config_file)?;
        let kind = options.store.unwrap_or(config.store.backend);
        let router = Arc::new(
            Router::open(
                kind,
                &StoreOptions {
                    dir: paths.store_dir().to_path_buf(),
                    key_source: config.store.key_source,
                    history: config.store.history,
                    keychain_id: paths.state_dir.display().to_string(),
                    accept_loss: options.accept_store_loss,
                },
                &config.store.layout,
            )
            .map_err(unusable_store)?,
        );
        let keys = KeyRing::load(&paths.keys_file())?;
        let grants = GrantBook::load(&paths.grants_file())?;
        let providers = ProviderBook::load(&paths.providers_file())?;
        let signing = SigningKeys::load_or_create(&paths.jwt_keys_file(), chrono::Utc::now())?;
        let repos = RepoBook::load(&paths.repos_file())?;
        let audit = AuditLog::open(&paths.audit_file(), router.audit_anchor().as_ref())?;
        let findings = integrity::check_on_open(&*router, &audit, &paths.audit_file());
        let mut declared = DeclaredBook::new();
        for repo in repos.list() {
            declared.set(&repo.path, declared::read(Path::new(&repo.path)));
        }
        let (events, _) = broadcast::channel(256);
        Ok(Arc::new(Self {
            config: RwLock::new(Arc::new(config)),
            config_error: Mutex::new(None),
            keys: Mutex::new(keys),
            grants: Mutex::new(grants),
            providers: Mutex::new(providers),
            signing: Mutex::new(signing),
            provider_keys: JwksCache::new(),
            http_address: Mutex::new(None),
            pending: Mutex::new(PendingBook::default()),
            repos: Mutex::new(repos),
            declared: Mutex::new(declared),
            repos_changed: Notify::new(),
            tokens: RwLock::new(TokenTable::new(MAX_TOKENS)),
            store: router.clone(),
            router,
            audit,
            findings,
            events,
            started: Instant::now(),
            shutdown: CancellationToken::new(),
            recovery: RecoveryCodes::new(&paths.state_dir),
            paths,
            _state_lock: state_lock,
        }))
    }

    /// The settings in force.
    pub fn config(&self) -> Arc<HubConfig> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Re-reads the config file: a valid file replaces the settings (the store's routes and
    /// default at once; a backend whose settings changed is reopened), an invalid one, or one
    /// whose backends cannot be opened, keeps them and is remembered for `status`.
    pub fn reload_config(&self) {
        let loaded = HubConfig::load(&self.paths.config_file)
            .map_err(|error| error.to_string())
            .and_then(|config| {
                self.router
                    .reload(&config.store.layout)
                    .map(|()| config)
                    .map_err(|error| format!("{}: {error}", self.paths.config_file.display()))
            });
        match loaded {
            Ok(config) => {
                if config.http != self.config().http {
                    tracing::warn!("[http] changed in the config file; restart the hub to apply it (the listener is bound at start-up)");
                }
                *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
                *lock(&self.config_error) = None;
                tracing::info!(file = %self.paths.config_file.display(), "config reloaded");
            }
            Err(error) => {
                tracing::error!(%error, "config file invalid; keeping the previous settings");
                *lock(&self.config_error) = Some(error);
            }
        }
    }

    /// Re-reads `repo`'s `.hyperforge/config.toml` if `repo` is registered (and forgets it if
    /// not), logging a change.
    pub fn refresh_declared(&self, repo: &str) {
        if !lock(&self.repos).contains(repo) {
            lock(&self.declared).remove(repo);
            return;
        }
        let reading = declared::read(Path::new(repo));
        let shown = match &reading {
            Ok(forges) => format!("{} forge(s)", forges.len()),
            Err(error) => error.to_string(),
        };
        if lock(&self.declared).set(repo, reading) {
            tracing::info!(repo, declared = %shown, "repository config read");
        }
    }

    /// The last config load error, if the file in force is not the file on disk.
    pub fn config_error(&self) -> Option<String> {
        lock(&self.config_error).clone()
    }

    /// Appends to the audit trail; a failure is logged, never shown to the client.
    pub fn record(&self, session: &Session, record: AuditRecord<'_>) {
        let record = AuditRecord {
            uid: Some(session.peer.uid),
            pid: session.peer.pid,
            exe: session.peer.exe.as_deref(),
            key: session.key_name(),
            client: Some(&session.client_name),
            ..record
        };
        if let Err(error) = self.audit.append(&record) {
            tracing::error!(%error, "cannot append to the audit log");
        }
    }
}

/// A store none of whose files can be read stops the hub: the error says the ways forward, the
/// last of which gives the secrets up.
fn unusable_store(error: StoreError) -> HubError {
    match error {
        StoreError::Corrupt { .. } => HubError::Setup(format!(
            "{error}, and no other store file can be read. If store.key or the keychain entry was \
             replaced, put the right key back; else restore secrets-a.sealed and secrets-b.sealed \
             from a backup, or move them aside and start with an empty store: auth-hub serve \
             --accept-store-loss"
        )),
        other => other.into(),
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (every table stays
/// consistent because each change persists before the in-memory state is updated).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
