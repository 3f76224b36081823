//! Hostile input on the socket: oversized announced lengths, truncated frames, garbage, a hello
//! that never comes, thousands of idle connections. Each gets an error or a closed connection;
//! the hub keeps serving everyone else and its memory stays bounded.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use auth_hub_protocol::frame::{decode_body, encode, read_frame};
use auth_hub_protocol::{Hello, HelloReply, DEFAULT_MAX_FRAME, PROTOCOL_VERSION};
use auth_hub_tests::{wait_until, TestHub};

const QUICK_HELLO: &str = "[server]\nhello_timeout = \"500ms\"\n";

/// Reads until the hub closes the connection; panics if it stays open longer than `limit`.
fn assert_closed_within(stream: &mut UnixStream, limit: Duration) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let start = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(error) => panic!("connection still open after {:?}: {error}", start.elapsed()),
        }
    }
}

fn hello_bytes() -> Vec<u8> {
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        client_name: "hostile".into(),
        client_version: "0".into(),
        master_token: None,
    };
    encode(&hello, DEFAULT_MAX_FRAME).unwrap()
}

/// A raw connection whose keyless hello the hub has welcomed.
fn connect_after_hello(hub: &TestHub) -> UnixStream {
    let mut stream = UnixStream::connect(hub.socket()).unwrap();
    stream.write_all(&hello_bytes()).unwrap();
    read_frame(&mut stream, DEFAULT_MAX_FRAME)
        .unwrap()
        .expect("welcome");
    stream
}

/// The hub still answers a normal client.
fn assert_serving(hub: &TestHub) {
    hub.run(&["auth", "status"], None).assert_code(0);
}

#[test]
fn oversized_announced_length_is_refused_without_allocating() {
    let hub = TestHub::start("");
    for prefix in [
        [0xff, 0xff, 0xff, 0xff],
        [0x00, 0x10, 0x00, 0x01],
        [0, 0, 0, 0],
    ] {
        let mut stream = UnixStream::connect(hub.socket()).unwrap();
        stream.write_all(&prefix).unwrap();
        // The hub answers with a bad_request hello error, then closes.
        let reply = read_frame(&mut stream, DEFAULT_MAX_FRAME)
            .unwrap()
            .expect("an error reply");
        let reply: HelloReply = decode_body(&reply).unwrap();
        assert!(matches!(reply, HelloReply::Error(_)), "{reply:?}");
        assert_closed_within(&mut stream, Duration::from_secs(5));
    }
    // The same after a successful hello.
    let mut stream = connect_after_hello(&hub);
    stream.write_all(&[0x7f, 0xff, 0xff, 0xff]).unwrap();
    assert_closed_within(&mut stream, Duration::from_secs(5));
    assert_serving(&hub);
    let (peak_kib, _) = hub.memory_kib();
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn truncated_frames_and_garbage_are_survived() {
    let hub = TestHub::start(QUICK_HELLO);
    // Truncated hello: announces 100 bytes, sends 10, hangs up.
    let mut stream = UnixStream::connect(hub.socket()).unwrap();
    stream.write_all(&[0, 0, 0, 100]).unwrap();
    stream.write_all(&[0x81; 10]).unwrap();
    drop(stream);
    // Garbage of every shape.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..200 {
        let mut stream = UnixStream::connect(hub.socket()).unwrap();
        let len = (seed % 64) as usize + 1;
        let mut bytes = vec![0u8; len + 4];
        bytes[..4].copy_from_slice(&(len as u32).to_be_bytes());
        for byte in &mut bytes[4..] {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *byte = seed as u8;
        }
        let _ = stream.write_all(&bytes);
        assert_closed_within(&mut stream, Duration::from_secs(5));
    }
    // Garbage after a valid hello gets an error response and the connection keeps working.
    let mut stream = connect_after_hello(&hub);
    stream.write_all(&[0, 0, 0, 3, 0xc1, 0xc1, 0xc1]).unwrap();
    let reply = read_frame(&mut stream, DEFAULT_MAX_FRAME)
        .unwrap()
        .expect("error response");
    let message: auth_hub_protocol::ServerMessage = decode_body(&reply).unwrap();
    match message {
        auth_hub_protocol::ServerMessage::Response(response) => {
            assert_eq!(response.id, 0);
            assert!(matches!(
                response.result,
                auth_hub_protocol::ResponseResult::Error(_)
            ));
        }
        other => panic!("{other:?}"),
    }
    assert_serving(&hub);
}

