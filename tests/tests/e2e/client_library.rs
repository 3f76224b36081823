//! The client library against the real hub: one connection with many requests in flight, the
//! access-token cache, `has_scope`, and typed errors with their codes intact.

use auth_hub_client::{AuthClient, AuthError, Permissions, SecretPath, SecretScope};
use auth_hub_tests::TestHub;

#[test]
fn many_requests_in_flight_on_one_connection() {
    let hub = TestHub::start("");
    let owner = hub.login();
    for n in 0..20 {
        hub.run(
            &["auth", "put", &format!("github/alice/t{n}")],
            Some(&format!("value-{n}")),
        )
        .assert_code(0);
    }
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = hub.client(&owner);
        assert!(
            client
                .has_scope(
                    &SecretScope::parse("github/alice/*").unwrap(),
                    Permissions::READ
                )
                .await
        );
        assert!(
            !client
                .has_scope(
                    &SecretScope::parse("github/bob/*").unwrap(),
                    Permissions::READ
                )
                .await
        );
        let mut tasks = Vec::new();
        for round in 0..10 {
            for n in 0..20 {
                let client = client.clone();
                tasks.push(tokio::spawn(async move {
                    let path = SecretPath::parse(&format!("github/alice/t{n}")).unwrap();
                    let secret = client.get_secret(&path).await.unwrap();
                    assert_eq!(secret.value.expose(), format!("value-{n}"), "round {round}");
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        let listed = client.list_secrets("github/alice").await.unwrap();
        assert_eq!(listed.len(), 20);
        let missing = client
            .get_secret(&SecretPath::parse("github/alice/none").unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(missing, AuthError::SecretNotFound { .. }),
            "{missing:?}"
        );
    });
    // One scope request served all 200 gets.
    let audit =
        std::fs::read_to_string(hub.home().join("state").join("audit.jsonl")).unwrap_or_default();
    let grants = audit
        .lines()
        .filter(|line| line.contains("\"scope_granted\""))
        .count();
    assert!(grants <= 2, "{grants} scope grants for one client");
}

#[test]
fn denied_errors_carry_the_grant_command() {
    let hub = TestHub::start("");
    let owner = hub.login();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut options = hub.client_options(Some(&owner));
        options.wait = std::time::Duration::ZERO;
        let client = auth_hub_client::HubClient::new(options);
        let error = client
            .get_secret(&SecretPath::parse("github/alice/token").unwrap())
            .await
            .unwrap_err();
        match error {
            AuthError::AccessDenied {
                scope,
                message,
                command,
            } => {
                assert_eq!(scope, "github/alice/*");
                // The hub's reason survives the trip through the client.
                assert!(message.contains("github/alice/*"), "{message}");
                assert_eq!(
                    command.as_deref(),
                    Some("hyperforge auth grant 'github/alice/*'")
                );
            }
            other => panic!("{other:?}"),
        }
    });
}
