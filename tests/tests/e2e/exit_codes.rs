//! The exit-code table is a contract (README "Scripts and CI"): 0 success, 1 failure, 2 usage or
//! config error, 3 access denied or approval timed out, 4 secret not found, 5 hub unreachable.
//! Each code is produced here from the real situation it documents, against the real binaries,
//! including the cases that once broke it: a garbage, revoked or expired `AUTH_HUB_TOKEN`
//! (3, saying which), a hub stopped or killed during `get --wait` (5), a socket path past
//! `sun_path` (2), an owner verb with a service key (3), `auth status` with a refused key (3) or a
//! broken policy (2), and reports that never start a hub (5).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use auth_hub_tests::{hub_binary, hyperforge_binary, wait_until, Run, TestHub};

/// A `hyperforge` run against the hub home `home` that may start a hub (no
/// `AUTH_HUB_NO_AUTOSTART`), with the freshly built `auth-hub`.
fn run_autostarting(home: &Path, args: &[&str]) -> Run {
    let output = Command::new(hyperforge_binary())
        .args(args)
        .env("AUTH_HUB_HOME", home)
        .env("AUTH_HUB_BIN", hub_binary())
        .env_remove("AUTH_HUB_NO_AUTOSTART")
        .env_remove("AUTH_HUB_SOCKET")
        .env_remove("AUTH_HUB_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run hyperforge");
    Run::from(output)
}

/// Starts `hyperforge auth get PATH --wait 60` and returns once the hub shows it pending.
fn waiting_get(hub: &TestHub, path: &str) -> Child {
    let getter = hub
        .hyperforge()
        .args(["auth", "get", path, "--wait", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn get");
    wait_until(Duration::from_secs(10), || {
        let pending = hub.run(&["--json", "auth", "pending"], None).json();
        pending
            .as_array()
            .is_some_and(|list| !list.is_empty())
            .then_some(())
    })
    .expect("the get waits for approval");
    getter
}

#[test]
fn code_0_success() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("v\n"))
        .assert_code(0);
    hub.run(&["auth", "grant", "cargo/*"], None).assert_code(0);
    let got = hub.run(&["auth", "get", "cargo/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "v\n");
    hub.run(&["auth", "status"], None).assert_code(0);
}

#[test]
fn code_1_failure_no_key_on_this_machine() {
    let hub = TestHub::start("");
    hub.login();
    std::fs::remove_file(hub.home().join("client").join("master.key")).expect("forget the key");
    let run = hub.run(&["auth", "get", "cargo/token"], None);
    run.assert_code(1);
    assert!(
        run.stderr.contains("no auth-hub key found"),
        "{}",
        run.stderr
    );
}

#[test]
fn code_2_usage_bad_path_and_socket_path_past_sun_path() {
    let hub = TestHub::start("");
    hub.login();
    let run = hub.run(&["auth", "put", "a/*"], Some("v"));
    run.assert_code(2);
    assert!(run.stderr.contains("never holds '*'"), "{}", run.stderr);
    assert!(!run.stderr.contains("last segment"), "{}", run.stderr);

    // 120 bytes of directory name: the socket path cannot fit a Unix socket address.
    let long = tempfile::Builder::new()
        .prefix(&"h".repeat(120))
        .tempdir()
        .expect("temp dir");
    let run = run_autostarting(long.path(), &["auth", "get", "cargo/token"]);
    run.assert_code(2);
    assert!(run.stderr.contains("Unix socket address"), "{}", run.stderr);
    assert!(
        run.stderr.contains("AUTH_HUB_SOCKET") && run.stderr.contains("AUTH_HUB_HOME"),
        "{}",
        run.stderr
    );
    assert!(
        !long.path().join("auth-hub.log").exists(),
        "no hub is started for a path no hub can listen on"
    );
}

#[test]
fn code_2_auth_status_with_a_broken_policy_still_prints_everything() {
    let hub = TestHub::start("");
    hub.login();
    hub.write_config("[policy]\ndefault = \"sometimes\"\n");
    let status = wait_until(Duration::from_secs(10), || {
        let run = hub.run(&["auth", "status"], None);
        (run.code != 0).then_some(run)
    })
    .expect("the hub notices the broken policy");
    status.assert_code(2);
    assert!(status.stdout.contains("policy error:"), "{}", status.stdout);
    assert!(
        status
            .stdout
            .contains("key:      owner (owner, from saved key, valid)"),
        "{}",
        status.stdout
    );
    assert!(status.stderr.contains("is invalid"), "{}", status.stderr);
    let json = hub.run(&["--json", "auth", "status"], None);
    json.assert_code(2);
    assert!(json.json()["policy_error"].is_string());
}

#[test]
fn code_3_denied_and_timed_out() {
    let hub = TestHub::start("");
    hub.login();
    let run = hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None);
    run.assert_code(3);
    // The hint is shell-safe: pasted into a shell, the * reaches hyperforge.
    assert!(
        run.stderr
            .contains("hint: run: hyperforge auth grant 'github/alice/*'"),
        "{}",
        run.stderr
    );
    let run = hub.run(
        &["auth", "get", "github/alice/token", "--wait", "100ms"],
        None,
    );
    run.assert_code(3);
    assert!(run.stderr.contains("no approval"), "{}", run.stderr);
}

#[test]
fn code_3_garbage_revoked_and_expired_tokens_say_which() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("v"))
        .assert_code(0);

    let garbage = hub.run_as(Some("garbage"), &["auth", "get", "cargo/token"], None);
    garbage.assert_code(3);
    assert!(
        garbage.stderr.contains("not a valid API key"),
        "{}",
        garbage.stderr
    );

    let ci = hub.service_key("ci", &["cargo/*"]);
    hub.run_as(Some(&ci), &["auth", "get", "cargo/token"], None)
        .assert_code(0);
    hub.run(&["auth", "key", "revoke", "ci"], None)
        .assert_code(0);
    let revoked = hub.run_as(Some(&ci), &["auth", "get", "cargo/token"], None);
    revoked.assert_code(3);
    assert!(
        revoked.stderr.contains("key \"ci\" was revoked"),
        "{}",
        revoked.stderr
    );

    let run = hub.run(
        &[
            "auth",
            "key",
            "create",
            "brief",
            "--scope",
            "cargo/*",
            "--expires",
            "300ms",
        ],
        None,
    );
    run.assert_code(0);
    let brief = run.stdout.trim().to_owned();
    let expired = wait_until(Duration::from_secs(10), || {
        let run = hub.run_as(Some(&brief), &["auth", "get", "cargo/token"], None);
        (run.code != 0).then_some(run)
    })
    .expect("the key expires");
    expired.assert_code(3);
    assert!(
        expired.stderr.contains("key \"brief\" has expired"),
        "{}",
        expired.stderr
    );
}

