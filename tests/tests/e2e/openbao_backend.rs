//! `team/*` routed to a real OpenBao (`[store.backend.team] kind = "openbao"`): put / get / ls /
//! rm through the real CLI and hub, checked with plain HTTP against what the server holds; a
//! policy-limited token and AppRole; secrets written by other tools; and the faults: OpenBao
//! stopped mid-run (team paths fail within the timeout with the backend named, local paths keep
//! serving, recovery when it returns) and the hub's token revoked.
//!
//! The hub's credential lives in its local store (`hyperforge auth put openbao/team/token`),
//! never in `config.toml`.

use std::time::{Duration, Instant};

use auth_hub_tests::openbao::{OpenBao, ROOT_TOKEN};
use auth_hub_tests::TestHub;
use serde_json::json;

const TOKEN_PATH: &str = "openbao/team/token";

/// A hub allowing every scope, with `team/*` routed to `bao` authenticated by `auth` (the
/// TOML lines naming the credential), and a 2 s request timeout.
fn hub_for(bao: &OpenBao, auth: &str) -> TestHub {
    let hub = TestHub::start(&format!(
        "[[policy.rule]]\nscope = \"*\"\naction = \"allow\"\n\n\
         [store.backend.team]\nkind = \"openbao\"\nurl = \"{}\"\n{auth}\ntimeout = \"2s\"\n\n\
         [[store.route]]\nscope = \"team/*\"\nbackend = \"team\"\n",
        bao.url()
    ));
    hub.login();
    hub
}

/// A server with KV v2 and a token limited to `secret/{data,metadata}/auth-hub/*`; a hub using
/// that token, stored at [`TOKEN_PATH`] in its local store.
fn limited() -> (OpenBao, String, TestHub) {
    let bao = OpenBao::start();
    bao.ensure_kv_v2();
    bao.create_prefix_policy("auth-hub", "auth-hub");
    let token = bao.create_token(&["auth-hub"], "1h");
    let hub = hub_for(&bao, &format!("token_path = \"{TOKEN_PATH}\""));
    hub.run(&["auth", "put", TOKEN_PATH], Some(&token))
        .assert_code(0);
    (bao, token, hub)
}

