//! A tiny in-process stand-in for auth-hub, for the client's own tests.
//!
//! It speaks the real protocol through the protocol crate (hello, `request_scope`, `get_secret`,
//! `put_secret`, `list_secrets`, `delete_secret`, `has_scope`, `watch_pending`) on a Unix socket in
//! a temp dir, with just enough policy to exercise the client: every scope is granted unless
//! denied by [`TestHub::deny`], tokens live in memory, and the test can drop every connection or
//! "restart" the hub (drop connections and forget every token). It counts what it was asked, so
//! tests assert round trips instead of timing.
//!
//! It is not the daemon: the end-to-end tests against the real `auth-hub` binary live in the
//! workspace's `tests/` crate.

// `ErrorReply` is the wire type the handlers answer with; boxing it would only add noise.
#![allow(dead_code, clippy::unwrap_used, clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use auth_hub_client::{ClientOptions, HubClient};
use auth_hub_protocol::frame::{decode_body, encode_body};
use auth_hub_protocol::request::Request;
use auth_hub_protocol::response::{
    Deleted, HasScopeReply, PendingList, ScopeOutcome, ScopeOutcomes, ScopeResult, ScopeToken,
    SecretEntry, SecretList, Written,
};
use auth_hub_protocol::{
    Access, AccessToken, ErrorCode, ErrorReply, Event, FrameCodec, Hello, HelloReply, MasterToken,
    Permissions, RequestEnvelope, Response, ResponseEnvelope, ResponseResult, Secret, SecretPath,
    SecretScope, ServerMessage, Welcome, DEFAULT_MAX_FRAME, PROTOCOL_VERSION,
};
use bytes::Bytes;
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use tempfile::TempDir;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};

/// The key the test hub accepts.
pub const MASTER_KEY: &str = "TAUTH_test--ztestkey";

/// A running test hub; stops (and removes its temp dir) on drop.
pub struct TestHub {
    dir: TempDir,
    socket: PathBuf,
    state: Arc<HubState>,
    accept: JoinHandle<()>,
}

struct StoredSecret {
    value: String,
    version: u64,
}

struct HubState {
    owner: AtomicBool,
    jitter: AtomicBool,
    /// The next request with this wire name is never answered.
    stall: Mutex<Option<String>>,
    token_ttl_ms: AtomicU64,
    next_token: AtomicU64,
    secrets: Mutex<BTreeMap<String, StoredSecret>>,
    tokens: Mutex<HashMap<String, Access>>,
    denied: Mutex<Vec<String>>,
    counts: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Bumped to close every open connection.
    generation: watch::Sender<u64>,
    events: broadcast::Sender<Event>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap()
}

