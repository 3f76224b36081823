//! The Unix-socket client: one connection to the hub, many requests in flight on it.
//!
//! A [`HubClient`] is a cheap handle (an `Arc` inside); clones share the connection and the
//! caches. The connection is opened on first use and starts with the hello. After the welcome, a
//! caller writes its own frame under a lock, and a reader task decodes what the hub sends
//! and routes each response by its `id` to the call waiting for it, and each event to the
//! `watch_pending` subscribers.
//!
//! When the connection dies (the hub closed it or sent something undecodable), every call in
//! flight fails with [`AuthError::ConnectionLost`] (or [`AuthError::Protocol`] when the hub sent
//! something undecodable) and the next call opens a new connection with a new
//! hello. A call that finds the connection dead before sending reconnects once; a read-only
//! request that was in flight when the connection closed is sent once more on a new connection
//! (nothing it did can be lost). If the hub then rejects a cached access token — it restarted and
//! forgot its tokens, or the token was revoked — the client drops the token, asks for the scope
//! again and retries once. Together that is "after a daemon restart the client asks again
//! transparently".
//!
//! Locks: the connection slot is a `tokio::sync::Mutex` (held across the connect and the hello, so
//! concurrent first calls share one connection); per-scope `tokio::sync::Mutex`es make concurrent
//! gets under one scope share one scope request. Everything else is a `std::sync::Mutex` held only
//! for a map operation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use auth_hub_protocol::frame::{decode_body, encode_body};
use auth_hub_protocol::request::{
    DeleteSecret, GetSecret, HasScope, ListRepos, ListSecrets, PutSecret, RegisterRepo, Request,
    RequestScope, UnregisterRepo, WatchPending,
};
use auth_hub_protocol::response::{
    PendingRequest, RepoInfo, ScopeOutcome, ScopeResult, SecretEntry,
};
use auth_hub_protocol::{
    Access, AccessToken, ErrorReply, Event, FrameCodec, FrameError, Hello, HelloReply, MasterToken,
    Permissions, RequestEnvelope, Response, ResponseEnvelope, ResponseResult, Secret, SecretPath,
    SecretScope, SecretValue, ServerMessage, Welcome, DEFAULT_MAX_FRAME, PROTOCOL_VERSION,
};
use futures::{SinkExt, StreamExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::auth_client::AuthClient;
use crate::cache::{SecretCache, TokenCache};
use crate::discover;
use crate::error::AuthError;

/// How long the hub may take to answer the hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Events buffered per `watch_pending` subscriber; more are dropped (with a warning) rather than
/// stalling every response behind a slow subscriber.
pub const EVENT_QUEUE: usize = 64;

/// How to reach the hub and how to behave.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The hub's socket.
    pub socket: PathBuf,
    /// The API key sent in the hello; `None` for a keyless session (status, login).
    pub master_token: Option<MasterToken>,
    /// This program's name, shown to approvers and in the audit log.
    pub client_name: String,
    /// This program's version.
    pub client_version: String,
    /// How long a scope request may wait for the owner's approval (0: do not wait).
    pub wait: Duration,
    /// How long a fetched secret value is reused without asking the hub again.
    pub secret_ttl: Duration,
    /// Largest frame accepted from the hub.
    pub max_frame: usize,
    /// Reason shown to the owner with scope requests.
    pub reason: String,
}

impl ClientOptions {
    /// Options from the environment: socket and key found by [`crate::discover`], wait 60 s,
    /// secret TTL 5 min.
    ///
    /// # Errors
    /// [`AuthError::BackendError`] when no socket path can be derived, key file read errors.
    pub fn from_env(client_name: &str, client_version: &str) -> Result<Self, AuthError> {
        Ok(Self {
            master_token: discover::master_token()?,
            ..Self::new(discover::socket_path()?, client_name, client_version)
        })
    }

    /// Options for an explicit socket, without a key, with the same defaults as
    /// [`ClientOptions::from_env`]; set `master_token` and the rest as needed.
    pub fn new(socket: impl Into<PathBuf>, client_name: &str, client_version: &str) -> Self {
        Self {
            socket: socket.into(),
            master_token: None,
            client_name: client_name.to_owned(),
            client_version: client_version.to_owned(),
            wait: Duration::from_secs(60),
            secret_ttl: Duration::from_secs(5 * 60),
            max_frame: DEFAULT_MAX_FRAME,
            reason: String::new(),
        }
    }
}

/// A client of one hub: one connection (opened on first use), many requests in flight.
#[derive(Clone)]
pub struct HubClient {
    inner: Arc<Inner>,
}

