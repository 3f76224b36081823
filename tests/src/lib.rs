//! The end-to-end harness: a temporary hub process per test, the real `hyperforge` CLI run
//! against it, the real client library connected to it, and waits with doubling backoff (never a
//! fixed sleep).
//!
//! The binaries are found beside the test executable (`target/<profile>/`), or through
//! `AUTH_HUB_BIN` and `HYPERFORGE_BIN`; the test command builds them first
//! (`cargo build --workspace --bins`).

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use auth_hub_client::{ClientOptions, HubClient};
use auth_hub_protocol::MasterToken;

mod child;
pub mod forge_fixture;
pub mod openbao;
pub mod publish_fixture;
pub mod pyjwt;
pub mod registries;
pub mod secret_service;

/// Path of a workspace binary: `$<VAR>` if set, else beside the test executable.
pub fn binary(name: &str, var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    // target/<profile>/deps/e2e-<hash> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built: run `cargo build --workspace --bins` first (or set {var})",
        path.display()
    );
    path
}

/// The `auth-hub` binary.
pub fn hub_binary() -> PathBuf {
    binary("auth-hub", "AUTH_HUB_BIN")
}

/// The `hyperforge` binary.
pub fn hyperforge_binary() -> PathBuf {
    binary("hyperforge", "HYPERFORGE_BIN")
}

/// Retries `check` with doubling backoff (1 ms up to 100 ms between tries) until it returns
/// `Some` or `limit` passes.
pub fn wait_until<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A hub process with its own home directory. Killed on drop; its log is printed if the test
/// failed.
pub struct TestHub {
    dir: tempfile::TempDir,
    child: Option<Child>,
    store: &'static str,
    /// Extra environment for every start of the hub (a Secret Service's bus address).
    env: Vec<(String, OsString)>,
}

impl TestHub {
    /// Starts a hub with the file store and the given `config.toml` (empty for defaults).
    pub fn start(config: &str) -> Self {
        Self::start_with_store(config, "file")
    }

    /// Starts a hub with the given store backend.
    pub fn start_with_store(config: &str, store: &'static str) -> Self {
        Self::start_with_env(config, store, Vec::new())
    }

    /// Starts a hub with the given store backend and extra environment variables, kept for
    /// restarts (e.g. [`secret_service::SecretService::hub_env`]).
    pub fn start_with_env(config: &str, store: &'static str, env: Vec<(String, OsString)>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hub")
            .tempdir()
            .expect("temp dir");
        fs::write(dir.path().join("config.toml"), config).expect("write config");
        let mut hub = Self {
            dir,
            child: None,
            store,
            env,
        };
        hub.spawn(&[]);
        hub
    }

    /// The hub's home (`AUTH_HUB_HOME`).
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The hub's socket.
    pub fn socket(&self) -> PathBuf {
        self.home().join("auth-hub.sock")
    }

    /// The hub's log file.
    pub fn log_path(&self) -> PathBuf {
        self.home().join("hub.log")
    }

