//! The attacker tasks of the abuse generator (`auth-hub-abuse`): idle connections, slow-loris
//! trickles, impossible and half-sent frames, pipelines that never read, clients that vanish
//! mid-request, and a flood of owner scope requests that wait for a prompt. Each runs until the
//! stop flag and counts what the hub did to it in a [`Tally`]. They live here, apart from the
//! binary, so the binary reads as its arguments and its run, and each attack reads on its own.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_hub_client::{HubClient, Permissions, SecretScope};
use auth_hub_protocol::request::Status;
use auth_hub_protocol::response::ScopeResult;
use auth_hub_protocol::{MasterToken, Request, DEFAULT_MAX_FRAME};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::time::{sleep, timeout, timeout_at};

use crate::abuse::owner;
use crate::abuse::tally::Tally;
use crate::abuse::wire;

/// Connects (at most 64 connects in flight across all idle tasks, retrying refused ones),
/// optionally says hello, then holds the connection until the end. A connection the hub closes
/// is counted and replaced.
pub async fn idle(
    socket: PathBuf,
    with_hello: bool,
    gate: Arc<tokio::sync::Semaphore>,
    up: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    tally: Tally,
    deadline: tokio::time::Instant,
) {
    let kind = if with_hello {
        "idle after hello"
    } else {
        "idle without hello"
    };
    let mut counted = false;
    while !stop.load(Ordering::Relaxed) {
        let stream = {
            let Ok(_permit) = gate.acquire().await else {
                return;
            };
            match connect_and_greet(&socket, with_hello).await {
                Ok(stream) => stream,
                Err(why) => {
                    tally.note(kind, why);
                    sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        };
        if !counted {
            up.fetch_add(1, Ordering::Relaxed);
            counted = true;
        }
        let mut stream = stream;
        // Hold it; poll the stop flag once a second.
        loop {
            let read = timeout(
                Duration::from_secs(1),
                wire::read_frame(&mut stream, DEFAULT_MAX_FRAME),
            )
            .await;
            match read {
                Err(_) if stop.load(Ordering::Relaxed) => {
                    tally.note(kind, "held open to the end");
                    return;
                }
                Err(_) => continue,
                Ok(result) => {
                    let why = if with_hello {
                        "after hello"
                    } else {
                        "before hello"
                    };
                    tally.note(kind, format!("{} {why}", wire::classify_end(&result)));
                    break;
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            return;
        }
    }
}

/// Connects and, if asked, completes a keyless hello.
pub async fn connect_and_greet(
    socket: &Path,
    with_hello: bool,
) -> std::result::Result<UnixStream, String> {
    let mut stream = match timeout(Duration::from_secs(5), UnixStream::connect(socket)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => return Err(format!("refused at connect ({})", error.kind())),
        Err(_) => return Err("connect timed out".into()),
    };
    if with_hello {
        stream
            .write_all(&wire::hello_frame())
            .await
            .map_err(|e| format!("hello write failed ({})", e.kind()))?;
        match timeout(
            Duration::from_secs(5),
            wire::read_frame(&mut stream, DEFAULT_MAX_FRAME),
        )
        .await
        {
            Ok(Ok(Some(body))) if wire::classify_hello_reply(&body) == "welcome" => {}
            Ok(Ok(Some(body))) => {
                return Err(format!(
                    "hello answered {}",
                    wire::classify_hello_reply(&body)
                ))
            }
            Ok(other) => return Err(format!("hello: {}", wire::classify_end(&other))),
            Err(_) => return Err("no welcome within 5 s".into()),
        }
    }
    Ok(stream)
}

/// [`connect_and_greet`] until it succeeds or `stop` is set (`None`); each failure is tallied
/// under `kind` and tried again after 200 ms.
async fn connect_until_stopped(
    socket: &Path,
    with_hello: bool,
    stop: &AtomicBool,
    tally: &Tally,
    kind: &str,
) -> Option<UnixStream> {
    while !stop.load(Ordering::Relaxed) {
        match connect_and_greet(socket, with_hello).await {
            Ok(stream) => return Some(stream),
            Err(why) => {
                tally.note(kind, why);
                sleep(Duration::from_millis(200)).await;
            }
        }
    }
    None
}

/// Trickles a valid frame one byte at a time: the hello itself (`after_hello` false), or a
/// `status` request after a prompt hello. Records how the hub ended it, then starts over.
pub async fn slow_loris(
    socket: PathBuf,
    after_hello: bool,
    trickle: Duration,
    stop: Arc<AtomicBool>,
    tally: Tally,
) {
    let kind = if after_hello {
        "slow-loris request"
    } else {
        "slow-loris hello"
    };
    while let Some(stream) = connect_until_stopped(&socket, after_hello, &stop, &tally, kind).await
    {
        let bytes = if after_hello {
            wire::request_frame(1, Request::Status(Status {}))
        } else {
            wire::hello_frame()
        };
        let (mut reader, mut writer) = stream.into_split();
        let started = Instant::now();
        let trickling = async {
            for byte in &bytes {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                if writer.write_all(&[*byte]).await.is_err() {
                    return true;
                }
                sleep(trickle).await;
            }
            // The whole frame went out: wait for the answer.
            sleep(Duration::from_secs(3_600)).await;
            true
        };
        let outcome = tokio::select! {
            result = wire::read_frame(&mut reader, DEFAULT_MAX_FRAME) => match result {
                Ok(Some(body)) => {
                    let answer = if after_hello {
                        wire::classify_response(&body)
                    } else {
                        wire::classify_hello_reply(&body)
                    };
                    format!("served in full ({answer})")
                }
                other => format!(
                    "{} after {} s",
                    wire::classify_end(&other),
                    bucket_seconds(started.elapsed())
                ),
            },
            cut = trickling => if cut { "write failed: closed by the hub".into() } else { "stopped".into() },
        };
        if outcome != "stopped" {
            tally.note(kind, outcome);
        }
    }
}

/// Rounds a duration to whole seconds for counting ("closed after 5 s").
pub fn bucket_seconds(elapsed: Duration) -> u64 {
    elapsed.as_secs_f64().round() as u64
}

/// Announces a 4 GiB frame before the hello, or one byte over `max_frame` after it, then
/// trickles bytes of the supposed body until the hub answers and closes. Once a second.
pub async fn huge(
    socket: PathBuf,
    after_hello: bool,
    max_frame: usize,
    stop: Arc<AtomicBool>,
    tally: Tally,
) {
    let kind = if after_hello {
        "huge max+1 after hello"
    } else {
        "huge 4 GiB before hello"
    };
    let announce: u32 = if after_hello {
        u32::try_from(max_frame + 1).unwrap_or(u32::MAX)
    } else {
        u32::MAX
    };
    while let Some(stream) = connect_until_stopped(&socket, after_hello, &stop, &tally, kind).await
    {
        let (mut reader, mut writer) = stream.into_split();
        let trickling = async {
            if writer.write_all(&announce.to_be_bytes()).await.is_err() {
                return;
            }
            loop {
                if writer.write_all(&[0x90]).await.is_err() {
                    return;
                }
                sleep(Duration::from_millis(100)).await;
            }
        };
        let limit = tokio::time::Instant::now() + Duration::from_secs(20);
        let answer = tokio::select! {
            result = timeout_at(limit, wire::read_frame(&mut reader, DEFAULT_MAX_FRAME)) => result,
            () = trickling => timeout_at(limit, wire::read_frame(&mut reader, DEFAULT_MAX_FRAME)).await,
        };
        let outcome = match answer {
            Err(_) => "no answer within 20 s".to_owned(),
            Ok(Ok(Some(body))) => {
                let code = if after_hello {
                    wire::classify_response(&body)
                } else {
                    wire::classify_hello_reply(&body)
                };
                let end = timeout(
                    Duration::from_secs(5),
                    wire::read_frame(&mut reader, DEFAULT_MAX_FRAME),
                )
                .await;
                let then = match end {
                    Ok(result) => wire::classify_end(&result),
                    Err(_) => "left open",
                };
                format!("answered {code}, then {then}")
            }
            Ok(other) => format!("{} without an answer", wire::classify_end(&other)),
        };
        tally.note(kind, outcome);
        sleep(Duration::from_secs(1)).await;
    }
}

/// Announces a frame of exactly `max_frame` bytes (before the hello, or after it), sends half of
/// the body and stalls, holding whatever the hub buffered for it, until the hub answers or closes
/// the connection; records which, then starts over. This is the attack that a per-connection
/// limit alone does not stop: every connection stays within the limit.
pub async fn half_frame(
    socket: PathBuf,
    after_hello: bool,
    max_frame: usize,
    stop: Arc<AtomicBool>,
    tally: Tally,
) {
    let kind = if after_hello {
        "half a max frame after hello"
    } else {
        "half a max frame before hello"
    };
    let announce = u32::try_from(max_frame).unwrap_or(u32::MAX);
    let mut bytes = announce.to_be_bytes().to_vec();
    bytes.resize(4 + max_frame / 2, 0x00);
    while let Some(stream) = connect_until_stopped(&socket, after_hello, &stop, &tally, kind).await
    {
        let (mut reader, mut writer) = stream.into_split();
        let started = Instant::now();
        let sending = async {
            // The hub may stop reading (its budget is spent): then this write waits.
            let sent = writer.write_all(&bytes).await.is_ok();
            if sent {
                // Stall, holding the half frame, until the hub ends the connection.
                sleep(Duration::from_secs(3_600)).await;
            }
            sent
        };
        let limit = tokio::time::Instant::now() + Duration::from_secs(30);
        let answer = tokio::select! {
            result = timeout_at(limit, wire::read_frame(&mut reader, DEFAULT_MAX_FRAME)) => result,
            _ = sending => timeout_at(limit, wire::read_frame(&mut reader, DEFAULT_MAX_FRAME)).await,
        };
        let waited = bucket_seconds(started.elapsed());
        let outcome = match answer {
            Err(_) => "held open for 30 s".to_owned(),
            Ok(Ok(Some(body))) => {
                let code = if after_hello {
                    wire::classify_response(&body)
                } else {
                    wire::classify_hello_reply(&body)
                };
                format!("answered {code} after {waited} s")
            }
            Ok(other) => format!("{} after {waited} s", wire::classify_end(&other)),
        };
        if !stop.load(Ordering::Relaxed) {
            tally.note(kind, outcome);
        }
        sleep(Duration::from_millis(100)).await;
    }
}

/// Says hello, then writes `status` requests in batches and never reads an answer, until the
/// hub stops reading (its answers wait for a reader that never comes); holds the connection open
/// to the end. Records how many requests the hub took before it stopped reading.
pub async fn no_read(socket: PathBuf, stop: Arc<AtomicBool>, tally: Tally) {
    let kind = "pipeline, never read";
    let stream = loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        match connect_and_greet(&socket, true).await {
            Ok(stream) => break stream,
            Err(why) => {
                tally.note(kind, why);
                sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let (_reader, mut writer) = stream.into_split();
    let batch: Vec<u8> = (0..64u64)
        .flat_map(|id| wire::request_frame(id + 1, Request::Status(Status {})))
        .collect();
    let mut batches = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            tally.note(kind, "held to the end, still writing");
            return;
        }
        match timeout(Duration::from_secs(1), writer.write_all(&batch)).await {
            Ok(Ok(())) => batches += 1,
            Ok(Err(_)) => {
                tally.note(kind, "closed by the hub");
                return;
            }
            // The hub stopped reading: hold the connection (and whatever it queued) to the end.
            Err(_) => break,
        }
    }
    while !stop.load(Ordering::Relaxed) {
        sleep(Duration::from_millis(200)).await;
    }
    let taken = (batches * 64).next_power_of_two();
    tally.note(
        kind,
        format!("the hub stopped reading after up to {taken} requests; held to the end"),
    );
}

/// Over and over (every 50 ms): half a hello then close; a hello, half a request then close; a
/// hello, a whole request then close without reading the answer.
pub async fn vanish(socket: PathBuf, index: usize, stop: Arc<AtomicBool>, tally: Tally) {
    let mut round = index;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let variant = round % 3;
        let kind = "vanish";
        match connect_and_greet(&socket, variant != 0).await {
            Err(why) => tally.note(kind, why),
            Ok(mut stream) => {
                let (bytes, label) = match variant {
                    0 => {
                        let hello = wire::hello_frame();
                        (hello[..hello.len() / 2].to_vec(), "half a hello, then gone")
                    }
                    1 => {
                        let request = wire::request_frame(7, Request::Status(Status {}));
                        (
                            request[..request.len() / 2].to_vec(),
                            "half a request, then gone",
                        )
                    }
                    _ => (
                        wire::request_frame(7, Request::Status(Status {})),
                        "a whole request, gone before the answer",
                    ),
                };
                match stream.write_all(&bytes).await {
                    Ok(()) => tally.note(kind, label),
                    Err(error) => tally.note(kind, format!("write failed ({})", error.kind())),
                }
            }
        }
        sleep(Duration::from_millis(50)).await;
    }
}

/// One owner scope request for a scope of its own that waits for a prompt; records whether the
/// hub queued it (still waiting when the run ends) or refused it at once, and with what.
pub async fn pending_request(
    socket: PathBuf,
    token: MasterToken,
    index: usize,
    wait: Duration,
    tally: Tally,
) {
    let kind = "pending flood";
    let mut options = owner::options(&socket, Some(token), "abuse-pending");
    options.wait = wait;
    let client = HubClient::new(options);
    let scope = match SecretScope::parse(&format!("flood/s{index}/*")) {
        Ok(scope) => scope,
        Err(_) => return,
    };
    let started = Instant::now();
    // A note that the request is queued, in case the run ends before the answer (task aborted).
    let waiting = Arc::new(Mutex::new(Some(tally.clone())));
    let marker = waiting.clone();
    let queued = tokio::spawn(async move {
        sleep(Duration::from_secs(1)).await;
        if let Some(tally) = marker.lock().expect("no holder panics").as_ref() {
            tally.note("pending flood", "still waiting after 1 s (queued)");
        }
    });
    let result = client
        .request_scopes(&[scope], Permissions::READ, wait)
        .await;
    queued.abort();
    waiting.lock().expect("no holder panics").take();
    let at_once = if started.elapsed() < Duration::from_secs(1) {
        "at once"
    } else {
        "later"
    };
    let outcome = match result {
        Ok(outcomes) => match outcomes.into_iter().next().map(|outcome| outcome.result) {
            Some(ScopeResult::Granted(_)) => "granted".to_owned(),
            Some(ScopeResult::Error(reply)) => reply.code.as_str().to_owned(),
            None => "no outcome".to_owned(),
        },
        Err(error) => error
            .code()
            .map_or("client error", |code| code.as_str())
            .to_owned(),
    };
    tally.note(kind, format!("answered {outcome} {at_once}"));
}
