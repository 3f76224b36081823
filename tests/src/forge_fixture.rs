//! The forge tests' world: a hub, an authenticating git server playing `github` and `codeberg`,
//! a user config pointing those forges at it, work repositories, and a `git` wrapper that logs
//! every git invocation hyperforge makes (argv and full environment) so tests can prove a token
//! never reaches a child process.
//!
//! Every git run here (the tests' own and hyperforge's) gets an isolated `HOME`, no system
//! config and no terminal prompt, so the machine's git setup never changes a result.
//!
//! A world started with [`ForgeWorld::start_for_publish`] also runs the package tools: `cargo`,
//! `npm`, `twine` and `python3` come from the test registries' cache
//! ([`crate::registries::tool_path`]), each behind a wrapper that logs its argv, working
//! directory and environment like the git wrapper, with the real rustup home and a `CARGO_HOME`
//! inside the fake `HOME`.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::registries;
use crate::{Run, TestHub};
use fake_forge::git_server::GitServer;

/// The package tools a publish runs, wrapped and logged in a publish world.
pub const PUBLISH_TOOLS: [&str; 4] = ["cargo", "npm", "twine", "python3"];

/// A hub, a git server and a scratch directory for one forge test.
pub struct ForgeWorld {
    /// The hub (already logged in).
    pub hub: TestHub,
    /// The git server; `github` and `codeberg` are its path prefixes.
    pub server: GitServer,
    dir: tempfile::TempDir,
    /// True when the package tools are wrapped and in `PATH` ([`ForgeWorld::start_for_publish`]).
    publish_tools: bool,
}

impl ForgeWorld {
    /// Starts a hub with `hub_config`, logs in, starts the git server and writes the user config
    /// (`[forge.github]` and `[forge.codeberg]` at the server) and the git wrapper.
    pub fn start(hub_config: &str) -> Self {
        Self::start_with_user_config(hub_config, "")
    }

    /// As [`ForgeWorld::start`], with `extra` appended to the user config file.
    pub fn start_with_user_config(hub_config: &str, extra: &str) -> Self {
        let hub = TestHub::start(hub_config);
        hub.login();
        let server = GitServer::start();
        let dir = tempfile::Builder::new()
            .prefix("forge")
            .tempdir()
            .expect("temp dir");
        let world = Self {
            hub,
            server,
            dir,
            publish_tools: false,
        };
        fs::create_dir_all(world.home()).expect("fake home");
        fs::create_dir_all(world.work_dir()).expect("work dir");
        let base = world.server.base_url();
        fs::write(
            world.user_config(),
            format!(
                "[forge.github]\nurl = \"{base}/github\"\n\n[forge.codeberg]\nurl = \"{base}/codeberg\"\n{extra}"
            ),
        )
        .expect("write user config");
        world.write_git_wrapper();
        world
    }

    /// As [`ForgeWorld::start_with_user_config`], for publishing: the user config also names
    /// the test registries (`[registry.testreg]` and the others of
    /// [`crate::registries::user_config`]), and hyperforge runs with the wrapped package tools,
    /// the real `RUSTUP_HOME` and `CARGO_HOME` at `home/.cargo`. Starts the registries if this
    /// test binary has not yet.
    pub fn start_for_publish(hub_config: &str) -> Self {
        let mut world = Self::start_with_user_config(hub_config, &registries::user_config());
        fs::create_dir_all(world.cargo_home()).expect("cargo home");
        let tool_path = registries::tool_path();
        for tool in PUBLISH_TOOLS {
            let real = std::env::split_paths(&tool_path)
                .map(|dir| dir.join(tool))
                .find(|candidate| is_executable(candidate))
                .unwrap_or_else(|| panic!("{tool} not found: run ./scripts/registries"));
            world.write_wrapper(tool, &real, &world.tool_log_path(), true);
        }
        world.publish_tools = true;
        world
    }

    /// `CARGO_HOME` of the package tools in a publish world (inside the fake `HOME`).
    pub fn cargo_home(&self) -> PathBuf {
        self.home().join(".cargo")
    }

    /// The package tools' log: per invocation a `TOOL`, a `CWD` and an `ARGV` line, then `ENV`
    /// lines.
    pub fn tool_log_path(&self) -> PathBuf {
        self.dir().join("tool-invocations.log")
    }

    /// The package tools' log so far.
    pub fn tool_log(&self) -> String {
        fs::read_to_string(self.tool_log_path()).unwrap_or_default()
    }