struct Inner {
    options: ClientOptions,
    /// The current connection; replaced when found dead.
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
    next_id: AtomicU64,
    tokens: TokenCache,
    secrets: SecretCache,
    /// One lock per scope pattern and permission set, so concurrent calls needing the same token
    /// share one scope request.
    scope_locks: Mutex<HashMap<Access, ScopeLock>>,
}

/// Held while one call requests a scope; others needing the same scope wait, then use its token.
type ScopeLock = Arc<tokio::sync::Mutex<()>>;

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("socket", &self.inner.options.socket)
            .field("client_name", &self.inner.options.client_name)
            .field("tokens", &self.inner.tokens)
            .field("secrets", &self.inner.secrets)
            .finish_non_exhaustive()
    }
}

/// Ignores lock poisoning: the guarded maps stay consistent even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One open connection after a successful hello.
struct Connection {
    welcome: Welcome,
    /// Requests are written by the calling task itself (no hop through a writer task, which
    /// would cost a scheduler round trip per request); the lock keeps frames whole.
    writer: tokio::sync::Mutex<FramedWrite<OwnedWriteHalf, FrameCodec>>,
    shared: Arc<Shared>,
    /// Largest request body the hub accepts.
    max_request: usize,
    /// Dropped with the connection, which stops the reader task.
    _stop_reader: oneshot::Sender<()>,
}

/// State the calls share with the reader and writer tasks.
#[derive(Default)]
struct Shared {
    state: Mutex<ConnState>,
}

/// Why a connection died.
#[derive(Clone)]
struct Closed {
    /// For people.
    reason: String,
    /// The hub went away (ended the connection, or the socket broke), as opposed to sending
    /// something this client cannot read: the former is [`AuthError::ConnectionLost`].
    hub_gone: bool,
}

#[derive(Default)]
struct ConnState {
    /// Why the connection died; `None` while it is alive.
    closed: Option<Closed>,
    /// Calls waiting for a response, by request id.
    pending: HashMap<u64, oneshot::Sender<ResponseResult>>,
    /// `watch_pending` subscribers.
    watchers: Vec<mpsc::Sender<Event>>,
}

impl Shared {
    fn is_dead(&self) -> bool {
        lock(&self.state).closed.is_some()
    }

    /// Marks the connection dead (once) and fails everything waiting on it.
    fn close(&self, reason: String, hub_gone: bool) {
        let (pending, watchers) = {
            let mut state = lock(&self.state);
            if state.closed.is_some() {
                return;
            }
            tracing::debug!(%reason, in_flight = state.pending.len(), "auth-hub connection closed");
            state.closed = Some(Closed { reason, hub_gone });
            (
                std::mem::take(&mut state.pending),
                std::mem::take(&mut state.watchers),
            )
        };
        // Dropping the senders wakes the waiting calls and ends the event streams.
        drop(pending);
        drop(watchers);
    }

    fn closed_error(&self) -> AuthError {
        let closed = lock(&self.state).closed.clone().unwrap_or(Closed {
            reason: "connection lost".to_owned(),
            hub_gone: true,
        });
        if closed.hub_gone {
            AuthError::ConnectionLost(closed.reason)
        } else {
            AuthError::Protocol(format!("connection to auth-hub closed: {}", closed.reason))
        }
    }

    fn dispatch(&self, message: ServerMessage) {
        match message {
            // Id 0 is the hub's "could not read your id": no waiter will ever get the answer,
            // so the connection is closed with it and every call on it fails with its words
            // (`busy` for a large frame the hub had no memory budget for, which it follows by
            // closing the connection itself).
            ServerMessage::Response(ResponseEnvelope {
                id: 0,
                result: ResponseResult::Error(reply),
            }) => self.close(
                format!(
                    "the hub refused a request it could not read ({}): {}",
                    reply.code, reply.message
                ),
                false,
            ),
            ServerMessage::Response(envelope) => {
                let waiter = lock(&self.state).pending.remove(&envelope.id);
                match waiter {
                    // The caller may have given up; nothing to do then.
                    Some(waiter) => drop(waiter.send(envelope.result)),
                    None => tracing::warn!(id = envelope.id, "response for no request in flight"),
                }
            }
            ServerMessage::Event(event) => {
                let mut state = lock(&self.state);
                state
                    .watchers
                    .retain(|watcher| match watcher.try_send(event.clone()) {
                        Ok(()) => true,
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            tracing::warn!(
                                "watch_pending subscriber is not reading; event dropped"
                            );
                            true
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => false,
                    });
            }
        }
    }
}

