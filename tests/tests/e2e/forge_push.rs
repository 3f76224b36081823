//! `hyperforge push` against the authenticating git server: granted tokens land on every forge
//! over HTTP while the remotes keep their ssh fetch URLs; a refused token, a revoked grant and a
//! denied scope fail only their forge; a pending approval completes once granted; and the token
//! never shows up in `.git/config`, a remote URL, a child's argv or environment, or any output.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use auth_hub_tests::forge_fixture::ForgeWorld;
use auth_hub_tests::{wait_until, Run};

const ALICE_GH: &str = "tok-alice-gh-7f3a9c";
const ALICE_CB: &str = "tok-alice-cb-52e1d8";

/// A world with `work/repo` initialised for github+codeberg under `org`, bare repositories on
/// the server and both tokens stored (not granted).
fn world_with_repo(hub_config: &str, org: &str) -> (ForgeWorld, std::path::PathBuf) {
    let world = ForgeWorld::start(hub_config);
    let repo = world.work_repo("repo");
    world.init(&repo, "github,codeberg", org);
    world.server.create_bare("github", org, "repo");
    world.server.create_bare("codeberg", org, "repo");
    world.put_token("github", org, ALICE_GH);
    world.put_token("codeberg", org, ALICE_CB);
    (world, repo)
}

fn push(world: &ForgeWorld, repo: &Path, extra: &[&str]) -> Run {
    let path = repo.display().to_string();
    let mut args = extra.to_vec();
    args.extend(["push", "--path", &path]);
    world.run(repo, &args)
}

fn git_config(repo: &Path) -> Vec<u8> {
    fs::read(repo.join(".git/config")).unwrap()
}

#[test]
fn granted_push_lands_on_both_forges_over_http() {
    let (world, repo) = world_with_repo("", "alice");
    world.grant("github/alice/*");
    world.grant("codeberg/alice/*");
    let head = world.head(&repo);
    let config_before = git_config(&repo);
    // The remotes' fetch URLs are ssh-style: the push must still go over http.
    let origin = world.git(&repo, &["remote", "get-url", "origin"]);
    assert_eq!(origin.trim(), world.ssh_url("github", "alice", "repo"));

    let run = push(&world, &repo, &[]);
    run.assert_code(0);
    for forge in ["github", "codeberg"] {
        let line = format!(
            "✓ Pushed main to {forge} ({})",
            world.push_url(forge, "alice", "repo")
        );
        assert!(run.stdout.contains(&line), "{line} in:\n{}", run.stdout);
        assert_eq!(
            world.server.head_of(forge, "alice", "repo", "main"),
            Some(head.clone()),
            "{forge} has the pushed commit"
        );
    }
    assert_eq!(
        world.rev(&repo, "refs/remotes/origin/main"),
        Some(head.clone())
    );
    assert_eq!(world.rev(&repo, "refs/remotes/codeberg/main"), Some(head));
    assert_eq!(
        git_config(&repo),
        config_before,
        ".git/config is byte-identical"
    );
    let requests = world.server.requests();
    for prefix in ["github", "codeberg"] {
        let receive = format!("/{prefix}/alice/repo.git/git-receive-pack");
        assert!(
            requests
                .iter()
                .any(|r| r.method == "POST" && r.path == receive && r.authorized),
            "an authorized push reached {prefix}: {requests:#?}"
        );
    }
}

