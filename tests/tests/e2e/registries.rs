//! The test registries on their own, driven by the ecosystems' own tools: plain `cargo
//! publish`, `npm publish` and `twine upload` with the right token are served afterwards; with
//! a wrong token they are refused and nothing is served. This is what lets the publish tests
//! trust a registry's answer.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use auth_hub_tests::registries::{registries, tool_env, unique_name};
use auth_hub_tests::Run;

/// A scratch directory with its own `HOME` and `CARGO_HOME`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("regsmoke")
            .tempdir()
            .unwrap();
        fs::create_dir_all(dir.path().join("home")).unwrap();
        fs::create_dir_all(dir.path().join("cargo-home")).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `program` in `cwd` with the registries' tools, the scratch `HOME` and `CARGO_HOME`.
    fn command(&self, program: &str, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        tool_env(&mut command, &self.path().join("cargo-home"));
        command
            .current_dir(cwd)
            .env("HOME", self.path().join("home"))
            .env("XDG_CONFIG_HOME", self.path().join("home/.config"))
            .env("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null());
        command
    }

    /// A crate `name` 0.1.0 with a library, in its own directory.
    fn crate_dir(&self, name: &str) -> PathBuf {
        let dir = self.path().join(name);
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
                 description = \"a registry smoke test\"\nlicense = \"MIT\"\n"
            ),
        )
        .unwrap();
        fs::write(dir.join("src/lib.rs"), "//! smoke\n").unwrap();
        dir
    }

    /// `cargo publish --registry testreg` with `token`, the registry given by environment only.
    fn cargo_publish(&self, dir: &Path, token: &str) -> Run {
        let output = self
            .command("cargo", dir)
            .args(["publish", "--registry", "testreg", "--allow-dirty"])
            .env(
                "CARGO_REGISTRIES_TESTREG_INDEX",
                registries().cargo.index_url(),
            )
            .env("CARGO_REGISTRIES_TESTREG_TOKEN", token)
            .output()
            .unwrap();
        Run::from(output)
    }

    /// An npm package `name` 0.1.0 in its own directory.
    fn npm_dir(&self, name: &str) -> PathBuf {
        let dir = self.path().join(name.replace('/', "_"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("package.json"),
            serde_json::json!({ "name": name, "version": "0.1.0", "license": "MIT" }).to_string(),
        )
        .unwrap();
        fs::write(dir.join("index.js"), "module.exports = 1;\n").unwrap();
        dir
    }

    /// `npm publish` with `token` in `NPM_TOKEN`, read by a user config that names no secret.
    fn npm_publish(&self, dir: &Path, token: &str) -> Run {
        let npm = &registries().npm;
        let userconfig = self.path().join("npmrc");
        let host = npm.url().trim_start_matches("http:");
        fs::write(&userconfig, format!("{host}:_authToken=${{NPM_TOKEN}}\n")).unwrap();
        let output = self
            .command("npm", dir)
            .args(["publish", "--registry", npm.url(), "--userconfig"])
            .arg(&userconfig)
            .env("NPM_TOKEN", token)
            .output()
            .unwrap();
        Run::from(output)
    }

    /// A Python project `name` 0.1.0 built into an sdist; returns the project directory.
    fn python_project(&self, name: &str) -> PathBuf {
        let dir = self.path().join(name);
        let module = name.replace('-', "_");
        fs::create_dir_all(dir.join(&module)).unwrap();
        fs::write(dir.join(&module).join("__init__.py"), "").unwrap();
        fs::write(
            dir.join("pyproject.toml"),
            format!(
                "[build-system]\nrequires = [\"setuptools>=61\"]\n\
                 build-backend = \"setuptools.build_meta\"\n\n\
                 [project]\nname = \"{name}\"\nversion = \"0.1.0\"\n"
            ),
        )
        .unwrap();
        let build = Run::from(
            self.command("python3", &dir)
                .args(["-m", "build", "--sdist", "."])
                .output()
                .unwrap(),
        );
        build.assert_code(0);
        dir
    }

    /// `twine upload dist/*` with `token` as `__token__`'s password, by environment.
    fn twine_upload(&self, dir: &Path, token: &str) -> Run {
        let dist: Vec<PathBuf> = fs::read_dir(dir.join("dist"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert!(!dist.is_empty(), "nothing was built");
        let output = self
            .command("twine", dir)
            .args(["upload", "--non-interactive", "--disable-progress-bar"])
            .args(["--repository-url", registries().pypi.url()])
            .args(&dist)
            .env("TWINE_USERNAME", "__token__")
            .env("TWINE_PASSWORD", token)
            .output()
            .unwrap();
        Run::from(output)
    }
}

#[test]
fn cargo_publish_with_the_gates_token_is_served() {
    let scratch = Scratch::new();
    let name = unique_name("smoke-cargo-ok");
    let dir = scratch.crate_dir(&name);
    let cargo = &registries().cargo;
    assert!(cargo.versions(&name).is_empty());
    scratch.cargo_publish(&dir, cargo.token()).assert_code(0);
    assert_eq!(cargo.versions(&name), ["0.1.0"]);
    // Another crate can depend on it: cargo resolves it in the index and downloads it.
    let user = scratch.crate_dir(&unique_name("smoke-cargo-user"));
    for args in [&["add", &name, "--registry", "testreg"][..], &["fetch"][..]] {
        let output = scratch
            .command("cargo", &user)
            .args(args)
            .env("CARGO_REGISTRIES_TESTREG_INDEX", cargo.index_url())
            .output()
            .unwrap();
        Run::from(output).assert_code(0);
    }
}

#[test]
fn cargo_publish_with_a_wrong_token_is_refused_and_not_served() {
    let scratch = Scratch::new();
    let name = unique_name("smoke-cargo-bad");
    let dir = scratch.crate_dir(&name);
    let cargo = &registries().cargo;
    let run = scratch.cargo_publish(&dir, "not-the-token");
    assert_ne!(run.code, 0, "publish succeeded:\n{}", run.stderr);
    assert!(run.stderr.contains("invalid token"), "{}", run.stderr);
    assert!(run.stderr.contains("403"), "{}", run.stderr);
    assert!(cargo.versions(&name).is_empty());
    assert!(
        cargo
            .requests()
            .iter()
            .any(|r| r.refused && r.method == "PUT" && r.path == "/api/v1/crates/new"),
        "the gate refused no publish: {:?}",
        cargo.requests()
    );
}

#[test]
fn npm_publish_with_the_users_token_is_served() {
    let scratch = Scratch::new();
    let name = format!("@acme/{}", unique_name("smoke-npm-ok"));
    let dir = scratch.npm_dir(&name);
    let npm = &registries().npm;
    assert!(npm.versions(&name).is_empty());
    scratch.npm_publish(&dir, npm.token()).assert_code(0);
    assert_eq!(npm.versions(&name), ["0.1.0"]);
    let view = Run::from(
        scratch
            .command("npm", scratch.path())
            .args(["view", &name, "version", "--registry", npm.url()])
            .output()
            .unwrap(),
    );
    view.assert_code(0);
    assert_eq!(view.stdout.trim(), "0.1.0");
}

#[test]
fn npm_publish_with_a_wrong_token_is_refused_and_not_served() {
    let scratch = Scratch::new();
    let name = unique_name("smoke-npm-bad");
    let dir = scratch.npm_dir(&name);
    let npm = &registries().npm;
    let run = scratch.npm_publish(&dir, "bm90LXRoZS10b2tlbg");
    assert_ne!(run.code, 0, "publish succeeded:\n{}", run.stderr);
    assert!(npm.versions(&name).is_empty());
}

#[test]
fn twine_upload_with_the_token_is_served() {
    let scratch = Scratch::new();
    let name = unique_name("smoke-pypi-ok");
    let dir = scratch.python_project(&name);
    let pypi = &registries().pypi;
    assert!(pypi.versions(&name).is_empty());
    scratch.twine_upload(&dir, pypi.token()).assert_code(0);
    assert_eq!(pypi.versions(&name), ["0.1.0"]);
}

#[test]
fn twine_upload_with_a_wrong_token_is_refused_and_not_served() {
    let scratch = Scratch::new();
    let name = unique_name("smoke-pypi-bad");
    let dir = scratch.python_project(&name);
    let pypi = &registries().pypi;
    let run = scratch.twine_upload(&dir, "pypi-not-the-token");
    assert_ne!(run.code, 0, "upload succeeded:\n{}", run.stdout);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(output.contains("403"), "{output}");
    assert!(pypi.versions(&name).is_empty());
}
