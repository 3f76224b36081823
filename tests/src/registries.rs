//! Real package registries on loopback for the publish tests: verdaccio (npm), pypiserver
//! (PyPI, uploads by twine) and ferro-cargo-registry-server (Cargo, sparse index) behind
//! fake-forge's token-checking gate.
//!
//! `./scripts/registries` installs them into a cache reused between runs
//! (`${HYPERFORGE_TEST_CACHE:-$HOME/.cache/hyperforge-tests}`); [`registries`] starts each one
//! once per test binary, on a free port with a temporary data directory, and waits until it
//! answers. Tests share them, so each test publishes packages under names of its own
//! ([`unique_name`]).
//!
//! The servers are started from a thread that lives as long as the test process and get
//! `PR_SET_PDEATHSIG`, so they die with the process even when it is killed; an `atexit` handler
//! also stops them and removes their data when the test binary exits normally.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use fake_forge::cargo_gate::{CargoGate, GateRequest};

use crate::child::{die_with_parent, free_port};
use crate::wait_until;

/// How long one server may take to answer after it was started (verdaccio needs a few seconds
/// on a loaded machine).
const START_LIMIT: Duration = Duration::from_secs(120);

/// Attempts per server: a free port found by binding and releasing it can be taken by someone
/// else before the server binds it.
const START_ATTEMPTS: usize = 3;

/// The user the npm registry's token belongs to.
const NPM_USER: &str = "hyperforge-test";

/// The three registries of this test binary.
pub struct Registries {
    /// The Cargo registry (behind its token gate).
    pub cargo: CargoRegistry,
    /// The npm registry.
    pub npm: NpmRegistry,
    /// The PyPI server.
    pub pypi: PypiRegistry,
}

/// ferro-cargo-registry-server behind the token-checking gate; every URL here is the gate's.
pub struct CargoRegistry {
    gate: CargoGate,
    token: String,
}

impl CargoRegistry {
    /// The gate's base URL, `http://127.0.0.1:PORT` (the registry's API host).
    pub fn url(&self) -> String {
        self.gate.base_url()
    }

    /// The sparse index URL for cargo, `sparse+http://127.0.0.1:PORT/`.
    pub fn index_url(&self) -> String {
        format!("sparse+{}/", self.gate.base_url())
    }

    /// The token the gate accepts for publishing.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The versions the index lists for crate `name` (empty when it has none).
    pub fn versions(&self, name: &str) -> Vec<String> {
        self.entries(name)
            .iter()
            .filter_map(|entry| entry["vers"].as_str().map(str::to_owned))
            .collect()
    }

    /// The index entries of crate `name`, one JSON object per version (`vers`, `deps`, …).
    pub fn entries(&self, name: &str) -> Vec<serde_json::Value> {
        let url = format!("{}/{}", self.gate.base_url(), sparse_index_path(name));
        match http_get(&url) {
            (200, body) => body
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| {
                    serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("index line of {name} ({e}): {line}"))
                })
                .collect(),
            (404, _) => Vec::new(),
            (status, body) => panic!("cargo index {url}: {status}: {body}"),
        }
    }

    /// The requirement the index entry of `name` `version` has on `dependency`, if any.
    pub fn requirement(&self, name: &str, version: &str, dependency: &str) -> Option<String> {
        self.entries(name)
            .into_iter()
            .find(|entry| entry["vers"] == version)?["deps"]
            .as_array()?
            .iter()
            .find(|dep| dep["name"] == dependency)
            .and_then(|dep| dep["req"].as_str().map(str::to_owned))
    }

    /// Every request the gate received, in order (publishes it refused are marked).
    pub fn requests(&self) -> Vec<GateRequest> {
        self.gate.requests()
    }
}

/// verdaccio, with one user whose token [`NpmRegistry::token`] returns.
pub struct NpmRegistry {
    url: String,
    token: String,
}

impl NpmRegistry {
    /// The registry URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A token verdaccio accepts for publishing (from its adduser API).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The versions of package `name` (`@scope/x` too) the registry serves (empty when none).
    pub fn versions(&self, name: &str) -> Vec<String> {
        let url = format!("{}{}", self.url, name.replace('/', "%2f"));
        match http_get(&url) {
            (200, body) => {
                let packument: serde_json::Value = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("packument of {name} is not JSON ({e}): {body}"));
                packument["versions"]
                    .as_object()
                    .map(|versions| versions.keys().cloned().collect())
                    .unwrap_or_default()
            }
            (404, _) => Vec::new(),
            (status, body) => panic!("npm registry {url}: {status}: {body}"),
        }
    }
}

