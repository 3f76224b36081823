//! What the hub found, when it opened, about data it should have and does not: a store rolled
//! back or lost (and accepted), an audit log shorter than the anchor sealed in the store. Each
//! finding is logged at WARN, recorded in the audit log, and kept for `status` and
//! `auth audit --verify` for the hub's life.
//!
//! Once recorded, the findings are settled: the store's manifest is brought to the generation
//! now in force and the next anchor names the log as it now is, so the next start is quiet. The
//! audit log keeps the record of a cut ([`TRUNCATED_EVENT`]), so `--verify` keeps failing on it.

use std::path::Path;

use crate::audit::{AuditAnchor, AuditLog, AuditRecord, TRUNCATED_EVENT};
use crate::store::{SecretStore, StoreIntegrity};

/// Event recorded when the store was found rolled back.
pub const STORE_ROLLED_BACK_EVENT: &str = "store_rolled_back";
/// Event recorded when a lost store was accepted with `--accept-store-loss`.
pub const STORE_LOSS_ACCEPTED_EVENT: &str = "store_loss_accepted";

/// The findings of [`check_on_open`].
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// The store's problem, as a sentence.
    pub store_problem: Option<String>,
    /// The audit log's problem, as a sentence.
    pub audit_problem: Option<String>,
    /// The anchor the store held at open, checked again by `--verify`.
    pub opened_anchor: Option<AuditAnchor>,
}

/// Compares the store with its manifest (done by the store on open) and the audit log with the
/// store's anchor; logs, audits and returns what is wrong, then settles the store's manifest
/// and anchor.
pub fn check_on_open(store: &dyn SecretStore, audit: &AuditLog, audit_path: &Path) -> Findings {
    let integrity = store.integrity();
    let store_problem = integrity.describe();
    if let Some(problem) = &store_problem {
        let event = match integrity {
            StoreIntegrity::LossAccepted { .. } => STORE_LOSS_ACCEPTED_EVENT,
            _ => STORE_ROLLED_BACK_EVENT,
        };
        record(audit, event, problem);
    }
    let opened_anchor = store.audit_anchor();
    let head = audit.durable_head();
    let audit_problem = opened_anchor
        .as_ref()
        .and_then(|anchor| anchor.check_head(audit_path, &head));
    if let Some(problem) = &audit_problem {
        tracing::warn!("{problem}; `hyperforge auth audit --verify` reports it");
        record(audit, TRUNCATED_EVENT, problem);
    }
    if let Err(error) = audit.flush() {
        tracing::error!(%error, "cannot flush the audit log");
    }
    // Only now, with the findings durable in the audit log, the store records the state in force.
    if let Err(error) = store.checkpoint(Some(&audit.durable_head()), false) {
        tracing::error!(%error, "cannot record the store's state in its manifest");
    }
    Findings {
        store_problem,
        audit_problem,
        opened_anchor,
    }
}

fn record(audit: &AuditLog, event: &str, detail: &str) {
    let record = AuditRecord {
        event,
        outcome: "warning",
        detail: Some(detail),
        ..AuditRecord::default()
    };
    if let Err(error) = audit.append(&record) {
        tracing::error!(%error, "cannot append to the audit log");
    }
}
