//! The keychain backend through the hub and the CLI: paths routed to `kind = "keychain"` live as
//! items in a real Secret Service (gnome-keyring on a private bus), checked with `secret-tool`
//! after each operation; two hubs never see each other's items; a missing Secret Service or a
//! locked keychain fails those paths with what to do, while the file store keeps serving.
//!
//! These need the router (`[store.backend.*]`, `[[store.route]]`); the backend alone is proven
//! against the same Secret Service in `daemon/tests/keychain_store.rs`.

use std::time::{Duration, Instant};

use auth_hub_tests::secret_service::SecretService;
use auth_hub_tests::TestHub;

/// Everything allowed; `kc/*` routed to the keychain backend `kc`, the rest to the file store.
const CONFIG: &str = r#"
[[policy.rule]]
scope = "*"
action = "allow"

[store.backend.kc]
kind = "keychain"

[[store.route]]
scope = "kc/*"
backend = "kc"
"#;

/// The longest a keychain failure may take to reach the CLI: the backend's 5 s request timeout
/// plus the CLI's own start-up, with room for a loaded machine.
const FAILS_WITHIN: Duration = Duration::from_secs(15);

fn hub_on(service: &SecretService) -> TestHub {
    let hub = TestHub::start_with_env(CONFIG, "file", service.hub_env());
    hub.login();
    hub
}

#[test]
fn keychain_paths_are_secret_service_items() {
    let service = SecretService::start();
    let hub = hub_on(&service);
    let item = [("service", "auth-hub"), ("path", "kc/alice/token")];

    hub.run(&["auth", "put", "kc/alice/token"], Some("kc-v1"))
        .assert_code(0);
    let found = service.search(&item);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["version"], "1");
    assert_eq!(found[0]["label"], "auth-hub kc/alice/token");
    assert!(!found[0]["hub"].is_empty());
    assert_eq!(service.lookup(&item).as_deref(), Some("kc-v1"));

    let got = hub.run(&["auth", "get", "kc/alice/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "kc-v1\n");

    hub.run(&["auth", "put", "kc/alice/token"], Some("kc-v2"))
        .assert_code(0);
    let found = service.search(&item);
    assert_eq!(
        found.len(),
        1,
        "the older version's item is gone: {found:?}"
    );
    assert_eq!(found[0]["version"], "2");
    assert_eq!(service.lookup(&item).as_deref(), Some("kc-v2"));
    let json = hub
        .run(&["--json", "auth", "get", "kc/alice/token"], None)
        .json();
    assert_eq!(json["value"], "kc-v2");
    assert_eq!(json["version"], 2);

    // A file path stays out of the keychain.
    hub.run(&["auth", "put", "github/alice/token"], Some("file-value"))
        .assert_code(0);
    assert!(service
        .search(&[("service", "auth-hub"), ("path", "github/alice/token")])
        .is_empty());

    hub.run(&["auth", "put", "kc/alice/ci"], Some("ci"))
        .assert_code(0);
    let listed = hub.run(&["--json", "auth", "ls", "kc"], None).json();
    let listed = listed.as_array().expect("array");
    let paths: Vec<&str> = listed.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["kc/alice/ci", "kc/alice/token"]);
    assert_eq!(listed[1]["version"], 2);

    hub.run(&["auth", "rm", "kc/alice/token"], None)
        .assert_code(0);
    assert!(service.search(&item).is_empty());
    assert_eq!(service.lookup(&item), None);
    hub.run(&["auth", "get", "kc/alice/token"], None)
        .assert_code(4);
    hub.run(&["auth", "rm", "kc/alice/token"], None)
        .assert_code(4);
    assert_eq!(
        service
            .lookup(&[("service", "auth-hub"), ("path", "kc/alice/ci")])
            .as_deref(),
        Some("ci")
    );
}

