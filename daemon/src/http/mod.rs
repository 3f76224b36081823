//! The opt-in loopback HTTP listener (`[http] listen`), so an API in any language can use the
//! hub with its usual libraries: `GET /.well-known/jwks.json`, `POST /introspect` (RFC 7662) and
//! `POST /token` (RFC 8693 token exchange). Callers of the two POST endpoints authenticate with
//! their own service key as a bearer token and need its `validate` permission.
//!
//! - this file: binding (at start-up, so a taken port is a start-up error) and the accept loop
//!   (a connection cap, a header-read timeout, graceful shutdown on the hub's token);
//! - [`route`]: which endpoint a request goes to (404, 405);
//! - [`caller`]: the bearer service key of a POST;
//! - [`form`]: the size- and time-limited `application/x-www-form-urlencoded` body;
//! - [`reply`]: JSON answers and OAuth error bodies;
//! - [`jwks`], [`introspect`], [`token`]: one file per endpoint.
//!
//! Nothing here logs a request body or the `Authorization` header: both carry credentials.

pub mod caller;
pub mod form;
pub mod introspect;
pub mod jwks;
pub mod reply;
pub mod route;
#[cfg(test)]
mod tests;
pub mod token;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::hub::{lock, Hub};
use crate::keys::KeyRecord;
use crate::server::accept_backing_off;

/// Most HTTP connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 64;
/// How long a client has to send a request's headers (also the keep-alive idle limit: hyper
/// starts this timer whenever it waits for the next request on a connection).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest buffered read of one connection (request line and headers).
const MAX_HEADER_BUFFER: usize = 16 * 1024;
/// How long requests in flight may take to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Binds `[http] listen` when the config sets it, and records the bound address in
/// `hub.http_address` (port 0 becomes the port the system chose). Called before the hub
/// reports itself ready, so a taken or unusable address stops the start with a clear error.
///
/// # Errors
/// [`HubError::Setup`] naming the address when it cannot be bound.
pub async fn bind(hub: &Hub) -> Result<Option<TcpListener>, HubError> {
    let Some(address) = hub.config().http.listen else {
        return Ok(None);
    };
    let cannot = |error: std::io::Error| {
        HubError::Setup(format!(
            "cannot listen for HTTP on {address} ([http] listen in {}): {}",
            hub.paths.config_file.display(),
            bind_reason(&error)
        ))
    };
    let listener = TcpListener::bind(address).await.map_err(cannot)?;
    let bound = listener.local_addr().map_err(cannot)?;
    *lock(&hub.http_address) = Some(bound);
    tracing::info!(address = %bound, "http endpoints listening");
    Ok(Some(listener))
}

/// The OS error in words, with the usual cause spelled out.
fn bind_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            "the address is already in use (another program, or another hub, listens there)"
                .to_owned()
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "no network interface of this machine has that address".to_owned()
        }
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".to_owned()
        }
        _ => error.to_string(),
    }
}

/// What `status` says when the config file's `[http] listen` is not what runs: the listener is
/// bound once, at start-up, so a changed `[http]` takes effect at the next start. `None` when
/// they agree (a configured port 0 agrees with whatever port was chosen).
pub fn restart_note(hub: &Hub) -> Option<String> {
    let configured = hub.config().http.listen;
    let running = *lock(&hub.http_address);
    let agree = match (configured, running) {
        (None, None) => true,
        (Some(wanted), Some(bound)) => {
            wanted.ip() == bound.ip() && (wanted.port() == 0 || wanted.port() == bound.port())
        }
        _ => false,
    };
    if agree {
        return None;
    }
    Some(match configured {
        Some(wanted) => {
            format!("the config file now says [http] listen = \"{wanted}\"; restart the hub to apply it")
        }
        None => {
            "the config file no longer sets [http] listen; restart the hub to stop the listener"
                .to_owned()
        }
    })
}

/// Serves the endpoints on `listener` until `shutdown` is cancelled, then lets requests in
/// flight finish within a grace period.
pub async fn serve_http(hub: Arc<Hub>, listener: TcpListener, shutdown: CancellationToken) {
    serve_limited(hub, listener, shutdown, MAX_CONNECTIONS, HEADER_TIMEOUT).await;
}

/// [`serve_http`] with its connection cap and header timeout given (tests use small ones).
async fn serve_limited(
    hub: Arc<Hub>,
    listener: TcpListener,
    shutdown: CancellationToken,
    max_connections: usize,
    header_timeout: Duration,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEADER_BUFFER);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let Some((stream, peer)) =
            accept_backing_off(|| listener.accept(), &shutdown, "http").await
        else {
            break;
        };
        let served = hub.clone();
        let service = service_fn(move |request| {
            let hub = served.clone();
            async move { Ok::<_, Infallible>(route::handle(&hub, peer, request).await) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Timeouts and malformed requests end here; hyper's message names no header value.
                tracing::debug!(%peer, %error, "http connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("http endpoints stopped accepting");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("http grace period over; closing the remaining connections");
    }
}

/// The peer of an HTTP request, for the audit trail.
pub(crate) fn peer_detail(peer: SocketAddr) -> String {
    format!("http from {peer}")
}

/// Appends one call of an endpoint to the audit trail: the caller's key, the peer, the outcome
/// and `what` (the kind of token, the audience) — never a token.
pub(crate) fn audit_call(
    hub: &Hub,
    event: &str,
    caller: &KeyRecord,
    peer: SocketAddr,
    outcome: &str,
    what: Option<String>,
) {
    let detail = match what {
        Some(what) => format!("{}, {what}", peer_detail(peer)),
        None => peer_detail(peer),
    };
    if let Err(error) = hub.audit.append(&AuditRecord {
        event,
        key: Some(&caller.name),
        outcome,
        detail: Some(&detail),
        ..Default::default()
    }) {
        tracing::error!(%error, "cannot append to the audit log");
    }
}
