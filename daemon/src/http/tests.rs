//! The server as a client sees it: a memory hub's endpoints bound by [`super::bind`] on
//! `127.0.0.1:0`, spoken to with raw HTTP/1.1 over TCP so malformed requests can be sent too.

#![allow(clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::hub::{lock, Hub};
use crate::test_support::in_memory;

/// A memory hub serving its HTTP endpoints until dropped.
struct Http {
    _dir: TempDir,
    hub: Arc<Hub>,
    address: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Http {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("config.toml"),
            "[http]\nlisten = \"127.0.0.1:0\"\n",
        )
        .expect("config written");
        let hub = in_memory(dir.path());
        let listener = super::bind(&hub).await.expect("binds").expect("configured");
        let address = lock(&hub.http_address).expect("address recorded");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(super::serve_http(hub.clone(), listener, shutdown.clone()));
        Self {
            _dir: dir,
            hub,
            address,
            shutdown,
            task,
        }
    }

    /// Sends `request` as is on a new connection and returns the whole answer (the hub closes
    /// after `Connection: close`, or after an unparsable request).
    async fn send(&self, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(self.address).await.expect("connects");
        stream.write_all(request).await.expect("sent");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    }

    async fn request(&self, method: &str, path: &str, headers: &str, body: &str) -> String {
        let text = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.send(text.as_bytes()).await
    }
}

fn status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

#[tokio::test]
async fn jwks_answers_get_and_head_unknown_paths_404_and_wrong_methods_405() {
    let http = Http::start().await;
    let answer = http.request("GET", "/secrets", "", "").await;
    assert_eq!(status(&answer), 404, "{answer}");
    let answer = http.request("HEAD", "/.well-known/jwks.json", "", "").await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(
        answer.ends_with("\r\n\r\n"),
        "a HEAD answer has no body: {answer}"
    );
    let answer = http.request("GET", "/.well-known/jwks.json", "", "").await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(answer.contains("\"keys\":["), "{answer}");
    let answer = http.request("POST", "/.well-known/jwks.json", "", "").await;
    assert_eq!(status(&answer), 405, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("allow: get, head"),
        "{answer}"
    );
    for path in ["/introspect", "/token"] {
        let answer = http.request("GET", path, "", "").await;
        assert_eq!(status(&answer), 405, "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("allow: post"),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn posts_without_a_usable_bearer_key_are_401_with_a_challenge() {
    let http = Http::start().await;
    let form = "content-type: application/x-www-form-urlencoded\r\n";
    for path in ["/introspect", "/token"] {
        let answer = http.request("POST", path, form, "token=x").await;
        assert_eq!(status(&answer), 401, "{answer}");
        assert!(
            answer.contains("www-authenticate: Bearer realm=\"auth-hub\"\r\n"),
            "{answer}"
        );
        assert!(answer.contains("\"error\":\"invalid_client\""), "{answer}");
        assert!(answer.contains("cache-control: no-store"), "{answer}");
        let answer = http
            .request(
                "POST",
                path,
                &format!("{form}authorization: Basic eDp5\r\n"),
                "",
            )
            .await;
        assert_eq!(status(&answer), 401, "{answer}");
        assert!(answer.contains("error=\"invalid_token\""), "{answer}");
    }
}

#[tokio::test]
async fn garbage_and_oversized_headers_are_refused_and_the_server_goes_on() {
    let http = Http::start().await;
    let answer = http.send(b"\x00\x01\x02 not http at all\r\n\r\n").await;
    assert!(answer.is_empty() || status(&answer) == 400, "{answer}");
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let answer = http.send(huge.as_bytes()).await;
    assert!(answer.is_empty() || status(&answer) == 431, "{answer}");
    let answer = http.request("GET", "/nothing", "", "").await;
    assert_eq!(status(&answer), 404, "{answer}");
}

#[tokio::test]
async fn shutdown_stops_the_listener() {
    let http = Http::start().await;
    http.shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), http.task)
        .await
        .expect("stops within the grace period")
        .expect("no panic");
    assert!(TcpStream::connect(http.address).await.is_err());
    drop(http.hub);
}