    /// The hub's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("hub is running")
    }

    /// Writes a new `config.toml`.
    pub fn write_config(&self, config: &str) {
        fs::write(self.home().join("config.toml"), config).expect("write config");
    }

    fn spawn(&mut self, extra: &[&str]) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let child = Command::new(hub_binary())
            .args(["serve", "--home"])
            .arg(self.home())
            .args(["--store", self.store])
            .args(extra)
            .env_remove("AUTH_HUB_TOKEN")
            .env_remove("AUTH_HUB_SOCKET")
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env("AUTH_HUB_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn auth-hub");
        self.child = Some(child);
        let socket = self.socket();
        let up = wait_until(Duration::from_secs(20), || {
            UnixStream::connect(&socket).ok()
        });
        if up.is_none() {
            panic!("auth-hub did not start listening:\n{}", self.log());
        }
    }

    /// The hub's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Sends a signal and waits for the process to exit; returns its exit status.
    pub fn signal_and_wait(&mut self, signal: i32) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("hub is running");
        let pid = i32::try_from(child.id()).expect("pid fits");
        // SAFETY: kill(2) with a pid we spawned and still own.
        unsafe { libc::kill(pid, signal) };
        child.wait().expect("wait for hub")
    }

    /// SIGTERM, then wait.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal_and_wait(libc::SIGTERM)
    }

    /// SIGKILL, then wait: a crash.
    pub fn kill9(&mut self) {
        self.signal_and_wait(libc::SIGKILL);
    }

    /// Starts the hub again on the same home.
    pub fn restart(&mut self) {
        self.restart_with(&[]);
    }

    /// Starts the hub again on the same home with extra `serve` arguments.
    pub fn restart_with(&mut self, extra: &[&str]) {
        if self.child.is_some() {
            self.stop();
        }
        self.spawn(extra);
    }

    /// Runs `auth-hub serve` on this hub's home, stopped, expecting it to refuse to start:
    /// returns its output once it exits (within 20 s; a hub still running then is killed and
    /// the test fails).
    pub fn serve_refused(&self) -> Run {
        assert!(self.child.is_none(), "stop the hub first");
        let mut child = Command::new(hub_binary())
            .args(["serve", "--home"])
            .arg(self.home())
            .args(["--store", self.store])
            .env_remove("AUTH_HUB_TOKEN")
            .env_remove("AUTH_HUB_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn auth-hub");
        let exited = wait_until(Duration::from_secs(20), || child.try_wait().ok().flatten());
        if exited.is_none() {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collect auth-hub");
            panic!(
                "auth-hub started instead of refusing:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Run::from(child.wait_with_output().expect("collect auth-hub"))
    }

    /// A `hyperforge` command for this hub (no auto-start, no inherited key).
    pub fn hyperforge(&self) -> Command {
        let mut command = Command::new(hyperforge_binary());
        command
            .env("AUTH_HUB_HOME", self.home())
            .env("AUTH_HUB_NO_AUTOSTART", "1")
            .env_remove("AUTH_HUB_TOKEN")
            .env_remove("AUTH_HUB_SOCKET")
            .stdin(Stdio::null());
        command
    }

    /// Runs `hyperforge ARGS` with `stdin`, waiting for it to finish.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.run_as(None, args, stdin)
    }

    /// Runs `hyperforge ARGS` with `AUTH_HUB_TOKEN` set to `token`.
    pub fn run_as(&self, token: Option<&str>, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = self.hyperforge();
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("AUTH_HUB_TOKEN", token);
        }
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command.spawn().expect("spawn hyperforge");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin piped");
            // A command that refuses its arguments exits without reading its input.
            if let Err(error) = pipe.write_all(input.as_bytes()) {
                assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "write stdin");
            }
        }
        Run::from(child.wait_with_output().expect("wait for hyperforge"))
    }

    /// `hyperforge auth login`; returns the owner key from the saved key file.
    pub fn login(&self) -> String {
        let run = self.run(&["auth", "login"], None);
        run.assert_code(0);
        self.saved_key()
    }

    /// The key `login` saved.
    pub fn saved_key(&self) -> String {
        fs::read_to_string(self.home().join("client").join("master.key"))
            .expect("saved key")
            .trim_end()
            .to_owned()
    }

    /// Creates a service key with the given scopes and returns it.
    pub fn service_key(&self, name: &str, scopes: &[&str]) -> String {
        let mut args = vec!["auth", "key", "create", name];
        for scope in scopes {
            args.extend(["--scope", scope]);
        }
        let run = self.run(&args, None);
        run.assert_code(0);
        run.stdout.trim().to_owned()
    }

    /// Client options for this hub with `token`.
    pub fn client_options(&self, token: Option<&str>) -> ClientOptions {
        ClientOptions {
            socket: self.socket(),
            master_token: token.map(MasterToken::from),
            client_name: "e2e".into(),
            client_version: "0".into(),
            wait: Duration::from_secs(10),
            secret_ttl: Duration::from_secs(300),
            max_frame: auth_hub_protocol::DEFAULT_MAX_FRAME,
            reason: "e2e test".into(),
        }
    }

    /// The real client library connected to this hub.
    pub fn client(&self, token: &str) -> HubClient {
        HubClient::new(self.client_options(Some(token)))
    }

    /// Peak and current resident memory of the hub, in KiB (`VmHWM`, `VmRSS`).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// True while the process is alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- auth-hub log ({}) ----\n{}",
                self.log_path().display(),
                self.log()
            );
        }
    }
}

/// A finished CLI run.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics with the whole output unless the exit code is `code`.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}