/// pypiserver with an htpasswd holding one user, `__token__`, as PyPI's API tokens do.
pub struct PypiRegistry {
    url: String,
    token: String,
}

impl PypiRegistry {
    /// The upload URL (twine's `--repository-url`), `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The simple index, `http://127.0.0.1:PORT/simple/`.
    pub fn simple_url(&self) -> String {
        format!("{}simple/", self.url)
    }

    /// The password of user `__token__`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The versions of project `name` in the simple index (empty when none), sorted.
    pub fn versions(&self, name: &str) -> Vec<String> {
        let url = format!("{}{}/", self.simple_url(), normalize_pypi_name(name));
        match http_get(&url) {
            (200, body) => simple_index_versions(&body),
            (404, _) => Vec::new(),
            (status, body) => panic!("pypi simple index {url}: {status}: {body}"),
        }
    }
}

/// The registries of this test binary, started on first use.
///
/// # Panics
///
/// When a server is not installed (run `./scripts/registries`) or does not start.
pub fn registries() -> &'static Registries {
    static REGISTRIES: OnceLock<Result<Registries, String>> = OnceLock::new();
    let started = REGISTRIES.get_or_init(|| {
        // PR_SET_PDEATHSIG fires when the thread that spawned a child ends, so the children are
        // spawned from a thread that never does (it parks until the process exits).
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("registries".into())
            .spawn(move || {
                let started = std::panic::catch_unwind(start).unwrap_or_else(|panic| {
                    Err(panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_else(|| "starting the registries panicked".into()))
                });
                let _ = sender.send(started);
                loop {
                    std::thread::park();
                }
            })
            .expect("spawn the registries thread");
        receiver
            .recv()
            .unwrap_or_else(|_| Err("the registries thread ended without an answer".into()))
    });
    match started {
        Ok(registries) => registries,
        Err(message) => panic!("{message}"),
    }
}

/// Registry names the publish tests' user config defines ([`user_config`]).
pub mod names {
    /// The Cargo registry: `[registry.testreg] kind = "cargo"`.
    pub const CARGO: &str = "testreg";
    /// A second name for the same Cargo registry, with tokens of its own (`cargoalt/…`), so a
    /// test can give one package a token the gate refuses while the others publish.
    pub const CARGO_ALT: &str = "cargoalt";
    /// The npm registry: `[registry.testnpm] kind = "npm"`.
    pub const NPM: &str = "testnpm";
    /// A second name for the same npm registry, with tokens of its own (`npmalt/…`), so a test
    /// can deny one registry's scope while the other publishes.
    pub const NPM_ALT: &str = "npmalt";
    /// The PyPI server: `[registry.testpypi] kind = "pypi"`.
    pub const PYPI: &str = "testpypi";
}

/// `[registry.<name>]` tables naming this binary's registries (see [`names`]), for a
/// hyperforge user config file. Starts the registries.
pub fn user_config() -> String {
    let r = registries();
    format!(
        "\n[registry.{cargo}]\nkind = \"cargo\"\nurl = \"{cargo_url}\"\n\
         \n[registry.{cargo_alt}]\nkind = \"cargo\"\nurl = \"{cargo_url}\"\n\
         \n[registry.{npm}]\nkind = \"npm\"\nurl = \"{npm_url}\"\n\
         \n[registry.{npm_alt}]\nkind = \"npm\"\nurl = \"{npm_url}\"\n\
         \n[registry.{pypi}]\nkind = \"pypi\"\nurl = \"{pypi_url}\"\n",
        cargo = names::CARGO,
        cargo_alt = names::CARGO_ALT,
        npm = names::NPM,
        npm_alt = names::NPM_ALT,
        pypi = names::PYPI,
        cargo_url = r.cargo.index_url(),
        npm_url = r.npm.url(),
        pypi_url = r.pypi.url(),
    )
}

/// The cache `./scripts/registries` installs into.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HYPERFORGE_TEST_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    PathBuf::from(home).join(".cache/hyperforge-tests")
}

