//! The OpenBao backend (`auth_hub::store::openbao::OpenBaoStore`) against a real `bao server
//! -dev`: what each store operation leaves on the server (checked over plain HTTP), a
//! policy-limited token, AppRole, secrets written by other tools, values over the hub's limit,
//! names the hub cannot express, a server that stops and comes back, and a revoked token.
//!
//! These drive the store directly; `openbao_backend.rs` drives the same through the hub and the
//! CLI once paths are routed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_hub::store::memory::MemoryStore;
use auth_hub::store::openbao::kv::MAX_VALUE_BYTES;
use auth_hub::store::openbao::OpenBaoStore;
use auth_hub::store::settings::{OpenBaoAuth, OpenBaoSettings};
use auth_hub::store::{SecretStore, StoreError};
use auth_hub_protocol::{SecretPath, SecretValue};
use auth_hub_tests::openbao::{OpenBao, ROOT_TOKEN};
use serde_json::json;

const TOKEN_PATH: &str = "openbao/team/token";
const SECRET_ID_PATH: &str = "openbao/team/secret-id";

fn path(text: &str) -> SecretPath {
    SecretPath::parse(text).expect("a valid path")
}

fn value(text: &str) -> SecretValue {
    SecretValue::new(text.to_owned())
}

fn settings(bao: &OpenBao, auth: OpenBaoAuth) -> OpenBaoSettings {
    OpenBaoSettings {
        url: bao.url(),
        mount: "secret".into(),
        prefix: "auth-hub".into(),
        namespace: None,
        ca_cert: None,
        auth,
        cache_ttl: Duration::ZERO,
        timeout: Duration::from_secs(2),
    }
}

/// A store logged in with `token` (kept in a memory store standing in for the hub's local one);
/// the local store is returned too, so a test can replace the token.
fn token_store(bao: &OpenBao, token: &str) -> (OpenBaoStore, Arc<MemoryStore>) {
    let local = Arc::new(MemoryStore::new(10));
    local
        .put(&path(TOKEN_PATH), value(token))
        .expect("store the token");
    let auth = OpenBaoAuth::Token {
        token_path: path(TOKEN_PATH),
    };
    let store = OpenBaoStore::open("team", &settings(bao, auth), local.clone()).expect("open");
    (store, local)
}

/// A server with KV v2 and a token limited to `secret/*/auth-hub/*`.
fn limited() -> (OpenBao, String) {
    let bao = OpenBao::start();
    bao.ensure_kv_v2();
    bao.create_prefix_policy("auth-hub", "auth-hub");
    let token = bao.create_token(&["auth-hub"], "1h");
    (bao, token)
}

#[test]
fn put_get_list_delete_destroy_as_the_server_sees_them() {
    let (bao, token) = limited();
    let (store, _local) = token_store(&bao, &token);
    let p = path("team/deploy/token");

    let meta = store.put(&p, value("v1")).expect("put v1");
    assert_eq!(meta.version, 1);
    let held = bao.kv_get("auth-hub/team/deploy/token").expect("written");
    assert_eq!(held["data"], json!({"value": "v1"}));
    assert_eq!(store.put(&p, value("v2")).expect("put v2").version, 2);
    assert_eq!(
        bao.kv_get("auth-hub/team/deploy/token").unwrap()["data"]["value"],
        "v2"
    );

    let got = store.get(&p).expect("get").expect("present");
    assert_eq!(got.value.expose(), "v2");
    assert_eq!(got.meta.version, 2);
    assert_eq!(store.history(&p).expect("history").len(), 1);

    store
        .put(&path("team/other"), value("o"))
        .expect("put other");
    let listed: Vec<String> = store
        .list("team")
        .expect("list")
        .into_iter()
        .map(|m| m.path.as_str().to_owned())
        .collect();
    assert_eq!(listed, ["team/deploy/token", "team/other"]);
    assert_eq!(store.list("team/deploy/token").unwrap().len(), 1);
    assert!(store.list("tea").unwrap().is_empty());

    // Soft delete: the version is marked deleted, the metadata stays.
    assert!(store.delete(&p).expect("delete"));
    assert!(bao.kv_get("auth-hub/team/deploy/token").is_none());
    let metadata = bao
        .kv_metadata("auth-hub/team/deploy/token")
        .expect("metadata kept");
    assert_ne!(metadata["versions"]["2"]["deletion_time"], "");
    assert!(store.get(&p).expect("get after delete").is_none());
    assert!(!store.delete(&p).expect("second delete"), "already deleted");
    assert_eq!(
        store.list("team").unwrap().len(),
        1,
        "deleted secrets are not listed"
    );

    // Destroy: every version and the metadata are gone.
    assert!(store.destroy(&p).expect("destroy"));
    assert!(bao.kv_metadata("auth-hub/team/deploy/token").is_none());
    assert!(!store.destroy(&p).expect("second destroy"));
    assert!(store.get(&path("team/absent")).unwrap().is_none());
}

