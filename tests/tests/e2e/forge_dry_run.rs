//! What `init` and `push` must not do behind the user's back: `init` never replaces an existing
//! remote's URL without `--force` (it says which remote would change, from what to what, exits 2
//! and changes nothing), and `init --dry-run` / `push --dry-run` print the plan and change
//! nothing: no file, no remote, no push, no prompt to the owner, no token.

use std::fs;
use std::path::Path;

use auth_hub_tests::forge_fixture::ForgeWorld;

fn git_config(repo: &Path) -> Vec<u8> {
    fs::read(repo.join(".git/config")).unwrap()
}

/// Scope requests and secret reads the hub recorded since `since` audit lines.
fn requests_since(world: &ForgeWorld, since: usize) -> Vec<serde_json::Value> {
    world.audit_lines()[since..]
        .iter()
        .filter(|line| {
            line["event"]
                .as_str()
                .is_some_and(|event| event.starts_with("scope") || event.starts_with("secret_read"))
        })
        .cloned()
        .collect()
}

#[test]
fn init_refuses_to_replace_a_remote_url_without_force() {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("tool");
    let elsewhere = "https://example.invalid/someone-else/tool.git";
    world.git(&repo, &["remote", "add", "origin", elsewhere]);
    let before = git_config(&repo);
    let path = repo.display().to_string();
    let init = [
        "init", "--path", &path, "--forges", "github", "--org", "alice",
    ];

    let run = world.run(&repo, &init);
    run.assert_code(2);
    let wanted = world.ssh_url("github", "alice", "tool");
    assert!(
        run.stderr
            .contains(&format!("remote origin: {elsewhere} -> {wanted}")),
        "names the remote, the old and the new URL: {}",
        run.stderr
    );
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(git_config(&repo), before, "no remote changed");
    assert!(!repo.join(".hyperforge").exists(), "no config written");

    // The dry run shows the same plan and the same refusal.
    let mut dry = init.to_vec();
    dry.push("--dry-run");
    let run = world.run(&repo, &dry);
    run.assert_code(2);
    assert!(
        run.stdout
            .contains(&format!("would: remote origin: {elsewhere} -> {wanted}")),
        "{}",
        run.stdout
    );
    assert_eq!(git_config(&repo), before);

    let mut forced = init.to_vec();
    forced.push("--force");
    let run = world.run(&repo, &forced);
    run.assert_code(0);
    assert_eq!(
        world.git(&repo, &["remote", "get-url", "origin"]).trim(),
        wanted
    );
    assert!(repo.join(".hyperforge/config.toml").is_file());
}

#[test]
fn init_dry_run_changes_nothing() {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("tool");
    let before = git_config(&repo);
    let audit_before = world.audit_lines().len();
    let path = repo.display().to_string();

    let run = world.run(
        &repo,
        &[
            "init",
            "--path",
            &path,
            "--forges",
            "github,codeberg",
            "--org",
            "alice",
            "--create-remote",
            "--dry-run",
        ],
    );
    run.assert_code(0);
    for line in [
        "would: created .hyperforge/config.toml".to_owned(),
        format!(
            "would: remote origin: added {}",
            world.ssh_url("github", "alice", "tool")
        ),
        format!(
            "would: remote codeberg: added {}",
            world.ssh_url("codeberg", "alice", "tool")
        ),
        "would: create alice/tool on github (github/alice/* needs approval: run `hyperforge auth grant 'github/alice/*'`)".to_owned(),
    ] {
        assert!(run.stdout.contains(&line), "{line:?} in:\n{}", run.stdout);
    }
    let json = world
        .run(
            &repo,
            &[
                "--json",
                "init",
                "--path",
                &path,
                "--forges",
                "github,codeberg",
                "--org",
                "alice",
                "--create-remote",
                "--dry-run",
            ],
        )
        .json();
    assert_eq!(json["dry_run"], true, "{json}");
    assert_eq!(json["remotes"][0]["change"], "add", "{json}");
    assert_eq!(json["create"][0]["repo"], "alice/tool", "{json}");
    assert_eq!(json["create"][0]["access"], "needs_approval", "{json}");
    assert_eq!(git_config(&repo), before, "no remote added");
    assert!(!repo.join(".hyperforge").exists(), "no config written");
    assert!(requests_since(&world, audit_before).is_empty());
    let registered =
        fs::read_to_string(world.hub.home().join("state/repos.json")).unwrap_or_default();
    assert!(
        !registered.contains("work/tool"),
        "not registered with the hub: {registered}"
    );
    // A real init does register it there (so the check above can fail).
    world.init(&repo, "github,codeberg", "alice");
    let registered = fs::read_to_string(world.hub.home().join("state/repos.json")).unwrap();
    assert!(registered.contains("work/tool"), "{registered}");
}

#[test]
fn push_dry_run_pushes_nothing_and_asks_nothing() {
    let world = ForgeWorld::start("");
    let repo = world.work_repo("repo");
    world.init(&repo, "github,codeberg", "alice");
    world.server.create_bare("github", "alice", "repo");
    world.server.create_bare("codeberg", "alice", "repo");
    world.put_token("github", "alice", "tok-dry-gh");
    world.put_token("codeberg", "alice", "tok-dry-cb");
    world.grant("github/alice/*");
    let head = world.head(&repo);
    let config_before = git_config(&repo);
    let audit_before = world.audit_lines().len();
    let path = repo.display().to_string();

    let run = world.run(&repo, &["push", "--path", &path, "--dry-run"]);
    run.assert_code(0);
    let short = &head[..12];
    for line in [
        format!(
            "would push main ({short}) to github: {} (github/alice/* granted)",
            world.push_url("github", "alice", "repo")
        ),
        format!(
            "would push main ({short}) to codeberg: {} (codeberg/alice/* needs approval: run `hyperforge auth grant 'codeberg/alice/*'`)",
            world.push_url("codeberg", "alice", "repo")
        ),
    ] {
        assert!(run.stdout.contains(&line), "{line:?} in:\n{}", run.stdout);
    }
    for forge in ["github", "codeberg"] {
        assert_eq!(world.server.head_of(forge, "alice", "repo", "main"), None);
    }
    assert!(world.server.requests().is_empty(), "no forge contacted");
    assert_eq!(world.rev(&repo, "refs/remotes/origin/main"), None);
    assert_eq!(git_config(&repo), config_before);
    assert!(
        requests_since(&world, audit_before).is_empty(),
        "no scope requested, no secret read"
    );

    let json = world
        .run(&repo, &["--json", "push", "--path", &path, "--dry-run"])
        .json();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["commit"], head.as_str());
    assert_eq!(json["forges"][0]["access"], "granted", "{json}");
    assert_eq!(json["forges"][1]["access"], "needs_approval", "{json}");
}
