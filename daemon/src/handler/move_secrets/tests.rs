//! Moving secrets between backends over memory stores and a backend double that fails on
//! purpose (a broken write, a copy that reads back wrong, a delete that fails, a listing that
//! fails): whatever fails, every value is still somewhere afterwards.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};

use auth_hub_protocol::ErrorCode;

use super::*;
use crate::store::memory::MemoryStore;
use crate::store::settings::{Layout, Route, LOCAL_BACKEND};
use crate::store::{StoredSecret, DEFAULT_HISTORY};
use crate::test_support::path;

fn scope(text: &str) -> SecretScope {
    SecretScope::parse(text).unwrap()
}

fn memory() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new(DEFAULT_HISTORY))
}

/// The value at `at`, if any.
fn value(store: &dyn SecretStore, at: &str) -> Option<String> {
    store
        .get(&path(at))
        .unwrap()
        .map(|found| found.value.expose().to_owned())
}

fn put(store: &dyn SecretStore, at: &str, text: &str) {
    store.put(&path(at), SecretValue::from(text)).unwrap();
}

/// A backend that breaks where told to; otherwise a memory store.
struct Broken {
    inner: MemoryStore,
    put_fails: AtomicBool,
    delete_fails: AtomicBool,
    list_fails: AtomicBool,
    /// Reads return another value than the one stored (a backend that mangles what it keeps).
    reads_garbled: AtomicBool,
}

impl Broken {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(DEFAULT_HISTORY),
            put_fails: AtomicBool::new(false),
            delete_fails: AtomicBool::new(false),
            list_fails: AtomicBool::new(false),
            reads_garbled: AtomicBool::new(false),
        })
    }

    fn refuse(reason: &str) -> StoreError {
        StoreError::Unreachable {
            backend: "broken".into(),
            reason: reason.into(),
        }
    }
}

impl SecretStore for Broken {
    fn kind(&self) -> &'static str {
        "broken"
    }

    fn key_source(&self) -> String {
        "none".into()
    }

    fn get(&self, at: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        let found = self.inner.get(at)?;
        if self.reads_garbled.load(Ordering::SeqCst) {
            return Ok(found.map(|secret| StoredSecret {
                value: SecretValue::from("garbled"),
                meta: secret.meta,
            }));
        }
        Ok(found)
    }

    fn put(&self, at: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        if self.put_fails.load(Ordering::SeqCst) {
            return Err(Self::refuse("connection refused"));
        }
        self.inner.put(at, value)
    }

    fn delete(&self, at: &SecretPath) -> Result<bool, StoreError> {
        if self.delete_fails.load(Ordering::SeqCst) {
            return Err(Self::refuse("timed out"));
        }
        self.inner.delete(at)
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        if self.list_fails.load(Ordering::SeqCst) {
            return Err(Self::refuse("timed out"));
        }
        self.inner.list(prefix)
    }

    fn history(&self, at: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        self.inner.history(at)
    }
}

/// Another handle on the same memory store: one store under two names that the router cannot
/// tell apart by identity.
struct Alias(Arc<MemoryStore>);

impl SecretStore for Alias {
    fn kind(&self) -> &'static str {
        "alias"
    }

    fn key_source(&self) -> String {
        "none".into()
    }

    fn get(&self, at: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        self.0.get(at)
    }

    fn put(&self, at: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        self.0.put(at, value)
    }

    fn delete(&self, at: &SecretPath) -> Result<bool, StoreError> {
        self.0.delete(at)
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        self.0.list(prefix)
    }

    fn history(&self, at: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        self.0.history(at)
    }
}

/// `file` and `team`, with `team/*` routed to `team`.
fn router(file: Arc<dyn SecretStore>, team: Arc<dyn SecretStore>) -> Router {
    let layout = Layout {
        routes: vec![Route {
            scope: scope("team/*"),
            backend: "team".into(),
        }],
        ..Layout::default()
    };
    Router::with_backends(vec![("file".into(), file), ("team".into(), team)], &layout).unwrap()
}

