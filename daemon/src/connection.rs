//! One client connection: the hello under a timeout (requests may follow it in the same write,
//! and are read once it is welcomed), then a reader that decodes and dispatches,
//! a writer fed by a bounded queue, and a cap on requests in flight. A slow client fills only its
//! own queue; untrusted bytes are never logged.

use std::sync::Arc;

use auth_hub_protocol::frame::{decode_body, encode, encode_body};
use auth_hub_protocol::request::{request_id, Request};
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

        // Requests may follow the hello without waiting for the welcome (a fresh `get` is then
        // one round trip): whatever arrived behind the hello stays in `reader`, which the loop
        // below keeps using, so it is read only after the welcome is written, with every check.
        // A refused hello returns here and closes the connection with those frames unread.
        let Some((session, held_welcome)) =
            handshake(&hub, &peer, &mut reader, &mut writer, limits.hello_timeout).await
        else {
            return;
        };

        // A welcome held back leaves with the first answer (or once the first request is under
        // way, if that one waits): the client reads both at once.
        let tx = Outbox::holding(writer, held_welcome);
        let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
        let closed = CancellationToken::new();
        let session = Arc::new(session);
        let stall_check = tokio::time::sleep(limits.hello_timeout);
        tokio::pin!(stall_check);
        // Frames read so far, and that count when a partial frame was last seen by the check.
        let mut frames: u64 = 0;
        let mut partial_since: Option<u64> = None;
        let mut watching = false;
        // One shutdown future for the connection's life, polled by reference: a new one per
        // select would register with the token (a lock) twice per request.
        let shutdown = hub.shutdown.cancelled();
        tokio::pin!(shutdown);

        loop {
            let permit = tokio::select! {
                permit = in_flight.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
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
                () = &mut shutdown => break,
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
                    // The client waits on its id: answer with it whenever it can be read (an
                    // unknown operation, an ill-typed field); 0 only when it cannot.
                    let id = request_id(&frame.body).unwrap_or(0);
                    let reply = ErrorReply::new(ErrorCode::BadRequest, error.to_string());
                    send(&tx, id, ResponseResult::Error(reply)).await;
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
                // This answer may take long: the client is not kept waiting for its welcome.
                tx.release();
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
/// When a request already follows the hello, the welcome frame is returned to be written with
/// that request's answer instead of now (empty when it was written).
async fn handshake(
    hub: &Hub,
    peer: &PeerInfo,
    reader: &mut FrameReader<OwnedReadHalf>,
    writer: &mut OwnedWriteHalf,
    timeout: std::time::Duration,
) -> Option<(Session, Vec<u8>)> {
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
                        hash: record.hash.clone(),
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
                        ErrorReply::new(ErrorCode::InvalidMasterToken, error.client_message());
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
    let reply = HelloReply::Welcome(welcome);
    let held = if reader.has_frame() {
        hello_frame(&reply)?
    } else if reply_hello(writer, reply).await {
        Vec::new()
    } else {
        return None;
    };
    let session = Session {
        peer: peer.clone(),
        client_name,
        key,
    };
    Some((session, held))
}

/// The code a frame that could not be read is answered with.
fn read_error_code(error: &ReadError) -> ErrorCode {
    match error {
        ReadError::Busy { .. } => ErrorCode::Busy,
        _ => ErrorCode::BadRequest,
    }
}

async fn reply_hello(writer: &mut OwnedWriteHalf, reply: HelloReply) -> bool {
    match hello_frame(&reply) {
        Some(frame) => writer.write_all(&frame).await.is_ok(),
        None => false,
    }
}

/// A hello reply framed; `None` (logged) if it cannot be encoded.
fn hello_frame(reply: &HelloReply) -> Option<Vec<u8>> {
    encode(reply, MAX_WRITE_FRAME)
        .map_err(|error| tracing::error!(%error, "cannot encode a hello reply"))
        .ok()
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

#[cfg(test)]
mod tests {
    use auth_hub_protocol::frame::read_frame;
    use auth_hub_protocol::request::Status;
    use tokio::io::AsyncReadExt;

    use super::*;

    /// A connection served in-process on one end of a socket pair; the other end is returned,
    /// after a welcomed keyless hello.
    async fn connected(hub: &Arc<Hub>, budget: &FrameBudget) -> UnixStream {
        let (mut client, server) = UnixStream::pair().expect("socket pair");
        let peer = PeerInfo {
            uid: 1000,
            pid: Some(42),
            exe: None,
        };
        tokio::spawn(Connection::new(hub.clone(), server, peer, budget.clone()).run());
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            client_name: "test".into(),
            client_version: "0".into(),
            master_token: None,
        };
        client
            .write_all(&encode(&hello, 1024).expect("encodes"))
            .await
            .expect("hello sent");
        let reply: HelloReply = decode_body(&read_body(&mut client).await).expect("hello reply");
        assert!(matches!(reply, HelloReply::Welcome(_)), "{reply:?}");
        client
    }

    async fn read_body(client: &mut UnixStream) -> Vec<u8> {
        let mut prefix = [0u8; 4];
        client.read_exact(&mut prefix).await.expect("a frame");
        let mut frame = prefix.to_vec();
        frame.resize(4 + u32::from_be_bytes(prefix) as usize, 0);
        client.read_exact(&mut frame[4..]).await.expect("a body");
        read_frame(&mut frame.as_slice(), MAX_WRITE_FRAME)
            .expect("a frame")
            .expect("not empty")
    }

    /// The next response's id and error code (`None` for a success).
    async fn response(client: &mut UnixStream) -> (u64, Option<ErrorCode>) {
        match decode_body(&read_body(client).await).expect("a server message") {
            ServerMessage::Response(ResponseEnvelope { id, result }) => match result {
                ResponseResult::Ok(_) => (id, None),
                ResponseResult::Error(reply) => (id, Some(reply.code)),
            },
            other => panic!("{other:?}"),
        }
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut frame = u32::try_from(body.len())
            .expect("small")
            .to_be_bytes()
            .to_vec();
        frame.extend_from_slice(body);
        frame
    }

    #[tokio::test]
    async fn bad_requests_carry_the_id_when_it_can_be_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = crate::test_support::in_memory(dir.path());
        let mut client = connected(&hub, &FrameBudget::new(1 << 20)).await;
        // {"id": 42, "request": {"statux": {}}}
        let unknown = b"\x82\xa2id\x2a\xa7request\x81\xa6statux\x80";
        client.write_all(&framed(unknown)).await.expect("sent");
        assert_eq!(
            response(&mut client).await,
            (42, Some(ErrorCode::BadRequest))
        );
        // {"id": 9, "request": {"get_secret": {"path": 5}}}
        let ill_typed = b"\x82\xa2id\x09\xa7request\x81\xaaget_secret\x81\xa4path\x05";
        client.write_all(&framed(ill_typed)).await.expect("sent");
        assert_eq!(
            response(&mut client).await,
            (9, Some(ErrorCode::BadRequest))
        );
        // [5, {"status": []}]: positional, refused, and its id is not taken from a position.
        let positional = b"\x92\x05\x81\xa6status\x90";
        client.write_all(&framed(positional)).await.expect("sent");
        assert_eq!(
            response(&mut client).await,
            (0, Some(ErrorCode::BadRequest))
        );
        // The connection goes on.
        let status = RequestEnvelope {
            id: 3,
            request: Request::Status(Status {}),
        };
        client
            .write_all(&encode(&status, 1024).expect("encodes"))
            .await
            .expect("sent");
        assert_eq!(response(&mut client).await, (3, None));
    }

    #[tokio::test]
    async fn a_frame_that_cannot_get_budget_is_answered_busy() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = crate::test_support::in_memory(dir.path());
        let budget = FrameBudget::new(4_000);
        // One connection holds the whole budget with half of a 6 000-byte frame.
        let mut holder = connected(&hub, &budget).await;
        let mut half = 6_000u32.to_be_bytes().to_vec();
        half.resize(3_000, 0);
        holder.write_all(&half).await.expect("sent");
        // Another one's large frame waits for it, then is told busy and closed.
        let mut other = connected(&hub, &budget).await;
        let mut large = 2_000u32.to_be_bytes().to_vec();
        large.resize(2_004, 0);
        other.write_all(&large).await.expect("sent");
        assert_eq!(response(&mut other).await, (0, Some(ErrorCode::Busy)));
        // Closed: the end of the stream, or a reset as the hub left the frame unread.
        let mut rest = Vec::new();
        match other.read_to_end(&mut rest).await {
            Ok(_) => assert!(rest.is_empty()),
            Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
        }
        // Small requests never wait for the budget.
        let status = RequestEnvelope {
            id: 1,
            request: Request::Status(Status {}),
        };
        other = connected(&hub, &budget).await;
        other
            .write_all(&encode(&status, 1024).expect("encodes"))
            .await
            .expect("sent");
        assert_eq!(response(&mut other).await, (1, None));
        drop(holder);
    }

    /// Tests through the real `serve` on a temp socket (see `crate::test_support`).
    mod served {
        use std::time::Duration;

        use auth_hub_protocol::request::HasScope;
        use auth_hub_protocol::MasterToken;

        use super::*;
        use crate::test_support::{scope, Served};

        #[tokio::test]
        async fn a_refused_hello_is_answered_then_the_connection_is_closed() {
            let served = Served::start("");
            let mut wrong_key = served.raw().await;
            let reply = wrong_key
                .hello(Some(&MasterToken::from("TAUTH_nobody--zwrong")))
                .await;
            assert!(
                matches!(&reply, HelloReply::Error(error) if error.code == ErrorCode::InvalidMasterToken),
                "{reply:?}"
            );
            assert!(wrong_key.next().await.is_none(), "closed after the reply");

            let mut old = served.raw().await;
            let reply = old.hello_version(None, PROTOCOL_VERSION + 1).await;
            assert!(
                matches!(&reply, HelloReply::Error(error) if error.code == ErrorCode::UnsupportedVersion),
                "{reply:?}"
            );
            assert!(old.next().await.is_none(), "closed after the reply");
        }

        #[tokio::test(start_paused = true)]
        async fn a_client_that_sends_no_hello_is_closed_at_the_hello_timeout() {
            let served = Served::start("[server]\nhello_timeout = \"5s\"\n");
            let mut silent = served.raw().await;
            let start = tokio::time::Instant::now();
            assert!(silent.next().await.is_none(), "closed without a word");
            assert!(
                start.elapsed() >= Duration::from_secs(5),
                "not before the timeout"
            );
        }

        #[tokio::test]
        async fn pipelined_requests_are_each_answered_under_their_own_id() {
            let served = Served::start("");
            let owner = served.owner_key();
            let mut wire = served.connect(Some(&owner)).await;
            let mut sent = Vec::new();
            for _ in 0..5 {
                sent.push(
                    wire.send(Request::Status(auth_hub_protocol::request::Status {}))
                        .await,
                );
                let has = HasScope {
                    scope: scope("github/alice/*"),
                    permissions: auth_hub_protocol::Permissions::READ,
                };
                sent.push(wire.send(Request::HasScope(has)).await);
            }
            wire.expect_ok_answers(&sent).await;
        }

        #[tokio::test]
        async fn requests_written_with_the_hello_are_answered_after_the_welcome() {
            let served = Served::start("");
            let owner = served.owner_key();
            let mut wire = served.raw().await;
            let has = HasScope {
                scope: scope("github/alice/*"),
                permissions: auth_hub_protocol::Permissions::READ,
            };
            let requests = vec![
                Request::Status(Status {}),
                Request::HasScope(has),
                Request::ListGrants(auth_hub_protocol::request::ListGrants {}),
            ];
            let (reply, sent) = wire
                .hello_pipelined(Some(&owner), PROTOCOL_VERSION, requests)
                .await;
            assert!(
                matches!(&reply, HelloReply::Welcome(welcome) if welcome.owner),
                "{reply:?}"
            );
            wire.expect_ok_answers(&sent).await;
            // The session goes on as any other.
            assert!(matches!(
                wire.ok(Request::Status(Status {})).await,
                auth_hub_protocol::Response::Status(_)
            ));
        }

        #[tokio::test]
        async fn a_refused_hello_serves_none_of_the_requests_written_with_it() {
            let served = Served::start("");
            // A keyless `login` behind a hello of another protocol version: the error, the end
            // of the connection, and no owner key made.
            let login = || {
                Request::Login(auth_hub_protocol::request::Login {
                    name: String::new(),
                })
            };
            let mut old = served.raw().await;
            let (reply, _) = old
                .hello_pipelined(None, PROTOCOL_VERSION + 1, vec![login(), login()])
                .await;
            assert!(
                matches!(&reply, HelloReply::Error(error) if error.code == ErrorCode::UnsupportedVersion),
                "{reply:?}"
            );
            assert!(old.next().await.is_none(), "closed, nothing answered");
            assert!(!lock(&served.hub.keys).has_owner());

            // A wrong key with requests behind it: the same.
            let owner = served.owner_key();
            let mut wrong = served.raw().await;
            let forged = MasterToken::from("TAUTH_nobody--zwrong");
            let (reply, _) = wrong
                .hello_pipelined(
                    Some(&forged),
                    PROTOCOL_VERSION,
                    vec![
                        Request::Status(Status {}),
                        Request::ListGrants(auth_hub_protocol::request::ListGrants {}),
                    ],
                )
                .await;
            assert!(
                matches!(&reply, HelloReply::Error(error) if error.code == ErrorCode::InvalidMasterToken),
                "{reply:?}"
            );
            assert!(wrong.next().await.is_none(), "closed, nothing answered");
            // The hub is unaffected.
            let mut good = served.connect(Some(&owner)).await;
            assert!(matches!(
                good.ok(Request::Status(Status {})).await,
                auth_hub_protocol::Response::Status(_)
            ));
        }

        #[tokio::test]
        async fn shutdown_closes_open_connections() {
            let served = Served::start("");
            let mut wire = served.connect(None).await;
            served.stop().await;
            assert!(wire.next().await.is_none());
        }
    }
}
