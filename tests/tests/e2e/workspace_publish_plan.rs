//! `hyperforge workspace publish` as an orchestrator: the plan a dry run prints (topological
//! order across repositories, versions, token paths and their scopes' state, requirement
//! rewrites, pushes), the one approval whose refusal fails the packages that need it and skips
//! their dependents with nothing changed (exit 3), the usage errors (a cycle, an unknown
//! `--package`), and a run whose `cargo` is a stand-in that records what it was asked to publish
//! and refuses one crate, to check the order, the rewrites, the skips and the tags pushed to the
//! real git server. Publishing to real registries is tested in the registries' own modules.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use auth_hub_tests::forge_fixture::ForgeWorld;

/// A dependency: the crate's name and its repository's directory.
type Dep = Option<(&'static str, &'static str)>;

/// The crates, in an order that is not the dependency order: `(repository, crate, depends on)`.
/// Repositories are discovered by path, so `a-top` (wc) comes first and `c-base` (wa) last.
const CRATES: [(&str, &str, Dep); 3] = [
    ("a-top", "wc", Some(("wb", "b-mid"))),
    ("b-mid", "wb", Some(("wa", "c-base"))),
    ("c-base", "wa", None),
];

fn cargo_toml(name: &str, dep: Dep) -> String {
    let mut text = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         description = \"test crate\"\nlicense = \"MIT\"\n\n[dependencies]\n"
    );
    if let Some((dep, dir)) = dep {
        text.push_str(&format!(
            "{dep} = {{ version = \"0.1.0\", path = \"../{dir}\" }}\n"
        ));
    }
    text
}

/// A workspace `ws/` of the three crates (each its own repository, mirrored to github as alice)
/// and one repository without a manifest.
fn workspace(hub_config: &str) -> (ForgeWorld, PathBuf) {
    let world = ForgeWorld::start(hub_config);
    world.put_token("github", "alice", "tok-wspub-alice-77c1");
    let ws = world.dir().join("ws");
    for (dir, name, dep) in CRATES {
        let repo = ws.join(dir);
        world.init_repo_at(&repo);
        world.init(&repo, "github", "alice");
        fs::create_dir_all(repo.join("src")).unwrap();
        fs::write(repo.join("src/lib.rs"), "").unwrap();
        fs::write(repo.join("Cargo.toml"), cargo_toml(name, dep)).unwrap();
        world.git(&repo, &["add", "-A"]);
        world.git(&repo, &["commit", "--quiet", "-m", "crate"]);
        world.server.create_bare("github", "alice", dir);
    }
    let docs = ws.join("docs");
    world.init_repo_at(&docs);
    world.init(&docs, "github", "alice");
    (world, ws)
}

/// What must not change: each repository's HEAD, tags, status and manifest.
fn snapshot(world: &ForgeWorld, ws: &Path) -> Vec<(String, String, String, String)> {
    CRATES
        .iter()
        .map(|(dir, _, _)| {
            let repo = ws.join(dir);
            (
                world.head(&repo),
                world.git(&repo, &["tag", "--list"]),
                world.git(&repo, &["status", "--porcelain"]),
                fs::read_to_string(repo.join("Cargo.toml")).unwrap(),
            )
        })
        .collect()
}

fn path_arg(ws: &Path) -> String {
    ws.display().to_string()
}

