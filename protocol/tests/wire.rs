//! The wire contract, tested from outside the crate: every message round-trips through the frame
//! codec, a handful of golden byte files pin the exact encoding, and hostile input (truncated,
//! oversized, random, mutated, deeply nested, ill-typed) yields an error, never a panic.
//!
//! Golden files live in `protocol/tests/golden/<name>.msgpack` and hold raw bodies (no length
//! prefix). A test fails when an encoding differs from its file by a single byte, because a
//! changed encoding breaks every client written from `docs/protocol.md`. When a change is
//! intended, regenerate them with
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test -p auth-hub-protocol --test wire
//! ```
//!
//! and update the hex in `docs/protocol.md` to match.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::PathBuf;

use auth_hub_protocol::event::{Event, PendingOutcome, PendingResolved};
use auth_hub_protocol::frame::{self, FrameError, DEFAULT_MAX_FRAME, LENGTH_BYTES};
use auth_hub_protocol::request::{
    CreateKey, DeleteSecret, Deny, GetSecret, GetSecretScoped, Grant, HasScope, ImportKey,
    ListGrants, ListKeys, ListPending, ListRepos, ListSecrets, Login, MoveSecrets, PutSecret,
    ReadAudit, Recover, RegisterRepo, Request, RequestEnvelope, RequestScope, Revoke, RevokeKey,
    StartRecovery, Status, UnregisterRepo, WatchPending,
};
use auth_hub_protocol::response::{
    AuditReply, AuditVerification, BackendStatus, DeclaredRepoError, DeclaredScope, DeclaredState,
    Deleted, DenyReply, GrantInfo, GrantList, GrantReply, HasScopeReply, KeyCreated, KeyInfo,
    KeyList, KeyRevokeReply, MoveFailure, MoveReport, MoveStage, MovedSecret, NeedsApproval,
    PeerInfo, PendingList, PendingRequest, RecoveryStarted, RepoInfo, RepoList, RepoRegistered,
    RepoUnregistered, Response, ResponseEnvelope, ResponseResult, RevokeReply, ScopeOutcome,
    ScopeOutcomes, ScopeResult, ScopeToken, ScopedSecret, SecretEntry, SecretList, ServerMessage,
    StatusReply, UnchangedSecret, Written,
};
use auth_hub_protocol::{
    AccessToken, ErrorCode, ErrorReply, Hello, HelloReply, MasterToken, Permissions, RecoveryCode,
    Secret, SecretPath, SecretScope, SecretValue, Welcome, PROTOCOL_VERSION,
};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// Fixtures: fixed values, so encodings are reproducible.

/// 2023-11-14T22:13:20Z.
const T0_MS: i64 = 1_700_000_000_000;

fn at(offset_ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(T0_MS + offset_ms).expect("fixture time is in range")
}

fn path(text: &str) -> SecretPath {
    SecretPath::parse(text).expect("fixture path is valid")
}

fn scope(text: &str) -> SecretScope {
    SecretScope::parse(text).expect("fixture scope is valid")
}

/// A service key whose 24 "random" bytes are 1, 2, …, 24, so the example is reproducible.
fn master_token() -> MasterToken {
    let bytes: Vec<u8> = (1..=24).collect();
    MasterToken::new(format!(
        "TAUTH_ci-bot--z{}",
        bs58::encode(bytes).into_string()
    ))
}

/// Stands in for the hub's random, opaque access token.
fn access_token() -> AccessToken {
    AccessToken::from("at_3vQB7B6MrGQZaxCuFg4oh")
}

fn hello() -> Hello {
    Hello {
        protocol_version: PROTOCOL_VERSION,
        client_name: "hub_client.py".into(),
        client_version: "0.1.0".into(),
        master_token: Some(master_token()),
    }
}

fn welcome() -> HelloReply {
    HelloReply::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        server_name: "auth-hub".into(),
        server_version: "0.1.0".into(),
        key_name: Some("ci-bot".into()),
        owner: false,
        max_frame: 1 << 20,
    })
}

fn request_scope() -> RequestEnvelope {
    RequestEnvelope {
        id: 1,
        request: Request::RequestScope(RequestScope {
            scopes: vec![scope("github/alice/*")],
            permissions: Permissions::READ,
            wait_ms: 0,
            reason: "deploy".into(),
        }),
    }
}

fn response_scopes() -> ServerMessage {
    response(
        1,
        Response::Scopes(ScopeOutcomes {
            outcomes: vec![ScopeOutcome {
                scope: scope("github/alice/*"),
                result: ScopeResult::Granted(ScopeToken {
                    access_token: access_token(),
                    permissions: Permissions::READ,
                    expires_at: at(3_600_000),
                }),
            }],
        }),
    )
}

fn get_secret() -> RequestEnvelope {
    RequestEnvelope {
        id: 2,
        request: Request::GetSecret(GetSecret {
            access_token: access_token(),
            path: path("github/alice/token"),
        }),
    }
}

fn register_repo() -> RequestEnvelope {
    RequestEnvelope {
        id: 3,
        request: Request::RegisterRepo(RegisterRepo {
            path: "/home/alice/src/app".into(),
        }),
    }
}

fn response_repo_registered() -> ServerMessage {
    response(
        3,
        Response::RepoRegistered(RepoRegistered {
            path: "/home/alice/src/app".into(),
            added: true,
        }),
    )
}

fn secret() -> Secret {
    Secret {
        value: SecretValue::from("ghp_example"),
        path: path("github/alice/token"),
        created_at: Some(at(-86_400_000)),
        updated_at: Some(at(-3_600_000)),
        version: 2,
    }
}

fn response_secret() -> ServerMessage {
    response(2, Response::Secret(secret()))
}

fn error_denied() -> ServerMessage {
    ServerMessage::Response(ResponseEnvelope {
        id: 1,
        result: ResponseResult::Error(ErrorReply::denied(
            "github/alice/*",
            "github/alice/* needs the owner's approval",
        )),
    })
}

fn peer() -> PeerInfo {
    PeerInfo {
        uid: 1000,
        pid: Some(4242),
        exe: Some("/usr/bin/python3".into()),
    }
}

fn pending_request() -> PendingRequest {
    PendingRequest {
        id: 7,
        scopes: vec![scope("github/alice/*")],
        permissions: Permissions::READ,
        key_name: "ci-bot".into(),
        client_name: "hub_client.py".into(),
        peer: peer(),
        reason: "deploy".into(),
        created_at: at(0),
        expires_at: at(300_000),
    }
}

fn event_pending_added() -> ServerMessage {
    ServerMessage::Event(Event::PendingAdded(pending_request()))
}

fn response(id: u64, ok: Response) -> ServerMessage {
    ServerMessage::Response(ResponseEnvelope {
        id,
        result: ResponseResult::Ok(ok),
    })
}

fn key_info(owner: bool) -> KeyInfo {
    KeyInfo {
        name: if owner { "owner" } else { "ci-bot" }.into(),
        owner,
        scopes: if owner {
            vec![]
        } else {
            vec![scope("github/alice/*"), scope("cargo/token")]
        },
        permissions: Permissions::READ_WRITE,
        created_at: at(0),
        expires_at: (!owner).then(|| at(86_400_000)),
        revoked_at: None,
        id: String::new(),
        created_by: None,
        revoked_by: None,
        validate: false,
    }
}

