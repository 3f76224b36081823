//! Counts of what happened to each kind of attacker (`slow-loris` → `closed by the hub during
//! the hello` → 12), shared by the attacker tasks and printed at the end.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Outcome counts by attacker kind, cheap to clone into tasks.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    counts: Arc<Mutex<BTreeMap<String, BTreeMap<String, u64>>>>,
}

impl Tally {
    /// Counts one `outcome` for `kind`.
    pub fn note(&self, kind: &str, outcome: impl Into<String>) {
        let mut counts = self
            .counts
            .lock()
            .expect("no tally holder panics while holding the lock");
        *counts
            .entry(kind.to_owned())
            .or_default()
            .entry(outcome.into())
            .or_default() += 1;
    }

    /// A copy of the counts.
    pub fn snapshot(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.counts
            .lock()
            .expect("no tally holder panics while holding the lock")
            .clone()
    }
}
