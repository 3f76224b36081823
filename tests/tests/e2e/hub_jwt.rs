//! Hub-signed JWTs and the validation requests of 1st-layer APIs: `auth token` validated by an
//! independent library (PyJWT) against the hub's JWKS, `validate_key` for keys in every state,
//! `auth verify` exit codes, the `validate` permission, `issue_jwt` for a presented key, and
//! tokens issued before a signing-key rotation (and a restart) still verifying, and a real OpenID
//! provider's id_token validated and exchanged for a hub JWT.

use std::time::Duration;

use auth_hub_client::{AuthError, HubClient};
use auth_hub_protocol::identity::{
    IssueJwt, Jwks, KeyState, SubjectToken, ValidateJwt, ValidateKey,
};
use auth_hub_protocol::provider::{AddProvider, ProviderFields, ProviderId};
use auth_hub_protocol::{Jwt, MasterToken, Request, Response};
use auth_hub_tests::oidc_provider::{id_token_for, OidcProvider, ProviderOptions};
use auth_hub_tests::pyjwt::{self, JwksSource};
use auth_hub_tests::{wait_until, TestHub};
use serde_json::Value;

const ISSUER: &str = "https://hub.e2e.test";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The hub's JWK Set over the socket, as `/.well-known/jwks.json` would serve it.
fn jwks(runtime: &tokio::runtime::Runtime, client: &HubClient) -> String {
    match runtime
        .block_on(client.call(Request::Jwks(Jwks {})))
        .expect("jwks")
    {
        Response::Jwks(reply) => reply.jwks_json,
        other => panic!("unexpected reply {other:?}"),
    }
}

fn kids(jwks: &str) -> Vec<String> {
    let jwks: Value = serde_json::from_str(jwks).expect("jwks json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// A `validate` service key, created by the CLI as an API's operator would.
fn validator_key(hub: &TestHub, name: &str) -> String {
    let run = hub.run(
        &["auth", "key", "create", name, "--permission", "validate"],
        None,
    );
    run.assert_code(0);
    run.stdout.trim().to_owned()
}

#[test]
fn auth_token_is_validated_by_pyjwt_against_the_jwks() {
    let hub = TestHub::start(&format!("[jwt]\nissuer = \"{ISSUER}\"\nttl = \"2m\"\n"));
    let owner = hub.login();
    let token = hub.run(&["auth", "token", "--audience", "api"], None);
    token.assert_code(0);
    let token = token.stdout.trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");

    let runtime = runtime();
    let jwks = jwks(&runtime, &hub.client(&owner));
    let verified = pyjwt::verify(&token, JwksSource::Json(&jwks), ISSUER, "api");
    verified.assert_code(0);
    let claims = verified.json();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "key:owner");
    assert_eq!(claims["aud"], "api");
    assert_eq!(claims["key"], "owner");
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 120, "{claims}");

    // The independent library refuses what it should: another audience, another issuer.
    pyjwt::verify(&token, JwksSource::Json(&jwks), ISSUER, "billing").assert_code(1);
    pyjwt::verify(&token, JwksSource::Json(&jwks), "https://evil.test", "api").assert_code(1);
    // ... and a JWKS without the signing key (another hub's).
    let other = TestHub::start("");
    let other_owner = other.login();
    let foreign = jwks_of(&runtime, &other, &other_owner);
    pyjwt::verify(&token, JwksSource::Json(&foreign), ISSUER, "api").assert_code(1);

    // --json gives the token, its kid (the JWKS's) and expiry; --ttl is honoured.
    let json = hub
        .run(
            &[
                "--json",
                "auth",
                "token",
                "--audience",
                "api",
                "--ttl",
                "30s",
            ],
            None,
        )
        .json();
    assert_eq!(kids(&jwks), [json["kid"].as_str().expect("kid")]);
    let short = json["token"].as_str().expect("token");
    let claims = pyjwt::verify(short, JwksSource::Json(&jwks), ISSUER, "api").json();
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 30);

    // The hub verifies its own token too (auth verify as the owner), from stdin.
    let verify = hub.run(
        &["--json", "auth", "verify", "-"],
        Some(&format!("{token}\n")),
    );
    verify.assert_code(0);
    let report = verify.json();
    assert_eq!(report["active"], true, "{report}");
    assert_eq!(report["kind"], "hub_jwt");
    assert_eq!(report["sub"], "key:owner");
    hub.run(&["auth", "verify", &token, "--audience", "billing"], None)
        .assert_code(3);
}

