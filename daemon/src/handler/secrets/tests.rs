//! `get_secret`, `put_secret`, `list_secrets` and `delete_secret` as a client sees them, through
//! the real `serve`: what a token's scope and permissions allow, and what only the owner may do.

use auth_hub_protocol::request::{DeleteSecret, ListSecrets, PutSecret};
use auth_hub_protocol::{AccessToken, ErrorCode, Permissions, Request, Response, ResponseResult};

use crate::test_support::{path, Served};

const ALLOW: &str = r#"
[policy]
default = "allow"

[[policy.rule]]
scope = "github/*"
keys = ["ci"]
action = "allow"
permissions = ["read", "write"]
"#;

fn put(token: Option<&AccessToken>, path_text: &str, value: &str) -> Request {
    Request::PutSecret(PutSecret {
        access_token: token.map(|token| AccessToken::from(token.expose())),
        path: path(path_text),
        value: value.into(),
    })
}

fn delete(token: Option<&AccessToken>, path_text: &str) -> Request {
    Request::DeleteSecret(DeleteSecret {
        access_token: token.map(|token| AccessToken::from(token.expose())),
        path: path(path_text),
        destroy: false,
    })
}

fn list(token: Option<&AccessToken>, prefix: &str) -> Request {
    Request::ListSecrets(ListSecrets {
        access_token: token.map(|token| AccessToken::from(token.expose())),
        prefix: prefix.into(),
    })
}

fn listed(response: Response) -> Vec<String> {
    let Response::Secrets(list) = response else {
        panic!("not a list: {response:?}");
    };
    list.entries
        .iter()
        .map(|entry| entry.path.to_string())
        .collect()
}

