//! `hyperforge auth git-credential` as everyday git's credential helper: a real `git clone` and
//! `git push` against the authenticating server get the token from the hub; an unknown host, a
//! path without an org and a denied scope get no answer (so git falls through); `store` and
//! `erase` are accepted and ignored.

use std::path::Path;
use std::process::Output;

use auth_hub_tests::forge_fixture::ForgeWorld;
use auth_hub_tests::hyperforge_binary;

const TOKEN: &str = "tok-helper-alice-91b2";

/// Real git with hyperforge as its only credential helper (and the hub environment).
fn git_with_helper(world: &ForgeWorld, dir: &Path, args: &[&str]) -> Output {
    let helper = format!("!'{}' auth git-credential", hyperforge_binary().display());
    world
        .git_command(dir)
        .env("AUTH_HUB_HOME", world.hub.home())
        .env("AUTH_HUB_NO_AUTOSTART", "1")
        .env_remove("AUTH_HUB_TOKEN")
        .env_remove("AUTH_HUB_SOCKET")
        .env("HYPERFORGE_CONFIG", world.user_config())
        .args(["-c", "credential.helper="])
        .args(["-c", &format!("credential.helper={helper}")])
        .args(["-c", "credential.useHttpPath=true"])
        .args(args)
        .output()
        .unwrap()
}

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The helper's reply to `get` for `input` (git's key=value lines).
fn credential(world: &ForgeWorld, action: &str, input: &str) -> auth_hub_tests::Run {
    world.run_with_stdin(
        &world.work_dir(),
        &["auth", "git-credential", action],
        Some(input),
    )
}

#[test]
fn real_git_clones_and_pushes_with_hyperforge_as_helper() {
    let world = ForgeWorld::start("");
    world.server.create_bare("github", "alice", "repo");
    world.put_token("github", "alice", TOKEN);
    world.grant("github/alice/*");
    let url = world.push_url("github", "alice", "repo");

    // Seed the forge with one commit.
    let seed = world.work_repo("seed");
    let pushed = git_with_helper(&world, &seed, &["push", "--quiet", &url, "main"]);
    assert_ok(&pushed, "push");
    assert_eq!(
        world.server.head_of("github", "alice", "repo", "main"),
        Some(world.head(&seed))
    );

    let cloned = git_with_helper(
        &world,
        &world.work_dir(),
        &["clone", "--quiet", &url, "clone"],
    );
    assert_ok(&cloned, "clone");
    let clone = world.work_dir().join("clone");
    assert_eq!(world.head(&clone), world.head(&seed));

    world.git(&clone, &["config", "user.name", "Clone"]);
    world.git(&clone, &["config", "user.email", "clone@example.com"]);
    let next = world.commit(&clone, "NEXT.md", "next\n");
    let pushed = git_with_helper(&world, &clone, &["push", "--quiet", "origin", "main"]);
    assert_ok(&pushed, "push from the clone");
    assert_eq!(
        world.server.head_of("github", "alice", "repo", "main"),
        Some(next)
    );

    let config = std::fs::read_to_string(clone.join(".git/config")).unwrap();
    assert!(
        !config.contains(TOKEN),
        "the token stayed out of the clone's config"
    );
    assert!(world
        .server
        .requests()
        .iter()
        .any(|r| r.path.ends_with("git-receive-pack") && r.authorized));
}

#[test]
fn get_answers_a_known_forge_with_the_token() {
    let world = ForgeWorld::start("");
    world.put_token("codeberg", "alice", TOKEN);
    world.grant("codeberg/alice/*");
    let host = world
        .server
        .base_url()
        .trim_start_matches("http://")
        .to_owned();
    let run = credential(
        &world,
        "get",
        &format!("protocol=http\nhost={host}\npath=codeberg/alice/repo.git\n\n"),
    );
    run.assert_code(0);
    assert!(
        run.stdout.lines().any(|l| l == format!("password={TOKEN}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.lines().any(|l| l.starts_with("username=")),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains(TOKEN));
}

#[test]
fn unknown_hosts_missing_orgs_and_denials_get_no_answer() {
    let hub_config = r#"
[[policy.rule]]
scope = "github/bob/*"
action = "deny"
"#;
    let world = ForgeWorld::start(hub_config);
    world.put_token("github", "bob", "tok-bob-never");
    let host = world
        .server
        .base_url()
        .trim_start_matches("http://")
        .to_owned();

    for input in [
        "protocol=https\nhost=unknown.example.org\npath=alice/repo.git\n\n".to_owned(),
        // The forge's host but another port: a different server.
        "protocol=http\nhost=127.0.0.1:1\npath=github/alice/repo.git\n\n".to_owned(),
        // Known forge, no org in the path.
        format!("protocol=http\nhost={host}\npath=github\n\n"),
        // Denied scope.
        format!("protocol=http\nhost={host}\npath=github/bob/repo.git\n\n"),
    ] {
        let run = credential(&world, "get", &input);
        run.assert_code(0);
        assert_eq!(run.stdout, "", "no answer for {input:?}");
        assert!(!run.stderr.contains("tok-bob-never"));
    }
}

#[test]
fn store_and_erase_are_accepted_and_ignored() {
    let world = ForgeWorld::start("");
    let host = world
        .server
        .base_url()
        .trim_start_matches("http://")
        .to_owned();
    let input = format!(
        "protocol=http\nhost={host}\npath=github/alice/repo.git\nusername=x\npassword=stored-nowhere\n\n"
    );
    for action in ["store", "erase"] {
        let run = credential(&world, action, &input);
        run.assert_code(0);
        assert_eq!(run.stdout, "");
    }
    // Nothing was written to the hub.
    let list = world.hub.run(&["--json", "auth", "ls"], None);
    assert!(!list.stdout.contains("stored-nowhere"));
}
