//! One round trip for a `get` from a fresh connection: the hello and a `get_secret_scoped`
//! written together through a raw socket, a refused hello serving nothing behind it, and the CLI's
//! `auth get` keeping its exit codes and messages when the scope needs the owner.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use auth_hub_protocol::frame::{decode_body, encode, read_frame};
use auth_hub_protocol::request::GetSecretScoped;
use auth_hub_protocol::{
    ErrorCode, Hello, HelloReply, MasterToken, Request, RequestEnvelope, Response, ResponseResult,
    SecretPath, ServerMessage, DEFAULT_MAX_FRAME, PROTOCOL_VERSION,
};
use auth_hub_tests::TestHub;

/// A hello with `key` and a `get_secret_scoped` of `path` (id 1), as one byte string.
fn hello_and_get(key: &str, path: &str) -> Vec<u8> {
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        client_name: "pipelined".into(),
        client_version: "0".into(),
        master_token: Some(MasterToken::from(key)),
    };
    let get = RequestEnvelope {
        id: 1,
        request: Request::GetSecretScoped(GetSecretScoped {
            path: SecretPath::parse(path).unwrap(),
        }),
    };
    let mut bytes = encode(&hello, DEFAULT_MAX_FRAME).unwrap();
    bytes.extend(encode(&get, DEFAULT_MAX_FRAME).unwrap());
    bytes
}

fn hello_reply(stream: &mut UnixStream) -> HelloReply {
    let body = read_frame(stream, DEFAULT_MAX_FRAME)
        .unwrap()
        .expect("a reply");
    decode_body(&body).unwrap()
}

