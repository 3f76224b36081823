//! `--wait` / `--no-wait` on the forge commands (`push`, `workspace push`, `status --fetch`,
//! `init --create-remote`): a cron job never blocks on an ungranted forge with `--no-wait` (it is
//! reported denied at once, with the command that grants it), and with `--wait D` the whole batch
//! waits at most D, not D per forge. The hub's own grant timeout is the default 60 s throughout,
//! so any wait the flags did not bound would show.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use auth_hub_tests::forge_fixture::ForgeWorld;
use auth_hub_tests::Run;
use fake_forge::forge_api::{FakeForge, FakeKind};

/// Far below the hub's 60 s grant timeout: a command that waited for approval would take longer.
const AT_ONCE: Duration = Duration::from_secs(15);

/// `work/repo` initialised for github+codeberg under alice, bare repositories and tokens in
/// place, nothing granted.
fn world() -> (ForgeWorld, PathBuf) {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("repo");
    world.init(&repo, "github,codeberg", "alice");
    for (forge, token) in [("github", "tok-gh-wait-1"), ("codeberg", "tok-cb-wait-2")] {
        world.server.create_bare(forge, "alice", "repo");
        world.put_token(forge, "alice", token);
    }
    (world, repo)
}

fn timed(world: &ForgeWorld, cwd: &Path, args: &[&str]) -> (Run, Duration) {
    let started = Instant::now();
    let run = world.run(cwd, args);
    (run, started.elapsed())
}

fn nothing_pending(world: &ForgeWorld) {
    let pending = world.hub.run(&["--json", "auth", "pending"], None).json();
    assert_eq!(pending, serde_json::json!([]), "no request left waiting");
}

#[test]
fn push_no_wait_skips_an_ungranted_forge_at_once_and_pushes_the_other() {
    let (world, repo) = world();
    world.grant("codeberg/alice/*");
    let head = world.head(&repo);
    let path = repo.display().to_string();

    let (run, took) = timed(&world, &repo, &["push", "--path", &path, "--no-wait"]);
    run.assert_code(1);
    assert!(took < AT_ONCE, "returned at once, took {took:?}");
    assert_eq!(
        run.stderr
            .matches("✗ Access denied to github/alice/*")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  Run: hyperforge auth grant 'github/alice/*'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error: push failed for 1 of 2 forges: github"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("waiting for approval"),
        "{}",
        run.stderr
    );
    assert_eq!(
        world.server.head_of("github", "alice", "repo", "main"),
        None
    );
    assert_eq!(
        world.server.head_of("codeberg", "alice", "repo", "main"),
        Some(head)
    );
    nothing_pending(&world);
}

#[test]
fn push_no_wait_with_no_forge_granted_is_access_denied() {
    let (world, repo) = world();
    let path = repo.display().to_string();
    let (run, took) = timed(&world, &repo, &["push", "--path", &path, "--no-wait"]);
    run.assert_code(3);
    assert!(took < AT_ONCE, "returned at once, took {took:?}");
    for forge in ["github", "codeberg"] {
        assert!(
            run.stderr
                .contains(&format!("  Run: hyperforge auth grant '{forge}/alice/*'")),
            "{}",
            run.stderr
        );
        assert_eq!(world.server.head_of(forge, "alice", "repo", "main"), None);
    }
    assert!(
        world.server.requests().is_empty(),
        "no forge was contacted: {:#?}",
        world.server.requests()
    );
}

#[test]
fn push_wait_bounds_the_whole_batch_not_each_forge() {
    let (world, repo) = world();
    let path = repo.display().to_string();
    let wait = Duration::from_secs(3);
    let (run, took) = timed(&world, &repo, &["push", "--path", &path, "--wait", "3s"]);
    run.assert_code(3);
    for forge in ["github", "codeberg"] {
        assert!(
            run.stderr
                .contains(&format!("✗ Approval timed out for {forge}/alice/*")),
            "{}",
            run.stderr
        );
    }
    assert!(took >= wait, "it waited for approval: {took:?}");
    assert!(
        took < wait * 2,
        "two forges waited {took:?}: one wait of 3s for both, not one each"
    );
    nothing_pending(&world);
}

#[test]
fn workspace_push_no_wait_reports_each_repository_once_at_once() {
    let world = ForgeWorld::start("");
    let ws = world.dir().join("ws");
    world.put_token("github", "alice", "tok-ws-wait");
    for name in ["one", "two"] {
        let repo = ws.join(name);
        world.init_repo_at(&repo);
        world.init(&repo, "github", "alice");
        world.server.create_bare("github", "alice", name);
    }
    let path = ws.display().to_string();
    let (run, took) = timed(
        &world,
        &ws,
        &["workspace", "push", "--path", &path, "--no-wait"],
    );
    run.assert_code(3);
    assert!(took < AT_ONCE, "returned at once, took {took:?}");
    for line in [
        "✗ Denied: github/alice/*",
        "  Run: hyperforge auth grant 'github/alice/*'",
        "✗ Failed: one (github: access denied)",
        "✗ Failed: two (github: access denied)",
        "error: 2 of 2 repositories failed",
    ] {
        assert_eq!(
            run.stderr.lines().filter(|l| *l == line).count(),
            1,
            "{line:?} once on stderr:\n{}",
            run.stderr
        );
    }
    assert!(!run.stdout.contains('✗'), "{}", run.stdout);
    nothing_pending(&world);
}

#[test]
fn status_fetch_no_wait_reports_the_ungranted_forge_at_once() {
    let (world, repo) = world();
    world.grant("codeberg/alice/*");
    let path = repo.display().to_string();
    let (run, took) = timed(
        &world,
        &repo,
        &["status", "--path", &path, "--fetch", "--no-wait"],
    );
    run.assert_code(0);
    assert!(took < AT_ONCE, "returned at once, took {took:?}");
    assert!(run.stdout.contains("(access denied)"), "{}", run.stdout);
    assert_eq!(
        run.stderr
            .matches("Run: hyperforge auth grant 'github/alice/*'")
            .count(),
        1,
        "{}",
        run.stderr
    );
    nothing_pending(&world);
}

#[test]
fn init_create_remote_no_wait_creates_nothing_and_writes_nothing() {
    let fake = FakeForge::start(FakeKind::Gitea, "tok-tea", "alice");
    let extra = format!(
        "\n[forge.tea]\nkind = \"gitea\"\nurl = \"{}\"\n",
        fake.origin()
    );
    let world = ForgeWorld::start_with_user_config("", &extra);
    world.put_token("tea", "alice", "tok-tea");
    let repo = world.work_repo("tool");
    let config_before = std::fs::read(repo.join(".git/config")).unwrap();
    let path = repo.display().to_string();

    let (run, took) = timed(
        &world,
        &repo,
        &[
            "init",
            "--path",
            &path,
            "--forges",
            "tea",
            "--org",
            "alice",
            "--create-remote",
            "--no-wait",
        ],
    );
    run.assert_code(3);
    assert!(took < AT_ONCE, "returned at once, took {took:?}");
    assert!(
        run.stderr
            .contains("Run: hyperforge auth grant 'tea/alice/*'"),
        "{}",
        run.stderr
    );
    assert!(fake.requests().is_empty(), "the forge was never called");
    assert!(!repo.join(".hyperforge").exists(), "no config written");
    assert_eq!(
        std::fs::read(repo.join(".git/config")).unwrap(),
        config_before
    );
    nothing_pending(&world);
}
