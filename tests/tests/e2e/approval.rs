//! The approval flow a new user walks through: a script waits, the owner grants from another
//! terminal, the script gets the value; deny, revoke, `--no-wait`, and pending listings.

use std::process::Stdio;
use std::time::Duration;

use auth_hub_tests::{wait_until, Run, TestHub};

#[test]
fn waiting_get_receives_the_value_once_granted() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(
        &["auth", "put", "github/alice/token"],
        Some("ghp_alice_secret\n"),
    )
    .assert_code(0);

    let getter = hub
        .hyperforge()
        .args(["auth", "get", "github/alice/token", "--wait", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn get");

    // The request shows up as pending; the owner grants it from another process.
    let pending = wait_until(Duration::from_secs(10), || {
        let run = hub.run(&["--json", "auth", "pending"], None);
        let json = run.json();
        let list = json.as_array().cloned().unwrap_or_default();
        (!list.is_empty()).then_some(list)
    })
    .expect("the get shows up as pending");
    assert_eq!(pending[0]["scopes"][0], "github/alice/*");
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);

    let output = getter.wait_with_output().expect("get finishes");
    let run = Run::from(output);
    run.assert_code(0);
    assert_eq!(run.stdout, "ghp_alice_secret\n");
    assert!(
        run.stderr
            .contains("hyperforge auth grant 'github/alice/*'"),
        "hint on stderr: {}",
        run.stderr
    );

    // The grant stands: the next get answers at once.
    let again = hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None);
    again.assert_code(0);
    assert_eq!(again.stdout, "ghp_alice_secret\n");
}

#[test]
fn sibling_orgs_are_never_covered_and_revoke_takes_effect() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("alice"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/alicex/token"], Some("alicex"))
        .assert_code(0);
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);

    hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None)
        .assert_code(0);
    let refused = hub.run(&["auth", "get", "github/alicex/token", "--no-wait"], None);
    refused.assert_code(3);
    assert!(
        refused
            .stderr
            .contains("hyperforge auth grant 'github/alicex/*'"),
        "{}",
        refused.stderr
    );

    let grants = hub.run(&["--json", "auth", "grants"], None).json();
    assert_eq!(grants.as_array().map(Vec::len), Some(1), "{grants}");

    hub.run(&["auth", "revoke", "github/alice/*"], None)
        .assert_code(0);
    hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None)
        .assert_code(3);
}

#[test]
fn deny_and_timeout_exit_with_code_3() {
    let hub = TestHub::start("[policy]\ngrant_timeout = \"2s\"\n");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("crates-io"))
        .assert_code(0);

    let getter = hub
        .hyperforge()
        .args(["auth", "get", "cargo/token", "--wait", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn get");
    wait_until(Duration::from_secs(10), || {
        (hub.run(&["auth", "deny", "cargo/*"], None).code == 0).then_some(())
    })
    .expect("deny finds the pending request");
    let denied = Run::from(getter.wait_with_output().expect("get finishes"));
    denied.assert_code(3);
    assert!(denied.stdout.is_empty());

    // Nobody decides: the hub's grant timeout (2 s) ends the wait, even though the client
    // offered to wait longer.
    let timed_out = hub.run(&["auth", "get", "cargo/token", "--wait", "30"], None);
    timed_out.assert_code(3);
    assert!(
        timed_out.stderr.contains("hyperforge auth grant 'cargo/*'"),
        "{}",
        timed_out.stderr
    );
}

#[test]
fn policy_rules_allow_and_deny_without_a_prompt() {
    let hub = TestHub::start(
        r#"
[policy]
default = "prompt"
[[policy.rule]]
scope = "github/alice/*"
action = "allow"
[[policy.rule]]
scope = "github/*"
action = "deny"
"#,
    );
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("a"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/bob/token"], Some("b"))
        .assert_code(0);
    let allowed = hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None);
    allowed.assert_code(0);
    assert_eq!(allowed.stdout, "a\n");
    hub.run(&["auth", "get", "github/bob/token", "--wait", "30"], None)
        .assert_code(3);
}