#[test]
fn a_hello_that_never_comes_is_timed_out() {
    let hub = TestHub::start(QUICK_HELLO);
    let mut silent = UnixStream::connect(hub.socket()).unwrap();
    let mut slow = UnixStream::connect(hub.socket()).unwrap();
    // Slow-loris: one byte of the length prefix, then nothing.
    slow.write_all(&[0]).unwrap();
    assert_closed_within(&mut silent, Duration::from_secs(5));
    assert_closed_within(&mut slow, Duration::from_secs(5));
    assert_serving(&hub);
}

#[test]
fn a_frame_trickled_after_the_hello_is_cut_off() {
    let hub = TestHub::start(QUICK_HELLO);
    let mut stream = connect_after_hello(&hub);
    // Announces a 1 000-byte request, sends one byte of it, then stalls.
    stream.write_all(&[0, 0, 3, 0xe8, 0x82]).unwrap();
    assert_closed_within(&mut stream, Duration::from_secs(5));
    // An idle connection after its hello is left alone for longer than that.
    let mut idle = connect_after_hello(&hub);
    idle.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let still_open = matches!(idle.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut);
    assert!(still_open, "an idle connection was closed");
    assert_serving(&hub);
}

#[test]
fn thousands_of_idle_connections_do_not_stop_service() {
    // 3 000 idle connections, or as many as this machine's hard limit on open files allows.
    let count = (raise_fd_limit(8192).saturating_sub(200) as usize).min(3000);
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("v"))
        .assert_code(0);
    hub.run(&["auth", "grant", "cargo/*"], None).assert_code(0);
    let idle: Vec<UnixStream> = (0..count)
        .map(|_| UnixStream::connect(hub.socket()).expect("connect"))
        .collect();
    let start = Instant::now();
    let run = hub.run(&["auth", "get", "cargo/token"], None);
    run.assert_code(0);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "served in {:?}",
        start.elapsed()
    );
    let (peak_kib, _) = hub.memory_kib();
    assert!(
        peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB with {} idle connections",
        idle.len()
    );
    drop(idle);
    assert_serving(&hub);
}

/// Raises this process's soft limit on open files towards `want`; returns the limit in force.
fn raise_fd_limit(want: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on our own process with a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}

#[test]
fn a_full_pending_queue_answers_busy_not_bad_request() {
    use auth_hub_client::AuthError;
    use auth_hub_protocol::{Permissions, SecretScope};

    let hub = TestHub::start("");
    let owner = hub.login();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Fill this key's pending cap (32) with requests that wait for the owner, each on its own
        // connection (a connection also caps its requests in flight at 32).
        let mut waiting = Vec::new();
        for index in 0..32 {
            let client = hub.client(&owner);
            waiting.push(tokio::spawn(async move {
                let scope = SecretScope::parse(&format!("flood/s{index}/*")).unwrap();
                client
                    .request_scopes(&[scope], Permissions::READ, Duration::from_secs(30))
                    .await
            }));
        }
        let full = wait_until(Duration::from_secs(10), || {
            let run = hub.run(&["--json", "auth", "pending"], None);
            (run.json().as_array().map_or(0, Vec::len) == 32).then_some(())
        });
        assert!(full.is_some(), "32 requests wait");

        let scope = SecretScope::parse("flood/one-more/*").unwrap();
        let refused = hub
            .client(&owner)
            .request_scopes(&[scope], Permissions::READ, Duration::from_secs(30))
            .await;
        assert!(
            matches!(refused, Err(AuthError::Busy(_))),
            "a full queue is `busy`: {refused:?}"
        );
        hub.run(&["auth", "deny", "flood/*"], None).assert_code(0);
        for task in waiting {
            task.await.unwrap().unwrap();
        }
    });
}