#[test]
fn a_get_from_a_fresh_connection_is_one_write_and_one_read() {
    let hub = TestHub::start("[[policy.rule]]\nscope = \"github/alice/*\"\naction = \"allow\"\n");
    let key = hub.login();
    hub.run(
        &["auth", "put", "github/alice/token"],
        Some("ghp_pipelined"),
    )
    .assert_code(0);

    let mut stream = UnixStream::connect(hub.socket()).unwrap();
    stream
        .write_all(&hello_and_get(&key, "github/alice/token"))
        .unwrap();
    // The hub reads the hello and the request at once and writes the welcome with the answer:
    // one `read` here returns both frames.
    let mut received = vec![0u8; 64 * 1024];
    let n = stream.read(&mut received).unwrap();
    let mut both = &received[..n];
    let reply: HelloReply = decode_body(
        &read_frame(&mut both, DEFAULT_MAX_FRAME)
            .unwrap()
            .expect("a welcome"),
    )
    .unwrap();
    assert!(matches!(reply, HelloReply::Welcome(_)), "{reply:?}");
    let body = read_frame(&mut both, DEFAULT_MAX_FRAME)
        .unwrap()
        .expect("the answer in the same read");
    assert!(both.is_empty(), "nothing else was sent");
    let ServerMessage::Response(envelope) = decode_body(&body).unwrap() else {
        panic!("not a response");
    };
    assert_eq!(envelope.id, 1);
    let ResponseResult::Ok(Response::ScopedSecret(answer)) = envelope.result else {
        panic!("not a scoped secret: {:?}", envelope.result);
    };
    assert_eq!(answer.secret.value.expose(), "ghp_pipelined");
    assert_eq!(answer.scope.as_str(), "github/alice/*");

    // The CLI gets the same value (and now asks the same way).
    let got = hub.run(&["auth", "get", "github/alice/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "ghp_pipelined\n");
}

#[test]
fn a_refused_hello_serves_nothing_written_behind_it() {
    let hub = TestHub::start("[[policy.rule]]\nscope = \"*\"\naction = \"allow\"\n");
    hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("ghp_hidden"))
        .assert_code(0);
    let audit_before = hub.run(&["--json", "auth", "audit"], None).stdout;

    let mut stream = UnixStream::connect(hub.socket()).unwrap();
    stream
        .write_all(&hello_and_get(
            "TAUTH_nobody--z3yFd8AXmnGCBDudUhqR5E6jjaGnwh2gg",
            "github/alice/token",
        ))
        .unwrap();
    let reply = hello_reply(&mut stream);
    assert!(
        matches!(&reply, HelloReply::Error(error) if error.code == ErrorCode::InvalidMasterToken),
        "{reply:?}"
    );
    // Then the end (or a reset, as the hub closed with the request unread): no answer.
    match read_frame(&mut stream, DEFAULT_MAX_FRAME) {
        Ok(None) => {}
        Ok(Some(body)) => panic!("answered after a refused hello: {} bytes", body.len()),
        Err(error) => assert!(error.to_string().contains("reset"), "{error}"),
    }
    let audit_after = hub.run(&["--json", "auth", "audit"], None).stdout;
    assert!(
        !audit_before.contains("scope_granted") && !audit_before.contains("\"get_secret\""),
        "{audit_before}"
    );
    assert!(
        !audit_after.contains("scope_granted") && !audit_after.contains("\"get_secret\""),
        "nothing was granted or read: {audit_after}"
    );
}

#[test]
fn a_get_whose_scope_needs_the_owner_keeps_its_exit_code_and_grant_command() {
    let hub = TestHub::start("[policy]\ndefault = \"prompt\"\n");
    hub.login();
    hub.run(&["auth", "put", "github/acme/token"], Some("ghp_acme"))
        .assert_code(0);
    // Not waiting: refused at once, as before, with the command that grants the scope.
    let denied = hub.run(&["auth", "get", "--no-wait", "github/acme/token"], None);
    denied.assert_code(3);
    assert!(
        denied
            .stderr
            .contains("hyperforge auth grant 'github/acme/*'"),
        "{}",
        denied.stderr
    );
    hub.run(&["auth", "grant", "github/acme/*"], None)
        .assert_code(0);
    let got = hub.run(&["auth", "get", "github/acme/token"], None);
    got.assert_code(0);
    assert_eq!(got.stdout, "ghp_acme\n");
}

/// `read_once` (the blocking one-shot read `hyperforge auth get` uses) answers every outcome as
/// the client library does: the secret, the hub's error, a refused key, nothing listening, and a
/// scope left to the owner, which it leaves alone.
#[test]
fn a_blocking_read_once_answers_as_the_client_library() {
    use auth_hub_client::{read_once, AuthError, ReadOnce};

    let hub = TestHub::start("[[policy.rule]]\nscope = \"github/alice/*\"\naction = \"allow\"\n");
    let key = hub.login();
    hub.run(&["auth", "put", "github/alice/token"], Some("ghp_once"))
        .assert_code(0);
    hub.run(&["auth", "put", "github/bob/token"], Some("ghp_bob"))
        .assert_code(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The library's answer to the same read, on a fresh client.
    let library = |key: &str, path: &SecretPath| {
        runtime.block_on(async { hub.client(key).get_secret_now(path).await })
    };
    let options = hub.client_options(Some(&key));
    let path = |text: &str| SecretPath::parse(text).unwrap();

    match read_once(&options, &path("github/alice/token")) {
        Ok(ReadOnce::Secret(secret)) => {
            assert_eq!(secret.value.expose(), "ghp_once");
            assert_eq!(secret.path, path("github/alice/token"));
        }
        other => panic!("{other:?}"),
    }

    let missing = path("github/alice/none");
    let once = read_once(&options, &missing).unwrap_err();
    let lib = library(&key, &missing).unwrap_err();
    assert!(matches!(once, AuthError::SecretNotFound { .. }), "{once:?}");
    assert_eq!(once.to_string(), lib.to_string());

    let stranger = "TAUTH_nobody--z3yFd8AXmnGCBDudUhqR5E6jjaGnwh2gg";
    let once = read_once(&hub.client_options(Some(stranger)), &missing).unwrap_err();
    let lib = library(stranger, &missing).unwrap_err();
    assert!(
        matches!(once, AuthError::InvalidMasterToken { .. }),
        "{once:?}"
    );
    assert_eq!(once.to_string(), lib.to_string());

    // Left to the owner (no rule allows github/bob/*): nothing asked, nothing pending.
    let bob = path("github/bob/token");
    assert!(matches!(read_once(&options, &bob), Ok(ReadOnce::NotAtOnce)));
    assert_eq!(library(&key, &bob).unwrap().map(|s| s.path), None);
    let pending = hub.run(&["--json", "auth", "pending"], None).json();
    assert_eq!(pending.as_array().map(Vec::len), Some(0), "{pending}");

    let mut nowhere = options.clone();
    nowhere.socket = hub.home().join("nothing-here.sock");
    let once = read_once(&nowhere, &missing).unwrap_err();
    assert!(matches!(once, AuthError::Unreachable { .. }), "{once:?}");
}

/// A plain `auth get` whose scope is left to the owner goes the whole way: it says what it waits
/// for, waits, and prints the value once the owner grants it.
#[test]
fn a_plain_get_left_to_the_owner_waits_for_the_grant() {
    use std::process::Stdio;
    use std::time::Duration;

    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "github/carol/token"], Some("ghp_carol"))
        .assert_code(0);
    let getter = hub
        .hyperforge()
        .args(["auth", "get", "github/carol/token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    auth_hub_tests::wait_until(Duration::from_secs(10), || {
        let pending = hub.run(&["--json", "auth", "pending"], None).json();
        (pending.as_array().map(Vec::len) == Some(1)).then_some(())
    })
    .expect("the get waits as pending");
    hub.run(&["auth", "grant", "github/carol/*"], None)
        .assert_code(0);
    let run = auth_hub_tests::Run::from(getter.wait_with_output().unwrap());
    run.assert_code(0);
    assert_eq!(run.stdout, "ghp_carol\n");
    assert!(
        run.stderr
            .contains("waiting for approval of github/carol/*"),
        "{}",
        run.stderr
    );
}
