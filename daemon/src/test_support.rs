//! Shared fixtures for the daemon's unit tests: a memory hub served by the real [`crate::serve`]
//! on a temporary socket, keys made in its key ring, and a [`Wire`] client that speaks frames
//! through the protocol crate's codec (the daemon does not depend on the client library).
//!
//! Tests that need only the tables use [`in_memory`]; tests of a handler, the
//! connection or the outbox as a client sees them use [`Served`].

#![allow(clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use auth_hub_protocol::frame::{decode_body, encode_body};
use auth_hub_protocol::request::{GetSecret, RequestScope};
use auth_hub_protocol::response::ScopeResult;
use auth_hub_protocol::{
    AccessToken, ErrorCode, Hello, HelloReply, MasterToken, Permissions, Request, RequestEnvelope,
    Response, ResponseResult, SecretPath, SecretScope, ServerMessage, PROTOCOL_VERSION,
};
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use tempfile::TempDir;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use crate::hub::{lock, Hub};
use crate::store::StoreKind;
use crate::{HubOptions, HubPaths};

/// A hub on a memory store with everything else under `home`.
pub fn in_memory(home: &Path) -> Arc<Hub> {
    Hub::open(HubOptions {
        paths: HubPaths::resolve(Some(home.to_owned()), None).expect("paths"),
        store: Some(StoreKind::Memory),
        inherited: false,
        accept_store_loss: false,
    })
    .expect("hub opens")
}

/// A memory hub served on its socket under a temp dir until dropped.
pub struct Served {
    /// Holds the hub's files; removed on drop.
    _dir: TempDir,
    /// The hub being served, for setting up and inspecting its tables.
    pub hub: Arc<Hub>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Served {
    /// Writes `config` (a `config.toml`, empty for the defaults), opens a memory hub on a fresh
    /// temp dir and serves it.
    pub fn start(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("config.toml"), config).expect("config written");
        let hub = in_memory(dir.path());
        let socket = hub.paths.socket.clone();
        let listener = tokio::net::UnixListener::bind(&socket).expect("socket bound");
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone().cancelled_owned();
        let served = hub.clone();
        let task = tokio::spawn(async move {
            crate::serve(listener, served, stop)
                .await
                .expect("serve ends cleanly");
        });
        Self {
            _dir: dir,
            hub,
            shutdown,
            task,
        }
    }

    /// Creates the owner key (named `owner`) and returns its text.
    pub fn owner_key(&self) -> MasterToken {
        lock(&self.hub.keys)
            .create_owner("owner", Utc::now())
            .expect("owner key created")
            .0
    }

    /// Creates a service key with pre-granted `scopes` and returns its text.
    pub fn service_key(
        &self,
        name: &str,
        scopes: &[&str],
        permissions: Permissions,
    ) -> MasterToken {
        let scopes = scopes.iter().map(|text| scope(text)).collect();
        lock(&self.hub.keys)
            .create_service(name, scopes, permissions, None, Utc::now())
            .expect("service key created")
            .0
    }

    /// A connection to the hub, not yet past its hello.
    pub async fn raw(&self) -> Wire {
        let stream = UnixStream::connect(&self.hub.paths.socket)
            .await
            .expect("hub accepts");
        Wire {
            framed: Framed::new(stream, auth_hub_protocol::FrameCodec::default()),
            next_id: 1,
        }
    }

    /// A connection welcomed with `key`.
    pub async fn connect(&self, key: Option<&MasterToken>) -> Wire {
        let mut wire = self.raw().await;
        let reply = wire.hello(key).await;
        assert!(matches!(reply, HelloReply::Welcome(_)), "{reply:?}");
        wire
    }

    /// Stops serving and waits for `serve` to return (connections closed, audit flushed).
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        (&mut self.task).await.expect("serve task");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// One client connection speaking frames.
pub struct Wire {
    framed: Framed<UnixStream, auth_hub_protocol::FrameCodec>,
    next_id: u64,
}

impl Wire {
    /// Sends the hello with `key` and returns the hub's reply.
    pub async fn hello(&mut self, key: Option<&MasterToken>) -> HelloReply {
        self.hello_version(key, PROTOCOL_VERSION).await
    }

    /// Sends a hello claiming protocol `version`.
    pub async fn hello_version(&mut self, key: Option<&MasterToken>, version: u32) -> HelloReply {
        let hello = Hello {
            protocol_version: version,
            client_name: "daemon-tests".into(),
            client_version: "0".into(),
            master_token: key.map(|key| MasterToken::from(key.expose())),
        };
        self.framed
            .send(encode_body(&hello).expect("hello encodes"))
            .await
            .expect("hello sent");
        let body = self.framed.next().await.expect("a reply").expect("a frame");
        decode_body(&body).expect("a hello reply")
    }

