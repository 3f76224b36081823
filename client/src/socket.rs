//! The Unix-socket client: one connection to the hub (`connection.rs`), many requests in flight
//! on it, and what makes a hub restart invisible to callers.
//!
//! A [`HubClient`] is a cheap handle (an `Arc` inside); clones share the connection and the
//! caches. The connection is opened on first use and starts with the hello, which travels in the
//! same write as the first request: the hub answers both without a round trip in between.
//!
//! When the connection dies, every call in flight fails and the next call opens a new connection
//! with a new hello. A call that finds the connection dead before sending reconnects once; a
//! read-only request that was in flight when the connection closed is sent once more on a new
//! connection (nothing it did can be lost). If the hub then rejects a cached access token — it
//! restarted and forgot its tokens, or the token was revoked — the client drops the token, asks
//! for the scope again and retries once. Together that is "after a daemon restart the client asks
//! again transparently".
//!
//! Locks: the connection slot is a `tokio::sync::Mutex` (held across the connect and the hello, so
//! concurrent first calls share one connection); per-scope `tokio::sync::Mutex`es make concurrent
//! gets under one scope share one scope request. Everything else is a `std::sync::Mutex` held only
//! for a map operation.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use auth_hub_protocol::request::{
    DeleteSecret, GetSecret, GetSecretScoped, HasScope, ListRepos, ListSecrets, PutSecret,
    RegisterRepo, Request, RequestScope, UnregisterRepo, WatchPending,
};
use auth_hub_protocol::response::{
    PendingRequest, RepoInfo, ScopeOutcome, ScopeResult, ScopedSecret, SecretEntry, SecretList,
};
use auth_hub_protocol::{
    Access, AccessToken, ErrorReply, Event, Permissions, Response, ResponseResult, Secret,
    SecretPath, SecretScope, SecretValue, Welcome,
};
use tokio::sync::mpsc;

use crate::auth_client::AuthClient;
use crate::cache::{SecretCache, TokenCache};
use crate::connection::{lock, Connection, SendError};
use crate::error::AuthError;
pub use crate::options::ClientOptions;

/// Events buffered per `watch_pending` subscriber; more are dropped (with a warning) rather than
/// stalling every response behind a slow subscriber.
pub const EVENT_QUEUE: usize = 64;

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