#[test]
fn secrets_written_by_other_tools() {
    let (bao, token) = limited();
    let (store, _local) = token_store(&bao, &token);
    bao.kv_put("auth-hub/team/one", json!({"password": "p-one"}));
    assert_eq!(
        store
            .get(&path("team/one"))
            .unwrap()
            .unwrap()
            .value
            .expose(),
        "p-one"
    );
    bao.kv_put(
        "auth-hub/team/two",
        json!({"user": "u-two", "password": "p-two"}),
    );
    let err = store.get(&path("team/two")).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Unusable { .. }), "{message}");
    assert!(
        message.contains("team/two") && message.contains("2 fields (password, user)"),
        "{message}"
    );
    assert!(
        !message.contains("p-two") && !message.contains("u-two"),
        "{message}"
    );

    bao.kv_put(
        "auth-hub/team/huge",
        json!({"value": "x".repeat(MAX_VALUE_BYTES + 1)}),
    );
    let message = store.get(&path("team/huge")).unwrap_err().to_string();
    assert!(message.contains("over the hub's limit"), "{message}");

    // A name the hub's paths cannot express (a space, sent URL-encoded) is left out of
    // listings, not an error.
    bao.kv_put("auth-hub/team/with%20space", json!({"value": "s"}));
    let listed: Vec<String> = store
        .list("team")
        .unwrap()
        .into_iter()
        .map(|m| m.path.as_str().to_owned())
        .collect();
    assert_eq!(listed, ["team/huge", "team/one", "team/two"]);
}

#[test]
fn a_policy_limited_token_cannot_leave_its_prefix() {
    let (bao, token) = limited();
    let mut outside = settings(
        &bao,
        OpenBaoAuth::Token {
            token_path: path(TOKEN_PATH),
        },
    );
    outside.prefix = "elsewhere".into();
    let local = Arc::new(MemoryStore::new(10));
    local.put(&path(TOKEN_PATH), value(&token)).unwrap();
    let store = OpenBaoStore::open("team", &outside, local).unwrap();
    let err = store.put(&path("team/x"), value("v")).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Refused { .. }), "{message}");
    assert!(
        message.contains("policy") && message.contains(TOKEN_PATH),
        "{message}"
    );
    assert!(!message.contains(&token), "{message}");
    assert!(bao.kv_get("elsewhere/team/x").is_none());
    let health = store.health();
    assert!(health.reachable && health.authenticated, "{health:?}");
    assert!(health.version.is_some(), "{health:?}");
}

