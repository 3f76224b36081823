//! The real hub in process for the client's tests: `auth_hub::serve` on a temporary socket with a
//! memory store (or the file store, for a restart), behind a thin tap that counts what the client
//! sends and can hold back one request, delay answers or cut every connection.
//!
//! The tap forwards frames unchanged; it only reads them (with the protocol crate) to count round
//! trips, so the tests assert round trips instead of timing. Everything else — hello, policy,
//! tokens, secrets, error replies, pushed events — is the daemon's own code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use auth_hub::store::StoreKind;
use auth_hub::{Hub, HubOptions, HubPaths};
use auth_hub_client::protocol::frame::decode_body;
use auth_hub_client::protocol::{
    Event, FrameCodec, MasterToken, Permissions, RequestEnvelope, SecretPath, SecretValue,
    ServerMessage,
};
use auth_hub_client::{ClientOptions, HubClient};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tempfile::TempDir;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;

/// Name of the service key the clients use unless [`TestHub::set_owner`] says otherwise.
pub const SERVICE_KEY: &str = "test";
/// Name of the owner key.
const OWNER_KEY: &str = "owner";
/// First segments the service key may ask for (read and write) unless a scope is denied.
const ALLOWED: [&str; 7] = ["github", "gitlab", "cargo", "pypi", "hex", "npm", "a"];

/// A running hub with its tap; stops (and removes its temp dir) on drop.
pub struct TestHub {
    dir: TempDir,
    store: StoreKind,
    /// None only while [`TestHub::restart`] swaps hubs.
    hub: Option<Arc<Hub>>,
    serving: Option<(CancellationToken, JoinHandle<()>)>,
    owner_key: MasterToken,
    service_key: MasterToken,
    denied: Mutex<Vec<String>>,
    token_ttl: Mutex<Duration>,
    tap: Arc<Tap>,
    accept: JoinHandle<()>,
}

/// What the tap saw and what it is told to do.
#[derive(Default)]
struct Tap {
    owner: AtomicBool,
    jitter: AtomicBool,
    /// The next request with this wire name is never forwarded.
    stall: Mutex<Option<String>>,
    counts: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Bumped to close every open connection.
    generation: watch::Sender<u64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap()
}

impl TestHub {
    /// A hub with the memory store.
    pub async fn start() -> Self {
        Self::start_with(StoreKind::Memory).await
    }