fn grant_info() -> GrantInfo {
    GrantInfo {
        key_name: "ci-bot".into(),
        scope: scope("github/alice/*"),
        permissions: Permissions::READ,
        created_at: at(0),
        expires_at: Some(at(3_600_000)),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Encodes as a whole frame, decodes it back, and checks value, length and prefix.
fn round_trip<T>(value: &T) -> Vec<u8>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let frame = frame::encode(value, DEFAULT_MAX_FRAME).expect("fixture encodes");
    let (back, used): (T, usize) =
        frame::decode(&frame, DEFAULT_MAX_FRAME).expect("own encoding decodes");
    assert_eq!(&back, value);
    assert_eq!(used, frame.len());
    let body = frame::encode_body(value).expect("fixture encodes");
    assert_eq!(
        &frame[LENGTH_BYTES..],
        &body[..],
        "encode and encode_body agree"
    );
    let announced = u32::from_be_bytes(frame[..LENGTH_BYTES].try_into().expect("4 bytes"));
    assert_eq!(announced as usize, body.len());
    body.to_vec()
}

fn envelope(id: u64, request: Request) -> RequestEnvelope {
    RequestEnvelope { id, request }
}

/// Decodes `bytes` as each top-level message type; any result is fine as long as none panics.
fn decode_all_kinds(bytes: &[u8]) -> usize {
    let mut ok = 0;
    ok += usize::from(frame::decode_body::<RequestEnvelope>(bytes).is_ok());
    ok += usize::from(frame::decode_body::<Hello>(bytes).is_ok());
    ok += usize::from(frame::decode_body::<HelloReply>(bytes).is_ok());
    ok += usize::from(frame::decode_body::<ServerMessage>(bytes).is_ok());
    ok
}

/// Xorshift64*: a small deterministic PRNG so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn byte(&mut self) -> u8 {
        self.next().to_be_bytes()[0]
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Every golden message: its file name and its body.
fn golden_messages() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("hello", round_trip(&hello())),
        ("welcome", round_trip(&welcome())),
        ("request_scope", round_trip(&request_scope())),
        ("response_scopes", round_trip(&response_scopes())),
        ("get_secret", round_trip(&get_secret())),
        ("response_secret", round_trip(&response_secret())),
        ("error_denied", round_trip(&error_denied())),
        ("event_pending_added", round_trip(&event_pending_added())),
        ("register_repo", round_trip(&register_repo())),
        (
            "response_repo_registered",
            round_trip(&response_repo_registered()),
        ),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| {
            u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex digit")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Round trips.

#[test]
fn every_request_round_trips() {
    let requests = vec![
        Request::RequestScope(RequestScope {
            scopes: vec![scope("github/alice/*"), scope("cargo/token"), scope("*")],
            permissions: Permissions::READ_WRITE,
            wait_ms: 60_000,
            reason: "hyperforge push".into(),
        }),
        Request::GetSecret(GetSecret {
            access_token: access_token(),
            path: path("npm/@acme-corp/token"),
        }),
        Request::GetSecretScoped(GetSecretScoped {
            path: path("github/alice/token"),
        }),
        Request::GetSecretScoped(GetSecretScoped {
            path: path("token"),
        }),
        Request::PutSecret(PutSecret {
            access_token: Some(access_token()),
            path: path("github/alice/token"),
            value: SecretValue::from("ghp_new"),
        }),
        Request::PutSecret(PutSecret {
            access_token: None,
            path: path("cargo/token"),
            value: SecretValue::from(""),
        }),
        Request::ListSecrets(ListSecrets {
            access_token: Some(access_token()),
            prefix: "github/alice".into(),
        }),
        Request::ListSecrets(ListSecrets {
            access_token: None,
            prefix: String::new(),
        }),
        Request::DeleteSecret(DeleteSecret {
            access_token: None,
            path: path("github/alice/token"),
            destroy: false,
        }),
        Request::DeleteSecret(DeleteSecret {
            access_token: None,
            path: path("team/deploy/token"),
            destroy: true,
        }),
        Request::HasScope(HasScope {
            scope: scope("github/alice/*"),
            permissions: Permissions::WRITE,
        }),
        Request::Login(Login {
            name: "owner".into(),
        }),
        Request::Status(Status {}),
        Request::ListPending(ListPending {}),
        Request::Grant(Grant {
            scope: scope("github/alice/*"),
            permissions: Permissions::READ,
            ttl_ms: Some(u64::MAX),
            once: true,
            request_id: Some(7),
            key: Some("ci-bot".into()),
        }),
        Request::Grant(Grant {
            scope: scope("*"),
            permissions: Permissions::READ_WRITE,
            ttl_ms: None,
            once: false,
            request_id: None,
            key: None,
        }),
        Request::Deny(Deny {
            scope: scope("github/alice/*"),
            request_id: Some(7),
        }),
        Request::ListGrants(ListGrants {}),
        Request::Revoke(Revoke {
            scope: scope("github/*"),
            key: Some("ci-bot".into()),
        }),
        Request::CreateKey(CreateKey {
            name: "ci-bot".into(),
            scopes: vec![scope("github/alice/*")],
            permissions: Permissions::READ,
            expires_at_ms: Some(T0_MS),
            validate: false,
        }),
        Request::ImportKey(ImportKey {
            key: MasterToken::from("MELT_/myorg/app--prod--z2"),
            scopes: vec![],
            permissions: Permissions::default(),
            expires_at_ms: None,
        }),
        Request::ListKeys(ListKeys {}),
        Request::RevokeKey(RevokeKey {
            name: "ci-bot".into(),
        }),
        Request::ReadAudit(ReadAudit {
            limit: 100,
            verify: true,
        }),
        Request::WatchPending(WatchPending {}),
        Request::RegisterRepo(RegisterRepo {
            path: "/home/alice/src/app".into(),
        }),
        Request::RegisterRepo(RegisterRepo {
            path: "relative/is/refused/by/the/hub/not/the/codec".into(),
        }),
        Request::UnregisterRepo(UnregisterRepo {
            path: "/home/alice/src/app".into(),
        }),
        Request::ListRepos(ListRepos {}),
        Request::StartRecovery(StartRecovery {}),
        Request::Recover(Recover {
            code: RecoveryCode::from("zRecoveryCodeExample"),
        }),
        Request::MoveSecrets(MoveSecrets {
            to_backend: "team".into(),
            target: scope("team/*"),
        }),
        Request::MoveSecrets(MoveSecrets {
            to_backend: "file".into(),
            target: scope("team/deploy/token"),
        }),
    ];
    // The identity families round-trip in their own sections below; together they cover
    // every variant.
    let sections = [
        identity_requests(),
        oidc_requests(),
        provider_records::requests(),
    ];
    let names: BTreeSet<&str> = requests
        .iter()
        .chain(sections.iter().flatten())
        .map(Request::name)
        .collect();
    assert_eq!(
        names.len(),
        38,
        "every Request variant is covered: {names:?}"
    );
    for (index, request) in requests.into_iter().enumerate() {
        let id = [0, 1, 127, 128, 65_536, u64::MAX][index % 6];
        round_trip(&envelope(id, request));
    }
}

#[test]
fn every_response_round_trips() {
    let responses = vec![
        Response::Scopes(ScopeOutcomes {
            outcomes: vec![
                ScopeOutcome {
                    scope: scope("github/alice/*"),
                    result: ScopeResult::Granted(ScopeToken {
                        access_token: access_token(),
                        permissions: Permissions::READ,
                        expires_at: at(3_600_000),
                    }),
                },
                ScopeOutcome {
                    scope: scope("cargo/*"),
                    result: ScopeResult::Error(ErrorReply::timeout("cargo/*", 60_000)),
                },
            ],
        }),
        Response::Secret(secret()),
        Response::ScopedSecret(ScopedSecret {
            scope: scope("github/alice/*"),
            token: ScopeToken {
                access_token: access_token(),
                permissions: Permissions::READ,
                expires_at: at(3_600_000),
            },
            secret: secret(),
        }),
        Response::NeedsApproval(NeedsApproval {
            scope: scope("github/acme/*"),
        }),
        Response::Secret(Secret {
            created_at: None,
            updated_at: None,
            version: 0,
            ..secret()
        }),
        Response::Written(Written {
            path: path("github/alice/token"),
            version: 3,
            updated_at: at(0),
        }),
        Response::Secrets(SecretList {
            entries: vec![SecretEntry {
                path: path("github/alice/token"),
                version: 3,
                created_at: at(-1),
                updated_at: at(0),
                backend: Some("file".into()),
            }],
            warnings: vec!["backend team is unreachable: connection refused".into()],
        }),
        Response::Deleted(Deleted {
            path: path("github/alice/token"),
        }),
        Response::HasScope(HasScopeReply {
            granted: true,
            needs_approval: false,
            grant_timeout_ms: 60_000,
        }),
        Response::KeyCreated(KeyCreated {
            key: Some(master_token()),
            info: key_info(false),
        }),
        Response::KeyCreated(KeyCreated {
            key: None,
            info: key_info(false),
        }),
        Response::Status(StatusReply {
            server_version: "0.1.0".into(),
            protocol_version: PROTOCOL_VERSION,
            pid: 4242,
            uptime_ms: 123_456,
            socket: "/run/user/1000/auth-hub/auth-hub.sock".into(),
            home: "/home/alice/.local/state/auth-hub".into(),
            store: "file".into(),
            key_source: "keychain".into(),
            policy_file: "/home/alice/.config/auth-hub/config.toml".into(),
            policy_error: Some("line 3: unknown action".into()),
            keys: 2,
            grants: 1,
            pending: 0,
            has_owner: true,
            session_key: None,
            session_owner: false,
            registered_repos: 3,
            declared: vec![DeclaredScope {
                scope: "github/alice/*".into(),
                repos: vec!["/home/alice/src/app".into()],
                state: DeclaredState::NotGranted,
            }],
            repo_errors: vec![DeclaredRepoError {
                repo: "/home/alice/src/old".into(),
                error: "config missing".into(),
            }],
            store_problem: Some("rolled back: the store holds generation 1".into()),
            audit_problem: Some("audit log /h/audit.jsonl was cut after line 3".into()),
            backends: vec![BackendStatus {
                name: "team".into(),
                kind: "openbao".into(),
                routes: vec!["team/*".into()],
                default: false,
                reachable: true,
                authenticated: false,
                latency_ms: Some(12),
                version: Some("2.1.0".into()),
                problem: Some("permission denied".into()),
            }],
            logins: Vec::new(),
            http_listen: None,
            http_restart: None,
        }),
        Response::Pending(PendingList {
            requests: vec![pending_request(), pending_request()],
        }),
        Response::Granted(GrantReply {
            approved: vec![7, 8],
            grants: vec![grant_info()],
        }),
        Response::Denied(DenyReply { denied: vec![7] }),
        Response::Grants(GrantList {
            grants: vec![
                grant_info(),
                GrantInfo {
                    expires_at: None,
                    ..grant_info()
                },
            ],
        }),
        Response::Revoked(RevokeReply {
            grants: 1,
            tokens: 3,
        }),
        Response::Keys(KeyList {
            keys: vec![
                key_info(true),
                KeyInfo {
                    revoked_at: Some(at(5)),
                    ..key_info(false)
                },
            ],
        }),
        Response::KeyRevoked(KeyRevokeReply {
            name: "ci-bot".into(),
            tokens: 2,
        }),
        Response::Audit(AuditReply {
            lines: vec![r#"{"event":"grant"}"#.into()],
            verification: Some(AuditVerification {
                ok: false,
                lines: 1,
                error: Some("line 1: bad prev".into()),
                anchored: 9,
            }),
        }),
        Response::Audit(AuditReply {
            lines: vec![],
            verification: None,
        }),
        Response::RepoRegistered(RepoRegistered {
            path: "/home/alice/src/app".into(),
            added: false,
        }),
        Response::RepoUnregistered(RepoUnregistered {
            path: "/home/alice/src/app".into(),
            removed: true,
        }),
        Response::Repos(RepoList {
            repos: vec![
                RepoInfo {
                    path: "/home/alice/src/app".into(),
                    registered_at: at(0),
                },
                RepoInfo {
                    path: "/srv/git/ü".into(),
                    registered_at: at(-1),
                },
            ],
        }),
        Response::Repos(RepoList { repos: vec![] }),
        Response::RecoveryStarted(RecoveryStarted {
            code_file: "/home/alice/.local/state/auth-hub/recovery.code".into(),
            expires_in_ms: 300_000,
        }),
        Response::SecretsMoved(MoveReport {
            moved: vec![MovedSecret {
                path: path("team/deploy/token"),
                from: "file".into(),
                to: "team".into(),
                version: 3,
                served_by: "team".into(),
            }],
            unchanged: vec![UnchangedSecret {
                path: path("team/ci/token"),
                served_by: "file".into(),
            }],
            failed: vec![
                MoveFailure {
                    path: "team/db/password".into(),
                    from: "kc".into(),
                    stage: MoveStage::DeleteSource,
                    reason: "backend kc is unreachable: no secret service".into(),
                },
                MoveFailure {
                    path: "team/*".into(),
                    from: "kc".into(),
                    stage: MoveStage::List,
                    reason: "backend kc is unreachable: no secret service".into(),
                },
            ],
        }),
        Response::SecretsMoved(MoveReport::default()),
    ];
    // The identity families' answers are built in their own sections below.
    let sections = identity_responses()
        .into_iter()
        .chain(oidc_responses())
        .chain(provider_records::responses());
    let mut kinds = BTreeSet::new();
    for (id, ok) in responses.into_iter().chain(sections).enumerate() {
        let name = ok.name();
        let body = round_trip(&response(id as u64, ok));
        // {"response": {"id": …, "result": {"ok": {"<variant>": …}}}}: read the variant name back.
        let value: rmpv_like::Value = rmpv_like::parse(&body);
        let kind = value.path(&["response", "result", "ok"]).single_key();
        assert_eq!(name, kind, "Response::name is the wire name");
        kinds.insert(kind);
    }
    assert_eq!(
        kinds.len(),
        31,
        "every Response variant is covered: {kinds:?}"
    );
}

#[test]
fn recovery_messages_have_named_fields_and_hide_the_code() {
    let request = Request::Recover(Recover {
        code: RecoveryCode::from("zSecretCode"),
    });
    let value = serde_json::to_value(&request).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"recover": {"code": "zSecretCode"}})
    );
    assert!(!format!("{request:?}").contains("zSecretCode"));
    let start = serde_json::to_value(Request::StartRecovery(StartRecovery {})).unwrap();
    assert_eq!(start, serde_json::json!({"start_recovery": {}}));
}

