//! The opt-in loopback HTTP listener (`[http] listen`), so an API in any language can use the
//! hub with its usual libraries: `GET /.well-known/jwks.json`, `POST /introspect` (RFC 7662) and
//! `POST /token` (RFC 8693 token exchange). Callers of the two POST endpoints authenticate with
//! their own service key as a bearer token and need its `validate` permission.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// Serves the endpoints on `listener` until `shutdown` is cancelled.
pub async fn serve_http(hub: Arc<Hub>, listener: TcpListener, shutdown: CancellationToken) {
    let _ = (hub, listener, shutdown);
    unimplemented!("http")
}
