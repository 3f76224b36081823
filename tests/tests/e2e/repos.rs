//! Registering repositories through the real hub and the real client library: idempotent
//! registration, listing, persistence across a restart, unregistering, owner-only access, and the
//! precise refusal of paths that are not absolute and canonical.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use auth_hub_client::protocol::request::{ListGrants, Request, Status};
use auth_hub_client::protocol::Response;
use auth_hub_client::{AuthError, HubClient};
use auth_hub_tests::TestHub;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn registered(client: &HubClient) -> Vec<String> {
    client
        .list_repos()
        .await
        .unwrap()
        .into_iter()
        .map(|repo| repo.path)
        .collect()
}

async fn registered_count(client: &HubClient) -> u64 {
    match client.call(Request::Status(Status {})).await.unwrap() {
        Response::Status(status) => status.registered_repos,
        other => panic!("status answered {other:?}"),
    }
}

#[test]
fn register_list_restart_unregister() {
    let mut hub = TestHub::start("");
    let owner = hub.login();
    // A real, canonical directory, and one that does not exist: the hub never looks.
    let work = tempfile::tempdir().unwrap();
    let real = std::fs::canonicalize(work.path()).unwrap();
    let missing = Path::new("/nonexistent/hyperforge-e2e/app");
    let runtime = runtime();

    let first_listing = runtime.block_on(async {
        let client = hub.client(&owner);
        assert!(client.register_repo(&real).await.unwrap(), "first time");
        assert!(!client.register_repo(&real).await.unwrap(), "second time");
        assert!(client.register_repo(missing).await.unwrap());
        let mut want = vec![
            real.to_str().unwrap().to_owned(),
            missing.display().to_string(),
        ];
        want.sort();
        assert_eq!(registered(&client).await, want);
        assert_eq!(registered_count(&client).await, 2);
        client.list_repos().await.unwrap()
    });

    let file = hub.home().join("state").join("repos.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "repos.json is private");

    hub.restart();

    runtime.block_on(async {
        let client = hub.client(&owner);
        assert_eq!(
            client.list_repos().await.unwrap(),
            first_listing,
            "paths and registration times survive a restart"
        );
        assert!(!client.register_repo(&real).await.unwrap(), "still known");
        assert!(client.unregister_repo(&real).await.unwrap(), "removed");
        assert!(
            !client.unregister_repo(&real).await.unwrap(),
            "gone already"
        );
        assert_eq!(registered(&client).await, [missing.display().to_string()]);
        assert_eq!(registered_count(&client).await, 1);
    });

    hub.stop();
    let audit = std::fs::read_to_string(hub.home().join("state").join("audit.jsonl")).unwrap();
    let path_field = format!(
        "\"path\":{}",
        serde_json::to_string(real.to_str().unwrap()).unwrap()
    );
    let events = |event: &str| {
        audit
            .lines()
            .filter(|line| line.contains(&format!("\"event\":\"{event}\"")))
            .filter(|line| line.contains(&path_field))
            .count()
    };
    assert_eq!(events("repo_registered"), 3, "{audit}");
    assert_eq!(events("repo_unregistered"), 2, "{audit}");
}

/// The message of a `bad_request` refusal; any other error fails the test.
fn bad_request(error: AuthError) -> String {
    match error {
        AuthError::BadRequest(message) => message,
        other => panic!("expected bad_request, got {other:?}"),
    }
}

#[test]
fn a_service_key_is_refused_like_other_owner_verbs() {
    let hub = TestHub::start("");
    let owner = hub.login();
    let ci = hub.service_key("ci", &["cargo/*"]);
    runtime().block_on(async {
        let client = hub.client(&ci);
        let refused = client
            .register_repo(Path::new("/srv/app"))
            .await
            .unwrap_err();
        let owner_only = client
            .call(Request::ListGrants(ListGrants {}))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), owner_only.code());
        assert_eq!(bad_request(refused), "register_repo needs the owner key");
        let refused = client
            .unregister_repo(Path::new("/srv/app"))
            .await
            .unwrap_err();
        assert_eq!(bad_request(refused), "unregister_repo needs the owner key");
        let refused = client.list_repos().await.unwrap_err();
        assert_eq!(bad_request(refused), "list_repos needs the owner key");
        assert!(hub.client(&owner).list_repos().await.unwrap().is_empty());
    });
}

#[test]
fn relative_and_uncanonical_paths_are_refused_precisely() {
    let hub = TestHub::start("");
    let owner = hub.login();
    runtime().block_on(async {
        let client = hub.client(&owner);
        let refused = client
            .register_repo(Path::new("src/app"))
            .await
            .unwrap_err();
        assert_eq!(
            bad_request(refused),
            "repository path \"src/app\" is relative; send an absolute, canonical path"
        );
        let refused = client
            .register_repo(Path::new("/home/alice/../bob"))
            .await
            .unwrap_err();
        assert_eq!(
            bad_request(refused),
            "repository path \"/home/alice/../bob\" has a '..' component; send the canonical path"
        );
        let long = format!("/{}", "a".repeat(4096));
        let refused = client.register_repo(Path::new(&long)).await.unwrap_err();
        assert_eq!(
            bad_request(refused),
            "repository path is 4097 bytes long, the limit is 4096"
        );
        assert!(client.list_repos().await.unwrap().is_empty());
        // The connection is still good after the refusals.
        assert!(client
            .register_repo(Path::new("/home/alice/app"))
            .await
            .unwrap());
    });
}