#[test]
fn team_paths_live_in_openbao_and_local_paths_stay_local() {
    let (bao, token, hub) = limited();
    hub.run(&["auth", "put", "team/deploy/token"], Some("v1"))
        .assert_code(0);
    let held = bao
        .kv_get("auth-hub/team/deploy/token")
        .expect("in openbao");
    assert_eq!(held["data"], json!({"value": "v1"}));
    hub.run(&["auth", "put", "team/deploy/token"], Some("v2"))
        .assert_code(0);
    assert_eq!(
        bao.kv_get("auth-hub/team/deploy/token").unwrap()["metadata"]["version"],
        2
    );
    let got = hub.run(&["auth", "get", "team/deploy/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "v2\n");

    hub.run(&["auth", "put", "github/alice/token"], Some("local"))
        .assert_code(0);
    assert!(bao.kv_metadata("auth-hub/github/alice/token").is_none());

    let listed = hub.run(&["--json", "auth", "ls", "team"], None).json();
    let paths: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|entry| entry["path"].as_str())
        .collect();
    assert_eq!(paths, ["team/deploy/token"]);

    // rm is KV v2's soft delete: the versions stay on the server.
    hub.run(&["auth", "rm", "team/deploy/token"], None)
        .assert_code(0);
    assert!(bao.kv_get("auth-hub/team/deploy/token").is_none());
    assert!(bao.kv_metadata("auth-hub/team/deploy/token").is_some());
    hub.run(&["auth", "get", "team/deploy/token"], None)
        .assert_code(4);

    // rm --destroy removes every version and the metadata.
    hub.run(&["auth", "put", "team/deploy/token"], Some("v3"))
        .assert_code(0);
    hub.run(&["auth", "rm", "--destroy", "team/deploy/token"], None)
        .assert_code(0);
    assert!(bao.kv_metadata("auth-hub/team/deploy/token").is_none());

    for place in [
        hub.log(),
        std::fs::read_to_string(hub.home().join("state/audit.jsonl")).unwrap_or_default(),
    ] {
        assert!(!place.contains(&token), "the hub's openbao token leaked");
        assert!(!place.contains("v2\""), "a value leaked");
    }
}

#[test]
fn approle_logs_in_with_the_secret_id_from_the_local_store() {
    let bao = OpenBao::start();
    bao.ensure_kv_v2();
    bao.create_prefix_policy("auth-hub", "auth-hub");
    let (role_id, secret_id) = bao.create_approle("hub", &["auth-hub"], "1h");
    let hub = hub_for(
        &bao,
        &format!("role_id = \"{role_id}\"\nsecret_id_path = \"openbao/team/secret-id\""),
    );
    let missing = hub.run(&["auth", "put", "team/a"], Some("v"));
    missing.assert_code(1);
    assert!(
        missing.stderr.contains("openbao/team/secret-id"),
        "{}",
        missing.stderr
    );

    hub.run(&["auth", "put", "openbao/team/secret-id"], Some(&secret_id))
        .assert_code(0);
    hub.run(&["auth", "put", "team/a"], Some("by-approle"))
        .assert_code(0);
    assert_eq!(
        bao.kv_get("auth-hub/team/a").unwrap()["data"]["value"],
        "by-approle"
    );
    let got = hub.run(&["auth", "get", "team/a"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "by-approle\n");
}

#[test]
fn secrets_written_by_other_tools() {
    let (bao, _token, hub) = limited();
    bao.kv_put("auth-hub/team/one", json!({"password": "p-one"}));
    let got = hub.run(&["auth", "get", "team/one"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "p-one\n");

    bao.kv_put(
        "auth-hub/team/two",
        json!({"user": "u-two", "password": "p-two"}),
    );
    let two = hub.run(&["auth", "get", "team/two"], None);
    two.assert_code(1);
    assert!(
        two.stderr.contains("2 fields (password, user)"),
        "{}",
        two.stderr
    );
    assert!(!two.stderr.contains("p-two"), "{}", two.stderr);

    bao.kv_put(
        "auth-hub/team/huge",
        json!({"value": "x".repeat(600 * 1024)}),
    );
    let huge = hub.run(&["auth", "get", "team/huge"], None);
    huge.assert_code(1);
    assert!(
        huge.stderr.contains("over the hub's limit"),
        "{}",
        huge.stderr
    );
}

#[test]
fn a_stopped_openbao_fails_team_paths_within_the_timeout_and_recovers() {
    let mut bao = OpenBao::start();
    bao.ensure_kv_v2();
    // A dev server restarts empty but for its root token, which the hub therefore uses here.
    let hub = hub_for(&bao, &format!("token_path = \"{TOKEN_PATH}\""));
    hub.run(&["auth", "put", TOKEN_PATH], Some(ROOT_TOKEN))
        .assert_code(0);
    hub.run(&["auth", "put", "team/a"], Some("v"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/alice/token"], Some("local"))
        .assert_code(0);

    bao.stop();
    let start = Instant::now();
    let failed = hub.run(&["auth", "get", "team/a"], None);
    failed.assert_code(1);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    // `backend_unavailable` on the wire; the CLI names the backend.
    assert!(failed.stderr.contains("team"), "{}", failed.stderr);
    let local = hub.run(&["auth", "get", "github/alice/token"], None);
    local.assert_code(0);
    assert_eq!(local.stdout, "local\n");

    bao.restart();
    bao.ensure_kv_v2();
    hub.run(&["auth", "put", "team/a"], Some("again"))
        .assert_code(0);
    let got = hub.run(&["auth", "get", "team/a"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "again\n");
}

#[test]
fn a_revoked_token_names_the_path_to_update() {
    let (bao, token, hub) = limited();
    hub.run(&["auth", "put", "team/a"], Some("v"))
        .assert_code(0);
    bao.revoke(&token);
    let refused = hub.run(&["auth", "get", "team/a"], None);
    refused.assert_code(1);
    assert!(refused.stderr.contains(TOKEN_PATH), "{}", refused.stderr);
    assert!(!refused.stderr.contains(&token), "{}", refused.stderr);

    let fresh = bao.create_token(&["auth-hub"], "1h");
    hub.run(&["auth", "put", TOKEN_PATH], Some(&fresh))
        .assert_code(0);
    let got = hub.run(&["auth", "get", "team/a"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "v\n");
}