#[test]
fn approle_logs_in_with_the_secret_id_from_the_local_store() {
    let (bao, _token) = limited();
    let (role_id, secret_id) = bao.create_approle("hub", &["auth-hub"], "1h");
    let local = Arc::new(MemoryStore::new(10));
    let auth = OpenBaoAuth::AppRole {
        role_id,
        secret_id_path: path(SECRET_ID_PATH),
    };
    let store = OpenBaoStore::open("team", &settings(&bao, auth), local.clone()).unwrap();

    // No secret id yet: refused, naming where to put it.
    let message = store.get(&path("team/a")).unwrap_err().to_string();
    assert!(message.contains(SECRET_ID_PATH), "{message}");

    local
        .put(&path(SECRET_ID_PATH), value("not-the-secret-id"))
        .unwrap();
    let err = store.get(&path("team/a")).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Refused { .. }), "{message}");
    assert!(
        message.contains("secret id") && message.contains(SECRET_ID_PATH),
        "{message}"
    );

    local.put(&path(SECRET_ID_PATH), value(&secret_id)).unwrap();
    store.put(&path("team/a"), value("by-approle")).unwrap();
    assert_eq!(
        bao.kv_get("auth-hub/team/a").unwrap()["data"]["value"],
        "by-approle"
    );
    assert_eq!(
        store.get(&path("team/a")).unwrap().unwrap().value.expose(),
        "by-approle"
    );
}

#[test]
fn a_revoked_token_is_refused_naming_the_path_to_update() {
    let (bao, token) = limited();
    let (store, local) = token_store(&bao, &token);
    store.put(&path("team/a"), value("v")).unwrap();
    bao.revoke(&token);
    let err = store.get(&path("team/a")).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Refused { .. }), "{message}");
    assert!(
        message.contains("revoked") && message.contains(TOKEN_PATH),
        "{message}"
    );
    assert!(!message.contains(&token), "{message}");
    assert!(!store.health().authenticated);

    // A new token stored locally is picked up without reopening the store.
    let fresh = bao.create_token(&["auth-hub"], "1h");
    local.put(&path(TOKEN_PATH), value(&fresh)).unwrap();
    assert_eq!(
        store.get(&path("team/a")).unwrap().unwrap().value.expose(),
        "v"
    );
}

#[test]
fn a_stopped_server_is_unreachable_within_the_timeout_and_recovers() {
    let mut bao = OpenBao::start();
    bao.ensure_kv_v2();
    // The dev server comes back empty: only the root token survives a restart.
    let (store, _local) = token_store(&bao, ROOT_TOKEN);
    store.put(&path("team/a"), value("v")).unwrap();

    bao.stop();
    let start = Instant::now();
    let err = store.get(&path("team/a")).unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    let health = store.health();
    assert!(!health.reachable && health.problem.is_some(), "{health:?}");

    bao.restart();
    bao.ensure_kv_v2();
    assert!(
        store.get(&path("team/a")).unwrap().is_none(),
        "a dev server restarts empty"
    );
    store.put(&path("team/a"), value("again")).unwrap();
    assert_eq!(
        store.get(&path("team/a")).unwrap().unwrap().value.expose(),
        "again"
    );
    assert!(store.health().authenticated);
}

#[test]
fn cas_required_mounts_write_with_the_current_version() {
    let (bao, token) = limited();
    bao.root("POST", "secret/config", Some(json!({"cas_required": true})));
    let (store, _local) = token_store(&bao, &token);
    assert_eq!(store.put(&path("team/c"), value("1")).unwrap().version, 1);
    assert_eq!(store.put(&path("team/c"), value("2")).unwrap().version, 2);
    assert_eq!(bao.kv_get("auth-hub/team/c").unwrap()["data"]["value"], "2");
}

#[test]
fn values_are_cached_only_for_the_configured_ttl() {
    let (bao, token) = limited();
    let local = Arc::new(MemoryStore::new(10));
    local.put(&path(TOKEN_PATH), value(&token)).unwrap();
    let mut cached = settings(
        &bao,
        OpenBaoAuth::Token {
            token_path: path(TOKEN_PATH),
        },
    );
    cached.cache_ttl = Duration::from_secs(600);
    let store = OpenBaoStore::open("team", &cached, local.clone()).unwrap();
    let (uncached, _) = token_store(&bao, &token);

    store.put(&path("team/a"), value("first")).unwrap();
    assert_eq!(
        store.get(&path("team/a")).unwrap().unwrap().value.expose(),
        "first"
    );
    bao.kv_put("auth-hub/team/a", json!({"value": "changed elsewhere"}));
    assert_eq!(
        store.get(&path("team/a")).unwrap().unwrap().value.expose(),
        "first"
    );
    assert_eq!(
        uncached
            .get(&path("team/a"))
            .unwrap()
            .unwrap()
            .value
            .expose(),
        "changed elsewhere"
    );
}

