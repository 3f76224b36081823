//! The hub's policy: `config.toml` parsing ([`config`]) and the rules that decide, per requested
//! scope, whether to allow, deny or prompt ([`rules`]).
//!
//! The daemon loads a [`HubConfig`] at start and reloads it when the file changes; a file that
//! fails to parse leaves the previous configuration in force.

pub mod config;
pub mod identity_config;
pub mod rules;
mod store_layout;

pub use config::{ConfigError, HubConfig, Location, ServerLimits, StoreSettings, EXAMPLE_CONFIG};
pub use rules::{Action, DeclaredAction, Policy, PolicyDecision, Rule};