/// Why a request got no response.
enum SendError {
    /// The connection was dead before the request left: safe to send again.
    NotSent,
    /// The connection died with the request in flight.
    Lost(AuthError),
    /// The request can never be sent (too large, unencodable).
    Fatal(AuthError),
}

/// Removes a pending entry if the call is abandoned (its future dropped) before the answer.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.state).pending.remove(&self.id);
    }
}

impl Connection {
    /// Connects, sends the hello and starts the reader and writer tasks.
    async fn open(options: &ClientOptions) -> Result<Self, AuthError> {
        check_socket_path(&options.socket)?;
        let stream = UnixStream::connect(&options.socket)
            .await
            .map_err(|source| AuthError::Unreachable {
                socket: options.socket.clone(),
                source,
            })?;
        let (read, write) = stream.into_split();
        let codec = FrameCodec::new(options.max_frame);
        let mut reader = FramedRead::new(read, codec);
        let mut writer = FramedWrite::new(write, codec);

        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            client_name: options.client_name.clone(),
            client_version: options.client_version.clone(),
            master_token: options.master_token.clone(),
        };
        let welcome = tokio::time::timeout(HELLO_TIMEOUT, async {
            let body = encode_body(&hello).map_err(|e| protocol("cannot encode the hello", e))?;
            writer.send(body).await.map_err(|e| match e {
                // The hub went away between accepting and reading (it is stopping).
                FrameError::Io(e) => {
                    AuthError::ConnectionLost(format!("cannot send the hello: {e}"))
                }
                e => protocol("cannot send the hello", e),
            })?;
            match reader.next().await {
                Some(Ok(body)) => match decode_body::<HelloReply>(&body) {
                    Ok(HelloReply::Welcome(welcome)) => Ok(welcome),
                    Ok(HelloReply::Error(reply)) => Err(AuthError::from(reply)),
                    Err(e) => Err(protocol("malformed hello reply", redacted(&e))),
                },
                Some(Err(e @ (FrameError::Io(_) | FrameError::Truncated { .. }))) => Err(
                    AuthError::ConnectionLost(format!("cannot read the hello reply: {e}")),
                ),
                Some(Err(e)) => Err(protocol("cannot read the hello reply", e)),
                None => Err(AuthError::ConnectionLost(
                    "the hub ended the connection during the hello".to_owned(),
                )),
            }
        })
        .await
        .map_err(|_| {
            AuthError::Protocol(format!(
                "auth-hub did not answer the hello within {} s",
                HELLO_TIMEOUT.as_secs()
            ))
        })??;
        tracing::debug!(
            server = %welcome.server_name,
            version = %welcome.server_version,
            key = welcome.key_name.as_deref(),
            "connected to auth-hub"
        );

        let shared = Arc::new(Shared::default());
        let (stop_reader, stopped) = oneshot::channel();
        tokio::spawn(read_frames(reader, stopped, Arc::clone(&shared)));
        let hub_max = usize::try_from(welcome.max_frame).unwrap_or(usize::MAX);
        let max_request = if hub_max == 0 {
            DEFAULT_MAX_FRAME
        } else {
            hub_max
        };
        Ok(Self {
            welcome,
            writer: tokio::sync::Mutex::new(writer),
            shared,
            max_request,
            _stop_reader: stop_reader,
        })
    }

    /// Sends one request and waits for its result.
    async fn send(&self, id: u64, request: Request) -> Result<ResponseResult, SendError> {
        let name = request.name();
        let body = encode_body(&RequestEnvelope { id, request })
            .map_err(|e| SendError::Fatal(protocol("cannot encode the request", e)))?;
        if body.len() > self.max_request {
            return Err(SendError::Fatal(AuthError::BadRequest(format!(
                "{name} request of {} bytes exceeds the hub's frame limit of {} bytes",
                body.len(),
                self.max_request
            ))));
        }
        let (answer, answered) = oneshot::channel();
        {
            let mut state = lock(&self.shared.state);
            if state.closed.is_some() {
                return Err(SendError::NotSent);
            }
            state.pending.insert(id, answer);
        }
        let _guard = PendingGuard {
            shared: &self.shared,
            id,
        };
        if let Err(error) = self.writer.lock().await.send(body).await {
            // The connection broke: a partial frame is never processed by the hub.
            self.shared.close(format!("write failed: {error}"), true);
            return Err(SendError::NotSent);
        }
        answered
            .await
            .map_err(|_| SendError::Lost(self.shared.closed_error()))
    }
}

