//! Pending requests: scope requests parked by a `prompt` policy, waiting in memory for the owner.
//!
//! Each request covers one or more scopes that are decided together or one by one; when every
//! scope has a decision the request leaves the [`PendingBook`] and its waiter receives the
//! decisions through a oneshot channel.

use std::collections::BTreeMap;

use auth_hub_protocol::response::PendingRequest;
use auth_hub_protocol::{Access, Permissions, SecretScope};
use tokio::sync::oneshot;

/// Most pending requests at once, in all (the hub's cap).
const MAX_PENDING: usize = 256;
/// Most pending requests at once per key (the hub's cap).
const MAX_PENDING_PER_KEY: usize = 32;

/// The owner's answer for one scope of a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approved with these rights (the ones requested).
    Approved(Permissions),
    /// Refused.
    Denied,
}

/// One decision per scope of a request, in the request's order; `None` while undecided.
pub type Decisions = Vec<Option<Decision>>;

/// Receives a request's [`Decisions`] once every scope is decided.
pub type DecisionReceiver = oneshot::Receiver<Decisions>;

/// Why a request could not be parked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PendingError {
    /// The cap on pending requests, in all (`key_name` is `None`) or for one key, is reached.
    #[error("too many pending requests{}: at most {limit}", key_name.as_ref().map(|k| format!(" for key {k:?}")).unwrap_or_default())]
    TooMany {
        /// The cap reached.
        limit: usize,
        /// The key, when its own cap was reached.
        key_name: Option<String>,
    },
    /// The request names no scope.
    #[error("a pending request needs at least one scope")]
    NoScopes,
}

/// What a [`PendingBook::grant`] did to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantOutcome {
    /// The request's id.
    pub id: u64,
    /// The key that asked.
    pub key_name: String,
    /// The scopes this call approved, with the requested permissions.
    pub approved: Vec<Access>,
    /// True when every scope of the request now has a decision; the request has then left the
    /// book and its waiter has been answered.
    pub fully_decided: bool,
}

/// A parked request, its decisions so far, and the channel to its waiter.
#[derive(Debug)]
struct Pending {
    request: PendingRequest,
    decisions: Decisions,
    waiter: oneshot::Sender<Decisions>,
}

/// Requests waiting for the owner, oldest first.
#[derive(Debug)]
pub struct PendingBook {
    requests: BTreeMap<u64, Pending>,
    next_id: u64,
    max_total: usize,
    max_per_key: usize,
}

impl Default for PendingBook {
    fn default() -> Self {
        Self::new(MAX_PENDING, MAX_PENDING_PER_KEY)
    }
}

impl PendingBook {
    /// An empty book holding at most `max_total` requests, `max_per_key` per key.
    pub fn new(max_total: usize, max_per_key: usize) -> Self {
        Self {
            requests: BTreeMap::new(),
            next_id: 1,
            max_total,
            max_per_key,
        }
    }

