//! Declared scopes: a registered repository's `.hyperforge/config.toml` shows up in
//! `hyperforge auth status` with each scope's state, follows edits, editor renames, deletion and
//! invalid files within a second; `[policy] declared = "allow"` lets the owner key read declared
//! scopes without a prompt (deny rules still win); `auth-hub status` shows the hub's state and
//! exits 5 when none answers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auth_hub_client::protocol::request::{Request, Status};
use auth_hub_client::protocol::response::StatusReply;
use auth_hub_client::protocol::Response;
use auth_hub_client::HubClient;
use auth_hub_tests::{hub_binary, wait_until, TestHub};

/// How soon a change to a repository's config must show (judged).
const WITHIN: Duration = Duration::from_secs(1);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A canonical temporary repository directory (the hub is given canonical paths).
fn repo_dir(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(dir).unwrap()
}

fn config_file(repo: &Path) -> PathBuf {
    repo.join(".hyperforge").join("config.toml")
}

fn write_config(repo: &Path, text: &str) {
    std::fs::create_dir_all(repo.join(".hyperforge")).unwrap();
    std::fs::write(config_file(repo), text).unwrap();
}

/// Saves the way editors do: a temp file beside the config, renamed over it.
fn save_like_an_editor(repo: &Path, text: &str) {
    let temp = repo.join(".hyperforge").join(".config.toml.swp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, config_file(repo)).unwrap();
}

/// Polls the hub's status until `check` holds, at most `WITHIN` after `since`; panics otherwise.
fn status_until(
    rt: &tokio::runtime::Runtime,
    client: &HubClient,
    since: Instant,
    what: &str,
    check: impl Fn(&StatusReply) -> bool,
) -> StatusReply {
    let mut last = None;
    let found = wait_until(WITHIN.saturating_sub(since.elapsed()), || {
        let status = rt.block_on(fetch_status(client));
        if check(&status) {
            Some(status)
        } else {
            last = Some(status);
            None
        }
    });
    let elapsed = since.elapsed();
    match found {
        Some(status) if elapsed <= WITHIN => status,
        Some(_) => panic!("{what}: took {elapsed:?}, more than {WITHIN:?}"),
        None => panic!("{what}: not seen within {WITHIN:?}; last status {last:#?}"),
    }
}

async fn fetch_status(client: &HubClient) -> StatusReply {
    match client.call(Request::Status(Status {})).await.unwrap() {
        Response::Status(status) => status,
        other => panic!("status answered {other:?}"),
    }
}

fn state_of(status: &StatusReply, scope: &str) -> Option<String> {
    status
        .declared
        .iter()
        .find(|declared| declared.scope == scope)
        .map(|declared| declared.state.as_str().to_owned())
}

fn scopes(status: &StatusReply) -> Vec<String> {
    status.declared.iter().map(|d| d.scope.clone()).collect()
}

fn error_of(status: &StatusReply, repo: &Path) -> Option<String> {
    let repo = repo.to_str().unwrap();
    status
        .repo_errors
        .iter()
        .find(|problem| problem.repo == repo)
        .map(|problem| problem.error.clone())
}

#[test]
fn declared_scopes_follow_the_repository_config() {
    let hub = TestHub::start("");
    let owner = hub.login();
    let work = tempfile::tempdir().unwrap();
    let app = repo_dir(work.path(), "app");
    let lib = repo_dir(work.path(), "lib");
    let later = repo_dir(work.path(), "later");
    write_config(
        &app,
        "org = \"alice\"\nforges = [\"github\", \"codeberg\"]\n\n[package]\nname = \"app\"\n",
    );
    write_config(&lib, "org = \"alice\"\nforges = [\"github\"]\n");
    let rt = runtime();
    let client = hub.client(&owner);
    rt.block_on(async {
        client.register_repo(&app).await.unwrap();
        client.register_repo(&lib).await.unwrap();
    });

    // Listed at once, not granted, with the repositories declaring them.
    let json = hub.run(&["--json", "auth", "status"], None).json();
    let declared = json["declared"].as_array().unwrap();
    assert_eq!(declared.len(), 2, "{json}");
    assert_eq!(declared[0]["scope"], "codeberg/alice/*");
    assert_eq!(declared[0]["state"], "not_granted");
    assert_eq!(declared[1]["scope"], "github/alice/*");
    assert_eq!(declared[1]["state"], "not_granted");
    let mut both = vec![app.display().to_string(), lib.display().to_string()];
    both.sort();
    assert_eq!(declared[1]["repos"], serde_json::json!(both));
    assert_eq!(json["repo_errors"], serde_json::json!([]));

    hub.run(&["auth", "grant", "github/alice/*"], None)
        .assert_code(0);
    let text = hub.run(&["auth", "status"], None);
    text.assert_code(0);
    assert!(
        text.stdout.contains("declared scopes:\n"),
        "{}",
        text.stdout
    );
    let github_line = text
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("github/alice/*"))
        .unwrap_or_else(|| panic!("no github line in\n{}", text.stdout));
    assert!(github_line.contains("granted"), "{github_line}");
    assert!(github_line.contains(app.to_str().unwrap()), "{github_line}");
    let codeberg_line = text
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("codeberg/alice/*"))
        .unwrap();
    assert!(codeberg_line.contains("not_granted"), "{codeberg_line}");

    // A request waiting for the owner shows as pending until it is decided.
    let mut waiting = hub
        .hyperforge()
        .args(["auth", "get", "codeberg/alice/token"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(10), || {
        let status = rt.block_on(fetch_status(&client));
        (state_of(&status, "codeberg/alice/*").as_deref() == Some("pending")).then_some(())
    })
    .expect("codeberg/alice/* pending");
    hub.run(&["auth", "deny", "codeberg/alice/*"], None)
        .assert_code(0);
    assert_eq!(waiting.wait().unwrap().code(), Some(3));
    assert_eq!(
        state_of(&rt.block_on(fetch_status(&client)), "codeberg/alice/*").as_deref(),
        Some("not_granted")
    );

    // An edit in place adding a forge: its scope appears within a second.
    let wrote = Instant::now();
    write_config(
        &app,
        "org = \"alice\"\nforges = [\"github\", \"codeberg\", \"gitlab\"]\n",
    );
    let status = status_until(&rt, &client, wrote, "gitlab added", |s| {
        state_of(s, "gitlab/alice/*").is_some()
    });
    assert_eq!(
        state_of(&status, "github/alice/*").as_deref(),
        Some("granted")
    );
    assert_eq!(
        state_of(&status, "gitlab/alice/*").as_deref(),
        Some("not_granted")
    );

    // An editor-style save: a per-forge org.
    let wrote = Instant::now();
    save_like_an_editor(
        &app,
        "org = \"alice\"\nforges = [\"github\", \"gitlab\"]\n[forge.gitlab]\norg = \"team\"\n",
    );
    let status = status_until(&rt, &client, wrote, "editor save", |s| {
        state_of(s, "gitlab/team/*").is_some()
    });
    assert_eq!(
        scopes(&status),
        ["github/alice/*", "gitlab/team/*"],
        "codeberg and gitlab/alice are gone"
    );

    // A second editor save right after the first (the watch survives the rename).
    let wrote = Instant::now();
    save_like_an_editor(&app, "org = \"alice\"\nforges = [\"codeberg\"]\n");
    status_until(&rt, &client, wrote, "second editor save", |s| {
        scopes(s) == ["codeberg/alice/*", "github/alice/*"]
    });

    // An invalid file: an error for that repository, the other one unaffected.
    let wrote = Instant::now();
    write_config(&app, "org = \"alice\"\nforges = [\"codeberg\"\n");
    let status = status_until(&rt, &client, wrote, "invalid file", |s| {
        error_of(s, &app).is_some()
    });
    let error = error_of(&status, &app).unwrap();
    assert!(error.contains("config.toml:"), "{error}");
    assert_eq!(scopes(&status), ["github/alice/*"], "lib still declares");
    let text = hub.run(&["auth", "status"], None).stdout;
    assert!(
        text.contains(&format!("{}: {error}", app.display())),
        "{text}"
    );

    // Deleting the file: "config missing", no scopes from it.
    write_config(&app, "org = \"alice\"\nforges = [\"codeberg\"]\n");
    let wrote = Instant::now();
    status_until(&rt, &client, wrote, "fixed again", |s| {
        state_of(s, "codeberg/alice/*").is_some()
    });
    let removed = Instant::now();
    std::fs::remove_file(config_file(&app)).unwrap();
    let status = status_until(&rt, &client, removed, "file deleted", |s| {
        error_of(s, &app).as_deref() == Some("config missing")
    });
    assert_eq!(scopes(&status), ["github/alice/*"]);
    // ...and the whole .hyperforge/ removed and created again.
    std::fs::remove_dir(app.join(".hyperforge")).unwrap();
    let wrote = Instant::now();
    write_config(&app, "org = \"bob\"\nforges = [\"github\"]\n");
    status_until(&rt, &client, wrote, ".hyperforge recreated", |s| {
        state_of(s, "github/bob/*").is_some() && error_of(s, &app).is_none()
    });

    // A repository registered before it has a .hyperforge/ at all.
    rt.block_on(client.register_repo(&later)).unwrap();
    let status = rt.block_on(fetch_status(&client));
    assert_eq!(error_of(&status, &later).as_deref(), Some("config missing"));
    let wrote = Instant::now();
    write_config(
        &later,
        "forges = [\"codeberg\"]\n[forge.codeberg]\norg = \"carol\"\n",
    );
    status_until(&rt, &client, wrote, ".hyperforge created later", |s| {
        state_of(s, "codeberg/carol/*").is_some()
    });

    // A forge without an org is listed as such; unregistering forgets the repository.
    let wrote = Instant::now();
    write_config(&later, "forges = [\"codeberg\"]\n");
    let status = status_until(&rt, &client, wrote, "org unknown", |s| {
        error_of(s, &later).is_some_and(|e| e.contains("org unknown"))
    });
    assert!(state_of(&status, "codeberg/carol/*").is_none());
    rt.block_on(client.unregister_repo(&app)).unwrap();
    let status = rt.block_on(fetch_status(&client));
    assert!(state_of(&status, "github/bob/*").is_none(), "{status:?}");
    // An edit to an unregistered repository changes nothing.
    write_config(&app, "org = \"dave\"\nforges = [\"github\"]\n");
    std::thread::sleep(Duration::from_millis(300));
    assert!(state_of(&rt.block_on(fetch_status(&client)), "github/dave/*").is_none());
}