    /// Sends the hello claiming protocol `version` and, in the same write, `requests` under fresh
    /// ids, without waiting for the welcome; returns the hub's reply to the hello and the ids.
    pub async fn hello_pipelined(
        &mut self,
        key: Option<&MasterToken>,
        version: u32,
        requests: Vec<Request>,
    ) -> (HelloReply, Vec<u64>) {
        let hello = Hello {
            protocol_version: version,
            client_name: "daemon-tests".into(),
            client_version: "0".into(),
            master_token: key.map(|key| MasterToken::from(key.expose())),
        };
        self.framed
            .feed(encode_body(&hello).expect("hello encodes"))
            .await
            .expect("hello buffered");
        let mut ids = Vec::new();
        for request in requests {
            let id = self.next_id;
            self.next_id += 1;
            let envelope = RequestEnvelope { id, request };
            self.framed
                .feed(encode_body(&envelope).expect("request encodes"))
                .await
                .expect("request buffered");
            ids.push(id);
        }
        // One flush: the hello and the requests leave in one write.
        self.framed.flush().await.expect("hello and requests sent");
        let body = self.framed.next().await.expect("a reply").expect("a frame");
        (decode_body(&body).expect("a hello reply"), ids)
    }

    /// Sends `request` under a fresh id and returns the id.
    pub async fn send(&mut self, request: Request) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let envelope = RequestEnvelope { id, request };
        self.framed
            .send(encode_body(&envelope).expect("request encodes"))
            .await
            .expect("request sent");
        id
    }

    /// Reads answers until every request in `sent` is answered, asserting each succeeded and
    /// that no event arrived in between; the order of the answers is free.
    pub async fn expect_ok_answers(&mut self, sent: &[u64]) {
        let mut answered = Vec::new();
        while answered.len() < sent.len() {
            match self.next().await.expect("an answer") {
                ServerMessage::Response(envelope) => {
                    assert!(
                        matches!(envelope.result, ResponseResult::Ok(_)),
                        "{envelope:?}"
                    );
                    answered.push(envelope.id);
                }
                ServerMessage::Event(event) => panic!("{event:?}"),
            }
        }
        answered.sort_unstable();
        let mut expected = sent.to_vec();
        expected.sort_unstable();
        assert_eq!(answered, expected);
    }

    /// The next message from the hub, or `None` once it closed the connection.
    pub async fn next(&mut self) -> Option<ServerMessage> {
        match self.framed.next().await? {
            Ok(body) => Some(decode_body(&body).expect("a server message")),
            Err(_) => None,
        }
    }

    /// Sends `request` and returns its result (events pushed meanwhile are skipped).
    pub async fn call(&mut self, request: Request) -> ResponseResult {
        let id = self.send(request).await;
        loop {
            match self.next().await.expect("the hub answers") {
                ServerMessage::Response(envelope) if envelope.id == id => return envelope.result,
                ServerMessage::Response(envelope) => panic!("answer to {} first", envelope.id),
                ServerMessage::Event(_) => {}
            }
        }
    }

    /// Sends `request`, expecting success.
    pub async fn ok(&mut self, request: Request) -> Response {
        match self.call(request).await {
            ResponseResult::Ok(response) => response,
            ResponseResult::Error(reply) => panic!("refused: {reply:?}"),
        }
    }

    /// Sends `request`, expecting an error; returns its code.
    pub async fn refused(&mut self, request: Request) -> ErrorCode {
        match self.call(request).await {
            ResponseResult::Ok(response) => panic!("answered: {response:?}"),
            ResponseResult::Error(reply) => reply.code,
        }
    }

    /// Asks for one scope without waiting; the token, or the refusal's code.
    pub async fn token(
        &mut self,
        scope_text: &str,
        permissions: Permissions,
    ) -> Result<AccessToken, ErrorCode> {
        let request = Request::RequestScope(RequestScope {
            scopes: vec![scope(scope_text)],
            permissions,
            wait_ms: 0,
            reason: "test".into(),
        });
        let Response::Scopes(mut outcomes) = self.ok(request).await else {
            panic!("not a scope answer");
        };
        match outcomes.outcomes.remove(0).result {
            ScopeResult::Granted(granted) => Ok(granted.access_token),
            ScopeResult::Error(reply) => Err(reply.code),
        }
    }

    /// Reads `path` with `token`: its value, or the refusal's code.
    pub async fn get(&mut self, token: &AccessToken, path_text: &str) -> Result<String, ErrorCode> {
        let request = Request::GetSecret(GetSecret {
            access_token: AccessToken::from(token.expose()),
            path: path(path_text),
        });
        match self.call(request).await {
            ResponseResult::Ok(Response::Secret(secret)) => Ok(secret.value.expose().to_owned()),
            ResponseResult::Ok(other) => panic!("not a secret: {other:?}"),
            ResponseResult::Error(reply) => Err(reply.code),
        }
    }
}

/// `seconds` after a fixed instant (2023-11-14), for tests of expiry and ordering.
pub fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_opt(1_700_000_000 + seconds, 0)
        .single()
        .expect("valid test timestamp")
}

/// A secret path from test text.
pub fn path(text: &str) -> SecretPath {
    SecretPath::parse(text).expect("a valid path")
}

/// A scope from test text.
pub fn scope(text: &str) -> SecretScope {
    SecretScope::parse(text).expect("a valid scope")
}
