//! auth-hub-abuse: legitimate clients measured while the hub is attacked.
//!
//! Starts a real `auth-hub serve` on a temporary home (or attacks a running hub with `--socket`),
//! holds thousands of idle connections open, and runs, concurrently for `--duration`:
//! legitimate clients of the real client library doing a mix of requests; slow-loris
//! connections trickling a valid frame; connections announcing a 4 GiB or max+1 frame; clients
//! that vanish mid-request; connections that announce a max-size frame, send half of it and stall
//! (memory held for partial frames); connections that pipeline requests and never read the answers
//! (memory held for unread answers); a flood of owner scope requests that wait for a prompt; a canary that
//! connects every 100 ms. It reports the legitimate latency percentiles, throughput and errors,
//! what happened to each kind of attacker, the hub's peak RSS and open descriptors, and whether
//! it ever stopped accepting or crashed (exit status 1 if so).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_hub_client::{AuthClient, HubClient, Permissions, SecretPath, SecretScope};
use auth_hub_protocol::request::{Grant, HasScope, ListPending};
use auth_hub_protocol::{MasterToken, Request, Response, DEFAULT_MAX_FRAME};
use auth_hub_tools::abuse::attackers::{
    half_frame, huge, idle, no_read, pending_request, slow_loris, vanish,
};
use auth_hub_tools::abuse::disk_floor;
use auth_hub_tools::abuse::hub_process::HubProcess;
use auth_hub_tools::abuse::limits::raise_fd_limit;
use auth_hub_tools::abuse::owner;
use auth_hub_tools::abuse::proc_stats;
use auth_hub_tools::abuse::rng::Rng;
use auth_hub_tools::abuse::stats::LatencyStats;
use auth_hub_tools::abuse::tally::Tally;
use auth_hub_tools::abuse::wire;
use clap::Parser;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::time::{sleep, timeout};

#[derive(Parser, Debug)]
#[command(
    name = "auth-hub-abuse",
    args_override_self = true,
    about = "legitimate load measured while the hub is attacked"
)]
struct Args {
    /// Attack a running hub on this socket instead of starting one (the owner key comes from
    /// AUTH_HUB_TOKEN; give --hub-pid for memory and descriptor figures).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// The running hub's pid (with --socket).
    #[arg(long)]
    hub_pid: Option<u32>,
    /// The running hub's server.max_frame (with --socket).
    #[arg(long, default_value_t = DEFAULT_MAX_FRAME)]
    max_frame: usize,
    /// Store backend of the hub started here: file or memory.
    #[arg(long, default_value = "file")]
    store: String,
    /// Seconds of measured load, once the idle connections are up.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// Legitimate clients, closed loop, one connection each.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Requests per second of each legitimate client; 0 for a closed loop (as fast as answers
    /// come, which measures queueing behind the client's own requests as much as the hub).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Request mix of the legitimate clients, as weights.
    #[arg(long, default_value = "get=80,put=10,has_scope=10")]
    mix: String,
    /// Connections trickling a valid frame one byte per --trickle-ms (half before the hello,
    /// half after it).
    #[arg(long, default_value_t = 100)]
    slow_loris: usize,
    /// Milliseconds between the bytes of a slow-loris frame.
    #[arg(long, default_value_t = 1000)]
    trickle_ms: u64,
    /// Connections announcing a 4 GiB frame (before the hello) or a max+1 frame (after it), then
    /// trickling bytes.
    #[arg(long, default_value_t = 100)]
    huge: usize,
    /// Connections announcing a frame of --max-frame bytes, sending half of it and stalling until
    /// the hub ends them (half before the hello, half after it); then again.
    #[arg(long, default_value_t = 0)]
    half_frame: usize,
    /// Connections that say hello, then pipeline `status` requests and never read the answers,
    /// until the hub stops reading them; held to the end.
    #[arg(long, default_value_t = 0)]
    no_read: usize,
    /// Clients that send half a request and close, or close right after sending, over and over.
    #[arg(long, default_value_t = 20)]
    vanish: usize,
    /// Idle connections held open.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// Percent of the idle connections that say hello first; the others are closed by the hub's
    /// hello timeout and reconnect at once, which makes them a connection churn as well.
    #[arg(long, default_value_t = 50)]
    idle_hello_percent: usize,
    /// Owner scope requests for distinct scopes that wait for a prompt.
    #[arg(long, default_value_t = 300)]
    pending_flood: usize,
    /// Seed of the request mix.
    #[arg(long)]
    seed: Option<u64>,
    /// Durable writes timed in the store's directory before the load, as the floor the `put`
    /// latencies are set beside (0 skips it; only with a hub started here).
    #[arg(long, default_value_t = 300)]
    disk_floor: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Targets the run is judged against.
const TARGET_P99_US: f64 = 5_000.0;
const TARGET_RSS_KIB: u64 = 64 * 1024;
/// Secrets the legitimate clients read and write.
const LOAD_KEYS: usize = 16;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(error) => {
            eprintln!("auth-hub-abuse: {error}");
            std::process::ExitCode::from(2)
        }
    }
}

