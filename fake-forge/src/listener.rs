//! The HTTP plumbing the git server and the cargo gate share: a loopback listener that serves
//! each request on its own thread and stops on drop, and the request-header lookup.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Request, Server};

/// A tiny_http server on `127.0.0.1:0` handing every request to `handle` on a new thread.
/// Dropping it stops accepting and waits for the accepting thread.
pub(crate) struct Listener {
    addr: SocketAddr,
    server: Arc<Server>,
    acceptor: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds a free loopback port and starts serving; `what` names the server in panics.
    pub(crate) fn start<S: Send + Sync + 'static>(
        what: &str,
        shared: &Arc<S>,
        handle: fn(&S, Request),
    ) -> Self {
        let server = Arc::new(
            Server::http("127.0.0.1:0").unwrap_or_else(|error| panic!("bind the {what}: {error}")),
        );
        let addr = server
            .server_addr()
            .to_ip()
            .unwrap_or_else(|| panic!("the {what} listens on an IP address"));
        let acceptor = {
            let server = Arc::clone(&server);
            let shared = Arc::clone(shared);
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let shared = Arc::clone(&shared);
                    std::thread::spawn(move || handle(&shared, request));
                }
            })
        };
        Self {
            addr,
            server,
            acceptor: Some(acceptor),
        }
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// A request header's value by name (case-insensitive).
pub(crate) fn header(request: &Request, name: &'static str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|header| header.field.equiv(name))
        .map(|header| header.value.as_str().to_owned())
}