    /// A hub with the given store (the file store survives [`TestHub::restart`]).
    pub async fn start_with(store: StoreKind) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let token_ttl = Duration::from_secs(60);
        std::fs::write(dir.path().join("config.toml"), config(&[], token_ttl)).unwrap();
        let hub = open(dir.path(), store);
        let now = chrono::Utc::now();
        let (owner_key, service_key) = {
            let mut keys = auth_hub::hub::lock(&hub.keys);
            let owner = keys.create_owner(OWNER_KEY, now).unwrap().0;
            let service = keys
                .create_service(SERVICE_KEY, Vec::new(), Permissions::default(), None, now)
                .unwrap()
                .0;
            (owner, service)
        };
        let serving = Some(serve(dir.path(), &hub));
        let hub = Some(hub);
        let listener = UnixListener::bind(dir.path().join("auth-hub.sock")).unwrap();
        let tap = Arc::new(Tap::default());
        let accept = tokio::spawn(accept_loop(listener, hub_socket(dir.path()), tap.clone()));
        Self {
            dir,
            store,
            hub,
            serving,
            owner_key,
            service_key,
            denied: Mutex::default(),
            token_ttl: Mutex::new(token_ttl),
            tap,
            accept,
        }
    }

    fn hub(&self) -> &Arc<Hub> {
        self.hub.as_ref().expect("the hub is open")
    }

    /// The socket the clients connect to (the tap's).
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("auth-hub.sock")
    }

    /// Client options for this hub with the service key (or the owner key after
    /// [`TestHub::set_owner`]).
    pub fn options(&self) -> ClientOptions {
        let mut options = ClientOptions::new(self.socket(), "client-tests", "0.0.0");
        let key = if self.tap.owner.load(Ordering::SeqCst) {
            &self.owner_key
        } else {
            &self.service_key
        };
        options.master_token = Some(MasterToken::from(key.expose()));
        options
    }

    /// A client with [`TestHub::options`].
    pub fn client(&self) -> HubClient {
        HubClient::new(self.options())
    }

    /// Stores a secret directly in the hub's store.
    pub fn set_secret(&self, path: &str, value: &str) {
        self.hub()
            .store
            .put(&SecretPath::parse(path).unwrap(), SecretValue::from(value))
            .unwrap();
    }

    /// The stored value, if any.
    pub fn secret(&self, path: &str) -> Option<String> {
        self.hub()
            .store
            .get(&SecretPath::parse(path).unwrap())
            .unwrap()
            .map(|stored| stored.value.expose().to_owned())
    }

    /// Refuses this scope pattern to the service key from now on (a `deny` rule in the config).
    pub fn deny(&self, scope: &str) {
        lock(&self.denied).push(scope.to_owned());
        self.rewrite_config();
    }

    /// Makes the clients created from now on use the owner key.
    pub fn set_owner(&self, owner: bool) {
        self.tap.owner.store(owner, Ordering::SeqCst);
    }

    /// Lifetime of tokens issued from now on (`policy.token_ttl`).
    pub fn set_token_ttl(&self, ttl: Duration) {
        *lock(&self.token_ttl) = ttl;
        self.rewrite_config();
    }

    fn rewrite_config(&self) {
        let text = config(&lock(&self.denied), *lock(&self.token_ttl));
        std::fs::write(self.dir.path().join("config.toml"), text).unwrap();
        self.hub().reload_config();
        assert_eq!(self.hub().config_error(), None, "the test config is valid");
    }

    /// Delays answers to `get_secret` by a few ms depending on the request id, so answers
    /// overtake each other.
    pub fn set_jitter(&self, jitter: bool) {
        self.tap.jitter.store(jitter, Ordering::SeqCst);
    }

    /// Holds back the next request with this wire name (`delete_secret`, …): the hub never sees
    /// it, so it stays unanswered until its connection closes.
    pub fn stall_next(&self, operation: &str) {
        *lock(&self.tap.stall) = Some(operation.to_owned());
    }

    /// Waits (doubling backoff, at most 5 s) until `condition` holds.
    pub async fn wait_until(&self, what: &str, condition: impl Fn(&Self) -> bool) {
        let mut delay = Duration::from_millis(1);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !condition(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(100));
        }
    }

    /// How many times an operation (`hello`, or a request's wire name) was sent to the hub.
    pub fn count(&self, operation: &str) -> usize {
        lock(&self.tap.counts).get(operation).copied().unwrap_or(0)
    }

    /// Scope requests sent: `request_scope`, and `get_secret_scoped` (which asks for its path's
    /// parent scope in the same request).
    pub fn scope_requests(&self) -> usize {
        self.count("request_scope") + self.count("get_secret_scoped")
    }

    /// Reads sent: `get_secret` and `get_secret_scoped`.
    pub fn reads(&self) -> usize {
        self.count("get_secret") + self.count("get_secret_scoped")
    }

    /// The most requests ever unanswered at once.
    pub fn max_in_flight(&self) -> usize {
        self.tap.max_in_flight.load(Ordering::SeqCst)
    }

    /// Closes every open connection.
    pub fn drop_connections(&self) {
        self.tap
            .generation
            .send_modify(|generation| *generation += 1);
    }

    /// Forgets every access token of the service key, as revoking its grants does.
    pub fn revoke_tokens(&self) {
        self.hub().tokens.write().unwrap().revoke_key(SERVICE_KEY);
    }

    /// Stops the hub (its connections close) and opens it again on the same home: every access
    /// token is forgotten; keys, and secrets in a file store, remain.
    pub async fn restart(&mut self) {
        self.stop().await;
        // The old hub's last handles go when its tasks see the shutdown; its state lock with them.
        let old = Arc::downgrade(&self.hub.take().expect("the hub is open"));
        self.wait_until("the old hub to be dropped", |_| old.strong_count() == 0)
            .await;
        let hub = open(self.dir.path(), self.store);
        self.serving = Some(serve(self.dir.path(), &hub));
        self.hub = Some(hub);
    }

    async fn stop(&mut self) {
        if let Some((shutdown, task)) = self.serving.take() {
            shutdown.cancel();
            task.await.unwrap();
        }
    }

    /// Pushes an event through the hub's own channel to every connection watching pending
    /// requests.
    pub fn push_event(&self, event: Event) {
        let _ = self.hub().events.send(event);
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_connections();
        if let Some((shutdown, _)) = &self.serving {
            shutdown.cancel();
        }
    }
}

/// The hub's config: the owner gets anything; the service key gets read and write on
/// [`ALLOWED`] first segments except the `denied` scopes.
fn config(denied: &[String], token_ttl: Duration) -> String {
    let mut text = format!(
        "[policy]\ndefault = \"allow\"\ntoken_ttl = \"{}ms\"\n\n[store]\nkey_source = \"file\"\n",
        token_ttl.as_millis()
    );
    let rule = |scope: &str, action: &str| {
        format!(
            "\n[[policy.rule]]\nscope = \"{scope}\"\nkeys = [\"{SERVICE_KEY}\"]\naction = \"{action}\"\npermissions = [\"read\", \"write\"]\n"
        )
    };
    for scope in denied {
        text.push_str(&rule(scope, "deny"));
    }
    for first in ALLOWED {
        text.push_str(&rule(&format!("{first}/*"), "allow"));
    }
    text
}