fn jwks_of(runtime: &tokio::runtime::Runtime, hub: &TestHub, key: &str) -> String {
    jwks(runtime, &hub.client(key))
}

#[test]
fn validate_key_tells_active_revoked_expired_and_unknown_apart() {
    let hub = TestHub::start("");
    hub.login();
    let api = validator_key(&hub, "api");
    let ci = hub.service_key("ci", &["cargo/*"]);
    let old = hub.service_key("old", &[]);
    hub.run(&["auth", "key", "revoke", "old"], None)
        .assert_code(0);
    let brief = hub.run(&["auth", "key", "create", "brief", "--expires", "1s"], None);
    brief.assert_code(0);
    let brief = brief.stdout.trim().to_owned();
    // A well-formed key whose name exists nowhere, and one with a known name but a wrong
    // secret: both are `unknown`.
    let secret = ci.split_once("--").expect("key").1;
    let ghost = format!("TAUTH_ghost--{secret}");
    let wrong = format!("TAUTH_old--{secret}");

    let runtime = runtime();
    let client = hub.client(&api);
    let validate = |key: &str| match runtime
        .block_on(client.call(Request::ValidateKey(ValidateKey {
            key: MasterToken::from(key),
        })))
        .expect("validate_key")
    {
        Response::KeyValidation(validation) => validation,
        other => panic!("unexpected reply {other:?}"),
    };
    let active = validate(&ci);
    assert_eq!(active.state, KeyState::Active);
    assert_eq!(active.name.as_deref(), Some("ci"));
    assert_eq!(
        active.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ["cargo/*"]
    );
    let revoked = validate(&old);
    assert_eq!(revoked.state, KeyState::Revoked);
    assert!(revoked.revoked_at.is_some());
    assert!(revoked.scopes.is_empty());
    assert_eq!(validate(&ghost).state, KeyState::Unknown);
    assert_eq!(validate(&wrong).state, KeyState::Unknown);
    assert_eq!(validate("TAUTH_nope").state, KeyState::Malformed);
    let expired = wait_until(Duration::from_secs(15), || {
        let validation = validate(&brief);
        (validation.state == KeyState::Expired).then_some(validation)
    })
    .expect("the 1s key expires");
    assert!(expired.expires_at.is_some());

    // The same through `auth verify`, with its exit codes.
    let verify = |key: &str| hub.run_as(Some(&api), &["--json", "auth", "verify", "-"], Some(key));
    let ok = verify(&ci);
    ok.assert_code(0);
    assert_eq!(ok.json()["kind"], "key");
    assert_eq!(ok.json()["state"], "active");
    assert_eq!(ok.json()["name"], "ci");
    for (key, state) in [(&old, "revoked"), (&brief, "expired"), (&ghost, "unknown")] {
        let run = verify(key);
        run.assert_code(3);
        assert_eq!(run.json()["active"], false);
        assert_eq!(run.json()["state"], state);
        assert!(run.stderr.contains(state), "{}", run.stderr);
    }
    hub.run_as(Some(&api), &["auth", "verify", "TAUTH_nope"], None)
        .assert_code(2);
    hub.run_as(Some(&api), &["auth", "verify", "not-a-token"], None)
        .assert_code(2);
    hub.run_as(Some(&api), &["auth", "verify", "a.b"], None)
        .assert_code(2);

    // A service key without `validate` is refused, over the socket and through the CLI.
    let plain = hub.client(&ci);
    let refused = runtime
        .block_on(plain.call(Request::ValidateKey(ValidateKey {
            key: MasterToken::from(ci.as_str()),
        })))
        .expect_err("no validate permission");
    assert!(
        matches!(refused, AuthError::AccessDenied { ref message, ref command, .. }
            if message.contains("validate") && command.as_deref().is_some_and(|c| c.contains("--permission validate"))),
        "{refused:?}"
    );
    let run = hub.run_as(Some(&ci), &["auth", "verify", "-"], Some(&ci));
    run.assert_code(3);
    assert!(run.stderr.contains("validate permission"), "{}", run.stderr);
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));

    // The audit trail names subjects and outcomes, never a presented key.
    let audit = std::fs::read_to_string(hub.home().join("state/audit.jsonl")).expect("audit log");
    assert!(audit.contains("\"validate_key\""), "{audit}");
    assert!(audit.contains("subject key old"), "{audit}");
    assert!(
        !audit.contains(secret),
        "a presented key reached the audit log"
    );
}