#[test]
fn two_hubs_never_see_each_others_items() {
    let service = SecretService::start();
    let one = hub_on(&service);
    let two = hub_on(&service);
    one.run(&["auth", "put", "kc/shared/token"], Some("from-one"))
        .assert_code(0);
    two.run(&["auth", "get", "kc/shared/token"], None)
        .assert_code(4);
    let listed = two.run(&["--json", "auth", "ls", "kc"], None).json();
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");

    two.run(&["auth", "put", "kc/shared/token"], Some("from-two"))
        .assert_code(0);
    let found = service.search(&[("service", "auth-hub"), ("path", "kc/shared/token")]);
    assert_eq!(found.len(), 2, "one item per hub: {found:?}");
    assert_ne!(found[0]["hub"], found[1]["hub"]);
    assert_eq!(
        one.run(&["auth", "get", "kc/shared/token"], None).stdout,
        "from-one\n"
    );
    assert_eq!(
        two.run(&["auth", "get", "kc/shared/token"], None).stdout,
        "from-two\n"
    );
    two.run(&["auth", "rm", "kc/shared/token"], None)
        .assert_code(0);
    assert_eq!(
        one.run(&["auth", "get", "kc/shared/token"], None).stdout,
        "from-one\n"
    );
}

/// Runs `args` on `hub`, expecting the keychain failure: exit 1 within [`FAILS_WITHIN`], the
/// backend named, and `expected` in the message.
fn fails_with(hub: &TestHub, args: &[&str], stdin: Option<&str>, expected: &str) {
    let start = Instant::now();
    let run = hub.run(args, stdin);
    let took = start.elapsed();
    run.assert_code(1);
    assert!(took < FAILS_WITHIN, "{args:?} took {took:?}");
    assert!(
        run.stderr.contains("kc"),
        "backend not named: {}",
        run.stderr
    );
    assert!(run.stderr.contains(expected), "{}", run.stderr);
}

#[test]
fn no_secret_service_fails_keychain_paths_and_file_paths_keep_serving() {
    let mut service = SecretService::start();
    let hub = hub_on(&service);
    hub.run(&["auth", "put", "kc/alice/token"], Some("kc-value"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/alice/token"], Some("file-value"))
        .assert_code(0);

    // The Secret Service leaves the bus mid-run.
    service.stop_keyring();
    fails_with(
        &hub,
        &["auth", "get", "kc/alice/token"],
        None,
        "no Secret Service answers",
    );
    fails_with(
        &hub,
        &["auth", "put", "kc/alice/token"],
        Some("x"),
        "no Secret Service answers",
    );
    let file = hub.run(&["auth", "get", "github/alice/token"], None);
    file.assert_code(0);
    assert_eq!(file.stdout, "file-value\n");

    // It comes back: the keychain paths serve again without restarting the hub.
    service.start_keyring();
    let back = hub.run(&["auth", "get", "kc/alice/token"], None);
    back.assert_code(0);
    assert_eq!(back.stdout, "kc-value\n");

    // A hub whose session has no bus at all (its file store then keeps its key in a file).
    let lone = TestHub::start_with_env(
        CONFIG,
        "file",
        vec![(
            "DBUS_SESSION_BUS_ADDRESS".to_owned(),
            service.dead_bus_address().into(),
        )],
    );
    lone.login();
    fails_with(
        &lone,
        &["auth", "put", "kc/alice/token"],
        Some("x"),
        "no Secret Service answers",
    );
    fails_with(
        &lone,
        &["auth", "get", "kc/alice/token"],
        None,
        "no Secret Service answers",
    );
    lone.run(&["auth", "put", "github/bob/token"], Some("still-served"))
        .assert_code(0);
    assert_eq!(
        lone.run(&["auth", "get", "github/bob/token"], None).stdout,
        "still-served\n"
    );
}

#[test]
fn locked_keychain_says_to_unlock_it() {
    let service = SecretService::start();
    let hub = hub_on(&service);
    hub.run(&["auth", "put", "kc/alice/token"], Some("kc-value"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/alice/token"], Some("file-value"))
        .assert_code(0);

    service.lock();
    let unlock = "the keychain is locked: unlock it";
    fails_with(&hub, &["auth", "get", "kc/alice/token"], None, unlock);
    fails_with(&hub, &["auth", "put", "kc/alice/new"], Some("n"), unlock);
    fails_with(&hub, &["auth", "rm", "kc/alice/token"], None, unlock);
    // Nothing was written or removed while locked.
    let found = service.search(&[("service", "auth-hub"), ("path", "kc/alice/token")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(service
        .search(&[("service", "auth-hub"), ("path", "kc/alice/new")])
        .is_empty());
    // The file store's key was read at start, so its paths keep serving.
    assert_eq!(
        hub.run(&["auth", "get", "github/alice/token"], None).stdout,
        "file-value\n"
    );
}
