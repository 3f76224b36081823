//! One client connection: the hello under a timeout, then a reader that decodes and dispatches,
//! a writer fed by a bounded queue, and a cap on requests in flight. A slow client fills only its
//! own queue; untrusted bytes are never logged.

use std::sync::Arc;

use auth_hub_protocol::frame::{decode_body, encode, encode_body};
use auth_hub_protocol::request::Request;
use auth_hub_protocol::{
    ErrorCode, ErrorReply, Hello, HelloReply, RequestEnvelope, ResponseEnvelope, ResponseResult,
    ServerMessage, Welcome, PROTOCOL_VERSION,
};
use tokio::io::AsyncWriteExt;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{broadcast, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::audit::AuditRecord;
use crate::frame_reader::{FrameBudget, FrameReader, ReadError};
use crate::handler;
use crate::hub::{lock, Hub};
use crate::outbox::Outbox;
use crate::session::{Session, SessionKey};

use auth_hub_protocol::response::PeerInfo;

/// Largest frame the hub writes (answers such as an audit tail can exceed a request's limit).
const MAX_WRITE_FRAME: usize = 16 << 20;

/// A connection from an accepted, uid-checked peer.
pub struct Connection {
    hub: Arc<Hub>,
    stream: UnixStream,
    peer: PeerInfo,
    budget: FrameBudget,
}

impl Connection {
    /// Wraps an accepted stream; its frames over the per-connection allowance take from
    /// `budget`, which all connections share.
    pub fn new(hub: Arc<Hub>, stream: UnixStream, peer: PeerInfo, budget: FrameBudget) -> Self {
        Self {
            hub,
            stream,
            peer,
            budget,
        }
    }

    /// Serves the connection until the client leaves or the hub shuts down.
    pub async fn run(self) {
        let Self {
            hub,
            stream,
            peer,
            budget,
        } = self;
        let limits = hub.config().server.clone();
        let (read_half, write_half) = stream.into_split();
        // Buffers start tiny and grow with the frames that arrive (past a small allowance only
        // with the shared budget), so thousands of connections cost little memory.
        let mut reader = FrameReader::new(read_half, limits.max_frame, budget);
        let mut writer = write_half;

        let Some(session) =
            handshake(&hub, &peer, &mut reader, &mut writer, limits.hello_timeout).await
        else {
            return;
        };

        let tx = Outbox::start(writer);
        let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
        let closed = CancellationToken::new();
        let session = Arc::new(session);
        let stall_check = tokio::time::sleep(limits.hello_timeout);
        tokio::pin!(stall_check);
        // Frames read so far, and that count when a partial frame was last seen by the check.
        let mut frames: u64 = 0;
        let mut partial_since: Option<u64> = None;
        let mut watching = false;

        loop {
            let permit = tokio::select! {
                permit = in_flight.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = hub.shutdown.cancelled() => break,
            };
            // An idle connection may wait forever, but a frame must not stall: one periodic timer
            // per connection (not one per request) closes a connection whose partial frame made
            // no progress between two checks, which catches a client trickling a byte at a time.
            let frame = tokio::select! {
                frame = reader.next() => {
                    frames += 1;
                    frame
                }
                () = &mut stall_check => {
                    let partial = reader.has_partial();
                    if partial && partial_since == Some(frames) {
                        tracing::debug!(pid = peer.pid, "closing a connection whose frame stalled");
                        closed.cancel();
                        break;
                    }
                    partial_since = partial.then_some(frames);
                    stall_check.as_mut().reset(tokio::time::Instant::now() + limits.hello_timeout);
                    drop(permit);
                    continue;
                }
                () = hub.shutdown.cancelled() => break,
            };
            let frame = match frame {
                None => {
                    closed.cancel();
                    break;
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, pid = peer.pid, "closing connection after a framing error");
                    let reply = ErrorReply::new(read_error_code(&error), error.to_string());
                    send(&tx, 0, ResponseResult::Error(reply)).await;
                    closed.cancel();
                    break;
                }
                Some(Ok(frame)) => frame,
            };
            // A large frame's budget stays taken until its request is answered: it bounds the
            // decoded request as well as the bytes.
            let budget = frame.budget;
            let envelope: RequestEnvelope = match decode_body(&frame.body) {
                Ok(envelope) => envelope,
                Err(error) => {
                    let reply = ErrorReply::new(ErrorCode::BadRequest, error.to_string());
                    send(&tx, 0, ResponseResult::Error(reply)).await;
                    continue;
                }
            };
            let RequestEnvelope { id, request } = envelope;
            // One forwarder per connection, however often the client asks to watch.
            if !watching
                && matches!(request, Request::WatchPending(_))
                && session.key.as_ref().is_some_and(|key| key.owner)
            {
                watching = true;
                spawn_event_forwarder(&hub, &tx, &closed);
            }
            if handler::is_quick(&request) {
                let result = handler::dispatch(&hub, &session, &closed, request).await;
                send(&tx, id, result).await;
                drop((permit, budget));
            } else {
                let (hub, session, tx, closed) =
                    (hub.clone(), session.clone(), tx.clone(), closed.clone());
                tokio::spawn(async move {
                    let result = handler::dispatch(&hub, &session, &closed, request).await;
                    send(&tx, id, result).await;
                    drop((permit, budget));
                });
            }
        }
        // Let requests in flight finish (the server bounds this with its grace period).
        let _ = in_flight.acquire_many(limits.max_in_flight as u32).await;
        closed.cancel();
        tx.close();
    }
}

