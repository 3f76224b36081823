//! Live reload of the hub's `config.toml`: an edit changes the next decision without a restart,
//! an editor-style save (write a temp file, rename it over) is picked up, and an invalid file
//! keeps the previous policy while `hyperforge auth status` shows the error.

use std::time::Duration;

use auth_hub_tests::{wait_until, TestHub};

const ALLOW_CARGO: &str = "[[policy.rule]]\nscope = \"cargo/*\"\naction = \"allow\"\n";

/// Writes the config the way editors do: a temp file renamed over the original.
fn save_like_an_editor(hub: &TestHub, text: &str) {
    let temp = hub.home().join(".config.toml.swp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, hub.home().join("config.toml")).unwrap();
}

#[test]
fn policy_edits_take_effect_without_a_restart() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("v"))
        .assert_code(0);
    hub.run(&["auth", "get", "cargo/token", "--no-wait"], None)
        .assert_code(3);

    save_like_an_editor(&hub, ALLOW_CARGO);
    wait_until(Duration::from_secs(10), || {
        (hub.run(&["auth", "get", "cargo/token", "--no-wait"], None)
            .code
            == 0)
            .then_some(())
    })
    .expect("the allow rule takes effect");

    // An invalid file keeps the previous policy and the error shows in status.
    hub.write_config("[policy]\ndefault = \"sometimes\"\n");
    let status = wait_until(Duration::from_secs(10), || {
        let json = hub.run(&["--json", "auth", "status"], None).json();
        json["policy_error"].is_string().then_some(json)
    })
    .expect("status shows the policy error");
    assert!(
        status["policy_error"]
            .as_str()
            .unwrap()
            .contains("sometimes"),
        "{status}"
    );
    hub.run(&["auth", "get", "cargo/token", "--no-wait"], None)
        .assert_code(0);

    // A deny rule, written in place this time, takes over; the error clears.
    hub.write_config("[[policy.rule]]\nscope = \"cargo/*\"\naction = \"deny\"\n");
    wait_until(Duration::from_secs(10), || {
        (hub.run(&["auth", "get", "cargo/token", "--no-wait"], None)
            .code
            == 3)
            .then_some(())
    })
    .expect("the deny rule takes effect");
    assert!(hub.run(&["--json", "auth", "status"], None).json()["policy_error"].is_null());
}

/// SIGHUP's default action ends a process: the hub handles it as "reload" and keeps serving.
/// (The file watcher would pick this edit up as well, so this checks survival and the outcome.)
#[test]
fn sighup_reloads_instead_of_ending_the_hub() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("v"))
        .assert_code(0);
    hub.write_config(ALLOW_CARGO);
    // SAFETY: kill(2) on the hub process this test started.
    unsafe { libc::kill(i32::try_from(hub.pid()).unwrap(), libc::SIGHUP) };
    wait_until(Duration::from_secs(10), || {
        (hub.run(&["auth", "get", "cargo/token", "--no-wait"], None)
            .code
            == 0)
            .then_some(())
    })
    .expect("the reloaded policy allows cargo/*");
    let mut hub = hub;
    assert!(hub.is_running(), "SIGHUP ended the hub");
}
