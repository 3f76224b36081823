//! `request_scope` and `has_scope` as a client sees them, through the real `serve`.

use auth_hub_protocol::request::{Grant, HasScope, RequestScope};
use auth_hub_protocol::response::ScopeResult;
use auth_hub_protocol::{
    ErrorCode, Event, Permissions, Request, Response, ResponseResult, ServerMessage,
};

use crate::test_support::{scope, Served};

const RULES: &str = r#"
[policy]
default = "deny"
grant_timeout = "30s"

[[policy.rule]]
scope = "github/alice/*"
keys = ["ci"]
action = "allow"
permissions = ["read"]

[[policy.rule]]
scope = "github/acme/*"
action = "prompt"
"#;

#[tokio::test]
async fn rules_decide_per_key_and_per_permission() {
    let served = Served::start(RULES);
    let ci = served.service_key("ci", &[], Permissions::default());
    let mut wire = served.connect(Some(&ci)).await;
    assert!(wire
        .token("github/alice/*", Permissions::READ)
        .await
        .is_ok());
    // Narrower than the rule's scope is still covered; write is not in the rule.
    assert!(wire
        .token("github/alice/ci/*", Permissions::READ)
        .await
        .is_ok());
    assert_eq!(
        wire.token("github/alice/*", Permissions::WRITE).await,
        Err(ErrorCode::Denied)
    );
    assert_eq!(
        wire.token("github/bob/*", Permissions::READ).await,
        Err(ErrorCode::Denied)
    );
}

#[tokio::test]
async fn a_denial_names_the_grant_command_for_the_key() {
    let served = Served::start(RULES);
    let ci = served.service_key("ci", &[], Permissions::default());
    let mut wire = served.connect(Some(&ci)).await;
    let request = Request::RequestScope(RequestScope {
        scopes: vec![scope("github/bob/*")],
        permissions: Permissions::READ,
        wait_ms: 0,
        reason: String::new(),
    });
    let Response::Scopes(outcomes) = wire.ok(request).await else {
        panic!("not a scope answer");
    };
    let ScopeResult::Error(reply) = &outcomes.outcomes[0].result else {
        panic!("granted: {outcomes:?}");
    };
    assert_eq!(reply.scope.as_deref(), Some("github/bob/*"));
    assert_eq!(
        reply.command.as_deref(),
        Some("hyperforge auth grant 'github/bob/*' --key ci")
    );
}

#[tokio::test]
async fn malformed_requests_are_bad_requests_and_keyless_sessions_are_refused() {
    let served = Served::start(RULES);
    let owner = served.owner_key();
    let mut wire = served.connect(Some(&owner)).await;
    let empty = RequestScope {
        scopes: Vec::new(),
        permissions: Permissions::READ,
        wait_ms: 0,
        reason: String::new(),
    };
    assert_eq!(
        wire.refused(Request::RequestScope(empty)).await,
        ErrorCode::BadRequest
    );
    let no_rights = RequestScope {
        scopes: vec![scope("github/acme/*")],
        permissions: Permissions::default(),
        wait_ms: 0,
        reason: String::new(),
    };
    assert_eq!(
        wire.refused(Request::RequestScope(no_rights)).await,
        ErrorCode::BadRequest
    );
    let mut keyless = served.connect(None).await;
    let ask = RequestScope {
        scopes: vec![scope("github/acme/*")],
        permissions: Permissions::READ,
        wait_ms: 0,
        reason: String::new(),
    };
    assert_eq!(
        keyless.refused(Request::RequestScope(ask)).await,
        ErrorCode::InvalidMasterToken
    );
}

#[tokio::test(start_paused = true)]
async fn a_prompt_times_out_at_the_grant_timeout_or_is_granted_by_the_owner() {
    let served = Served::start(RULES);
    let owner = served.owner_key();
    let mut asker = served.connect(Some(&owner)).await;
    // Nobody decides: after the (paused-clock) grant timeout the answer is timeout.
    let waiting = RequestScope {
        scopes: vec![scope("github/acme/*")],
        permissions: Permissions::READ,
        wait_ms: 3_600_000,
        reason: "test".into(),
    };
    let Response::Scopes(outcomes) = asker.ok(Request::RequestScope(waiting.clone())).await else {
        panic!("not a scope answer");
    };
    let ScopeResult::Error(reply) = &outcomes.outcomes[0].result else {
        panic!("granted: {outcomes:?}");
    };
    assert_eq!(reply.code, ErrorCode::Timeout);
    assert_eq!(reply.timeout_ms, Some(30_000), "capped at grant_timeout");

    // The owner, watching, grants from another connection while the request waits.
    let mut approver = served.connect(Some(&owner)).await;
    approver
        .ok(Request::WatchPending(
            auth_hub_protocol::request::WatchPending {},
        ))
        .await;
    let id = asker.send(Request::RequestScope(waiting)).await;
    let pending = match approver.next().await.expect("an event") {
        ServerMessage::Event(Event::PendingAdded(added)) => added.id,
        other => panic!("{other:?}"),
    };
    let grant = Grant {
        scope: scope("github/acme/*"),
        permissions: Permissions::READ,
        ttl_ms: None,
        once: true,
        request_id: Some(pending),
        key: None,
    };
    assert!(matches!(
        approver.ok(Request::Grant(grant)).await,
        Response::Granted(_)
    ));
    let answer = loop {
        match asker.next().await.expect("an answer") {
            ServerMessage::Response(envelope) if envelope.id == id => {
                break envelope.result;
            }
            _ => {}
        }
    };
    let ResponseResult::Ok(Response::Scopes(outcomes)) = answer else {
        panic!("{answer:?}");
    };
    assert!(
        matches!(outcomes.outcomes[0].result, ScopeResult::Granted(_)),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn has_scope_says_whether_a_request_would_be_granted_without_issuing() {
    let served = Served::start(RULES);
    let ci = served.service_key("ci", &[], Permissions::default());
    let mut wire = served.connect(Some(&ci)).await;
    let ask = |text: &str, permissions| {
        Request::HasScope(HasScope {
            scope: scope(text),
            permissions,
        })
    };
    let Response::HasScope(yes) = wire.ok(ask("github/alice/*", Permissions::READ)).await else {
        panic!("not a has_scope answer");
    };
    assert!(yes.granted);
    let Response::HasScope(no) = wire.ok(ask("github/alice/*", Permissions::WRITE)).await else {
        panic!("not a has_scope answer");
    };
    assert!(!no.granted);
    assert!(
        served
            .hub
            .tokens
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty(),
        "no token issued"
    );
}
