//! One open connection to the hub: the frames, the hello, request ids matched to their answers,
//! the reader task, and the dead state every call in flight learns about.
//!
//! The hello is not waited for: `Connection::open` buffers it, and the first request goes out
//! in the same write (the hub reads requests that follow the hello once it has welcomed it), so a
//! fresh connection's first answer costs one round trip, not two. A caller writes its own frame
//! under a lock, and a reader task decodes what the hub sends — first the hello's answer, then
//! responses — and routes each response by its `id` to the call waiting for it, and each event to
//! the `watch_pending` subscribers. A refused hello fails every call sent behind it with the
//! refusal (`invalid_master_token`, `unsupported_version`): the hub serves none of them. When the connection dies (the hub closed it or sent
//! something undecodable), every call in flight fails with [`AuthError::ConnectionLost`] (or
//! [`AuthError::Protocol`] when the hub sent something undecodable). Reconnecting, resending and
//! re-requesting scopes are the client's business (`socket.rs`), not this module's.
//!
//! Locks: the writer is a `tokio::sync::Mutex` (a frame is written whole); the shared state is a
//! `std::sync::Mutex` held only for a map operation.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use auth_hub_protocol::frame::{decode_body, encode_body};
use auth_hub_protocol::request::Request;
use auth_hub_protocol::{
    ErrorReply, Event, FrameCodec, FrameError, Hello, HelloReply, RequestEnvelope,
    ResponseEnvelope, ResponseResult, ServerMessage, Welcome, DEFAULT_MAX_FRAME,
};
use futures::{SinkExt, StreamExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::error::AuthError;

/// How long the hub may take to answer the hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Ignores lock poisoning: the guarded maps stay consistent even if a holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One open connection, its hello sent (or buffered to go with the first request).
pub(crate) struct Connection {
    /// The hub's welcome, once the reader has it.
    welcome: watch::Receiver<Option<Welcome>>,
    /// Requests are written by the calling task itself (no hop through a writer task, which
    /// would cost a scheduler round trip per request); the lock keeps frames whole.
    writer: tokio::sync::Mutex<FramedWrite<OwnedWriteHalf, FrameCodec>>,
    shared: Arc<Shared>,
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
    /// The hello failed: the error every call on the connection reports.
    hello: Option<HelloFailure>,
}

/// How a hello failed, kept to build the caller's error from.
#[derive(Clone)]
pub(crate) enum HelloFailure {
    /// The hub refused it (`invalid_master_token`, `unsupported_version`, …).
    Refused(ErrorReply),
    /// The hub went away before answering.
    Lost(String),
    /// The hub answered something unreadable, or nothing in time.
    Protocol(String),
}

impl HelloFailure {
    /// Why the connection closed, and whether the hub went away.
    fn closing(&self) -> (String, bool) {
        match self {
            Self::Refused(reply) => (format!("the hub refused the hello ({})", reply.code), false),
            Self::Lost(message) => (message.clone(), true),
            Self::Protocol(message) => (message.clone(), false),
        }
    }

    /// The error every call on the connection reports.
    pub(crate) fn into_error(self) -> AuthError {
        match self {
            Self::Refused(reply) => AuthError::from(reply),
            Self::Lost(message) => AuthError::ConnectionLost(message),
            Self::Protocol(message) => AuthError::Protocol(message),
        }
    }
}

/// The error for a connection closed for `reason`: lost when the hub went away, a protocol
/// error when it sent something this client cannot read.
pub(crate) fn closed_error(reason: String, hub_gone: bool) -> AuthError {
    if hub_gone {
        AuthError::ConnectionLost(reason)
    } else {
        AuthError::Protocol(format!("connection to auth-hub closed: {reason}"))
    }
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

    /// True when the connection died of its hello: no request on it can succeed, here or again.
    fn hello_failed(&self) -> bool {
        lock(&self.state)
            .closed
            .as_ref()
            .is_some_and(|closed| closed.hello.is_some())
    }

    /// Marks the connection dead (once) and fails everything waiting on it.
    fn close(&self, reason: String, hub_gone: bool) {
        self.close_with(reason, hub_gone, None);
    }

    /// [`Shared::close`], keeping how the hello failed when it did.
    fn close_with(&self, reason: String, hub_gone: bool, hello: Option<HelloFailure>) {
        let (pending, watchers) = {
            let mut state = lock(&self.state);
            if state.closed.is_some() {
                return;
            }
            tracing::debug!(%reason, in_flight = state.pending.len(), "auth-hub connection closed");
            state.closed = Some(Closed {
                reason,
                hub_gone,
                hello,
            });
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
            hello: None,
        });
        match closed.hello {
            Some(failure) => failure.into_error(),
            None => closed_error(closed.reason, closed.hub_gone),
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
            }) => self.close(unreadable_request(&reply), false),
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

/// Why a connection is closed after the hub's error for id 0: it could not read a request's
/// id, so no call will get an answer.
pub(crate) fn unreadable_request(reply: &ErrorReply) -> String {
    format!(
        "the hub refused a request it could not read ({}): {}",
        reply.code, reply.message
    )
}

/// Why a request got no response.
pub(crate) enum SendError {
    /// The connection was dead before the request left: safe to send again.
    NotSent,
    /// The connection died with the request in flight.
    Lost(AuthError),
    /// The request can never be sent (too large, unencodable) or its hello was refused.
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
    /// Connects to `socket` and starts the reader task. The hello is buffered, not yet written:
    /// it leaves with the first request (or when [`Connection::welcome`] is asked for), so that
    /// both take one write and one round trip. `max_frame` is the largest frame accepted from
    /// the hub.
    ///
    /// # Errors
    /// [`AuthError::SocketPathTooLong`], [`AuthError::Unreachable`]; the hello's own failure
    /// comes with the first call.
    pub(crate) async fn open(
        socket: &Path,
        max_frame: usize,
        hello: Hello,
    ) -> Result<Self, AuthError> {
        check_socket_path(socket)?;
        let stream =
            UnixStream::connect(socket)
                .await
                .map_err(|source| AuthError::Unreachable {
                    socket: socket.to_owned(),
                    source,
                })?;
        let (read, write) = stream.into_split();
        let codec = FrameCodec::new(max_frame);
        let reader = FramedRead::new(read, codec);
        let mut writer = FramedWrite::new(write, codec);
        let body = encode_body(&hello).map_err(|e| protocol("cannot encode the hello", e))?;
        // Buffered only (`feed` writes nothing for a frame this small): see above.
        writer
            .feed(body)
            .await
            .map_err(|e| AuthError::ConnectionLost(format!("cannot send the hello: {e}")))?;

        let shared = Arc::new(Shared::default());
        let (stop_reader, stopped) = oneshot::channel();
        let (welcomed, welcome) = watch::channel(None);
        tokio::spawn(read_frames(reader, stopped, Arc::clone(&shared), welcomed));
        Ok(Self {
            welcome,
            writer: tokio::sync::Mutex::new(writer),
            shared,
            _stop_reader: stop_reader,
        })
    }

    /// The hub's welcome, writing the hello first if no request has taken it along yet.
    ///
    /// # Errors
    /// The hello's failure: the hub's refusal, the connection lost, no answer in time.
    pub(crate) async fn welcome(&self) -> Result<Welcome, AuthError> {
        if self.welcome.borrow().is_none() {
            if let Err(error) = self.writer.lock().await.flush().await {
                self.shared.close_with(
                    format!("write failed: {error}"),
                    true,
                    Some(HelloFailure::Lost(format!(
                        "cannot send the hello: {error}"
                    ))),
                );
            }
        }
        let mut welcome = self.welcome.clone();
        let welcomed = welcome
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|w| w.clone());
        welcomed.ok_or_else(|| self.shared.closed_error())
    }

    /// Largest request body the hub accepts: its welcome's `max_frame`; before the welcome (a
    /// request riding with the hello), the default limit every hub accepts.
    fn max_request(&self) -> usize {
        match self
            .welcome
            .borrow()
            .as_ref()
            .map(|welcome| welcome.max_frame)
        {
            Some(0) | None => DEFAULT_MAX_FRAME,
            Some(max) => usize::try_from(max).unwrap_or(usize::MAX),
        }
    }

    /// Sends one request and waits for its result.
    pub(crate) async fn send(
        &self,
        id: u64,
        request: Request,
    ) -> Result<ResponseResult, SendError> {
        let name = request.name();
        let body = encode_body(&RequestEnvelope { id, request })
            .map_err(|e| SendError::Fatal(protocol("cannot encode the request", e)))?;
        let max_request = self.max_request();
        if body.len() > max_request {
            return Err(SendError::Fatal(AuthError::BadRequest(format!(
                "{name} request of {} bytes exceeds the hub's frame limit of {max_request} bytes",
                body.len(),
            ))));
        }
        let (answer, answered) = oneshot::channel();
        {
            let mut state = lock(&self.shared.state);
            if let Some(closed) = &state.closed {
                if closed.hello.is_some() {
                    drop(state);
                    return Err(SendError::Fatal(self.shared.closed_error()));
                }
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
        answered.await.map_err(|_| {
            // A refused hello is the answer to everything sent behind it, not a loss to retry.
            if self.shared.hello_failed() {
                SendError::Fatal(self.shared.closed_error())
            } else {
                SendError::Lost(self.shared.closed_error())
            }
        })
    }
    /// True once the connection has died.
    pub(crate) fn is_dead(&self) -> bool {
        self.shared.is_dead()
    }

    /// The error a call on this dead connection fails with.
    pub(crate) fn closed_error(&self) -> AuthError {
        self.shared.closed_error()
    }

    /// Adds a `watch_pending` subscriber; false (and nothing added) when the connection is dead.
    pub(crate) fn subscribe(&self, events: mpsc::Sender<Event>) -> bool {
        let mut state = lock(&self.shared.state);
        if state.closed.is_some() {
            return false;
        }
        state.watchers.push(events);
        true
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
pub(crate) fn check_socket_path(socket: &Path) -> Result<(), AuthError> {
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

/// Reads the hello's answer: the welcome, or why the connection is closed.
async fn read_hello(
    stream: &mut FramedRead<OwnedReadHalf, FrameCodec>,
) -> Result<Welcome, Box<HelloFailure>> {
    match tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await {
        Err(_) => Err(hello_timed_out()),
        Ok(frame) => hello_reply(frame),
    }
}

/// The hello not answered within [`HELLO_TIMEOUT`].
pub(crate) fn hello_timed_out() -> Box<HelloFailure> {
    Box::new(HelloFailure::Protocol(format!(
        "auth-hub did not answer the hello within {} s",
        HELLO_TIMEOUT.as_secs()
    )))
}

/// The hello's answer, from the first frame the hub sent (`None`: it ended the connection).
pub(crate) fn hello_reply(
    frame: Option<Result<impl AsRef<[u8]>, FrameError>>,
) -> Result<Welcome, Box<HelloFailure>> {
    let failure = match frame {
        Some(Ok(body)) => match decode_body::<HelloReply>(body.as_ref()) {
            Ok(HelloReply::Welcome(welcome)) => {
                tracing::debug!(
                    server = %welcome.server_name,
                    version = %welcome.server_version,
                    key = welcome.key_name.as_deref(),
                    "connected to auth-hub"
                );
                return Ok(welcome);
            }
            Ok(HelloReply::Error(reply)) => HelloFailure::Refused(reply),
            Err(e) => HelloFailure::Protocol(format!("malformed hello reply: {}", redacted(&e))),
        },
        Some(Err(e @ (FrameError::Io(_) | FrameError::Truncated { .. }))) => {
            HelloFailure::Lost(format!("cannot read the hello reply: {e}"))
        }
        Some(Err(e)) => HelloFailure::Protocol(format!("cannot read the hello reply: {e}")),
        None => HelloFailure::Lost("the hub ended the connection during the hello".to_owned()),
    };
    Err(Box::new(failure))
}

/// The next message from the hub, from the next frame it sent (`None`: it ended the
/// connection); or why the connection is over and whether the hub went away.
pub(crate) fn server_message(
    frame: Option<Result<impl AsRef<[u8]>, FrameError>>,
) -> Result<ServerMessage, (String, bool)> {
    match frame {
        None => Err(("the hub ended the connection".to_owned(), true)),
        Some(Err(error @ (FrameError::Io(_) | FrameError::Truncated { .. }))) => {
            Err((format!("read failed: {error}"), true))
        }
        Some(Err(error)) => Err((format!("read failed: {error}"), false)),
        Some(Ok(body)) => decode_body::<ServerMessage>(body.as_ref()).map_err(|error| {
            (
                format!("malformed message from the hub: {}", redacted(&error)),
                false,
            )
        }),
    }
}

/// The reader task: the hello's answer, then frames decoded and dispatched, until the hub closes
/// the connection, sends something undecodable, or the client drops the connection.
async fn read_frames(
    mut stream: FramedRead<OwnedReadHalf, FrameCodec>,
    mut stop: oneshot::Receiver<()>,
    shared: Arc<Shared>,
    welcomed: watch::Sender<Option<Welcome>>,
) {
    tokio::select! {
        _ = &mut stop => {
            shared.close("client closed the connection".to_owned(), false);
            return;
        }
        hello = read_hello(&mut stream) => match hello {
            Ok(welcome) => {
                welcomed.send_replace(Some(welcome));
            }
            Err(failure) => {
                let (reason, hub_gone) = failure.closing();
                shared.close_with(reason, hub_gone, Some(*failure));
                return;
            }
        },
    }
    let (reason, hub_gone) = loop {
        tokio::select! {
            _ = &mut stop => break ("client closed the connection".to_owned(), false),
            frame = stream.next() => match server_message(frame) {
                Ok(message) => shared.dispatch(message),
                Err(closed) => break closed,
            },
        }
    };
    shared.close(reason, hub_gone);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use super::*;

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
}