#[test]
fn dry_run_prints_the_plan_in_dependency_order_and_changes_nothing() {
    let (world, ws) = workspace("");
    world.grant("cargo/*");
    world.grant("github/alice/*");
    let before = snapshot(&world, &ws);
    let audit_before = world.audit_lines().len();
    let path = path_arg(&ws);

    let run = world.run(
        &ws,
        &[
            "workspace",
            "publish",
            "--path",
            &path,
            "--bump",
            "minor",
            "--dry-run",
        ],
    );
    run.assert_code(0);
    let out = &run.stdout;
    let expected = [
        "Would publish 3 packages, in this order:",
        "  1. wa 0.1.0 → 0.2.0 to cargo, tag v0.2.0 in c-base",
        "     token cargo/token: cargo/* granted",
        "  2. wb 0.1.0 → 0.2.0 to cargo, tag v0.2.0 in b-mid",
        "     token cargo/token: cargo/* granted",
        "     requirement on wa → 0.2.0",
        "  3. wc 0.1.0 → 0.2.0 to cargo, tag v0.2.0 in a-top",
        "     token cargo/token: cargo/* granted",
        "     requirement on wb → 0.2.0",
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..expected.len()], expected, "the plan:\n{out}");
    for dir in ["a-top", "b-mid", "c-base"] {
        assert!(
            out.contains(&format!(
                "Would push {dir} (branch and tags) to github (github/alice/* granted)"
            )),
            "{dir} pushed in:\n{out}"
        );
    }
    assert!(
        run.stderr
            .contains("- docs: no package manifest, nothing to publish"),
        "{}",
        run.stderr
    );
    assert!(!out.contains("docs"), "{out}");

    // JSON: the same plan, every package "planned".
    let run = world.run(
        &ws,
        &[
            "--json",
            "workspace",
            "publish",
            "--path",
            &path,
            "--bump",
            "minor",
            "--dry-run",
        ],
    );
    run.assert_code(0);
    let json = run.json();
    assert_eq!(json["dry_run"], true, "{json}");
    let packages = json["packages"].as_array().expect("packages");
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["wa", "wb", "wc"], "{json}");
    for package in packages {
        assert_eq!(package["status"], "planned", "{json}");
        assert_eq!(package["ecosystem"], "cargo", "{json}");
        assert_eq!(package["registry"], "cargo", "{json}");
        assert_eq!(package["old_version"], "0.1.0", "{json}");
        assert_eq!(package["version"], "0.2.0", "{json}");
        assert_eq!(package["token_path"], "cargo/token", "{json}");
        assert_eq!(package["access"], "granted", "{json}");
    }
    assert_eq!(
        packages[2]["requirement_updates"],
        serde_json::json!([{"name": "wb", "version": "0.2.0"}]),
        "{json}"
    );
    assert_eq!(json["repos"][0]["repo"], "docs", "{json}");
    assert_eq!(json["repos"][0]["status"], "no_manifest", "{json}");

    // Nothing changed, and the hub was only asked has_scope: no request, no read.
    assert_eq!(snapshot(&world, &ws), before);
    let audit = world.audit_lines();
    assert!(
        audit[audit_before..].iter().all(|line| !line["event"]
            .as_str()
            .is_some_and(|event| event.starts_with("scope") || event.starts_with("secret_read"))),
        "{:#?}",
        &audit[audit_before..]
    );
}