/// A `PATH` with the registries' tools first: the venv's `bin` (python3, twine) and the node
/// directory (node, npm), then the test process's own `PATH`.
pub fn tool_path() -> OsString {
    let cache = cache_dir();
    let mut paths = vec![cache.join("venv/bin"), cache.join("node-bin")];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).expect("PATH entries are joinable")
}

/// The real rustup home, for cargo run with another `HOME` (`RUSTUP_HOME`).
pub fn rustup_home() -> PathBuf {
    if let Some(dir) = std::env::var_os("RUSTUP_HOME") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    PathBuf::from(home).join(".rustup")
}

/// Gives `command` the registries' tools: [`tool_path`] as `PATH`, the real [`rustup_home`],
/// and `cargo_home` as `CARGO_HOME` (a temporary one, so no user cargo config or credentials
/// take part).
pub fn tool_env(command: &mut Command, cargo_home: &Path) {
    command
        .env("PATH", tool_path())
        .env("RUSTUP_HOME", rustup_home())
        .env("CARGO_HOME", cargo_home)
        .env_remove("CARGO_REGISTRY_TOKEN")
        .env_remove("NPM_TOKEN")
        .env_remove("TWINE_PASSWORD")
        .env_remove("TWINE_USERNAME");
}

/// `{prefix}-{n}`, different for every call in this test binary (the registries are shared).
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The path of crate `name`'s entry in a sparse index (Cargo's layout).
fn sparse_index_path(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// PEP 503 normalization: lowercase, each run of `-`, `_` and `.` becomes one `-`.
fn normalize_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// The versions named by the files a simple index page links to, sorted and without repeats.
fn simple_index_versions(html: &str) -> Vec<String> {
    let mut versions: Vec<String> = html
        .split("</a>")
        .filter_map(|chunk| chunk.rsplit_once('>').map(|(_, file)| file.trim()))
        .filter_map(|file| {
            if let Some(stem) = file.strip_suffix(".whl") {
                stem.split('-').nth(1).map(str::to_owned)
            } else {
                let stem = file
                    .strip_suffix(".tar.gz")
                    .or_else(|| file.strip_suffix(".zip"))?;
                stem.rsplit_once('-').map(|(_, version)| version.to_owned())
            }
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

/// `GET url`: the status and body (a transport failure is a test failure).
fn http_get(url: &str) -> (u16, String) {
    try_get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// `GET url`, or the transport error.
fn try_get(url: &str) -> Result<(u16, String), ureq::Error> {
    let mut response = agent().get(url).call()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string()?;
    Ok((status, body))
}

/// One HTTP agent for the harness's requests: short timeouts, statuses as answers.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into()
    })
}

/// A random hex string of `bytes` random bytes.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the `atexit` handler cleans up: the servers' process ids and their data directory.
static CLEANUP: Mutex<(Vec<i32>, Option<PathBuf>)> = Mutex::new((Vec::new(), None));

/// Stops the servers and removes their data when the test binary exits.
extern "C" fn clean_up() {
    if let Ok(mut cleanup) = CLEANUP.try_lock() {
        for pid in cleanup.0.drain(..) {
            // SAFETY: kill(2) on a child this process spawned; it has not been waited for, so
            // the pid cannot have been reused.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: waitpid(2) on that child, so it leaves no zombie behind.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        }
        if let Some(dir) = cleanup.1.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// Installs check, data directory, then the three servers.
fn start() -> Result<Registries, String> {
    let cache = cache_dir();
    let verdaccio = cache.join("verdaccio/node_modules/verdaccio/bin/verdaccio");
    let pypi_server = cache.join("venv/bin/pypi-server");
    let ferro = cache.join("cargo/bin/ferro-cargo-registry-server");
    let node = cache.join("node-bin/node");
    let missing: Vec<String> = [&verdaccio, &pypi_server, &ferro, &node]
        .into_iter()
        .filter(|path| !path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the test registries are not installed (missing {}): run ./scripts/registries",
            missing.join(", ")
        ));
    }
    let data = tempfile::Builder::new()
        .prefix("registries")
        .tempdir()
        .map_err(|e| format!("temporary directory for the registries: {e}"))?
        .keep();
    CLEANUP.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(data.clone());
    // SAFETY: registering a plain extern "C" function without arguments.
    unsafe { libc::atexit(clean_up) };

    let cargo = start_cargo(&ferro, &data.join("cargo"))?;
    let npm = start_npm(&node, &verdaccio, &data.join("npm"))?;
    let pypi = start_pypi(&cache, &pypi_server, &data.join("pypi"))?;
    Ok(Registries { cargo, npm, pypi })
}

/// The gate first (its URL goes into the registry's `config.json`), then ferro on a port it
/// picks and logs, then the gate is pointed at it.
fn start_cargo(ferro: &Path, dir: &Path) -> Result<CargoRegistry, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let token = format!("cargo-test-{}", random_hex(16));
    let gate = CargoGate::start(&token);
    let log = dir.join("server.log");
    let mut command = Command::new(ferro);
    command
        .env("FERRO_CARGO_REGISTRY_LISTEN", "127.0.0.1:0")
        .env("FERRO_CARGO_REGISTRY_DATA", dir.join("data"))
        .env("FERRO_CARGO_REGISTRY_API", gate.base_url())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info");
    let mut child = spawn_logged(command, &log)?;
    let bound = wait_until(START_LIMIT, || {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(Err(format!("exited with {status}")));
        }
        let text = fs::read_to_string(&log).unwrap_or_default();
        text.split_whitespace()
            .find_map(|word| word.strip_prefix("bound="))
            .map(|addr| Ok(addr.to_owned()))
    });
    let bound = match bound {
        Some(Ok(addr)) => addr,
        Some(Err(why)) => return Err(failed("ferro-cargo-registry-server", &why, &log)),
        None => {
            return Err(failed(
                "ferro-cargo-registry-server",
                "never listened",
                &log,
            ))
        }
    };
    gate.forward_to(&format!("http://{bound}"));
    let config = format!("{}/config.json", gate.base_url());
    if wait_until(START_LIMIT, || {
        matches!(try_get(&config), Ok((200, _))).then_some(())
    })
    .is_none()
    {
        return Err(failed(
            "ferro-cargo-registry-server",
            "config.json never answered through the gate",
            &log,
        ));
    }
    Ok(CargoRegistry { gate, token })
}

/// verdaccio with a private storage, no uplinks (nothing is fetched from the public registry),
/// publishing for authenticated users; then one user is added for its token.
fn start_npm(node: &Path, verdaccio: &Path, dir: &Path) -> Result<NpmRegistry, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join("config.yaml");
    fs::write(
        &config,
        format!(
            "storage: {storage}\n\
             auth:\n  htpasswd:\n    file: {htpasswd}\n    max_users: 1000\n\
             uplinks: {{}}\n\
             packages:\n  '**':\n    access: $all\n    publish: $authenticated\n    unpublish: $authenticated\n\
             publish:\n  allow_offline: true\n\
             web:\n  enable: false\n\
             log: {{ type: stdout, format: pretty, level: warn }}\n",
            storage = dir.join("storage").display(),
            htpasswd = dir.join("htpasswd").display(),
        ),
    )
    .map_err(|e| format!("{}: {e}", config.display()))?;
    let log = dir.join("server.log");
    let url = start_on_free_port("verdaccio", &log, |port| {
        let mut command = Command::new(node);
        command
            .arg(verdaccio)
            .arg("--config")
            .arg(&config)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"));
        let url = format!("http://127.0.0.1:{port}/");
        (command, format!("{url}-/ping"), url)
    })?;
    let password = random_hex(16);
    let body = serde_json::json!({ "name": NPM_USER, "password": password }).to_string();
    let adduser = format!("{url}-/user/org.couchdb.user:{NPM_USER}");
    let mut response = agent()
        .put(&adduser)
        .header("Content-Type", "application/json")
        .send(body)
        .map_err(|e| format!("verdaccio adduser: {e}"))?;
    let status = response.status().as_u16();
    let reply = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("verdaccio adduser: {e}"))?;
    let token = serde_json::from_str::<serde_json::Value>(&reply)
        .ok()
        .and_then(|reply| reply["token"].as_str().map(str::to_owned))
        .ok_or_else(|| format!("verdaccio adduser answered {status} without a token"))?;
    Ok(NpmRegistry { url, token })
}