#[test]
fn a_scope_moves_every_secret_it_covers_and_nothing_else() {
    let (file, team) = (memory(), memory());
    put(&*file, "team/a", "va");
    put(&*file, "team/ci/b", "vb");
    put(&*file, "teamx/c", "vc");
    put(&*file, "github/alice/token", "vg");
    let router = router(file.clone(), team.clone());

    let report = run(&router, "team", &scope("team/*")).unwrap();

    let moved: Vec<(&str, &str, &str, &str)> = report
        .moved
        .iter()
        .map(|m| {
            (
                m.path.as_str(),
                m.from.as_str(),
                m.to.as_str(),
                m.served_by.as_str(),
            )
        })
        .collect();
    assert_eq!(
        moved,
        [
            ("team/a", "file", "team", "team"),
            ("team/ci/b", "file", "team", "team")
        ]
    );
    assert!(report.failed.is_empty() && report.unchanged.is_empty());
    assert_eq!(value(&*team, "team/a").as_deref(), Some("va"));
    assert_eq!(value(&*team, "team/ci/b").as_deref(), Some("vb"));
    assert_eq!(value(&*file, "team/a"), None);
    assert_eq!(value(&*file, "team/ci/b"), None);
    assert_eq!(value(&*file, "teamx/c").as_deref(), Some("vc"));
    assert_eq!(value(&*file, "github/alice/token").as_deref(), Some("vg"));

    // Again: everything is in the target only now.
    let again = run(&router, "team", &scope("team/*")).unwrap();
    assert!(again.moved.is_empty() && again.failed.is_empty());
    let unchanged: Vec<&str> = again.unchanged.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(unchanged, ["team/a", "team/ci/b"]);
}

#[test]
fn an_exact_path_moves_only_that_secret_and_says_where_reads_go() {
    let (file, team) = (memory(), memory());
    put(&*file, "github/alice/token", "vg");
    put(&*file, "github/alice/token/old", "vo");
    let router = router(file.clone(), team.clone());

    let report = run(&router, "team", &scope("github/alice/token")).unwrap();

    assert_eq!(report.moved.len(), 1);
    assert_eq!(report.moved[0].version, 1);
    // No route sends github/* to team: reads still go to file.
    assert_eq!(report.moved[0].served_by, "file");
    assert_eq!(value(&*team, "github/alice/token").as_deref(), Some("vg"));
    assert_eq!(value(&*file, "github/alice/token"), None);
    assert_eq!(
        value(&*file, "github/alice/token/old").as_deref(),
        Some("vo")
    );

    // And back.
    let back = run(&router, "file", &scope("github/alice/token")).unwrap();
    assert_eq!(back.moved[0].from, "team");
    assert_eq!(back.moved[0].served_by, "file");
    assert_eq!(value(&*file, "github/alice/token").as_deref(), Some("vg"));
    assert_eq!(value(&*team, "github/alice/token"), None);
}

#[test]
fn a_failed_write_to_the_target_leaves_the_source_untouched() {
    let (file, team) = (memory(), Broken::new());
    put(&*file, "team/a", "s3cr3t-va");
    team.put_fails.store(true, Ordering::SeqCst);
    let router = router(file.clone(), team.clone());

    let report = run(&router, "team", &scope("team/*")).unwrap();

    assert!(report.moved.is_empty());
    assert_eq!(report.failed.len(), 1);
    let failure = &report.failed[0];
    assert_eq!(
        (failure.path.as_str(), failure.from.as_str(), failure.stage),
        ("team/a", "file", MoveStage::Write)
    );
    assert!(
        failure.reason.contains("connection refused")
            && failure.reason.contains("the value is still in file"),
        "{}",
        failure.reason
    );
    assert!(!failure.reason.contains("s3cr3t-va"));
    assert_eq!(value(&*file, "team/a").as_deref(), Some("s3cr3t-va"));
    assert_eq!(file.get(&path("team/a")).unwrap().unwrap().meta.version, 1);
    assert_eq!(value(&team.inner, "team/a"), None);
}

