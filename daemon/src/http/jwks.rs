//! `GET /.well-known/jwks.json`: the hub's public signing keys as a JWK Set (RFC 7517), the
//! document a downstream service's JWT library fetches to check hub JWTs locally. No caller
//! authentication (public keys); cacheable for [`JWKS_MAX_AGE`] seconds, short enough that a
//! rotated-in key is seen well before the old one leaves the set.

use hyper::{Response, StatusCode};

use super::reply::{self, Body, Caching, JWKS_MAX_AGE};
use crate::hub::Hub;
use crate::identity::ops;

/// Answers with the JWK Set.
pub fn get(hub: &Hub) -> Response<Body> {
    let set = ops::jwks(hub);
    reply::json_text(
        StatusCode::OK,
        set.jwks_json.into_bytes(),
        Caching::MaxAge(JWKS_MAX_AGE),
    )
}