#[test]
fn declared_allow_gives_the_owner_declared_scopes_without_a_prompt() {
    let hub = TestHub::start(
        "[policy]\ndeclared = \"allow\"\n\n[[policy.rule]]\nscope = \"gitlab/alice/*\"\naction = \"deny\"\n",
    );
    let owner = hub.login();
    for path in [
        "codeberg/alice/token",
        "gitlab/alice/token",
        "github/bob/token",
    ] {
        hub.run(&["auth", "put", path], Some("v-1")).assert_code(0);
    }
    let service = hub.service_key("ci", &["cargo/*"]);
    let work = tempfile::tempdir().unwrap();
    let app = repo_dir(work.path(), "app");
    write_config(
        &app,
        "org = \"alice\"\nforges = [\"codeberg\", \"gitlab\"]\n",
    );
    let rt = runtime();
    let client = hub.client(&owner);
    rt.block_on(client.register_repo(&app)).unwrap();

    // Declared: no prompt. Undeclared: needs approval. Denied by a rule: still denied.
    let got = hub.run(&["auth", "get", "codeberg/alice/token", "--no-wait"], None);
    got.assert_code(0);
    assert_eq!(got.stdout.trim_end(), "v-1");
    let undeclared = hub.run(&["auth", "get", "github/bob/token", "--no-wait"], None);
    undeclared.assert_code(3);
    assert!(
        undeclared
            .stderr
            .contains("hyperforge auth grant github/bob/token")
            || undeclared.stderr.contains("hyperforge auth grant"),
        "{}",
        undeclared.stderr
    );
    hub.run(&["auth", "get", "gitlab/alice/token", "--no-wait"], None)
        .assert_code(3);
    // Service keys are unaffected.
    hub.run_as(
        Some(&service),
        &["auth", "get", "codeberg/alice/token", "--no-wait"],
        None,
    )
    .assert_code(3);

    let status = rt.block_on(fetch_status(&client));
    assert_eq!(
        state_of(&status, "codeberg/alice/*").as_deref(),
        Some("allowed_by_policy")
    );
    assert_eq!(
        state_of(&status, "gitlab/alice/*").as_deref(),
        Some("denied_by_policy")
    );

    // Live reload: back to prompting.
    hub.write_config("[policy]\ndeclared = \"prompt\"\n");
    wait_until(Duration::from_secs(10), || {
        (hub.run(&["auth", "get", "codeberg/alice/token", "--no-wait"], None)
            .code
            == 3)
            .then_some(())
    })
    .expect("declared = prompt takes effect");
    assert_eq!(
        state_of(&rt.block_on(fetch_status(&client)), "codeberg/alice/*").as_deref(),
        Some("not_granted")
    );

    // An unknown value is an error with its line and column; the previous policy stays.
    hub.write_config("[policy]\n\ndeclared = \"always\"\n");
    let json = wait_until(Duration::from_secs(10), || {
        let json = hub.run(&["--json", "auth", "status"], None).json();
        json["policy_error"].is_string().then_some(json)
    })
    .expect("status shows the error");
    let error = json["policy_error"].as_str().unwrap();
    assert!(error.contains("config.toml:3:12"), "{error}");
    assert!(error.contains("always"), "{error}");
}

