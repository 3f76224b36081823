//! `move_secrets` (`hyperforge auth mv --to-backend NAME TARGET`): moves the secrets a path or
//! scope covers from every other backend into one, without ever losing a value.
//!
//! Each secret goes through the same steps, and a failure at any of them stops that secret's
//! move with its value still in the backend it came from:
//!
//! 1. read it (value and version) from its backend;
//! 2. write it to the target as a new version, unless the target already holds the same value
//!    (a different value there is a failure: both are kept, the owner picks one);
//! 3. read the copy back and compare it with the value read (in constant time): a missing or
//!    different copy is a `verify` failure and the source is untouched;
//! 4. check that the source still holds the version copied (a write to it meanwhile is kept),
//!    then delete it there; a failed delete leaves both copies;
//! 5. read the target once more: a backend that is the source under another name would have lost
//!    the value with the delete, so it is written back to the source and reported.
//!
//! A move never changes routes: [`MovedSecret::served_by`] names the backend reads of the path
//! go to, which the CLI turns into a warning when it is not the target.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth_hub_protocol::request::MoveSecrets;
use auth_hub_protocol::response::{
    MoveFailure, MoveReport, MoveStage, MovedSecret, UnchangedSecret,
};
use auth_hub_protocol::{Response, SecretPath, SecretScope, SecretValue};
use subtle::ConstantTimeEq;

use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::hub::Hub;
use crate::session::Session;
use crate::store::router::Router;
use crate::store::{SecretMeta, SecretStore, StoreError};

/// Handles `move_secrets` (owner only). Per-secret failures are in the report, not errors.
///
/// # Errors
/// Not the owner key; an unknown backend name (`bad_request`).
pub async fn move_secrets(
    hub: &Arc<Hub>,
    session: &Session,
    request: MoveSecrets,
) -> Result<Response, HubError> {
    let MoveSecrets { to_backend, target } = request;
    let result = match session.require_owner("move_secrets") {
        Ok(_) => start(hub, to_backend.clone(), target.clone()).await,
        Err(error) => Err(error),
    };
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            let detail = format!("to {to_backend}");
            hub.record(
                session,
                AuditRecord {
                    event: "move_secrets",
                    scope: Some(target.as_str()),
                    outcome: error.code().as_str(),
                    detail: Some(&detail),
                    ..Default::default()
                },
            );
            return Err(error);
        }
    };
    audit(hub, session, &report);
    Ok(Response::SecretsMoved(report))
}

/// Runs the move off the async threads: remote backends block on the network.
async fn start(
    hub: &Arc<Hub>,
    to_backend: String,
    target: SecretScope,
) -> Result<MoveReport, HubError> {
    let router = hub.router.clone();
    tokio::task::spawn_blocking(move || run(&router, &to_backend, &target))
        .await
        .unwrap_or_else(|_| Err(HubError::Setup("a move of secrets panicked".into())))
}

/// One `move_secret` audit line per secret moved or failed, naming both backends.
fn audit(hub: &Hub, session: &Session, report: &MoveReport) {
    for moved in &report.moved {
        let detail = format!("from {} to {}", moved.from, moved.to);
        hub.record(
            session,
            AuditRecord {
                event: "move_secret",
                path: Some(moved.path.as_str()),
                outcome: "ok",
                detail: Some(&detail),
                ..Default::default()
            },
        );
    }
    for failed in &report.failed {
        let detail = format!("from {}: {} failed", failed.from, failed.stage.as_str());
        // A listing failure names the target pattern, not one secret.
        let (scope, path) = if failed.stage == MoveStage::List {
            (Some(failed.path.as_str()), None)
        } else {
            (None, Some(failed.path.as_str()))
        };
        hub.record(
            session,
            AuditRecord {
                event: "move_secret",
                scope,
                path,
                outcome: "failed",
                detail: Some(&detail),
                ..Default::default()
            },
        );
    }
}

