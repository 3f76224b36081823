//! `hyperforge publish` against the real test registries: a crate, a scoped npm package and a
//! Python project are bumped, verified, committed, published with the hub's token, tagged and
//! pushed to the git server; a wrong token is refused by the registry and leaves the repository
//! exactly as it was; a denied scope stops everything with exit 3; `--dry-run` changes nothing
//! and needs no hub. The token never reaches argv, git, a file or the output. And plain
//! `cargo publish` gets its token from the hub as a Cargo credential provider.

use std::fs;
use std::path::{Path, PathBuf};

use auth_hub_tests::forge_fixture::ForgeWorld;
use auth_hub_tests::hyperforge_binary;
use auth_hub_tests::publish_fixture::{cargo_files, npm_files, pypi_files, File, ORG};
use auth_hub_tests::registries::{names, registries, unique_name};
use auth_hub_tests::Run;

/// The ecosystems, with what differs between them in these tests.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Cargo,
    Npm,
    Pypi,
}

impl Kind {
    /// The registry (a `[registry.<name>]` of the user config) the package goes to.
    fn registry(self) -> &'static str {
        match self {
            Self::Cargo => names::CARGO,
            Self::Npm => names::NPM,
            Self::Pypi => names::PYPI,
        }
    }

    /// The package's name: npm's is scoped, so its token lives under the scope.
    fn package_name(self, stem: &str) -> String {
        match self {
            Self::Npm => format!("@acme/{stem}"),
            Self::Cargo | Self::Pypi => stem.to_owned(),
        }
    }

    fn files(self, name: &str) -> Vec<File> {
        match self {
            Self::Cargo => cargo_files(name, "0.1.0", &[]),
            Self::Npm => npm_files(name, "0.1.0", &[]),
            Self::Pypi => pypi_files(name, "0.1.0"),
        }
    }

    /// Where the token lives in the hub.
    fn token_path(self) -> String {
        match self {
            Self::Npm => format!("{}/@acme/token", self.registry()),
            Self::Cargo | Self::Pypi => format!("{}/token", self.registry()),
        }
    }

    /// The scope that covers [`Kind::token_path`].
    fn scope(self) -> String {
        let path = self.token_path();
        let parent = path.rsplit_once('/').map(|(parent, _)| parent).unwrap();
        format!("{parent}/*")
    }

    /// The token the registry accepts.
    fn good_token(self) -> &'static str {
        let r = registries();
        match self {
            Self::Cargo => r.cargo.token(),
            Self::Npm => r.npm.token(),
            Self::Pypi => r.pypi.token(),
        }
    }

    /// The environment variables the issue allows the token to reach the tool through.
    fn token_env(self) -> &'static [&'static str] {
        match self {
            Self::Cargo => &["CARGO_REGISTRIES_TESTREG_TOKEN"],
            Self::Npm => &["NPM_TOKEN"],
            Self::Pypi => &["TWINE_PASSWORD"],
        }
    }

    /// The versions the registry serves for `name`.
    fn served(self, name: &str) -> Vec<String> {
        let r = registries();
        match self {
            Self::Cargo => r.cargo.versions(name),
            Self::Npm => r.npm.versions(name),
            Self::Pypi => r.pypi.versions(name),
        }
    }

    fn manifest(self) -> &'static str {
        match self {
            Self::Cargo => "Cargo.toml",
            Self::Npm => "package.json",
            Self::Pypi => "pyproject.toml",
        }
    }

    /// The manifest and lock files a failed publish must leave byte for byte.
    fn files_kept(self) -> Vec<&'static str> {
        match self {
            Self::Cargo => vec!["Cargo.toml", "Cargo.lock"],
            Self::Npm => vec!["package.json", "package-lock.json"],
            Self::Pypi => vec!["pyproject.toml"],
        }
    }
}

/// A publish world with one package repository of `kind` at 0.1.0, the forge ready and `token`
/// stored at the registry's token path (its scope granted unless the hub's policy denies it).
struct Setup {
    world: ForgeWorld,
    kind: Kind,
    repo: PathBuf,
    repo_name: String,
    name: String,
}