/// The longest socket path `connect(2)` takes: `sun_path` holds 108 bytes on Linux (104 on the
/// BSDs and macOS), the terminating NUL included.
const MAX_SOCKET_PATH: usize = if cfg!(target_os = "linux") { 107 } else { 103 };

/// Refuses a socket path the kernel cannot address, before trying: a path too long is a setting
/// to change, not a hub that is down.
///
/// # Errors
/// [`AuthError::SocketPathTooLong`].
fn check_socket_path(socket: &Path) -> Result<(), AuthError> {
    let len = socket.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(AuthError::SocketPathTooLong {
            socket: socket.to_owned(),
            len,
            max: MAX_SOCKET_PATH,
        });
    }
    Ok(())
}

/// A decode error's text cut before the first quoted value: serde quotes the string or variant
/// name it could not use (`"…"` or `` `…` ``), and in a malformed response that might be a secret.
fn redacted(error: &impl std::fmt::Display) -> String {
    let mut text = error.to_string();
    if let Some(quote) = text.find(['"', '`']) {
        text.truncate(quote);
        text.push('…');
    }
    text
}

fn protocol(what: &str, error: impl std::fmt::Display) -> AuthError {
    AuthError::Protocol(format!("{what}: {error}"))
}

/// The reader task: decodes frames and dispatches them, until the hub closes the connection,
/// sends something undecodable, or the client drops the connection.
async fn read_frames(
    mut stream: FramedRead<OwnedReadHalf, FrameCodec>,
    mut stop: oneshot::Receiver<()>,
    shared: Arc<Shared>,
) {
    let (reason, hub_gone) = loop {
        tokio::select! {
            _ = &mut stop => break ("client closed the connection".to_owned(), false),
            frame = stream.next() => match frame {
                None => break ("the hub ended the connection".to_owned(), true),
                Some(Err(error @ (FrameError::Io(_) | FrameError::Truncated { .. }))) => {
                    break (format!("read failed: {error}"), true)
                }
                Some(Err(error)) => break (format!("read failed: {error}"), false),
                Some(Ok(body)) => match decode_body::<ServerMessage>(&body) {
                    Ok(message) => shared.dispatch(message),
                    Err(error) => {
                        break (
                            format!("malformed message from the hub: {}", redacted(&error)),
                            false,
                        )
                    }
                },
            },
        }
    };
    shared.close(reason, hub_gone);
}

/// Requests whose second delivery leaves the hub as one delivery would, so they may be sent again
/// when the connection died with them in flight: reads; `put_secret` (the same value again); and
/// `request_scope` (the hub cancels a dead connection's pending request, so the new one replaces
/// it). Deletes, grants, revocations and key operations are never resent: their second answer
/// would misreport the first.
fn is_safe_to_resend(request: &Request) -> bool {
    matches!(
        request,
        Request::RequestScope(_)
            | Request::PutSecret(_)
            | Request::GetSecret(_)
            | Request::ListSecrets(_)
            | Request::HasScope(_)
            | Request::Status(_)
            | Request::ListPending(_)
            | Request::ListGrants(_)
            | Request::ListKeys(_)
            | Request::ReadAudit(_)
            | Request::ListRepos(_)
    )
}

/// A repository path as the wire carries it: UTF-8 text. The hub checks the rest of its shape.
fn repo_path_text(path: &Path) -> Result<String, AuthError> {
    path.to_str().map(str::to_owned).ok_or_else(|| {
        AuthError::BadRequest(format!(
            "repository path {} is not valid UTF-8",
            path.display()
        ))
    })
}

fn unexpected(operation: &str, response: &Response) -> AuthError {
    // Only the variant's name: a response may carry secrets.
    let shown = format!("{response:?}");
    let variant = shown.split(['(', ' ', '{']).next().unwrap_or("unknown");
    AuthError::Protocol(format!("unexpected {variant} response to {operation}"))
}