#[tokio::test]
async fn a_taken_port_is_a_start_up_error_naming_the_address() {
    let http = Http::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[http]\nlisten = \"{}\"\n", http.address),
    )
    .expect("config written");
    let second = in_memory(dir.path());
    let error = super::bind(&second).await.expect_err("port taken");
    let message = error.to_string();
    assert!(message.contains(&http.address.to_string()), "{message}");
    assert!(message.contains("already in use"), "{message}");
    assert!(lock(&second.http_address).is_none());
}

#[tokio::test]
async fn no_listen_no_listener_and_a_changed_config_asks_for_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("config.toml"), "").expect("config written");
    let hub = in_memory(dir.path());
    assert!(super::bind(&hub).await.expect("nothing to bind").is_none());
    assert!(lock(&hub.http_address).is_none());
    assert_eq!(super::restart_note(&hub), None);
    std::fs::write(
        dir.path().join("config.toml"),
        "[http]\nlisten = \"127.0.0.1:8787\"\n",
    )
    .expect("config written");
    hub.reload_config();
    let note = super::restart_note(&hub).expect("differs");
    assert!(
        note.contains("127.0.0.1:8787") && note.contains("restart"),
        "{note}"
    );

    let http = Http::start().await;
    assert_eq!(
        super::restart_note(&http.hub),
        None,
        "port 0 agrees with any port"
    );
}

// Several threads, so the timeout still fires if the handler blocks one on a lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_bound_address_without_a_restart_note() {
    use auth_hub_protocol::request::Status;
    use auth_hub_protocol::{Request, Response};

    let served = crate::test_support::Served::start("[http]\nlisten = \"127.0.0.1:0\"\n");
    let _listener = super::bind(&served.hub).await.expect("binds");
    let bound = lock(&served.hub.http_address).expect("recorded");
    let mut wire = served.connect(None).await;
    let reply = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        wire.ok(Request::Status(Status {})),
    )
    .await
    .expect("status answers (no lock held twice)");
    let Response::Status(status) = reply else {
        panic!("not a status: {reply:?}");
    };
    assert_eq!(status.http_listen, Some(bound.to_string()));
    assert_eq!(status.http_restart, None);
}

/// The owner key of `hub` (a caller the POST endpoints accept).
fn owner(hub: &Hub) -> String {
    lock(&hub.keys)
        .create_owner("owner", chrono::Utc::now())
        .expect("owner key created")
        .0
        .expose()
        .to_owned()
}

#[tokio::test]
async fn a_chunked_body_past_the_limit_is_413_and_a_small_one_is_answered() {
    let http = Http::start().await;
    let key = owner(&http.hub);
    // No Content-Length: the limit is enforced while reading.
    let mut request = format!(
        "POST /introspect HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let chunk = "a".repeat(16 * 1024);
    for _ in 0..5 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let answer = http.send(request.as_bytes()).await;
    assert_eq!(status(&answer), 413, "{answer}");

    let form = "content-type: application/x-www-form-urlencoded\r\n";
    let answer = http
        .request(
            "POST",
            "/introspect",
            &format!("{form}authorization: Bearer {key}\r\n"),
            "token=TAUTH_nobody--zabc",
        )
        .await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(answer.ends_with("\r\n\r\n{\"active\":false}"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_and_idle_connections_are_closed_at_the_header_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("config.toml"), "").expect("config written");
    let hub = in_memory(dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let address = listener.local_addr().expect("address");
    let shutdown = CancellationToken::new();
    let timeout = std::time::Duration::from_millis(1500);
    tokio::spawn(super::serve_limited(
        hub,
        listener,
        shutdown.clone(),
        2,
        timeout,
    ));
    // Two connections that send nothing take both slots.
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(TcpStream::connect(address).await.expect("connects"));
    }
    let mut third = TcpStream::connect(address)
        .await
        .expect("the kernel's backlog takes it");
    third
        .write_all(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    third.read_to_end(&mut answer).await.expect("answered");
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status(&answer), 404, "{answer}");
    // Answered only once the header timeout closed an idle connection and freed its slot.
    assert!(started.elapsed() >= timeout / 2, "{:?}", started.elapsed());
    for mut stream in idle {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut rest),
        )
        .await;
        assert!(closed.is_ok(), "the idle connection is closed by the hub");
    }
    shutdown.cancel();
}