/// Reads the hello within the timeout, authenticates, and answers. `None` closes the connection.
async fn handshake(
    hub: &Hub,
    peer: &PeerInfo,
    reader: &mut FrameReader<OwnedReadHalf>,
    writer: &mut OwnedWriteHalf,
    timeout: std::time::Duration,
) -> Option<Session> {
    let frame = match tokio::time::timeout(timeout, reader.next()).await {
        Err(_) => {
            tracing::debug!(pid = peer.pid, "no hello in time; closing");
            return None;
        }
        Ok(None) => return None,
        Ok(Some(Err(error))) => {
            let reply = ErrorReply::new(read_error_code(&error), error.to_string());
            reply_hello(writer, HelloReply::Error(reply)).await;
            return None;
        }
        Ok(Some(Ok(frame))) => frame,
    };
    let hello: Hello = match decode_body(&frame.body) {
        Ok(hello) => hello,
        Err(error) => {
            let reply =
                ErrorReply::new(ErrorCode::BadRequest, format!("expected a hello: {error}"));
            reply_hello(writer, HelloReply::Error(reply)).await;
            return None;
        }
    };
    if hello.protocol_version != PROTOCOL_VERSION {
        let reply = ErrorReply::new(
            ErrorCode::UnsupportedVersion,
            format!(
                "this hub speaks protocol version {PROTOCOL_VERSION}, the client {}",
                hello.protocol_version
            ),
        );
        reply_hello(writer, HelloReply::Error(reply)).await;
        return None;
    }
    let client_name: String = hello.client_name.chars().take(64).collect();
    let key = match &hello.master_token {
        None => None,
        Some(token) => {
            let authenticated =
                lock(&hub.keys)
                    .authenticate(token, chrono::Utc::now())
                    .map(|record| SessionKey {
                        name: record.name.clone(),
                        owner: record.owner,
                    });
            match authenticated {
                Ok(key) => Some(key),
                Err(error) => {
                    tracing::info!(pid = peer.pid, reason = %error, "refused a hello with an invalid master token");
                    let session = Session {
                        peer: peer.clone(),
                        client_name,
                        key: None,
                    };
                    hub.record(
                        &session,
                        AuditRecord {
                            event: "hello",
                            outcome: "invalid_master_token",
                            ..Default::default()
                        },
                    );
                    let reply =
                        ErrorReply::new(ErrorCode::InvalidMasterToken, "invalid master token");
                    reply_hello(writer, HelloReply::Error(reply)).await;
                    return None;
                }
            }
        }
    };
    let welcome = Welcome {
        protocol_version: PROTOCOL_VERSION,
        server_name: "auth-hub".into(),
        server_version: env!("CARGO_PKG_VERSION").into(),
        key_name: key.as_ref().map(|key| key.name.clone()),
        owner: key.as_ref().is_some_and(|key| key.owner),
        max_frame: u32::try_from(reader.max_frame()).unwrap_or(u32::MAX),
    };
    if !reply_hello(writer, HelloReply::Welcome(welcome)).await {
        return None;
    }
    Some(Session {
        peer: peer.clone(),
        client_name,
        key,
    })
}

/// The code a frame that could not be read is answered with.
fn read_error_code(error: &ReadError) -> ErrorCode {
    match error {
        ReadError::Busy { .. } => ErrorCode::Busy,
        _ => ErrorCode::BadRequest,
    }
}

async fn reply_hello(writer: &mut OwnedWriteHalf, reply: HelloReply) -> bool {
    match encode(&reply, MAX_WRITE_FRAME) {
        Ok(frame) => writer.write_all(&frame).await.is_ok(),
        Err(error) => {
            tracing::error!(%error, "cannot encode a hello reply");
            false
        }
    }
}

/// Sends a response; a client that went away is not an error.
async fn send(outbox: &Outbox, id: u64, result: ResponseResult) {
    let message = ServerMessage::Response(ResponseEnvelope { id, result });
    match encode_body(&message) {
        Ok(body) => {
            outbox.send(&body).await;
        }
        Err(error) => tracing::error!(%error, id, "cannot encode a response"),
    }
}

/// Forwards pending-request events to this connection until it closes.
fn spawn_event_forwarder(hub: &Arc<Hub>, tx: &Arc<Outbox>, closed: &CancellationToken) {
    let mut events = hub.events.subscribe();
    let (tx, closed) = (tx.clone(), closed.clone());
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                () = closed.cancelled() => return,
            };
            match event {
                Ok(event) => {
                    let Ok(body) = encode_body(&ServerMessage::Event(event)) else {
                        continue;
                    };
                    if !tx.send(&body).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "a pending-request watcher fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
