//! The owner's operations as a client sees them, through the real `serve`: grants, revocation,
//! keys, and the refusal of every other key.

use auth_hub_protocol::request::{
    CreateKey, Grant, ListGrants, ListKeys, ListPending, Revoke, RevokeKey, Status,
};
use auth_hub_protocol::{ErrorCode, HelloReply, Permissions, Request, Response};

use crate::test_support::{scope, Served};

const DENY: &str = "[policy]\ndefault = \"deny\"\n";

fn grant(text: &str, key: Option<&str>) -> Request {
    Request::Grant(Grant {
        scope: scope(text),
        permissions: Permissions::READ,
        ttl_ms: None,
        once: false,
        request_id: None,
        key: key.map(str::to_owned),
    })
}

fn revoke(text: &str, key: Option<&str>) -> Request {
    Request::Revoke(Revoke {
        scope: scope(text),
        key: key.map(str::to_owned),
    })
}

#[tokio::test]
async fn a_pre_grant_lets_the_key_in_and_revoking_it_kills_its_tokens() {
    let served = Served::start(DENY);
    let owner = served.owner_key();
    let ci = served.service_key("ci", &[], Permissions::default());
    let mut admin = served.connect(Some(&owner)).await;
    let mut wire = served.connect(Some(&ci)).await;
    assert_eq!(
        wire.token("cargo/*", Permissions::READ).await,
        Err(ErrorCode::Denied)
    );

    assert!(matches!(
        admin.ok(grant("cargo/*", Some("ci"))).await,
        Response::Granted(_)
    ));
    let Response::Grants(grants) = admin.ok(Request::ListGrants(ListGrants {})).await else {
        panic!("not a grant list");
    };
    assert_eq!(grants.grants.len(), 1);
    assert_eq!(grants.grants[0].key_name, "ci");
    assert_eq!(grants.grants[0].scope.as_str(), "cargo/*");

    let token = wire
        .token("cargo/*", Permissions::READ)
        .await
        .expect("granted by the standing grant");
    assert_eq!(
        wire.get(&token, "cargo/token").await,
        Err(ErrorCode::NotFound)
    );

    let Response::Revoked(revoked) = admin.ok(revoke("cargo/*", Some("ci"))).await else {
        panic!("not revoked");
    };
    assert_eq!((revoked.grants, revoked.tokens), (1, 1));
    assert_eq!(
        wire.get(&token, "cargo/token").await,
        Err(ErrorCode::InvalidAccessToken)
    );
    assert_eq!(
        wire.token("cargo/*", Permissions::READ).await,
        Err(ErrorCode::Denied)
    );
}

#[tokio::test]
async fn keys_are_created_listed_and_revoked_by_the_owner_only() {
    let served = Served::start(DENY);
    let owner = served.owner_key();
    let mut admin = served.connect(Some(&owner)).await;
    let create = Request::CreateKey(CreateKey {
        name: "deploy".into(),
        scopes: vec![scope("cargo/*")],
        permissions: Permissions::READ,
        expires_at_ms: None,
        validate: false,
    });
    let Response::KeyCreated(created) = admin.ok(create).await else {
        panic!("not created");
    };
    let key = created.key.expect("the new key's text, shown once");
    assert_eq!(created.info.name, "deploy");

    let mut deploy = served.connect(Some(&key)).await;
    assert!(
        deploy.token("cargo/*", Permissions::READ).await.is_ok(),
        "its own scopes allow it"
    );
    for owner_only in [
        Request::ListKeys(ListKeys {}),
        Request::ListGrants(ListGrants {}),
        Request::ListPending(ListPending {}),
        grant("cargo/*", Some("deploy")),
        revoke("cargo/*", None),
    ] {
        assert_eq!(
            deploy.refused(owner_only).await,
            ErrorCode::BadRequest,
            "owner only"
        );
    }
    // Status is for every key.
    assert!(matches!(
        deploy.ok(Request::Status(Status {})).await,
        Response::Status(_)
    ));

    let Response::Keys(keys) = admin.ok(Request::ListKeys(ListKeys {})).await else {
        panic!("not a key list");
    };
    assert_eq!(keys.keys.len(), 2);
    assert!(matches!(
        admin
            .ok(Request::RevokeKey(RevokeKey {
                name: "deploy".into()
            }))
            .await,
        Response::KeyRevoked(_)
    ));
    // The open session is cut off at its next request, and a new hello is refused.
    assert_eq!(
        deploy.refused(Request::Status(Status {})).await,
        ErrorCode::InvalidMasterToken
    );
    let mut again = served.raw().await;
    assert!(matches!(
        again.hello(Some(&key)).await,
        HelloReply::Error(reply) if reply.code == ErrorCode::InvalidMasterToken
    ));
}