#[test]
fn move_messages_have_the_documented_shape() {
    let request = Request::MoveSecrets(MoveSecrets {
        to_backend: "team".into(),
        target: scope("team/*"),
    });
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        serde_json::json!({"move_secrets": {"to_backend": "team", "target": "team/*"}})
    );
    let failure = MoveFailure {
        path: "team/x".into(),
        from: "file".into(),
        stage: MoveStage::DeleteSource,
        reason: "r".into(),
    };
    assert_eq!(
        serde_json::to_value(&failure).unwrap(),
        serde_json::json!({"path": "team/x", "from": "file", "stage": "delete_source", "reason": "r"})
    );
    for stage in [
        MoveStage::List,
        MoveStage::Read,
        MoveStage::Write,
        MoveStage::Verify,
        MoveStage::DeleteSource,
    ] {
        assert_eq!(
            serde_json::to_value(stage).unwrap(),
            serde_json::json!(stage.as_str())
        );
    }
    // A target that is not a path or scope is refused when decoding.
    let bad = serde_json::json!({"move_secrets": {"to_backend": "team", "target": "../x"}});
    assert!(serde_json::from_value::<Request>(bad).is_err());
}

#[test]
fn both_events_round_trip() {
    round_trip(&event_pending_added());
    for outcome in [
        PendingOutcome::Granted,
        PendingOutcome::Denied,
        PendingOutcome::Timeout,
        PendingOutcome::Cancelled,
    ] {
        round_trip(&ServerMessage::Event(Event::PendingResolved(
            PendingResolved { id: 7, outcome },
        )));
    }
}

#[test]
fn hello_and_both_replies_round_trip() {
    round_trip(&hello());
    round_trip(&Hello {
        master_token: None,
        ..hello()
    });
    round_trip(&welcome());
    round_trip(&HelloReply::Welcome(Welcome {
        protocol_version: PROTOCOL_VERSION,
        server_name: "auth-hub".into(),
        server_version: "0.1.0".into(),
        key_name: None,
        owner: false,
        max_frame: 0,
    }));
    round_trip(&HelloReply::Error(ErrorReply::new(
        ErrorCode::UnsupportedVersion,
        "protocol version 9 is not supported; this hub speaks 1",
    )));
}

#[test]
fn every_error_code_round_trips() {
    let codes = [
        (ErrorCode::Denied, "denied"),
        (ErrorCode::Timeout, "timeout"),
        (ErrorCode::InvalidMasterToken, "invalid_master_token"),
        (ErrorCode::InvalidAccessToken, "invalid_access_token"),
        (ErrorCode::InsufficientScope, "insufficient_scope"),
        (ErrorCode::NotFound, "not_found"),
        (ErrorCode::BadRequest, "bad_request"),
        (ErrorCode::UnsupportedVersion, "unsupported_version"),
        (ErrorCode::Backend, "backend"),
        (ErrorCode::Locked, "locked"),
        (ErrorCode::Busy, "busy"),
        (ErrorCode::Unavailable, "unavailable"),
        (ErrorCode::BackendUnavailable, "backend_unavailable"),
        (ErrorCode::Unknown, "unknown"),
    ];
    for (code, name) in codes {
        // A unit variant is its name as a plain MessagePack string.
        let body = round_trip(&code);
        assert_eq!(
            body,
            rmp_serde::to_vec(name).expect("string encodes"),
            "{name}"
        );
        assert_eq!(code.as_str(), name);
        let reply = ErrorReply {
            code,
            message: format!("{name} happened"),
            scope: Some("github/alice/*".into()),
            command: Some("hyperforge auth grant github/alice/*".into()),
            path: Some("github/alice/token".into()),
            have: Some("github/bob/*".into()),
            timeout_ms: Some(60_000),
        };
        round_trip(&ServerMessage::Response(ResponseEnvelope {
            id: 9,
            result: ResponseResult::Error(reply.clone()),
        }));
        round_trip(&HelloReply::Error(reply));
        round_trip(&ServerMessage::Response(ResponseEnvelope {
            id: 9,
            result: ResponseResult::Error(ErrorReply::new(code, "")),
        }));
    }
}