fn hub_socket(home: &Path) -> PathBuf {
    home.join("hub.sock")
}

/// Opens the hub on `home`.
fn open(home: &Path, store: StoreKind) -> Arc<Hub> {
    Hub::open(HubOptions {
        paths: HubPaths::resolve(Some(home.to_owned()), Some(hub_socket(home))).unwrap(),
        store: Some(store),
        inherited: false,
        accept_store_loss: false,
    })
    .expect("hub opens")
}

/// Runs `auth_hub::serve` on a fresh socket at [`hub_socket`].
fn serve(home: &Path, hub: &Arc<Hub>) -> (CancellationToken, JoinHandle<()>) {
    let socket = hub_socket(home);
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).unwrap();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone().cancelled_owned();
    let hub = hub.clone();
    let task = tokio::spawn(async move { auth_hub::serve(listener, hub, stop).await.unwrap() });
    (shutdown, task)
}

async fn accept_loop(listener: UnixListener, hub: PathBuf, tap: Arc<Tap>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(relay(stream, hub.clone(), tap.clone()));
    }
}

impl Tap {
    fn count(&self, operation: &str) {
        *lock(&self.counts).entry(operation.to_owned()).or_default() += 1;
    }

    fn answered(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Forwards one client connection to the hub, frame by frame, until either side closes or the
/// tap cuts every connection.
async fn relay(client: UnixStream, hub: PathBuf, tap: Arc<Tap>) {
    let mut generation = tap.generation.subscribe();
    generation.borrow_and_update();
    let Ok(upstream) = UnixStream::connect(&hub).await else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (hub_read, hub_write) = upstream.into_split();
    let mut from_client = FramedRead::new(client_read, FrameCodec::default());
    let mut to_hub = FramedWrite::new(hub_write, FrameCodec::default());
    let mut from_hub = FramedRead::new(hub_read, FrameCodec::default());
    let (to_client, mut outgoing) = mpsc::unbounded_channel::<Bytes>();
    let writer = tokio::spawn(async move {
        let mut sink = FramedWrite::new(client_write, FrameCodec::default());
        while let Some(body) = outgoing.recv().await {
            if sink.send(body).await.is_err() {
                return;
            }
        }
    });
    // Wire names of the requests forwarded and not yet answered, by id.
    let names = Mutex::new(HashMap::<u64, String>::new());

    let upward = async {
        let mut first = true;
        while let Some(Ok(body)) = from_client.next().await {
            if first {
                first = false;
                tap.count("hello");
            } else if let Ok(envelope) = decode_body::<RequestEnvelope>(&body) {
                let name = envelope.request.name().to_owned();
                tap.count(&name);
                let stalled = {
                    let mut stall = lock(&tap.stall);
                    let hit = stall.as_deref() == Some(name.as_str());
                    if hit {
                        *stall = None;
                    }
                    hit
                };
                if stalled {
                    continue;
                }
                lock(&names).insert(envelope.id, name);
                let now = tap.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                tap.max_in_flight.fetch_max(now, Ordering::SeqCst);
            }
            if to_hub.send(body.freeze()).await.is_err() {
                return;
            }
        }
    };
    let downward = async {
        let mut first = true;
        while let Some(Ok(body)) = from_hub.next().await {
            let body = body.freeze();
            let answered = match decode_body::<ServerMessage>(&body) {
                Ok(ServerMessage::Response(envelope)) if !first => lock(&names)
                    .remove(&envelope.id)
                    .map(|name| (envelope.id, name)),
                _ => None,
            };
            first = false;
            match answered {
                Some((id, name)) if name == "get_secret" && tap.jitter.load(Ordering::SeqCst) => {
                    let (tap, to_client) = (tap.clone(), to_client.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(20 - id % 20)).await;
                        tap.answered();
                        let _ = to_client.send(body);
                    });
                }
                Some(_) => {
                    tap.answered();
                    let _ = to_client.send(body);
                }
                None => {
                    let _ = to_client.send(body);
                }
            }
        }
    };
    let cut = tokio::select! {
        _ = generation.changed() => true,
        () = upward => false,
        () = downward => false,
    };
    if cut {
        // Dropping the readers and stopping the writer closes both sockets at once.
        writer.abort();
    } else {
        // One side closed: what the hub already answered (a refused hello) still reaches the
        // client.
        drop(to_client);
        let _ = writer.await;
    }
}