impl HubClient {
    /// A client that connects on first use.
    pub fn new(options: ClientOptions) -> Self {
        let secrets = SecretCache::new(options.secret_ttl);
        Self {
            inner: Arc::new(Inner {
                options,
                connection: tokio::sync::Mutex::new(None),
                next_id: AtomicU64::new(1),
                tokens: TokenCache::new(),
                secrets,
                scope_locks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Connects and completes the hello now.
    ///
    /// # Errors
    /// [`AuthError::Unreachable`], [`AuthError::InvalidMasterToken`], [`AuthError::UnsupportedVersion`].
    pub async fn connect(options: ClientOptions) -> Result<Self, AuthError> {
        let client = Self::new(options);
        client.connection().await?;
        Ok(client)
    }

    /// The options this client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// The hub's welcome for the current connection (connecting if needed).
    ///
    /// # Errors
    /// As [`HubClient::connect`].
    pub async fn welcome(&self) -> Result<Welcome, AuthError> {
        Ok(self.connection().await?.welcome.clone())
    }

    /// Forgets every cached access token and secret value (the connection stays open).
    pub fn clear_cache(&self) {
        self.inner.tokens.clear();
        self.inner.secrets.clear();
    }

    /// The live connection, opening one (with a hello) if there is none or it died.
    async fn connection(&self) -> Result<Arc<Connection>, AuthError> {
        let mut slot = self.inner.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            if !connection.shared.is_dead() {
                return Ok(Arc::clone(connection));
            }
        }
        *slot = None;
        let connection = Arc::new(Connection::open(&self.inner.options).await?);
        *slot = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// Sends any request and returns its successful response; an error reply becomes the matching
    /// [`AuthError`]. Reconnects once if the connection was found closed.
    ///
    /// # Errors
    /// The error the hub replied with, or a connection error.
    pub async fn call(&self, request: Request) -> Result<Response, AuthError> {
        let connection = self.connection().await?;
        self.call_on(connection, request).await
    }

    /// Sends `request` on `connection`, moving to a new connection once if that one is dead
    /// before the request left (or, for a request safe to resend, died before its answer).
    async fn call_on(
        &self,
        connection: Arc<Connection>,
        request: Request,
    ) -> Result<Response, AuthError> {
        let retry = request.clone();
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let result = match connection.send(id, request).await {
            Ok(result) => result,
            Err(SendError::Fatal(error)) => return Err(error),
            Err(SendError::Lost(error)) if !is_safe_to_resend(&retry) => return Err(error),
            Err(SendError::NotSent | SendError::Lost(_)) => {
                drop(connection);
                let connection = self.connection().await?;
                let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
                match connection.send(id, retry).await {
                    Ok(result) => result,
                    Err(SendError::Fatal(error) | SendError::Lost(error)) => return Err(error),
                    Err(SendError::NotSent) => return Err(connection.shared.closed_error()),
                }
            }
        };
        match result {
            ResponseResult::Ok(response) => Ok(response),
            ResponseResult::Error(reply) => Err(AuthError::from(reply)),
        }
    }

    /// Requests several scopes together (decided together by the owner); caches granted tokens.
    ///
    /// # Errors
    /// Connection errors; per-scope refusals are in the outcomes.
    pub async fn request_scopes(
        &self,
        scopes: &[SecretScope],
        permissions: Permissions,
        wait: Duration,
    ) -> Result<Vec<ScopeOutcome>, AuthError> {
        let request = Request::RequestScope(RequestScope {
            scopes: scopes.to_vec(),
            permissions,
            wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            reason: self.inner.options.reason.clone(),
        });
        let outcomes = match self.call(request).await? {
            Response::Scopes(scopes) => scopes.outcomes,
            other => return Err(unexpected("request_scope", &other)),
        };
        let (now, wall_now) = (Instant::now(), chrono::Utc::now());
        for outcome in &outcomes {
            if let ScopeResult::Granted(granted) = &outcome.result {
                self.inner
                    .tokens
                    .insert(&outcome.scope, granted, now, wall_now);
            }
        }
        Ok(outcomes)
    }

    /// A token allowing `scope` with `permissions`: a cached one, else one requested now (waiting
    /// up to the configured time for approval). Concurrent callers share one request.
    async fn token(
        &self,
        scope: &SecretScope,
        permissions: Permissions,
    ) -> Result<AccessToken, AuthError> {
        let wanted = Access::new(scope.clone(), permissions);
        if let Some(token) = self.inner.tokens.find(&wanted, Instant::now()) {
            return Ok(token);
        }
        let scope_lock = {
            let mut locks = lock(&self.inner.scope_locks);
            Arc::clone(locks.entry(wanted.clone()).or_default())
        };
        let _one_request = scope_lock.lock().await;
        // Another caller may have obtained it while this one waited.
        if let Some(token) = self.inner.tokens.find(&wanted, Instant::now()) {
            return Ok(token);
        }
        let mut outcomes = self
            .request_scopes(
                std::slice::from_ref(scope),
                permissions,
                self.inner.options.wait,
            )
            .await?;
        if outcomes.len() != 1 {
            return Err(AuthError::Protocol(format!(
                "hub answered {} outcomes to a request for one scope",
                outcomes.len()
            )));
        }
        match outcomes.remove(0).result {
            ScopeResult::Granted(granted) => Ok(granted.access_token),
            ScopeResult::Error(reply) => Err(scope_error(reply, scope)),
        }
    }

    /// Runs a request built around a token for `scope`; when the hub no longer accepts the token
    /// (restart, revocation), forgets it, asks for the scope again and retries once.
    /// Sends a write for `path`: the owner key writes without a token, other keys with a write
    /// token for the parent scope.
    async fn write_request(
        &self,
        path: &SecretPath,
        make: impl Fn(Option<AccessToken>) -> Request,
    ) -> Result<Response, AuthError> {
        if self.is_owner().await? {
            self.call(make(None)).await
        } else {
            self.with_token(&path.parent_scope(), Permissions::WRITE, |token| {
                make(Some(token))
            })
            .await
        }
    }

    async fn with_token(
        &self,
        scope: &SecretScope,
        permissions: Permissions,
        make: impl Fn(AccessToken) -> Request,
    ) -> Result<Response, AuthError> {
        let token = self.token(scope, permissions).await?;
        match self.call(make(token.clone())).await {
            Err(AuthError::InvalidAccessToken) => {
                tracing::debug!(%scope, "access token refused; asking for the scope again");
                self.inner.tokens.remove(&token);
                let token = self.token(scope, permissions).await?;
                self.call(make(token)).await
            }
            other => other,
        }
    }

    /// True when the session's key is the owner key (which needs no token to write or list).
    async fn is_owner(&self) -> Result<bool, AuthError> {
        Ok(self.connection().await?.welcome.owner)
    }

    /// Deletes a secret (owner key: no scope needed).
    ///
    /// # Errors
    /// As [`AuthClient::get_secret`].
    pub async fn delete_secret(&self, path: &SecretPath) -> Result<(), AuthError> {
        self.inner.secrets.invalidate(path);
        let make = |access_token| {
            Request::DeleteSecret(DeleteSecret {
                access_token,
                path: path.clone(),
            })
        };
        let response = self.write_request(path, make).await?;
        self.inner.secrets.invalidate(path);
        match response {
            Response::Deleted(_) => Ok(()),
            other => Err(unexpected("delete_secret", &other)),
        }
    }

    /// Lists secrets with their metadata.
    ///
    /// # Errors
    /// As [`AuthClient::list_secrets`].
    pub async fn list_entries(&self, prefix: &str) -> Result<Vec<SecretEntry>, AuthError> {
        let scope = prefix_scope(prefix)?;
        let make = |access_token| {
            Request::ListSecrets(ListSecrets {
                access_token,
                prefix: prefix.to_owned(),
            })
        };
        let response = if self.is_owner().await? {
            self.call(make(None)).await?
        } else {
            self.with_token(&scope, Permissions::READ, |token| make(Some(token)))
                .await?
        };
        match response {
            Response::Secrets(list) => Ok(list.entries),
            other => Err(unexpected("list_secrets", &other)),
        }
    }

    /// Registers the repository at `path` with the hub (owner key only). Returns false when it
    /// was registered already.
    ///
    /// `path` must be absolute and canonical — pass what [`std::fs::canonicalize`] returns: the
    /// hub never looks at the filesystem there, and refuses relative paths and `.`, `..` or empty
    /// components rather than guess.
    ///
    /// # Errors
    /// [`AuthError::BadRequest`] for a path that is not UTF-8, not absolute and canonical, over
    /// 4096 bytes, past the hub's caps (10,000 repositories, 640 KiB of paths), or for a key that
    /// is not the owner key;
    /// [`AuthError::BackendError`] when the hub cannot save it; connection errors.
    pub async fn register_repo(&self, path: &Path) -> Result<bool, AuthError> {
        let path = repo_path_text(path)?;
        match self
            .call(Request::RegisterRepo(RegisterRepo { path }))
            .await?
        {
            Response::RepoRegistered(reply) => Ok(reply.added),
            other => Err(unexpected("register_repo", &other)),
        }
    }

    /// Forgets the repository registered at `path` (owner key only). Returns false when it was
    /// not registered.
    ///
    /// # Errors
    /// As [`HubClient::register_repo`].
    pub async fn unregister_repo(&self, path: &Path) -> Result<bool, AuthError> {
        let path = repo_path_text(path)?;
        match self
            .call(Request::UnregisterRepo(UnregisterRepo { path }))
            .await?
        {
            Response::RepoUnregistered(reply) => Ok(reply.removed),
            other => Err(unexpected("unregister_repo", &other)),
        }
    }

    /// The registered repositories, sorted by path (owner key only).
    ///
    /// # Errors
    /// [`AuthError::BadRequest`] for a key that is not the owner key; connection errors.
    pub async fn list_repos(&self) -> Result<Vec<RepoInfo>, AuthError> {
        match self.call(Request::ListRepos(ListRepos {})).await? {
            Response::Repos(list) => Ok(list.repos),
            other => Err(unexpected("list_repos", &other)),
        }
    }

    /// Subscribes to pending-request events: the requests pending now, then a stream of events.
    ///
    /// The stream ends when the connection closes; it also needs this client (or a clone) to stay
    /// alive. Dropping the receiver unsubscribes.
    ///
    /// # Errors
    /// As [`HubClient::call`]; needs the owner key.
    pub async fn watch_pending(
        &self,
    ) -> Result<(Vec<PendingRequest>, mpsc::Receiver<Event>), AuthError> {
        let request = Request::WatchPending(WatchPending {});
        for _ in 0..2 {
            let connection = self.connection().await?;
            let (events, receiver) = mpsc::channel(EVENT_QUEUE);
            {
                // Subscribed before asking, so no event after the answer is missed.
                let mut state = lock(&connection.shared.state);
                if state.closed.is_some() {
                    continue;
                }
                state.watchers.push(events);
            }
            let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
            let result = match connection.send(id, request.clone()).await {
                Ok(result) => result,
                Err(SendError::NotSent) => continue,
                Err(SendError::Fatal(error) | SendError::Lost(error)) => return Err(error),
            };
            return match result {
                ResponseResult::Ok(Response::Pending(list)) => Ok((list.requests, receiver)),
                ResponseResult::Ok(other) => Err(unexpected("watch_pending", &other)),
                ResponseResult::Error(reply) => Err(AuthError::from(reply)),
            };
        }
        Err(AuthError::Protocol(
            "connection to auth-hub closed before watch_pending was sent".to_owned(),
        ))
    }
}

/// The scope a listing under `prefix` needs: `prefix/*`, or `*` for everything.
fn prefix_scope(prefix: &str) -> Result<SecretScope, AuthError> {
    if prefix.is_empty() {
        return Ok(SecretScope::everything());
    }
    SecretPath::parse(prefix)
        .and_then(|_| SecretScope::parse(&format!("{prefix}/*")))
        .map_err(|error| AuthError::BadRequest(format!("invalid prefix {prefix:?}: {error}")))
}

/// A refusal for `scope`, with the scope filled in if the hub left it out.
fn scope_error(mut reply: ErrorReply, scope: &SecretScope) -> AuthError {
    if reply.scope.is_none() {
        reply.scope = Some(scope.as_str().to_owned());
    }
    AuthError::from(reply)
}

#[async_trait]
impl AuthClient for HubClient {
    async fn get_secret(&self, path: &SecretPath) -> Result<Secret, AuthError> {
        if let Some(secret) = self.inner.secrets.get(path, Instant::now()) {
            return Ok(secret);
        }
        let response = self
            .with_token(&path.parent_scope(), Permissions::READ, |access_token| {
                Request::GetSecret(GetSecret {
                    access_token,
                    path: path.clone(),
                })
            })
            .await?;
        match response {
            Response::Secret(secret) => {
                if secret.path != *path {
                    return Err(AuthError::Protocol(format!(
                        "asked for {path}, the hub answered with {}",
                        secret.path
                    )));
                }
                self.inner.secrets.insert(&secret, Instant::now());
                Ok(secret)
            }
            other => Err(unexpected("get_secret", &other)),
        }
    }

    async fn put_secret(&self, path: &SecretPath, value: &str) -> Result<(), AuthError> {
        self.inner.secrets.invalidate(path);
        let make = |access_token| {
            Request::PutSecret(PutSecret {
                access_token,
                path: path.clone(),
                value: SecretValue::from(value),
            })
        };
        let response = self.write_request(path, make).await?;
        // Again: a concurrent get may have cached the old value while the write was in flight.
        self.inner.secrets.invalidate(path);
        match response {
            Response::Written(_) => Ok(()),
            other => Err(unexpected("put_secret", &other)),
        }
    }

    async fn list_secrets(&self, prefix: &str) -> Result<Vec<SecretPath>, AuthError> {
        Ok(self
            .list_entries(prefix)
            .await?
            .into_iter()
            .map(|entry| entry.path)
            .collect())
    }

    async fn has_scope(&self, scope: &SecretScope, permissions: Permissions) -> bool {
        let wanted = Access::new(scope.clone(), permissions);
        if self.inner.tokens.allows(&wanted, Instant::now()) {
            return true;
        }
        let request = Request::HasScope(HasScope {
            scope: scope.clone(),
            permissions,
        });
        match self.call(request).await {
            Ok(Response::HasScope(reply)) => reply.granted,
            Ok(other) => {
                tracing::debug!(error = %unexpected("has_scope", &other), "has_scope failed");
                false
            }
            Err(error) => {
                tracing::debug!(%error, "has_scope failed");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn listing_prefix_becomes_a_scope() {
        assert_eq!(prefix_scope("").unwrap().as_str(), "*");
        assert_eq!(
            prefix_scope("github/alice").unwrap().as_str(),
            "github/alice/*"
        );
        assert!(matches!(
            prefix_scope("github/"),
            Err(AuthError::BadRequest(_))
        ));
        assert!(matches!(prefix_scope("a/*"), Err(AuthError::BadRequest(_))));
    }

    #[test]
    fn unexpected_response_names_only_the_variant() {
        let secret = Response::Secret(Secret {
            value: "verysecret".into(),
            path: SecretPath::parse("a/b").unwrap(),
            created_at: None,
            updated_at: None,
            version: 1,
        });
        let message = unexpected("put_secret", &secret).to_string();
        assert_eq!(
            message,
            "protocol error: unexpected Secret response to put_secret"
        );
    }

    #[test]
    fn refusal_without_scope_gets_the_requested_one() {
        let scope = SecretScope::parse("github/alice/*").unwrap();
        let error = scope_error(
            ErrorReply::new(auth_hub_protocol::ErrorCode::Denied, "no"),
            &scope,
        );
        assert!(
            matches!(error, AuthError::AccessDenied { scope, .. } if scope == "github/alice/*")
        );
    }

    #[test]
    fn an_error_for_id_zero_fails_the_calls_in_flight_with_its_words() {
        let shared = Shared::default();
        let (waiter, answer) = oneshot::channel();
        lock(&shared.state).pending.insert(7, waiter);
        shared.dispatch(ServerMessage::Response(ResponseEnvelope {
            id: 0,
            result: ResponseResult::Error(ErrorReply::new(
                auth_hub_protocol::ErrorCode::Busy,
                "the hub is receiving too many large frames at once",
            )),
        }));
        assert!(shared.is_dead());
        assert!(answer.blocking_recv().is_err(), "the call in flight fails");
        let shown = shared.closed_error().to_string();
        assert!(
            shown.contains("(busy): the hub is receiving too many large frames"),
            "{shown}"
        );
    }

    #[test]
    fn decode_errors_never_show_quoted_values() {
        let body = auth_hub_protocol::frame::encode_body(&"ghp_verysecret").unwrap();
        let error = decode_body::<ServerMessage>(&body).unwrap_err();
        let shown = redacted(&error);
        assert!(!shown.contains("verysecret"), "{shown}");
        assert!(shown.starts_with("malformed message"), "{shown}");
    }

    #[test]
    fn repository_paths_must_be_utf8_text() {
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(
            repo_path_text(Path::new("/home/a/app")).unwrap(),
            "/home/a/app"
        );
        let bad = Path::new(std::ffi::OsStr::from_bytes(b"/home/a/\xff"));
        assert!(matches!(
            repo_path_text(bad),
            Err(AuthError::BadRequest(message)) if message.contains("not valid UTF-8")
        ));
    }

    #[test]
    fn socket_paths_past_sun_path_are_refused_before_connecting() {
        let fits = PathBuf::from(format!("/{}", "s".repeat(MAX_SOCKET_PATH - 1)));
        assert!(check_socket_path(&fits).is_ok());
        let long = PathBuf::from(format!("/{}", "s".repeat(MAX_SOCKET_PATH)));
        let error = check_socket_path(&long).unwrap_err();
        assert!(
            matches!(&error, AuthError::SocketPathTooLong { len, max, .. }
                if *len == MAX_SOCKET_PATH + 1 && *max == MAX_SOCKET_PATH),
            "{error:?}"
        );
        // The system agrees: std refuses the same path as an invalid address, not a missing one.
        let refused = std::os::unix::net::UnixStream::connect(&long).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn options_defaults() {
        let options = ClientOptions::new("/tmp/hub.sock", "test", "1.0");
        assert_eq!(options.wait, Duration::from_secs(60));
        assert_eq!(options.secret_ttl, Duration::from_secs(300));
        assert_eq!(options.max_frame, DEFAULT_MAX_FRAME);
        assert!(options.reason.is_empty() && options.master_token.is_none());
    }
}