#[test]
fn a_server_that_never_answers_fails_within_the_timeout() {
    // The kernel completes the connection (backlog) but nobody ever reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let local = Arc::new(MemoryStore::new(10));
    local.put(&path(TOKEN_PATH), value("t")).unwrap();
    let settings = OpenBaoSettings {
        url: format!("http://{}", silent.local_addr().unwrap()),
        mount: "secret".into(),
        prefix: "auth-hub".into(),
        namespace: None,
        ca_cert: None,
        auth: OpenBaoAuth::Token {
            token_path: path(TOKEN_PATH),
        },
        cache_ttl: Duration::ZERO,
        timeout: Duration::from_millis(500),
    };
    let store = OpenBaoStore::open("team", &settings, local).unwrap();
    let start = Instant::now();
    let err = store.get(&path("team/a")).unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("no answer within"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_short_lived_token_is_renewed_before_it_expires() {
    let (bao, _) = limited();
    // Renewable, 3 s to live; the store renews it once two thirds of that have passed.
    let answer = bao.root(
        "POST",
        "auth/token/create",
        Some(json!({"policies": ["auth-hub"], "ttl": "3s", "explicit_max_ttl": "1h"})),
    );
    let token = answer["auth"]["client_token"].as_str().unwrap().to_owned();
    let (store, _local) = token_store(&bao, &token);
    store.put(&path("team/r"), value("v")).unwrap();
    let renewed = auth_hub_tests::wait_until(Duration::from_secs(20), || {
        store.get(&path("team/r")).expect("served while renewing");
        let looked_up = bao.root("POST", "auth/token/lookup", Some(json!({"token": token})));
        looked_up["data"]["last_renewal_time"]
            .as_i64()
            .filter(|t| *t > 0)
    });
    assert!(renewed.is_some(), "the token was never renewed");
    assert_eq!(
        store.get(&path("team/r")).unwrap().unwrap().value.expose(),
        "v"
    );
}

#[test]
fn tls_with_the_configured_ca_and_a_namespace() {
    let bao = OpenBao::start_tls();
    bao.create_namespace("eng");
    let local = Arc::new(MemoryStore::new(10));
    local.put(&path(TOKEN_PATH), value(ROOT_TOKEN)).unwrap();
    let auth = || OpenBaoAuth::Token {
        token_path: path(TOKEN_PATH),
    };

    // Without the CA the server's certificate is not trusted: unreachable, saying why.
    let untrusted = OpenBaoStore::open("team", &settings(&bao, auth()), local.clone()).unwrap();
    let err = untrusted.get(&path("team/a")).unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");

    let mut trusted = settings(&bao, auth());
    trusted.ca_cert = Some(bao.ca_cert());
    trusted.namespace = Some("eng".into());
    let store = OpenBaoStore::open("team", &trusted, local).unwrap();
    store.put(&path("team/a"), value("in-eng")).unwrap();
    let (status, held) = bao.call_in(
        Some("eng"),
        "GET",
        "secret/data/auth-hub/team/a",
        ROOT_TOKEN,
        None,
    );
    assert_eq!(status, 200, "{held}");
    assert_eq!(held["data"]["data"]["value"], "in-eng");
    assert!(
        bao.kv_get("auth-hub/team/a").is_none(),
        "not in the root namespace"
    );
    assert_eq!(
        store.get(&path("team/a")).unwrap().unwrap().value.expose(),
        "in-eng"
    );
}
