//! Named store backends and the routes between them: `[store.backend.<name>]`,
//! `[[store.route]]` and `[store] default`. A `kind = "file"` backend is the hub's sealed file
//! store under another name, so these tests need no outside server: they check that paths are
//! attributed to the backend their route names (`auth ls`, the audit log), that `auth status`
//! lists every backend with its routes and health, that routes follow a config reload, and that
//! a route to an undeclared backend is refused at start and kept-previous on reload.

use std::time::Duration;

use auth_hub_tests::{wait_until, TestHub};
use serde_json::Value;

const ROUTED: &str = r#"
[store.backend.other]
kind = "file"

[[store.route]]
scope = "team/*"
backend = "other"
"#;

/// `auth ls --json` as (path, backend) pairs.
fn listed(hub: &TestHub) -> Vec<(String, String)> {
    let json = hub
        .run(&["--json", "auth", "ls"], None)
        .assert_code(0)
        .json();
    json.as_array()
        .expect("a list")
        .iter()
        .map(|entry| {
            (
                entry["path"].as_str().unwrap_or_default().to_owned(),
                entry["backend"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pair(path: &str, backend: &str) -> (String, String) {
    (path.to_owned(), backend.to_owned())
}

/// The backend each audited access of `path` with `event` names, once the log has it.
fn audited_backend(hub: &TestHub, event: &str, path: &str) -> String {
    let audit = hub.home().join("state").join("audit.jsonl");
    wait_until(Duration::from_secs(10), || {
        let log = std::fs::read_to_string(&audit).ok()?;
        log.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["event"] == event && line["path"] == path)
            .map(|line| line["backend"].as_str().unwrap_or("(none)").to_owned())
    })
    .unwrap_or_else(|| panic!("no {event} of {path} in the audit log"))
}

#[test]
fn routes_send_paths_to_named_backends_and_show_them() {
    let hub = TestHub::start(&format!(
        "[[policy.rule]]\nscope = \"team/*\"\naction = \"allow\"\n{ROUTED}"
    ));
    hub.login();
    hub.run(&["auth", "put", "team/ci/token"], Some("t1"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/alice/token"], Some("g1"))
        .assert_code(0);
    hub.run(&["auth", "get", "team/ci/token", "--no-wait"], None)
        .assert_code(0);

    assert_eq!(
        listed(&hub),
        vec![
            pair("github/alice/token", "file"),
            pair("team/ci/token", "other"),
        ]
    );
    let table = hub.run(&["auth", "ls"], None).assert_code(0).stdout.clone();
    let header = table.lines().next().unwrap_or_default();
    assert!(header.ends_with("backend"), "{table}");
    assert!(
        table
            .lines()
            .any(|line| line.starts_with("team/ci/token") && line.ends_with("other")),
        "{table}"
    );

    let status = hub
        .run(&["--json", "auth", "status"], None)
        .assert_code(0)
        .json();
    let backends = status["backends"].as_array().expect("backends in status");
    assert_eq!(backends.len(), 2, "{status}");
    assert_eq!(backends[0]["name"], "file");
    assert_eq!(backends[0]["default"], true);
    assert_eq!(backends[1]["name"], "other");
    assert_eq!(backends[1]["kind"], "file");
    assert_eq!(backends[1]["routes"][0], "team/*");
    assert_eq!(backends[1]["default"], false);
    for backend in backends {
        assert_eq!(backend["reachable"], true, "{backend}");
        assert_eq!(backend["authenticated"], true, "{backend}");
    }
    let text = hub
        .run(&["auth", "status"], None)
        .assert_code(0)
        .stdout
        .clone();
    assert!(text.contains("\nbackends:\n"), "{text}");
    assert!(
        text.lines()
            .any(|line| line.contains("other") && line.contains("team/*") && line.ends_with("ok")),
        "{text}"
    );

    assert_eq!(
        audited_backend(&hub, "put_secret", "team/ci/token"),
        "other"
    );
    assert_eq!(
        audited_backend(&hub, "get_secret", "team/ci/token"),
        "other"
    );
    assert_eq!(
        audited_backend(&hub, "put_secret", "github/alice/token"),
        "file"
    );
}

#[test]
fn routes_follow_a_reload_and_a_bad_layout_keeps_the_previous_one() {
    let hub = TestHub::start(ROUTED);
    hub.login();
    hub.run(&["auth", "put", "team/ci/token"], Some("t1"))
        .assert_code(0);
    hub.run(&["auth", "put", "cargo/token"], Some("c1"))
        .assert_code(0);

    // Everything to `other` now: no routes, `other` the default.
    hub.write_config("[store]\ndefault = \"other\"\n\n[store.backend.other]\nkind = \"file\"\n");
    wait_until(Duration::from_secs(10), || {
        (listed(&hub) == vec![pair("cargo/token", "other"), pair("team/ci/token", "other")])
            .then_some(())
    })
    .expect("the new default takes effect");

    // A route to an undeclared backend: refused, previous layout kept, error in status.
    hub.write_config(
        "[store.backend.other]\nkind = \"file\"\n\n[[store.route]]\nscope = \"team/*\"\n\
         backend = \"ghost\"\n",
    );
    let status = wait_until(Duration::from_secs(10), || {
        let json = hub.run(&["--json", "auth", "status"], None).json();
        json["policy_error"].is_string().then_some(json)
    })
    .expect("status shows the layout error");
    let error = status["policy_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("store.route[0].backend") && error.contains("ghost"),
        "{error}"
    );
    assert!(error.contains("declared: file, other"), "{error}");
    hub.run(&["auth", "status"], None).assert_code(2);
    assert_eq!(
        listed(&hub),
        vec![pair("cargo/token", "other"), pair("team/ci/token", "other")]
    );
    assert_eq!(status["backends"][1]["default"], true, "{status}");

    // A route an earlier one covers can never match: refused the same way.
    hub.write_config(
        "[store.backend.other]\nkind = \"file\"\n\n[[store.route]]\nscope = \"team/*\"\n\
         backend = \"other\"\n\n[[store.route]]\nscope = \"team/ci/*\"\nbackend = \"file\"\n",
    );
    let status = wait_until(Duration::from_secs(10), || {
        let json = hub.run(&["--json", "auth", "status"], None).json();
        json["policy_error"]
            .as_str()
            .is_some_and(|error| error.contains("never match"))
            .then_some(json)
    })
    .expect("status shows the shadowed route");
    let error = status["policy_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("route 1 (team/ci/*) can never match: route 0 (team/*) comes first"),
        "{error}"
    );

    // A valid file again clears the error and applies its routes.
    hub.write_config(ROUTED);
    wait_until(Duration::from_secs(10), || {
        (listed(&hub) == vec![pair("cargo/token", "file"), pair("team/ci/token", "other")])
            .then_some(())
    })
    .expect("the routes apply again");
    assert!(hub.run(&["--json", "auth", "status"], None).json()["policy_error"].is_null());
}

#[test]
fn a_route_to_an_undeclared_backend_is_refused_at_start() {
    let mut hub = TestHub::start(ROUTED);
    hub.stop();
    hub.write_config("[[store.route]]\nscope = \"team/*\"\nbackend = \"tema\"\n");
    let refused = hub.serve_refused();
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("config.toml:3:11")
            && refused.stderr.contains("store.route[0].backend")
            && refused.stderr.contains("\"tema\"")
            && refused.stderr.contains("no such backend; declared: file"),
        "{}",
        refused.stderr
    );
}
