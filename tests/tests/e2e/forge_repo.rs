//! `hyperforge init`, `sync` and `status` on a real repository: init writes the config, the
//! remotes and the hub registration without asking for a secret and is idempotent; sync repairs
//! missing and wrong remotes (and `--dry-run` only reports); status reports remotes, ahead/behind
//! and the dirty flag, and `--fetch` fetches over http with the token.

use std::fs;
use std::path::Path;

use auth_hub_tests::forge_fixture::ForgeWorld;
use auth_hub_tests::Run;

fn arg(path: &Path) -> String {
    path.display().to_string()
}

fn status_json(world: &ForgeWorld, repo: &Path, extra: &[&str]) -> serde_json::Value {
    let path = arg(repo);
    let mut args = vec!["--json", "status", "--path", &path];
    args.extend(extra);
    let run = world.run(repo, &args);
    run.assert_code(0);
    run.json()
}

fn forge<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["forges"]
        .as_array()
        .and_then(|forges| forges.iter().find(|f| f["forge"] == name))
        .unwrap_or_else(|| panic!("forge {name} in {status}"))
}

#[test]
fn init_writes_config_and_remotes_and_registers_without_a_secret_request() {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("repo");
    let run = world.init(&repo, "github,codeberg", "alice");
    let origin = world.ssh_url("github", "alice", "repo");
    let codeberg = world.ssh_url("codeberg", "alice", "repo");
    for line in [
        "created .hyperforge/config.toml".to_owned(),
        format!("remote origin: added {origin}"),
        format!("remote codeberg: added {codeberg}"),
        "registered with auth-hub".to_owned(),
    ] {
        assert!(
            run.stdout.lines().any(|l| l.trim() == line),
            "{line:?} in:\n{}",
            run.stdout
        );
    }
    assert!(repo.join(".hyperforge/config.toml").is_file());
    let config = fs::read_to_string(repo.join(".hyperforge/config.toml")).unwrap();
    assert!(config.contains("alice"), "{config}");
    assert_eq!(
        world.git(&repo, &["remote", "get-url", "origin"]).trim(),
        origin
    );
    assert_eq!(
        world.git(&repo, &["remote", "get-url", "codeberg"]).trim(),
        codeberg
    );

    // No secret was asked for: nothing pending, no scope or secret event in the audit log.
    let pending = world.hub.run(&["--json", "auth", "pending"], None).json();
    assert_eq!(pending.as_array().map(Vec::len), Some(0), "{pending}");
    for line in world.audit_lines() {
        let event = line["event"].as_str().unwrap_or_default();
        assert!(
            !event.starts_with("scope_") && event != "get_secret",
            "init made a secret request: {line}"
        );
    }
    assert!(world.server.requests().is_empty(), "init contacted a forge");

    // Again: nothing to do, and it says so.
    let again = world.init(&repo, "github,codeberg", "alice");
    assert_eq!(again.stdout.trim(), "nothing changed", "{}", again.stdout);
    assert_eq!(
        fs::read_to_string(repo.join(".hyperforge/config.toml")).unwrap(),
        config
    );
}

#[test]
fn init_outside_a_git_repository_is_a_usage_error() {
    let world = ForgeWorld::start("");
    let plain = world.work_dir().join("plain");
    fs::create_dir_all(&plain).unwrap();
    let path = arg(&plain);
    let run = world.run(
        &plain,
        &[
            "init", "--path", &path, "--forges", "github", "--org", "alice",
        ],
    );
    run.assert_code(2);
    assert!(run.stderr.contains("git init"), "{}", run.stderr);
    assert!(!plain.join(".hyperforge").exists());
}

