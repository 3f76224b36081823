//! Fakes of what hyperforge talks to on a forge, for tests: the forges' REST APIs
//! ([`forge_api`]), an authenticating git HTTP server in front of `git http-backend`
//! ([`git_server`]) and a token-checking gate in front of a real Cargo registry
//! ([`cargo_gate`]). All listen on loopback and record what reached them.
//!
//! The CLI's forge clients test against [`forge_api`] in their unit tests; the end-to-end tests
//! (`auth-hub-tests`) use all three. Nothing here depends on the hub.

pub mod cargo_gate;
pub mod forge_api;
pub mod git_server;
mod listener;
