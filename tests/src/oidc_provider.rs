//! A real, certified OpenID provider on loopback for the OIDC device-login tests: panva's
//! `oidc-provider` (npm) started by `tests/oidc/provider.mjs` with the device flow (RFC 8628), one
//! public client, any login accepted, short lifetimes on demand; and a headless user who
//! approves (or aborts) a user code through the provider's own device and login pages over HTTP.
//!
//! `./scripts/registries` installs the package into
//! `${HYPERFORGE_TEST_CACHE:-$HOME/.cache/hyperforge-tests}/oidc-provider`. Each test starts its
//! own provider ([`OidcProvider::start`]); it is killed on drop (and dies with the test process),
//! and its log is printed when the test failed. [`OidcProvider::restart`] brings it back on the
//! same port, so with the same issuer, but with a new signing key: that is how the tests rotate
//! the provider's keys.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::openbao::spawn_dying_with_process;
use crate::registries::cache_dir;

/// How long the provider may take to print its port.
const START_LIMIT: Duration = Duration::from_secs(60);

/// The scopes the tests ask for: an id_token, a refresh token, and the user's name and e-mail.
pub const SCOPES: &str = "openid offline_access profile email";

/// How a provider is started (`tests/oidc/provider.mjs`'s arguments).
#[derive(Debug, Clone)]
pub struct ProviderOptions {
    /// The one client's id (the id_token's `aud`).
    pub client_id: String,
    /// Device code lifetime, seconds.
    pub device_ttl: u64,
    /// id_token lifetime, seconds.
    pub id_token_ttl: u64,
    /// Access token lifetime, seconds.
    pub access_token_ttl: u64,
    /// The polling interval the device authorization answer announces, seconds.
    pub interval: u64,
    /// Shift of the provider's clock, seconds (negative: tokens issued in the past).
    pub clock_skew: i64,
    /// Answer the first device-code poll with `slow_down`.
    pub slow_down_once: bool,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        Self {
            client_id: "hyperforge-cli".into(),
            device_ttl: 600,
            id_token_ttl: 3600,
            access_token_ttl: 3600,
            interval: 1,
            clock_skew: 0,
            slow_down_once: false,
        }
    }
}

/// One test's `oidc-provider`.
pub struct OidcProvider {
    dir: tempfile::TempDir,
    home: PathBuf,
    options: ProviderOptions,
    port: u16,
    child: Option<Child>,
}

/// Panics, with the command that installs it, when `./scripts/registries` has not installed
/// the provider: a test against the real provider must not pass by skipping it.
fn require_installed() {
    let home = cache_dir().join("oidc-provider");
    assert!(
        home.join("node_modules/oidc-provider/lib/index.js")
            .is_file(),
        "oidc-provider is not installed in {} (run ./scripts/registries)",
        home.display()
    );
}

impl OidcProvider {
    /// Starts a provider on a free loopback port and waits until it listens.
    ///
    /// # Panics
    /// When node or the package is missing, or the provider does not come up.
    pub fn start(options: ProviderOptions) -> Self {
        require_installed();
        let mut provider = Self {
            dir: tempfile::tempdir().expect("temporary directory for oidc-provider"),
            home: cache_dir().join("oidc-provider"),
            options,
            port: 0,
            child: None,
        };
        provider.launch();
        provider
    }

    /// The issuer, `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The client id the provider knows.
    pub fn client_id(&self) -> &str {
        &self.options.client_id
    }

