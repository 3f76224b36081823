//! `hyperforge auth mv --to-backend NAME PATH|SCOPE` through the real hub: what it prints, its
//! exit codes, its audit lines, and that a backend failing on either side never loses a value.
//!
//! The tests with a `[store.backend.…]` need the router (routes and named backends in the hub);
//! the dead OpenBao they use is a closed loopback port, so they need no server and no harness.

use std::net::TcpListener;

use auth_hub_tests::TestHub;

const ALLOW: &str = "[[policy.rule]]\nscope = \"*\"\naction = \"allow\"\n";

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// `team` is an OpenBao backend that never answers, with `team/*` routed to it only when `routed`.
fn dead_openbao(routed: bool) -> String {
    let route = if routed {
        "\n[[store.route]]\nscope = \"team/*\"\nbackend = \"team\"\n"
    } else {
        ""
    };
    format!(
        "{ALLOW}\n[store.backend.team]\nkind = \"openbao\"\nurl = \"http://127.0.0.1:{}\"\n\
         token_path = \"openbao/team/token\"\ntimeout = \"1s\"\n{route}",
        closed_port()
    )
}

/// The audit log as `auth audit` prints it (the hub flushes it first).
fn audit_log(hub: &TestHub) -> String {
    let run = hub.run(&["auth", "audit"], None);
    run.assert_code(0);
    run.stdout
}

#[test]
fn moving_into_the_store_that_holds_them_changes_nothing() {
    let hub = TestHub::start(ALLOW);
    hub.login();
    hub.run(&["auth", "put", "team/deploy/token"], Some("s3cr3t-deploy"))
        .assert_code(0);

    let run = hub.run(&["auth", "mv", "--to-backend", "file", "team/*"], None);
    run.assert_code(0);
    assert_eq!(run.stdout, "unchanged team/deploy/token: already in file\n");
    assert_eq!(run.stderr, "");

    let json = hub
        .run(
            &["--json", "auth", "mv", "--to-backend", "file", "team/*"],
            None,
        )
        .json();
    assert_eq!(json["unchanged"][0]["path"], "team/deploy/token");
    assert_eq!(json["unchanged"][0]["served_by"], "file");
    assert_eq!(json["moved"], serde_json::json!([]));
    assert_eq!(json["failed"], serde_json::json!([]));

    let got = hub.run(&["auth", "get", "team/deploy/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "s3cr3t-deploy\n");

    let nothing = hub.run(&["auth", "mv", "--to-backend", "file", "other/*"], None);
    nothing.assert_code(0);
    assert!(
        nothing
            .stderr
            .contains("no secret matches other/* in any backend"),
        "{}",
        nothing.stderr
    );
}

#[test]
fn an_unknown_backend_a_bare_star_and_a_service_key_are_refused() {
    let hub = TestHub::start(ALLOW);
    hub.login();
    hub.run(&["auth", "put", "team/x"], Some("vx"))
        .assert_code(0);

    let unknown = hub.run(&["auth", "mv", "--to-backend", "nowhere", "team/x"], None);
    unknown.assert_code(2);
    assert!(
        unknown.stderr.contains("no backend named \"nowhere\"") && unknown.stderr.contains("file"),
        "{}",
        unknown.stderr
    );

    let star = hub.run(&["auth", "mv", "--to-backend", "file", "*"], None);
    star.assert_code(2);
    assert!(star.stderr.contains("--all-scopes"), "{}", star.stderr);
    hub.run(
        &["auth", "mv", "--to-backend", "file", "--all-scopes"],
        None,
    )
    .assert_code(0);

    let ci = hub.service_key("ci", &["team/*"]);
    let denied = hub.run_as(
        Some(&ci),
        &["auth", "mv", "--to-backend", "file", "team/x"],
        None,
    );
    denied.assert_code(3);
    assert!(
        denied.stderr.contains("only the owner key"),
        "{}",
        denied.stderr
    );

    let got = hub.run(&["auth", "get", "team/x"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "vx\n");
}

/// Needs the router and the OpenBao backend (runs once they are merged).
#[test]
fn a_target_that_does_not_answer_keeps_the_value_where_it_was() {
    let hub = TestHub::start(&dead_openbao(false));
    hub.login();
    hub.run(&["auth", "put", "team/deploy/token"], Some("s3cr3t-deploy"))
        .assert_code(0);

    let run = hub.run(&["auth", "mv", "--to-backend", "team", "team/*"], None);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    // The dead target cannot even be listed, so nothing is touched.
    assert!(
        run.stderr
            .contains("failed team/* (in team): list: cannot list team/* in team: backend team")
            && run.stderr.contains("the move did not finish (1 failure)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);

    let got = hub.run(&["auth", "get", "team/deploy/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "s3cr3t-deploy\n");
    let log = audit_log(&hub);
    assert!(
        log.lines().any(|line| line.contains("\"move_secret\"")
            && line.contains("\"scope\":\"team/*\"")
            && line.contains("\"failed\"")),
        "{log}"
    );
    assert!(!log.contains("s3cr3t"));
}

/// Needs the router and the OpenBao backend (runs once they are merged).
#[test]
fn a_source_that_does_not_answer_is_reported_and_the_local_secrets_still_move() {
    let hub = TestHub::start(&dead_openbao(true));
    hub.login();
    // `team/*` is routed to the dead backend; this secret is not, and the move covers both.
    hub.run(&["auth", "put", "ops/token"], Some("s3cr3t-ops"))
        .assert_code(0);

    let run = hub.run(
        &["auth", "mv", "--to-backend", "file", "--all-scopes"],
        None,
    );
    run.assert_code(1);
    assert!(
        run.stderr.contains("failed * (in team): list: "),
        "{}",
        run.stderr
    );
    // ops/token is in the local store already: unchanged, and still served.
    assert!(
        run.stdout.contains("unchanged ops/token: already in file"),
        "{}",
        run.stdout
    );
    let got = hub.run(&["auth", "get", "ops/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "s3cr3t-ops\n");
}

/// Needs the router (runs once it is merged): a `kind = "file"` backend is the local store under
/// another name, and moving between the two must not delete the only copy.
#[test]
fn a_file_backend_is_the_local_store_and_a_move_to_it_keeps_the_value() {
    let config = format!("{ALLOW}\n[store.backend.local2]\nkind = \"file\"\n");
    let hub = TestHub::start(&config);
    hub.login();
    hub.run(&["auth", "put", "team/x"], Some("s3cr3t-x"))
        .assert_code(0);

    let run = hub.run(&["auth", "mv", "--to-backend", "local2", "team/x"], None);
    run.assert_code(0);
    assert_eq!(run.stdout, "unchanged team/x: already in local2\n");
    // Reads of team/x go to `file`, which is the same store: no routing warning.
    assert_eq!(run.stderr, "");

    let got = hub.run(&["auth", "get", "team/x"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "s3cr3t-x\n");
}
