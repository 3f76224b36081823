//! The socket client against the real hub in process (see `harness.rs`): multiplexing, caching,
//! reconnect, re-request after a restart, and error mapping.

#![allow(clippy::unwrap_used)]

mod harness;

use std::time::Duration;

use auth_hub::store::StoreKind;
use auth_hub_client::protocol::request::{Request, RequestScope, Status};
use auth_hub_client::protocol::{ErrorCode, Event, PendingOutcome, PendingResolved, Response};
use auth_hub_client::{AuthClient, AuthError, HubClient, Permissions, SecretPath, SecretScope};
use harness::TestHub;

fn path(text: &str) -> SecretPath {
    SecretPath::parse(text).unwrap()
}

fn scope(text: &str) -> SecretScope {
    SecretScope::parse(text).unwrap()
}

#[tokio::test]
async fn fifty_concurrent_gets_share_one_connection_and_one_scope_request() {
    let hub = TestHub::start().await;
    hub.set_jitter(true);
    for i in 0..50 {
        hub.set_secret(&format!("github/alice/t{i}"), &format!("value-{i}"));
    }
    let client = hub.client();
    let gets = (0..50).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            let secret = client
                .get_secret(&path(&format!("github/alice/t{i}")))
                .await
                .unwrap();
            (i, secret.value.expose().to_owned())
        })
    });
    for result in futures::future::join_all(gets).await {
        let (i, value) = result.unwrap();
        assert_eq!(value, format!("value-{i}"));
    }
    assert_eq!(hub.count("hello"), 1, "one connection");
    assert_eq!(hub.scope_requests(), 1, "one scope request for all");
    assert_eq!(hub.reads(), 50);
    assert!(
        hub.max_in_flight() > 1,
        "requests overlapped on the connection"
    );
}

#[tokio::test]
async fn a_first_get_asks_for_its_scope_in_the_read_and_rides_with_the_hello() {
    let hub = TestHub::start().await;
    hub.set_secret("github/alice/token", "a");
    hub.set_secret("github/alice/other", "b");
    let client = hub.client();
    let secret = client
        .get_secret(&path("github/alice/token"))
        .await
        .unwrap();
    assert_eq!(secret.value.expose(), "a");
    let sent = |hub: &TestHub| {
        (
            hub.count("hello"),
            hub.count("get_secret_scoped"),
            hub.count("request_scope"),
            hub.count("get_secret"),
        )
    };
    assert_eq!(sent(&hub), (1, 1, 0, 0));
    // The token came with the secret: a sibling is read with it.
    client
        .get_secret(&path("github/alice/other"))
        .await
        .unwrap();
    assert_eq!(sent(&hub), (1, 1, 0, 1));

    // A refused hello is the error of the get sent behind it, and is not sent again.
    let mut options = hub.options();
    options.master_token = Some("TAUTH_test--zwrong".into());
    let wrong_key = HubClient::new(options);
    let error = wrong_key
        .get_secret(&path("github/alice/token"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::InvalidMasterToken { .. }),
        "{error:?}"
    );
    assert_eq!(hub.count("hello"), 2, "one hello for the refused client");
}

#[tokio::test]
async fn token_is_reused_until_near_expiry() {
    let hub = TestHub::start().await;
    hub.set_secret("github/alice/token", "a");
    hub.set_secret("github/alice/other", "b");
    let mut options = hub.options();
    options.secret_ttl = Duration::ZERO;
    let client = HubClient::new(options);
    for p in [
        "github/alice/token",
        "github/alice/other",
        "github/alice/token",
    ] {
        client.get_secret(&path(p)).await.unwrap();
    }
    assert_eq!(hub.scope_requests(), 1);
    assert_eq!(hub.reads(), 3);

    // A token within 5 s of its expiry is not used: the next get asks again.
    hub.set_token_ttl(Duration::from_secs(3));
    client
        .get_secret(&path("gitlab/alice/token"))
        .await
        .unwrap_err();
    client
        .get_secret(&path("gitlab/alice/token"))
        .await
        .unwrap_err();
    assert_eq!(hub.scope_requests(), 3);
}