    /// Parks `request` (its `id` is replaced by a fresh one). Returns the id and the receiver
    /// that gets one decision per scope, in the request's order, once every scope is decided.
    ///
    /// # Errors
    /// [`PendingError::TooMany`] when a cap is reached; [`PendingError::NoScopes`].
    pub fn add(
        &mut self,
        mut request: PendingRequest,
    ) -> Result<(u64, DecisionReceiver), PendingError> {
        if request.scopes.is_empty() {
            return Err(PendingError::NoScopes);
        }
        if self.requests.len() >= self.max_total {
            return Err(PendingError::TooMany {
                limit: self.max_total,
                key_name: None,
            });
        }
        let of_key = self
            .requests
            .values()
            .filter(|pending| pending.request.key_name == request.key_name)
            .count();
        if of_key >= self.max_per_key {
            return Err(PendingError::TooMany {
                limit: self.max_per_key,
                key_name: Some(request.key_name),
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        request.id = id;
        let (waiter, receiver) = oneshot::channel();
        let decisions = vec![None; request.scopes.len()];
        self.requests.insert(
            id,
            Pending {
                request,
                decisions,
                waiter,
            },
        );
        Ok((id, receiver))
    }

    /// Approves, in every pending request (or only `request_id`), each undecided scope that
    /// `scope` covers and whose requested permissions `granted` includes. Requests left with no
    /// undecided scope are answered and removed. Returns one outcome per request touched.
    pub fn grant(
        &mut self,
        scope: &SecretScope,
        granted: Permissions,
        request_id: Option<u64>,
    ) -> Vec<GrantOutcome> {
        let mut outcomes = Vec::new();
        for (&id, pending) in self.requests.iter_mut() {
            if request_id.is_some_and(|wanted| wanted != id) {
                continue;
            }
            let requested = pending.request.permissions;
            if !granted.includes(requested) {
                continue;
            }
            let mut approved = Vec::new();
            for (asked, decision) in pending.request.scopes.iter().zip(&mut pending.decisions) {
                if decision.is_none() && scope.covers_scope(asked) {
                    *decision = Some(Decision::Approved(requested));
                    approved.push(Access::new(asked.clone(), requested));
                }
            }
            if !approved.is_empty() {
                outcomes.push(GrantOutcome {
                    id,
                    key_name: pending.request.key_name.clone(),
                    approved,
                    fully_decided: pending.decisions.iter().all(Option::is_some),
                });
            }
        }
        for outcome in outcomes.iter().filter(|outcome| outcome.fully_decided) {
            self.answer(outcome.id);
        }
        outcomes
    }

    /// Denies, in every pending request (or only `request_id`), each undecided scope that `scope`
    /// covers. Requests left with no undecided scope are answered and removed. Returns the ids of
    /// the requests touched.
    pub fn deny(&mut self, scope: &SecretScope, request_id: Option<u64>) -> Vec<u64> {
        let mut touched = Vec::new();
        let mut finished = Vec::new();
        for (&id, pending) in self.requests.iter_mut() {
            if request_id.is_some_and(|wanted| wanted != id) {
                continue;
            }
            let mut any = false;
            for (asked, decision) in pending.request.scopes.iter().zip(&mut pending.decisions) {
                if decision.is_none() && scope.covers_scope(asked) {
                    *decision = Some(Decision::Denied);
                    any = true;
                }
            }
            if any {
                touched.push(id);
                if pending.decisions.iter().all(Option::is_some) {
                    finished.push(id);
                }
            }
        }
        for id in finished {
            self.answer(id);
        }
        touched
    }

    /// Removes a request without answering it (timeout, cancel) and returns its decisions so far
    /// (`None` for undecided scopes). Its waiter, if still listening, sees the channel close.
    pub fn remove(&mut self, id: u64) -> Option<Decisions> {
        self.requests.remove(&id).map(|pending| pending.decisions)
    }

    /// The pending requests, oldest first.
    pub fn list(&self) -> Vec<PendingRequest> {
        self.requests
            .values()
            .map(|pending| pending.request.clone())
            .collect()
    }

    /// The pending request with this id.
    pub fn get(&self, id: u64) -> Option<&PendingRequest> {
        self.requests.get(&id).map(|pending| &pending.request)
    }

    /// How many requests are pending.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Drops every request without answering (shutdown); each waiter sees the channel close.
    pub fn cancel_all(&mut self) {
        self.requests.clear();
    }

    /// Removes a fully decided request and sends its decisions.
    fn answer(&mut self, id: u64) {
        if let Some(pending) = self.requests.remove(&id) {
            // The waiter may have gone away; then nobody needs the answer.
            let _ = pending.waiter.send(pending.decisions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{at, scope};
    use auth_hub_protocol::response::PeerInfo;

    fn request(key: &str, scopes: &[&str], permissions: Permissions) -> PendingRequest {
        PendingRequest {
            id: 0,
            scopes: scopes.iter().map(|s| scope(s)).collect(),
            permissions,
            key_name: key.to_owned(),
            client_name: "test".to_owned(),
            peer: PeerInfo {
                uid: 1000,
                pid: Some(42),
                exe: None,
            },
            reason: String::new(),
            created_at: at(0),
            expires_at: at(60),
        }
    }

    #[test]
    fn multi_scope_request_decided_piecewise() {
        let mut pending = PendingBook::new(8, 8);
        let (id, mut receiver) = pending
            .add(request(
                "ci",
                &["github/acme/*", "cargo/token", "npm/token"],
                Permissions::READ,
            ))
            .expect("parked");
        assert_eq!(pending.list()[0].id, id);

        let outcomes = pending.grant(&scope("github/*"), Permissions::READ, None);
        assert_eq!(
            outcomes,
            [GrantOutcome {
                id,
                key_name: "ci".into(),
                approved: vec![Access::read(scope("github/acme/*"))],
                fully_decided: false,
            }]
        );
        assert!(receiver.try_recv().is_err());

        // A write-only grant does not include the requested read.
        assert!(pending
            .grant(&scope("cargo/*"), Permissions::WRITE, None)
            .is_empty());
        assert_eq!(pending.deny(&scope("cargo/*"), Some(id)), [id]);
        assert_eq!(pending.len(), 1);

        let outcomes = pending.grant(&scope("npm/token"), Permissions::READ_WRITE, Some(id));
        assert!(outcomes[0].fully_decided);
        assert!(pending.is_empty());
        assert_eq!(
            receiver.try_recv().expect("answered"),
            [
                Some(Decision::Approved(Permissions::READ)),
                Some(Decision::Denied),
                Some(Decision::Approved(Permissions::READ)),
            ]
        );
    }

    #[test]
    fn grant_and_deny_respect_request_id() {
        let mut pending = PendingBook::default();
        let (first, _rx1) = pending
            .add(request("ci", &["npm/token"], Permissions::READ))
            .expect("parked");
        let (second, mut rx2) = pending
            .add(request("bot", &["npm/token"], Permissions::READ))
            .expect("parked");
        assert_ne!(first, second);
        assert_eq!(pending.deny(&scope("npm/*"), Some(second)), [second]);
        assert_eq!(rx2.try_recv().expect("answered"), [Some(Decision::Denied)]);
        assert_eq!(pending.list().len(), 1);
        assert!(pending.deny(&scope("pypi/*"), None).is_empty());
    }

    #[test]
    fn remove_returns_partial_decisions() {
        let mut pending = PendingBook::default();
        let (id, mut receiver) = pending
            .add(request("ci", &["a/*", "b/*"], Permissions::READ))
            .expect("parked");
        pending.grant(&scope("a/*"), Permissions::READ, None);
        assert_eq!(
            pending.remove(id).expect("present"),
            [Some(Decision::Approved(Permissions::READ)), None]
        );
        assert!(pending.remove(id).is_none());
        assert!(matches!(
            receiver.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
    }

    #[test]
    fn caps_and_cancel() {
        let mut pending = PendingBook::new(3, 2);
        let mut receivers = Vec::new();
        for key in ["ci", "ci"] {
            receivers.push(
                pending
                    .add(request(key, &["a/*"], Permissions::READ))
                    .expect("parked")
                    .1,
            );
        }
        assert_eq!(
            pending
                .add(request("ci", &["a/*"], Permissions::READ))
                .expect_err("per-key cap"),
            PendingError::TooMany {
                limit: 2,
                key_name: Some("ci".into())
            }
        );
        receivers.push(
            pending
                .add(request("bot", &["a/*"], Permissions::READ))
                .expect("parked")
                .1,
        );
        let error = pending
            .add(request("other", &["a/*"], Permissions::READ))
            .expect_err("total cap");
        assert_eq!(
            error,
            PendingError::TooMany {
                limit: 3,
                key_name: None
            }
        );
        assert_eq!(
            pending
                .add(request("other", &[], Permissions::READ))
                .expect_err("no scopes"),
            PendingError::NoScopes
        );
        drop(receivers.pop());
        pending.cancel_all();
        assert!(pending.is_empty());
        for mut receiver in receivers {
            assert!(matches!(
                receiver.try_recv(),
                Err(oneshot::error::TryRecvError::Closed)
            ));
        }
    }
}
