//! `hyperforge workspace publish` against the real test registries: three crates in a chain
//! (wa ← wb ← wc, each depending on the previous one through `registry = "testreg"`), an npm
//! package and a Python project, each in its own repository. They are published in dependency
//! order (also with `-j 2`) with the requirements rewritten to the new versions, tagged and
//! pushed. Failures stay local: a denied registry scope, a token the Cargo registry's gate
//! refuses (403), a denied forge scope and a dirty work tree each fail only their package, its
//! dependents are reported as skipped and left as they were, and the rest publish; when every
//! failure is a refusal and nothing was published the exit code is 3. `--package … --deps`
//! publishes a package with what it depends on and nothing else (here to an explicit version,
//! without pushing); `--dry-run` prints the plan, changes nothing and needs no hub; a cycle or an
//! unknown `--package` is a usage error. The members of a Cargo workspace in one repository are
//! published in order too, one release commit each, tagged `<name>-v<version>`.

use std::fs;
use std::path::{Path, PathBuf};

use auth_hub_tests::forge_fixture::ForgeWorld;
use auth_hub_tests::publish_fixture::{cargo_files, npm_files, pypi_files, RepoState, ORG};
use auth_hub_tests::registries::{names, registries, unique_name};
use auth_hub_tests::Run;

/// A workspace directory of package repositories, and the names in it.
struct Workspace {
    world: ForgeWorld,
    dir: PathBuf,
    /// The crate chain: `chain[1]` depends on `chain[0]`, `chain[2]` on `chain[1]`.
    chain: [String; 3],
    /// An npm package of its own.
    npm: String,
    /// A Python project of its own.
    pypi: String,
}

impl Workspace {
    /// The chain, the npm package and the Python project under `ws/`, every token stored and
    /// every scope granted.
    fn new(hub_config: &str) -> Self {
        let world = ForgeWorld::start_for_publish(hub_config);
        world.forge_ready();
        let dir = world.dir().join("ws");
        let chain = [unique_name("wa"), unique_name("wb"), unique_name("wc")];
        world.package_repo(
            &dir.join(&chain[0]),
            names::CARGO,
            &cargo_files(&chain[0], "0.1.0", &[]),
        );
        for pair in chain.windows(2) {
            let path = format!("../{}", pair[0]);
            world.package_repo(
                &dir.join(&pair[1]),
                names::CARGO,
                &cargo_files(&pair[1], "0.1.0", &[(&pair[0], &path, "0.1.0")]),
            );
        }
        let npm = unique_name("wn");
        world.package_repo(&dir.join(&npm), names::NPM, &npm_files(&npm, "0.1.0", &[]));
        let pypi = unique_name("wp");
        world.package_repo(&dir.join(&pypi), names::PYPI, &pypi_files(&pypi, "0.1.0"));
        let r = registries();
        for (registry, token) in [
            (names::CARGO, r.cargo.token()),
            (names::NPM, r.npm.token()),
            (names::PYPI, r.pypi.token()),
        ] {
            world.put_secret(&format!("{registry}/token"), token);
            world.grant(&format!("{registry}/*"));
        }
        Self {
            world,
            dir,
            chain,
            npm,
            pypi,
        }
    }