#[tokio::test]
async fn values_are_cached_for_the_ttl_and_invalidated_by_own_writes() {
    let hub = TestHub::start().await;
    hub.set_secret("cargo/token", "v1");
    let client = hub.client();
    let target = path("cargo/token");
    assert_eq!(
        client.get_secret(&target).await.unwrap().value.expose(),
        "v1"
    );
    hub.set_secret("cargo/token", "changed behind the client's back");
    assert_eq!(
        client.get_secret(&target).await.unwrap().value.expose(),
        "v1"
    );
    assert_eq!(hub.reads(), 1, "second get served from the cache");

    client.put_secret(&target, "v3").await.unwrap();
    assert_eq!(
        client.get_secret(&target).await.unwrap().value.expose(),
        "v3"
    );
    assert_eq!(hub.reads(), 2, "own write invalidated the value");

    client.delete_secret(&target).await.unwrap();
    let error = client.get_secret(&target).await.unwrap_err();
    assert!(
        matches!(&error, AuthError::SecretNotFound { path } if path == "cargo/token"),
        "{error:?}"
    );

    let mut options = hub.options();
    options.secret_ttl = Duration::ZERO;
    let uncached = HubClient::new(options);
    hub.set_secret("cargo/token", "v4");
    uncached.get_secret(&target).await.unwrap();
    uncached.get_secret(&target).await.unwrap();
    assert_eq!(hub.reads(), 5, "ttl 0 disables the value cache");
}

#[tokio::test]
async fn reconnects_after_the_hub_drops_the_connection() {
    let hub = TestHub::start().await;
    hub.set_secret("github/alice/token", "a");
    let mut options = hub.options();
    options.secret_ttl = Duration::ZERO;
    let client = HubClient::new(options);
    client
        .get_secret(&path("github/alice/token"))
        .await
        .unwrap();
    hub.drop_connections();
    assert_eq!(
        client
            .get_secret(&path("github/alice/token"))
            .await
            .unwrap()
            .value
            .expose(),
        "a"
    );
    assert_eq!(hub.count("hello"), 2, "a new connection with a new hello");
    assert_eq!(hub.scope_requests(), 1, "the token survived the reconnect");

    // A write right after the drop goes through, whether or not the client noticed the close
    // before sending (put_secret is safe to send again).
    hub.drop_connections();
    client
        .put_secret(&path("github/alice/token"), "b")
        .await
        .unwrap();
    assert_eq!(hub.secret("github/alice/token").as_deref(), Some("b"));
    hub.drop_connections();
    let welcome = client.welcome().await.unwrap();
    assert_eq!(welcome.server_name, "auth-hub");
}

#[tokio::test]
async fn asks_again_after_a_hub_restart() {
    // The file store keeps the secret across the restart, as a real hub's does.
    let mut hub = TestHub::start_with(StoreKind::File).await;
    hub.set_secret("github/alice/token", "a");
    let mut options = hub.options();
    options.secret_ttl = Duration::ZERO;
    let client = HubClient::new(options);
    client
        .get_secret(&path("github/alice/token"))
        .await
        .unwrap();
    hub.restart().await;
    assert_eq!(
        client
            .get_secret(&path("github/alice/token"))
            .await
            .unwrap()
            .value
            .expose(),
        "a"
    );
    assert_eq!(hub.count("hello"), 2);
    assert_eq!(
        hub.scope_requests(),
        2,
        "the forgotten token was requested again"
    );
    assert_eq!(hub.reads(), 3, "one refused, one retried");
}

#[tokio::test]
async fn asks_again_after_a_revocation_on_a_live_connection() {
    let hub = TestHub::start().await;
    hub.set_secret("pypi/token", "p");
    let mut options = hub.options();
    options.secret_ttl = Duration::ZERO;
    let client = HubClient::new(options);
    client.get_secret(&path("pypi/token")).await.unwrap();
    hub.revoke_tokens();
    client.get_secret(&path("pypi/token")).await.unwrap();
    assert_eq!(hub.count("hello"), 1);
    assert_eq!(hub.scope_requests(), 2);
}

