//! Unit tests of the key ring: creation, authentication, revocation, persistence.

use super::*;
use crate::test_support::{at, scope};
use std::fs;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keys.json");
    Fixture { _dir: dir, path }
}

#[test]
fn rotating_the_owner_revokes_the_old_key_and_keeps_the_name_and_service_keys() {
    let f = fixture();
    let mut ring = KeyRing::load(&f.path).expect("empty ring");
    assert!(matches!(
        ring.rotate_owner(at(0)),
        Err(KeyStoreError::NoOwner)
    ));
    let (old, _) = ring.create_owner("owner", at(0)).expect("owner");
    let (ci, _) = ring
        .create_service("ci", vec![scope("a/*")], Permissions::READ, None, at(0))
        .expect("service key");
    let (new, info) = ring.rotate_owner(at(1)).expect("rotated");
    assert_eq!(info.name, "owner");
    assert!(info.owner);
    assert_ne!(old, new);
    let ring = KeyRing::load(&f.path).expect("persisted");
    assert!(matches!(
        ring.authenticate(&old, at(2)),
        Err(KeyAuthError::Revoked { .. })
    ));
    let record = ring.authenticate(&new, at(2)).expect("new owner key");
    assert!(record.owner);
    assert_eq!(
        ring.authenticate(&ci, at(2)).expect("service key").name,
        "ci"
    );
    assert_eq!(ring.owner().map(|owner| owner.name.as_str()), Some("owner"));
    assert_eq!(ring.list().len(), 3, "the old owner record is kept");
    let old_hash = hash_token(&ApiKey::parse(old.expose()).expect("key"));
    let new_hash = hash_token(&ApiKey::parse(new.expose()).expect("key"));
    assert!(matches!(
        ring.check_current("owner", &old_hash, at(2)),
        Err(KeyAuthError::Revoked { .. })
    ));
    assert!(ring.check_current("owner", &new_hash, at(2)).is_ok());
}

fn legacy_text(byte: u8) -> String {
    format!(
        "MELT_/acme/app--prod.token--z{}",
        bs58::encode([byte; 24]).into_string()
    )
}

#[test]
fn create_and_authenticate_round_trip() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    assert!(!ring.has_owner());
    let (token, info) = ring.create_owner("owner", at(0)).expect("owner created");
    assert!(info.owner);
    assert!(ring.has_owner());
    let record = ring.authenticate(&token, at(1)).expect("authenticates");
    assert_eq!(record.name, "owner");
    assert!(record.owner);
    let (ci, info) = ring
        .create_service(
            "ci",
            vec![scope("cargo/*")],
            Permissions::READ,
            Some(at(100)),
            at(0),
        )
        .expect("service created");
    assert!(!info.owner);
    let record = ring.authenticate(&ci, at(1)).expect("ci authenticates");
    assert_eq!(record.name, "ci");
    assert!(record.allows(&Access::read(scope("cargo/token"))));
    assert!(!record.allows(&Access::read(scope("npm/token"))));
    assert!(!record.allows(&Access::new(scope("cargo/token"), Permissions::WRITE)));
    assert_eq!(ring.live_count(at(1)), 2);
}

#[test]
fn second_owner_refused() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    ring.create_owner("owner", at(0)).expect("owner created");
    assert!(matches!(
        ring.create_owner("other", at(1)),
        Err(KeyStoreError::OwnerExists { name }) if name == "owner"
    ));
}

#[test]
fn wrong_token_with_right_name_fails() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    ring.create_owner("owner", at(0)).expect("owner created");
    let forged = ApiKey::generate("owner").expect("key").to_master_token();
    assert_eq!(
        ring.authenticate(&forged, at(1)).map(|r| r.name.clone()),
        Err(KeyAuthError::Mismatch {
            name: "owner".into()
        })
    );
    let stranger = ApiKey::generate("nobody").expect("key").to_master_token();
    assert!(matches!(
        ring.authenticate(&stranger, at(1)),
        Err(KeyAuthError::Unknown { .. })
    ));
    assert!(matches!(
        ring.authenticate(&MasterToken::from("TAUTH_owner--zzz0"), at(1)),
        Err(KeyAuthError::Malformed(_))
    ));
}

