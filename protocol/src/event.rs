//! Events the hub pushes to a connection that sent `watch_pending`.

use serde::{Deserialize, Serialize};

use crate::response::PendingRequest;

/// A pushed event: `{"event": {"pending_added": {…}}}`.
// `#[non_exhaustive]`: subscribers handle the events they know and must keep compiling when the
// hub learns to push another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A request now waits for the owner.
    PendingAdded(PendingRequest),
    /// A pending request was decided or ended.
    PendingResolved(PendingResolved),
}

/// How a pending request ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingResolved {
    /// The pending request's id.
    pub id: u64,
    /// What happened.
    pub outcome: PendingOutcome,
}

/// The end of a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingOutcome {
    /// The owner approved it.
    Granted,
    /// The owner refused it.
    Denied,
    /// Nobody decided in time.
    Timeout,
    /// The requester went away or the hub shut down.
    Cancelled,
}