    /// What the provider wrote to stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Stops the provider and starts it again on the same port (same issuer) with a new signing
    /// key and empty state.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("oidc-provider.log")
    }

    fn launch(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc/provider.mjs");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("oidc-provider log file");
        let options = &self.options;
        let mut command = Command::new(node_binary());
        command
            .arg(&script)
            .arg(format!("--client-id={}", options.client_id))
            .arg(format!("--port={}", self.port))
            .arg(format!("--device-ttl={}", options.device_ttl))
            .arg(format!("--id-token-ttl={}", options.id_token_ttl))
            .arg(format!("--access-token-ttl={}", options.access_token_ttl))
            .arg(format!("--interval={}", options.interval))
            .arg(format!("--clock-skew={}", options.clock_skew))
            .env("OIDC_PROVIDER_HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        if options.slow_down_once {
            command.arg("--slow-down-once");
        }
        let mut child =
            spawn_dying_with_process(command).expect("spawn node tests/oidc/provider.mjs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = sender.send(line);
            // The package's notices go to stdout too: keep reading so node never sees EPIPE.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        match receiver
            .recv_timeout(START_LIMIT)
            .ok()
            .and_then(|line| line.trim().parse::<u16>().ok())
        {
            Some(port) => {
                self.port = port;
                self.child = Some(child);
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("oidc-provider did not come up; its log:\n{}", self.log());
            }
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("--- oidc-provider log ---\n{}", self.log());
        }
    }
}

/// `node`: the test cache's link (`./scripts/registries`) when there, else from `PATH`.
fn node_binary() -> PathBuf {
    let linked = cache_dir().join("node-bin/node");
    if linked.exists() {
        linked
    } else {
        PathBuf::from("node")
    }
}

/// What the user does on the provider's confirmation page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Continue, sign in as the given login, consent.
    Approve,
    /// Press "Abort" on the confirmation page.
    Abort,
}

/// A browser without a browser: a cookie jar, manual redirects, and the forms of
/// `oidc-provider`'s device pages and development interactions.
pub struct HeadlessUser {
    agent: ureq::Agent,
    cookies: BTreeMap<String, String>,
    login: String,
}

/// Where the headless user ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider's "Sign-in Success" page.
    Success,
    /// A page saying the request was aborted or failed (its text).
    Refused(String),
}