#[test]
fn sync_adds_missing_remotes_and_fixes_wrong_urls() {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("repo");
    world.init(&repo, "github,codeberg", "alice");
    let origin = world.ssh_url("github", "alice", "repo");
    let codeberg = world.ssh_url("codeberg", "alice", "repo");
    world.git(&repo, &["remote", "remove", "codeberg"]);
    world.git(
        &repo,
        &["remote", "set-url", "origin", "git@old.example:x/y.git"],
    );
    world.git(
        &repo,
        &["remote", "add", "upstream", "https://example.com/up.git"],
    );
    let config_before = fs::read(repo.join(".git/config")).unwrap();
    let path = arg(&repo);

    let dry = world.run(&repo, &["sync", "--path", &path, "--dry-run"]);
    dry.assert_code(0);
    for line in [
        format!("would: remote origin: git@old.example:x/y.git -> {origin}"),
        format!("would: remote codeberg: added {codeberg}"),
    ] {
        assert!(
            dry.stdout.lines().any(|l| l.trim() == line),
            "{line:?} in:\n{}",
            dry.stdout
        );
    }
    assert_eq!(
        fs::read(repo.join(".git/config")).unwrap(),
        config_before,
        "--dry-run changed nothing"
    );

    let run = world.run(&repo, &["sync", "--path", &path]);
    run.assert_code(0);
    for line in [
        format!("remote origin: git@old.example:x/y.git -> {origin}"),
        format!("remote codeberg: added {codeberg}"),
    ] {
        assert!(
            run.stdout.lines().any(|l| l.trim() == line),
            "{line:?} in:\n{}",
            run.stdout
        );
    }
    assert_eq!(
        world.git(&repo, &["remote", "get-url", "origin"]).trim(),
        origin
    );
    assert_eq!(
        world.git(&repo, &["remote", "get-url", "codeberg"]).trim(),
        codeberg
    );
    assert_eq!(
        world.git(&repo, &["remote", "get-url", "upstream"]).trim(),
        "https://example.com/up.git",
        "other remotes are left alone"
    );

    let again = world.run(&repo, &["sync", "--path", &path]);
    again.assert_code(0);
    assert!(
        again
            .stdout
            .lines()
            .any(|l| l.trim() == "remote origin: ok"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .lines()
            .any(|l| l.trim() == "remote codeberg: ok"),
        "{}",
        again.stdout
    );
}

#[test]
fn an_https_forge_gets_an_https_fetch_url() {
    let world = ForgeWorld::start_with_user_config("", "protocol = \"https\"\n");
    let repo = world.work_repo("repo");
    let run = world.init(&repo, "github,codeberg", "alice");
    // The extra line lands in the last table of the user config: codeberg.
    let url = world.push_url("codeberg", "alice", "repo");
    assert!(
        run.stdout
            .contains(&format!("remote codeberg: added {url}")),
        "{}",
        run.stdout
    );
    let status = status_json(&world, &repo, &[]);
    assert_eq!(forge(&status, "codeberg")["expected_url"], url);
    assert_eq!(
        forge(&status, "github")["expected_url"],
        world.ssh_url("github", "alice", "repo")
    );
}

#[test]
fn status_reports_remotes_ahead_behind_and_dirty() {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("repo");
    world.init(&repo, "github,codeberg", "alice");
    world.server.create_bare("github", "alice", "repo");
    world.server.create_bare("codeberg", "alice", "repo");
    world.put_token("github", "alice", "tok-status-gh");
    world.put_token("codeberg", "alice", "tok-status-cb");
    world.grant("github/alice/*");
    world.grant("codeberg/alice/*");

    let status = status_json(&world, &repo, &[]);
    assert_eq!(status["branch"], "main");
    assert_eq!(status["dirty"], false);
    assert!(status["path"].is_string(), "{status}");
    let github = forge(&status, "github");
    assert_eq!(github["org"], "alice");
    assert_eq!(github["remote"], "origin");
    assert_eq!(github["present"], true);
    assert_eq!(github["url"], world.ssh_url("github", "alice", "repo"));
    assert_eq!(
        github["expected_url"],
        world.ssh_url("github", "alice", "repo")
    );
    assert_eq!(github["url_matches"], true);
    assert!(
        github["ahead"].is_null() && github["behind"].is_null(),
        "no remote-tracking ref yet: {status}"
    );
    assert_eq!(forge(&status, "codeberg")["remote"], "codeberg");

    let path = arg(&repo);
    world.run(&repo, &["push", "--path", &path]).assert_code(0);
    let status = status_json(&world, &repo, &[]);
    assert_eq!(forge(&status, "github")["ahead"], 0);
    assert_eq!(forge(&status, "github")["behind"], 0);

    world.commit(&repo, "LOCAL.md", "local\n");
    let status = status_json(&world, &repo, &[]);
    assert_eq!(forge(&status, "github")["ahead"], 1);
    assert_eq!(forge(&status, "codeberg")["ahead"], 1);
    assert_eq!(status["dirty"], false);

    fs::write(repo.join("README.md"), "edited\n").unwrap();
    let status = status_json(&world, &repo, &[]);
    assert_eq!(status["dirty"], true);

    // A wrong remote URL shows as not matching; a missing remote as absent.
    world.git(
        &repo,
        &["remote", "set-url", "origin", "git@else:x/repo.git"],
    );
    world.git(&repo, &["remote", "remove", "codeberg"]);
    let status = status_json(&world, &repo, &[]);
    assert_eq!(forge(&status, "github")["url_matches"], false);
    assert_eq!(forge(&status, "github")["url"], "git@else:x/repo.git");
    assert_eq!(forge(&status, "codeberg")["present"], false);
    assert!(forge(&status, "codeberg")["url"].is_null(), "{status}");

    // Detached HEAD: no branch.
    let head = world.head(&repo);
    world.git(&repo, &["checkout", "--quiet", "--detach", &head]);
    let status = status_json(&world, &repo, &[]);
    assert!(status["branch"].is_null(), "{status}");
}

#[test]
fn status_fetch_sees_commits_pushed_elsewhere() {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("repo");
    world.init(&repo, "github", "alice");
    world.server.create_bare("github", "alice", "repo");
    world.put_token("github", "alice", "tok-fetch-gh");
    world.grant("github/alice/*");
    let path = arg(&repo);
    world.run(&repo, &["push", "--path", &path]).assert_code(0);

    // Someone else pushes a commit to the forge.
    let helper = world.fixed_helper("other", "tok-fetch-gh");
    let other = world.work_dir().join("other");
    let url = world.push_url("github", "alice", "repo");
    world.git(
        &world.work_dir(),
        &[
            "-c",
            &format!("credential.helper={helper}"),
            "clone",
            "--quiet",
            &url,
            "other",
        ],
    );
    world.git(&other, &["config", "user.name", "Other"]);
    world.git(&other, &["config", "user.email", "other@example.com"]);
    let theirs = world.commit(&other, "THEIRS.md", "theirs\n");
    world.git(
        &other,
        &[
            "-c",
            &format!("credential.helper={helper}"),
            "push",
            "--quiet",
            "origin",
            "main",
        ],
    );

    let status = status_json(&world, &repo, &[]);
    assert_eq!(forge(&status, "github")["behind"], 0, "not fetched yet");
    let fetched: serde_json::Value = status_json(&world, &repo, &["--fetch"]);
    assert_eq!(forge(&fetched, "github")["behind"], 1, "{fetched}");
    assert_eq!(forge(&fetched, "github")["ahead"], 0, "{fetched}");
    assert_eq!(world.rev(&repo, "refs/remotes/origin/main"), Some(theirs));
    let run: Run = world.run(&repo, &["status", "--path", &path, "--fetch"]);
    run.assert_code(0);
    assert!(!run.stdout.contains("tok-fetch-gh") && !run.stderr.contains("tok-fetch-gh"));
    assert!(!world.git_log().contains("tok-fetch-gh"));
}