/// The request mix: (operation, cumulative weight).
#[derive(Debug, Clone)]
struct Mix {
    ops: Vec<(Op, u64)>,
    total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Get,
    Put,
    HasScope,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
            Op::HasScope => "has_scope",
        }
    }
}

impl Mix {
    fn parse(text: &str) -> Result<Self> {
        let mut ops = Vec::new();
        let mut total = 0;
        for part in text.split(',').filter(|part| !part.trim().is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("mix entry {part:?} is not name=weight"))?;
            let op = match name.trim() {
                "get" => Op::Get,
                "put" => Op::Put,
                "has_scope" => Op::HasScope,
                other => return Err(format!("unknown operation {other:?} in the mix").into()),
            };
            let weight: u64 = weight.trim().parse()?;
            total += weight;
            ops.push((op, total));
        }
        if total == 0 {
            return Err("the mix has no weight".into());
        }
        Ok(Self { ops, total })
    }

    fn pick(&self, rng: &mut Rng) -> Op {
        let roll = rng.range(0, self.total);
        self.ops
            .iter()
            .find(|(_, upto)| roll < *upto)
            .map_or(Op::Get, |(op, _)| *op)
    }
}

/// What the legitimate clients saw.
#[derive(Default)]
struct Legit {
    latencies: Vec<Duration>,
    by_op_latencies: BTreeMap<&'static str, Vec<Duration>>,
    by_op: BTreeMap<&'static str, u64>,
    errors: BTreeMap<String, u64>,
}

/// Peaks sampled from /proc and the pending book.
#[derive(Default)]
struct Peaks {
    hwm_kib: AtomicU64,
    rss_kib: AtomicU64,
    fds: AtomicUsize,
    pending: AtomicUsize,
    crashed: AtomicBool,
}

/// The canary's record.
#[derive(Default)]
struct Canary {
    latencies: Vec<Duration>,
    failures: BTreeMap<String, u64>,
}

