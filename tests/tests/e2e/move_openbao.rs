//! `hyperforge auth mv` between the local store and a real OpenBao (`bao server -dev`), checked
//! with plain HTTP against what the server holds: secrets moved in and back out (out is KV v2's
//! soft delete), the routing warning, a different value on both sides kept, and a revoked hub
//! token failing the move with every value still in place.

use auth_hub_tests::openbao::OpenBao;
use auth_hub_tests::TestHub;
use serde_json::json;

const TOKEN_PATH: &str = "openbao/team/token";

fn config(bao: &OpenBao, routed: bool) -> String {
    let route = if routed {
        "\n[[store.route]]\nscope = \"team/*\"\nbackend = \"team\"\n"
    } else {
        ""
    };
    format!(
        "[[policy.rule]]\nscope = \"*\"\naction = \"allow\"\n\n\
         [store.backend.team]\nkind = \"openbao\"\nurl = \"{}\"\ntoken_path = \"{TOKEN_PATH}\"\n\
         timeout = \"2s\"\n{route}",
        bao.url()
    )
}

/// A server with KV v2, a hub whose token (limited to the `auth-hub` prefix) is in its local
/// store, and no route yet: every path is local.
fn unrouted() -> (OpenBao, String, TestHub) {
    let bao = OpenBao::start();
    bao.ensure_kv_v2();
    bao.create_prefix_policy("auth-hub", "auth-hub");
    let token = bao.create_token(&["auth-hub"], "1h");
    let hub = TestHub::start(&config(&bao, false));
    hub.login();
    hub.run(&["auth", "put", TOKEN_PATH], Some(&token))
        .assert_code(0);
    (bao, token, hub)
}

fn get(hub: &TestHub, path: &str) -> (i32, String) {
    let run = hub.run(&["auth", "get", path, "--no-wait"], None);
    (run.code, run.stdout)
}

#[test]
fn secrets_move_into_openbao_when_a_route_is_added_and_back_out() {
    let (bao, _token, mut hub) = unrouted();
    hub.run(&["auth", "put", "team/deploy/token"], Some("s3cr3t-deploy"))
        .assert_code(0);
    hub.run(&["auth", "put", "team/ci/token"], Some("s3cr3t-ci"))
        .assert_code(0);

    // The route is added: reads of team/* now go to OpenBao, which holds nothing yet.
    hub.write_config(&config(&bao, true));
    hub.restart();
    assert_eq!(get(&hub, "team/deploy/token").0, 4);

    let run = hub.run(&["auth", "mv", "--to-backend", "team", "team/*"], None);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        "moved team/ci/token: file → team\nmoved team/deploy/token: file → team\n"
    );
    assert_eq!(run.stderr, "", "routed to team: no warning");
    let held = bao
        .kv_get("auth-hub/team/deploy/token")
        .expect("in openbao");
    assert_eq!(held["data"], json!({"value": "s3cr3t-deploy"}));
    assert_eq!(
        get(&hub, "team/deploy/token"),
        (0, "s3cr3t-deploy\n".into())
    );
    assert_eq!(get(&hub, "team/ci/token"), (0, "s3cr3t-ci\n".into()));

    // Nothing left locally: moving again finds them in the target only.
    let again = hub
        .run(
            &["--json", "auth", "mv", "--to-backend", "team", "team/*"],
            None,
        )
        .json();
    assert_eq!(again["moved"], json!([]));
    assert_eq!(again["unchanged"].as_array().map(Vec::len), Some(2));
    assert_eq!(again["unchanged"][0]["served_by"], "team");

    // Back out to the local store: OpenBao keeps the versions (soft delete); reads still go to
    // OpenBao by the route, so the CLI warns.
    let back = hub.run(
        &["auth", "mv", "--to-backend", "file", "team/deploy/token"],
        None,
    );
    back.assert_code(0);
    assert_eq!(back.stdout, "moved team/deploy/token: team → file\n");
    assert!(
        back.stderr
            .contains("warning: team/deploy/token is in file, but reads of it go to team"),
        "{}",
        back.stderr
    );
    assert!(bao.kv_get("auth-hub/team/deploy/token").is_none());
    assert!(bao.kv_metadata("auth-hub/team/deploy/token").is_some());
    assert_eq!(get(&hub, "team/deploy/token").0, 4);

    let audit = hub.run(&["auth", "audit"], None);
    audit.assert_code(0);
    let log = audit.stdout;
    let moves: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("move_secret"))
        .collect();
    assert_eq!(moves.len(), 3, "{log}");
    assert!(moves[2].contains("from team to file"), "{}", moves[2]);
    assert!(!log.contains("s3cr3t"));
}

#[test]
fn a_different_value_on_both_sides_is_kept_and_a_revoked_token_moves_nothing() {
    let (bao, token, hub) = unrouted();
    hub.run(&["auth", "put", "ops/token"], Some("s3cr3t-local"))
        .assert_code(0);
    bao.root(
        "POST",
        "secret/data/auth-hub/ops/token",
        Some(json!({"data": {"value": "s3cr3t-bao"}})),
    );

    let clash = hub.run(&["auth", "mv", "--to-backend", "team", "ops/token"], None);
    clash.assert_code(1);
    assert!(
        clash
            .stderr
            .contains("failed ops/token (in file): write: team already holds a different value"),
        "{}",
        clash.stderr
    );
    assert_eq!(get(&hub, "ops/token"), (0, "s3cr3t-local\n".into()));
    assert_eq!(
        bao.kv_get("auth-hub/ops/token").unwrap()["data"],
        json!({"value": "s3cr3t-bao"})
    );

    // The hub's token is revoked: the target refuses the hub, nothing is touched.
    hub.run(&["auth", "put", "ops/other"], Some("s3cr3t-other"))
        .assert_code(0);
    bao.revoke(&token);
    let refused = hub.run(&["auth", "mv", "--to-backend", "team", "ops/other"], None);
    refused.assert_code(1);
    assert!(
        refused
            .stderr
            .contains("failed ops/other (in team): list: cannot list ops/other in team"),
        "{}",
        refused.stderr
    );
    assert_eq!(get(&hub, "ops/other"), (0, "s3cr3t-other\n".into()));
    assert!(bao.kv_metadata("auth-hub/ops/other").is_none());
}