#[test]
fn issue_jwt_for_a_presented_key_needs_validate_and_a_live_subject() {
    let hub = TestHub::start(&format!("[jwt]\nissuer = \"{ISSUER}\"\n"));
    let owner = hub.login();
    let api = validator_key(&hub, "api");
    let ci = hub.service_key("ci", &["cargo/*", "npm/*"]);
    let old = hub.service_key("old", &[]);
    hub.run(&["auth", "key", "revoke", "old"], None)
        .assert_code(0);
    let runtime = runtime();
    let issue = |caller: &str, subject: Option<SubjectToken>| {
        runtime.block_on(hub.client(caller).call(Request::IssueJwt(IssueJwt {
            subject,
            audience: "downstream".to_owned(),
            ttl_ms: None,
        })))
    };
    let issued = match issue(
        &api,
        Some(SubjectToken::Key(MasterToken::from(ci.as_str()))),
    )
    .expect("issue for ci")
    {
        Response::JwtIssued(issued) => issued,
        other => panic!("unexpected reply {other:?}"),
    };
    let jwks = jwks(&runtime, &hub.client(&owner));
    let claims = pyjwt::verify(
        issued.token.expose(),
        JwksSource::Json(&jwks),
        ISSUER,
        "downstream",
    )
    .json();
    assert_eq!(claims["sub"], "key:ci");
    assert_eq!(claims["scope"], "cargo/* npm/*");

    let revoked = issue(
        &api,
        Some(SubjectToken::Key(MasterToken::from(old.as_str()))),
    )
    .expect_err("revoked subject");
    assert!(
        matches!(revoked, AuthError::InvalidToken(ref m) if m.contains("revoked")),
        "{revoked:?}"
    );
    let no_right = issue(
        &ci,
        Some(SubjectToken::Key(MasterToken::from(api.as_str()))),
    )
    .expect_err("ci may not exchange others' keys");
    assert!(
        matches!(no_right, AuthError::AccessDenied { ref scope, .. } if scope.is_empty()),
        "{no_right:?}"
    );
    // Any key may have a token for itself.
    assert!(matches!(issue(&ci, None), Ok(Response::JwtIssued(_))));

    // validate_jwt on the hub's own token: active with its claims; the wrong audience and a
    // tampered payload are not.
    let validate = |token: &str, audience: Option<&str>| match runtime
        .block_on(hub.client(&api).call(Request::ValidateJwt(ValidateJwt {
            token: Jwt::from(token),
            provider: None,
            audience: audience.map(str::to_owned),
        })))
        .expect("validate_jwt")
    {
        Response::JwtValidation(validation) => validation,
        other => panic!("unexpected reply {other:?}"),
    };
    let good = validate(issued.token.expose(), Some("downstream"));
    assert!(good.active, "{good:?}");
    assert_eq!(good.provider, None);
    let claims: Value =
        serde_json::from_str(good.claims_json.as_deref().expect("claims")).expect("claims json");
    assert_eq!(claims["sub"], "key:ci");
    let wrong = validate(issued.token.expose(), Some("other"));
    assert!(!wrong.active);
    assert!(
        wrong
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("audience"),
        "{wrong:?}"
    );
    let parts: Vec<&str> = issued.token.expose().split('.').collect();
    let tampered = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
    assert!(!validate(&tampered, None).active);
    let cli = hub.run_as(Some(&api), &["auth", "verify", "-"], Some(&tampered));
    cli.assert_code(3);
}

#[test]
fn tokens_issued_before_a_rotation_still_verify_across_a_restart() {
    let mut hub = TestHub::start(&format!(
        "[jwt]\nissuer = \"{ISSUER}\"\nrotate_every = \"1s\"\n"
    ));
    let owner = hub.login();
    let first = hub
        .run(&["--json", "auth", "token", "--audience", "api"], None)
        .json();
    let first_kid = first["kid"].as_str().expect("kid").to_owned();
    let first_token = first["token"].as_str().expect("token").to_owned();
    // The key rotates at the first signature after it is 1 s old: ask until it has.
    let second = wait_until(Duration::from_secs(15), || {
        let next = hub
            .run(&["--json", "auth", "token", "--audience", "api"], None)
            .json();
        (next["kid"] != first_kid.as_str()).then_some(next)
    })
    .expect("the signing key rotates");
    let second_token = second["token"].as_str().expect("token").to_owned();

    let runtime = runtime();
    let published = jwks(&runtime, &hub.client(&owner));
    let published_kids = kids(&published);
    assert_eq!(
        published_kids.first(),
        second["kid"].as_str().map(str::to_owned).as_ref()
    );
    assert!(published_kids.contains(&first_kid), "{published}");
    for token in [&first_token, &second_token] {
        pyjwt::verify(token, JwksSource::Json(&published), ISSUER, "api").assert_code(0);
        hub.run(&["auth", "verify", token], None).assert_code(0);
    }

    // The keys are state: after a restart both tokens still verify, with the same JWKS.
    hub.restart();
    let after = jwks(&runtime, &hub.client(&owner));
    assert!(kids(&after).contains(&first_kid), "{after}");
    for token in [&first_token, &second_token] {
        hub.run(&["auth", "verify", token], None).assert_code(0);
        pyjwt::verify(token, JwksSource::Json(&after), ISSUER, "api").assert_code(0);
    }
    let mode = std::fs::metadata(hub.home().join("state/jwt-keys.json"))
        .expect("keys file")
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
}