#[tokio::test]
async fn in_flight_request_fails_when_the_connection_dies_and_the_next_call_reconnects() {
    let hub = TestHub::start().await;
    hub.set_owner(true);
    hub.set_secret("hex/token", "h");
    let client = hub.client();
    hub.stall_next("delete_secret");
    let deleting = tokio::spawn({
        let client = client.clone();
        async move { client.delete_secret(&path("hex/token")).await }
    });
    hub.wait_until("the delete to arrive", |hub| {
        hub.count("delete_secret") == 1
    })
    .await;
    hub.drop_connections();
    let error = deleting.await.unwrap().unwrap_err();
    assert!(
        matches!(&error, AuthError::ConnectionLost(message)
            if message == "the hub ended the connection"),
        "{error:?}"
    );

    client.delete_secret(&path("hex/token")).await.unwrap();
    assert_eq!(hub.count("hello"), 2);
    assert_eq!(hub.secret("hex/token"), None);
}

#[tokio::test]
async fn request_safe_to_resend_lost_in_flight_is_sent_again() {
    let hub = TestHub::start().await;
    hub.set_secret("hex/token", "h");
    let client = hub.client();
    client
        .request_scopes(&[scope("hex/*")], Permissions::READ, Duration::ZERO)
        .await
        .unwrap();
    hub.stall_next("get_secret");
    let getting = tokio::spawn({
        let client = client.clone();
        async move { client.get_secret(&path("hex/token")).await }
    });
    hub.wait_until("the get to arrive", |hub| hub.count("get_secret") == 1)
        .await;
    hub.drop_connections();
    assert_eq!(getting.await.unwrap().unwrap().value.expose(), "h");
    assert_eq!((hub.count("hello"), hub.count("get_secret")), (2, 2));
}

#[tokio::test]
async fn status_and_other_calls_go_through_call() {
    let hub = TestHub::start().await;
    let client = hub.client();
    let status = client.call(Request::Status(Status {})).await.unwrap();
    assert!(
        matches!(&status, Response::Status(reply) if reply.session_key.as_deref() == Some("test")),
        "{status:?}"
    );
    // A request the hub refuses as malformed: its bad_request comes back typed.
    let empty = RequestScope {
        scopes: Vec::new(),
        permissions: Permissions::READ,
        wait_ms: 0,
        reason: String::new(),
    };
    let error = client.call(Request::RequestScope(empty)).await.unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::BadRequest));
}

#[tokio::test]
async fn unreachable_without_a_socket_or_a_listener() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("auth-hub.sock");
    let client = HubClient::new(auth_hub_client::ClientOptions::new(&missing, "t", "0"));
    let error = client.get_secret(&path("cargo/token")).await.unwrap_err();
    assert!(
        matches!(&error, AuthError::Unreachable { socket, source }
        if *socket == missing && source.kind() == std::io::ErrorKind::NotFound),
        "{error:?}"
    );
    assert!(error.to_string().contains(&missing.display().to_string()));

    // A socket file nobody listens on: connection refused.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let result = HubClient::connect(auth_hub_client::ClientOptions::new(&stale, "t", "0")).await;
    assert!(matches!(result, Err(AuthError::Unreachable { source, .. })
        if source.kind() == std::io::ErrorKind::ConnectionRefused));
    assert!(
        !HubClient::new(auth_hub_client::ClientOptions::new(&stale, "t", "0"))
            .has_scope(&scope("a/*"), Permissions::READ)
            .await
    );
}