impl Setup {
    fn new(kind: Kind, hub_config: &str, token: &str, grant: bool) -> Self {
        let world = ForgeWorld::start_for_publish(hub_config);
        world.forge_ready();
        let repo_name = unique_name("pub");
        let name = kind.package_name(&repo_name);
        let repo = world.package_repo(
            &world.work_dir().join(&repo_name),
            kind.registry(),
            &kind.files(&name),
        );
        world.put_secret(&kind.token_path(), token);
        if grant {
            world.grant(&kind.scope());
        }
        Self {
            world,
            kind,
            repo,
            repo_name,
            name,
        }
    }

    /// `hyperforge [GLOBAL…] publish --path REPO ARGS…`.
    fn publish(&self, global: &[&str], args: &[&str]) -> Run {
        let path = self.repo.display().to_string();
        let mut all = global.to_vec();
        all.extend(["publish", "--path", &path]);
        all.extend(args);
        self.world.run(&self.repo, &all)
    }

    fn state(&self) -> auth_hub_tests::publish_fixture::RepoState {
        self.world.repo_state(&self.repo, &self.kind.files_kept())
    }

    fn manifest_text(&self) -> String {
        fs::read_to_string(self.repo.join(self.kind.manifest())).unwrap()
    }

    /// Nothing reached the git server: no branch, no tag.
    /// Neither `cargo package` nor `cargo publish` ran (`why` says when that would be wrong).
    fn assert_cargo_never_ran(&self, why: &str) {
        for step in ["package", "publish"] {
            assert_eq!(
                self.world.tool_runs(step),
                [] as [(String, String, String); 0],
                "cargo {step} ran {why}"
            );
        }
    }

    fn assert_nothing_pushed(&self, version: &str) {
        let server = &self.world.server;
        assert_eq!(server.head_of("github", ORG, &self.repo_name, "main"), None);
        assert_eq!(
            server.tag_of("github", ORG, &self.repo_name, &format!("v{version}")),
            None
        );
    }

    /// The package was released as `version`: served by the registry, committed, tagged, and
    /// branch and tag pushed; the manifest and lock file say `version` and are committed.
    fn assert_released(&self, run: &Run, version: &str) {
        run.assert_code(0);
        assert_eq!(self.kind.served(&self.name), [version], "{}", run.stdout);
        let world = &self.world;
        let head = world.head(&self.repo);
        assert_eq!(
            world.head_subject(&self.repo),
            format!("chore: release {} v{version}", self.name)
        );
        let tag = format!("v{version}");
        assert_eq!(
            world.rev(&self.repo, &format!("{tag}^{{commit}}")),
            Some(head.clone())
        );
        assert_eq!(
            world.server.head_of("github", ORG, &self.repo_name, "main"),
            Some(head.clone()),
            "the release commit is on the forge's branch"
        );
        assert_eq!(
            world.server.tag_of("github", ORG, &self.repo_name, &tag),
            Some(head),
            "the tag is on the forge"
        );
        let mut kept = vec!["status", "--porcelain", "--"];
        kept.extend(self.kind.files_kept());
        assert_eq!(
            world.git(&self.repo, &kept),
            "",
            "manifest and lock file are committed"
        );
        let manifest = self.manifest_text();
        match self.kind {
            Kind::Cargo => {
                assert!(
                    manifest.contains(&format!("version = \"{version}\"")),
                    "{manifest}"
                );
                let lock = fs::read_to_string(self.repo.join("Cargo.lock")).unwrap();
                assert!(
                    lock.contains(&format!(
                        "name = \"{}\"\nversion = \"{version}\"",
                        self.name
                    )),
                    "{lock}"
                );
            }
            Kind::Npm => {
                let package: serde_json::Value = serde_json::from_str(&manifest).unwrap();
                assert_eq!(package["version"], version);
                let lock: serde_json::Value = serde_json::from_str(
                    &fs::read_to_string(self.repo.join("package-lock.json")).unwrap(),
                )
                .unwrap();
                assert_eq!(lock["version"], version);
                assert_eq!(lock["packages"][""]["version"], version);
            }
            Kind::Pypi => {
                assert!(
                    manifest.contains(&format!("version = \"{version}\"")),
                    "{manifest}"
                );
            }
        }
    }
}

/// Publishes a fresh package of `kind` with the right token and `bump`, expecting `version`.
fn publishes(kind: Kind, bump: &str, version: &str) {
    let setup = Setup::new(kind, "", kind.good_token(), true);
    assert!(kind.served(&setup.name).is_empty());
    let run = setup.publish(&[], &["--bump", bump]);
    setup.assert_released(&run, version);
    setup.world.assert_token_hidden(
        kind.good_token(),
        kind.token_env(),
        true,
        &[&setup.repo],
        &[&run],
    );
}