#[test]
fn a_refused_token_fails_only_that_forge() {
    let (world, repo) = world_with_repo("", "alice");
    world.grant("github/alice/*");
    world.grant("codeberg/alice/*");
    // The forge now wants another token than the one in the hub.
    world
        .server
        .accept_token("github", "alice", "tok-rotated-elsewhere");
    let head = world.head(&repo);

    let run = push(&world, &repo, &[]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(
            "✗ github: authentication failed (the forge refused the token at github/alice/token)"
        ),
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
    assert!(
        run.stdout.contains("✓ Pushed main to codeberg"),
        "{}",
        run.stdout
    );
    assert!(
        world.server.requests().iter().any(|r| !r.authorized
            && r.path.starts_with("/github/alice/repo.git")
            && r.username.is_some()),
        "git offered the (wrong) token to github"
    );
}

#[test]
fn a_revoked_grant_stops_the_push_to_that_forge() {
    let (world, repo) = world_with_repo("[policy]\ngrant_timeout = \"1s\"\n", "alice");
    world.grant("github/alice/*");
    world.grant("codeberg/alice/*");
    let first = world.head(&repo);
    push(&world, &repo, &[]).assert_code(0);
    assert_eq!(
        world.server.head_of("github", "alice", "repo", "main"),
        Some(first.clone())
    );

    world
        .hub
        .run(&["auth", "revoke", "github/alice/*"], None)
        .assert_code(0);
    let second = world.commit(&repo, "NEXT.md", "next\n");
    let run = push(&world, &repo, &[]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("✗ Access denied to github/alice/*")
            || run
                .stderr
                .contains("✗ Approval timed out for github/alice/*"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  Run: hyperforge auth grant 'github/alice/*'"),
        "{}",
        run.stderr
    );
    assert_eq!(
        world.server.head_of("github", "alice", "repo", "main"),
        Some(first),
        "github kept the old commit"
    );
    assert_eq!(
        world.server.head_of("codeberg", "alice", "repo", "main"),
        Some(second)
    );
}

#[test]
fn a_denied_scope_skips_that_forge_and_pushes_the_others() {
    let hub_config = r#"
[[policy.rule]]
scope = "github/bob/*"
action = "deny"
"#;
    let (world, repo) = world_with_repo(hub_config, "bob");
    world.grant("codeberg/bob/*");
    let head = world.head(&repo);

    let run = push(&world, &repo, &[]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("✗ Access denied to github/bob/*"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  Run: hyperforge auth grant 'github/bob/*'"),
        "{}",
        run.stderr
    );
    assert_eq!(world.server.head_of("github", "bob", "repo", "main"), None);
    assert_eq!(
        world.server.head_of("codeberg", "bob", "repo", "main"),
        Some(head)
    );
    // Nothing reached github at all: no token, no attempt.
    assert!(
        !world
            .server
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/github/")),
        "{:#?}",
        world.server.requests()
    );
}

#[test]
fn push_json_reports_each_forge() {
    let hub_config = r#"
[[policy.rule]]
scope = "github/bob/*"
action = "deny"
"#;
    let (world, repo) = world_with_repo(hub_config, "bob");
    world.grant("codeberg/bob/*");
    let run = push(&world, &repo, &["--json"]);
    run.assert_code(1);
    let json = run.json();
    let forges = json.as_array().expect("an array of forges");
    assert_eq!(forges.len(), 2, "{json}");
    let github = forges.iter().find(|f| f["forge"] == "github").unwrap();
    assert_eq!(github["ok"], false);
    assert_eq!(github["org"], "bob");
    assert_eq!(github["url"], world.push_url("github", "bob", "repo"));
    assert!(github["error"].is_string(), "{json}");
    let codeberg = forges.iter().find(|f| f["forge"] == "codeberg").unwrap();
    assert_eq!(codeberg["ok"], true);
    assert!(codeberg["error"].is_null(), "{json}");
}

#[test]
fn push_of_one_forge_only() {
    let (world, repo) = world_with_repo("", "alice");
    world.grant("github/alice/*");
    world.grant("codeberg/alice/*");
    let path = repo.display().to_string();
    let run = world.run(&repo, &["push", "--path", &path, "--forge", "codeberg"]);
    run.assert_code(0);
    assert_eq!(
        world.server.head_of("github", "alice", "repo", "main"),
        None
    );
    assert_eq!(
        world.server.head_of("codeberg", "alice", "repo", "main"),
        Some(world.head(&repo))
    );
}

#[test]
fn a_pending_push_completes_once_granted() {
    let (world, repo) = world_with_repo("", "alice");
    world.grant("codeberg/alice/*");
    let head = world.head(&repo);
    let path = repo.display().to_string();
    let pusher = world
        .hyperforge(&repo)
        .args(["push", "--path", &path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let pending = wait_until(Duration::from_secs(20), || {
        let json = world.hub.run(&["--json", "auth", "pending"], None).json();
        let list = json.as_array().cloned().unwrap_or_default();
        (!list.is_empty()).then_some(list)
    })
    .expect("the push waits for approval");
    assert_eq!(pending[0]["scopes"][0], "github/alice/*", "{pending:?}");
    world.grant("github/alice/*");

    let run = Run::from(pusher.wait_with_output().unwrap());
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("hyperforge auth grant 'github/alice/*'"),
        "the wait names the command that approves it: {}",
        run.stderr
    );
    assert_eq!(
        world.server.head_of("github", "alice", "repo", "main"),
        Some(head.clone())
    );
    assert_eq!(
        world.server.head_of("codeberg", "alice", "repo", "main"),
        Some(head)
    );
}

#[test]
fn the_token_never_leaks() {
    let (world, repo) = world_with_repo("", "alice");
    world.grant("github/alice/*");
    world.grant("codeberg/alice/*");

    let quiet = push(&world, &repo, &[]);
    quiet.assert_code(0);
    world.commit(&repo, "MORE.md", "more\n");
    let verbose = push(&world, &repo, &["-vv"]);
    verbose.assert_code(0);
    let json = push(&world, &repo, &["--json"]);
    json.assert_code(0);

    let log = world.git_log();
    assert!(
        log.contains("ARGV:") && log.contains("push"),
        "hyperforge ran git through the wrapper:\n{log}"
    );
    let remotes = world.git(&repo, &["remote", "-v"]);
    let config = String::from_utf8_lossy(&git_config(&repo)).into_owned();
    let all_config = world.git(&repo, &["config", "--list", "--show-origin"]);
    for token in [ALICE_GH, ALICE_CB] {
        for (place, text) in [
            (".git/config", config.as_str()),
            ("git config --list", all_config.as_str()),
            ("remote URLs", remotes.as_str()),
            ("git argv/env log", log.as_str()),
            ("stdout", quiet.stdout.as_str()),
            ("stderr", quiet.stderr.as_str()),
            ("-vv stdout", verbose.stdout.as_str()),
            ("-vv stderr", verbose.stderr.as_str()),
            ("--json stdout", json.stdout.as_str()),
            ("--json stderr", json.stderr.as_str()),
        ] {
            assert!(!text.contains(token), "the token leaked into {place}");
        }
    }
    // The hub's own log never has it either.
    assert!(!world.hub.log().contains(ALICE_GH));
    // Every push went over http with credentials the server accepted.
    assert!(world
        .server
        .requests()
        .iter()
        .any(|r| r.path.ends_with("git-receive-pack") && r.authorized));
}

#[test]
fn tags_go_along_with_tags_and_a_users_own_helpers_never_see_the_token() {
    let (world, repo) = world_with_repo("", "alice");
    world.grant("github/alice/*");
    world.git(&repo, &["tag", "-a", "v1.0.0", "-m", "first release"]);
    // The user's global config has a storing helper: it must be bypassed, never fed the token.
    let store = world.dir().join("stored-credentials");
    world.git(
        &repo,
        &[
            "config",
            "--global",
            "credential.helper",
            &format!("store --file={}", store.display()),
        ],
    );

    let path = repo.display().to_string();
    let push_github = |extra: &[&str]| {
        let mut args = vec!["push", "--path", path.as_str(), "--forge", "github"];
        args.extend_from_slice(extra);
        world.run(&repo, &args)
    };
    push_github(&[]).assert_code(0);
    assert!(
        !tag_on_server(&world, "v1.0.0"),
        "without --tags only the branch is pushed"
    );
    push_github(&["--tags"]).assert_code(0);
    assert!(tag_on_server(&world, "v1.0.0"), "--tags pushes the tag");
    assert!(
        !store.exists() || !fs::read_to_string(&store).unwrap().contains(ALICE_GH),
        "the user's store helper never received the token"
    );
}

fn tag_on_server(world: &ForgeWorld, tag: &str) -> bool {
    let bare = world.server.root().join("github/alice/repo.git");
    world
        .git_output(
            &bare,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/tags/{tag}"),
            ],
        )
        .status
        .success()
}

#[test]
fn a_token_is_never_sent_over_plain_http_beyond_loopback() {
    let world = ForgeWorld::start_with_user_config(
        "",
        "\n[forge.plain]\nkind = \"gitea\"\nurl = \"http://git.example.invalid\"\n",
    );
    let repo = world.work_repo("repo");
    world.init(&repo, "plain", "alice");
    world
        .hub
        .run(
            &["auth", "put", "plain/alice/token"],
            Some("tok-plain-http\n"),
        )
        .assert_code(0);
    world.grant("plain/alice/*");

    let path = repo.display().to_string();
    let run = world.run(&repo, &["push", "--path", &path]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("refusing to send a token over plain http"),
        "{}",
        run.stderr
    );
    assert!(
        !world.git_log().contains("push"),
        "git was never asked to push: {}",
        world.git_log()
    );
}
