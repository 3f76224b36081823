//! auth-hub-crash-loop: SIGKILL the hub at random moments of concurrent writes and grant
//! changes, many times over, and check after every restart that nothing acknowledged was lost.
//!
//! Each iteration starts writers (`put_secret` of `crash/wN/kM` with ever-increasing values) and a
//! grant changer (grant or revoke standing grants `gc/gN/*`) on the running hub, kills the hub
//! with SIGKILL after a random delay (seeded; the seed is printed), starts it again on the same
//! home and checks that it starts (store and grants open) reporting no store or audit problem
//! (a crash is neither loss nor rollback nor a cut audit log), that every write ever acknowledged is
//! there with at least its latest acknowledged value, and that every acknowledged grant change
//! holds (the one change in flight at the kill may or may not have landed). A failure prints the
//! seed and iteration and exits 1.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_hub_client::{AuthClient, AuthError, HubClient, Permissions, SecretPath, SecretScope};
use auth_hub_protocol::request::{Grant, ListGrants, Revoke, Status};
use auth_hub_protocol::{MasterToken, Request, Response};
use auth_hub_tools::abuse::hub_process::HubProcess;
use auth_hub_tools::abuse::owner;
use auth_hub_tools::abuse::rng::Rng;
use auth_hub_tools::abuse::stats::LatencyStats;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "auth-hub-crash-loop",
    args_override_self = true,
    about = "kill -9 the hub during writes and grant changes; check nothing acknowledged is lost"
)]
struct Args {
    /// Kill-and-restart cycles.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Seed of the kill moments and grant changes (printed; from the clock when absent).
    #[arg(long)]
    seed: Option<u64>,
    /// Concurrent writers.
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// Paths each writer cycles through.
    #[arg(long, default_value_t = 5)]
    keys: u64,
    /// Scopes the grant changer grants and revokes.
    #[arg(long, default_value_t = 8)]
    grant_scopes: u64,
    /// Shortest delay before the kill, in milliseconds.
    #[arg(long, default_value_t = 5)]
    min_kill_ms: u64,
    /// Longest delay before the kill, in milliseconds.
    #[arg(long, default_value_t = 300)]
    max_kill_ms: u64,
    /// Store backend: `file` (the one under test) or `memory`, which loses everything at a kill
    /// and so shows the checks failing.
    #[arg(long, default_value = "file")]
    store: String,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Owner writes and reads of `crash/*` are allowed without a prompt.
const CONFIG: &str = "[[policy.rule]]\nscope = \"crash/*\"\naction = \"allow\"\npermissions = [\"read\", \"write\"]\n";

/// Acknowledged grant states, and the change that was in flight when the hub died.
#[derive(Debug, Default)]
struct GrantBook {
    /// Scope → granted (true) or revoked (false), as last acknowledged.
    acked: BTreeMap<String, bool>,
    /// A change sent but not acknowledged: it may or may not have landed.
    in_flight: Option<(String, bool)>,
    /// Changes acknowledged over the whole run.
    changes: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(Rng::clock_seed);
    println!("auth-hub-crash-loop: seed {seed}");
    match run(&args, seed) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("auth-hub-crash-loop: FAILED (seed {seed}): {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &Args, seed: u64) -> Result<()> {
    let mut rng = Rng::new(seed);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let store: &'static str = if args.store == "memory" {
        "memory"
    } else {
        "file"
    };
    let mut hub = HubProcess::start(CONFIG, store, "info")?;
    let token = runtime.block_on(owner::login(&hub.socket()))?;
    let acked: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let grants: Arc<Mutex<GrantBook>> = Arc::default();
    // Each writer's next round, carried across iterations so values only ever increase.
    let rounds: Vec<Arc<AtomicU64>> = (0..args.writers)
        .map(|_| Arc::new(AtomicU64::new(1)))
        .collect();
    let mut cycle_times = Vec::with_capacity(args.iterations);
    let mut restart_times = Vec::with_capacity(args.iterations);

