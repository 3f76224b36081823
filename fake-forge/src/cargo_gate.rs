//! A token-checking gate in front of a real Cargo registry server for the publish tests.
//!
//! The registry the tests run (ferro-cargo-registry-server) accepts any token, as its
//! documentation says: authentication is left to whatever sits in front of it. This gate is
//! that front: a loopback HTTP/1.1 server that forwards every request to the registry
//! unchanged, except that a write to the Web API (`PUT` or `DELETE` under `/api/v1/`: publish,
//! yank, unyank, owners) is answered `403` with a Cargo-style error body
//! (`{"errors":[{"detail":"invalid token"}]}`) unless its `Authorization` header equals the
//! configured token. Reads (the sparse index, `config.json`, downloads) pass freely, as on
//! crates.io.
//!
//! The registry's `config.json` must advertise the gate's URL as its API host, so the gate is
//! started first ([`CargoGate::start`]) and told where the registry listens once it is up
//! ([`CargoGate::forward_to`]); until then every request gets `503`. Each request is recorded
//! (method, path, whether it was refused; never the token).

use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tiny_http::{Header, Request, Response};

use crate::listener::{header, Listener};

/// The largest body the gate forwards either way (a test crate is a few KiB).
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// How long one forwarded request may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// Request and response headers the gate does not copy: hop-by-hop ones and those the HTTP
/// libraries set themselves from the body they send.
const NOT_FORWARDED: [&str; 7] = [
    "host",
    "connection",
    "http2-settings",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
];

/// One request the gate received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRequest {
    /// HTTP method, such as `GET` or `PUT`.
    pub method: String,
    /// Request path including the query string, such as `/api/v1/crates/new`.
    pub path: String,
    /// True when the gate answered `403` itself instead of forwarding.
    pub refused: bool,
}

/// State shared between the accept loop, request threads and the test.
struct Shared {
    token: String,
    upstream: OnceLock<String>,
    agent: ureq::Agent,
    requests: Mutex<Vec<GateRequest>>,
}

/// The running gate. Stops on drop, printing its request log first if the test failed.
pub struct CargoGate {
    shared: Arc<Shared>,
    listener: Listener,
}

impl CargoGate {
    /// Starts a gate on `127.0.0.1:0` that accepts `token` for writes.
    pub fn start(token: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(UPSTREAM_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into();
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            upstream: OnceLock::new(),
            agent,
            requests: Mutex::new(Vec::new()),
        });
        let listener = Listener::start("cargo gate", &shared, handle);
        Self { shared, listener }
    }

    /// The gate's base URL, `http://127.0.0.1:PORT` (what the registry advertises as its API).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.listener.addr())
    }

    /// Forwards requests to `upstream` (`http://127.0.0.1:PORT`) from now on. Only the first
    /// call counts.
    pub fn forward_to(&self, upstream: &str) {
        let _ = self
            .shared
            .upstream
            .set(upstream.trim_end_matches('/').to_owned());
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<GateRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for CargoGate {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- cargo gate requests ----");
            for request in self.requests() {
                eprintln!("{request:?}");
            }
        }
    }
}

/// True when a request with this method and path changes the registry and so needs the token.
fn is_write(method: &str, path: &str) -> bool {
    matches!(method, "PUT" | "DELETE") && path.starts_with("/api/v1/")
}

/// True when the `Authorization` value equals the accepted token. Compares every byte so the
/// time taken does not say how much of a guess was right.
fn token_matches(given: Option<&str>, accepted: &str) -> bool {
    let Some(given) = given else {
        return false;
    };
    let (given, accepted) = (given.as_bytes(), accepted.as_bytes());
    let differ = given
        .iter()
        .zip(accepted)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    given.len() == accepted.len() && differ == 0
}

/// Serves one request: refuses an unauthorized write, forwards anything else.
fn handle(shared: &Shared, mut request: Request) {
    let method = request.method().to_string();
    let path = request.url().to_owned();
    let authorization = header(&request, "Authorization");
    let refused =
        is_write(&method, &path) && !token_matches(authorization.as_deref(), &shared.token);
    shared
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(GateRequest {
            method: method.clone(),
            path: path.clone(),
            refused,
        });
    if refused {
        let _ = request.respond(json_response(
            403,
            r#"{"errors":[{"detail":"invalid token"}]}"#,
        ));
        return;
    }
    let Some(upstream) = shared.upstream.get() else {
        let _ = request.respond(json_response(
            503,
            r#"{"errors":[{"detail":"the registry behind the gate is not up yet"}]}"#,
        ));
        return;
    };
    // A request asking for a protocol upgrade (cargo's curl offers `Upgrade: h2c`) gets the
    // raw connection as its body reader in tiny_http, so only its declared length is read; the
    // gate answers in HTTP/1.1 and the connection closes after it.
    let upgrade = header(&request, "Connection")
        .is_some_and(|value| value.to_ascii_lowercase().contains("upgrade"));
    let mut body = Vec::new();
    let read = match (request.body_length(), upgrade) {
        (Some(length), _) => request
            .as_reader()
            .take(length as u64)
            .read_to_end(&mut body),
        (None, true) => Ok(0),
        (None, false) => request.as_reader().read_to_end(&mut body),
    };
    if read.is_err() {
        let _ = request.respond(json_response(
            400,
            r#"{"errors":[{"detail":"bad request body"}]}"#,
        ));
        return;
    }
    let response = match forward(shared, upstream, &method, &path, request.headers(), body) {
        Ok(response) => response,
        Err(message) => json_response(
            502,
            &serde_json::json!({ "errors": [{ "detail": message }] }).to_string(),
        ),
    };
    let _ = request.respond(response);
}