#[test]
fn revoked_and_expired_keys_fail() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    let (owner, _) = ring.create_owner("owner", at(0)).expect("owner");
    let (ci, _) = ring
        .create_service("ci", vec![], Permissions::READ, None, at(0))
        .expect("ci");
    let (short, _) = ring
        .create_service("short", vec![], Permissions::READ, Some(at(10)), at(0))
        .expect("short");
    assert!(ring.authenticate(&short, at(9)).is_ok());
    assert!(matches!(
        ring.authenticate(&short, at(10)),
        Err(KeyAuthError::Expired { .. })
    ));
    let info = ring.revoke("ci", at(5)).expect("revoked");
    assert_eq!(info.revoked_at, Some(at(5)));
    assert!(matches!(
        ring.authenticate(&ci, at(6)),
        Err(KeyAuthError::Revoked { .. })
    ));
    assert!(ring.get("ci", at(6)).is_none());
    assert!(matches!(
        ring.revoke("ci", at(7)),
        Err(KeyStoreError::NotFound { .. })
    ));
    assert!(matches!(
        ring.revoke("ghost", at(7)),
        Err(KeyStoreError::NotFound { .. })
    ));
    assert!(matches!(
        ring.revoke("owner", at(7)),
        Err(KeyStoreError::OwnerNotRevocable { .. })
    ));
    assert!(ring.authenticate(&owner, at(8)).is_ok());
    // Revoked records stay listed for the audit trail.
    let names: Vec<String> = ring.list().into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["ci", "owner", "short"]);
    assert_eq!(ring.live_count(at(11)), 1);
}

#[test]
fn refusals_tell_the_client_which_of_the_four() {
    let name = || "ci".to_owned();
    let said = |error: KeyAuthError| error.client_message();
    assert_eq!(
        said(KeyAuthError::Malformed(KeyError::UnknownPrefix)),
        "not a valid API key: api key must start with TAUTH_ (or the legacy MELT_)"
    );
    assert_eq!(
        said(KeyAuthError::Revoked { name: name() }),
        "key \"ci\" was revoked"
    );
    assert_eq!(
        said(KeyAuthError::Expired { name: name() }),
        "key \"ci\" has expired"
    );
    // An unknown name reads like a wrong secret: a guessed name learns nothing more.
    assert_eq!(
        said(KeyAuthError::Unknown { name: name() }),
        said(KeyAuthError::Mismatch { name: name() })
    );
}

#[test]
fn duplicate_live_name_refused_and_freed_by_revoke() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    let (old, _) = ring
        .create_service("ci", vec![], Permissions::READ, None, at(0))
        .expect("ci");
    assert!(matches!(
        ring.create_service("ci", vec![], Permissions::READ, None, at(1)),
        Err(KeyStoreError::NameTaken { .. })
    ));
    ring.revoke("ci", at(2)).expect("revoked");
    let (new, _) = ring
        .create_service("ci", vec![], Permissions::READ, None, at(3))
        .expect("name free again");
    assert!(ring.authenticate(&new, at(4)).is_ok());
    assert!(matches!(
        ring.authenticate(&old, at(4)),
        Err(KeyAuthError::Revoked { .. })
    ));
    assert!(matches!(
        ring.create_service("bad name", vec![], Permissions::READ, None, at(5)),
        Err(KeyStoreError::InvalidName(_))
    ));
}

#[test]
fn reload_keeps_everything() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    let (owner, _) = ring.create_owner("owner", at(0)).expect("owner");
    let (ci, _) = ring
        .create_service(
            "ci",
            vec![scope("github/acme/*"), scope("cargo/token")],
            Permissions::READ_WRITE,
            Some(at(1000)),
            at(1),
        )
        .expect("ci");
    ring.create_service("gone", vec![], Permissions::READ, None, at(2))
        .expect("gone");
    ring.revoke("gone", at(3)).expect("revoked");
    let before = ring.list();
    drop(ring);

    let ring = KeyRing::load(&fx.path).expect("reloads");
    assert_eq!(ring.list(), before);
    assert!(ring.authenticate(&owner, at(4)).is_ok());
    let record = ring.authenticate(&ci, at(4)).expect("ci");
    assert_eq!(record.permissions, Permissions::READ_WRITE);
    assert!(record.allows(&Access::new(scope("github/acme/x"), Permissions::WRITE)));
    assert!(ring.get("gone", at(4)).is_none());
    let mode = fs::metadata(&fx.path).expect("metadata").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
}

#[test]
fn keys_file_never_contains_the_token() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    let (owner, _) = ring.create_owner("owner", at(0)).expect("owner");
    let legacy = ApiKey::parse(&legacy_text(3)).expect("legacy key");
    ring.import(&legacy, vec![], Permissions::READ, None, at(0))
        .expect("imported");
    let text = fs::read_to_string(&fx.path).expect("keys file");
    let secret = owner.expose().rsplit_once("--").expect("separator").1;
    assert!(!text.contains(secret));
    assert!(!text.contains(&legacy_text(3)["MELT_/acme/app--prod.token--".len()..]));
    assert!(!format!("{ring:?}").contains(secret));
}

#[test]
fn legacy_import_authenticates_with_melt_text() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    let legacy = ApiKey::parse(&legacy_text(7)).expect("legacy key");
    let info = ring
        .import(
            &legacy,
            vec![scope("npm/*")],
            Permissions::READ,
            None,
            at(0),
        )
        .expect("imported");
    assert_eq!(info.name, "melt.acme.app.prod.token");
    let record = ring
        .authenticate(&MasterToken::new(legacy_text(7)), at(1))
        .expect("melt text authenticates");
    assert_eq!(record.name, "melt.acme.app.prod.token");
    assert!(!record.owner);
    assert!(matches!(
        ring.authenticate(&MasterToken::new(legacy_text(8)), at(1)),
        Err(KeyAuthError::Mismatch { .. })
    ));
    assert!(matches!(
        ring.import(&legacy, vec![], Permissions::READ, None, at(2)),
        Err(KeyStoreError::NameTaken { .. })
    ));
}