/// pypiserver with an htpasswd (written by passlib) for `__token__`; only uploads need it.
fn start_pypi(cache: &Path, pypi_server: &Path, dir: &Path) -> Result<PypiRegistry, String> {
    let packages = dir.join("packages");
    fs::create_dir_all(&packages).map_err(|e| format!("{}: {e}", packages.display()))?;
    let token = format!("pypi-test-{}", random_hex(16));
    let htpasswd = dir.join("htpasswd");
    // The password goes through stdin, not argv.
    let mut writer = Command::new(cache.join("venv/bin/python"))
        .arg("-c")
        .arg(
            "import sys\nfrom passlib.apache import HtpasswdFile\n\
             f = HtpasswdFile(sys.argv[1], new=True)\n\
             f.set_password('__token__', sys.stdin.read())\nf.save()\n",
        )
        .arg(&htpasswd)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("passlib: {e}"))?;
    {
        use std::io::Write;
        let mut stdin = writer.stdin.take().expect("stdin is piped");
        stdin
            .write_all(token.as_bytes())
            .map_err(|e| format!("passlib: {e}"))?;
    }
    let status = writer.wait().map_err(|e| format!("passlib: {e}"))?;
    if !status.success() {
        return Err(format!(
            "writing the htpasswd with passlib failed: {status}"
        ));
    }
    let log = dir.join("server.log");
    let url = start_on_free_port("pypiserver", &log, |port| {
        let mut command = Command::new(pypi_server);
        command
            .args(["run", "-i", "127.0.0.1", "-p", &port.to_string()])
            .arg("-P")
            .arg(&htpasswd)
            .args(["-a", "update", "--disable-fallback"])
            .arg(&packages);
        let url = format!("http://127.0.0.1:{port}/");
        (command, format!("{url}simple/"), url)
    })?;
    Ok(PypiRegistry { url, token })
}