    fn repo(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `hyperforge [GLOBAL…] workspace publish --path WS ARGS…`.
    fn publish(&self, global: &[&str], args: &[&str]) -> Run {
        let path = self.dir.display().to_string();
        let mut all = global.to_vec();
        all.extend(["workspace", "publish", "--path", &path]);
        all.extend(args);
        self.world.run(&self.dir, &all)
    }

    /// The repository of `name` was released as `version`: commit, tag, branch and tag on the
    /// forge.
    fn assert_tagged_and_pushed(&self, name: &str, version: &str) {
        let repo = self.repo(name);
        let head = self.world.head(&repo);
        let tag = format!("v{version}");
        assert_eq!(
            self.world.rev(&repo, &format!("{tag}^{{commit}}")),
            Some(head.clone()),
            "{name} is tagged {tag}"
        );
        assert_eq!(
            self.world.server.head_of("github", ORG, name, "main"),
            Some(head.clone()),
            "{name}'s release commit is on the forge"
        );
        assert_eq!(
            self.world.server.tag_of("github", ORG, name, &tag),
            Some(head),
            "{name}'s tag is on the forge"
        );
    }

    /// `name`'s repository was not pushed at all.
    fn assert_not_pushed(&self, name: &str) {
        assert_eq!(self.world.server.head_of("github", ORG, name, "main"), None);
    }

    /// The position of the first cargo publish run for crate `name` among all of them.
    fn cargo_publish_position(&self, name: &str) -> Option<usize> {
        self.world
            .tool_runs("publish")
            .into_iter()
            .filter(|(tool, _, argv)| tool == "cargo" && !argv.contains("--dry-run"))
            .position(|(_, cwd, argv)| names_path(&format!("{cwd} {argv}"), name))
    }
}

/// True when `text` holds a path component equal to `name` (so `wa-1` does not match
/// `wa-10`).
fn names_path(text: &str, name: &str) -> bool {
    text.split(|c: char| c == '/' || c.is_whitespace() || c == '=')
        .any(|part| part == name)
}

/// The line of `manifest` that declares the dependency on `dependency`.
fn dependency_line<'a>(manifest: &'a str, dependency: &str) -> &'a str {
    manifest
        .lines()
        .find(|line| line.starts_with(&format!("{dependency} =")))
        .unwrap_or_else(|| panic!("no dependency on {dependency} in:\n{manifest}"))
}

/// The forge org whose scope the failure test denies.
const BOB: &str = "bob";

/// The manifests and lock files a failed or skipped package must leave byte for byte.
const KEPT_FILES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "package.json",
    "package-lock.json",
];

/// How many lines of `text` are exactly `line`.
fn count(text: &str, line: &str) -> usize {
    text.lines().filter(|l| *l == line).count()
}