impl TestHub {
    /// Binds a socket in a fresh temp dir and serves it.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("auth-hub.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let state = Arc::new(HubState {
            owner: AtomicBool::new(false),
            jitter: AtomicBool::new(false),
            stall: Mutex::default(),
            token_ttl_ms: AtomicU64::new(60_000),
            next_token: AtomicU64::new(1),
            secrets: Mutex::default(),
            tokens: Mutex::default(),
            denied: Mutex::default(),
            counts: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            generation: watch::channel(0).0,
            events: broadcast::channel(64).0,
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Self {
            dir,
            socket,
            state,
            accept,
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The temp dir holding the socket.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Client options for this hub with the valid key.
    pub fn options(&self) -> ClientOptions {
        let mut options = ClientOptions::new(&self.socket, "client-tests", "0.0.0");
        options.master_token = Some(MasterToken::from(MASTER_KEY));
        options
    }

    /// A client with [`TestHub::options`].
    pub fn client(&self) -> HubClient {
        HubClient::new(self.options())
    }

    /// Stores a secret directly.
    pub fn set_secret(&self, path: &str, value: &str) {
        let mut secrets = lock(&self.state.secrets);
        let version = secrets.get(path).map_or(1, |old| old.version + 1);
        secrets.insert(
            path.to_owned(),
            StoredSecret {
                value: value.to_owned(),
                version,
            },
        );
    }

    /// The stored value, if any.
    pub fn secret(&self, path: &str) -> Option<String> {
        lock(&self.state.secrets).get(path).map(|s| s.value.clone())
    }

    /// Refuses this exact scope pattern from now on.
    pub fn deny(&self, scope: &str) {
        lock(&self.state.denied).push(scope.to_owned());
    }

    /// Makes the key the owner key (for connections opened after this).
    pub fn set_owner(&self, owner: bool) {
        self.state.owner.store(owner, Ordering::SeqCst);
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        let ms = u64::try_from(ttl.as_millis()).unwrap();
        self.state.token_ttl_ms.store(ms, Ordering::SeqCst);
    }

    /// Delays `get_secret` answers by a few ms depending on the request id, so answers overtake
    /// each other.
    pub fn set_jitter(&self, jitter: bool) {
        self.state.jitter.store(jitter, Ordering::SeqCst);
    }

    /// Leaves the next request with this wire name (`delete_secret`, …) unanswered until its
    /// connection closes.
    pub fn stall_next(&self, operation: &str) {
        *lock(&self.state.stall) = Some(operation.to_owned());
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

    /// How many times an operation (`hello`, or a request's wire name) was received.
    pub fn count(&self, operation: &str) -> usize {
        lock(&self.state.counts)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// The most requests ever handled at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Closes every open connection.
    pub fn drop_connections(&self) {
        self.state
            .generation
            .send_modify(|generation| *generation += 1);
    }

    /// Forgets every access token (as a revocation does).
    pub fn revoke_tokens(&self) {
        lock(&self.state.tokens).clear();
    }

    /// A restart as the client sees it: connections closed, every token forgotten.
    pub fn restart(&self) {
        self.revoke_tokens();
        self.drop_connections();
    }

    /// Pushes an event to every connection that sent `watch_pending`.
    pub fn push_event(&self, event: Event) {
        let _ = self.state.events.send(event);
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_connections();
    }
}

async fn accept_loop(listener: UnixListener, state: Arc<HubState>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(serve_connection(stream, Arc::clone(&state)));
    }
}

impl HubState {
    fn count(&self, operation: &str) {
        *lock(&self.counts).entry(operation.to_owned()).or_default() += 1;
    }
}

async fn serve_connection(stream: UnixStream, state: Arc<HubState>) {
    let mut generation = state.generation.subscribe();
    generation.borrow_and_update();
    let (read, write) = stream.into_split();
    let mut reader = FramedRead::new(read, FrameCodec::default());
    let mut writer = FramedWrite::new(write, FrameCodec::default());

    let Some(Ok(body)) = reader.next().await else {
        return;
    };
    let Ok(hello) = decode_body::<Hello>(&body) else {
        return;
    };
    state.count("hello");
    let key_ok = hello.master_token.as_ref().map(MasterToken::expose) == Some(MASTER_KEY);
    let reply = if hello.protocol_version != PROTOCOL_VERSION {
        HelloReply::Error(ErrorReply::new(
            ErrorCode::UnsupportedVersion,
            "version 1 only",
        ))
    } else if !key_ok {
        HelloReply::Error(ErrorReply::new(
            ErrorCode::InvalidMasterToken,
            "unknown key",
        ))
    } else {
        HelloReply::Welcome(Welcome {
            protocol_version: PROTOCOL_VERSION,
            server_name: "test-hub".to_owned(),
            server_version: "0.0.0".to_owned(),
            key_name: Some("test".to_owned()),
            owner: state.owner.load(Ordering::SeqCst),
            max_frame: u32::try_from(DEFAULT_MAX_FRAME).unwrap(),
        })
    };
    let accepted = matches!(reply, HelloReply::Welcome(_));
    if writer.send(encode_body(&reply).unwrap()).await.is_err() || !accepted {
        return;
    }

    let (outgoing, mut queue) = mpsc::channel::<Bytes>(64);
    let write_task = tokio::spawn(async move {
        while let Some(body) = queue.recv().await {
            if writer.send(body).await.is_err() {
                return;
            }
        }
    });
    let mut events = state.events.subscribe();
    let mut watching = false;
    loop {
        tokio::select! {
            _ = generation.changed() => break,
            event = events.recv(), if watching => {
                if let Ok(event) = event {
                    let body = encode_body(&ServerMessage::Event(event)).unwrap();
                    let _ = outgoing.send(body).await;
                }
            }
            frame = reader.next() => {
                let Some(Ok(body)) = frame else { break };
                let Ok(envelope) = decode_body::<RequestEnvelope>(&body) else { break };
                state.count(envelope.request.name());
                if matches!(envelope.request, Request::WatchPending(_)) {
                    watching = true;
                    let result = ResponseResult::Ok(Response::Pending(PendingList { requests: vec![] }));
                    let _ = outgoing.send(respond(envelope.id, result)).await;
                    continue;
                }
                let stalled = {
                    let mut stall = lock(&state.stall);
                    let hit = stall.as_deref() == Some(envelope.request.name());
                    if hit {
                        *stall = None;
                    }
                    hit
                };
                if stalled {
                    let mut closed = state.generation.subscribe();
                    tokio::spawn(async move { closed.changed().await });
                    continue;
                }
                let (state, outgoing) = (Arc::clone(&state), outgoing.clone());
                tokio::spawn(async move {
                    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
                    if state.jitter.load(Ordering::SeqCst)
                        && matches!(envelope.request, Request::GetSecret(_))
                    {
                        tokio::time::sleep(Duration::from_millis(20 - envelope.id % 20)).await;
                    }
                    let result = handle(&state, envelope.request);
                    state.in_flight.fetch_sub(1, Ordering::SeqCst);
                    let _ = outgoing.send(respond(envelope.id, result)).await;
                });
            }
        }
    }
    // Dropping the reader and stopping the writer closes the socket.
    write_task.abort();
}

fn respond(id: u64, result: ResponseResult) -> Bytes {
    encode_body(&ServerMessage::Response(ResponseEnvelope { id, result })).unwrap()
}

fn handle(state: &HubState, request: Request) -> ResponseResult {
    match run(state, request) {
        Ok(response) => ResponseResult::Ok(response),
        Err(reply) => ResponseResult::Error(reply),
    }
}

/// The token's scope if it is known and allows `need` on `path`.
fn check_token(
    state: &HubState,
    token: Option<&AccessToken>,
    path: Option<&SecretPath>,
    need: Permissions,
) -> Result<Option<SecretScope>, ErrorReply> {
    let Some(token) = token else {
        if state.owner.load(Ordering::SeqCst) {
            return Ok(None);
        }
        return Err(ErrorReply::new(
            ErrorCode::BadRequest,
            "only the owner key may omit the token",
        ));
    };
    let Access { scope, permissions } = lock(&state.tokens)
        .get(token.expose())
        .cloned()
        .ok_or_else(|| ErrorReply::new(ErrorCode::InvalidAccessToken, "unknown access token"))?;
    let covers = match path {
        Some(path) => scope.covers_path(path),
        None => true,
    };
    if !covers || !permissions.includes(need) {
        let target = path.map(ToString::to_string);
        return Err(ErrorReply {
            path: target.clone(),
            have: Some(scope.to_string()),
            scope: path.map(|p| p.parent_scope().to_string()),
            ..ErrorReply::new(ErrorCode::InsufficientScope, "token does not allow this")
        });
    }
    Ok(Some(scope))
}

fn not_found(path: &SecretPath) -> ErrorReply {
    ErrorReply {
        path: Some(path.to_string()),
        ..ErrorReply::new(ErrorCode::NotFound, format!("no secret at {path}"))
    }
}

fn run(state: &HubState, request: Request) -> Result<Response, ErrorReply> {
    match request {
        Request::RequestScope(ask) => {
            let ttl = chrono::Duration::milliseconds(
                i64::try_from(state.token_ttl_ms.load(Ordering::SeqCst)).unwrap(),
            );
            let denied = lock(&state.denied).clone();
            let outcomes = ask
                .scopes
                .into_iter()
                .map(|scope| {
                    let result = if denied.iter().any(|d| d == scope.as_str()) {
                        ScopeResult::Error(ErrorReply::denied(scope.as_str(), "denied by policy"))
                    } else {
                        let n = state.next_token.fetch_add(1, Ordering::SeqCst);
                        let token = format!("tok-{n}");
                        lock(&state.tokens)
                            .insert(token.clone(), Access::new(scope.clone(), ask.permissions));
                        ScopeResult::Granted(ScopeToken {
                            access_token: AccessToken::from(token),
                            permissions: ask.permissions,
                            expires_at: Utc::now() + ttl,
                        })
                    };
                    ScopeOutcome { scope, result }
                })
                .collect();
            Ok(Response::Scopes(ScopeOutcomes { outcomes }))
        }
        Request::GetSecret(get) => {
            check_token(
                state,
                Some(&get.access_token),
                Some(&get.path),
                Permissions::READ,
            )?;
            let secrets = lock(&state.secrets);
            let stored = secrets
                .get(get.path.as_str())
                .ok_or_else(|| not_found(&get.path))?;
            Ok(Response::Secret(Secret {
                value: stored.value.as_str().into(),
                path: get.path,
                created_at: None,
                updated_at: None,
                version: stored.version,
            }))
        }
        Request::PutSecret(put) => {
            check_token(
                state,
                put.access_token.as_ref(),
                Some(&put.path),
                Permissions::WRITE,
            )?;
            let mut secrets = lock(&state.secrets);
            let version = secrets
                .get(put.path.as_str())
                .map_or(1, |old| old.version + 1);
            secrets.insert(
                put.path.to_string(),
                StoredSecret {
                    value: put.value.expose().to_owned(),
                    version,
                },
            );
            Ok(Response::Written(Written {
                path: put.path,
                version,
                updated_at: Utc::now(),
            }))
        }
        Request::DeleteSecret(delete) => {
            check_token(
                state,
                delete.access_token.as_ref(),
                Some(&delete.path),
                Permissions::WRITE,
            )?;
            lock(&state.secrets)
                .remove(delete.path.as_str())
                .ok_or_else(|| not_found(&delete.path))?;
            Ok(Response::Deleted(Deleted { path: delete.path }))
        }
        Request::ListSecrets(list) => {
            let scope = check_token(state, list.access_token.as_ref(), None, Permissions::READ)?;
            let now = Utc::now();
            let entries = lock(&state.secrets)
                .iter()
                .filter_map(|(path, stored)| {
                    let path = SecretPath::parse(path).ok()?;
                    let visible = path.starts_with_segments(&list.prefix)
                        && scope.as_ref().map(|scope| scope.covers_path(&path)) != Some(false);
                    visible.then_some(SecretEntry {
                        path,
                        version: stored.version,
                        created_at: now,
                        updated_at: now,
                    })
                })
                .collect();
            Ok(Response::Secrets(SecretList { entries }))
        }
        Request::HasScope(has) => {
            let denied = lock(&state.denied).iter().any(|d| d == has.scope.as_str());
            Ok(Response::HasScope(HasScopeReply {
                granted: !denied,
                needs_approval: false,
                grant_timeout_ms: 0,
            }))
        }
        other => Err(ErrorReply::new(
            ErrorCode::BadRequest,
            format!("the test hub does not handle {}", other.name()),
        )),
    }
}
