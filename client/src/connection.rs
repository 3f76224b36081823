//! One open connection to the hub: the frames, the hello, request ids matched to their answers,
//! the reader task, and the dead state every call in flight learns about.
//!
//! After the welcome, a caller writes its own frame under a lock, and a reader task decodes what
//! the hub sends and routes each response by its `id` to the call waiting for it, and each event
//! to the `watch_pending` subscribers. When the connection dies (the hub closed it or sent
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
    Event, FrameCodec, FrameError, Hello, HelloReply, RequestEnvelope, ResponseEnvelope,
    ResponseResult, ServerMessage, Welcome, DEFAULT_MAX_FRAME,
};
use futures::{SinkExt, StreamExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
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

/// One open connection after a successful hello.
pub(crate) struct Connection {
    /// The hub's welcome.
    pub(crate) welcome: Welcome,
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
pub(crate) enum SendError {
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
    /// Connects to `socket`, sends `hello` and starts the reader task; `max_frame` is the
    /// largest frame accepted from the hub.
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
        let mut reader = FramedRead::new(read, codec);
        let mut writer = FramedWrite::new(write, codec);

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
    pub(crate) async fn send(
        &self,
        id: u64,
        request: Request,
    ) -> Result<ResponseResult, SendError> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use auth_hub_protocol::ErrorReply;

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