fn run(args: &Args) -> Result<bool> {
    let mix = Mix::parse(&args.mix)?;
    let seed = args.seed.unwrap_or_else(Rng::clock_seed);
    let want = (args.idle
        + args.slow_loris
        + args.huge
        + args.half_frame
        + args.vanish
        + args.pending_flood) as u64
        + 1_024;
    let fd_limit = raise_fd_limit(want)?;
    if fd_limit < want {
        eprintln!("auth-hub-abuse: open-file limit {fd_limit} is below the {want} wanted; some connections will be refused locally");
    }

    let attack_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("attack")
        .enable_all()
        .build()?;
    let measure_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("measure")
        .enable_all()
        .build()?;

    // The hub: ours (started here) or a running one.
    let mut own_hub = None;
    let (socket, hub_pid, max_frame, token) = match &args.socket {
        Some(socket) => {
            let token = std::env::var("AUTH_HUB_TOKEN")
                .map_err(|_| "with --socket, set AUTH_HUB_TOKEN to the owner key")?;
            (
                socket.clone(),
                args.hub_pid,
                args.max_frame,
                MasterToken::from(token.as_str()),
            )
        }
        None => {
            let store: &'static str = if args.store == "memory" {
                "memory"
            } else {
                "file"
            };
            let hub = HubProcess::start("", store, "warn")?;
            let socket = hub.socket();
            let pid = hub.pid();
            own_hub = Some(hub);
            let token = measure_runtime.block_on(owner::login(&socket))?;
            (socket, pid, DEFAULT_MAX_FRAME, token)
        }
    };
    let rss_idle_kib = hub_pid.and_then(|pid| proc_stats::status_kib(pid, "VmRSS"));

    // Secrets and a standing grant for the legitimate clients.
    measure_runtime.block_on(setup(&socket, &token))?;
    let floor = match own_hub.as_ref() {
        Some(hub) if args.disk_floor > 0 => {
            let state = hub.home().join("state");
            let store_bytes = auth_hub::store::file::SLOT_FILES
                .iter()
                .filter_map(|name| std::fs::metadata(state.join(name)).ok())
                .map(|meta| meta.len() as usize)
                .max()
                .unwrap_or(0);
            Some(disk_floor::measure(&state, store_bytes, args.disk_floor)?)
        }
        _ => None,
    };

    let tally = Tally::default();
    let peaks = Arc::new(Peaks::default());
    let stop = Arc::new(AtomicBool::new(false));

    // Idle connections first: the measurement runs while they are all present.
    let ramp_start = Instant::now();
    let idle_up = Arc::new(AtomicUsize::new(0));
    let far = Instant::now() + Duration::from_secs(3_600 * 24);
    let far_deadline = tokio::time::Instant::from_std(far);
    let mut attackers = Vec::new();
    {
        let _guard = attack_runtime.enter();
        let gate = Arc::new(tokio::sync::Semaphore::new(64));
        for i in 0..args.idle {
            attackers.push(tokio::spawn(idle(
                socket.clone(),
                i % 100 < args.idle_hello_percent,
                gate.clone(),
                idle_up.clone(),
                stop.clone(),
                tally.clone(),
                far_deadline,
            )));
        }
    }
    let ramp_limit = Duration::from_secs(120);
    while idle_up.load(Ordering::Relaxed) < args.idle && ramp_start.elapsed() < ramp_limit {
        std::thread::sleep(Duration::from_millis(20));
    }
    let ramp = ramp_start.elapsed();
    let idle_reached = idle_up.load(Ordering::Relaxed);

    // Then the active attackers.
    {
        let _guard = attack_runtime.enter();
        let trickle = Duration::from_millis(args.trickle_ms);
        for i in 0..args.slow_loris {
            attackers.push(tokio::spawn(slow_loris(
                socket.clone(),
                i % 2 == 1,
                trickle,
                stop.clone(),
                tally.clone(),
            )));
        }
        for i in 0..args.huge {
            attackers.push(tokio::spawn(huge(
                socket.clone(),
                i % 2 == 1,
                max_frame,
                stop.clone(),
                tally.clone(),
            )));
        }
        for i in 0..args.half_frame {
            attackers.push(tokio::spawn(half_frame(
                socket.clone(),
                i % 2 == 1,
                max_frame,
                stop.clone(),
                tally.clone(),
            )));
        }
        for _ in 0..args.no_read {
            attackers.push(tokio::spawn(no_read(
                socket.clone(),
                stop.clone(),
                tally.clone(),
            )));
        }
        for i in 0..args.vanish {
            attackers.push(tokio::spawn(vanish(
                socket.clone(),
                i,
                stop.clone(),
                tally.clone(),
            )));
        }
    }
    let flood = {
        let _guard = attack_runtime.enter();
        (0..args.pending_flood)
            .map(|i| {
                tokio::spawn(pending_request(
                    socket.clone(),
                    token.clone(),
                    i,
                    Duration::from_secs_f64(args.duration + 5.0),
                    tally.clone(),
                ))
            })
            .collect::<Vec<_>>()
    };

    // The measured period.
    let duration = Duration::from_secs_f64(args.duration);
    let (legit, canary, elapsed, open_at_end) = measure_runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + duration;
        let sampler = tokio::spawn(sample(
            socket.clone(),
            token.clone(),
            hub_pid,
            peaks.clone(),
            deadline,
        ));
        let canary = tokio::spawn(canary(socket.clone(), deadline));
        let start = Instant::now();
        let clients: Vec<_> = (0..args.clients)
            .map(|i| {
                tokio::spawn(legit_client(
                    socket.clone(),
                    token.clone(),
                    mix.clone(),
                    args.rate,
                    seed.wrapping_add(i as u64),
                    deadline,
                ))
            })
            .collect();
        let mut legit = Legit::default();
        for client in clients {
            let mut some = client.await?;
            legit.latencies.append(&mut some.latencies);
            for (op, mut latencies) in some.by_op_latencies {
                legit
                    .by_op_latencies
                    .entry(op)
                    .or_default()
                    .append(&mut latencies);
            }
            for (op, n) in some.by_op {
                *legit.by_op.entry(op).or_default() += n;
            }
            for (code, n) in some.errors {
                *legit.errors.entry(code).or_default() += n;
            }
        }
        let elapsed = start.elapsed();
        let canary = canary.await?;
        sampler.await?;
        let open_at_end = hub_pid.and_then(proc_stats::open_fds);
        Ok::<_, Box<dyn std::error::Error>>((legit, canary, elapsed, open_at_end))
    })?;

    stop.store(true, Ordering::Relaxed);
    for task in flood {
        task.abort();
    }
    attack_runtime.block_on(async {
        for task in attackers {
            let _ = timeout(Duration::from_secs(15), task).await;
        }
    });
    attack_runtime.shutdown_background();

    if let Some(hub) = own_hub.as_mut() {
        if hub.exit_status().is_some() {
            peaks.crashed.store(true, Ordering::Relaxed);
        }
    }
    let count = legit.latencies.len();
    let latency_by_op: BTreeMap<&str, LatencyStats> = legit
        .by_op_latencies
        .into_iter()
        .map(|(op, latencies)| (op, LatencyStats::of(latencies)))
        .collect();
    let stats = LatencyStats::of(legit.latencies);
    let canary_stats = LatencyStats::of(canary.latencies);
    let throughput = count as f64 / elapsed.as_secs_f64();
    let crashed = peaks.crashed.load(Ordering::Relaxed);
    let stopped_accepting = canary.failures.values().sum::<u64>() > 0;
    let hwm = peaks.hwm_kib.load(Ordering::Relaxed);
    let p99_met = stats.p99_us < TARGET_P99_US;
    let reads_p99_met = latency_by_op
        .iter()
        .filter(|(op, _)| **op != Op::Put.name())
        .all(|(_, lat)| lat.p99_us < TARGET_P99_US);
    let rss_met = hub_pid.is_none() || hwm < TARGET_RSS_KIB;
    let report = serde_json::json!({
        "seed": seed,
        "duration_s": elapsed.as_secs_f64(),
        "attackers": {
            "idle": args.idle, "idle_hello_percent": args.idle_hello_percent, "idle_reached": idle_reached, "idle_ramp_s": ramp.as_secs_f64(),
            "slow_loris": args.slow_loris, "trickle_ms": args.trickle_ms, "huge": args.huge,
            "half_frame": args.half_frame, "no_read": args.no_read, "vanish": args.vanish, "pending_flood": args.pending_flood,
        },
        "legit": {
            "clients": args.clients, "rate_per_client": args.rate, "mix": args.mix, "requests": count,
            "throughput_per_s": throughput, "latency": stats, "latency_by_op": latency_by_op, "by_op": legit.by_op,
            "errors": legit.errors,
        },
        "disk_floor": floor,
        "canary": { "connects": canary_stats.count, "latency": canary_stats, "failures": canary.failures },
        "outcomes": tally.snapshot(),
        "hub": {
            "pid": hub_pid, "rss_idle_kib": rss_idle_kib, "peak_rss_kib": hwm,
            "peak_sampled_rss_kib": peaks.rss_kib.load(Ordering::Relaxed),
            "peak_open_fds": peaks.fds.load(Ordering::Relaxed), "open_fds_at_end": open_at_end,
            "peak_pending": peaks.pending.load(Ordering::Relaxed),
            "crashed": crashed, "stopped_accepting": stopped_accepting,
        },
        "targets": { "p99_under_5ms": p99_met, "p99_under_5ms_without_writes": reads_p99_met, "rss_under_64mib": rss_met,
            "never_crashed": !crashed, "always_accepting": !stopped_accepting },
    });
    if args.json {
        println!("{report}");
    } else {
        print_text(&report);
    }
    Ok(!crashed && !stopped_accepting)
}