/// Starts a server on a free port, retrying on another port when it exits before answering:
/// `make(port)` gives the command, the URL that answers 200 once it is up, and its base URL.
fn start_on_free_port(
    name: &str,
    log: &Path,
    make: impl Fn(u16) -> (Command, String, String),
) -> Result<String, String> {
    let mut why = String::new();
    for _ in 0..START_ATTEMPTS {
        let port = free_port().map_err(|e| format!("finding a free port: {e}"))?;
        let (command, ready, url) = make(port);
        let mut child = spawn_logged(command, log)?;
        let up = wait_until(START_LIMIT, || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(format!("exited with {status}")));
            }
            matches!(try_get(&ready), Ok((200, _))).then_some(Ok(()))
        });
        match up {
            Some(Ok(())) => return Ok(url),
            Some(Err(exited)) => why = exited,
            None => {
                let _ = child.kill();
                return Err(failed(name, "never answered", log));
            }
        }
    }
    Err(failed(name, &why, log))
}

/// Spawns `command` with its output appended to `log`, dying with this process.
fn spawn_logged(mut command: Command, log: &Path) -> Result<Child, String> {
    let open = || {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))
    };
    command.stdin(Stdio::null()).stdout(open()?).stderr(open()?);
    die_with_parent(&mut command);
    let child = command
        .spawn()
        .map_err(|e| format!("spawn {:?}: {e}", command.get_program()))?;
    let pid = i32::try_from(child.id()).map_err(|_| "pid out of range".to_owned())?;
    CLEANUP
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .0
        .push(pid);
    Ok(child)
}

/// A start failure with the server's log.
fn failed(name: &str, why: &str, log: &Path) -> String {
    format!(
        "{name} did not start ({why}); its log ({}):\n{}",
        log.display(),
        fs::read_to_string(log).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_paths_follow_cargos_layout() {
        assert_eq!(sparse_index_path("a"), "1/a");
        assert_eq!(sparse_index_path("ab"), "2/ab");
        assert_eq!(sparse_index_path("abc"), "3/a/abc");
        assert_eq!(sparse_index_path("Serde"), "se/rd/serde");
    }

    #[test]
    fn pypi_names_are_normalized() {
        assert_eq!(normalize_pypi_name("Smoke_P..x"), "smoke-p-x");
    }

    #[test]
    fn simple_index_versions_come_from_file_names() {
        let html = r#"<a href="/packages/smoke_p-0.1.0-py3-none-any.whl#sha256=ab">smoke_p-0.1.0-py3-none-any.whl</a><br>
            <a href="/packages/smoke_p-0.1.0.tar.gz#sha256=cd">smoke_p-0.1.0.tar.gz</a><br>
            <a href="/packages/smoke_p-0.2.0.tar.gz#sha256=ef">smoke_p-0.2.0.tar.gz</a>"#;
        assert_eq!(simple_index_versions(html), ["0.1.0", "0.2.0"]);
    }
}
