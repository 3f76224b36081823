//! A restarted hub keeps secrets, keys and standing grants; clients re-request scopes by
//! themselves.

use auth_hub_client::{AuthClient, SecretPath};
use auth_hub_tests::TestHub;

#[test]
fn restart_keeps_secrets_keys_and_grants() {
    let mut hub = TestHub::start("");
    let owner = hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("kept"))
        .assert_code(0);
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    let ci = hub.service_key("ci", &["github/alice/*"]);

    hub.restart();

    let owner_get = hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None);
    owner_get.assert_code(0);
    assert_eq!(owner_get.stdout, "kept\n");
    hub.run_as(Some(&ci), &["auth", "get", "github/alice/token"], None)
        .assert_code(0);
    assert_eq!(hub.saved_key(), owner);
}

#[test]
fn client_asks_again_transparently_after_a_restart() {
    let mut hub = TestHub::start("");
    let owner = hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("v1"))
        .assert_code(0);
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut options = hub.client_options(Some(&owner));
    options.secret_ttl = std::time::Duration::ZERO;
    let client = auth_hub_client::HubClient::new(options);
    let path = SecretPath::parse("github/alice/token").unwrap();
    runtime.block_on(async {
        assert_eq!(client.get_secret(&path).await.unwrap().value.expose(), "v1")
    });
    hub.restart();
    // The old connection and access token are gone; the client reconnects and asks again.
    runtime.block_on(async {
        assert_eq!(client.get_secret(&path).await.unwrap().value.expose(), "v1")
    });
}
