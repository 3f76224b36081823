//! `workspace-bench`: wall time of `hyperforge workspace push` over 30 repositories in 3 orgs,
//! each mirrored to two forges, against a plain sequential `git push` loop over the same
//! repositories and forges (git's own `store` helper supplying the same tokens).
//!
//! Both run against the tests' authenticating git HTTP server on loopback, in alternating rounds,
//! each round after a new commit in every repository (not timed). The hub, server and repositories
//! are set up by the test harness in a temporary directory. Loopback has no network latency, so
//! this measures the work itself; against real forges each push also waits a network round trip
//! or more, which the parallel pushes overlap and the loop does not.
//!
//! Usage: `workspace-bench [ROUNDS] [JOBS] [LATENCY_MS]` (defaults 5, 8 and 0); build with
//! `--release`. `LATENCY_MS` delays each of the server's answers, standing in for the network
//! round trip to a real forge (a push is two HTTP exchanges).

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use auth_hub_tests::forge_fixture::ForgeWorld;

const ORGS: [&str; 3] = ["alice", "acme-corp", "bob"];
const FORGES: [&str; 2] = ["github", "codeberg"];
const PER_ORG: usize = 10;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let jobs: String = args.next().unwrap_or_else(|| "8".to_owned());
    let latency_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);

    let world = ForgeWorld::start("");
    let workspace = world.work_dir();
    let mut repos: Vec<(&str, PathBuf)> = Vec::new();
    let credentials = world.dir().join("git-credentials");
    let mut store = String::new();
    for org in ORGS {
        for forge in FORGES {
            let token = format!("tok-{forge}-{org}");
            world.put_token(forge, org, &token);
            world.grant(&format!("{forge}/{org}/*"));
        }
        for index in 0..PER_ORG {
            let name = format!("{org}-repo-{index:02}");
            let repo = world.work_repo(&name);
            for forge in FORGES {
                world.server.create_bare(forge, org, &name);
                // git's store helper matches a stored path exactly: one line per repository.
                let url = world.push_url(forge, org, &name);
                let token = format!("tok-{forge}-{org}");
                store.push_str(&url.replacen("http://", &format!("http://test:{token}@"), 1));
                store.push('\n');
            }
            world.init(&repo, &FORGES.join(","), org);
            repos.push((org, repo));
        }
    }
    fs::write(&credentials, store).expect("write the git credential store");
    world.server.set_latency(Duration::from_millis(latency_ms));

    let mut parallel = Vec::new();
    let mut sequential = Vec::new();
    for round in 0..rounds {
        new_commits(&world, &repos, round, "w");
        let started = Instant::now();
        let run = world.run(
            &workspace,
            &["workspace", "push", "--path", ".", "-j", &jobs],
        );
        let took = started.elapsed();
        if run.code != 0 {
            eprintln!("workspace push failed:\n{}\n{}", run.stdout, run.stderr);
            return ExitCode::FAILURE;
        }
        parallel.push(took);

        new_commits(&world, &repos, round, "s");
        let helper = format!("store --file={}", credentials.display());
        let started = Instant::now();
        for (org, repo) in &repos {
            let name = repo.file_name().expect("repo name").to_string_lossy();
            for forge in FORGES {
                let url = world.push_url(forge, org, &name);
                let output = world
                    .git_command(repo)
                    .args(["-c", "credential.helper=", "-c"])
                    .arg(format!("credential.helper={helper}"))
                    .args([
                        "-c",
                        "credential.useHttpPath=true",
                        "push",
                        "--quiet",
                        &url,
                        "main",
                    ])
                    .output()
                    .expect("run git push");
                if !output.status.success() {
                    eprintln!(
                        "git push failed: {}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
        sequential.push(started.elapsed());
        eprintln!(
            "round {}: workspace push {:?}, sequential git push {:?}",
            round + 1,
            parallel[round],
            sequential[round]
        );
    }
    let (p, s) = (median(&mut parallel), median(&mut sequential));
    println!(
        "{} repositories x {} forges, {latency_ms} ms added per HTTP answer, {rounds} rounds: hyperforge workspace push -j {jobs} median {:.0} ms; \
         sequential git push loop median {:.0} ms; ratio {:.2}x",
        repos.len(),
        FORGES.len(),
        p.as_secs_f64() * 1000.0,
        s.as_secs_f64() * 1000.0,
        s.as_secs_f64() / p.as_secs_f64()
    );
    ExitCode::SUCCESS
}

/// One new commit in every repository, so every push has something to send.
fn new_commits(world: &ForgeWorld, repos: &[(&str, PathBuf)], round: usize, tag: &str) {
    for (_, repo) in repos {
        world.commit(repo, "ROUND", &format!("{tag}{round}\n"));
    }
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}