/// Sends the request on to the registry and turns its answer into the gate's response.
fn forward(
    shared: &Shared,
    upstream: &str,
    method: &str,
    path: &str,
    headers: &[Header],
    body: Vec<u8>,
) -> Result<Response<std::io::Cursor<Vec<u8>>>, String> {
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{upstream}{path}"));
    for header in headers {
        let name = header.field.as_str().as_str();
        if !NOT_FORWARDED.contains(&name.to_ascii_lowercase().as_str()) {
            builder = builder.header(name, header.value.as_str());
        }
    }
    let reply = if body.is_empty() {
        builder
            .body(())
            .map_err(|e| format!("bad request: {e}"))
            .and_then(|request| shared.agent.run(request).map_err(|e| e.to_string()))
    } else {
        builder
            .body(body)
            .map_err(|e| format!("bad request: {e}"))
            .and_then(|request| shared.agent.run(request).map_err(|e| e.to_string()))
    };
    let mut reply = reply.map_err(|e| format!("the registry did not answer: {e}"))?;
    let status = reply.status().as_u16();
    let mut copied = Vec::new();
    for (name, value) in reply.headers() {
        if NOT_FORWARDED.contains(&name.as_str()) {
            continue;
        }
        if let Ok(header) = Header::from_bytes(name.as_str().as_bytes(), value.as_bytes()) {
            copied.push(header);
        }
    }
    let bytes = reply
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| format!("reading the registry's answer: {e}"))?;
    let mut response = Response::from_data(bytes).with_status_code(status);
    for header in copied {
        response.add_header(header);
    }
    Ok(response)
}

/// A response with a JSON body.
fn json_response(status: u16, body: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    let content_type =
        Header::from_bytes("Content-Type", "application/json").expect("a valid header");
    Response::from_data(body.as_bytes().to_vec())
        .with_status_code(status)
        .with_header(content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_api_puts_and_deletes() {
        assert!(is_write("PUT", "/api/v1/crates/new"));
        assert!(is_write("DELETE", "/api/v1/crates/x/1.0.0/yank"));
        assert!(!is_write("GET", "/api/v1/crates/x/1.0.0/download"));
        assert!(!is_write("PUT", "/config.json"));
    }

    #[test]
    fn only_the_exact_token_matches() {
        assert!(token_matches(Some("secret"), "secret"));
        assert!(!token_matches(Some("secret2"), "secret"));
        assert!(!token_matches(Some("secre"), "secret"));
        assert!(!token_matches(Some(""), "secret"));
        assert!(!token_matches(None, "secret"));
    }

    #[test]
    fn an_unauthorized_publish_is_refused_without_an_upstream() {
        let gate = CargoGate::start("right");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}/api/v1/crates/new", gate.base_url());
        let mut reply = agent
            .put(&url)
            .header("Authorization", "wrong")
            .send(&b"body"[..])
            .expect("the gate answers");
        assert_eq!(reply.status().as_u16(), 403);
        let body = reply.body_mut().read_to_string().expect("a body");
        assert_eq!(body, r#"{"errors":[{"detail":"invalid token"}]}"#);
        // The right token gets past the gate; with nothing behind it, that is a 503.
        let reply = agent
            .put(&url)
            .header("Authorization", "right")
            .send(&b"body"[..])
            .expect("the gate answers");
        assert_eq!(reply.status().as_u16(), 503);
        let refused: Vec<bool> = gate.requests().iter().map(|r| r.refused).collect();
        assert_eq!(refused, [true, false]);
    }

    #[test]
    fn reads_are_forwarded_even_when_an_h2c_upgrade_is_offered() {
        // The registry behind the gate: answers every request with its method and path.
        let upstream = tiny_http::Server::http("127.0.0.1:0").expect("bind the upstream");
        let upstream_url = format!("http://{}", upstream.server_addr());
        std::thread::spawn(move || {
            for request in upstream.incoming_requests() {
                let echo = format!("{} {}", request.method(), request.url());
                let _ = request.respond(Response::from_string(echo));
            }
        });
        let gate = CargoGate::start("right");
        gate.forward_to(&upstream_url);
        // What cargo's curl sends for the sparse index over plain HTTP.
        let mut stream =
            std::net::TcpStream::connect(gate.base_url().trim_start_matches("http://"))
                .expect("connect to the gate");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a read timeout");
        std::io::Write::write_all(
            &mut stream,
            b"GET /config.json HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n\
              Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAQAAAAIAAAAA\r\n\r\n",
        )
        .expect("send the request");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("the gate answers and closes");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("GET /config.json"), "{answer}");
    }
}