#[test]
fn code_3_owner_verbs_with_a_service_key() {
    let hub = TestHub::start("");
    hub.login();
    let ci = hub.service_key("ci", &["cargo/*"]);
    for args in [
        &["auth", "grant", "github/alice/*"][..],
        &["auth", "revoke", "cargo/*"],
        &["auth", "deny", "cargo/*"],
        &["auth", "grants"],
        &["auth", "key", "list"],
    ] {
        let run = hub.run_as(Some(&ci), args, None);
        run.assert_code(3);
        assert!(
            run.stderr.contains("only the owner key") && run.stderr.contains("\"ci\""),
            "{args:?}: {}",
            run.stderr
        );
    }
    // A service key that may read but not write is told the grant needs --write.
    let put = hub.run_as(Some(&ci), &["auth", "put", "cargo/token"], Some("v"));
    put.assert_code(3);
    assert!(
        put.stderr
            .contains("hyperforge auth grant 'cargo/*' --write --key ci"),
        "{}",
        put.stderr
    );
}

#[test]
fn code_3_auth_status_with_a_refused_key_still_prints_everything() {
    let hub = TestHub::start("");
    hub.login();
    let ci = hub.service_key("ci", &["cargo/*"]);
    hub.run(&["auth", "key", "revoke", "ci"], None)
        .assert_code(0);
    let status = hub.run_as(Some(&ci), &["auth", "status"], None);
    status.assert_code(3);
    assert!(
        status.stdout.starts_with("auth-hub ") && status.stdout.contains("socket:"),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("key:      AUTH_HUB_TOKEN is not valid here: key \"ci\" was revoked"),
        "{}",
        status.stdout
    );
    let garbage = hub.run_as(Some("TAUTH_x--zzz"), &["--json", "auth", "status"], None);
    garbage.assert_code(3);
    assert_eq!(garbage.json()["key_valid"], false);
}

#[test]
fn code_4_not_found() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    let run = hub.run(&["auth", "get", "github/alice/token"], None);
    run.assert_code(4);
    let rm = hub.run(&["auth", "rm", "github/alice"], None);
    rm.assert_code(4);
    assert!(
        rm.stderr.contains("hyperforge auth ls github/alice") && !rm.stderr.contains("store one"),
        "{}",
        rm.stderr
    );
}

#[test]
fn code_5_reports_never_start_a_hub() {
    let home = tempfile::Builder::new()
        .prefix("hub")
        .tempdir()
        .expect("temp dir");
    for args in [
        &["auth", "status"][..],
        &["--json", "auth", "status"],
        &["auth", "pending"],
        &["auth", "grants"],
        &["auth", "key", "list"],
        &["auth", "audit"],
    ] {
        let run = run_autostarting(home.path(), args);
        run.assert_code(5);
        assert!(
            run.stderr.contains("auth-hub is not running"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(
        !home.path().join("auth-hub.sock").exists(),
        "no hub started"
    );
    assert!(!home.path().join("state").exists(), "no hub started");
}

#[test]
fn code_5_a_failed_start_shows_the_hubs_error_and_keeps_its_log() {
    let home = tempfile::Builder::new()
        .prefix("hub")
        .tempdir()
        .expect("temp dir");
    std::fs::write(home.path().join("config.toml"), "[policy\n").expect("broken config");
    let run = run_autostarting(home.path(), &["auth", "login"]);
    run.assert_code(5);
    let log = home.path().join("auth-hub.log");
    // The hub's own words, inline, and where its log is.
    assert!(
        run.stderr.contains("config.toml:1:"),
        "the hub's error line is shown: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&log.display().to_string()),
        "{}",
        run.stderr
    );
    let mode = std::fs::metadata(&log)
        .expect("log kept")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn code_5_hub_stopped_or_killed_during_get_wait() {
    let mut hub = TestHub::start("");
    hub.login();
    let getter = waiting_get(&hub, "github/alice/token");
    hub.stop();
    let run = Run::from(getter.wait_with_output().expect("get finishes"));
    run.assert_code(5);
    assert!(run.stderr.contains("shutting down"), "{}", run.stderr);

    hub.restart();
    let getter = waiting_get(&hub, "github/alice/token");
    hub.kill9();
    let run = Run::from(getter.wait_with_output().expect("get finishes"));
    run.assert_code(5);
    assert!(run.stdout.is_empty());
}
