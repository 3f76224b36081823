//! A store or audit log that lost data says so: deleted slot files stop the hub until the loss is
//! accepted (and audited), a cut newest slot is a rollback shown in `auth status`, a cut or
//! deleted audit log fails `auth audit --verify`; a normal restart and a crash stay quiet.

use std::fs;
use std::path::{Path, PathBuf};

use auth_hub_tests::TestHub;

const SLOTS: [&str; 2] = ["secrets-a.sealed", "secrets-b.sealed"];

fn state(hub: &TestHub) -> PathBuf {
    hub.home().join("state")
}

/// The generation in a slot's header (magic 8, version 1, key tag 1, then u64 LE).
fn generation(slot: &Path) -> u64 {
    let bytes = fs::read(slot).unwrap();
    u64::from_le_bytes(bytes[10..18].try_into().unwrap())
}

/// Asserts that `text` contains every one of `parts`, naming the first that is missing.
fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} in\n{text}");
    }
}

fn status_json(hub: &TestHub) -> serde_json::Value {
    hub.run(&["--json", "auth", "status"], None).json()
}

fn audit_events(hub: &TestHub) -> Vec<serde_json::Value> {
    let run = hub.run(&["--json", "auth", "audit"], None);
    run.assert_code(0);
    run.json()["lines"].as_array().unwrap().clone()
}

fn has_event<'a>(events: &'a [serde_json::Value], name: &str) -> Option<&'a serde_json::Value> {
    events.iter().find(|event| event["event"] == name)
}

/// Nothing in the hub's log or status says data is missing.
fn assert_quiet(hub: &TestHub) {
    let log = hub.log();
    // (A torn audit line cut after a crash is expected and warned about; these are not.)
    for phrase in ["the store was", "anchored", "--verify"] {
        assert!(
            !log.lines()
                .any(|line| line.contains("WARN") && line.contains(phrase)),
            "{phrase:?} warned in\n{log}"
        );
    }
    let status = status_json(hub);
    assert!(status["store_problem"].is_null(), "{status}");
    assert!(status["audit_problem"].is_null(), "{status}");
    let verify = hub.run(&["auth", "audit", "--verify"], None);
    verify.assert_code(0);
}

#[test]
fn unreadable_slots_refuse_to_start_and_say_the_way_out() {
    let mut hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("kept"))
        .assert_code(0);
    hub.stop();
    for slot in SLOTS {
        let path = state(&hub).join(slot);
        let length = fs::metadata(&path).unwrap().len();
        fs::write(&path, vec![0x5a; usize::try_from(length).unwrap()]).unwrap();
    }

    let refused = hub.serve_refused();
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_mentions(
        &refused.stderr,
        &[
            "is unusable",
            "no other store file can be read",
            "put the right key back",
            "move them aside",
            "auth-hub serve --accept-store-loss",
        ],
    );

    // The way out it names works: the unreadable files moved aside, the loss accepted.
    for slot in SLOTS {
        let path = state(&hub).join(slot);
        fs::rename(&path, path.with_extension("sealed.unreadable")).unwrap();
    }
    hub.restart_with(&["--accept-store-loss"]);
    let status = status_json(&hub);
    assert!(
        status["store_problem"]
            .as_str()
            .unwrap()
            .starts_with("lost: "),
        "{status}"
    );
}

#[test]
fn deleted_slots_refuse_to_start_until_the_loss_is_accepted() {
    let mut hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("kept"))
        .assert_code(0);
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    hub.stop();
    for slot in SLOTS {
        let _ = fs::remove_file(state(&hub).join(slot));
    }

    let refused = hub.serve_refused();
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_mentions(
        &refused.stderr,
        &[
            "the secret store in",
            "is missing",
            "store.manifest records generation",
            "secrets-a.sealed",
            "auth-hub serve --accept-store-loss",
        ],
    );
    assert!(
        !state(&hub).join(SLOTS[0]).exists(),
        "a refused start creates nothing"
    );

    hub.restart_with(&["--accept-store-loss"]);
    assert!(hub.log().contains("the store was lost"), "{}", hub.log());
    let status = status_json(&hub);
    let problem = status["store_problem"].as_str().unwrap();
    assert!(problem.starts_with("lost: "), "{problem}");
    assert!(problem.contains("--accept-store-loss"), "{problem}");
    let text = hub.run(&["auth", "status"], None);
    text.assert_code(1);
    assert!(
        text.stdout.contains("store problem: lost: "),
        "{}",
        text.stdout
    );
    let events = audit_events(&hub);
    let accepted = has_event(&events, "store_loss_accepted").expect("loss audited");
    assert_eq!(accepted["outcome"], "warning");
    hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None)
        .assert_code(4);

    // Accepted once: the next start needs no flag and reports nothing.
    hub.restart();
    let status = status_json(&hub);
    assert!(status["store_problem"].is_null(), "{status}");
}