/// The error code of a hub frame, before the hello (a hello reply) or after it (a response).
fn error_code_of(body: &[u8]) -> Option<String> {
    if let Ok(HelloReply::Error(reply)) = decode_body::<HelloReply>(body) {
        return Some(reply.code.as_str().to_owned());
    }
    match decode_body::<auth_hub_protocol::ServerMessage>(body) {
        Ok(auth_hub_protocol::ServerMessage::Response(response)) => match response.result {
            auth_hub_protocol::ResponseResult::Error(reply) => Some(reply.code.as_str().to_owned()),
            auth_hub_protocol::ResponseResult::Ok(_) => None,
        },
        _ => None,
    }
}

#[test]
fn half_sent_max_frames_share_one_memory_budget() {
    let hub = TestHub::start("");
    hub.login();
    let (_, rss_before) = hub.memory_kib();
    // 100 connections (half of them after a hello) each announce a 1 MiB frame, send half of it
    // and stall: without a shared budget the hub would hold ~50 MiB for them.
    let attackers: Vec<_> = (0..100)
        .map(|index| {
            let socket = hub.socket();
            std::thread::spawn(move || {
                let mut stream = UnixStream::connect(&socket).unwrap();
                if index % 2 == 1 {
                    stream.write_all(&hello_bytes()).unwrap();
                    read_frame(&mut stream, DEFAULT_MAX_FRAME)
                        .unwrap()
                        .expect("welcome");
                }
                let announce = u32::try_from(DEFAULT_MAX_FRAME).unwrap();
                let mut bytes = announce.to_be_bytes().to_vec();
                bytes.resize(4 + DEFAULT_MAX_FRAME / 2, 0);
                stream
                    .set_write_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                // Fails once the hub refused the frame and closed the connection.
                let _ = stream.write_all(&bytes);
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                // The hub answers `busy` at once when the budget is spent, or closes the
                // stalled connection once its frame makes no progress.
                read_frame(&mut stream, DEFAULT_MAX_FRAME)
                    .ok()
                    .flatten()
                    .and_then(|body| error_code_of(&body))
            })
        })
        .collect();
    // Small requests never wait for that budget: legitimate clients are served meanwhile.
    hub.run(&["auth", "put", "budget/small"], Some("v"))
        .assert_code(0);
    assert_serving(&hub);
    let codes: Vec<Option<String>> = attackers.into_iter().map(|t| t.join().unwrap()).collect();
    let busy = codes
        .iter()
        .filter(|code| code.as_deref() == Some("busy"))
        .count();
    assert!(busy > 0, "no connection was told busy: {codes:?}");
    assert!(
        codes
            .iter()
            .all(|code| code.is_none() || code.as_deref() == Some("busy")),
        "{codes:?}"
    );
    let (peak_kib, _) = hub.memory_kib();
    assert!(
        peak_kib < rss_before + 16 * 1024,
        "peak RSS {peak_kib} KiB, {rss_before} KiB before the attack"
    );
    // Once the attackers are gone, a large frame gets the budget again.
    let large = "x".repeat(200_000);
    hub.run(&["auth", "put", "budget/large"], Some(&large))
        .assert_code(0);
    assert_serving(&hub);
}

/// Reads one response after the hello; returns its id and error code (`None` for a success).
fn read_response(stream: &mut UnixStream) -> (u64, Option<String>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = read_frame(stream, DEFAULT_MAX_FRAME)
        .unwrap()
        .expect("a response");
    match decode_body::<auth_hub_protocol::ServerMessage>(&body).unwrap() {
        auth_hub_protocol::ServerMessage::Response(response) => {
            let code = match response.result {
                auth_hub_protocol::ResponseResult::Error(reply) => {
                    Some(reply.code.as_str().to_owned())
                }
                auth_hub_protocol::ResponseResult::Ok(_) => None,
            };
            (response.id, code)
        }
        other => panic!("{other:?}"),
    }
}

/// Frames `body` with its length prefix.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    frame
}