// ---------------------------------------------------------------------------------------------
// Golden bytes and the encoding rules docs/protocol.md states.

#[test]
fn golden_files_match_byte_for_byte() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let dir = golden_dir();
    let mut stale = Vec::new();
    for (name, body) in golden_messages() {
        let file = dir.join(format!("{name}.msgpack"));
        if update {
            std::fs::create_dir_all(&dir).expect("create golden dir");
            std::fs::write(&file, &body).expect("write golden file");
            continue;
        }
        let want = std::fs::read(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", file.display()));
        if want != body {
            stale.push(format!(
                "{name}:\n  file {}\n  now  {}",
                hex(&want),
                hex(&body)
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "the wire encoding changed; if intended, rerun with UPDATE_GOLDEN=1 and update \
         docs/protocol.md:\n{}",
        stale.join("\n")
    );
}

#[test]
fn golden_files_decode_to_their_values() {
    let dec = |name: &str| {
        std::fs::read(golden_dir().join(format!("{name}.msgpack"))).expect("golden file exists")
    };
    assert_eq!(
        frame::decode_body::<Hello>(&dec("hello")).ok(),
        Some(hello())
    );
    assert_eq!(
        frame::decode_body::<HelloReply>(&dec("welcome")).ok(),
        Some(welcome())
    );
    assert_eq!(
        frame::decode_body::<RequestEnvelope>(&dec("request_scope")).ok(),
        Some(request_scope())
    );
    assert_eq!(
        frame::decode_body::<ServerMessage>(&dec("response_scopes")).ok(),
        Some(response_scopes())
    );
    assert_eq!(
        frame::decode_body::<RequestEnvelope>(&dec("get_secret")).ok(),
        Some(get_secret())
    );
    assert_eq!(
        frame::decode_body::<ServerMessage>(&dec("response_secret")).ok(),
        Some(response_secret())
    );
    assert_eq!(
        frame::decode_body::<ServerMessage>(&dec("error_denied")).ok(),
        Some(error_denied())
    );
    assert_eq!(
        frame::decode_body::<ServerMessage>(&dec("event_pending_added")).ok(),
        Some(event_pending_added())
    );
    assert_eq!(
        frame::decode_body::<RequestEnvelope>(&dec("register_repo")).ok(),
        Some(register_repo())
    );
    assert_eq!(
        frame::decode_body::<ServerMessage>(&dec("response_repo_registered")).ok(),
        Some(response_repo_registered())
    );
}

/// The annotated hex of the worked session in docs/protocol.md is these golden frames, byte for
/// byte: in each block, every line's leading run of two-digit hex tokens is taken, the rest of the
/// line is commentary.
#[test]
fn protocol_doc_hex_matches_golden_frames() {
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/protocol.md exists");
    let sections = [
        ("### 1.", "hello"),
        ("### 2.", "welcome"),
        ("### 3.", "request_scope"),
        ("### 4.", "response_scopes"),
        ("### 5.", "get_secret"),
        ("### 6.", "response_secret"),
        ("### An error reply", "error_denied"),
        ("### An event", "event_pending_added"),
        ("### A repository registration", "register_repo"),
        ("### Its answer", "response_repo_registered"),
    ];
    let golden: std::collections::HashMap<_, _> = golden_messages().into_iter().collect();
    for (heading, name) in sections {
        let start = doc.find(heading).expect("section heading in the doc");
        let open = start + doc[start..].find("```text\n").expect("hex block") + 8;
        let close = open + doc[open..].find("```").expect("end of hex block");
        let shown: Vec<u8> = doc[open..close]
            .lines()
            .flat_map(|line| {
                line.split_whitespace()
                    .take_while(|t| t.len() == 2 && t.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(|t| u8::from_str_radix(t, 16).expect("hex token"))
                    .collect::<Vec<_>>()
            })
            .collect();
        let body = &golden[name];
        let mut want = (body.len() as u32).to_be_bytes().to_vec();
        want.extend_from_slice(body);
        assert_eq!(
            hex(&shown),
            hex(&want),
            "docs/protocol.md {heading} ({name})"
        );
    }
}

/// The small encodings quoted in docs/protocol.md's "MessagePack conventions".
#[test]
fn documented_encodings_hold() {
    let enc = |v: &dyn erased::Encode| hex(&v.encode());
    assert_eq!(enc(&0u64), "00");
    assert_eq!(enc(&7u64), "07");
    assert_eq!(enc(&200u64), "ccc8");
    assert_eq!(enc(&300u64), "cd012c");
    assert_eq!(enc(&70_000u64), "ce00011170");
    assert_eq!(enc(&u64::MAX), "cfffffffffffffffff");
    assert_eq!(enc(&true), "c3");
    assert_eq!(enc(&false), "c2");
    assert_eq!(enc(&Option::<u64>::None), "c0");
    assert_eq!(enc(&Some(5u64)), "05");
    assert_eq!(enc(&Permissions::READ), "82a472656164c3a57772697465c2");
    assert_eq!(enc(&ErrorCode::NotFound), "a96e6f745f666f756e64");
    assert_eq!(enc(&PendingOutcome::Granted), "a76772616e746564");
    assert_eq!(enc(&path("a/b")), "a3612f62");
    assert_eq!(enc(&scope("a/*")), "a3612f2a");
    // A timestamp after 2106 still fits; timestamps are always uint64 (cf) in practice.
    assert_eq!(
        enc(&Written {
            path: path("a"),
            version: 1,
            updated_at: at(0)
        }),
        "83a470617468a161a776657273696f6e01aa757064617465645f6174cf0000018bcfe56800"
    );
    // A struct without fields is an empty map, and an operation is a one-entry map.
    assert_eq!(enc(&Request::Status(Status {})), "81a673746174757380");
    assert_eq!(
        enc(&envelope(1, Request::Status(Status {}))),
        "82a2696401a77265717565737481a673746174757380"
    );
    // A 32-byte string takes the str8 form.
    assert_eq!(&enc(&"x".repeat(32))[..4], "d920");
    // Error context fields that are None are left out, not sent as nil.
    assert_eq!(
        enc(&ErrorReply::new(ErrorCode::NotFound, "")),
        "82a4636f6465a96e6f745f666f756e64a76d657373616765a0"
    );
}

/// What a client may rely on when it decodes, and what the hub accepts.
#[test]
fn decoding_is_tolerant_where_documented() {
    // Unknown fields are ignored: {"id":1,"x":nil,"request":{"status":{}}}.
    let extra = unhex("83 a2 6964 01 a1 78 c0 a7 72657175657374 81 a6 737461747573 80");
    assert_eq!(
        frame::decode_body::<RequestEnvelope>(&extra).ok(),
        Some(envelope(1, Request::Status(Status {})))
    );
    // Fields with defaults may be missing: a hello without master_token.
    let mut no_token = round_trip(&Hello {
        master_token: None,
        ..hello()
    });
    let tail = unhex("ac 6d61737465725f746f6b656e c0");
    assert!(no_token.ends_with(&tail));
    no_token.truncate(no_token.len() - tail.len());
    no_token[0] = 0x83;
    assert_eq!(
        frame::decode_body::<Hello>(&no_token).ok(),
        Some(Hello {
            master_token: None,
            ..hello()
        })
    );
    // Integers may come in any width: {"id": uint64 1, …}.
    let wide = unhex("82 a2 6964 cf0000000000000001 a7 72657175657374 81 a6 737461747573 80");
    assert_eq!(
        frame::decode_body::<RequestEnvelope>(&wide).ok(),
        Some(envelope(1, Request::Status(Status {})))
    );
    // An error code this build does not know decodes as Unknown.
    let unknown = unhex("82 a4 636f6465 a3 666f6f a7 6d657373616765 a0");
    assert_eq!(
        frame::decode_body::<ErrorReply>(&unknown)
            .map(|r| r.code)
            .ok(),
        Some(ErrorCode::Unknown)
    );
    // An unknown operation, a missing required field, a negative id, a duplicate key, and a nil
    // where an empty map belongs are errors.
    for bad in [
        "82 a2 6964 01 a7 72657175657374 81 a6 737461747578 80",
        "81 a7 72657175657374 81 a6 737461747573 80",
        "82 a2 6964 ff a7 72657175657374 81 a6 737461747573 80",
        "83 a2 6964 01 a2 6964 02 a7 72657175657374 81 a6 737461747573 80",
        "82 a2 6964 01 a7 72657175657374 81 a6 737461747573 c0",
        "82 a2 6964 01 a7 72657175657374 a6 737461747573",
    ] {
        assert!(
            matches!(
                frame::decode_body::<RequestEnvelope>(&unhex(bad)),
                Err(FrameError::Decode(_))
            ),
            "{bad}"
        );
    }
}

/// The document specifies named fields: a struct sent as an array of its fields, a field or an
/// enum variant given by number, are refused at any depth, although rmp-serde alone takes them.
#[test]
fn positional_structs_and_numbered_names_are_refused() {
    fn refused<T: DeserializeOwned + Debug>(what: &str, body: &[u8]) {
        let decoded = frame::decode_body::<T>(body);
        assert!(
            matches!(decoded, Err(FrameError::Decode(_))),
            "{what}: {decoded:?}"
        );
    }
    fn plain_rmp_accepts<T: DeserializeOwned>(what: &str, body: &[u8]) {
        assert!(rmp_serde::from_slice::<T>(body).is_ok(), "{what}");
    }

    // Whole messages encoded positionally (rmp-serde's default), at every level.
    let hello = rmp_serde::to_vec(&hello()).unwrap();
    plain_rmp_accepts::<Hello>("hello", &hello);
    refused::<Hello>("positional hello", &hello);
    for request in [
        request_scope(),
        get_secret(),
        envelope(7, Request::Status(Status {})),
    ] {
        let positional = rmp_serde::to_vec(&request).unwrap();
        plain_rmp_accepts::<RequestEnvelope>("request", &positional);
        refused::<RequestEnvelope>("positional request", &positional);
    }
    // Named outside, positional inside: {"id": 1, "request": {"get_secret": [token, path]}}.
    let get = match get_secret().request {
        Request::GetSecret(get) => get,
        other => panic!("{other:?}"),
    };
    let mut nested = unhex("82 a2 6964 01 a7 72657175657374 81 aa 6765745f736563726574");
    nested.extend(rmp_serde::to_vec(&get).unwrap());
    plain_rmp_accepts::<RequestEnvelope>("nested", &nested);
    refused::<RequestEnvelope>("positional struct inside a named one", &nested);
    // Fields by number: {0: 1, 1: {"status": {}}}.
    let numbered = unhex("82 00 01 01 81 a6 737461747573 80");
    plain_rmp_accepts::<RequestEnvelope>("numbered", &numbered);
    refused::<RequestEnvelope>("fields by number", &numbered);
    // An operation by number: {"id": 1, "request": {7: {}}} (7 is `status`).
    let variant = unhex("82 a2 6964 01 a7 72657175657374 81 07 80");
    plain_rmp_accepts::<RequestEnvelope>("variant", &variant);
    refused::<RequestEnvelope>("operation by number", &variant);
    // A unit variant (an error code) by number: {"code": 5, "message": ""}.
    let code = unhex("82 a4 636f6465 05 a7 6d657373616765 a0");
    plain_rmp_accepts::<ErrorReply>("code", &code);
    refused::<ErrorReply>("error code by number", &code);
    // The named forms of the same messages still decode.
    assert_eq!(
        frame::decode_body::<RequestEnvelope>(&round_trip(&get_secret())).ok(),
        Some(get_secret())
    );
}

/// A `bad_request` carries the request's id whenever the id can be read.
#[test]
fn request_id_is_read_from_bodies_that_do_not_decode() {
    use auth_hub_protocol::request_id;
    // An unknown operation, id 42: {"id": 42, "request": {"statux": {}}}.
    let unknown = unhex("82 a2 6964 2a a7 72657175657374 81 a6 737461747578 80");
    assert!(frame::decode_body::<RequestEnvelope>(&unknown).is_err());
    assert_eq!(request_id(&unknown), Some(42));
    // An ill-typed field inside a known operation: {"id": 2^64-1, "request": {"get_secret": {"path": 5}}}.
    let ill_typed = unhex(
        "82 a2 6964 cf ffffffffffffffff a7 72657175657374 81 aa 6765745f736563726574 81 a4 70617468 05",
    );
    assert!(frame::decode_body::<RequestEnvelope>(&ill_typed).is_err());
    assert_eq!(request_id(&ill_typed), Some(u64::MAX));
    // No request at all, and the id after it: {"request": nil, "id": 9}.
    assert_eq!(
        request_id(&unhex("82 a7 72657175657374 c0 a2 6964 09")),
        Some(9)
    );
    // No readable id: garbage, a string id, a negative id, a positional envelope.
    for body in [
        "c1",
        "81 a2 6964 a1 31",
        "81 a2 6964 ff",
        "92 2a 81 a6 737461747573 80",
    ] {
        assert_eq!(request_id(&unhex(body)), None, "{body}");
    }
}

/// The encoding of `store_problem: None, audit_problem: None`, the last fields of a status.
const INTEGRITY_TAIL: &[u8] = b"\xadstore_problem\xc0\xadaudit_problem\xc0";
/// An empty `backends`, the status field added after them.
const BACKENDS_TAIL: &[u8] = b"\xa8backends\x90";

/// A hub from before `store_problem` and `audit_problem` sends a status without them; they read
/// as `None`, and set they survive the trip.
#[test]
fn status_without_integrity_problems_decodes() {
    let whole = StatusReply {
        server_version: "0.1.0".into(),
        protocol_version: PROTOCOL_VERSION,
        pid: 1,
        uptime_ms: 2,
        socket: "/s".into(),
        home: "/h".into(),
        store: "file".into(),
        key_source: "none".into(),
        policy_file: "/p".into(),
        policy_error: None,
        keys: 0,
        grants: 0,
        pending: 0,
        has_owner: false,
        session_key: None,
        session_owner: false,
        registered_repos: 0,
        declared: Vec::new(),
        repo_errors: Vec::new(),
        store_problem: None,
        audit_problem: None,
        backends: Vec::new(),
        logins: Vec::new(),
        http_listen: None,
        http_restart: None,
    };
    let mut body = round_trip(&whole);
    assert!(body.ends_with(BACKENDS_TAIL));
    body.truncate(body.len() - BACKENDS_TAIL.len());
    assert!(body.ends_with(INTEGRITY_TAIL));
    body.truncate(body.len() - INTEGRITY_TAIL.len());
    body[2] = 0x13;
    assert_eq!(
        frame::decode_body::<StatusReply>(&body).ok(),
        Some(whole.clone())
    );
    round_trip(&StatusReply {
        store_problem: Some("lost: started empty".into()),
        audit_problem: Some("audit log /h/audit.jsonl is empty or was deleted".into()),
        ..whole
    });
}

/// A hub from before named backends sends list entries without `backend` and lists without
/// `warnings`; they read as `None` and empty.
#[test]
fn list_without_backends_decodes() {
    let list = SecretList {
        entries: vec![SecretEntry {
            path: path("a/b"),
            version: 1,
            created_at: at(0),
            updated_at: at(0),
            backend: None,
        }],
        warnings: Vec::new(),
    };
    let mut body = round_trip(&list);
    let warnings = b"\xa8warnings\x90";
    assert!(body.ends_with(warnings));
    body.truncate(body.len() - warnings.len());
    let backend = b"\xa7backend\xc0";
    assert!(body.ends_with(backend));
    body.truncate(body.len() - backend.len());
    // The list map loses one field (2 → 1), the entry map one (5 → 4).
    assert_eq!(body[0], 0x82);
    body[0] = 0x81;
    let entry = body
        .iter()
        .position(|byte| *byte == 0x85)
        .expect("the entry's map header");
    body[entry] = 0x84;
    assert_eq!(frame::decode_body::<SecretList>(&body).ok(), Some(list));
}

/// A hub from before `anchored` sends a verification without it; it reads as 0.
#[test]
fn audit_verification_without_anchored_decodes() {
    let verification = AuditVerification {
        ok: true,
        lines: 3,
        error: None,
        anchored: 0,
    };
    let mut body = round_trip(&verification);
    let tail = b"\xa8anchored\x00";
    assert!(body.ends_with(tail));
    body.truncate(body.len() - tail.len());
    assert_eq!(body[0], 0x84);
    body[0] = 0x83;
    assert_eq!(
        frame::decode_body::<AuditVerification>(&body).ok(),
        Some(verification)
    );
}

/// A hub from before `registered_repos`, `declared` and `repo_errors` sends a status without
/// them; they read as 0 and empty.
#[test]
fn status_without_registered_repos_decodes() {
    let reply = StatusReply {
        server_version: "0.1.0".into(),
        protocol_version: PROTOCOL_VERSION,
        pid: 1,
        uptime_ms: 2,
        socket: "/s".into(),
        home: "/h".into(),
        store: "memory".into(),
        key_source: "none".into(),
        policy_file: "/p".into(),
        policy_error: None,
        keys: 0,
        grants: 0,
        pending: 0,
        has_owner: false,
        session_key: None,
        session_owner: false,
        registered_repos: 0,
        declared: Vec::new(),
        repo_errors: Vec::new(),
        store_problem: None,
        audit_problem: None,
        backends: Vec::new(),
        logins: Vec::new(),
        http_listen: None,
        http_restart: None,
    };
    let mut body = round_trip(&reply);
    // 22 fields take a map16 header; the fields added later are the last six entries.
    assert_eq!(&body[..3], &[0xde, 0x00, 0x16]);
    body.truncate(body.len() - BACKENDS_TAIL.len());
    body.truncate(body.len() - INTEGRITY_TAIL.len());
    let tail = unhex(
        "b0 72656769737465726564 5f7265706f73 00 \
         a8 6465636c61726564 90 \
         ab 7265706f5f6572726f7273 90",
    );
    assert!(body.ends_with(&tail));
    body.truncate(body.len() - tail.len());
    body[2] = 0x10;
    assert_eq!(frame::decode_body::<StatusReply>(&body).ok(), Some(reply));
}

// ---------------------------------------------------------------------------------------------
// Hostile input.

#[test]
fn truncated_frames_are_errors_at_every_cut() {
    for (name, body) in golden_messages() {
        let mut whole = (body.len() as u32).to_be_bytes().to_vec();
        whole.extend_from_slice(&body);
        for cut in 0..whole.len() {
            let part = &whole[..cut];
            assert!(
                matches!(
                    frame::decode::<ServerMessage>(part, DEFAULT_MAX_FRAME),
                    Err(FrameError::Truncated { .. })
                ),
                "{name} cut at {cut}"
            );
            assert!(matches!(
                frame::read_frame(&mut &part[..], DEFAULT_MAX_FRAME),
                Ok(None) | Err(FrameError::Truncated { .. })
            ));
        }
        for cut in 0..body.len() {
            assert_eq!(
                decode_all_kinds(&body[..cut]),
                0,
                "{name} body cut at {cut}"
            );
        }
    }
}

#[test]
fn oversized_and_empty_lengths_are_refused() {
    let max = 1024;
    for len in [max as u32 + 1, 1 << 20, u32::MAX] {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.push(0x80);
        assert!(matches!(
            frame::decode::<RequestEnvelope>(&bytes, max),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(matches!(
            frame::read_frame(&mut &bytes[..], max),
            Err(FrameError::TooLarge { .. })
        ));
    }
    let mut at_max = (max as u32).to_be_bytes().to_vec();
    at_max.resize(LENGTH_BYTES + max, 0xc0);
    assert!(matches!(
        frame::decode::<RequestEnvelope>(&at_max, max),
        Err(FrameError::Decode(_))
    ));
    assert!(matches!(
        frame::decode::<RequestEnvelope>(&[0, 0, 0, 0, 0x80], max),
        Err(FrameError::Empty)
    ));
    assert!(matches!(
        frame::read_frame(&mut &[0u8, 0, 0, 0][..], max),
        Err(FrameError::Empty)
    ));
    let big = RequestEnvelope {
        id: 1,
        request: Request::PutSecret(PutSecret {
            access_token: None,
            path: path("a/b"),
            value: SecretValue::from("v".repeat(max)),
        }),
    };
    assert!(matches!(
        frame::encode(&big, max),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut body = round_trip(&request_scope());
    body.push(0xc0);
    assert!(matches!(
        frame::decode_body::<RequestEnvelope>(&body),
        Err(FrameError::Decode(_))
    ));
}

#[test]
fn random_bodies_never_panic() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    // Bytes drawn mostly from MessagePack markers so the decoder gets past the first byte.
    let markers = [
        0x80, 0x81, 0x82, 0x83, 0x90, 0x91, 0x92, 0xa0, 0xa2, 0xa4, 0xc0, 0xc2, 0xc3, 0xcc, 0xcd,
        0xce, 0xcf, 0xd0, 0xd3, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xc4, 0xc5, 0xc6, 0xd4,
        0xd8, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xff, 0xe0, 0x7f, 0xc1,
    ];
    let words: [&[u8]; 8] = [
        b"\xa2id",
        b"\xa7request",
        b"\xa6status",
        b"\xa8response",
        b"\xa6result",
        b"\xa2ok",
        b"\xa5event",
        b"\xaaget_secret",
    ];
    for _ in 0..10_000 {
        let len = 1 + rng.below(96);
        let mut body = Vec::with_capacity(len);
        while body.len() < len {
            match rng.below(4) {
                0 => body.push(rng.byte()),
                1 => body.push(markers[rng.below(markers.len())]),
                2 => body.extend_from_slice(words[rng.below(words.len())]),
                _ => body.push(rng.byte() & 0x7f),
            }
        }
        decode_all_kinds(&body);
        let mut framed = (body.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&body);
        let _ = frame::decode::<ServerMessage>(&framed, DEFAULT_MAX_FRAME);
    }
}

#[test]
fn mutated_valid_encodings_never_panic() {
    let mut rng = XorShift(42);
    let mut decoded = 0;
    for (_, body) in golden_messages() {
        for index in 0..body.len() {
            let original = body[index];
            let replacements = [
                0x00,
                0xff,
                0x7f,
                0x80,
                0x8f,
                0x90,
                0x9f,
                0xc0,
                0xc1,
                0xc3,
                0xcf,
                0xd3,
                0xd9,
                0xdb,
                0xdd,
                0xdf,
                original ^ 0x01,
                original ^ 0x80,
                original.wrapping_add(1),
                original.wrapping_sub(1),
                rng.byte(),
            ];
            let mut mutated = body.clone();
            for replacement in replacements {
                mutated[index] = replacement;
                decoded += decode_all_kinds(&mutated);
            }
            // Also drop the byte and insert one.
            let mut shorter = body.clone();
            shorter.remove(index);
            decoded += decode_all_kinds(&shorter);
            let mut longer = body.clone();
            longer.insert(index, rng.byte());
            decoded += decode_all_kinds(&longer);
        }
    }
    assert!(
        decoded > 0,
        "some mutations still decode (e.g. a changed letter in a value)"
    );
}

#[test]
fn deep_nesting_at_top_level_is_an_error() {
    for opener in [0x91u8, 0x81] {
        let mut body = vec![opener; 100_000];
        body.push(0xc0);
        assert_eq!(decode_all_kinds(&body), 0);
    }
}

/// Nesting hidden in an unknown field would reach the decoder's generic, recursive path;
/// `frame::decode_body` refuses nesting deeper than `frame::MAX_DEPTH` before decoding.
#[test]
fn deep_nesting_in_an_unknown_field_hits_the_depth_limit() {
    let result = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| decode_all_kinds(&deeply_nested_unknown_field(100_000)))
        .expect("spawn")
        .join()
        .expect("no panic");
    assert_eq!(result, 0);
}

/// The same on a 2 MiB stack (a tokio worker's default), in debug builds too: rmp-serde's own
/// 1024-level limit needs more stack than that, so `frame::decode_body` sets `MAX_DEPTH`.
#[test]
fn deep_nesting_in_an_unknown_field_fits_a_worker_stack() {
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| decode_all_kinds(&deeply_nested_unknown_field(100_000)))
        .expect("spawn")
        .join()
        .expect("no panic");
    assert_eq!(result, 0);
}

/// `{"id":1,"request":{"status":{}},"x":[[[…nil…]]]}`: valid except for the deep unknown field.
fn deeply_nested_unknown_field(depth: usize) -> Vec<u8> {
    let mut body = unhex("83 a2 6964 01 a7 72657175657374 81 a6 737461747573 80 a1 78");
    body.resize(body.len() + depth, 0x91);
    body.push(0xc0);
    body
}

#[test]
fn invalid_paths_and_scopes_inside_valid_requests_are_decode_errors() {
    let good = round_trip(&get_secret());
    let text = b"github/alice/token";
    let at_path = good
        .windows(text.len())
        .position(|w| w == text)
        .expect("path in body");
    for bad in [
        &b"github/../tokenxx"[..],
        b"github//alice/tok",
        b"/github/alice/tok",
        b"github/alice/tok ",
        b"github/alice/*",
        b"github/alice/tok/",
    ] {
        // Same length as a valid path would need: rewrite the str header and the text.
        let mut body = good[..at_path - 1].to_vec();
        body.push(0xa0 | bad.len() as u8);
        body.extend_from_slice(bad);
        body.extend_from_slice(&good[at_path + text.len()..]);
        assert!(
            matches!(
                frame::decode_body::<RequestEnvelope>(&body),
                Err(FrameError::Decode(_))
            ),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    for bad_len in [257usize, 300] {
        let long = "a".repeat(bad_len);
        let mut body = good[..at_path - 1].to_vec();
        body.push(0xda);
        body.extend_from_slice(&(bad_len as u16).to_be_bytes());
        body.extend_from_slice(long.as_bytes());
        body.extend_from_slice(&good[at_path + text.len()..]);
        assert!(frame::decode_body::<RequestEnvelope>(&body).is_err());
    }
    let scope_body = round_trip(&request_scope());
    let pattern = b"github/alice/*";
    let at_scope = scope_body
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("scope in body");
    for bad in [&b"github/*/alice"[..], b"github/al*ce/x", b"github/alice/."] {
        let mut body = scope_body.clone();
        body[at_scope..at_scope + pattern.len()].copy_from_slice(bad);
        assert!(
            frame::decode_body::<RequestEnvelope>(&body).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // Invalid UTF-8 in a string and an out-of-range timestamp are errors too.
    let mut body = good.clone();
    body[at_path] = 0xff;
    assert!(frame::decode_body::<RequestEnvelope>(&body).is_err());
    let written = round_trip(&response(
        3,
        Response::Written(Written {
            path: path("a"),
            version: 1,
            updated_at: at(0),
        }),
    ));
    let stamp = unhex("cf 0000018bcfe56800");
    let at_stamp = written
        .windows(stamp.len())
        .position(|w| w == stamp)
        .expect("timestamp in body");
    let mut body = written.clone();
    body[at_stamp..at_stamp + stamp.len()].copy_from_slice(&unhex("cf 7fffffffffffffff"));
    assert!(frame::decode_body::<ServerMessage>(&body).is_err());
}

// ---------------------------------------------------------------------------------------------
// Hub JWTs and validation for 1st-layer APIs: validate_key, validate_jwt, issue_jwt, jwks.

/// A JWT-shaped token for the identity messages; its signature part, `c2ln`, must never show in
/// `Debug`.
fn example_jwt() -> auth_hub_protocol::Jwt {
    auth_hub_protocol::Jwt::from("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJrZXk6Y2kifQ.c2ln")
}

/// Every identity request (validate_key, validate_jwt, issue_jwt, jwks), with its options.
fn identity_requests() -> Vec<Request> {
    use auth_hub_protocol::identity::{IssueJwt, Jwks, SubjectToken, ValidateJwt, ValidateKey};
    use auth_hub_protocol::ProviderId;

    let jwt = example_jwt;
    let provider: ProviderId = "osf/cli/oidc".parse().expect("provider id");
    vec![
        Request::ValidateKey(ValidateKey {
            key: master_token(),
        }),
        Request::ValidateJwt(ValidateJwt {
            token: jwt(),
            provider: Some(provider.clone()),
            audience: Some("api".to_owned()),
        }),
        Request::ValidateJwt(ValidateJwt {
            token: jwt(),
            provider: None,
            audience: None,
        }),
        Request::IssueJwt(IssueJwt {
            subject: None,
            audience: "api".to_owned(),
            ttl_ms: Some(600_000),
        }),
        Request::IssueJwt(IssueJwt {
            subject: Some(SubjectToken::Key(master_token())),
            audience: "api".to_owned(),
            ttl_ms: None,
        }),
        Request::IssueJwt(IssueJwt {
            subject: Some(SubjectToken::Jwt {
                token: jwt(),
                provider: Some(provider.clone()),
            }),
            audience: "api".to_owned(),
            ttl_ms: None,
        }),
        Request::Jwks(Jwks {}),
    ]
}

#[test]
fn hub_jwt_messages_round_trip_and_never_debug_a_token() {
    use auth_hub_protocol::identity::KeyState;

    for (id, request) in identity_requests().into_iter().enumerate() {
        let debug = format!("{request:?}");
        assert!(!debug.contains("c2ln"), "a JWT in Debug: {debug}");
        assert!(
            !debug.contains(master_token().expose()),
            "a key in Debug: {debug}"
        );
        round_trip(&envelope(id as u64, request));
    }
    for (id, ok) in identity_responses().into_iter().enumerate() {
        round_trip(&response(id as u64, ok));
    }
    // Every key state has its documented wire name.
    for (state, name) in [
        (KeyState::Active, "active"),
        (KeyState::Revoked, "revoked"),
        (KeyState::Expired, "expired"),
        (KeyState::Unknown, "unknown"),
        (KeyState::Malformed, "malformed"),
    ] {
        let body = frame::encode_body(&state).expect("encodes");
        let text: String = frame::decode_body(&body).expect("a string");
        assert_eq!(text, name);
    }
}

/// Every identity answer, active and not.
fn identity_responses() -> Vec<Response> {
    use auth_hub_protocol::identity::{
        IssuedJwt, JwksReply, JwtValidation, KeyState, KeyValidation,
    };
    use auth_hub_protocol::ProviderId;

    let jwt = example_jwt;
    let provider: ProviderId = "osf/cli/oidc".parse().expect("provider id");
    vec![
        Response::KeyValidation(KeyValidation {
            state: KeyState::Active,
            name: Some("ci".to_owned()),
            owner: false,
            scopes: vec![scope("cargo/*")],
            permissions: Permissions::READ,
            expires_at: Some(at(60_000)),
            revoked_at: None,
        }),
        Response::KeyValidation(KeyValidation {
            state: KeyState::Revoked,
            name: Some("old".to_owned()),
            owner: false,
            scopes: Vec::new(),
            permissions: Permissions::default(),
            expires_at: None,
            revoked_at: Some(at(0)),
        }),
        Response::JwtValidation(JwtValidation {
            active: true,
            reason: None,
            provider: Some(provider),
            claims_json: Some(r#"{"sub":"u1"}"#.to_owned()),
        }),
        Response::JwtValidation(JwtValidation {
            active: false,
            reason: Some("expired".to_owned()),
            provider: None,
            claims_json: None,
        }),
        Response::JwtIssued(IssuedJwt {
            token: jwt(),
            kid: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".to_owned(),
            expires_at: at(300_000),
        }),
        Response::Jwks(JwksReply {
            jwks_json: r#"{"keys":[]}"#.to_owned(),
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// OIDC logins: oidc_login, oidc_refresh and the session they answer.

/// Every OIDC login request.
fn oidc_requests() -> Vec<Request> {
    use auth_hub_protocol::identity::{OidcLogin, OidcRefresh};
    use auth_hub_protocol::ProviderId;

    let provider: ProviderId = "osf/cli/oidc".parse().expect("provider id");
    vec![
        Request::OidcLogin(OidcLogin {
            provider: provider.clone(),
            id_token: example_jwt(),
            access_token: Some(example_jwt()),
            refresh_token: Some(example_jwt()),
            expires_in: Some(3600),
        }),
        Request::OidcLogin(OidcLogin {
            provider: provider.clone(),
            id_token: example_jwt(),
            access_token: None,
            refresh_token: None,
            expires_in: None,
        }),
        Request::OidcRefresh(OidcRefresh { provider }),
    ]
}

/// The OIDC session answer.
fn oidc_responses() -> Vec<Response> {
    vec![Response::OidcSession(example_session())]
}

fn example_session() -> auth_hub_protocol::identity::OidcSession {
    auth_hub_protocol::identity::OidcSession {
        provider: "osf/cli/oidc".parse().expect("provider id"),
        subject: "u1".to_owned(),
        issuer: "http://127.0.0.1:4000".to_owned(),
        name: Some("Carol".to_owned()),
        expires_at: at(3_600_000),
        refreshable: true,
    }
}

#[test]
fn oidc_login_messages_round_trip_and_never_debug_a_token() {
    for (id, request) in oidc_requests().into_iter().enumerate() {
        let debug = format!("{request:?}");
        assert!(!debug.contains("c2ln"), "a token in Debug: {debug}");
        round_trip(&envelope(id as u64, request));
    }
    let session = example_session();
    round_trip(&response(7, Response::OidcSession(session.clone())));
    let value = serde_json::to_value(&session).expect("json");
    assert_eq!(value["provider"], "osf/cli/oidc");
    assert_eq!(value["expires_at"], at(3_600_000).timestamp_millis());
}

// ---------------------------------------------------------------------------------------------
// Tiny support modules.

/// Encoding through a trait object, for the table in `documented_encodings_hold`.
mod erased {
    use serde::Serialize;

    pub trait Encode {
        fn encode(&self) -> Vec<u8>;
    }

    impl<T: Serialize> Encode for T {
        fn encode(&self) -> Vec<u8> {
            auth_hub_protocol::frame::encode_body(self)
                .expect("test value encodes")
                .to_vec()
        }
    }
}

/// Just enough of a MessagePack reader to find a variant name inside an encoded response (so the
/// test does not depend on the Rust types to say which variant it built).
mod rmpv_like {
    #[derive(Debug)]
    pub enum Value {
        Map(Vec<(String, Value)>),
        Other,
    }

    impl Value {
        pub fn path(&self, keys: &[&str]) -> &Value {
            keys.iter().fold(self, |value, key| match value {
                Value::Map(entries) => entries
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v)
                    .unwrap_or_else(|| panic!("no key {key}")),
                Value::Other => panic!("not a map at {key}"),
            })
        }

        pub fn single_key(&self) -> String {
            match self {
                Value::Map(entries) if entries.len() == 1 => entries[0].0.clone(),
                other => panic!("not a one-entry map: {other:?}"),
            }
        }
    }

    pub fn parse(bytes: &[u8]) -> Value {
        let value: serde_value::Any = rmp_serde::from_slice(bytes).expect("valid msgpack");
        value.into()
    }

    mod serde_value {
        use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
        use std::fmt;

        /// Maps with string keys are kept; everything else is skipped.
        pub enum Any {
            Map(Vec<(String, Any)>),
            Other,
        }

        impl<'de> Deserialize<'de> for Any {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Any;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("any value")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Any, A::Error> {
                        let mut entries = Vec::new();
                        while let Some(key) = map.next_key::<String>()? {
                            entries.push((key, map.next_value::<Any>()?));
                        }
                        Ok(Any::Map(entries))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Any, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(Any::Other)
                    }
                    fn visit_bool<E>(self, _: bool) -> Result<Any, E> {
                        Ok(Any::Other)
                    }
                    fn visit_i64<E>(self, _: i64) -> Result<Any, E> {
                        Ok(Any::Other)
                    }
                    fn visit_u64<E>(self, _: u64) -> Result<Any, E> {
                        Ok(Any::Other)
                    }
                    fn visit_str<E>(self, _: &str) -> Result<Any, E> {
                        Ok(Any::Other)
                    }
                    fn visit_unit<E>(self) -> Result<Any, E> {
                        Ok(Any::Other)
                    }
                    fn visit_none<E>(self) -> Result<Any, E> {
                        Ok(Any::Other)
                    }
                }
                d.deserialize_any(V)
            }
        }

        impl From<Any> for super::Value {
            fn from(any: Any) -> Self {
                match any {
                    Any::Map(entries) => {
                        super::Value::Map(entries.into_iter().map(|(k, v)| (k, v.into())).collect())
                    }
                    Any::Other => super::Value::Other,
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AuthProvider records and the API key model (issue 14, part "providers").

mod provider_records {
    use auth_hub_protocol::provider::{
        Actor, AddProvider, ListProviders, ProviderChange, ProviderFields, ProviderHistory,
        ProviderHistoryReply, ProviderList, ProviderRecord, ProviderReply, ProviderVersion,
        RemoveProvider, ShowProvider, UpdateProvider,
    };
    use auth_hub_protocol::request::CreateKey;
    use auth_hub_protocol::response::{KeyCreated, KeyList, ResponseEnvelope, ResponseResult};
    use auth_hub_protocol::{
        ErrorCode, ErrorReply, Permissions, ProviderId, Request, Response, ServerMessage,
    };

    use super::{at, envelope, key_info, response, round_trip, scope};

    fn id() -> ProviderId {
        ProviderId::parse("osf/cli/oidc").expect("address")
    }

    fn actor() -> Actor {
        Actor {
            key: "owner".into(),
            uid: 1000,
            pid: Some(4242),
            exe: Some("/usr/bin/hyperforge".into()),
        }
    }

    fn record(version: u64) -> ProviderRecord {
        ProviderRecord {
            id: id(),
            version,
            fields: ProviderFields {
                service_handle: Some("/osf/cli".into()),
                issuer: Some("https://id.example.com".into()),
                client_id: Some("hyperforge".into()),
                scopes: vec!["openid".into(), "email".into()],
                audiences: vec!["hyperforge".into()],
                algorithms: vec!["RS256".into(), "EdDSA".into()],
                extra: [("team".to_owned(), "infra".to_owned())].into(),
            },
            created_at: at(0),
            created_by: actor(),
            updated_at: at(1_000),
            updated_by: Actor {
                pid: None,
                exe: None,
                ..actor()
            },
            deleted_at: (version == 3).then(|| at(2_000)),
        }
    }

    /// Every provider request, and `create_key` with `validate`.
    pub(super) fn requests() -> Vec<Request> {
        vec![
            Request::AddProvider(AddProvider {
                id: id(),
                fields: record(1).fields,
            }),
            Request::AddProvider(AddProvider {
                id: ProviderId::parse("osf/cli/tauth-key").expect("address"),
                fields: ProviderFields::default(),
            }),
            Request::UpdateProvider(UpdateProvider {
                id: id(),
                change: ProviderChange {
                    service_handle: Some(String::new()),
                    issuer: None,
                    client_id: Some("cli2".into()),
                    scopes: Some(vec!["openid".into()]),
                    audiences: None,
                    algorithms: Some(vec!["ES256".into()]),
                    set_extra: [("k".to_owned(), "v".to_owned())].into(),
                    unset_extra: vec!["team".into()],
                },
            }),
            Request::ListProviders(ListProviders { all: true }),
            Request::ShowProvider(ShowProvider { id: id() }),
            Request::ProviderHistory(ProviderHistory { id: id() }),
            Request::RemoveProvider(RemoveProvider { id: id() }),
            Request::CreateKey(CreateKey {
                name: "api".into(),
                scopes: vec![scope("cargo/*")],
                permissions: Permissions::READ,
                expires_at_ms: None,
                validate: true,
            }),
        ]
    }

    #[test]
    fn every_provider_request_round_trips() {
        for (index, request) in requests().into_iter().enumerate() {
            round_trip(&envelope(index as u64, request));
        }
    }

    #[test]
    fn every_provider_response_round_trips() {
        for (id, ok) in responses().into_iter().enumerate() {
            round_trip(&response(id as u64, ok));
        }
    }

    /// Every provider answer, and keys with the new fields.
    pub(super) fn responses() -> Vec<Response> {
        let mut revoked = key_info(false);
        revoked.id = "ab".repeat(32);
        revoked.validate = true;
        revoked.created_by = Some(actor());
        revoked.revoked_at = Some(at(5_000));
        revoked.revoked_by = Some(actor());
        vec![
            Response::Provider(ProviderReply { record: record(2) }),
            Response::Providers(ProviderList {
                records: vec![record(2), record(3)],
            }),
            Response::ProviderHistory(ProviderHistoryReply {
                versions: vec![
                    ProviderVersion {
                        action: "add".into(),
                        changed: vec!["issuer".into(), "client_id".into()],
                        record: record(1),
                    },
                    ProviderVersion {
                        action: "remove".into(),
                        changed: Vec::new(),
                        record: record(3),
                    },
                ],
            }),
            Response::Keys(KeyList {
                keys: vec![key_info(true), revoked.clone()],
            }),
            Response::KeyCreated(KeyCreated {
                key: None,
                info: revoked,
            }),
        ]
    }

    #[test]
    fn a_provider_address_is_one_string_on_the_wire() {
        let body = round_trip(&ShowProvider { id: id() });
        let expected = rmp_serde::to_vec_named(&serde_json::json!({"id": "osf/cli/oidc"}))
            .expect("map encodes");
        assert_eq!(body, expected);
        // A malformed address is a decode error, never a panic.
        let bad = rmp_serde::to_vec_named(&serde_json::json!({"id": "osf/cli"})).expect("map");
        assert!(auth_hub_protocol::frame::decode_body::<ShowProvider>(&bad).is_err());
    }

    #[test]
    fn conflict_is_its_own_code() {
        let body = round_trip(&ErrorCode::Conflict);
        assert_eq!(body, rmp_serde::to_vec("conflict").expect("string encodes"));
        round_trip(&ServerMessage::Response(ResponseEnvelope {
            id: 9,
            result: ResponseResult::Error(ErrorReply::new(
                ErrorCode::Conflict,
                "provider osf/cli/oidc already exists",
            )),
        }));
    }

    #[test]
    fn create_key_without_validate_encodes_as_before() {
        let plain = CreateKey {
            name: "ci".into(),
            scopes: Vec::new(),
            permissions: Permissions::READ,
            expires_at_ms: None,
            validate: false,
        };
        let body = round_trip(&plain);
        // A map of the four fields older hubs know (fixmap header 0x84), no `validate`.
        assert_eq!(body[0], 0x84, "older hubs see the request they know");
        assert!(!body.windows(8).any(|w| w == b"validate"));
        let with = round_trip(&CreateKey {
            validate: true,
            ..plain
        });
        assert_eq!(with[0], 0x85);
    }
}