/// The scopes listed in the `Requesting access to:` block of `out`.
fn requested_scopes(out: &str) -> Vec<String> {
    out.lines()
        .skip_while(|l| *l != "Requesting access to:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .collect()
}

/// A crate `name` in its own repository at `dir`, mirrored to github as [`BOB`] and published
/// to the test registry.
fn bob_crate_repo(world: &ForgeWorld, dir: &Path, name: &str) {
    world.init_repo_at(dir);
    for (file, contents) in cargo_files(name, "0.1.0", &[]) {
        let path = dir.join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    world.init(dir, "github", BOB);
    let config = dir.join(".hyperforge/config.toml");
    let mut text = fs::read_to_string(&config).unwrap();
    text.push_str(&format!("\n[package]\nregistry = \"{}\"\n", names::CARGO));
    fs::write(&config, text).unwrap();
    world.git(dir, &["add", "--all"]);
    world.git(dir, &["commit", "--quiet", "-m", "the package"]);
}

#[test]
fn a_crate_chain_an_npm_package_and_a_python_project_publish_in_order() {
    let ws = Workspace::new("");
    // Two at a time: the order must still hold.
    let run = ws.publish(&[], &["--bump", "minor", "-j", "2"]);
    run.assert_code(0);

    let r = registries();
    for name in &ws.chain {
        assert_eq!(r.cargo.versions(name), ["0.2.0"], "{name}: {}", run.stdout);
        ws.assert_tagged_and_pushed(name, "0.2.0");
        assert_eq!(
            ws.world.head_subject(&ws.repo(name)),
            format!("chore: release {name} v0.2.0")
        );
    }
    for (name, registry) in ws
        .chain
        .iter()
        .map(|name| (name, names::CARGO))
        .chain([(&ws.npm, names::NPM), (&ws.pypi, names::PYPI)])
    {
        for line in [
            format!("Publishing {name} 0.1.0 → 0.2.0 to {registry}... ✓"),
            format!("Pushing {name} to github... ✓"),
        ] {
            assert_eq!(
                count(&run.stdout, &line),
                1,
                "{line:?} once in:\n{}",
                run.stdout
            );
        }
    }
    assert!(
        run.stdout.contains("published 5, failed 0, skipped 0"),
        "{}",
        run.stdout
    );
    assert_eq!(r.npm.versions(&ws.npm), ["0.2.0"]);
    ws.assert_tagged_and_pushed(&ws.npm, "0.2.0");
    assert_eq!(r.pypi.versions(&ws.pypi), ["0.2.0"]);
    ws.assert_tagged_and_pushed(&ws.pypi, "0.2.0");

    // Each dependent was published against its dependency's new version, and says so in its
    // committed manifest.
    for pair in ws.chain.windows(2) {
        assert_eq!(
            r.cargo.requirement(&pair[1], "0.2.0", &pair[0]).as_deref(),
            Some("^0.2.0"),
            "{} requires {} ^0.2.0 in the index",
            pair[1],
            pair[0]
        );
        let manifest = fs::read_to_string(ws.repo(&pair[1]).join("Cargo.toml")).unwrap();
        let line = dependency_line(&manifest, &pair[0]);
        assert!(
            line.contains("\"0.2.0\"") || line.contains("\"^0.2.0\""),
            "{line}"
        );
        assert_eq!(
            ws.world.git(
                &ws.repo(&pair[1]),
                &["status", "--porcelain", "--", "Cargo.toml"]
            ),
            "",
            "the rewritten requirement is committed"
        );
    }

    // In dependency order.
    let positions: Vec<Option<usize>> = ws
        .chain
        .iter()
        .map(|name| ws.cargo_publish_position(name))
        .collect();
    assert!(
        matches!(positions[..], [Some(a), Some(b), Some(c)] if a < b && b < c),
        "cargo publish order {positions:?}: {:#?}",
        ws.world.tool_runs("publish")
    );

    let repos: Vec<PathBuf> = ws
        .chain
        .iter()
        .chain([&ws.npm, &ws.pypi])
        .map(|name| ws.repo(name))
        .collect();
    let repo_refs: Vec<&Path> = repos.iter().map(PathBuf::as_path).collect();
    for (token, env) in [
        (r.cargo.token(), "CARGO_REGISTRIES_TESTREG_TOKEN"),
        (r.npm.token(), "NPM_TOKEN"),
        (r.pypi.token(), "TWINE_PASSWORD"),
    ] {
        ws.world
            .assert_token_hidden(token, &[env], true, &repo_refs, &[&run]);
    }
}

#[test]
fn failures_fail_their_packages_skip_their_dependents_and_the_rest_publish() {
    // `npmalt` (a second name for the npm registry) and bob's forge scope are denied by policy.
    let hub_config = format!(
        "[[policy.rule]]\nscope = \"{}/*\"\naction = \"deny\"\n\n\
         [[policy.rule]]\nscope = \"github/{BOB}/*\"\naction = \"deny\"\n",
        names::NPM_ALT
    );
    let ws = Workspace::new(&hub_config);
    let world = &ws.world;
    let r = registries();
    // An npm chain na ← nb ← nc whose base publishes to the denied registry name.
    let (base, middle, top) = (unique_name("na"), unique_name("nb"), unique_name("nc"));
    world.package_repo(
        &ws.repo(&base),
        names::NPM_ALT,
        &npm_files(&base, "0.1.0", &[]),
    );
    world.package_repo(
        &ws.repo(&middle),
        names::NPM,
        &npm_files(&middle, "0.1.0", &[(&base, "^0.1.0")]),
    );
    world.package_repo(
        &ws.repo(&top),
        names::NPM,
        &npm_files(&top, "0.1.0", &[(&middle, "^0.1.0")]),
    );
    world.put_secret(&format!("{}/token", names::NPM_ALT), r.npm.token());
    // A crate whose registry name holds a token the Cargo registry's gate refuses.
    let refused = unique_name("xo");
    world.package_repo(
        &ws.repo(&refused),
        names::CARGO_ALT,
        &cargo_files(&refused, "0.1.0", &[]),
    );
    let wrong = "wrong-cargoalt-token-4d2a";
    world.put_secret(&format!("{}/token", names::CARGO_ALT), wrong);
    world.grant(&format!("{}/*", names::CARGO_ALT));
    // A crate mirrored to github as bob, whose scope is denied.
    let unpushable = unique_name("xb");
    bob_crate_repo(world, &ws.repo(&unpushable), &unpushable);
    // wb's work tree is dirty.
    let (wa, wb, wc) = (&ws.chain[0], &ws.chain[1], &ws.chain[2]);
    fs::write(ws.repo(wb).join("stray.txt"), "work in progress\n").unwrap();

    let untouched = [wb, wc, &base, &middle, &top, &refused, &unpushable];
    let states: Vec<RepoState> = untouched
        .iter()
        .map(|name| world.repo_state(&ws.repo(name), KEPT_FILES))
        .collect();
    let refusals = |r: &auth_hub_tests::registries::Registries| {
        r.cargo.requests().iter().filter(|req| req.refused).count()
    };
    let refusals_before = refusals(r);

    let run = ws.publish(&[], &["--bump", "patch", "-j", "2", "--no-wait"]);
    run.assert_code(1);
    let (out, err) = (&run.stdout, &run.stderr);

    // One approval for every scope, each listed once; the denied ones say how to grant them.
    let mut block = requested_scopes(out);
    block.sort_unstable();
    let mut expected: Vec<String> = [
        names::CARGO,
        names::CARGO_ALT,
        names::NPM,
        names::NPM_ALT,
        names::PYPI,
    ]
    .iter()
    .map(|registry| format!("{registry}/*"))
    .chain([format!("github/{ORG}/*"), format!("github/{BOB}/*")])
    .collect();
    expected.sort_unstable();
    assert_eq!(block, expected, "one block:\n{out}");
    for scope in [format!("{}/*", names::NPM_ALT), format!("github/{BOB}/*")] {
        for line in [
            format!("✗ Denied: {scope}"),
            format!("  Run: hyperforge auth grant '{scope}'"),
        ] {
            assert_eq!(count(err, &line), 1, "{line:?} once in:\n{err}");
        }
    }
    for line in [
        format!("✗ Failed: {base} (access denied to {}/*)", names::NPM_ALT),
        format!("- Skipped: {middle} (depends on {base}, which failed)"),
        format!("- Skipped: {top} (depends on {middle}, which was skipped)"),
        format!(
            "✗ Failed: {unpushable} (access denied to github/{BOB}/*, needed to push to github)"
        ),
        format!("- Skipped: {wc} (depends on {wb}, which failed)"),
    ] {
        assert_eq!(count(err, &line), 1, "{line:?} once in:\n{err}");
    }
    let failed = |name: &str| {
        err.lines()
            .filter(|line| line.starts_with(&format!("✗ Failed: {name} (")))
            .collect::<Vec<_>>()
    };
    assert!(
        matches!(failed(wb)[..], [line] if line.contains("uncommitted changes") && line.contains("stray.txt")),
        "{wb} fails for its dirty work tree:\n{err}"
    );
    let reason = format!(
        "the registry refused the token at {}/token",
        names::CARGO_ALT
    );
    assert!(
        matches!(failed(&refused)[..], [line] if line.contains(&reason)),
        "{refused} fails with {reason:?}:\n{err}"
    );
    assert!(
        refusals(r) > refusals_before,
        "the gate refused no publish: {:#?}",
        r.cargo.requests()
    );
    for line in [
        format!("Publishing {wa} 0.1.0 → 0.1.1 to {}... ✓", names::CARGO),
        format!("Pushing {wa} to github... ✓"),
        "published 3, failed 4, skipped 3".to_owned(),
    ] {
        assert_eq!(
            count(out, &line),
            1,
            "{line:?} once in:\n{out}\nstderr:\n{err}"
        );
    }

    // Everything that neither failed nor depends on a failure was published.
    assert_eq!(r.cargo.versions(wa), ["0.1.1"], "{out}\n{err}");
    ws.assert_tagged_and_pushed(wa, "0.1.1");
    assert_eq!(r.npm.versions(&ws.npm), ["0.1.1"]);
    ws.assert_tagged_and_pushed(&ws.npm, "0.1.1");
    assert_eq!(r.pypi.versions(&ws.pypi), ["0.1.1"]);
    ws.assert_tagged_and_pushed(&ws.pypi, "0.1.1");
    // The rest is exactly as it was, in the registries, the repositories and on the forge.
    for name in [wb, wc, &refused, &unpushable] {
        assert!(r.cargo.versions(name).is_empty(), "{name} published");
    }
    for name in [&base, &middle, &top] {
        assert!(r.npm.versions(name).is_empty(), "{name} published");
    }
    for (name, before) in untouched.iter().zip(&states) {
        let after = world.repo_state(&ws.repo(name), KEPT_FILES);
        assert_eq!(&after, before, "{name}'s repository changed");
        ws.assert_not_pushed(name);
    }
    assert!(ws.repo(wb).join("stray.txt").exists());
    world.assert_token_hidden(
        wrong,
        &["CARGO_REGISTRIES_CARGOALT_TOKEN"],
        true,
        &[ws.repo(&refused).as_path()],
        &[&run],
    );

    // Only refusals and nothing published: exit 3, the same story in JSON.
    let run = ws.publish(&["--json"], &["--package", &top, "--deps", "--no-wait"]);
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
        [
            (base.as_str(), "failed"),
            (middle.as_str(), "skipped"),
            (top.as_str(), "skipped")
        ],
        "{json}"
    );
    assert_eq!(
        json["scopes"],
        serde_json::json!([
            {"scope": format!("{}/*", names::NPM_ALT), "granted": false},
            {"scope": format!("{}/*", names::NPM), "granted": true},
            {"scope": format!("github/{ORG}/*"), "granted": true},
        ]),
        "{json}"
    );
    for (name, before) in untouched.iter().zip(&states) {
        assert_eq!(
            &world.repo_state(&ws.repo(name), KEPT_FILES),
            before,
            "{name}'s repository changed"
        );
    }
}

#[test]
fn a_selected_package_is_published_with_its_dependencies_only() {
    let ws = Workspace::new("");
    let run = ws.publish(
        &["--json"],
        &[
            "--package",
            &ws.chain[2],
            "--deps",
            "--bump",
            "0.3.0",
            "--no-push",
        ],
    );
    run.assert_code(0);
    let r = registries();
    for name in &ws.chain {
        assert_eq!(r.cargo.versions(name), ["0.3.0"], "{name}: {}", run.stdout);
        // Released and tagged here, not pushed (`--no-push`).
        assert_eq!(
            ws.world.rev(&ws.repo(name), "v0.3.0^{commit}"),
            Some(ws.world.head(&ws.repo(name))),
            "{name} is tagged v0.3.0"
        );
        ws.assert_not_pushed(name);
    }
    // Each requirement was rewritten to the explicit version before its dependent published.
    for pair in ws.chain.windows(2) {
        assert_eq!(
            r.cargo.requirement(&pair[1], "0.3.0", &pair[0]).as_deref(),
            Some("^0.3.0"),
            "{} requires {} ^0.3.0 in the index",
            pair[1],
            pair[0]
        );
    }
    let json = run.json();
    let statuses: Vec<(&str, &str, &str)> = json["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
                p["tag"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, &str)> = ws
        .chain
        .iter()
        .map(|name| (name.as_str(), "published", "v0.3.0"))
        .collect();
    assert_eq!(statuses, expected, "{json}");
    assert_eq!(json["pushes"], serde_json::json!([]), "--no-push: {json}");
    assert!(r.npm.versions(&ws.npm).is_empty());
    assert!(r.pypi.versions(&ws.pypi).is_empty());
    ws.assert_not_pushed(&ws.npm);
    ws.assert_not_pushed(&ws.pypi);
}

#[test]
fn dry_run_prints_the_plan_changes_nothing_and_needs_no_hub() {
    let mut ws = Workspace::new("");
    // A repository without a manifest is reported and left out.
    let docs = ws.repo("docs");
    ws.world.init_repo_at(&docs);
    ws.world.init(&docs, "github", ORG);
    let names: Vec<String> = ws
        .chain
        .iter()
        .chain([&ws.npm, &ws.pypi])
        .cloned()
        .collect();
    let state = |ws: &Workspace| -> Vec<RepoState> {
        names
            .iter()
            .map(|name| ws.world.repo_state(&ws.repo(name), KEPT_FILES))
            .collect()
    };
    let before = state(&ws);
    let audit_before = ws.world.audit_lines().len();

    let run = ws.publish(&[], &["--dry-run", "--bump", "minor"]);
    run.assert_code(0);
    let out = &run.stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"Would publish 5 packages, in this order:"),
        "{out}"
    );
    // Each crate of the chain: its line, its token's state, the requirement it gets rewritten.
    let mut positions = Vec::new();
    for (index, name) in ws.chain.iter().enumerate() {
        let suffix = format!(
            ". {name} 0.1.0 → 0.2.0 to {}, tag v0.2.0 in {name}",
            names::CARGO
        );
        let at = lines
            .iter()
            .position(|line| line.starts_with("  ") && line.ends_with(&suffix))
            .unwrap_or_else(|| panic!("{suffix:?} in:\n{out}"));
        let mut expected = vec![format!("     token {0}/token: {0}/* granted", names::CARGO)];
        if index > 0 {
            expected.push(format!(
                "     requirement on {} → 0.2.0",
                ws.chain[index - 1]
            ));
        }
        assert_eq!(lines[at + 1..=at + expected.len()], expected, "{out}");
        positions.push(at);
    }
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "the chain in dependency order:\n{out}"
    );
    for part in ["testnpm/token", "testpypi/token"] {
        assert!(out.contains(part), "{part} in:\n{out}");
    }
    for name in &names {
        let line =
            format!("Would push {name} (branch and tags) to github (github/{ORG}/* granted)");
        assert_eq!(count(out, &line), 1, "{line:?} once in:\n{out}");
    }
    assert!(
        run.stderr
            .contains("- docs: no package manifest, nothing to publish"),
        "{}",
        run.stderr
    );
    assert!(!out.contains("docs"), "{out}");

    // JSON: the same plan, every package "planned".
    let run = ws.publish(&["--json"], &["--dry-run", "--bump", "minor"]);
    run.assert_code(0);
    let json = run.json();
    assert_eq!(json["dry_run"], true, "{json}");
    let packages = json["packages"].as_array().expect("packages");
    let chain: Vec<&serde_json::Value> = ws
        .chain
        .iter()
        .map(|name| {
            packages
                .iter()
                .find(|p| p["name"] == name.as_str())
                .unwrap_or_else(|| panic!("{name} in {json}"))
        })
        .collect();
    for package in packages {
        assert_eq!(package["status"], "planned", "{json}");
        assert_eq!(package["old_version"], "0.1.0", "{json}");
        assert_eq!(package["version"], "0.2.0", "{json}");
        assert_eq!(package["access"], "granted", "{json}");
    }
    for package in &chain {
        assert_eq!(package["ecosystem"], "cargo", "{json}");
        assert_eq!(package["registry"], names::CARGO, "{json}");
        assert_eq!(package["token_path"], "testreg/token", "{json}");
    }
    assert_eq!(
        chain[2]["requirement_updates"],
        serde_json::json!([{"name": ws.chain[1], "version": "0.2.0"}]),
        "{json}"
    );
    assert!(
        json["repos"]
            .as_array()
            .expect("repos")
            .iter()
            .any(|repo| repo["repo"] == "docs" && repo["status"] == "no_manifest"),
        "{json}"
    );

    // An unknown package is a usage error.
    let run = ws.publish(&[], &["--package", "nope", "--dry-run"]);
    run.assert_code(2);
    assert!(run.stderr.contains("nope"), "{}", run.stderr);

    // Nothing changed, and the hub was only asked has_scope: no request, no read.
    assert_eq!(state(&ws), before);
    let audit = ws.world.audit_lines();
    assert!(
        audit[audit_before..].iter().all(|line| !line["event"]
            .as_str()
            .is_some_and(|event| event.starts_with("scope") || event.starts_with("secret_read"))),
        "{:#?}",
        &audit[audit_before..]
    );

    // Without a hub, the plan is the same.
    ws.world.hub.stop();
    let run = ws.publish(&[], &["--dry-run", "--bump", "minor"]);
    run.assert_code(0);
    let output = format!("{}{}", run.stdout, run.stderr);
    for name in &ws.chain {
        let part = format!(". {name} 0.1.0 → 0.2.0 to {}", names::CARGO);
        assert!(output.contains(&part), "{part} in:\n{output}");
    }
    assert_eq!(state(&ws), before);
    let r = registries();
    for name in &names {
        ws.assert_not_pushed(name);
    }
    for name in &ws.chain {
        assert!(r.cargo.versions(name).is_empty());
    }
    assert!(r.npm.versions(&ws.npm).is_empty());
    assert!(r.pypi.versions(&ws.pypi).is_empty());

    // wa now depends on wc: wa → wc → wb → wa, a cycle that names them.
    let path = format!("../{}", ws.chain[2]);
    let (manifest, text) = cargo_files(&ws.chain[0], "0.1.0", &[(&ws.chain[2], &path, "0.1.0")])
        .into_iter()
        .next()
        .unwrap();
    fs::write(ws.repo(&ws.chain[0]).join(manifest), text).unwrap();
    let run = ws.publish(&[], &["--dry-run"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("error: dependency cycle: "),
        "{}",
        run.stderr
    );
    for name in &ws.chain {
        assert!(run.stderr.contains(name.as_str()), "{}", run.stderr);
    }
}

