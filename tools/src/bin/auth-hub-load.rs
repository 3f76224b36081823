//! auth-hub-load: a load generator and the floors its figures are compared with.
//!
//! - `get`: N connections of the real client library doing closed-loop `get_secret` against a
//!   running hub (access token cached, value not cached); prints latency percentiles,
//!   throughput, errors by code and the hub's RSS.
//! - `fresh-get`: a new connection per read, three round trips against one (the hello with
//!   `get_secret_scoped` in one write), alternating in one run.
//! - `pingpong`: the floor for a round trip — a raw Unix-socket ping-pong of 64-byte messages
//!   between two threads, pinned to chosen CPUs.
//! - `echo-server`: the peer of `minimal-round-trip`, the floor for a whole process (start,
//!   connect, one 64-byte round trip, exit), and of `echo-load`.
//! - `echo-load`: the floor for `get` with N connections — N blocking threads doing closed-loop
//!   64-byte round trips against an `echo-server` (a std thread per connection).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use auth_hub_client::{AuthClient, ClientOptions, HubClient, SecretPath};
use auth_hub_protocol::MasterToken;
use auth_hub_tools::abuse::proc_stats;
use auth_hub_tools::abuse::stats::LatencyStats;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "auth-hub-load",
    about = "load generator and floors for auth-hub benchmarks"
)]
struct Args {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Closed-loop get_secret through the client library.
    Get {
        /// The hub's socket.
        #[arg(long)]
        socket: PathBuf,
        /// The secret to read (its scope must be granted).
        #[arg(long)]
        path: String,
        /// Concurrent connections, one client each.
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Requests in all, after warm-up.
        #[arg(long, default_value_t = 100_000)]
        requests: usize,
        /// Warm-up requests per connection, not measured.
        #[arg(long, default_value_t = 1_000)]
        warmup: usize,
        /// The hub's pid, to report its memory.
        #[arg(long)]
        hub_pid: Option<u32>,
        /// Drive the clients from one thread, as `hyperforge` does, instead of two workers.
        #[arg(long)]
        current_thread: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Closed-loop get_secret over a blocking socket with the protocol crate only: the hub's
    /// share of a round trip, without the client library.
    RawGet {
        /// The hub's socket.
        #[arg(long)]
        socket: PathBuf,
        /// The secret to read (its scope must be granted).
        #[arg(long)]
        path: String,
        /// Requests measured.
        #[arg(long, default_value_t = 100_000)]
        requests: usize,
    },
    /// A fresh connection per read, alternating two ways in one run: the hello, request_scope
    /// and get_secret each waited for (three round trips), and the hello with
    /// get_secret_scoped in one write (one round trip).
    FreshGet {
        /// The hub's socket.
        #[arg(long)]
        socket: PathBuf,
        /// The secret to read (its scope must be granted).
        #[arg(long)]
        path: String,
        /// Reads measured of each way.
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
    },
    /// Raw Unix-socket ping-pong of 64-byte messages between two pinned threads.
    Pingpong {
        /// Round trips measured.
        #[arg(long, default_value_t = 200_000)]
        iterations: usize,
        /// CPU of the echoing thread.
        #[arg(long)]
        server_cpu: Option<usize>,
        /// CPU of the measuring thread.
        #[arg(long)]
        client_cpu: Option<usize>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Echo 64-byte messages on a Unix socket until killed.
    EchoServer {
        /// Where to listen.
        #[arg(long)]
        socket: PathBuf,
    },
    /// Closed-loop 64-byte round trips against an echo-server over N connections, one blocking
    /// thread each: the throughput floor of `get` with as many connections.
    EchoLoad {
        /// The echo server's socket.
        #[arg(long)]
        socket: PathBuf,
        /// Concurrent connections, one thread each.
        #[arg(long, default_value_t = 8)]
        connections: usize,
        /// Round trips in all, after warm-up.
        #[arg(long, default_value_t = 200_000)]
        requests: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Mode::Get {
            socket,
            path,
            connections,
            requests,
            warmup,
            hub_pid,
            current_thread,
            json,
        } => {
            let load = Load {
                connections,
                requests,
                warmup,
                current_thread,
            };
            get(socket, &path, &load, hub_pid, json)
        }
        Mode::RawGet {
            socket,
            path,
            requests,
        } => raw_get(&socket, &path, requests),
        Mode::FreshGet {
            socket,
            path,
            requests,
        } => fresh_get(&socket, &path, requests),
        Mode::Pingpong {
            iterations,
            server_cpu,
            client_cpu,
            json,
        } => pingpong(iterations, server_cpu, client_cpu, json),
        Mode::EchoServer { socket } => echo_server(&socket),
        Mode::EchoLoad {
            socket,
            connections,
            requests,
            json,
        } => echo_load(&socket, connections, requests, json),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("auth-hub-load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// How `get` drives the hub.
#[derive(Clone, Copy)]
struct Load {
    connections: usize,
    requests: usize,
    warmup: usize,
    current_thread: bool,
}

fn get(socket: PathBuf, path: &str, load: &Load, hub_pid: Option<u32>, json: bool) -> Result<()> {
    let Load {
        connections,
        requests,
        warmup,
        current_thread,
    } = *load;
    let token = std::env::var("AUTH_HUB_TOKEN")
        .map_err(|_| "set AUTH_HUB_TOKEN to a key that may read the path")?;
    let path = SecretPath::parse(path)?;
    let runtime = if current_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
    };
    let rss_before = hub_pid.and_then(|pid| proc_stats::status_kib(pid, "VmRSS"));
    let per_connection = requests.div_ceil(connections.max(1));
    let (latencies, errors, elapsed) = runtime.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..connections {
            let client = HubClient::new(ClientOptions {
                socket: socket.clone(),
                master_token: Some(MasterToken::from(token.as_str())),
                client_name: "auth-hub-load".into(),
                client_version: env!("CARGO_PKG_VERSION").into(),
                wait: Duration::ZERO,
                secret_ttl: Duration::ZERO,
                max_frame: auth_hub_protocol::DEFAULT_MAX_FRAME,
                reason: "load test".into(),
            });
            for _ in 0..warmup {
                client.get_secret(&path).await?;
            }
            clients.push(client);
        }
        let start = Instant::now();
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|client| {
                let path = path.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(per_connection);
                    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
                    for _ in 0..per_connection {
                        let sent = Instant::now();
                        match client.get_secret(&path).await {
                            Ok(_) => latencies.push(sent.elapsed()),
                            Err(error) => {
                                let code = error
                                    .code()
                                    .map_or("client", |code| code.as_str())
                                    .to_owned();
                                *errors.entry(code).or_default() += 1;
                            }
                        }
                    }
                    (latencies, errors)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for task in tasks {
            let (mut some, errs) = task.await?;
            latencies.append(&mut some);
            for (code, n) in errs {
                *errors.entry(code).or_default() += n;
            }
        }
        Ok::<_, Box<dyn std::error::Error>>((latencies, errors, start.elapsed()))
    })?;
    let rss_after = hub_pid.and_then(|pid| proc_stats::status_kib(pid, "VmRSS"));
    let stats = LatencyStats::of(latencies);
    let throughput = stats.count as f64 / elapsed.as_secs_f64();
    if json {
        let mut summary = closed_loop_json(connections, &stats, elapsed);
        summary["max_us"] = stats.max_us.into();
        summary["errors"] = serde_json::json!(errors);
        summary["hub_rss_kib_before"] = rss_before.into();
        summary["hub_rss_kib_after"] = rss_after.into();
        println!("{summary}");
    } else {
        // The hub's RSS is known only with --hub-pid.
        let rss = match (rss_before, rss_after) {
            (Some(before), Some(after)) => format!(", hub RSS {before} -> {after} KiB"),
            _ => String::new(),
        };
        println!(
            "get_secret x{} over {connections} connection(s): {throughput:.0} req/s, p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.1} us, errors {errors:?}{rss}",
            stats.count, stats.p50_us, stats.p90_us, stats.p99_us, stats.max_us
        );
    }
    Ok(())
}

fn raw_get(socket: &std::path::Path, path: &str, requests: usize) -> Result<()> {
    use auth_hub_protocol::frame::{decode_body, read_frame, write_frame};
    use auth_hub_protocol::request::{GetSecret, RequestScope};
    use auth_hub_protocol::response::ScopeResult;
    use auth_hub_protocol::{
        Hello, Permissions, Request, RequestEnvelope, Response, ResponseResult, ServerMessage,
    };
    let max = auth_hub_protocol::DEFAULT_MAX_FRAME;
    let token = std::env::var("AUTH_HUB_TOKEN").map_err(|_| "set AUTH_HUB_TOKEN")?;
    let path = SecretPath::parse(path)?;
    let mut stream = UnixStream::connect(socket)?;
    let hello = Hello {
        protocol_version: auth_hub_protocol::PROTOCOL_VERSION,
        client_name: "auth-hub-load".into(),
        client_version: env!("CARGO_PKG_VERSION").into(),
        master_token: Some(MasterToken::from(token.as_str())),
    };
    write_frame(&mut stream, &hello, max)?;
    read_frame(&mut stream, max)?.ok_or("hub closed")?;
    let mut call = |request: Request| -> Result<Response> {
        write_frame(&mut stream, &RequestEnvelope { id: 1, request }, max)?;
        let body = read_frame(&mut stream, max)?.ok_or("hub closed")?;
        match decode_body::<ServerMessage>(&body)? {
            ServerMessage::Response(response) => match response.result {
                ResponseResult::Ok(response) => Ok(response),
                ResponseResult::Error(error) => Err(error.to_string().into()),
            },
            ServerMessage::Event(_) => Err("unexpected event".into()),
        }
    };
    let scope = path.parent_scope();
    let Response::Scopes(outcomes) = call(Request::RequestScope(RequestScope {
        scopes: vec![scope],
        permissions: Permissions::READ,
        wait_ms: 0,
        reason: String::new(),
    }))?
    else {
        return Err("unexpected answer to request_scope".into());
    };
    let access_token = match outcomes.outcomes.into_iter().next().map(|o| o.result) {
        Some(ScopeResult::Granted(token)) => token.access_token,
        _ => return Err("scope not granted".into()),
    };
    let get = Request::GetSecret(GetSecret { access_token, path });
    let mut latencies = Vec::with_capacity(requests);
    for round in 0..requests + 1_000 {
        let sent = Instant::now();
        call(get.clone())?;
        if round >= 1_000 {
            latencies.push(sent.elapsed());
        }
    }
    let stats = LatencyStats::of(latencies);
    println!(
        "raw get_secret x{}: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us",
        stats.count, stats.p50_us, stats.p90_us, stats.p99_us
    );
    Ok(())
}

/// A fresh connection per read, both ways in one run, alternating: the hello, `request_scope`
/// and `get_secret` each waited for (three round trips, as clients before `get_secret_scoped`
/// did), and the hello with `get_secret_scoped` in one write (one round trip).
fn fresh_get(socket: &std::path::Path, path: &str, requests: usize) -> Result<()> {
    use auth_hub_protocol::frame::{decode_body, encode, read_frame};
    use auth_hub_protocol::request::{GetSecret, GetSecretScoped, RequestScope};
    use auth_hub_protocol::response::ScopeResult;
    use auth_hub_protocol::{
        Hello, HelloReply, Permissions, Request, RequestEnvelope, Response, ResponseResult,
        ServerMessage,
    };
    let max = auth_hub_protocol::DEFAULT_MAX_FRAME;
    let token = std::env::var("AUTH_HUB_TOKEN").map_err(|_| "set AUTH_HUB_TOKEN")?;
    let path = SecretPath::parse(path)?;
    let hello = encode(
        &Hello {
            protocol_version: auth_hub_protocol::PROTOCOL_VERSION,
            client_name: "auth-hub-load".into(),
            client_version: env!("CARGO_PKG_VERSION").into(),
            master_token: Some(MasterToken::from(token.as_str())),
        },
        max,
    )?;
    let welcome = |stream: &mut UnixStream| -> Result<()> {
        let body = read_frame(stream, max)?.ok_or("hub closed")?;
        match decode_body::<HelloReply>(&body)? {
            HelloReply::Welcome(_) => Ok(()),
            HelloReply::Error(error) => Err(error.to_string().into()),
        }
    };
    let answer = |stream: &mut UnixStream| -> Result<Response> {
        let body = read_frame(stream, max)?.ok_or("hub closed")?;
        match decode_body::<ServerMessage>(&body)? {
            ServerMessage::Response(response) => match response.result {
                ResponseResult::Ok(response) => Ok(response),
                ResponseResult::Error(error) => Err(error.to_string().into()),
            },
            ServerMessage::Event(_) => Err("unexpected event".into()),
        }
    };
    let three = || -> Result<()> {
        let mut stream = UnixStream::connect(socket)?;
        stream.write_all(&hello)?;
        welcome(&mut stream)?;
        let scope = RequestEnvelope {
            id: 1,
            request: Request::RequestScope(RequestScope {
                scopes: vec![path.parent_scope()],
                permissions: Permissions::READ,
                wait_ms: 0,
                reason: String::new(),
            }),
        };
        stream.write_all(&encode(&scope, max)?)?;
        let Response::Scopes(outcomes) = answer(&mut stream)? else {
            return Err("unexpected answer to request_scope".into());
        };
        let access_token = match outcomes.outcomes.into_iter().next().map(|o| o.result) {
            Some(ScopeResult::Granted(token)) => token.access_token,
            _ => return Err("scope not granted".into()),
        };
        let get = RequestEnvelope {
            id: 2,
            request: Request::GetSecret(GetSecret {
                access_token,
                path: path.clone(),
            }),
        };
        stream.write_all(&encode(&get, max)?)?;
        match answer(&mut stream)? {
            Response::Secret(_) => Ok(()),
            _ => Err("unexpected answer to get_secret".into()),
        }
    };
    let scoped = encode(
        &RequestEnvelope {
            id: 1,
            request: Request::GetSecretScoped(GetSecretScoped { path: path.clone() }),
        },
        max,
    )?;
    let one = || -> Result<()> {
        let mut stream = UnixStream::connect(socket)?;
        let mut bytes = hello.clone();
        bytes.extend_from_slice(&scoped);
        stream.write_all(&bytes)?;
        welcome(&mut stream)?;
        match answer(&mut stream)? {
            Response::ScopedSecret(_) => Ok(()),
            _ => Err("unexpected answer to get_secret_scoped".into()),
        }
    };
    let (mut three_rt, mut one_rt) = (Vec::new(), Vec::new());
    for round in 0..requests + 200 {
        let sent = Instant::now();
        three()?;
        let middle = Instant::now();
        one()?;
        if round >= 200 {
            three_rt.push(middle - sent);
            one_rt.push(middle.elapsed());
        }
    }
    for (name, latencies) in [
        ("hello, request_scope, get_secret (3 round trips)", three_rt),
        (
            "hello + get_secret_scoped in one write (1 round trip)",
            one_rt,
        ),
    ] {
        let stats = LatencyStats::of(latencies);
        println!(
            "fresh connection, {name} x{}: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us",
            stats.count, stats.p50_us, stats.p90_us, stats.p99_us
        );
    }
    Ok(())
}

fn pingpong(
    iterations: usize,
    server_cpu: Option<usize>,
    client_cpu: Option<usize>,
    json: bool,
) -> Result<()> {
    let (mut client, mut server) = UnixStream::pair()?;
    let echo = std::thread::spawn(move || {
        if let Some(cpu) = server_cpu {
            pin_to(cpu);
        }
        let mut buffer = [0u8; 64];
        while server.read_exact(&mut buffer).is_ok() {
            if server.write_all(&buffer).is_err() {
                break;
            }
        }
    });
    if let Some(cpu) = client_cpu {
        pin_to(cpu);
    }
    let mut buffer = [7u8; 64];
    for _ in 0..1_000 {
        client.write_all(&buffer)?;
        client.read_exact(&mut buffer)?;
    }
    let mut latencies = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let sent = Instant::now();
        client.write_all(&buffer)?;
        client.read_exact(&mut buffer)?;
        latencies.push(sent.elapsed());
    }
    drop(client);
    let _ = echo.join();
    let stats = LatencyStats::of(latencies);
    if json {
        println!(
            "{}",
            serde_json::json!({"iterations": stats.count, "p50_us": stats.p50_us, "p90_us": stats.p90_us, "p99_us": stats.p99_us})
        );
    } else {
        println!(
            "ping-pong 64 B x{}: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us",
            stats.count, stats.p50_us, stats.p90_us, stats.p99_us
        );
    }
    Ok(())
}

fn echo_server(socket: &std::path::Path) -> Result<()> {
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket)?;
    for stream in listener.incoming() {
        let mut stream = stream?;
        std::thread::spawn(move || {
            let mut buffer = [0u8; 64];
            while stream.read_exact(&mut buffer).is_ok() {
                if stream.write_all(&buffer).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

fn echo_load(
    socket: &std::path::Path,
    connections: usize,
    requests: usize,
    json: bool,
) -> Result<()> {
    let per_connection = requests.div_ceil(connections.max(1));
    let streams = (0..connections.max(1))
        .map(|_| UnixStream::connect(socket))
        .collect::<std::io::Result<Vec<_>>>()?;
    // Every thread warms up, then waits for the others, so the clock covers only the measured
    // round trips of all connections together.
    let ready = std::sync::Arc::new(std::sync::Barrier::new(streams.len() + 1));
    let threads: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            let ready = ready.clone();
            std::thread::spawn(move || -> std::io::Result<Vec<Duration>> {
                let mut buffer = [7u8; 64];
                let warmed = (0..1_000).try_for_each(|_| {
                    stream.write_all(&buffer)?;
                    stream.read_exact(&mut buffer)
                });
                // Waited for even after an error, so the others are not left at the barrier.
                ready.wait();
                warmed?;
                let mut latencies = Vec::with_capacity(per_connection);
                for _ in 0..per_connection {
                    let sent = Instant::now();
                    stream.write_all(&buffer)?;
                    stream.read_exact(&mut buffer)?;
                    latencies.push(sent.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    ready.wait();
    let start = Instant::now();
    let mut latencies = Vec::new();
    for thread in threads {
        let mut some = thread
            .join()
            .map_err(|_| "an echo-load thread panicked")??;
        latencies.append(&mut some);
    }
    let elapsed = start.elapsed();
    let stats = LatencyStats::of(latencies);
    let throughput = stats.count as f64 / elapsed.as_secs_f64();
    if json {
        println!("{}", closed_loop_json(connections, &stats, elapsed));
    } else {
        println!(
            "echo 64 B x{} over {connections} connection(s): {throughput:.0} round trips/s, p50 {:.1} us, p90 {:.1} us, p99 {:.1} us",
            stats.count, stats.p50_us, stats.p90_us, stats.p99_us
        );
    }
    Ok(())
}

/// The fields `get` and `echo-load` both report with `--json` (what `scripts/bench` reads).
fn closed_loop_json(
    connections: usize,
    stats: &LatencyStats,
    elapsed: Duration,
) -> serde_json::Value {
    serde_json::json!({
        "connections": connections, "requests": stats.count, "seconds": elapsed.as_secs_f64(),
        "throughput": stats.count as f64 / elapsed.as_secs_f64(),
        "p50_us": stats.p50_us, "p90_us": stats.p90_us, "p99_us": stats.p99_us,
    })
}

fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET and sched_setaffinity on the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