/// Moves every secret `target` covers, in every backend of `router` but `to`, into `to`.
///
/// # Errors
/// `bad_request` when `router` has no backend `to`; everything else is in the report.
pub fn run(router: &Router, to: &str, target: &SecretScope) -> Result<MoveReport, HubError> {
    let backends = router.backends();
    let Some(destination) = router.backend(to) else {
        let names: Vec<&str> = backends.iter().map(|(name, _)| name.as_str()).collect();
        return Err(HubError::BadRequest(format!(
            "no backend named {to:?}; the hub's backends are: {}",
            names.join(", ")
        )));
    };
    let mut report = MoveReport::default();
    // A target that cannot even be listed would fail every step: nothing is touched.
    let already = match covered(&*destination, target) {
        Ok(paths) => paths,
        Err(error) => {
            report.failed.push(listing_failed(target, to, &error));
            return Ok(report);
        }
    };
    let mut found_elsewhere = BTreeSet::new();
    let mut visited: Vec<Arc<dyn SecretStore>> = vec![destination.clone()];
    for (from, source) in backends {
        // One store under several names (every `kind = "file"` backend is the local store) is
        // visited once, and never as a source of itself.
        if from == to || visited.iter().any(|seen| same_store(seen, &source)) {
            continue;
        }
        visited.push(source.clone());
        let paths = match covered(&*source, target) {
            Ok(paths) => paths,
            Err(error) => {
                report.failed.push(listing_failed(target, &from, &error));
                continue;
            }
        };
        for path in paths {
            found_elsewhere.insert(path.clone());
            let step = Step {
                path: &path,
                from: &from,
                source: &*source,
                to,
                target: &*destination,
            };
            match step.run() {
                Ok(Some(meta)) => report.moved.push(MovedSecret {
                    served_by: served_by(router, &path, to, &destination),
                    path,
                    from: from.clone(),
                    to: to.to_owned(),
                    version: meta.version,
                }),
                Ok(None) => {}
                Err(failure) => report.failed.push(failure),
            }
        }
    }
    report.unchanged = already
        .into_iter()
        .filter(|path| !found_elsewhere.contains(path))
        .map(|path| UnchangedSecret {
            served_by: served_by(router, &path, to, &destination),
            path,
        })
        .collect();
    report.moved.sort_by(|a, b| a.path.cmp(&b.path));
    report.failed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// The backend reads of `path` go to; `to` itself when that backend is `to`'s store under another
/// name (reads then see what is in `to`).
fn served_by(
    router: &Router,
    path: &SecretPath,
    to: &str,
    destination: &Arc<dyn SecretStore>,
) -> String {
    let name = router.backend_of(path);
    match router.backend(&name) {
        Some(store) if same_store(&store, destination) => to.to_owned(),
        _ => name,
    }
}

/// The paths in `store` that `target` covers, sorted.
fn covered(store: &dyn SecretStore, target: &SecretScope) -> Result<Vec<SecretPath>, StoreError> {
    Ok(store
        .list(target.prefix())?
        .into_iter()
        .map(|meta| meta.path)
        .filter(|path| target.covers_path(path))
        .collect())
}

fn listing_failed(target: &SecretScope, backend: &str, error: &StoreError) -> MoveFailure {
    MoveFailure {
        path: target.to_string(),
        from: backend.to_owned(),
        stage: MoveStage::List,
        reason: format!("cannot list {target} in {backend}: {error}; nothing there was moved"),
    }
}

/// The same store object behind two names.
fn same_store(a: &Arc<dyn SecretStore>, b: &Arc<dyn SecretStore>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// Equal values, compared in constant time.
fn same_value(a: &SecretValue, b: &SecretValue) -> bool {
    a.expose().as_bytes().ct_eq(b.expose().as_bytes()).into()
}

/// Moving one secret from one backend to another.
struct Step<'a> {
    path: &'a SecretPath,
    from: &'a str,
    source: &'a dyn SecretStore,
    to: &'a str,
    target: &'a dyn SecretStore,
}

impl Step<'_> {
    /// The copy's metadata in the target once the source no longer holds the secret; `None` when
    /// the secret left the source before it was read (nothing to move).
    fn run(&self) -> Result<Option<SecretMeta>, MoveFailure> {
        let (path, from, to) = (self.path, self.from, self.to);
        let kept = format!("the value is still in {from}");
        let Some(original) = self
            .source
            .get(path)
            .map_err(|error| self.fail(MoveStage::Read, format!("{error}; {kept}")))?
        else {
            return Ok(None);
        };
        let existing = self.target.get(path).map_err(|error| {
            self.fail(
                MoveStage::Read,
                format!("cannot read what {to} holds at {path}: {error}; {kept}"),
            )
        })?;
        let meta = match existing {
            Some(copy) if same_value(&copy.value, &original.value) => copy.meta,
            Some(_) => {
                return Err(self.fail(
                    MoveStage::Write,
                    format!(
                        "{to} already holds a different value at {path}; both are kept: remove \
                         the one you do not want, then move again"
                    ),
                ))
            }
            None => self.copy(&original.value, &kept)?,
        };
        self.delete_source(&original.meta, &original.value)?;
        self.check_after_delete(&original.value)?;
        Ok(Some(meta))
    }

    /// Writes the value to the target and reads it back.
    fn copy(&self, value: &SecretValue, kept: &str) -> Result<SecretMeta, MoveFailure> {
        let (path, to) = (self.path, self.to);
        let written = self
            .target
            .put(path, value.clone())
            .map_err(|error| self.fail(MoveStage::Write, format!("{error}; {kept}")))?;
        match self.target.get(path) {
            Ok(Some(copy)) if same_value(&copy.value, value) => Ok(written),
            Ok(Some(_)) => Err(self.fail(
                MoveStage::Verify,
                format!("the copy read back from {to} differs from the value written; {kept}"),
            )),
            Ok(None) => Err(self.fail(
                MoveStage::Verify,
                format!("the copy written to {to} cannot be read back; {kept}"),
            )),
            Err(error) => Err(self.fail(
                MoveStage::Verify,
                format!("cannot read the copy back from {to}: {error}; {kept}"),
            )),
        }
    }

    /// Deletes the secret from the source if it still holds the version copied.
    fn delete_source(&self, copied: &SecretMeta, value: &SecretValue) -> Result<(), MoveFailure> {
        let (path, from, to) = (self.path, self.from, self.to);
        let both = format!("both copies are kept: {path} is in {from} and in {to}");
        match self.source.get(path) {
            Ok(Some(now))
                if now.meta.version == copied.version && same_value(&now.value, value) => {}
            // Deleted meanwhile: the target's copy is the only one left, as a move would leave it.
            Ok(None) => return Ok(()),
            Ok(Some(_)) => {
                return Err(self.fail(
                    MoveStage::DeleteSource,
                    format!("{from} changed {path} during the move; {both}"),
                ))
            }
            Err(error) => {
                return Err(self.fail(
                    MoveStage::DeleteSource,
                    format!("cannot read {path} in {from} again: {error}; {both}"),
                ))
            }
        }
        self.source
            .delete(path)
            .map(|_| ())
            .map_err(|error| self.fail(MoveStage::DeleteSource, format!("{error}; {both}")))
    }

    /// After the delete the target must still hold the value; if it does not (the two names were
    /// one store), the value goes back to the source.
    fn check_after_delete(&self, value: &SecretValue) -> Result<(), MoveFailure> {
        let (path, from, to) = (self.path, self.from, self.to);
        let problem = match self.target.get(path) {
            Ok(Some(copy)) if same_value(&copy.value, value) => return Ok(()),
            Ok(Some(_)) => format!("{to} changed {path} during the move"),
            Ok(None) => format!("{to} no longer holds {path} after it was deleted from {from}"),
            Err(error) => {
                format!("cannot read {path} in {to} after deleting it from {from}: {error}")
            }
        };
        match self.source.put(path, value.clone()) {
            Ok(_) => Err(self.fail(
                MoveStage::Verify,
                format!("{problem}; the value was written back to {from}"),
            )),
            Err(error) => Err(self.fail(
                MoveStage::Verify,
                format!("{problem}, and writing it back to {from} failed: {error}"),
            )),
        }
    }

    fn fail(&self, stage: MoveStage, reason: String) -> MoveFailure {
        MoveFailure {
            path: self.path.to_string(),
            from: self.from.to_owned(),
            stage,
            reason,
        }
    }
}

#[cfg(test)]
mod tests;