#[test]
fn the_members_of_a_cargo_workspace_are_published_in_order_and_tagged_by_name() {
    let world = ForgeWorld::start_for_publish("");
    world.forge_ready();
    world.put_secret("testreg/token", registries().cargo.token());
    world.grant("testreg/*");
    let ws = world.dir().join("ws");
    let repo_name = unique_name("members");
    let (base, dependent) = (unique_name("m"), unique_name("m"));
    let mut files = vec![
        (
            "Cargo.toml".to_owned(),
            format!("[workspace]\nmembers = [\"{base}\", \"{dependent}\"]\nresolver = \"2\"\n"),
        ),
        (".gitignore".to_owned(), "/target\n".to_owned()),
    ];
    let path = format!("../{base}");
    for (member, member_files) in [
        (&base, cargo_files(&base, "0.1.0", &[])),
        (
            &dependent,
            cargo_files(&dependent, "0.1.0", &[(&base, &path, "0.1.0")]),
        ),
    ] {
        files.extend(
            member_files
                .into_iter()
                .filter(|(file, _)| file != ".gitignore")
                .map(|(file, contents)| (format!("{member}/{file}"), contents)),
        );
    }
    let repo = world.package_repo(&ws.join(&repo_name), names::CARGO, &files);

    let run = world.run(
        &ws,
        &[
            "workspace",
            "publish",
            "--path",
            &ws.display().to_string(),
            "--bump",
            "patch",
            "-j",
            "4",
        ],
    );
    run.assert_code(0);
    let progress: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Publishing") || l.starts_with("Pushing"))
        .collect();
    assert_eq!(
        progress,
        [
            format!("Publishing {base} 0.1.0 → 0.1.1 to {}... ✓", names::CARGO),
            format!(
                "Publishing {dependent} 0.1.0 → 0.1.1 to {}... ✓",
                names::CARGO
            ),
            format!("Pushing {repo_name} to github... ✓"),
        ],
        "{}",
        run.stdout
    );
    let cargo = &registries().cargo;
    assert_eq!(cargo.versions(&base), ["0.1.1"], "{}", run.stdout);
    assert_eq!(cargo.versions(&dependent), ["0.1.1"], "{}", run.stdout);
    assert_eq!(
        cargo.requirement(&dependent, "0.1.1", &base).as_deref(),
        Some("^0.1.1")
    );
    let publishes: Vec<String> = world
        .tool_runs("publish")
        .into_iter()
        .filter(|(tool, _, argv)| tool == "cargo" && !argv.contains("--dry-run"))
        .map(|(_, cwd, argv)| format!("{cwd} {argv}"))
        .collect();
    let position = |name: &str| publishes.iter().position(|run| names_path(run, name));
    assert!(
        matches!((position(&base), position(&dependent)), (Some(a), Some(b)) if a < b),
        "{base} before {dependent}: {publishes:#?}"
    );
    // One release commit per member, one after the other, each tagged with the member's name.
    let subjects = world.git(&repo, &["log", "-2", "--format=%s"]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            format!("chore: release {dependent} v0.1.1"),
            format!("chore: release {base} v0.1.1"),
        ]
    );
    let mut tags = vec![format!("{base}-v0.1.1"), format!("{dependent}-v0.1.1")];
    tags.sort();
    assert_eq!(
        world
            .git(&repo, &["tag", "--list"])
            .lines()
            .collect::<Vec<_>>(),
        tags
    );
    let head = world.head(&repo);
    assert_eq!(
        world.server.head_of("github", ORG, &repo_name, "main"),
        Some(head.clone())
    );
    for member in [&base, &dependent] {
        let tag = format!("{member}-v0.1.1");
        let tagged = world.server.tag_of("github", ORG, &repo_name, &tag);
        assert!(tagged.is_some(), "{tag} on the forge");
        assert_eq!(world.rev(&repo, &format!("{tag}^{{commit}}")), tagged);
    }
    assert_eq!(
        world
            .server
            .tag_of("github", ORG, &repo_name, &format!("{dependent}-v0.1.1")),
        Some(head),
        "the last member's release is the branch's head"
    );
}