/// Requests whose second delivery leaves the hub as one delivery would, so they may be sent again
/// when the connection died with them in flight: reads; `put_secret` (the same value again); and
/// `request_scope` (the hub cancels a dead connection's pending request, so the new one replaces
/// it) and `get_secret_scoped` (a second token for the same scope, which expires unused). Deletes, grants, revocations and key operations are never resent: their second answer
/// would misreport the first.
fn is_safe_to_resend(request: &Request) -> bool {
    matches!(
        request,
        Request::RequestScope(_)
            | Request::PutSecret(_)
            | Request::GetSecret(_)
            | Request::GetSecretScoped(_)
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

/// A successful answer of the wrong kind; only its name is shown (a response may carry secrets).
/// A request's result as its response, an error reply as the matching [`AuthError`].
pub(crate) fn response_of(result: ResponseResult) -> Result<Response, AuthError> {
    match result {
        ResponseResult::Ok(response) => Ok(response),
        ResponseResult::Error(reply) => Err(AuthError::from(reply)),
    }
}

/// What the hub's answer to `get_secret_scoped` for `path` means: the scope's token and the
/// secret, or `None` when the ordinary way must follow (the scope awaits the owner's approval,
/// or the hub predates the request). A refused scope is reported with the scope named, as
/// [`HubClient`] reports one refused to `request_scope`.
///
/// # Errors
/// The hub's error reply, or an answer for another scope or of another kind.
pub(crate) fn scoped_answer(
    path: &SecretPath,
    answer: Result<Response, AuthError>,
) -> Result<Option<ScopedSecret>, AuthError> {
    let scope = path.parent_scope();
    match answer {
        Ok(Response::ScopedSecret(scoped)) if scoped.scope != scope => Err(AuthError::Protocol(
            format!("asked for {scope}, the hub granted {}", scoped.scope),
        )),
        Ok(Response::ScopedSecret(scoped)) => Ok(Some(scoped)),
        Ok(Response::NeedsApproval(_)) | Err(AuthError::BadRequest(_)) => Ok(None),
        Ok(other) => Err(unexpected("get_secret_scoped", &other)),
        Err(AuthError::AccessDenied {
            scope: refused,
            message,
            command,
        }) => Err(AuthError::AccessDenied {
            scope: if refused.is_empty() {
                scope.as_str().to_owned()
            } else {
                refused
            },
            message,
            command,
        }),
        Err(error) => Err(error),
    }
}

/// Refuses a secret the hub answered for another path than the one asked for.
pub(crate) fn check_answered_path(path: &SecretPath, secret: &Secret) -> Result<(), AuthError> {
    if secret.path == *path {
        Ok(())
    } else {
        Err(AuthError::Protocol(format!(
            "asked for {path}, the hub answered with {}",
            secret.path
        )))
    }
}

fn unexpected(operation: &str, response: &Response) -> AuthError {
    AuthError::Protocol(format!(
        "unexpected {} response to {operation}",
        response.name()
    ))
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

    /// Connects and completes the hello now. (A client made with [`HubClient::new`] instead
    /// sends its hello with its first request: one round trip for both.)
    ///
    /// # Errors
    /// [`AuthError::Unreachable`], [`AuthError::InvalidMasterToken`], [`AuthError::UnsupportedVersion`].
    pub async fn connect(options: ClientOptions) -> Result<Self, AuthError> {
        let client = Self::open(options).await?;
        client.welcome().await?;
        Ok(client)
    }

    /// Connects now, so that no hub listening is known at once, but leaves the hello to go out
    /// with the first request: one round trip for both. A refused hello is that request's error
    /// (and [`HubClient::welcome`]'s).
    ///
    /// # Errors
    /// [`AuthError::Unreachable`], [`AuthError::SocketPathTooLong`].
    pub async fn open(options: ClientOptions) -> Result<Self, AuthError> {
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
        self.connection().await?.welcome().await
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
            if !connection.is_dead() {
                return Ok(Arc::clone(connection));
            }
        }
        *slot = None;
        let options = &self.inner.options;
        let connection =
            Arc::new(Connection::open(&options.socket, options.max_frame, options.hello()).await?);
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
                    Err(SendError::NotSent) => return Err(connection.closed_error()),
                }
            }
        };
        response_of(result)
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

    /// Without a cached token for `path`'s parent scope: `get_secret_scoped`, which asks for the
    /// scope and reads the secret in one request (on a fresh connection, in the hello's write:
    /// one round trip in all), caching the token it returns.
    async fn get_scoped(&self, path: &SecretPath) -> Result<ScopedRead, AuthError> {
        let scope = path.parent_scope();
        let wanted = Access::new(scope.clone(), Permissions::READ);
        if self.inner.tokens.find(&wanted, Instant::now()).is_some() {
            return Ok(ScopedRead::TokenCached);
        }
        // Shares the scope's lock with `token`: concurrent gets under one scope make one request.
        let scope_lock = {
            let mut locks = lock(&self.inner.scope_locks);
            Arc::clone(locks.entry(wanted.clone()).or_default())
        };
        let _one_request = scope_lock.lock().await;
        if self.inner.tokens.find(&wanted, Instant::now()).is_some() {
            return Ok(ScopedRead::TokenCached);
        }
        let request = Request::GetSecretScoped(GetSecretScoped { path: path.clone() });
        match scoped_answer(path, self.call(request).await)? {
            Some(scoped) => {
                self.inner.tokens.insert(
                    &scoped.scope,
                    &scoped.token,
                    Instant::now(),
                    chrono::Utc::now(),
                );
                self.accept_secret(path, scoped.secret)
                    .map(ScopedRead::Secret)
            }
            None => Ok(ScopedRead::Ordinary),
        }
    }

    /// A secret the hub answered for `path`, checked to be that path's and cached.
    fn accept_secret(&self, path: &SecretPath, secret: Secret) -> Result<Secret, AuthError> {
        check_answered_path(path, &secret)?;
        self.inner.secrets.insert(&secret, Instant::now());
        Ok(secret)
    }

    /// `path`'s secret when it comes without waiting for the owner: cached, read with a cached
    /// token, or read with its scope granted at once (one request). `None` when the scope awaits
    /// the owner's approval (or the hub predates `get_secret_scoped`), for a caller that says so
    /// before it waits with [`AuthClient::get_secret`]; a common `get` then sends nothing more.
    ///
    /// # Errors
    /// As [`AuthClient::get_secret`].
    pub async fn get_secret_now(&self, path: &SecretPath) -> Result<Option<Secret>, AuthError> {
        if let Some(secret) = self.inner.secrets.get(path, Instant::now()) {
            return Ok(Some(secret));
        }
        match self.get_scoped(path).await? {
            ScopedRead::Secret(secret) => Ok(Some(secret)),
            ScopedRead::TokenCached => self.get_secret_waiting(path).await.map(Some),
            ScopedRead::Ordinary => Ok(None),
        }
    }

    /// Reads `path` with a token for its parent scope: a cached one, else one asked for now,
    /// waiting up to the configured time for the owner's approval. What [`AuthClient::get_secret`]
    /// does when `get_secret_scoped` cannot answer; after [`HubClient::get_secret_now`] returned
    /// `None`, this asks for the scope without sending `get_secret_scoped` again.
    ///
    /// # Errors
    /// As [`AuthClient::get_secret`].
    pub async fn get_secret_waiting(&self, path: &SecretPath) -> Result<Secret, AuthError> {
        let response = self
            .with_token(&path.parent_scope(), Permissions::READ, |access_token| {
                Request::GetSecret(GetSecret {
                    access_token,
                    path: path.clone(),
                })
            })
            .await?;
        match response {
            Response::Secret(secret) => self.accept_secret(path, secret),
            other => Err(unexpected("get_secret", &other)),
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
        Ok(self.connection().await?.welcome().await?.owner)
    }

    /// Deletes a secret (owner key: no scope needed).
    ///
    /// # Errors
    /// As [`AuthClient::get_secret`].
    pub async fn delete_secret(&self, path: &SecretPath) -> Result<(), AuthError> {
        self.remove_secret(path, false).await
    }

    /// Deletes a secret with every version it has anywhere (OpenBao: KV v2 destroy, where
    /// [`HubClient::delete_secret`] is a soft delete); the same as `delete_secret` on backends
    /// without a soft delete.
    ///
    /// # Errors
    /// As [`AuthClient::get_secret`].
    pub async fn destroy_secret(&self, path: &SecretPath) -> Result<(), AuthError> {
        self.remove_secret(path, true).await
    }

    /// `delete_secret`, destroying when `destroy`.
    async fn remove_secret(&self, path: &SecretPath, destroy: bool) -> Result<(), AuthError> {
        self.inner.secrets.invalidate(path);
        let make = |access_token| {
            Request::DeleteSecret(DeleteSecret {
                access_token,
                path: path.clone(),
                destroy,
            })
        };
        let response = self.write_request(path, make).await?;
        self.inner.secrets.invalidate(path);
        match response {
            Response::Deleted(_) => Ok(()),
            other => Err(unexpected("delete_secret", &other)),
        }
    }

    /// Lists secrets with their metadata (and the backend holding each). Backends that could not
    /// be listed are dropped silently here; [`HubClient::list_listing`] reports them.
    ///
    /// # Errors
    /// As [`AuthClient::list_secrets`].
    pub async fn list_entries(&self, prefix: &str) -> Result<Vec<SecretEntry>, AuthError> {
        Ok(self.list_listing(prefix).await?.entries)
    }

    /// Lists secrets with their metadata, plus a warning naming each backend that could not be
    /// listed (its paths are then missing).
    ///
    /// # Errors
    /// As [`AuthClient::list_secrets`].
    pub async fn list_listing(&self, prefix: &str) -> Result<SecretList, AuthError> {
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
            Response::Secrets(list) => Ok(list),
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
            // Subscribed before asking, so no event after the answer is missed.
            if !connection.subscribe(events) {
                continue;
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

/// What `get_secret_scoped` gave a `get`.
enum ScopedRead {
    /// The secret, read with the scope's new token (both now cached).
    Secret(Secret),
    /// A token for the scope was already cached: the ordinary `get_secret` uses it.
    TokenCached,
    /// The scope awaits the owner's approval, or the hub predates `get_secret_scoped`: the
    /// ordinary path asks for the scope (waiting as configured) and then reads.
    Ordinary,
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
        if let ScopedRead::Secret(secret) = self.get_scoped(path).await? {
            return Ok(secret);
        }
        self.get_secret_waiting(path).await
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
            "protocol error: unexpected secret response to put_secret"
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
}