#[test]
fn a_copy_that_reads_back_wrong_leaves_the_source_untouched() {
    let (file, team) = (memory(), Broken::new());
    put(&*file, "team/a", "va");
    team.reads_garbled.store(true, Ordering::SeqCst);
    let router = router(file.clone(), team.clone());

    let report = run(&router, "team", &scope("team/*")).unwrap();

    assert!(report.moved.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].stage, MoveStage::Verify);
    assert!(
        report.failed[0].reason.contains("differs"),
        "{}",
        report.failed[0].reason
    );
    assert_eq!(value(&*file, "team/a").as_deref(), Some("va"));
}

#[test]
fn a_failed_delete_from_the_source_keeps_both_copies() {
    let (file, team) = (Broken::new(), memory());
    put(&*file, "team/a", "va");
    file.delete_fails.store(true, Ordering::SeqCst);
    let router = router(file.clone(), team.clone());

    let report = run(&router, "team", &scope("team/*")).unwrap();

    assert!(report.moved.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].stage, MoveStage::DeleteSource);
    assert!(
        report.failed[0].reason.contains("both copies are kept"),
        "{}",
        report.failed[0].reason
    );
    assert_eq!(value(&*file, "team/a").as_deref(), Some("va"));
    assert_eq!(value(&*team, "team/a").as_deref(), Some("va"));

    // Once the source answers again, the same move finishes the job without a second version.
    file.delete_fails.store(false, Ordering::SeqCst);
    let report = run(&router, "team", &scope("team/*")).unwrap();
    assert_eq!(report.moved.len(), 1);
    assert_eq!(report.moved[0].version, 1);
    assert_eq!(value(&*file, "team/a"), None);
    assert_eq!(value(&*team, "team/a").as_deref(), Some("va"));
}

#[test]
fn a_different_value_in_the_target_is_kept_beside_the_source() {
    let (file, team) = (memory(), memory());
    put(&*file, "team/a", "from-file");
    put(&*team, "team/a", "from-team");
    let router = router(file.clone(), team.clone());

    let report = run(&router, "team", &scope("team/a")).unwrap();

    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].stage, MoveStage::Write);
    assert!(report.unchanged.is_empty(), "{:?}", report.unchanged);
    assert_eq!(value(&*file, "team/a").as_deref(), Some("from-file"));
    assert_eq!(value(&*team, "team/a").as_deref(), Some("from-team"));
    assert_eq!(team.get(&path("team/a")).unwrap().unwrap().meta.version, 1);
}

#[test]
fn a_source_that_cannot_be_listed_is_reported_and_the_others_still_move() {
    let (file, kc, team) = (memory(), Broken::new(), memory());
    put(&*file, "team/a", "va");
    put(&*kc, "team/k", "vk");
    kc.list_fails.store(true, Ordering::SeqCst);
    let layout = Layout::default();
    let router = Router::with_backends(
        vec![
            ("file".into(), file.clone() as Arc<dyn SecretStore>),
            ("kc".into(), kc.clone()),
            ("team".into(), team.clone()),
        ],
        &layout,
    )
    .unwrap();

    let report = run(&router, "team", &scope("team/*")).unwrap();

    assert_eq!(report.moved.len(), 1);
    assert_eq!(report.moved[0].path.as_str(), "team/a");
    assert_eq!(report.failed.len(), 1);
    let failure = &report.failed[0];
    assert_eq!(
        (failure.path.as_str(), failure.from.as_str(), failure.stage),
        ("team/*", "kc", MoveStage::List)
    );
    assert_eq!(value(&kc.inner, "team/k").as_deref(), Some("vk"));
}