#[test]
fn a_cut_newest_slot_is_a_rollback_warned_shown_and_audited() {
    let mut hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("one"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/alice/token"], Some("two"))
        .assert_code(0);
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    hub.stop();
    let slots = SLOTS.map(|slot| state(&hub).join(slot));
    let newest = slots
        .iter()
        .max_by_key(|slot| generation(slot))
        .unwrap()
        .clone();
    // Cut inside the sealed record (its length follows the generation), not only its padding.
    let bytes = fs::read(&newest).unwrap();
    let record = u32::from_le_bytes(bytes[18..22].try_into().unwrap()) as usize;
    fs::write(&newest, &bytes[..record / 2]).unwrap();

    hub.restart();
    let log = hub.log();
    assert!(
        log.lines()
            .any(|line| line.contains("WARN") && line.contains("the store was rolled back")),
        "{log}"
    );
    let status = status_json(&hub);
    let problem = status["store_problem"].as_str().unwrap();
    assert!(problem.starts_with("rolled back: "), "{problem}");
    let text = hub.run(&["auth", "status"], None);
    text.assert_code(1);
    assert!(
        text.stdout.contains("store problem: rolled back: "),
        "{}",
        text.stdout
    );
    let daemon_status = std::process::Command::new(auth_hub_tests::hub_binary())
        .args(["status", "--json", "--home"])
        .arg(hub.home())
        .env_remove("AUTH_HUB_SOCKET")
        .env_remove("AUTH_HUB_TOKEN")
        .output()
        .unwrap();
    let daemon_status: serde_json::Value = serde_json::from_slice(&daemon_status.stdout).unwrap();
    assert_eq!(daemon_status["store_problem"], status["store_problem"]);
    let events = audit_events(&hub);
    let rolled = has_event(&events, "store_rolled_back").expect("rollback audited");
    assert!(
        rolled["detail"].as_str().unwrap().contains("rolled back"),
        "{rolled}"
    );
    // The store still serves an acknowledged value, and keeps working.
    let got = hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None);
    got.assert_code(0);
    hub.run(&["auth", "put", "github/alice/token"], Some("three"))
        .assert_code(0);

    // Reported once: the next start is quiet.
    hub.restart();
    let status = status_json(&hub);
    assert!(status["store_problem"].is_null(), "{status}");
}

/// Starts a hub with a store and some audited activity, stopped cleanly so the whole log is
/// anchored; returns it stopped with the audit log's path.
fn stopped_hub_with_audit() -> (TestHub, PathBuf) {
    let mut hub = TestHub::start("");
    hub.login();
    for value in ["one", "two", "three"] {
        hub.run(&["auth", "put", "github/alice/token"], Some(value))
            .assert_code(0);
    }
    hub.run(&["auth", "ls"], None).assert_code(0);
    hub.stop();
    let log = state(&hub).join("audit.jsonl");
    (hub, log)
}

fn assert_audit_reported(hub: &TestHub, expect: &str) {
    let verify = hub.run(&["auth", "audit", "--verify"], None);
    assert_eq!(verify.code, 1, "{}\n{}", verify.stdout, verify.stderr);
    assert!(
        verify.stderr.contains("the audit log failed verification"),
        "{}",
        verify.stderr
    );
    let json = hub
        .run(&["--json", "auth", "audit", "--verify"], None)
        .json();
    assert_eq!(json["verification"]["ok"], false);
    assert!(json["verification"]["anchored"].as_u64().unwrap() > 0);
    let status = status_json(hub);
    let problem = status["audit_problem"].as_str().unwrap();
    assert!(problem.contains(expect), "{expect:?} in {problem}");
    let text = hub.run(&["auth", "status"], None);
    text.assert_code(1);
    assert!(text.stdout.contains("audit problem: "), "{}", text.stdout);
    assert!(hub.log().contains(expect), "{}", hub.log());
}

#[test]
fn a_cut_audit_log_fails_verify_and_shows_in_status() {
    let (mut hub, log) = stopped_hub_with_audit();
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 4, "{text}");
    let kept = lines[..lines.len() / 2].join("\n") + "\n";
    fs::write(&log, kept).unwrap();
    // The chain alone cannot tell.
    hub.restart();
    assert_audit_reported(&hub, "was cut after line");
    // The hub recorded the cut in the log itself, so it is still reported after a restart.
    hub.restart();
    let verify = hub.run(&["auth", "audit", "--verify"], None);
    assert_eq!(verify.code, 1, "{}", verify.stdout);
    assert!(
        verify.stdout.contains("found the log cut short"),
        "{}",
        verify.stdout
    );
}

#[test]
fn a_deleted_audit_log_fails_verify_and_shows_in_status() {
    let (mut hub, log) = stopped_hub_with_audit();
    fs::remove_file(&log).unwrap();
    hub.restart();
    assert_audit_reported(&hub, "is empty or was deleted");
}

#[test]
fn an_audit_log_deleted_while_the_hub_runs_shows_in_status() {
    let (mut hub, log) = stopped_hub_with_audit();
    hub.restart();
    assert!(status_json(&hub)["audit_problem"].is_null());
    fs::remove_file(&log).unwrap();
    let status = status_json(&hub);
    let problem = status["audit_problem"].as_str().unwrap();
    assert!(
        problem.contains("was deleted while the hub runs"),
        "{problem}"
    );
    hub.run(&["auth", "audit", "--verify"], None).assert_code(1);
}

#[test]
fn a_normal_restart_and_a_crash_are_quiet() {
    let mut hub = TestHub::start("");
    hub.login();
    assert_quiet(&hub);
    hub.run(&["auth", "put", "github/alice/token"], Some("one"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/alice/token"], Some("two"))
        .assert_code(0);
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    hub.restart();
    assert_quiet(&hub);
    hub.run(&["auth", "put", "github/alice/token"], Some("three"))
        .assert_code(0);
    hub.kill9();
    hub.restart();
    assert_quiet(&hub);
    let got = hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "three\n");
}
