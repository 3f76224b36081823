//! The keychain backend against a real Secret Service (gnome-keyring on a private D-Bus session
//! bus, from the end-to-end harness's `secret_service` module), checked with `secret-tool`.
//!
//! One test function on purpose: the backend finds the bus through this process's
//! `DBUS_SESSION_BUS_ADDRESS`, which the test sets, so nothing else may run beside it in this
//! binary. The same behaviour through the hub and the CLI is in
//! `tests/tests/e2e/keychain_backend.rs`.

// The backend is built for the Secret Service only, so this runs where there is one: Linux.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/secret_service.rs"]
#[allow(dead_code)]
mod secret_service;

use std::time::{Duration, Instant};

use auth_hub::store::keychain::KeychainStore;
use auth_hub::store::{SecretStore, StoreError};
use auth_hub_protocol::{SecretPath, SecretValue};
use secret_service::SecretService;

fn path(text: &str) -> SecretPath {
    SecretPath::parse(text).unwrap()
}

fn value(text: &str) -> SecretValue {
    SecretValue::new(text.to_owned())
}

#[test]
fn keychain_store_against_gnome_keyring() {
    let mut service = SecretService::start();
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", service.bus_address());
    let hub_a = KeychainStore::open("kc", "/state/hub-a");
    let hub_b = KeychainStore::open("kc", "/state/hub-b");
    assert!(hub_a.health().reachable && hub_a.health().authenticated);

    // put → one item with the hub's attributes, found by secret-tool.
    let token = path("kc/alice/token");
    let first = hub_a.put(&token, value("v1-secret")).unwrap();
    assert_eq!(first.version, 1);
    let found = service.search(&[("service", "auth-hub"), ("path", "kc/alice/token")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["hub"], "/state/hub-a");
    assert_eq!(found[0]["version"], "1");
    assert_eq!(found[0]["label"], "auth-hub kc/alice/token");
    assert_eq!(
        service.lookup(&[("hub", "/state/hub-a"), ("path", "kc/alice/token")]),
        Some("v1-secret".to_owned())
    );

    // A second put: version 2, created kept, still exactly one item.
    let second = hub_a.put(&token, value("v2-secret")).unwrap();
    assert_eq!(second.version, 2);
    assert_eq!(second.created_at, first.created_at);
    let found = service.search(&[("service", "auth-hub"), ("path", "kc/alice/token")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["version"], "2");
    let got = hub_a.get(&token).unwrap().unwrap();
    assert_eq!(got.value.expose(), "v2-secret");
    assert_eq!(got.meta, second);
    assert!(hub_a.history(&token).unwrap().is_empty());

    // Listing: whole segments, sorted, only this hub's items.
    hub_a.put(&path("kc/alice/ci"), value("ci")).unwrap();
    hub_a.put(&path("kc/alicex/token"), value("x")).unwrap();
    hub_b
        .put(&path("kc/alice/token"), value("b-secret"))
        .unwrap();
    let listed: Vec<String> = hub_a
        .list("kc/alice")
        .unwrap()
        .into_iter()
        .map(|meta| meta.path.to_string())
        .collect();
    assert_eq!(listed, ["kc/alice/ci", "kc/alice/token"]);
    assert_eq!(hub_a.list("").unwrap().len(), 3);

    // Two hubs never see each other's items.
    assert_eq!(
        hub_b.get(&token).unwrap().unwrap().value.expose(),
        "b-secret"
    );
    assert_eq!(hub_b.list("").unwrap().len(), 1);
    assert_eq!(
        hub_a.get(&token).unwrap().unwrap().value.expose(),
        "v2-secret"
    );

    // delete removes the item; a second delete says it was absent.
    assert!(hub_a.delete(&token).unwrap());
    assert!(!hub_a.delete(&token).unwrap());
    assert!(hub_a.get(&token).unwrap().is_none());
    assert_eq!(
        service.lookup(&[("hub", "/state/hub-a"), ("path", "kc/alice/token")]),
        None
    );
    assert_eq!(
        service.lookup(&[("hub", "/state/hub-b"), ("path", "kc/alice/token")]),
        Some("b-secret".to_owned())
    );

    // The index layout (the one macOS uses), over keyring entries in the same Secret Service.
    let indexed = KeychainStore::open_indexed("kc", "/state/hub-i");
    let account = "/state/hub-i#kc/alice/token";
    assert_eq!(indexed.put(&token, value("i1")).unwrap().version, 1);
    assert_eq!(indexed.put(&token, value("i2")).unwrap().version, 2);
    indexed.put(&path("kc/other"), value("o")).unwrap();
    assert_eq!(
        service.lookup(&[("service", "auth-hub"), ("username", account)]),
        Some("i2".to_owned())
    );
    let got = indexed.get(&token).unwrap().unwrap();
    assert_eq!((got.value.expose(), got.meta.version), ("i2", 2));
    let listed: Vec<String> = indexed
        .list("kc/alice")
        .unwrap()
        .into_iter()
        .map(|meta| meta.path.to_string())
        .collect();
    assert_eq!(listed, ["kc/alice/token"]);
    assert_eq!(
        hub_a.list("").unwrap().len(),
        2,
        "the index hub's entries stay apart"
    );
    assert!(indexed.delete(&token).unwrap());
    assert!(!indexed.delete(&token).unwrap());
    assert!(indexed.get(&token).unwrap().is_none());
    assert_eq!(
        service.lookup(&[("service", "auth-hub"), ("username", account)]),
        None
    );
    assert_eq!(indexed.list("").unwrap().len(), 1);
    assert!(indexed.health().authenticated);

    // A locked collection: every call says to unlock it, and nothing is written.
    service.lock();
    let kept = path("kc/alice/ci");
    for result in [
        hub_a.get(&kept).map(|_| ()),
        hub_a.put(&path("kc/new"), value("n")).map(|_| ()),
        hub_a.list("").map(|_| ()),
        hub_a.delete(&kept).map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, StoreError::Refused { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("the keychain is locked: unlock it"),
            "{err}"
        );
    }
    let health = hub_a.health();
    assert!(health.reachable && !health.authenticated, "{health:?}");

    // No Secret Service on the bus: unreachable, well within the timeout.
    service.stop_keyring();
    let store = KeychainStore::open("kc", "/state/hub-a").with_timeout(Duration::from_secs(5));
    let start = Instant::now();
    let err = store.get(&kept).unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().contains("no Secret Service answers"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!store.health().reachable);

    // The Secret Service comes back: the kept session of hub A is broken, replaced, and the
    // request retried, so the first call after the return already succeeds.
    service.start_keyring();
    assert_eq!(hub_a.get(&kept).unwrap().unwrap().value.expose(), "ci");
    assert_eq!(store.get(&kept).unwrap().unwrap().value.expose(), "ci");
    service.stop_keyring();

    // No bus at all.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", service.dead_bus_address());
    let err = store.put(&kept, value("x")).unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
}