fn print_text(report: &serde_json::Value) {
    let legit = &report["legit"];
    let lat = &legit["latency"];
    let hub = &report["hub"];
    println!("seed {}", report["seed"]);
    println!("attackers: {}", report["attackers"]);
    println!(
        "legit: {} clients at {} req/s each (0: closed loop), mix {}, {} requests in {:.1} s = {:.0} req/s",
        legit["clients"],
        legit["rate_per_client"],
        legit["mix"],
        legit["requests"],
        report["duration_s"].as_f64().unwrap_or(0.0),
        legit["throughput_per_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "legit latency: p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us",
        lat["p50_us"].as_f64().unwrap_or(0.0),
        lat["p90_us"].as_f64().unwrap_or(0.0),
        lat["p99_us"].as_f64().unwrap_or(0.0),
        lat["p999_us"].as_f64().unwrap_or(0.0),
        lat["max_us"].as_f64().unwrap_or(0.0)
    );
    println!("legit by op: {}", legit["by_op"]);
    if let Some(ops) = legit["latency_by_op"].as_object() {
        for (op, lat) in ops {
            println!(
                "  {op}: p50 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us",
                lat["p50_us"].as_f64().unwrap_or(0.0),
                lat["p99_us"].as_f64().unwrap_or(0.0),
                lat["p999_us"].as_f64().unwrap_or(0.0),
                lat["max_us"].as_f64().unwrap_or(0.0)
            );
        }
    }
    let floor = &report["disk_floor"];
    if !floor.is_null() {
        println!(
            "disk floor (the store's durable slot write of a store-sized record, {} times, before the load): p50 {:.0} us, p99 {:.0} us, max {:.0} us",
            floor["count"],
            floor["p50_us"].as_f64().unwrap_or(0.0),
            floor["p99_us"].as_f64().unwrap_or(0.0),
            floor["max_us"].as_f64().unwrap_or(0.0)
        );
    }
    println!("legit errors: {}", legit["errors"]);
    println!("canary: {}", report["canary"]);
    if let Some(outcomes) = report["outcomes"].as_object() {
        for (kind, counts) in outcomes {
            println!("{kind}: {counts}");
        }
    }
    println!(
        "hub: RSS idle {} KiB, peak (VmHWM) {} KiB, peak open fds {}, fds at end {}, peak pending {}, crashed {}, stopped accepting {}",
        hub["rss_idle_kib"],
        hub["peak_rss_kib"],
        hub["peak_open_fds"],
        hub["open_fds_at_end"],
        hub["peak_pending"],
        hub["crashed"],
        hub["stopped_accepting"]
    );
    println!("targets: {}", report["targets"]);
}

fn load_path(index: usize) -> SecretPath {
    SecretPath::parse(&format!("load/k{index}")).expect("load/kN is a valid path")
}

fn load_scope() -> SecretScope {
    SecretScope::parse("load/*").expect("load/* is a valid scope")
}

/// Writes the secrets the legitimate clients use and grants their scope to the owner key.
async fn setup(socket: &Path, token: &MasterToken) -> Result<()> {
    let client = HubClient::new(owner::options(socket, Some(token.clone()), "abuse-setup"));
    for index in 0..LOAD_KEYS {
        client
            .put_secret(&load_path(index), &format!("value-{index}"))
            .await?;
    }
    client
        .call(Request::Grant(Grant {
            scope: load_scope(),
            permissions: Permissions::READ_WRITE,
            ttl_ms: None,
            once: false,
            request_id: None,
            key: None,
        }))
        .await?;
    Ok(())
}

/// One legitimate client: closed loop over the mix until the deadline.
async fn legit_client(
    socket: PathBuf,
    token: MasterToken,
    mix: Mix,
    rate: u64,
    seed: u64,
    deadline: tokio::time::Instant,
) -> Legit {
    let mut pace = (rate > 0).then(|| {
        let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        pace
    });
    let client = HubClient::new(owner::options(&socket, Some(token), "abuse-legit"));
    let mut rng = Rng::new(seed);
    let mut legit = Legit::default();
    let scope = load_scope();
    let mut round = 0u64;
    while tokio::time::Instant::now() < deadline {
        if let Some(pace) = pace.as_mut() {
            pace.tick().await;
        }
        let op = mix.pick(&mut rng);
        let path = load_path(rng.range(0, LOAD_KEYS as u64) as usize);
        round += 1;
        let sent = Instant::now();
        let result = match op {
            Op::Get => client.get_secret(&path).await.map(drop),
            Op::Put => client.put_secret(&path, &format!("value-{round}")).await,
            // Sent as a request: `AuthClient::has_scope` answers from the client's token cache
            // once it holds a token, which would time no round trip at all.
            Op::HasScope => client
                .call(Request::HasScope(HasScope {
                    scope: scope.clone(),
                    permissions: Permissions::READ,
                }))
                .await
                .map(drop),
        };
        let took = sent.elapsed();
        *legit.by_op.entry(op.name()).or_default() += 1;
        match result {
            Ok(()) => {
                legit.latencies.push(took);
                legit
                    .by_op_latencies
                    .entry(op.name())
                    .or_default()
                    .push(took);
            }
            Err(error) => {
                let code = error.code().map_or("client", |code| code.as_str());
                *legit.errors.entry(code.to_owned()).or_default() += 1;
            }
        }
    }
    legit
}

/// Connects every 100 ms, says hello and waits for the welcome; anything over a second, or any
/// failure, counts as the hub having stopped accepting.
async fn canary(socket: PathBuf, deadline: tokio::time::Instant) -> Canary {
    let mut record = Canary::default();
    let hello = wire::hello_frame();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while tokio::time::Instant::now() < deadline {
        tick.tick().await;
        let start = Instant::now();
        let attempt = timeout(Duration::from_secs(1), async {
            let mut stream = UnixStream::connect(&socket)
                .await
                .map_err(|e| format!("connect: {}", e.kind()))?;
            stream
                .write_all(&hello)
                .await
                .map_err(|e| format!("write: {}", e.kind()))?;
            match wire::read_frame(&mut stream, DEFAULT_MAX_FRAME).await {
                Ok(Some(body)) if wire::classify_hello_reply(&body) == "welcome" => Ok(()),
                Ok(Some(body)) => Err(wire::classify_hello_reply(&body)),
                other => Err(wire::classify_end(&other).to_owned()),
            }
        })
        .await;
        match attempt {
            Ok(Ok(())) => record.latencies.push(start.elapsed()),
            Ok(Err(why)) => *record.failures.entry(why).or_default() += 1,
            Err(_) => {
                *record
                    .failures
                    .entry("no welcome within 1 s".into())
                    .or_default() += 1
            }
        }
    }
    record
}

/// Samples the hub's memory, descriptors, liveness and pending requests every 250 ms.
async fn sample(
    socket: PathBuf,
    token: MasterToken,
    pid: Option<u32>,
    peaks: Arc<Peaks>,
    deadline: tokio::time::Instant,
) {
    let client = HubClient::new(owner::options(&socket, Some(token), "abuse-sampler"));
    while tokio::time::Instant::now() < deadline {
        if let Some(pid) = pid {
            if !proc_stats::is_alive(pid) {
                peaks.crashed.store(true, Ordering::Relaxed);
                return;
            }
            if let Some(kib) = proc_stats::status_kib(pid, "VmHWM") {
                peaks.hwm_kib.fetch_max(kib, Ordering::Relaxed);
            }
            if let Some(kib) = proc_stats::status_kib(pid, "VmRSS") {
                peaks.rss_kib.fetch_max(kib, Ordering::Relaxed);
            }
            if let Some(fds) = proc_stats::open_fds(pid) {
                peaks.fds.fetch_max(fds, Ordering::Relaxed);
            }
        }
        if let Ok(Response::Pending(list)) = client.call(Request::ListPending(ListPending {})).await
        {
            peaks
                .pending
                .fetch_max(list.requests.len(), Ordering::Relaxed);
        }
        sleep(Duration::from_millis(250)).await;
    }
}
