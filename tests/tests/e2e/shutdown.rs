//! SIGTERM: the hub stops accepting, fails requests waiting for approval at once (no client
//! hangs), flushes the audit log and exits cleanly, unlinking only its own socket.

use std::process::Stdio;
use std::time::{Duration, Instant};

use auth_hub_tests::{wait_until, Run, TestHub};

#[test]
fn sigterm_fails_waiting_requests_and_exits_cleanly() {
    let mut hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("v"))
        .assert_code(0);
    let getter = hub
        .hyperforge()
        .args(["auth", "get", "github/alice/token", "--wait", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn get");
    wait_until(Duration::from_secs(10), || {
        let pending = hub.run(&["--json", "auth", "pending"], None).json();
        (pending.as_array().is_some_and(|list| !list.is_empty())).then_some(())
    })
    .expect("the get waits for approval");

    let stopped = Instant::now();
    let status = hub.stop();
    assert!(
        status.success(),
        "hub exit status {status:?}\n{}",
        hub.log()
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        stopped.elapsed()
    );
    let waited = Run::from(getter.wait_with_output().expect("get finishes"));
    assert_ne!(waited.code, 0, "{waited:?}");
    assert!(waited.stdout.is_empty());
    assert!(
        !hub.socket().exists(),
        "the hub removes the socket it bound"
    );
    let audit =
        std::fs::read_to_string(hub.home().join("state").join("audit.jsonl")).expect("audit");
    assert!(audit.contains("scope_pending"), "audit flushed at shutdown");
}

#[test]
fn a_second_hub_refuses_a_live_socket_and_replaces_a_stale_one() {
    let mut hub = TestHub::start("");
    // Another home on the same socket: the live socket is refused.
    let other_home = tempfile::tempdir().expect("temp dir");
    let second = std::process::Command::new(auth_hub_tests::hub_binary())
        .args(["serve", "--home"])
        .arg(other_home.path())
        .arg("--socket")
        .arg(hub.socket())
        .env_remove("AUTH_HUB_SOCKET")
        .output()
        .expect("run a second hub");
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already serving"));
    // The same home: its state is refused first (one hub per state, see one_hub.rs).
    let second = std::process::Command::new(auth_hub_tests::hub_binary())
        .args(["serve", "--home"])
        .arg(hub.home())
        .env_remove("AUTH_HUB_SOCKET")
        .output()
        .expect("run a second hub");
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already owns the state directory"));
    hub.run(&["auth", "status"], None).assert_code(0);
    // A crash leaves the socket file behind; the next hub removes it and starts.
    hub.kill9();
    assert!(hub.socket().exists());
    hub.restart();
    hub.run(&["auth", "status"], None).assert_code(0);
}
