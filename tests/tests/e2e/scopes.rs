//! Scopes as a new user types them: printed commands that survive a real shell, the scope `*`
//! only with `--all-scopes`, and the error texts of the first hour (`put a/*`, `ls github/`,
//! `key import < /dev/null`).

use std::process::{Command, Stdio};

use auth_hub_tests::{hyperforge_binary, Run, TestHub};

/// The command in a `hint: run: …` line of `stderr`.
fn hinted_command(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("hint: run: "))
        .unwrap_or_else(|| panic!("no `hint: run:` line in:\n{stderr}"))
        .to_owned()
}

#[test]
fn a_printed_grant_command_runs_as_printed_in_a_shell() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("ghp"))
        .assert_code(0);
    let refused = hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None);
    refused.assert_code(3);
    let command = hinted_command(&refused.stderr);
    assert_eq!(command, "hyperforge auth grant 'github/alice/*'");

    // A directory where an unquoted github/alice/* would expand to a file name.
    let cwd = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(cwd.path().join("github/alice")).expect("dirs");
    std::fs::write(cwd.path().join("github/alice/notes"), "").expect("file");
    let bin_dir = hyperforge_binary()
        .parent()
        .expect("binary directory")
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pasted = Run::from(
        Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(cwd.path())
            .env("PATH", path)
            .env("AUTH_HUB_HOME", hub.home())
            .env("AUTH_HUB_NO_AUTOSTART", "1")
            .env_remove("AUTH_HUB_TOKEN")
            .env_remove("AUTH_HUB_SOCKET")
            .stdin(Stdio::null())
            .output()
            .expect("run sh"),
    );
    pasted.assert_code(0);
    assert!(
        pasted.stdout.contains("granted github/alice/*"),
        "{}",
        pasted.stdout
    );
    hub.run(&["auth", "get", "github/alice/token"], None)
        .assert_code(0);
}

#[test]
fn the_scope_star_needs_all_scopes_and_says_what_it_covers() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "token"], Some("v")).assert_code(0);
    // A one-segment path lives under `*`: the hint names the explicit flag.
    let refused = hub.run(&["auth", "get", "token", "--no-wait"], None);
    refused.assert_code(3);
    assert_eq!(
        hinted_command(&refused.stderr),
        "hyperforge auth grant --all-scopes"
    );

    for verb in ["grant", "revoke"] {
        let bare = hub.run(&["auth", verb, "*"], None);
        bare.assert_code(2);
        assert!(
            bare.stderr
                .contains("every secret in the hub, present and future"),
            "{}",
            bare.stderr
        );
        assert_eq!(
            hinted_command(&bare.stderr),
            format!("hyperforge auth {verb} --all-scopes")
        );
    }
    hub.run(&["auth", "grants"], None).assert_code(0);

    let granted = hub.run(&["auth", "grant", "--all-scopes"], None);
    granted.assert_code(0);
    assert!(
        granted
            .stderr
            .contains("every secret in the hub, present and future"),
        "{}",
        granted.stderr
    );
    let got = hub.run(&["auth", "get", "token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "v\n");
    let revoked = hub.run(&["auth", "revoke", "--all-scopes"], None);
    revoked.assert_code(0);
    assert!(
        revoked.stdout.contains("revoked 1 standing grant"),
        "{}",
        revoked.stdout
    );
    hub.run(&["auth", "get", "token", "--no-wait"], None)
        .assert_code(3);
}

#[test]
fn first_hour_error_texts() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("ghp"))
        .assert_code(0);

    let star = hub.run(&["auth", "put", "a/*"], Some("v"));
    star.assert_code(2);
    assert!(
        star.stderr.contains("never holds '*'") && !star.stderr.contains("last segment"),
        "{}",
        star.stderr
    );

    let slash = hub.run(&["--json", "auth", "ls", "github/"], None);
    slash.assert_code(0);
    assert_eq!(slash.json()[0]["path"], "github/alice/token");

    let empty = hub.run(&["auth", "key", "import"], None);
    empty.assert_code(2);
    assert!(
        empty.stderr.contains("hyperforge auth key import") && !empty.stderr.contains("auth put"),
        "{}",
        empty.stderr
    );

    let long_token = format!("TAUTH_ci--z{}", "2".repeat(60));
    let long = hub.run_as(Some(&long_token), &["auth", "get", "cargo/token"], None);
    long.assert_code(3);
    assert!(
        long.stderr.contains("has 60 characters after the 'z'"),
        "{}",
        long.stderr
    );
}
