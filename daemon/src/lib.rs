//! auth-hub: the per-user daemon that owns master tokens, the scope-grant policy and the secrets.
//!
//! [`serve`] takes a bound listener, the hub's configuration and a shutdown future, so the
//! foreground command, socket activation and tests all run the same code.

pub mod audit;

pub mod grants;
pub mod keys;
pub mod policy;
pub mod store;
pub mod tokens;
