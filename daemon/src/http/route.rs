//! Which endpoint answers a request: the path picks it (404 for any other), then the method
//! (405 with `Allow`). Query strings are ignored; credentials are read from the body only.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use super::reply::{self, Body};
use super::{introspect, jwks, token};
use crate::hub::Hub;

/// The JWKS path.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The introspection path.
pub const INTROSPECT_PATH: &str = "/introspect";
/// The token-exchange path.
pub const TOKEN_PATH: &str = "/token";

/// Answers one request.
pub async fn handle(
    hub: &Arc<Hub>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Body> {
    let method = request.method().clone();
    match request.uri().path() {
        JWKS_PATH => match method {
            // hyper sends no body in answer to HEAD.
            Method::GET | Method::HEAD => jwks::get(hub),
            _ => reply::method_not_allowed("GET, HEAD"),
        },
        INTROSPECT_PATH => match method {
            Method::POST => introspect::post(hub, peer, request).await,
            _ => reply::method_not_allowed("POST"),
        },
        TOKEN_PATH => match method {
            Method::POST => token::post(hub, peer, request).await,
            _ => reply::method_not_allowed("POST"),
        },
        _ => reply::not_found(),
    }
}
