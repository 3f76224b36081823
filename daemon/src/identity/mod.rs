//! Identity (the second seed, "AuthN"): the hub as the local "tauth" of 1st-layer APIs.
//!
//! - [`signing`]: the hub's Ed25519 signing keys (`jwt-keys.json`), rotated with an overlap,
//!   published as a JWKS.
//! - [`hub_jwt`]: hub-signed JWTs: issue and verify.
//! - [`jwks_cache`]: providers' JWKS, fetched through their discovery documents and cached;
//!   an unknown `kid` re-fetches, at most once per interval.
//! - [`provider_jwt`]: a provider's JWT (an id_token) checked against its record and JWKS.
//! - [`refresh`]: an OIDC login refreshed at the provider's token endpoint.
//! - [`ops`]: the operations themselves (validate a key or a JWT, issue a JWT, the JWKS),
//!   shared by the socket handlers and the loopback HTTP endpoints.
//! - [`error`]: why a token was refused.

pub mod error;
pub mod hub_jwt;
pub mod jwks_cache;
pub mod ops;
pub mod provider_jwt;
pub mod refresh;
pub mod signing;
#[cfg(test)]
mod test_keys;

pub use error::{IdentityError, JwtError};