#[test]
fn a_crate_is_bumped_published_tagged_and_pushed() {
    publishes(Kind::Cargo, "patch", "0.1.1");
}

#[test]
fn a_scoped_npm_package_is_published_with_its_scopes_token() {
    publishes(Kind::Npm, "minor", "0.2.0");
}

#[test]
fn a_python_project_is_built_and_uploaded_with_twine() {
    publishes(Kind::Pypi, "1.0.0", "1.0.0");
}

/// With a token the registry refuses: non-zero exit naming the token's path, nothing served,
/// nothing pushed, and the repository exactly as before.
fn wrong_token_changes_nothing(kind: Kind) {
    let wrong = format!("wrong-{}-token-5b7c", kind.registry());
    let setup = Setup::new(kind, "", &wrong, true);
    let before = setup.state();
    let run = setup.publish(&[], &["--bump", "patch"]);
    assert_ne!(run.code, 0, "published with a wrong token:\n{}", run.stdout);
    let output = format!("{}{}", run.stdout, run.stderr);
    let refused = format!("the registry refused the token at {}", kind.token_path());
    assert!(output.contains(&refused), "{refused} in:\n{output}");
    assert_eq!(setup.state(), before, "the repository changed");
    assert!(kind.served(&setup.name).is_empty());
    setup.assert_nothing_pushed("0.1.1");
    // The wrong token did go to the registry, the documented way only.
    setup
        .world
        .assert_token_hidden(&wrong, kind.token_env(), true, &[&setup.repo], &[&run]);
}

#[test]
fn a_refused_cargo_token_leaves_the_repository_as_it_was() {
    wrong_token_changes_nothing(Kind::Cargo);
    let refused = registries()
        .cargo
        .requests()
        .into_iter()
        .filter(|r| r.refused)
        .count();
    assert!(refused > 0, "the gate refused nothing");
}

#[test]
fn a_refused_npm_token_leaves_the_repository_as_it_was() {
    wrong_token_changes_nothing(Kind::Npm);
}

#[test]
fn a_refused_pypi_token_leaves_the_repository_as_it_was() {
    wrong_token_changes_nothing(Kind::Pypi);
}

#[test]
fn a_denied_registry_scope_exits_3_before_anything_changes() {
    let kind = Kind::Cargo;
    let hub_config = format!(
        "[[policy.rule]]\nscope = \"{}\"\naction = \"deny\"\n",
        kind.scope()
    );
    let setup = Setup::new(kind, &hub_config, kind.good_token(), false);
    let before = setup.state();
    let run = setup.publish(&[], &["--bump", "patch"]);
    run.assert_code(3);
    let denied = format!("✗ Access denied to {}", kind.scope());
    let grant = format!("Run: hyperforge auth grant '{}'", kind.scope());
    assert!(run.stderr.contains(&denied), "{denied} in:\n{}", run.stderr);
    assert!(run.stderr.contains(&grant), "{grant} in:\n{}", run.stderr);
    assert_eq!(setup.state(), before, "the repository changed");
    assert!(kind.served(&setup.name).is_empty());
    setup.assert_nothing_pushed("0.1.1");
    setup.assert_cargo_never_ran("though the scope was denied");
}