#[test]
fn a_refused_registry_scope_fails_its_packages_skips_their_dependents_and_changes_nothing() {
    let (world, ws) = workspace(
        r#"
[[policy.rule]]
scope = "cargo/*"
action = "deny"
"#,
    );
    world.grant("github/alice/*");
    let before = snapshot(&world, &ws);
    let path = path_arg(&ws);

    let run = world.run(&ws, &["workspace", "publish", "--path", &path, "--no-wait"]);
    run.assert_code(3);
    let (out, err) = (&run.stdout, &run.stderr);
    let block: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "Requesting access to:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(block, ["cargo/*", "github/alice/*"], "one block:\n{out}");
    assert!(out.contains("✓ Granted: github/alice/*"), "{out}");
    for line in [
        "✗ Denied: cargo/*",
        "  Run: hyperforge auth grant 'cargo/*'",
        "✗ Failed: wa (access denied to cargo/*)",
        "- Skipped: wb (depends on wa, which failed)",
        "- Skipped: wc (depends on wb, which was skipped)",
    ] {
        assert_eq!(
            err.lines().filter(|l| *l == line).count(),
            1,
            "{line:?} once in:\n{err}"
        );
    }
    assert!(out.contains("published 0, failed 1, skipped 2"), "{out}");
    assert!(!out.contains("Publishing"), "{out}");

    assert_eq!(snapshot(&world, &ws), before, "nothing changed");
    for (dir, _, _) in CRATES {
        assert_eq!(world.server.head_of("github", "alice", dir, "main"), None);
    }

    let run = world.run(
        &ws,
        &[
            "--json",
            "workspace",
            "publish",
            "--path",
            &path,
            "--no-wait",
        ],
    );
    run.assert_code(3);
    let json = run.json();
    let statuses: Vec<(&str, &str)> = json["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [("wa", "failed"), ("wb", "skipped"), ("wc", "skipped")],
        "{json}"
    );
    assert_eq!(
        json["scopes"],
        serde_json::json!([
            {"scope": "cargo/*", "granted": false},
            {"scope": "github/alice/*", "granted": true},
        ]),
        "{json}"
    );
}

#[test]
fn a_cycle_or_an_unknown_package_is_a_usage_error() {
    let (world, ws) = workspace("");
    let path = path_arg(&ws);

    let run = world.run(
        &ws,
        &[
            "workspace",
            "publish",
            "--path",
            &path,
            "--package",
            "nope",
            "--dry-run",
        ],
    );
    run.assert_code(2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);

    // wa now depends on wc: wa → wc → wb → wa.
    let base = ws.join("c-base");
    fs::write(
        base.join("Cargo.toml"),
        cargo_toml("wa", Some(("wc", "a-top"))),
    )
    .unwrap();
    let run = world.run(&ws, &["workspace", "publish", "--path", &path, "--dry-run"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("error: dependency cycle: "),
        "{}",
        run.stderr
    );
    for name in ["wa", "wb", "wc"] {
        assert!(run.stderr.contains(name), "{}", run.stderr);
    }
}

/// A stand-in `cargo` in `dir`: `package` succeeds; `publish` appends `name version` and the
/// manifest's dependency lines to `$WSPUB_LOG`, and refuses the crate named `$WSPUB_REFUSE` the
/// way a registry refuses a token (403). Returns `dir` for `PATH`.
fn fake_cargo(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let script = r#"#!/bin/sh
name=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
case "$1" in
  package) exit 0 ;;
  publish)
    if [ -z "$CARGO_REGISTRY_TOKEN" ]; then echo "error: no token" >&2; exit 101; fi
    if [ "$name" = "$WSPUB_REFUSE" ]; then
      echo "error: failed to publish to registry at https://crates.example" >&2
      echo "" >&2
      echo "Caused by:" >&2
      echo "  the remote server responded with an error (status 403 Forbidden): invalid token" >&2
      exit 101
    fi
    deps=$(grep ' = { version' Cargo.toml | tr '\n' ';')
    echo "$name $version $deps" >> "$WSPUB_LOG"
    exit 0 ;;
esac
echo "unexpected cargo $*" >&2
exit 1
"#;
    let path = dir.join("cargo");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    dir.to_owned()
}

/// The tags of `repo` on the git server's github/alice.
fn server_tags(world: &ForgeWorld, repo: &str) -> String {
    let git_dir = world
        .server
        .root()
        .join("github/alice")
        .join(format!("{repo}.git"));
    let git_dir = git_dir.display().to_string();
    world.git(world.dir(), &["--git-dir", &git_dir, "tag", "--list"])
}

#[test]
fn a_run_publishes_in_order_pushes_tags_and_skips_the_dependents_of_a_failure() {
    let (world, ws) = workspace("");
    // An independent crate, in a repository of its own.
    let solo = ws.join("d-solo");
    world.init_repo_at(&solo);
    world.init(&solo, "github", "alice");
    fs::create_dir_all(solo.join("src")).unwrap();
    fs::write(solo.join("src/lib.rs"), "").unwrap();
    fs::write(solo.join("Cargo.toml"), cargo_toml("xo", None)).unwrap();
    world.git(&solo, &["add", "-A"]);
    world.git(&solo, &["commit", "--quiet", "-m", "crate"]);
    world.server.create_bare("github", "alice", "d-solo");
    world
        .hub
        .run(
            &["auth", "put", "cargo/token"],
            Some("tok-cargo-wspub-19ab\n"),
        )
        .assert_code(0);
    world.grant("cargo/*");
    world.grant("github/alice/*");
    let before = snapshot(&world, &ws);

    let bin = fake_cargo(&world.dir().join("fakebin"));
    let log = world.dir().join("published.log");
    let mut path_var = std::ffi::OsString::from(bin.as_os_str());
    path_var.push(":");
    path_var.push(world.wrapped_path());
    let path = path_arg(&ws);
    let output = world
        .hyperforge(&ws)
        .args([
            "workspace",
            "publish",
            "--path",
            &path,
            "--bump",
            "minor",
            "-j",
            "2",
            "--no-wait",
        ])
        .env("PATH", path_var)
        .env("WSPUB_LOG", &log)
        .env("WSPUB_REFUSE", "wb")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let run = auth_hub_tests::Run::from(output);
    run.assert_code(1);
    let (out, err) = (&run.stdout, &run.stderr);

    for line in [
        "Publishing wa 0.1.0 → 0.2.0 to cargo... ✓",
        "Publishing xo 0.1.0 → 0.2.0 to cargo... ✓",
        "Pushing c-base to github... ✓",
        "Pushing d-solo to github... ✓",
        "published 2, failed 1, skipped 1",
    ] {
        assert_eq!(
            out.lines().filter(|l| *l == line).count(),
            1,
            "{line:?} once in:\n{out}\nstderr:\n{err}"
        );
    }
    assert!(
        err.lines()
            .any(|l| l.starts_with("✗ Failed: wb (") && l.contains("cargo/token")),
        "{err}"
    );
    assert!(
        err.contains("- Skipped: wc (depends on wb, which failed)"),
        "{err}"
    );
    assert!(!format!("{out}{err}").contains("tok-cargo-wspub-19ab"));

    // The registry stand-in saw wa first, then nothing of wb or wc; xo independently.
    let published = fs::read_to_string(&log).unwrap();
    let names: Vec<&str> = published
        .lines()
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(names.len(), 2, "{published}");
    assert!(
        names.contains(&"wa") && names.contains(&"xo"),
        "{published}"
    );
    assert!(published.contains("wa 0.2.0"), "{published}");

    // wa and xo: released, tagged, branch and tag on the server.
    for (dir, name) in [("c-base", "wa"), ("d-solo", "xo")] {
        let repo = ws.join(dir);
        let head = world.head(&repo);
        assert_eq!(
            world.server.head_of("github", "alice", dir, "main"),
            Some(head),
            "{dir} pushed"
        );
        assert_eq!(world.git(&repo, &["tag", "--list"]).trim(), "v0.2.0");
        assert_eq!(
            server_tags(&world, dir).trim(),
            "v0.2.0",
            "{dir}'s tag pushed"
        );
        let manifest = fs::read_to_string(repo.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("version = \"0.2.0\""), "{manifest}");
        let subject = world.git(&repo, &["log", "-1", "--format=%s"]);
        assert_eq!(subject.trim(), format!("chore: release {name} v0.2.0"));
    }
    // wb (refused) and wc (skipped): exactly as before, nothing pushed.
    let after = snapshot(&world, &ws);
    assert_eq!(after[0], before[0], "a-top (wc) unchanged");
    assert_eq!(after[1], before[1], "b-mid (wb) unchanged");
    for dir in ["a-top", "b-mid"] {
        assert_eq!(world.server.head_of("github", "alice", dir, "main"), None);
    }
}

#[test]
fn requirements_on_released_packages_are_rewritten_before_their_dependents_publish() {
    let (world, ws) = workspace("");
    world
        .hub
        .run(
            &["auth", "put", "cargo/token"],
            Some("tok-cargo-wspub-2c4d\n"),
        )
        .assert_code(0);
    world.grant("cargo/*");
    world.grant("github/alice/*");
    let bin = fake_cargo(&world.dir().join("fakebin"));
    let log = world.dir().join("published.log");
    let mut path_var = std::ffi::OsString::from(bin.as_os_str());
    path_var.push(":");
    path_var.push(world.wrapped_path());
    let path = path_arg(&ws);
    let output = world
        .hyperforge(&ws)
        .args([
            "--json",
            "workspace",
            "publish",
            "--path",
            &path,
            "--bump",
            "0.3.0",
            "--no-push",
            "--no-wait",
        ])
        .env("PATH", path_var)
        .env("WSPUB_LOG", &log)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let run = auth_hub_tests::Run::from(output);
    run.assert_code(0);
    let published = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = published.lines().collect();
    assert_eq!(lines.len(), 3, "{published}");
    assert!(lines[0].starts_with("wa 0.3.0"), "{published}");
    assert!(
        lines[1].starts_with("wb 0.3.0 wa = { version = \"0.3.0\""),
        "{published}"
    );
    assert!(
        lines[2].starts_with("wc 0.3.0 wb = { version = \"0.3.0\""),
        "{published}"
    );
    let json = run.json();
    let statuses: Vec<(&str, &str, &str)> = json["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
                p["tag"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("wa", "published", "v0.3.0"),
            ("wb", "published", "v0.3.0"),
            ("wc", "published", "v0.3.0")
        ],
        "{json}"
    );
    assert_eq!(json["pushes"], serde_json::json!([]), "--no-push: {json}");
    for (dir, _, _) in CRATES {
        assert_eq!(world.server.head_of("github", "alice", dir, "main"), None);
        assert_eq!(
            world.git(&ws.join(dir), &["tag", "--list"]).trim(),
            "v0.3.0"
        );
    }
}

#[test]
fn the_members_of_a_cargo_workspace_release_one_after_another_each_with_its_own_tag() {
    let world = ForgeWorld::start("");
    world.put_token("github", "alice", "tok-wspub-alice-5e0f");
    world
        .hub
        .run(
            &["auth", "put", "cargo/token"],
            Some("tok-cargo-wspub-8a7b\n"),
        )
        .assert_code(0);
    world.grant("cargo/*");
    world.grant("github/alice/*");
    let ws = world.dir().join("ws");
    let repo = ws.join("mono");
    world.init_repo_at(&repo);
    world.init(&repo, "github", "alice");
    fs::write(
        repo.join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/wa\", \"crates/wb\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    for (name, dep) in [("wa", None), ("wb", Some(("wa", "wa")))] {
        let dir = repo.join("crates").join(name);
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(dir.join("src/lib.rs"), "").unwrap();
        fs::write(dir.join("Cargo.toml"), cargo_toml(name, dep)).unwrap();
    }
    world.git(&repo, &["add", "-A"]);
    world.git(&repo, &["commit", "--quiet", "-m", "workspace"]);
    world.server.create_bare("github", "alice", "mono");

    let bin = fake_cargo(&world.dir().join("fakebin"));
    let log = world.dir().join("published.log");
    let mut path_var = std::ffi::OsString::from(bin.as_os_str());
    path_var.push(":");
    path_var.push(world.wrapped_path());
    let path = path_arg(&ws);
    let output = world
        .hyperforge(&ws)
        .args([
            "workspace",
            "publish",
            "--path",
            &path,
            "--bump",
            "patch",
            "-j",
            "4",
            "--no-wait",
        ])
        .env("PATH", path_var)
        .env("WSPUB_LOG", &log)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let run = auth_hub_tests::Run::from(output);
    run.assert_code(0);
    let out = &run.stdout;
    let publishing: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("Publishing") || l.starts_with("Pushing"))
        .collect();
    assert_eq!(
        publishing,
        [
            "Publishing wa 0.1.0 → 0.1.1 to cargo... ✓",
            "Publishing wb 0.1.0 → 0.1.1 to cargo... ✓",
            "Pushing mono to github... ✓",
        ],
        "{out}"
    );
    let published = fs::read_to_string(&log).unwrap();
    assert!(
        published
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("wb 0.1.1 wa = { version = \"0.1.1\"")),
        "{published}"
    );
    // Two release commits, one after the other, each tagged with the package's name.
    let subjects = world.git(&repo, &["log", "-2", "--format=%s"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        ["chore: release wb v0.1.1", "chore: release wa v0.1.1"]
    );
    let tags = world.git(&repo, &["tag", "--list"]);
    assert_eq!(tags.lines().collect::<Vec<_>>(), ["wa-v0.1.1", "wb-v0.1.1"]);
    assert_eq!(
        world
            .git(&repo, &["rev-parse", "wb-v0.1.1^{commit}"])
            .trim(),
        world.head(&repo)
    );
    assert_eq!(server_tags(&world, "mono"), tags, "both tags pushed");
    assert_eq!(
        world.server.head_of("github", "alice", "mono", "main"),
        Some(world.head(&repo))
    );
}

#[test]
fn a_refused_forge_scope_fails_that_repositorys_packages_before_they_are_released() {
    let (world, ws) = workspace(
        r#"
[[policy.rule]]
scope = "github/bob/*"
action = "deny"
"#,
    );
    // xo's repository is mirrored to github as bob, whose scope the policy denies.
    let solo = ws.join("d-solo");
    world.init_repo_at(&solo);
    world.init(&solo, "github", "bob");
    fs::write(solo.join("Cargo.toml"), cargo_toml("xo", None)).unwrap();
    world.git(&solo, &["add", "-A"]);
    world.git(&solo, &["commit", "--quiet", "-m", "crate"]);
    let solo_head = world.head(&solo);
    world
        .hub
        .run(
            &["auth", "put", "cargo/token"],
            Some("tok-cargo-wspub-6f1e\n"),
        )
        .assert_code(0);
    world.grant("cargo/*");
    world.grant("github/alice/*");

    let bin = fake_cargo(&world.dir().join("fakebin"));
    let log = world.dir().join("published.log");
    let mut path_var = std::ffi::OsString::from(bin.as_os_str());
    path_var.push(":");
    path_var.push(world.wrapped_path());
    let path = path_arg(&ws);
    let output = world
        .hyperforge(&ws)
        .args(["workspace", "publish", "--path", &path, "--no-wait"])
        .env("PATH", path_var)
        .env("WSPUB_LOG", &log)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let run = auth_hub_tests::Run::from(output);
    run.assert_code(1);
    assert!(
        run.stderr
            .lines()
            .any(|l| l == "✗ Failed: xo (access denied to github/bob/*, needed to push to github)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("published 3, failed 1, skipped 0"),
        "{}",
        run.stdout
    );
    let published = fs::read_to_string(&log).unwrap();
    assert!(!published.contains("xo"), "{published}");
    assert_eq!(world.head(&solo), solo_head, "xo's repository unchanged");
    assert_eq!(world.git(&solo, &["tag", "--list"]), "");
}

#[test]
fn a_dirty_work_tree_fails_its_package_up_front_and_skips_its_dependents() {
    let (world, ws) = workspace("");
    world
        .hub
        .run(
            &["auth", "put", "cargo/token"],
            Some("tok-cargo-wspub-d1e2\n"),
        )
        .assert_code(0);
    world.grant("cargo/*");
    world.grant("github/alice/*");
    fs::write(ws.join("b-mid/stray.txt"), "work in progress\n").unwrap();
    let mid_head = world.head(&ws.join("b-mid"));

    let bin = fake_cargo(&world.dir().join("fakebin"));
    let log = world.dir().join("published.log");
    let mut path_var = std::ffi::OsString::from(bin.as_os_str());
    path_var.push(":");
    path_var.push(world.wrapped_path());
    let path = path_arg(&ws);
    let output = world
        .hyperforge(&ws)
        .args([
            "workspace",
            "publish",
            "--path",
            &path,
            "--no-wait",
            "--no-push",
        ])
        .env("PATH", path_var)
        .env("WSPUB_LOG", &log)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let run = auth_hub_tests::Run::from(output);
    run.assert_code(1);
    let err = &run.stderr;
    assert!(
        err.lines().any(|l| l.starts_with("✗ Failed: wb (")
            && l.contains("uncommitted changes")
            && l.contains("stray.txt")),
        "{err}"
    );
    assert!(
        err.contains("- Skipped: wc (depends on wb, which failed)"),
        "{err}"
    );
    assert!(
        run.stdout.contains("published 1, failed 1, skipped 1"),
        "{}",
        run.stdout
    );
    let published = fs::read_to_string(&log).unwrap();
    assert_eq!(
        published
            .lines()
            .filter_map(|l| l.split(' ').next())
            .collect::<Vec<_>>(),
        ["wa"],
        "{published}"
    );
    assert_eq!(world.head(&ws.join("b-mid")), mid_head);
    assert!(ws.join("b-mid/stray.txt").exists());
}