    for iteration in 1..=args.iterations {
        let cycle = Instant::now();
        let kill_after = Duration::from_millis(rng.range(args.min_kill_ms, args.max_kill_ms + 1));
        let changer_seed = rng.next_u64();
        let mut tasks = Vec::new();
        for (writer, round) in rounds.iter().enumerate() {
            tasks.push(runtime.spawn(write_until_error(
                HubClient::new(owner::options(
                    &hub.socket(),
                    Some(token.clone()),
                    "crash-writer",
                )),
                writer,
                args.keys,
                round.clone(),
                acked.clone(),
            )));
        }
        tasks.push(runtime.spawn(change_grants_until_error(
            HubClient::new(owner::options(
                &hub.socket(),
                Some(token.clone()),
                "crash-granter",
            )),
            args.grant_scopes,
            Rng::new(changer_seed),
            grants.clone(),
        )));
        std::thread::sleep(kill_after);
        hub.kill9();
        runtime.block_on(async {
            for task in tasks {
                let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
            }
        });

        let restart = Instant::now();
        hub.start_again().map_err(|error| {
            format!(
                "iteration {iteration}: the hub did not start again after SIGKILL at {kill_after:?}: {error}\n{}",
                log_tail(&hub)
            )
        })?;
        restart_times.push(restart.elapsed());
        runtime
            .block_on(verify(&hub, &token, &acked, &grants))
            .map_err(|error| {
                format!(
                    "iteration {iteration} (killed after {kill_after:?}): {error}\n{}",
                    log_tail(&hub)
                )
            })?;
        cycle_times.push(cycle.elapsed());
        if iteration % 20 == 0 || iteration == args.iterations {
            println!(
                "iteration {iteration}/{}: ok ({} paths acknowledged, {} grant changes acknowledged)",
                args.iterations,
                acked.lock().expect("no holder panics").len(),
                grants.lock().expect("no holder panics").changes
            );
        }
    }
    let total = started.elapsed();
    let writes: u64 = rounds
        .iter()
        .map(|round| round.load(Ordering::Relaxed) - 1)
        .sum();
    let cycles = LatencyStats::of(cycle_times);
    let restarts = LatencyStats::of(restart_times);
    println!(
        "{} iterations in {:.1} s: per iteration mean {:.0} ms, p50 {:.0} ms, max {:.0} ms; restart p50 {:.0} ms, max {:.0} ms",
        args.iterations,
        total.as_secs_f64(),
        total.as_secs_f64() * 1e3 / args.iterations.max(1) as f64,
        cycles.p50_us / 1e3,
        cycles.max_us / 1e3,
        restarts.p50_us / 1e3,
        restarts.max_us / 1e3
    );
    println!(
        "{writes} writes sent, {} distinct paths verified every iteration, {} grant changes acknowledged; nothing acknowledged was lost (seed {seed})",
        acked.lock().expect("no holder panics").len(),
        grants.lock().expect("no holder panics").changes
    );
    Ok(())
}

/// Writes `crash/wW/kM` with values `W-ROUND` until the hub goes away; records each
/// acknowledged round.
async fn write_until_error(
    client: HubClient,
    writer: usize,
    keys: u64,
    next_round: Arc<AtomicU64>,
    acked: Arc<Mutex<BTreeMap<String, u64>>>,
) {
    loop {
        let round = next_round.fetch_add(1, Ordering::Relaxed);
        let path = format!("crash/w{writer}/k{}", round % keys.max(1));
        let Ok(secret_path) = SecretPath::parse(&path) else {
            return;
        };
        if client
            .put_secret(&secret_path, &format!("{writer}-{round}"))
            .await
            .is_err()
        {
            return;
        }
        let mut acked = acked.lock().expect("no holder panics");
        let latest = acked.entry(path).or_default();
        *latest = (*latest).max(round);
    }
}

/// Grants or revokes a random `gc/gN/*` for the owner key until the hub goes away; records each
/// acknowledged state, and the change in flight when it fails.
async fn change_grants_until_error(
    client: HubClient,
    scopes: u64,
    mut rng: Rng,
    book: Arc<Mutex<GrantBook>>,
) {
    loop {
        let pattern = grant_scope(rng.range(0, scopes.max(1)));
        let Ok(scope) = SecretScope::parse(&pattern) else {
            return;
        };
        let grant = rng.range(0, 2) == 1;
        book.lock().expect("no holder panics").in_flight = Some((pattern.clone(), grant));
        let request = if grant {
            Request::Grant(Grant {
                scope,
                permissions: Permissions::READ,
                ttl_ms: None,
                once: false,
                request_id: None,
                key: None,
            })
        } else {
            Request::Revoke(Revoke { scope, key: None })
        };
        if client.call(request).await.is_err() {
            return;
        }
        let mut book = book.lock().expect("no holder panics");
        book.acked.insert(pattern, grant);
        book.in_flight = None;
        book.changes += 1;
    }
}

fn grant_scope(index: u64) -> String {
    format!("gc/g{index}/*")
}

/// Every acknowledged write is present with at least its acknowledged round; every acknowledged
/// grant state holds (or the in-flight change landed). Settles the grant book to what is stored.
async fn verify(
    hub: &HubProcess,
    token: &MasterToken,
    acked: &Mutex<BTreeMap<String, u64>>,
    grants: &Mutex<GrantBook>,
) -> Result<()> {
    let client = HubClient::new(owner::options(
        &hub.socket(),
        Some(token.clone()),
        "crash-verify",
    ));
    // A crash is never mistaken for lost or rolled-back data, nor for a cut audit log.
    let Response::Status(status) = client.call(Request::Status(Status {})).await? else {
        return Err("unexpected answer to status".into());
    };
    if let Some(problem) = status.store_problem.or(status.audit_problem) {
        return Err(format!("the restart after SIGKILL reports {problem}").into());
    }
    let expected = acked.lock().expect("no holder panics").clone();
    for (path, round) in &expected {
        let secret = match client.get_secret(&SecretPath::parse(path)?).await {
            Ok(secret) => secret,
            Err(AuthError::SecretNotFound { .. }) => {
                return Err(
                    format!("acknowledged write of {path} (round {round}) is missing").into(),
                )
            }
            Err(error) => return Err(format!("reading {path}: {error}").into()),
        };
        let stored: u64 = secret
            .value
            .expose()
            .split_once('-')
            .and_then(|(_, round)| round.parse().ok())
            .ok_or_else(|| format!("{path} holds a value this tool never wrote"))?;
        if stored < *round {
            return Err(format!(
                "{path}: stored round {stored} is older than acknowledged round {round}"
            )
            .into());
        }
    }
    let Response::Grants(list) = client.call(Request::ListGrants(ListGrants {})).await? else {
        return Err("unexpected answer to list_grants".into());
    };
    let present: BTreeSet<String> = list
        .grants
        .iter()
        .map(|grant| grant.scope.to_string())
        .filter(|scope| scope.starts_with("gc/"))
        .collect();
    let mut book = grants.lock().expect("no holder panics");
    let in_flight = book.in_flight.take();
    for (scope, granted) in &book.acked {
        let is_present = present.contains(scope);
        let in_flight_explains = in_flight
            .as_ref()
            .is_some_and(|(s, g)| s == scope && *g == is_present);
        if is_present != *granted && !in_flight_explains {
            return Err(format!(
                "grant {scope}: acknowledged {} but the hub has it {}",
                if *granted { "granted" } else { "revoked" },
                if is_present { "granted" } else { "absent" }
            )
            .into());
        }
    }
    // What is stored now is the truth the next iteration builds on.
    let scopes: Vec<String> = book.acked.keys().cloned().collect();
    for scope in scopes {
        book.acked.insert(scope.clone(), present.contains(&scope));
    }
    if let Some((scope, _)) = in_flight {
        book.acked.insert(scope.clone(), present.contains(&scope));
    }
    Ok(())
}

/// The last lines of the hub's log, for a failure report.
fn log_tail(hub: &HubProcess) -> String {
    let log = std::fs::read_to_string(hub.log_path()).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let from = lines.len().saturating_sub(20);
    format!(
        "---- last lines of {} ----\n{}",
        hub.log_path().display(),
        lines[from..].join("\n")
    )
}