/// A release already running in the repository (its lock held, as a second terminal's
/// `hyperforge publish` holds it) makes this one stop at once: exit 1 naming the lock, nothing
/// verified, published, committed or tagged.
#[test]
fn a_second_release_in_the_same_repository_is_refused_before_anything_changes() {
    use std::os::fd::AsRawFd;

    let kind = Kind::Cargo;
    let setup = Setup::new(kind, "", kind.good_token(), true);
    let before = setup.state();
    let lock_path = setup.repo.join(".git").join("hyperforge-release.lock");
    let held = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .expect("open the release lock");
    // SAFETY: flock on a descriptor this test owns.
    let locked = unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(locked, 0, "{}", std::io::Error::last_os_error());

    let run = setup.publish(&[], &["--bump", "patch"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("another hyperforge release is running in this repository"),
        "{}",
        run.stderr
    );
    assert_eq!(setup.state(), before, "the repository changed");
    assert!(kind.served(&setup.name).is_empty());
    setup.assert_nothing_pushed("0.1.1");
    setup.assert_cargo_never_ran("while another release held the lock");

    // Once the other release ends, the same command goes through.
    drop(held);
    let run = setup.publish(&[], &["--bump", "patch"]);
    setup.assert_released(&run, "0.1.1");
}

#[test]
fn dry_run_prints_the_plan_changes_nothing_and_needs_no_hub() {
    let kind = Kind::Cargo;
    let mut setup = Setup::new(kind, "", kind.good_token(), true);
    setup.world.hub.stop();
    let before = setup.state();

    let run = setup.publish(&[], &["--dry-run", "--bump", "minor"]);
    run.assert_code(0);
    let output = format!("{}{}", run.stdout, run.stderr);
    for part in [
        setup.name.as_str(),
        "0.1.0",
        "0.2.0",
        names::CARGO,
        "testreg/token",
        "cargo publish",
    ] {
        assert!(output.contains(part), "{part} in:\n{output}");
    }

    let json = setup.publish(&["--json"], &["--dry-run", "--bump", "minor"]);
    json.assert_code(0);
    let plan = json.json();
    assert!(plan.is_object(), "{plan}");
    let text = plan.to_string();
    assert!(
        text.contains("0.2.0") && text.contains("testreg/token"),
        "{text}"
    );

    assert_eq!(setup.state(), before, "the repository changed");
    assert!(kind.served(&setup.name).is_empty());
    setup.assert_nothing_pushed("0.2.0");
    assert_eq!(
        setup.world.tool_runs("publish"),
        [] as [(String, String, String); 0],
        "a dry run published"
    );
}

/// Writes crate `name` 0.1.0 into `work/{name}` (no git repository: plain cargo needs none).
fn plain_crate(world: &ForgeWorld, name: &str) -> PathBuf {
    let dir = world.work_dir().join(name);
    for (path, contents) in cargo_files(name, "0.1.0", &[]) {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    dir
}

/// Plain `cargo publish --registry testreg` in `dir`, with the hub's environment and nothing
/// else that could give cargo a token.
fn cargo_publish_plain(world: &ForgeWorld, dir: &Path) -> Run {
    let output = world
        .tool_command("cargo", dir)
        .args(["publish", "--registry", "testreg", "--allow-dirty"])
        .env("AUTH_HUB_HOME", world.hub.home())
        .env("AUTH_HUB_NO_AUTOSTART", "1")
        .env_remove("AUTH_HUB_TOKEN")
        .env_remove("AUTH_HUB_SOCKET")
        .output()
        .unwrap();
    Run::from(output)
}

/// The README's credential provider: cargo's own `cargo publish --registry testreg` with no
/// token anywhere but the hub, which `hyperforge auth get` hands to cargo on stdout.
#[test]
fn cargo_publish_gets_its_token_from_the_hub_as_a_credential_provider() {
    let world = ForgeWorld::start_for_publish("[policy]\ngrant_timeout = \"1s\"\n");
    let cargo = &registries().cargo;
    world.put_secret("testreg/token", cargo.token());
    world.grant("testreg/*");
    fs::write(
        world.cargo_home().join("config.toml"),
        format!(
            "[registries.testreg]\nindex = \"{}\"\n\
             credential-provider = [\"cargo:token-from-stdout\", \"{}\", \"auth\", \"get\", \"testreg/token\"]\n",
            cargo.index_url(),
            hyperforge_binary().display()
        ),
    )
    .unwrap();

    let name = unique_name("credprov");
    let dir = plain_crate(&world, &name);
    let run = cargo_publish_plain(&world, &dir);
    run.assert_code(0);
    assert_eq!(cargo.versions(&name), ["0.1.0"]);
    world.assert_token_hidden(cargo.token(), &[], false, &[&dir], &[&run]);

    // Without the grant the hub hands out nothing (after the 1 s approval window), and cargo
    // publishes nothing.
    world
        .hub
        .run(&["auth", "revoke", "testreg/*"], None)
        .assert_code(0);
    let other = unique_name("credprov");
    let other_dir = plain_crate(&world, &other);
    let run = cargo_publish_plain(&world, &other_dir);
    assert_ne!(run.code, 0, "published without a grant:\n{}", run.stderr);
    assert!(cargo.versions(&other).is_empty());
}