#[test]
fn failed_write_rolls_back() {
    let fx = fixture();
    let missing_dir = fx.path.join("no-such-dir").join("keys.json");
    let mut ring = KeyRing::load(&missing_dir).expect("missing file is empty");
    assert!(matches!(
        ring.create_owner("owner", at(0)),
        Err(KeyStoreError::File(StateFileError::Write { .. }))
    ));
    assert!(!ring.has_owner());
    assert!(ring.list().is_empty());
}

fn actor(key: &str) -> Actor {
    Actor {
        key: key.to_owned(),
        uid: 1000,
        pid: Some(7),
        exe: Some("/usr/bin/hyperforge".to_owned()),
    }
}

#[test]
fn who_created_and_revoked_is_kept_and_the_id_follows_revocation() {
    let fx = fixture();
    let mut ring = KeyRing::load(&fx.path).expect("empty ring");
    ring.create_owner_by("owner", Some(actor("owner")), at(0))
        .expect("owner");
    let options = ServiceKeyOptions {
        validate: true,
        created_by: Some(actor("owner")),
        ..ServiceKeyOptions::default()
    };
    let (api, info) = ring
        .create_service_with("api", options, at(1))
        .expect("api key");
    assert!(info.validate);
    assert_eq!(info.created_by, Some(actor("owner")));
    let live_id = info.id.clone();
    assert_eq!(live_id.len(), 64);
    let record = ring.authenticate(&api, at(2)).expect("authenticates");
    assert_eq!(live_id, key_id("api", &record.hash, false));
    let revoked = ring
        .revoke_by("api", Some(actor("owner")), at(3))
        .expect("revoked");
    assert_eq!(revoked.revoked_by, Some(actor("owner")));
    assert_ne!(revoked.id, live_id, "the soft-deleted flag is in the id");
    drop(ring);
    let ring = KeyRing::load(&fx.path).expect("reloads");
    let listed = ring
        .list()
        .into_iter()
        .find(|info| info.name == "api")
        .expect("revoked key listed");
    assert_eq!(listed.revoked_by, Some(actor("owner")));
    assert!(listed.validate);
    assert_eq!(listed.id, revoked.id);
    // The encoding is pinned: a client in another language computes the same id.
    assert_eq!(
        key_id("ci", &"0".repeat(64), false),
        hex::encode(Sha256::digest(
            [
                b"auth-hub/key-id/v1\0".as_slice(),
                b"ci\0",
                "0".repeat(64).as_bytes(),
                b"\0\x00"
            ]
            .concat()
        ))
    );
}

#[test]
fn a_keys_file_from_before_the_key_model_loads() {
    // Exactly the shape the hub wrote before `validate`, `created_by` and `revoked_by`.
    let fx = fixture();
    let hash = "ab".repeat(32);
    let old = format!(
        r#"{{"version":1,"keys":[{{"name":"owner","owner":true,"hash":"{hash}",
        "created_at":"2024-01-01T00:00:00Z"}},{{"name":"ci","owner":false,"hash":"{hash}",
        "scopes":["cargo/*"],"permissions":{{"read":true}},"created_at":"2024-01-01T00:00:00Z",
        "revoked_at":"2024-02-01T00:00:00Z"}}]}}"#
    );
    fs::write(&fx.path, old).expect("write");
    let ring = KeyRing::load(&fx.path).expect("old file loads");
    let keys = ring.list();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|info| !info.validate
        && info.created_by.is_none()
        && info.revoked_by.is_none()
        && info.id.len() == 64));
    assert!(ring.has_owner());
}

#[test]
fn corrupt_and_future_files_refused_precisely() {
    let fx = fixture();
    fs::write(&fx.path, b"{\"version\": 1, \"keys\": [}").expect("write");
    let error = KeyRing::load(&fx.path).expect_err("corrupt");
    assert!(matches!(
        error,
        KeyStoreError::File(StateFileError::Corrupt { .. })
    ));
    assert!(error.to_string().contains("line 1"), "{error}");
    fs::write(&fx.path, b"{\"version\": 2, \"keys\": \"whatever\"}").expect("write");
    assert!(matches!(
        KeyRing::load(&fx.path),
        Err(KeyStoreError::File(StateFileError::UnsupportedVersion {
            version: 2,
            ..
        }))
    ));
    let bad_hash = r#"{"version":1,"keys":[{"name":"x","owner":false,"hash":"abc",
        "created_at":"2024-01-01T00:00:00Z"}]}"#;
    fs::write(&fx.path, bad_hash).expect("write");
    assert!(matches!(
        KeyRing::load(&fx.path),
        Err(KeyStoreError::InvalidRecord { .. })
    ));
}