    /// A package tool (the real one, not logged) run in `cwd` as hyperforge runs it in a
    /// publish world: the fake `HOME`, the tools' `PATH`, `RUSTUP_HOME` and `CARGO_HOME`.
    pub fn tool_command(&self, program: &str, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        registries::tool_env(&mut command, &self.cargo_home());
        command
            .current_dir(cwd)
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null());
        command
    }

    /// The scratch directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The fake `HOME` for every git and hyperforge process.
    pub fn home(&self) -> PathBuf {
        self.dir().join("home")
    }

    /// Where work repositories are created.
    pub fn work_dir(&self) -> PathBuf {
        self.dir().join("work")
    }

    /// The user config file (`HYPERFORGE_CONFIG`).
    pub fn user_config(&self) -> PathBuf {
        self.dir().join("user-config.toml")
    }

    /// The directory holding the `git` wrapper.
    pub fn wrapper_dir(&self) -> PathBuf {
        self.dir().join("wrapper-bin")
    }

    /// The wrapper's log: one `ARGV` line and the `ENV` lines per git invocation.
    pub fn git_log_path(&self) -> PathBuf {
        self.dir().join("git-invocations.log")
    }

    /// The wrapper's log so far.
    pub fn git_log(&self) -> String {
        fs::read_to_string(self.git_log_path()).unwrap_or_default()
    }

    fn write_git_wrapper(&self) {
        self.write_wrapper("git", &real_git(), &self.git_log_path(), false);
    }

    /// Writes `wrapper-bin/{name}`: logs its argv and environment to `log` (with `TOOL` and
    /// `CWD` lines first when `tool`), then runs `real`.
    fn write_wrapper(&self, name: &str, real: &Path, log: &Path, tool: bool) {
        fs::create_dir_all(self.wrapper_dir()).expect("wrapper dir");
        let header = if tool {
            format!("printf 'TOOL: %s\\n' '{name}'\nprintf 'CWD: %s\\n' \"$(pwd)\"\n")
        } else {
            String::new()
        };
        let script = format!(
            "#!/bin/sh\n\
             {{\n\
             {header}\
             printf 'ARGV:'\n\
             for arg in \"$@\"; do printf ' %s' \"$arg\"; done\n\
             printf '\\n'\n\
             env | sed 's/^/ENV: /'\n\
             }} >> '{log}'\n\
             exec '{real}' \"$@\"\n",
            log = log.display(),
            real = real.display(),
        );
        let path = self.wrapper_dir().join(name);
        fs::write(&path, script).expect("write wrapper");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
    }

    /// `PATH` with the wrappers first (then, in a publish world, the package tools).
    pub fn wrapped_path(&self) -> OsString {
        let mut paths = vec![self.wrapper_dir()];
        let rest = if self.publish_tools {
            Some(registries::tool_path())
        } else {
            std::env::var_os("PATH")
        };
        if let Some(path) = rest {
            paths.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(paths).expect("PATH entries are joinable")
    }

    /// Stores `token` at `{forge}/{org}/token` in the hub and makes the server accept it.
    pub fn put_token(&self, forge: &str, org: &str, token: &str) {
        self.hub
            .run(
                &["auth", "put", &format!("{forge}/{org}/token")],
                Some(&format!("{token}\n")),
            )
            .assert_code(0);
        self.server.accept_token(forge, org, token);
    }

    /// A standing grant of `scope` to the owner key.
    pub fn grant(&self, scope: &str) {
        self.hub.run(&["auth", "grant", scope], None).assert_code(0);
    }

    /// A work repository `work/{name}` with one commit on `main`.
    pub fn work_repo(&self, name: &str) -> PathBuf {
        let path = self.work_dir().join(name);
        self.init_repo_at(&path);
        path
    }

    /// Makes `path` a git repository with one commit on `main`.
    pub fn init_repo_at(&self, path: &Path) {
        fs::create_dir_all(path).expect("repo dir");
        self.git(path, &["init", "--quiet", "-b", "main"]);
        self.git(path, &["config", "user.name", "Test User"]);
        self.git(path, &["config", "user.email", "test@example.com"]);
        self.commit(path, "README.md", "hello\n");
    }

    /// Writes `file` and commits it; returns the new HEAD.
    pub fn commit(&self, repo: &Path, file: &str, content: &str) -> String {
        fs::write(repo.join(file), content).expect("write file");
        self.git(repo, &["add", "--", file]);
        self.git(
            repo,
            &["commit", "--quiet", "-m", &format!("change {file}")],
        );
        self.head(repo)
    }

    /// The commit id of `HEAD`.
    pub fn head(&self, repo: &Path) -> String {
        self.git(repo, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// The commit id of `reference`, if it exists.
    pub fn rev(&self, repo: &Path, reference: &str) -> Option<String> {
        let output = self.git_output(repo, &["rev-parse", "--verify", "--quiet", reference]);
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// A `git` command (the real git, not the wrapper) in `dir` with the isolated environment.
    pub fn git_command(&self, dir: &Path) -> Command {
        let mut command = Command::new(real_git());
        command
            .current_dir(dir)
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::null());
        command
    }

    /// Runs git in `dir` and returns its output, whatever the exit status.
    pub fn git_output(&self, dir: &Path, args: &[&str]) -> Output {
        self.git_command(dir).args(args).output().expect("run git")
    }

    /// Runs git in `dir`, panicking unless it succeeds; returns stdout.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.git_output(dir, args);
        assert!(
            output.status.success(),
            "git {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Writes a credential helper script that answers every `get` with `token`; returns the
    /// value for `-c credential.helper=...`.
    pub fn fixed_helper(&self, name: &str, token: &str) -> String {
        let path = self.dir().join(format!("helper-{name}.sh"));
        let script = format!(
            "#!/bin/sh\n\
             cat > /dev/null\n\
             if [ \"$1\" = get ]; then printf 'username=test\\npassword={token}\\n'; fi\n"
        );
        fs::write(&path, script).expect("write helper");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod helper");
        path.display().to_string()
    }

    /// A `hyperforge` command for this world, run in `cwd`: the hub's environment, the user
    /// config, the fake home and the git wrapper first in `PATH`.
    pub fn hyperforge(&self, cwd: &Path) -> Command {
        let mut command = self.hub.hyperforge();
        command
            .current_dir(cwd)
            .env("HYPERFORGE_CONFIG", self.user_config())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            .env_remove("RUST_LOG")
            .env("PATH", self.wrapped_path());
        if self.publish_tools {
            command
                .env("RUSTUP_HOME", registries::rustup_home())
                .env("CARGO_HOME", self.cargo_home())
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_REGISTRY_TOKEN")
                .env_remove("NPM_TOKEN")
                .env_remove("TWINE_USERNAME")
                .env_remove("TWINE_PASSWORD");
        }
        command
    }

    /// Runs `hyperforge ARGS` in `cwd` to completion.
    pub fn run(&self, cwd: &Path, args: &[&str]) -> Run {
        self.run_with_stdin(cwd, args, None)
    }

    /// Runs `hyperforge ARGS` in `cwd` with `stdin` to completion.
    pub fn run_with_stdin(&self, cwd: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = self.hyperforge(cwd);
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().expect("spawn hyperforge");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin piped");
            // A command that exits without reading its input is judged by its exit code and
            // output, not by a broken pipe here.
            if let Err(e) = pipe.write_all(input.as_bytes()) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
            }
        }
        Run::from(child.wait_with_output().expect("wait for hyperforge"))
    }

    /// `hyperforge init --path REPO --forges FORGES --org ORG`, which must succeed.
    pub fn init(&self, repo: &Path, forges: &str, org: &str) -> Run {
        let path = repo.display().to_string();
        let run = self.run(
            repo,
            &["init", "--path", &path, "--forges", forges, "--org", org],
        );
        run.assert_code(0);
        run
    }

    /// The push URL of `repo` on `forge` (`{base}/{forge}/{org}/{repo}.git`).
    pub fn push_url(&self, forge: &str, org: &str, repo: &str) -> String {
        format!("{}/{forge}/{org}/{repo}.git", self.server.base_url())
    }

    /// The ssh-style fetch URL init writes for `repo` on `forge`.
    pub fn ssh_url(&self, forge: &str, org: &str, repo: &str) -> String {
        format!("git@127.0.0.1:{forge}/{org}/{repo}.git")
    }

    /// The audit log's parsed lines (`auth audit --json`).
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        let run = self.hub.run(&["--json", "auth", "audit"], None);
        run.assert_code(0);
        run.json()["lines"].as_array().cloned().unwrap_or_default()
    }
}

/// Absolute path of the real `git` (resolved once per call through `PATH`).
pub fn real_git() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("git"))
        .find(|candidate| is_executable(candidate))
        .expect("git is installed and on PATH")
}

/// True for an executable file that is not one of the worlds' wrappers.
fn is_executable(candidate: &Path) -> bool {
    candidate.is_file()
        && fs::metadata(candidate).is_ok_and(|meta| meta.permissions().mode() & 0o111 != 0)
        && !candidate.to_string_lossy().contains("wrapper-bin")
}
