//! put / get / ls / rm through the CLI, exit codes for scripts, and the audit trail.

use auth_hub_tests::TestHub;

#[test]
fn put_get_ls_rm_with_script_exit_codes() {
    let hub = TestHub::start("[[policy.rule]]\nscope = \"*\"\naction = \"allow\"\n");
    hub.login();
    // One trailing newline is dropped, inner ones are kept.
    hub.run(
        &["auth", "put", "npm/@acme-corp/token"],
        Some("line1\nline2\n"),
    )
    .assert_code(0);
    let got = hub.run(&["auth", "get", "npm/@acme-corp/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "line1\nline2\n");

    let json = hub
        .run(&["--json", "auth", "get", "npm/@acme-corp/token"], None)
        .json();
    assert_eq!(json["value"], "line1\nline2");
    assert_eq!(json["version"], 1);

    hub.run(&["auth", "put", "npm/@acme-corp/token"], Some("v2"))
        .assert_code(0);
    let listed = hub.run(&["--json", "auth", "ls", "npm"], None).json();
    let entry = &listed.as_array().expect("array")[0];
    assert_eq!(entry["path"], "npm/@acme-corp/token");
    assert_eq!(entry["version"], 2);
    assert!(
        !listed.to_string().contains("v2\""),
        "ls never shows values: {listed}"
    );

    hub.run(&["auth", "get", "npm/@acme-corp/missing"], None)
        .assert_code(4);
    hub.run(&["auth", "get", "github/../token"], None)
        .assert_code(2);
    hub.run(&["auth", "put", "cargo/token"], Some(""))
        .assert_code(2);
    hub.run(&["auth", "rm", "npm/@acme-corp/token"], None)
        .assert_code(0);
    hub.run(&["auth", "get", "npm/@acme-corp/token"], None)
        .assert_code(4);
    hub.run(&["auth", "rm", "npm/@acme-corp/token"], None)
        .assert_code(4);
}

#[test]
fn audit_chain_verifies_and_never_holds_a_value() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(
        &["auth", "put", "github/alice/token"],
        Some("ghp_do_not_log_me"),
    )
    .assert_code(0);
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    hub.run(&["auth", "get", "github/alice/token"], None)
        .assert_code(0);
    hub.run(&["auth", "get", "github/alicex/token", "--no-wait"], None)
        .assert_code(3);

    let verify = hub.run(&["auth", "audit", "--verify"], None);
    verify.assert_code(0);
    let lines = hub.run(&["--json", "auth", "audit"], None);
    lines.assert_code(0);
    assert!(lines.stdout.contains("get_secret"), "{}", lines.stdout);

    let log =
        std::fs::read_to_string(hub.home().join("state").join("audit.jsonl")).expect("audit file");
    assert!(log.contains("github/alice/token"));
    for place in [log.as_str(), &hub.log()] {
        assert!(
            !place.contains("ghp_do_not_log_me"),
            "a secret value leaked into a log"
        );
        assert!(
            !place.contains(&hub.saved_key()),
            "a master key leaked into a log"
        );
    }

    // Tampering is detected.
    let tampered = log.replacen("github/alice/token", "github/bob/token", 1);
    std::fs::write(hub.home().join("state").join("audit.jsonl"), tampered).expect("tamper");
    hub.run(&["auth", "audit", "--verify"], None).assert_code(1);
}

#[test]
fn rm_destroy_on_a_local_path_deletes_like_rm() {
    let hub = TestHub::start("[[policy.rule]]\nscope = \"*\"\naction = \"allow\"\n");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("v"))
        .assert_code(0);
    let destroyed = hub.run(&["--json", "auth", "rm", "--destroy", "cargo/token"], None);
    destroyed.assert_code(0);
    assert_eq!(destroyed.json()["destroyed"], true);
    hub.run(&["auth", "get", "cargo/token"], None)
        .assert_code(4);
    hub.run(&["auth", "rm", "--destroy", "cargo/token"], None)
        .assert_code(4);
}