#[test]
fn a_target_that_cannot_be_listed_touches_nothing() {
    let (file, team) = (memory(), Broken::new());
    put(&*file, "team/a", "va");
    team.list_fails.store(true, Ordering::SeqCst);
    let router = router(file.clone(), team.clone());

    let report = run(&router, "team", &scope("team/*")).unwrap();

    assert!(report.moved.is_empty() && report.unchanged.is_empty());
    assert_eq!(report.failed.len(), 1);
    let failure = &report.failed[0];
    assert_eq!(
        (failure.path.as_str(), failure.from.as_str(), failure.stage),
        ("team/*", "team", MoveStage::List)
    );
    assert_eq!(value(&*file, "team/a").as_deref(), Some("va"));
    assert_eq!(value(&team.inner, "team/a"), None);
}

#[test]
fn one_store_under_two_names_is_left_alone() {
    let file = memory();
    put(&*file, "team/a", "va");
    let shared: Arc<dyn SecretStore> = file.clone();
    let router = Router::with_backends(
        vec![("file".into(), shared.clone()), ("local2".into(), shared)],
        &Layout::default(),
    )
    .unwrap();

    let report = run(&router, "local2", &scope("team/*")).unwrap();

    assert!(report.moved.is_empty() && report.failed.is_empty());
    assert_eq!(report.unchanged.len(), 1);
    assert_eq!(value(&*file, "team/a").as_deref(), Some("va"));
}

#[test]
fn a_disguised_alias_gets_its_value_written_back() {
    let file = memory();
    put(&*file, "team/a", "va");
    let router = Router::with_backends(
        vec![
            ("file".into(), file.clone() as Arc<dyn SecretStore>),
            ("alias".into(), Arc::new(Alias(file.clone()))),
        ],
        &Layout::default(),
    )
    .unwrap();

    let report = run(&router, "alias", &scope("team/*")).unwrap();

    assert!(report.moved.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].stage, MoveStage::Verify);
    assert!(
        report.failed[0].reason.contains("written back to file"),
        "{}",
        report.failed[0].reason
    );
    assert_eq!(value(&*file, "team/a").as_deref(), Some("va"));
}

#[test]
fn an_unknown_backend_is_a_bad_request_naming_the_known_ones() {
    let router = router(memory(), memory());
    let error = run(&router, "vault", &scope("team/*")).unwrap_err();
    assert_eq!(error.code(), ErrorCode::BadRequest);
    assert_eq!(
        error.to_string(),
        "no backend named \"vault\"; the hub's backends are: file, team"
    );
}

fn move_request(to: &str, target: &str) -> auth_hub_protocol::Request {
    auth_hub_protocol::Request::MoveSecrets(MoveSecrets {
        to_backend: to.into(),
        target: scope(target),
    })
}

#[tokio::test]
async fn over_the_wire_only_the_owner_moves_and_the_report_comes_back() {
    use auth_hub_protocol::request::PutSecret;
    use auth_hub_protocol::Permissions;

    use crate::test_support::Served;

    let served = Served::start("");
    let owner = served.owner_key();
    let mut wire = served.connect(Some(&owner)).await;
    wire.ok(auth_hub_protocol::Request::PutSecret(PutSecret {
        access_token: None,
        path: path("team/a"),
        value: "va".into(),
    }))
    .await;

    let Response::SecretsMoved(report) = wire.ok(move_request(LOCAL_BACKEND, "team/*")).await
    else {
        panic!("not a move report");
    };
    assert!(report.moved.is_empty() && report.failed.is_empty());
    assert_eq!(
        report.unchanged,
        [UnchangedSecret {
            path: path("team/a"),
            served_by: LOCAL_BACKEND.into(),
        }]
    );
    assert_eq!(
        wire.refused(move_request("vault", "team/*")).await,
        ErrorCode::BadRequest
    );

    let ci = served.service_key("ci", &["team/*"], Permissions::READ_WRITE);
    let mut ci_wire = served.connect(Some(&ci)).await;
    assert_eq!(
        ci_wire.refused(move_request(LOCAL_BACKEND, "team/*")).await,
        ErrorCode::BadRequest
    );
    assert_eq!(
        value(&*served.hub.store, "team/a").as_deref(),
        Some("va"),
        "nothing moved, nothing lost"
    );
}