#[tokio::test]
async fn error_codes_map_to_typed_errors() {
    let hub = TestHub::start().await;
    hub.deny("github/bob/*");
    let client = hub.client();

    let denied = client
        .get_secret(&path("github/bob/token"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some(ErrorCode::Denied));
    assert!(
        matches!(&denied, AuthError::AccessDenied { scope, command, .. }
        if scope == "github/bob/*"
            && command.as_deref() == Some("hyperforge auth grant 'github/bob/*' --key test")),
        "{denied:?}"
    );

    let missing = client
        .get_secret(&path("github/alice/none"))
        .await
        .unwrap_err();
    assert!(matches!(&missing, AuthError::SecretNotFound { path } if path == "github/alice/none"));

    // Without the owner key, a write needs a write token; a read token does not do.
    let written = client.put_secret(&path("github/alice/token"), "w").await;
    written.unwrap();
    assert_eq!(hub.secret("github/alice/token").as_deref(), Some("w"));

    let mut options = hub.options();
    options.master_token = Some("TAUTH_test--zwrong".into());
    let wrong_key = HubClient::new(options);
    let error = wrong_key.welcome().await.unwrap_err();
    assert!(
        matches!(error, AuthError::InvalidMasterToken { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("zwrong"));
}

#[tokio::test]
async fn has_scope_uses_cached_tokens_then_asks() {
    let hub = TestHub::start().await;
    hub.deny("github/bob/*");
    hub.set_secret("github/alice/token", "a");
    let client = hub.client();
    assert!(
        client
            .has_scope(&scope("github/alice/*"), Permissions::READ)
            .await
    );
    assert!(
        !client
            .has_scope(&scope("github/bob/*"), Permissions::READ)
            .await
    );
    assert_eq!(hub.count("has_scope"), 2);

    client
        .get_secret(&path("github/alice/token"))
        .await
        .unwrap();
    assert!(
        client
            .has_scope(&scope("github/alice/*"), Permissions::READ)
            .await
    );
    assert!(
        client
            .has_scope(&scope("github/alice/ci/*"), Permissions::READ)
            .await,
        "narrower scope"
    );
    assert_eq!(hub.count("has_scope"), 2, "answered from the cached token");
    assert!(
        client
            .has_scope(&scope("github/alice/*"), Permissions::WRITE)
            .await
    );
    assert_eq!(
        hub.count("has_scope"),
        3,
        "a read token does not answer for write"
    );
}

#[tokio::test]
async fn request_scopes_returns_every_outcome_and_caches_grants() {
    let hub = TestHub::start().await;
    hub.deny("gitlab/alice/*");
    hub.set_secret("github/alice/token", "a");
    let client = hub.client();
    let outcomes = client
        .request_scopes(
            &[scope("github/alice/*"), scope("gitlab/alice/*")],
            Permissions::READ,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[1].scope.as_str(), "gitlab/alice/*");
    client
        .get_secret(&path("github/alice/token"))
        .await
        .unwrap();
    assert_eq!(hub.scope_requests(), 1, "the granted token was cached");
}

#[tokio::test]
async fn listing_uses_a_prefix_scope_or_the_owner_key() {
    let hub = TestHub::start().await;
    for p in [
        "github/alice/token",
        "github/alice/ci/token",
        "github/bob/token",
    ] {
        hub.set_secret(p, "x");
    }
    let client = hub.client();
    let listed = client.list_secrets("github/alice").await.unwrap();
    assert_eq!(
        listed,
        [path("github/alice/ci/token"), path("github/alice/token")]
    );
    assert_eq!(hub.count("request_scope"), 1);
    assert!(matches!(
        client.list_secrets("github/").await,
        Err(AuthError::BadRequest(_))
    ));

    hub.set_owner(true);
    let owner = hub.client();
    assert_eq!(owner.list_entries("").await.unwrap().len(), 3);
    owner
        .put_secret(&path("npm/@acme/token"), "n")
        .await
        .unwrap();
    assert_eq!(hub.count("request_scope"), 1, "the owner needs no token");
}

#[tokio::test]
async fn watch_pending_streams_events_until_the_connection_closes() {
    let hub = TestHub::start().await;
    hub.set_owner(true);
    let client = hub.client();
    let (pending, mut events) = client.watch_pending().await.unwrap();
    assert!(pending.is_empty());
    let resolved = Event::PendingResolved(PendingResolved {
        id: 7,
        outcome: PendingOutcome::Granted,
    });
    hub.push_event(resolved.clone());
    assert_eq!(events.recv().await, Some(resolved));
    hub.drop_connections();
    assert_eq!(
        events.recv().await,
        None,
        "the stream ends with the connection"
    );
}