#[tokio::test]
async fn a_token_reads_and_writes_only_under_its_scope_with_its_permissions() {
    let served = Served::start(ALLOW);
    let ci = served.service_key("ci", &[], Permissions::default());
    let mut wire = served.connect(Some(&ci)).await;
    let write = wire
        .token("github/alice/*", Permissions::WRITE)
        .await
        .expect("write granted");
    let read = wire
        .token("github/alice/*", Permissions::READ)
        .await
        .expect("read granted");

    let Response::Written(first) = wire.ok(put(Some(&write), "github/alice/token", "v1")).await
    else {
        panic!("not written");
    };
    assert_eq!(first.version, 1);
    let Response::Written(second) = wire.ok(put(Some(&write), "github/alice/token", "v2")).await
    else {
        panic!("not written");
    };
    assert_eq!(second.version, 2);
    assert_eq!(wire.get(&read, "github/alice/token").await, Ok("v2".into()));

    // Write does not imply read, read does not allow writing, and neither leaves the scope.
    assert_eq!(
        wire.get(&write, "github/alice/token").await,
        Err(ErrorCode::InsufficientScope)
    );
    assert_eq!(
        wire.refused(put(Some(&read), "github/alice/token", "x"))
            .await,
        ErrorCode::InsufficientScope
    );
    assert_eq!(
        wire.refused(put(Some(&write), "github/bob/token", "x"))
            .await,
        ErrorCode::InsufficientScope
    );
    assert_eq!(
        wire.get(&read, "github/alice/none").await,
        Err(ErrorCode::NotFound)
    );
    assert_eq!(
        wire.get(&AccessToken::from("forged"), "github/alice/token")
            .await,
        Err(ErrorCode::InvalidAccessToken)
    );

    assert!(matches!(
        wire.ok(delete(Some(&write), "github/alice/token")).await,
        Response::Deleted(_)
    ));
    assert_eq!(
        wire.get(&read, "github/alice/token").await,
        Err(ErrorCode::NotFound)
    );
    assert_eq!(
        wire.refused(delete(Some(&write), "github/alice/token"))
            .await,
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn only_the_owner_may_go_without_a_token_and_listing_shows_what_the_token_covers() {
    let served = Served::start(ALLOW);
    let owner = served.owner_key();
    let ci = served.service_key("ci", &[], Permissions::default());
    let mut admin = served.connect(Some(&owner)).await;
    for target in [
        "github/alice/token",
        "github/alice/ci/token",
        "github/bob/token",
    ] {
        admin.ok(put(None, target, "x")).await;
    }
    assert_eq!(listed(admin.ok(list(None, "")).await).len(), 3);

    let mut wire = served.connect(Some(&ci)).await;
    assert_eq!(
        wire.refused(put(None, "github/alice/token", "y")).await,
        ErrorCode::BadRequest
    );
    assert_eq!(wire.refused(list(None, "")).await, ErrorCode::BadRequest);
    let read = wire
        .token("github/alice/*", Permissions::READ)
        .await
        .expect("read granted");
    assert_eq!(
        listed(wire.ok(list(Some(&read), "github")).await),
        ["github/alice/ci/token", "github/alice/token"]
    );
    assert_eq!(
        wire.refused(list(Some(&read), "github//x")).await,
        ErrorCode::BadRequest
    );
}

/// `get_secret_scoped` for `path_text`.
fn scoped(path_text: &str) -> Request {
    Request::GetSecretScoped(auth_hub_protocol::request::GetSecretScoped {
        path: path(path_text),
    })
}

/// The audit lines' events, oldest first.
fn audit_events(served: &Served) -> Vec<String> {
    served
        .hub
        .audit
        .tail(0)
        .expect("audit read")
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            value["event"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

const SCOPED: &str = r#"
[policy]
default = "deny"

[[policy.rule]]
scope = "github/alice/*"
keys = ["ci"]
action = "allow"
permissions = ["read"]

[[policy.rule]]
scope = "github/acme/*"
keys = ["ci"]
action = "prompt"
"#;

#[tokio::test]
async fn a_scoped_get_decides_the_scope_as_request_scope_does_and_reads_with_the_token() {
    let served = Served::start(SCOPED);
    let owner = served.owner_key();
    let ci = served.service_key("ci", &[], Permissions::default());
    let mut admin = served.connect(Some(&owner)).await;
    admin.ok(put(None, "github/alice/token", "ghp_alice")).await;
    let mut wire = served.connect(Some(&ci)).await;
    let before = audit_events(&served).len();

    // Allowed: the token and the secret, and the token works for `get_secret` afterwards.
    let Response::ScopedSecret(answer) = wire.ok(scoped("github/alice/token")).await else {
        panic!("not a scoped secret");
    };
    assert_eq!(answer.scope.as_str(), "github/alice/*");
    assert_eq!(answer.token.permissions, Permissions::READ);
    assert_eq!(answer.secret.value.expose(), "ghp_alice");
    assert_eq!(answer.secret.path.as_str(), "github/alice/token");
    assert_eq!(
        wire.get(&answer.token.access_token, "github/alice/token")
            .await,
        Ok("ghp_alice".into())
    );
    // The same audit lines as `request_scope` then `get_secret` (then the second get).
    assert_eq!(
        audit_events(&served)[before..],
        ["scope_granted", "get_secret", "get_secret"]
    );

    // Granted but absent: the read's error.
    assert_eq!(
        wire.refused(scoped("github/alice/none")).await,
        ErrorCode::NotFound
    );

    // Refused by policy: `denied`, with the scope and the command, as in a scope outcome.
    let ResponseResult::Error(reply) = wire.call(scoped("github/bob/token")).await else {
        panic!("granted");
    };
    assert_eq!(reply.code, ErrorCode::Denied);
    assert_eq!(reply.scope.as_deref(), Some("github/bob/*"));
    assert_eq!(
        reply.command.as_deref(),
        Some("hyperforge auth grant 'github/bob/*' --key ci")
    );
    assert_eq!(
        audit_events(&served).last().map(String::as_str),
        Some("scope_denied")
    );

    // Needs a prompt: `needs_approval`, and nothing recorded or parked.
    let before = audit_events(&served).len();
    let Response::NeedsApproval(needs) = wire.ok(scoped("github/acme/token")).await else {
        panic!("not needs_approval");
    };
    assert_eq!(needs.scope.as_str(), "github/acme/*");
    assert_eq!(audit_events(&served).len(), before);
    assert!(crate::hub::lock(&served.hub.pending).list().is_empty());

    // A keyless session may not, as for `request_scope`.
    let mut keyless = served.connect(None).await;
    assert_eq!(
        keyless.refused(scoped("github/alice/token")).await,
        ErrorCode::InvalidMasterToken
    );
}