#[test]
fn bad_requests_carry_the_id_and_positional_messages_are_refused() {
    use auth_hub_protocol::{Request, RequestEnvelope};

    let hub = TestHub::start("");
    let mut stream = connect_after_hello(&hub);
    // {"id": 42, "request": {"no_such_op": {}}}: the id is readable, the operation is not.
    let mut unknown = vec![0x82, 0xa2, b'i', b'd', 42, 0xa7];
    unknown.extend_from_slice(b"request");
    unknown.extend_from_slice(&[0x81, 0xaa]);
    unknown.extend_from_slice(b"no_such_op");
    unknown.push(0x80);
    stream.write_all(&framed(&unknown)).unwrap();
    assert_eq!(
        read_response(&mut stream),
        (42, Some("bad_request".to_owned()))
    );
    // A request encoded positionally ([7, {"status": []}], rmp-serde's default) is refused like
    // any malformed message; its id is not read from a position either.
    let status = RequestEnvelope {
        id: 7,
        request: Request::Status(auth_hub_protocol::request::Status {}),
    };
    let mut positional = vec![0x92, 7, 0x81, 0xa6];
    positional.extend_from_slice(b"status");
    positional.push(0x90);
    stream.write_all(&framed(&positional)).unwrap();
    assert_eq!(
        read_response(&mut stream),
        (0, Some("bad_request".to_owned()))
    );
    // The connection goes on: the same request with named fields is served.
    stream
        .write_all(&encode(&status, DEFAULT_MAX_FRAME).unwrap())
        .unwrap();
    assert_eq!(read_response(&mut stream), (7, None));

    // A positional hello is refused before anything else.
    // [protocol_version, "positional", "0", nil]
    let mut hello = vec![0x94, u8::try_from(PROTOCOL_VERSION).unwrap(), 0xaa];
    hello.extend_from_slice(b"positional");
    hello.extend_from_slice(&[0xa1, b'0', 0xc0]);
    let mut stream = UnixStream::connect(hub.socket()).unwrap();
    stream.write_all(&framed(&hello)).unwrap();
    let reply = read_frame(&mut stream, DEFAULT_MAX_FRAME)
        .unwrap()
        .expect("a hello reply");
    match decode_body::<HelloReply>(&reply).unwrap() {
        HelloReply::Error(reply) => {
            assert_eq!(reply.code.as_str(), "bad_request", "{reply:?}");
            assert!(reply.message.contains("named fields"), "{reply:?}");
        }
        other => panic!("a positional hello was welcomed: {other:?}"),
    }
    assert_closed_within(&mut stream, Duration::from_secs(5));
    assert_serving(&hub);
}

#[test]
fn clients_that_never_read_their_answers_do_not_grow_the_hub() {
    let hub = TestHub::start("");
    let (_, rss_before) = hub.memory_kib();
    // {"id": 1, "request": {"no_such_op": {}}}: a 27-byte request answered by a long
    // bad_request, 64 at a time.
    let mut unknown = vec![0x82, 0xa2, b'i', b'd', 1, 0xa7];
    unknown.extend_from_slice(b"request");
    unknown.extend_from_slice(&[0x81, 0xaa]);
    unknown.extend_from_slice(b"no_such_op");
    unknown.push(0x80);
    let batch: Vec<u8> = std::iter::repeat_n(framed(&unknown), 64)
        .flatten()
        .collect();
    // 100 connections pipeline requests and never read, until the hub stops reading them.
    let writers: Vec<_> = (0..100)
        .map(|_| {
            let mut stream = connect_after_hello(&hub);
            let batch = batch.clone();
            std::thread::spawn(move || {
                stream
                    .set_write_timeout(Some(Duration::from_millis(500)))
                    .unwrap();
                while stream.write_all(&batch).is_ok() {}
                stream
            })
        })
        .collect();
    let held: Vec<UnixStream> = writers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_serving(&hub);
    let (peak_kib, _) = hub.memory_kib();
    assert!(
        peak_kib < rss_before + 12 * 1024,
        "peak RSS {peak_kib} KiB, {rss_before} KiB before {} connections stopped reading",
        held.len()
    );
}
