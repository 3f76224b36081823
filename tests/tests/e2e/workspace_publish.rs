//! `hyperforge workspace publish` against the real test registries: three crates in a chain
//! (wa ← wb ← wc, each depending on the previous one through `registry = "testreg"`), an npm
//! package and a Python project, each in its own repository. They are published in dependency
//! order with the requirements rewritten to the new versions, tagged and pushed; a denied scope
//! fails only its package and skips its dependents while the others publish; `--package … --deps`
//! publishes a package with what it depends on and nothing else; `--dry-run` changes nothing.
//! The members of a Cargo workspace in one repository are published in order too, each tagged
//! `<name>-v<version>`.

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

#[test]
fn a_crate_chain_an_npm_package_and_a_python_project_publish_in_order() {
    let ws = Workspace::new("");
    let run = ws.publish(&[], &["--bump", "minor"]);
    run.assert_code(0);

    let r = registries();
    for name in &ws.chain {
        assert_eq!(r.cargo.versions(name), ["0.2.0"], "{name}: {}", run.stdout);
        ws.assert_tagged_and_pushed(name, "0.2.0");
    }
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
fn a_denied_scope_fails_its_package_skips_its_dependents_and_publishes_the_rest() {
    // Two names for the one npm registry: `npmalt` is denied by policy, `testnpm` is granted.
    let hub_config = format!(
        "[[policy.rule]]\nscope = \"{}/*\"\naction = \"deny\"\n",
        names::NPM_ALT
    );
    let ws = Workspace::new(&hub_config);
    let base = unique_name("na");
    let dependent = unique_name("nb");
    ws.world.package_repo(
        &ws.repo(&base),
        names::NPM_ALT,
        &npm_files(&base, "0.1.0", &[]),
    );
    ws.world.package_repo(
        &ws.repo(&dependent),
        names::NPM,
        &npm_files(&dependent, "0.1.0", &[(&base, "^0.1.0")]),
    );
    ws.world.put_secret(
        &format!("{}/token", names::NPM_ALT),
        registries().npm.token(),
    );
    let states: Vec<RepoState> = [&base, &dependent]
        .iter()
        .map(|name| {
            ws.world
                .repo_state(&ws.repo(name), &["package.json", "package-lock.json"])
        })
        .collect();

    let run = ws.publish(&[], &["--bump", "patch"]);
    run.assert_code(1);
    let output = format!("{}{}", run.stdout, run.stderr);
    let denied_scope = format!("{}/*", names::NPM_ALT);
    assert!(
        output
            .lines()
            .any(|line| line.contains('✗') && line.contains(&denied_scope)),
        "a ✗ line for {denied_scope} in:\n{output}"
    );
    assert!(
        output
            .lines()
            .any(|line| line.to_lowercase().contains("skipped") && names_path(line, &dependent)),
        "{dependent} reported as skipped in:\n{output}"
    );

    let r = registries();
    assert!(r.npm.versions(&base).is_empty());
    assert!(r.npm.versions(&dependent).is_empty());
    for (name, before) in [&base, &dependent].iter().zip(&states) {
        let after = ws
            .world
            .repo_state(&ws.repo(name), &["package.json", "package-lock.json"]);
        assert_eq!(&after, before, "{name}'s repository changed");
        ws.assert_not_pushed(name);
    }
    // Everything that does not need the denied scope was published.
    for name in &ws.chain {
        assert_eq!(r.cargo.versions(name), ["0.1.1"], "{name}: {output}");
        ws.assert_tagged_and_pushed(name, "0.1.1");
    }
    assert_eq!(r.npm.versions(&ws.npm), ["0.1.1"]);
    assert_eq!(r.pypi.versions(&ws.pypi), ["0.1.1"]);
}

#[test]
fn a_selected_package_is_published_with_its_dependencies_only() {
    let ws = Workspace::new("");
    let run = ws.publish(
        &[],
        &["--package", &ws.chain[2], "--deps", "--bump", "patch"],
    );
    run.assert_code(0);
    let r = registries();
    for name in &ws.chain {
        assert_eq!(r.cargo.versions(name), ["0.1.1"], "{name}: {}", run.stdout);
    }
    assert!(r.npm.versions(&ws.npm).is_empty());
    assert!(r.pypi.versions(&ws.pypi).is_empty());
    ws.assert_not_pushed(&ws.npm);
    ws.assert_not_pushed(&ws.pypi);
}

#[test]
fn dry_run_lists_the_order_changes_nothing_and_needs_no_hub() {
    let mut ws = Workspace::new("");
    ws.world.hub.stop();
    let names: Vec<String> = ws
        .chain
        .iter()
        .chain([&ws.npm, &ws.pypi])
        .cloned()
        .collect();
    let before: Vec<RepoState> = names
        .iter()
        .map(|name| ws.world.repo_state(&ws.repo(name), &["Cargo.toml"]))
        .collect();

    let run = ws.publish(&[], &["--dry-run", "--bump", "minor"]);
    run.assert_code(0);
    let output = format!("{}{}", run.stdout, run.stderr);
    let first = |name: &str| {
        output
            .find(name)
            .unwrap_or_else(|| panic!("{name} in:\n{output}"))
    };
    assert!(
        first(&ws.chain[0]) < first(&ws.chain[1]) && first(&ws.chain[1]) < first(&ws.chain[2]),
        "the chain in dependency order:\n{output}"
    );
    for part in [
        "0.1.0",
        "0.2.0",
        "testreg/token",
        "testnpm/token",
        "testpypi/token",
    ] {
        assert!(output.contains(part), "{part} in:\n{output}");
    }

    let r = registries();
    for (name, state) in names.iter().zip(&before) {
        assert_eq!(
            &ws.world.repo_state(&ws.repo(name), &["Cargo.toml"]),
            state,
            "{name} changed"
        );
        ws.assert_not_pushed(name);
    }
    for name in &ws.chain {
        assert!(r.cargo.versions(name).is_empty());
    }
    assert!(r.npm.versions(&ws.npm).is_empty());
    assert!(r.pypi.versions(&ws.pypi).is_empty());
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
        ],
    );
    run.assert_code(0);
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