#[test]
fn a_provider_id_token_is_validated_and_exchanged_for_a_hub_jwt() {
    let hub = TestHub::start(&format!("[jwt]\nissuer = \"{ISSUER}\"\n"));
    let owner = hub.login();
    let api = validator_key(&hub, "api");
    let provider = OidcProvider::start(ProviderOptions::default());
    let runtime = runtime();
    runtime
        .block_on(hub.client(&owner).call(Request::AddProvider(AddProvider {
            id: ProviderId::parse("osf/cli/oidc").expect("id"),
            fields: ProviderFields {
                issuer: Some(provider.issuer()),
                client_id: Some(provider.client_id().to_owned()),
                ..ProviderFields::default()
            },
        })))
        .expect("add_provider");
    let id_token = id_token_for(&provider, "carol");

    // validate_jwt finds the record by the token's issuer.
    let validation = match runtime
        .block_on(hub.client(&api).call(Request::ValidateJwt(ValidateJwt {
            token: Jwt::from(id_token.as_str()),
            provider: None,
            audience: None,
        })))
        .expect("validate_jwt")
    {
        Response::JwtValidation(validation) => validation,
        other => panic!("unexpected reply {other:?}"),
    };
    assert!(validation.active, "{validation:?}");
    assert_eq!(
        validation
            .provider
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("osf/cli/oidc")
    );
    let claims: Value =
        serde_json::from_str(validation.claims_json.as_deref().expect("claims")).expect("json");
    let user = claims["sub"].as_str().expect("sub").to_owned();
    assert_eq!(claims["iss"], provider.issuer().as_str());

    // auth verify says the same, and refuses another audience or a tampered signature.
    let verify = hub.run_as(
        Some(&api),
        &["--json", "auth", "verify", "-"],
        Some(&id_token),
    );
    verify.assert_code(0);
    let report = verify.json();
    assert_eq!(report["kind"], "provider_jwt", "{report}");
    assert_eq!(report["provider_record"], "osf/cli/oidc");
    assert_eq!(report["sub"], user.as_str());
    hub.run_as(
        Some(&api),
        &["auth", "verify", "-", "--audience", "someone-else"],
        Some(&id_token),
    )
    .assert_code(3);
    let (head, signature) = id_token.rsplit_once('.').expect("jwt");
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &signature[1..]);
    let refused = hub.run_as(Some(&api), &["auth", "verify", "-"], Some(&tampered));
    refused.assert_code(3);
    assert!(refused.stderr.contains("signature"), "{}", refused.stderr);

    // issue_jwt exchanges the id_token for a hub JWT that PyJWT accepts, about that user.
    let issue = |token: &str| {
        runtime.block_on(hub.client(&api).call(Request::IssueJwt(IssueJwt {
            subject: Some(SubjectToken::Jwt {
                token: Jwt::from(token),
                provider: None,
            }),
            audience: "orders".to_owned(),
            ttl_ms: Some(60_000),
        })))
    };
    let issued = match issue(&id_token).expect("exchange") {
        Response::JwtIssued(issued) => issued,
        other => panic!("unexpected reply {other:?}"),
    };
    let jwks = jwks(&runtime, &hub.client(&api));
    let hub_claims = pyjwt::verify(
        issued.token.expose(),
        JwksSource::Json(&jwks),
        ISSUER,
        "orders",
    );
    hub_claims.assert_code(0);
    let hub_claims = hub_claims.json();
    assert_eq!(
        hub_claims["sub"],
        format!("{}|{user}", provider.issuer()).as_str()
    );
    assert_eq!(hub_claims["provider"], "osf/cli/oidc");
    assert!(hub_claims.get("scope").is_none(), "{hub_claims}");
    let error = issue(&tampered).expect_err("a tampered subject");
    assert!(
        matches!(error, AuthError::InvalidToken(ref m) if m.contains("signature")),
        "{error:?}"
    );
}