impl HeadlessUser {
    /// A user that signs in as `login` (the id_token's `sub`).
    pub fn new(login: &str) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(10)))
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookies: BTreeMap::new(),
            login: login.to_owned(),
        }
    }

    /// Opens `verification_uri`, enters `user_code`, then approves or aborts, signs in and
    /// consents as the provider's pages ask, following redirects, until a final page.
    ///
    /// # Panics
    /// On a page the script does not recognise, or an unreachable provider.
    pub fn complete(
        &mut self,
        verification_uri: &str,
        user_code: &str,
        decision: Decision,
    ) -> Outcome {
        let mut page = self.get(verification_uri);
        let mut code_entered = false;
        for _ in 0..20 {
            let body = page.body.clone();
            if body.contains("Sign-in Success") {
                return Outcome::Success;
            }
            let next = if body.contains("op.deviceInputForm") {
                if code_entered {
                    // Back at the code prompt: the provider says why (aborted, wrong code).
                    return Outcome::Refused(text_of(&body));
                }
                code_entered = true;
                let form = [("xsrf", xsrf(&body)), ("user_code", user_code.to_owned())];
                self.post(&form_action(&body, &page.url), &form)
            } else if body.contains("op.deviceConfirmForm") {
                let mut form = vec![("xsrf", xsrf(&body)), ("user_code", user_code.to_owned())];
                match decision {
                    Decision::Approve => form.push(("confirm", "yes".into())),
                    Decision::Abort => form.push(("abort", "yes".into())),
                }
                self.post(&form_action(&body, &page.url), &form)
            } else if body.contains(r#"name="prompt" value="login""#) {
                let form = [
                    ("prompt", "login".to_owned()),
                    ("login", self.login.clone()),
                    ("password", "any".to_owned()),
                ];
                self.post(&form_action(&body, &page.url), &form)
            } else if body.contains(r#"name="prompt" value="consent""#) {
                let form = [("prompt", "consent".to_owned())];
                self.post(&form_action(&body, &page.url), &form)
            } else {
                return Outcome::Refused(text_of(&body));
            };
            page = next;
        }
        panic!("the device pages did not end after 20 steps");
    }

    fn get(&mut self, url: &str) -> Page {
        let request = self.agent.get(url).header("Cookie", self.cookie_header());
        let response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.follow(url, response)
    }

    fn post(&mut self, url: &str, form: &[(&str, String)]) -> Page {
        let request = self.agent.post(url).header("Cookie", self.cookie_header());
        let response = request
            .send_form(form.iter().map(|(k, v)| (*k, v.as_str())))
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.follow(url, response)
    }

    /// Keeps the response's cookies; follows a redirect with a GET; else the page.
    fn follow(&mut self, url: &str, mut response: ureq::http::Response<ureq::Body>) -> Page {
        for cookie in response.headers().get_all("set-cookie") {
            let Ok(cookie) = cookie.to_str() else {
                continue;
            };
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = cookie
                    .to_ascii_lowercase()
                    .contains("expires=thu, 01 jan 1970");
                if value.is_empty() || expired {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_else(|| panic!("{status} from {url} without a location"))
                .to_owned();
            return self.get(&absolute(url, &location));
        }
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Page {
            url: url.to_owned(),
            body,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A page the provider served.
struct Page {
    url: String,
    body: String,
}

/// The `xsrf` hidden field of a device form.
fn xsrf(body: &str) -> String {
    attribute_after(body, r#"name="xsrf" value=""#).expect("device form has an xsrf field")
}

/// The `action` of the page's (first) form, absolute.
fn form_action(body: &str, page_url: &str) -> String {
    let action = attribute_after(body, r#"method="post" action=""#)
        .or_else(|| attribute_after(body, r#"action=""#))
        .expect("page has a form with an action");
    absolute(page_url, &action)
}

fn attribute_after(body: &str, marker: &str) -> Option<String> {
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

/// `location` resolved against `base` (`http://host:port/...`).
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let origin_end = base
        .find("://")
        .and_then(|scheme| base[scheme + 3..].find('/').map(|slash| scheme + 3 + slash))
        .unwrap_or(base.len());
    format!("{}{location}", &base[..origin_end])
}

/// The visible text of an error page, roughly (tags dropped, whitespace squeezed).
fn text_of(body: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A device authorization asked of the provider directly (not through the CLI), for tests that
/// drive the token endpoint themselves.
///
/// # Panics
/// When the provider does not answer 200 with JSON.
pub fn device_authorization(provider: &OidcProvider) -> Value {
    let agent = plain_agent();
    let url = format!("{}/device/auth", provider.issuer());
    let mut response = agent
        .post(&url)
        .send_form([("client_id", provider.client_id()), ("scope", SCOPES)])
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 200, "device authorization: {text}");
    serde_json::from_str(&text).expect("device authorization answer is JSON")
}

/// One poll of the token endpoint with `device_code`: the status and the JSON answer.
///
/// # Panics
/// When the provider cannot be reached.
pub fn poll_token(provider: &OidcProvider, device_code: &str) -> (u16, Value) {
    let agent = plain_agent();
    let url = format!("{}/token", provider.issuer());
    let mut response = agent
        .post(&url)
        .send_form([
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
            ("client_id", provider.client_id()),
        ])
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn plain_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// A fresh id_token for `login`: a device authorization approved by a headless user, then the
/// token endpoint polled until it answers.
///
/// # Panics
/// When the approval or the tokens do not come.
pub fn id_token_for(provider: &OidcProvider, login: &str) -> String {
    let device = device_authorization(provider);
    let outcome = HeadlessUser::new(login).complete(
        device["verification_uri"]
            .as_str()
            .expect("verification_uri"),
        device["user_code"].as_str().expect("user_code"),
        Decision::Approve,
    );
    assert_eq!(outcome, Outcome::Success);
    let code = device["device_code"].as_str().expect("device_code");
    let tokens = crate::wait_until(Duration::from_secs(10), || {
        let (status, answer) = poll_token(provider, code);
        (status == 200).then_some(answer)
    })
    .expect("tokens after approval");
    tokens["id_token"].as_str().expect("id_token").to_owned()
}
