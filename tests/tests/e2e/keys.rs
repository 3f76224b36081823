//! Service keys: pre-granted scopes, nothing else, revocation at once; owner-only operations.

use auth_hub_tests::TestHub;

#[test]
fn service_key_reads_its_scopes_only_and_dies_when_revoked() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("crates-io-token\n"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/alice/token"], Some("ghp\n"))
        .assert_code(0);
    let ci = hub.service_key("ci", &["cargo/*"]);
    assert!(ci.starts_with("TAUTH_ci--z"), "{ci}");

    let read = hub.run_as(Some(&ci), &["auth", "get", "cargo/token"], None);
    read.assert_code(0);
    assert_eq!(read.stdout, "crates-io-token\n");
    // Outside its scopes a service key is refused at once, without waiting for anyone.
    let refused = hub.run_as(Some(&ci), &["auth", "get", "github/alice/token"], None);
    refused.assert_code(3);

    // A service key can never approve anything, its own requests included.
    hub.run_as(Some(&ci), &["auth", "grant", "github/alice/*"], None);
    hub.run_as(
        Some(&ci),
        &["auth", "get", "github/alice/token", "--no-wait"],
        None,
    )
    .assert_code(3);

    let listed = hub.run(&["--json", "auth", "key", "list"], None).json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    assert!(
        names.contains(&"ci") && names.contains(&"owner"),
        "{listed}"
    );

    hub.run(&["auth", "key", "revoke", "ci"], None)
        .assert_code(0);
    let after = hub.run_as(Some(&ci), &["auth", "get", "cargo/token"], None);
    assert_ne!(after.code, 0);
    assert!(!after.stdout.contains("crates-io-token"));
}

#[test]
fn revoking_a_key_kills_its_live_tokens_at_once() {
    let hub = TestHub::start("");
    let owner = hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("v1"))
        .assert_code(0);
    let ci = hub.service_key("ci", &["cargo/*"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use auth_hub_client::{AuthClient, AuthError, SecretPath};
        let path = SecretPath::parse("cargo/token").unwrap();
        let mut options = hub.client_options(Some(&ci));
        options.secret_ttl = std::time::Duration::ZERO;
        let client = auth_hub_client::HubClient::new(options);
        assert_eq!(client.get_secret(&path).await.unwrap().value.expose(), "v1");
        let owner_client = hub.client(&owner);
        owner_client
            .call(auth_hub_protocol::Request::RevokeKey(
                auth_hub_protocol::request::RevokeKey { name: "ci".into() },
            ))
            .await
            .unwrap();
        // Same connection, same cached token: refused now.
        let error = client.get_secret(&path).await.unwrap_err();
        assert!(
            matches!(
                error,
                AuthError::InvalidMasterToken { .. } | AuthError::AccessDenied { .. }
            ),
            "{error:?}"
        );
    });
}

#[test]
fn login_twice_keeps_the_first_owner() {
    let hub = TestHub::start("");
    let key = hub.login();
    let again = hub.run(&["auth", "login"], None);
    again.assert_code(0);
    assert_eq!(hub.saved_key(), key);
    let status = hub.run(&["--json", "auth", "status"], None);
    status.assert_code(0);
    let json = status.json();
    assert_eq!(json["has_owner"], true, "{json}");
    assert_eq!(json["key_valid"], true, "{json}");
}

#[test]
fn status_works_without_a_key_and_exit_5_without_a_hub() {
    let mut hub = TestHub::start("");
    let status = hub.run(&["--json", "auth", "status"], None);
    status.assert_code(0);
    assert_eq!(status.json()["has_owner"], false);
    hub.stop();
    hub.run(&["auth", "status"], None).assert_code(5);
    hub.run(&["auth", "get", "cargo/token"], None)
        .assert_code(5);
}

#[test]
fn legacy_melt_keys_are_imported_from_stdin_and_work() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("crates-io"))
        .assert_code(0);
    let fresh = auth_hub_protocol::ApiKey::generate("any")
        .unwrap()
        .to_master_token();
    let token = fresh.expose().rsplit_once("--").unwrap().1.to_owned();
    let melt = format!("MELT_/myorg/myapp/ui--my.prod.token--{token}");

    let imported = hub.run(
        &["--json", "auth", "key", "import", "--scope", "cargo/*"],
        Some(&melt),
    );
    imported.assert_code(0);
    assert_eq!(imported.json()["name"], "melt.myorg.myapp.ui.my.prod.token");
    assert!(!imported.stdout.contains(&token), "the key is never echoed");

    let read = hub.run_as(Some(&melt), &["auth", "get", "cargo/token"], None);
    read.assert_code(0);
    assert_eq!(read.stdout, "crates-io\n");
    hub.run(&["auth", "key", "import"], Some("MELT_no-separators"))
        .assert_code(2);
    hub.run(&["auth", "key", "import"], Some(&melt))
        .assert_code(2);
}

// ---- The API key model (issue 14): validate permission, who created and revoked, ids. ----

#[test]
fn key_ls_all_shows_revoked_keys_with_who_revoked_them() {
    let hub = TestHub::start("");
    hub.login();
    let created = hub.run(
        &[
            "--json",
            "auth",
            "key",
            "create",
            "api",
            "--permission",
            "validate",
        ],
        None,
    );
    created.assert_code(0);
    let created = created.json();
    assert_eq!(created["validate"], true, "{created}");
    assert_eq!(created["created_by"]["key"], "owner", "{created}");
    assert_eq!(created["id"].as_str().map(str::len), Some(64), "{created}");
    hub.run(&["auth", "key", "create", "gone"], None)
        .assert_code(0);
    hub.run(
        &["auth", "key", "create", "bad", "--permission", "admin"],
        None,
    )
    .assert_code(2);

    let by_name = |listed: &serde_json::Value, name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .cloned()
    };
    let listed = hub.run(&["--json", "auth", "key", "ls"], None);
    listed.assert_code(0);
    let listed = listed.json();
    let api = by_name(&listed, "api").expect("api key listed");
    assert_eq!(api["validate"], true);
    assert_eq!(api["id"], created["id"]);
    assert!(by_name(&listed, "gone").is_some());

    hub.run(&["auth", "key", "revoke", "gone"], None)
        .assert_code(0);
    // Revoked keys leave the default listing and come back with --all, with who revoked them.
    let live = hub.run(&["--json", "auth", "key", "ls"], None).json();
    assert!(by_name(&live, "gone").is_none(), "{live}");
    let all = hub
        .run(&["--json", "auth", "key", "ls", "--all"], None)
        .json();
    let gone = by_name(&all, "gone").expect("revoked key listed with --all");
    assert!(gone["revoked_at"].is_string(), "{gone}");
    assert_eq!(gone["revoked_by"]["key"], "owner", "{gone}");
    assert!(gone["revoked_by"]["pid"].is_u64(), "{gone}");
    let table = hub.run(&["auth", "key", "list", "--all"], None);
    table.assert_code(0);
    assert!(table.stdout.contains("revoked by"), "{}", table.stdout);
    assert!(table.stdout.contains("read+validate"), "{}", table.stdout);
}
