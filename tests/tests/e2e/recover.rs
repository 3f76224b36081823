//! No owner-key dead end: a lost `master.key` is replaced with `hyperforge auth login --recover`,
//! which proves local control through a one-time code the hub writes into its state directory.
//! The old owner key (and every access token it obtained) stops working; secrets, grants and
//! service keys stay; the recovery is in the audit log. A wrong code cancels the recovery.

use std::fs;
use std::time::Duration;

use auth_hub_client::protocol::request::{Recover, StartRecovery};
use auth_hub_client::protocol::{RecoveryCode, Request, Response};
use auth_hub_client::{AuthClient, AuthError, HubClient, SecretPath};
use auth_hub_tests::TestHub;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_lost_owner_key_is_replaced_and_everything_else_is_kept() {
    let hub = TestHub::start("");
    let old_owner = hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("kept"))
        .assert_code(0);
    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    let ci = hub.service_key("ci", &["github/alice/*"]);

    // A client holding the old owner key and an access token obtained with it.
    let rt = runtime();
    let mut options = hub.client_options(Some(&old_owner));
    options.secret_ttl = Duration::ZERO;
    let old_client = HubClient::new(options);
    let path = SecretPath::parse("github/alice/token").unwrap();
    rt.block_on(async {
        assert_eq!(
            old_client.get_secret(&path).await.unwrap().value.expose(),
            "kept"
        );
    });

    // The key file is lost: plain login is refused and points at --recover.
    fs::remove_file(hub.home().join("client").join("master.key")).unwrap();
    let refused = hub.run(&["auth", "login"], None);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.contains("--recover"), "{}", refused.stderr);

    let recovered = hub.run(&["auth", "login", "--recover"], None);
    recovered.assert_code(0);
    assert!(recovered.stdout.contains("recovered"), "{recovered:?}");
    let new_owner = hub.saved_key();
    assert_ne!(new_owner, old_owner);
    assert!(new_owner.starts_with("TAUTH_owner--"), "same owner name");
    assert!(
        !hub.home().join("state").join("recovery.code").exists(),
        "the one-time code is removed after use"
    );

    // The old owner key is refused, and the token it obtained is dead.
    let old = hub.run_as(Some(&old_owner), &["auth", "grants"], None);
    assert_ne!(old.code, 0, "the old owner key still works: {old:?}");
    rt.block_on(async {
        let error = old_client.get_secret(&path).await.unwrap_err();
        assert!(
            matches!(
                error,
                AuthError::InvalidMasterToken { .. } | AuthError::InvalidAccessToken
            ),
            "{error:?}"
        );
    });

    // Secret, the owner's standing grant and the service key are intact.
    let get = hub.run(&["auth", "get", "github/alice/token", "--no-wait"], None);
    get.assert_code(0);
    assert_eq!(get.stdout, "kept\n");
    let by_ci = hub.run_as(Some(&ci), &["auth", "get", "github/alice/token"], None);
    by_ci.assert_code(0);
    assert_eq!(by_ci.stdout, "kept\n");
    let grants = hub.run(&["--json", "auth", "grants"], None);
    grants.assert_code(0);
    assert!(
        grants.stdout.contains("github/alice/*"),
        "{}",
        grants.stdout
    );

    // Audited, and the chain still verifies.
    let audit = fs::read_to_string(hub.home().join("state").join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"recovery_start\""), "{audit}");
    assert!(
        audit
            .lines()
            .any(|line| line.contains("\"recover\"") && line.contains("\"ok\"")),
        "{audit}"
    );
    assert!(!audit.contains(&new_owner) && !audit.contains(&old_owner));
    hub.run(&["auth", "audit", "--verify"], None).assert_code(0);
}

#[test]
fn a_wrong_code_cancels_the_recovery_and_keys_cannot_start_one() {
    let hub = TestHub::start("");
    let owner = hub.login();
    let rt = runtime();
    rt.block_on(async {
        let keyless = HubClient::connect(hub.client_options(None)).await.unwrap();
        let started = match keyless
            .call(Request::StartRecovery(StartRecovery {}))
            .await
            .unwrap()
        {
            Response::RecoveryStarted(started) => started,
            other => panic!("unexpected {other:?}"),
        };
        assert!(started.expires_in_ms > 0);
        let code_file = std::path::PathBuf::from(&started.code_file);
        assert!(code_file.starts_with(hub.home().join("state")));
        let code = fs::read_to_string(&code_file).unwrap();
        // A wrong guess is refused and consumes the code: the right one no longer works.
        let wrong = keyless
            .call(Request::Recover(Recover {
                code: RecoveryCode::from("zguess"),
            }))
            .await
            .unwrap_err();
        assert!(matches!(wrong, AuthError::BadRequest(_)), "{wrong:?}");
        assert!(!code_file.exists());
        let late = keyless
            .call(Request::Recover(Recover {
                code: RecoveryCode::new(code.trim().to_owned()),
            }))
            .await
            .unwrap_err();
        assert!(matches!(late, AuthError::BadRequest(_)), "{late:?}");

        // A session with a key (owner or not) cannot start a recovery.
        let keyed = HubClient::connect(hub.client_options(Some(&owner)))
            .await
            .unwrap();
        let error = keyed
            .call(Request::StartRecovery(StartRecovery {}))
            .await
            .unwrap_err();
        assert!(matches!(error, AuthError::BadRequest(_)), "{error:?}");
    });
    // The owner key is unchanged.
    hub.run_as(Some(&owner), &["auth", "grants"], None)
        .assert_code(0);
    let audit = fs::read_to_string(hub.home().join("state").join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"refused\""), "{audit}");
}

#[test]
fn recover_on_a_hub_without_owner_creates_one() {
    let hub = TestHub::start("");
    let run = hub.run(&["auth", "login", "--recover"], None);
    run.assert_code(0);
    assert!(run.stderr.contains("no owner key yet"), "{run:?}");
    assert!(hub.saved_key().starts_with("TAUTH_owner--"));
}
