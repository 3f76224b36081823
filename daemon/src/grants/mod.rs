//! Grants: standing grants, persisted ([`standing`]), and pending requests, waiting in memory for
//! the owner ([`pending`]).

pub mod pending;
pub mod standing;

pub use pending::{Decision, DecisionReceiver, Decisions, GrantOutcome, PendingBook, PendingError};
pub use standing::{GrantBook, GrantStoreError, StandingGrant, GRANT_FILE_VERSION};