fn auth_hub_status(home: &Path, args: &[&str]) -> auth_hub_tests::Run {
    let output = Command::new(hub_binary())
        .arg("status")
        .args(args)
        .env("AUTH_HUB_HOME", home)
        .env_remove("AUTH_HUB_SOCKET")
        .env_remove("AUTH_HUB_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    auth_hub_tests::Run::from(output)
}

#[test]
fn auth_hub_status_shows_the_hub_and_exits_5_without_one() {
    // mlock = true: the hub starts whether or not RLIMIT_MEMLOCK lets it lock, and says which.
    let hub = TestHub::start("[store]\nmlock = true\n");
    let owner = hub.login();
    let work = tempfile::tempdir().unwrap();
    let app = repo_dir(work.path(), "app");
    write_config(&app, "org = \"alice\"\nforges = [\"github\"]\n");
    runtime()
        .block_on(hub.client(&owner).register_repo(&app))
        .unwrap();
    let log = hub.log();
    assert!(
        log.contains("memory locked") || log.contains("memory is NOT locked"),
        "{log}"
    );

    let text = auth_hub_status(hub.home(), &[]);
    text.assert_code(0);
    for part in [
        "auth-hub ",
        "uptime:",
        &format!("socket:      {}", hub.socket().display()),
        "store:       file (data key: ",
        "policy:      loaded",
        "keys: 1  grants: 0  pending: 0  repositories: 1  declared scopes: 1",
    ] {
        assert!(text.stdout.contains(part), "{part:?} in\n{}", text.stdout);
    }

    let json = auth_hub_status(hub.home(), &["--json"]);
    json.assert_code(0);
    let json = json.json();
    assert_eq!(json["registered_repos"], 1);
    assert_eq!(json["declared"][0]["scope"], "github/alice/*");
    assert_eq!(json["session_owner"], true, "the saved owner key was used");

    // --socket wins over the home; nothing there is exit 5 with a clear message.
    let missing = work.path().join("no-hub.sock");
    let down = auth_hub_status(hub.home(), &["--socket", missing.to_str().unwrap()]);
    down.assert_code(5);
    assert!(down.stdout.is_empty(), "{}", down.stdout);
    assert!(
        down.stderr.contains("not reachable at") && down.stderr.contains("no-hub.sock"),
        "{}",
        down.stderr
    );
    let empty_home = tempfile::tempdir().unwrap();
    auth_hub_status(empty_home.path(), &["--json"]).assert_code(5);
}

/// A repository registered before its directory existed has no watch; SIGHUP re-reads every
/// repository (and watches it from then on).
#[test]
fn sighup_rereads_repository_configs() {
    let hub = TestHub::start("");
    let owner = hub.login();
    let work = tempfile::tempdir().unwrap();
    let parent = std::fs::canonicalize(work.path()).unwrap();
    let app = parent.join("not-yet");
    let rt = runtime();
    let client = hub.client(&owner);
    rt.block_on(client.register_repo(&app)).unwrap();
    assert_eq!(
        error_of(&rt.block_on(fetch_status(&client)), &app).as_deref(),
        Some("config missing")
    );
    write_config(&app, "org = \"alice\"\nforges = [\"github\"]\n");
    // SAFETY: kill(2) on the hub process this test started.
    unsafe { libc::kill(i32::try_from(hub.pid()).unwrap(), libc::SIGHUP) };
    let signalled = Instant::now();
    status_until(&rt, &client, signalled, "SIGHUP re-read", |s| {
        state_of(s, "github/alice/*").is_some()
    });
    // Watched from now on.
    let wrote = Instant::now();
    write_config(&app, "org = \"bob\"\nforges = [\"github\"]\n");
    status_until(&rt, &client, wrote, "edit after SIGHUP", |s| {
        state_of(s, "github/bob/*").is_some()
    });
}

/// `hyperforge init` registers the repository; its forges show as declared scopes at once.
#[test]
fn init_registers_and_its_forges_are_declared() {
    let world = auth_hub_tests::forge_fixture::ForgeWorld::start("");
    let repo = world.work_repo("app");
    world.init(&repo, "github,codeberg", "alice");
    let json = world.hub.run(&["--json", "auth", "status"], None).json();
    let canonical = std::fs::canonicalize(&repo).unwrap();
    let declared: Vec<(String, String)> = json["declared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(
                d["repos"],
                serde_json::json!([canonical.display().to_string()])
            );
            (
                d["scope"].as_str().unwrap().to_owned(),
                d["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        declared,
        [
            ("codeberg/alice/*".to_owned(), "not_granted".to_owned()),
            ("github/alice/*".to_owned(), "not_granted".to_owned()),
        ],
        "{json}"
    );
}
