//! The CLI's side of an OIDC login: the device authorization grant (RFC 8628) run against the
//! provider named by an AuthProvider record. The CLI only obtains the tokens; the hub validates
//! the id_token and stores them (`oidc_login`).
//!
//! - [`http`]: the blocking HTTP agent for provider endpoints (no redirects, capped bodies).
//! - [`device_flow`]: discovery, the device authorization request, and polling the token
//!   endpoint as the provider says.

pub mod device_flow;
pub mod http;
