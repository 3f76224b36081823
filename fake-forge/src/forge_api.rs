//! Fake forge API servers for testing repository creation: each follows the published REST API
//! of one forge for the endpoints hyperforge uses, and refuses what that API refuses.
//!
//! No GitHub, Gitea/Forgejo or GitLab server can be installed from the package registries this
//! project builds from (crates.io, PyPI, npm, Debian), so these fakes stand in for them. They
//! follow:
//! - GitHub REST (docs.github.com/en/rest/repos/repos, /rest/users/users): `GET /user`,
//!   `POST /user/repos`, `POST /orgs/{org}/repos`; `Authorization: Bearer|token TOKEN`
//!   (401 `Requires authentication` / `Bad credentials`), a `User-Agent` required (403), body
//!   parsed as JSON whatever its content type (400 `Problems parsing JSON`), 422 for a missing
//!   or ill-typed field and for an existing name (`name already exists on this account`),
//!   404 `Not Found` for an unknown organization, path or method.
//! - Gitea/Forgejo API v1 (the swagger at codeberg.org/api/swagger), under `/api/v1`: the same
//!   three endpoints; `Authorization: token|Bearer TOKEN` (401 `{"message","url"}`), a JSON
//!   content type required (else the form binding finds no name: 422), malformed JSON 422,
//!   409 `The repository with the same name already exists.`, 404 for an unknown organization,
//!   405 for a wrong method, `404 page not found` for an unknown path.
//! - GitLab API v4 (docs.gitlab.com/api/namespaces, /api/projects), under `/api/v4`:
//!   `GET /namespaces/{id or URL-encoded path}`, `POST /projects`, `GET /user`;
//!   `PRIVATE-TOKEN: TOKEN` or `Authorization: Bearer TOKEN` (401 `{"message":"401
//!   Unauthorized"}`), 404 `404 Namespace Not Found`, 400 `{"message":{"name":["has already been
//!   taken"],...}}` for an existing project, 400 `{"error":...}` for missing or invalid
//!   parameters, 415 for a body that is not JSON (form bodies are not modelled), 405 for a wrong
//!   method.
//!
//! Each server runs on `127.0.0.1:0` in its own thread, keeps repositories in memory, records
//! every request (method, path, headers, JSON body), and stops when dropped.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

/// Largest request body the fakes read.
const MAX_REQUEST_BODY: u64 = 1024 * 1024;

/// Which forge API a [`FakeForge`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeKind {
    /// GitHub REST API (root at the server's origin, as `https://api.github.com`).
    Github,
    /// Gitea/Forgejo API under `/api/v1`.
    Gitea,
    /// GitLab API v4 under `/api/v4`.
    Gitlab,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Headers by lowercase name.
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON, if it was JSON.
    pub body: Option<Value>,
}

impl RecordedRequest {
    /// A header by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

struct Override {
    method: String,
    path: String,
    status: u16,
    body: String,
}

struct Repo {
    owner: String,
    name: String,
}

struct State {
    kind: FakeKind,
    origin: String,
    token: String,
    user: String,
    orgs: Vec<String>,
    repos: Vec<Repo>,
    requests: Vec<RecordedRequest>,
    overrides: Vec<Override>,
    next_id: u64,
}

/// A fake forge API on loopback; see the module docs.
pub struct FakeForge {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    state: Arc<Mutex<State>>,
}

impl FakeForge {
    /// Starts a fake `kind` forge that accepts `token` as the token of user `user_login`.
    pub fn start(kind: FakeKind, token: &str, user_login: &str) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let addr = server
            .server_addr()
            .to_ip()
            .expect("a TCP listener has an address");
        let state = Arc::new(Mutex::new(State {
            kind,
            origin: format!("http://{addr}"),
            token: token.to_owned(),
            user: user_login.to_owned(),
            orgs: Vec::new(),
            repos: Vec::new(),
            requests: Vec::new(),
            overrides: Vec::new(),
            next_id: 1000,
        }));
        let thread = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    handle(&state, request);
                }
            })
        };
        Self {
            server,
            thread: Some(thread),
            state,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake forge state lock")
    }

    /// The API base URL to give the client (`http://127.0.0.1:PORT`, `…/api/v1`, `…/api/v4`).
    pub fn api_url(&self) -> String {
        let state = self.state();
        match state.kind {
            FakeKind::Github => state.origin.clone(),
            FakeKind::Gitea => format!("{}/api/v1", state.origin),
            FakeKind::Gitlab => format!("{}/api/v4", state.origin),
        }
    }

    /// The server's origin (`http://127.0.0.1:PORT`), also the base of web URLs it returns.
    pub fn origin(&self) -> String {
        self.state().origin.clone()
    }

    /// Adds an organization (GitHub, Gitea) or group (GitLab; `group/subgroup` allowed) the
    /// user may create repositories in.
    pub fn add_org(&self, name: &str) {
        self.state().orgs.push(name.to_owned());
    }

    /// Adds a repository that already exists.
    pub fn add_existing_repo(&self, owner: &str, name: &str) {
        self.state().add_repo(owner, name);
    }

    /// The repositories as `(owner, name)`.
    pub fn repos(&self) -> Vec<(String, String)> {
        self.state()
            .repos
            .iter()
            .map(|repo| (repo.owner.clone(), repo.name.clone()))
            .collect()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Answers `method path` (path without query) with `status` and `body` from now on, instead
    /// of following the API: for testing clients against broken servers.
    pub fn override_response(&self, method: &str, path: &str, status: u16, body: &str) {
        self.state().overrides.push(Override {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            body: body.to_owned(),
        });
    }
}

impl Drop for FakeForge {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl State {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn find_org(&self, name: &str) -> Option<String> {
        self.orgs
            .iter()
            .find(|org| org.eq_ignore_ascii_case(name))
            .cloned()
    }

    fn find_repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos.iter().find(|repo| {
            repo.owner.eq_ignore_ascii_case(owner) && repo.name.eq_ignore_ascii_case(name)
        })
    }

    fn add_repo(&mut self, owner: &str, name: &str) -> u64 {
        self.repos.push(Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
        });
        self.next_id()
    }
}

/// An answer: status, body, content type.
struct Answer {
    status: u16,
    body: String,
    content_type: &'static str,
}

fn json_answer(status: u16, body: &Value) -> Answer {
    Answer {
        status,
        body: body.to_string(),
        content_type: "application/json; charset=utf-8",
    }
}

fn text_answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        body: body.to_owned(),
        content_type: "text/plain; charset=utf-8",
    }
}

/// The parts of a request the routers look at.
struct Incoming {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Path segments after `prefix`, percent-decoded; `None` when the path is not under it.
    fn segments(&self, prefix: &str) -> Option<Vec<String>> {
        let rest = self.path.strip_prefix(prefix)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        Some(
            rest.split('/')
                .filter(|segment| !segment.is_empty())
                .map(|segment| percent_decode_str(segment).decode_utf8_lossy().into_owned())
                .collect(),
        )
    }

    fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
        })
    }
}

fn handle(state: &Mutex<State>, mut request: tiny_http::Request) {
    let mut body = Vec::new();
    let _ = request
        .as_reader()
        .take(MAX_REQUEST_BODY)
        .read_to_end(&mut body);
    let mut headers = BTreeMap::<String, String>::new();
    for header in request.headers() {
        let name = header.field.as_str().as_str().to_ascii_lowercase();
        let value = header.value.as_str().to_owned();
        headers
            .entry(name)
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    let incoming = Incoming {
        method: request.method().as_str().to_ascii_uppercase(),
        path: request
            .url()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned(),
        headers,
        body,
    };
    let answer = {
        let mut state = state.lock().expect("fake forge state lock");
        state.requests.push(RecordedRequest {
            method: incoming.method.clone(),
            path: incoming.path.clone(),
            headers: incoming.headers.clone(),
            body: serde_json::from_slice(&incoming.body).ok(),
        });
        let overridden = state
            .overrides
            .iter()
            .rev()
            .find(|o| o.method == incoming.method && o.path == incoming.path)
            .map(|o| Answer {
                status: o.status,
                body: o.body.clone(),
                content_type: "application/json; charset=utf-8",
            });
        match overridden {
            Some(answer) => answer,
            None => match state.kind {
                FakeKind::Github => github(&mut state, &incoming),
                FakeKind::Gitea => gitea(&mut state, &incoming),
                FakeKind::Gitlab => gitlab(&mut state, &incoming),
            },
        }
    };
    let content_type = tiny_http::Header::from_bytes("Content-Type", answer.content_type)
        .expect("static header is valid");
    let response = tiny_http::Response::from_string(answer.body)
        .with_status_code(answer.status)
        .with_header(content_type);
    let _ = request.respond(response);
}

/// The credential of `Authorization: SCHEME CREDENTIAL` when SCHEME is one of `schemes`
/// (case-insensitive); `Some(None)` when the header is there in another form.
fn authorization<'a>(incoming: &'a Incoming, schemes: &[&str]) -> Option<Option<&'a str>> {
    let value = incoming.header("authorization")?;
    let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
    Some(
        schemes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
            .then_some(credential.trim()),
    )
}

// ---------------------------------------------------------------------------------------------
// GitHub

fn github_error(status: u16, message: &str) -> Answer {
    json_answer(
        status,
        &json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        }),
    )
}

fn github(state: &mut State, incoming: &Incoming) -> Answer {
    if incoming.header("user-agent").is_none_or(str::is_empty) {
        return text_answer(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a \
             User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).",
        );
    }
    let segments = incoming.segments("").unwrap_or_default();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = incoming.method.as_str();
    let owner = match (method, segments.as_slice()) {
        ("GET", ["user"]) => None,
        ("POST", ["user", "repos"]) => Some(state.user.clone()),
        ("POST", ["orgs", org, "repos"]) => Some((*org).to_owned()),
        _ => return github_error(404, "Not Found"),
    };
    match authorization(incoming, &["Bearer", "token"]) {
        None => return github_error(401, "Requires authentication"),
        Some(Some(credential)) if credential == state.token => {}
        Some(_) => return github_error(401, "Bad credentials"),
    }
    let Some(owner) = owner else {
        return json_answer(
            200,
            &json!({ "login": state.user, "id": 1, "type": "User" }),
        );
    };
    let owner = if segments[0] == "orgs" {
        match state.find_org(&owner) {
            Some(org) => org,
            None => return github_error(404, "Not Found"),
        }
    } else {
        owner
    };
    let Ok(body) = serde_json::from_slice::<Value>(&incoming.body) else {
        return github_error(400, "Problems parsing JSON");
    };
    let Some(name) = body.get("name").and_then(Value::as_str) else {
        return github_error(422, "Invalid request.\n\n\"name\" wasn't supplied.");
    };
    let private = match body.get("private") {
        None => false,
        Some(Value::Bool(private)) => *private,
        Some(other) => {
            return github_error(
                422,
                &format!("Invalid request.\n\nFor 'properties/private', {other} is not a boolean."),
            )
        }
    };
    if !matches!(
        body.get("description"),
        None | Some(Value::String(_) | Value::Null)
    ) {
        return github_error(
            422,
            "Invalid request.\n\nFor 'properties/description', it is not a string.",
        );
    }
    if state.find_repo(&owner, name).is_some() {
        return json_answer(
            422,
            &json!({
                "message": "Repository creation failed.",
                "errors": [{
                    "resource": "Repository",
                    "code": "custom",
                    "field": "name",
                    "message": "name already exists on this account",
                }],
                "documentation_url": "https://docs.github.com/rest/repos/repos#create-a-repository-for-the-authenticated-user",
                "status": "422",
            }),
        );
    }
    let id = state.add_repo(&owner, name);
    let html_url = format!("{}/{owner}/{name}", state.origin);
    json_answer(
        201,
        &json!({
            "id": id,
            "name": name,
            "full_name": format!("{owner}/{name}"),
            "private": private,
            "description": body.get("description").cloned().unwrap_or(Value::Null),
            "owner": { "login": owner },
            "html_url": html_url,
            "clone_url": format!("{html_url}.git"),
            "ssh_url": format!("git@127.0.0.1:{owner}/{name}.git"),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Gitea / Forgejo

fn gitea_error(state: &State, status: u16, message: &str) -> Answer {
    json_answer(
        status,
        &json!({ "message": message, "url": format!("{}/api/swagger", state.origin) }),
    )
}

fn gitea(state: &mut State, incoming: &Incoming) -> Answer {
    let Some(segments) = incoming.segments("/api/v1") else {
        return text_answer(404, "404 page not found\n");
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = incoming.method.as_str();
    let (expected, owner) = match segments.as_slice() {
        ["user"] => ("GET", None),
        ["user", "repos"] => ("POST", Some(state.user.clone())),
        ["orgs", org, "repos"] => ("POST", Some((*org).to_owned())),
        _ => return text_answer(404, "404 page not found\n"),
    };
    if method != expected {
        return text_answer(405, "Method Not Allowed\n");
    }
    match authorization(incoming, &["token", "Bearer"]) {
        None => return gitea_error(state, 401, "token is required"),
        Some(Some(credential)) if credential == state.token => {}
        Some(_) => return gitea_error(state, 401, "invalid username, password or token"),
    }
    let Some(owner) = owner else {
        return json_answer(
            200,
            &json!({ "id": 1, "login": state.user, "username": state.user }),
        );
    };
    let owner = if segments[0] == "orgs" {
        match state.find_org(&owner) {
            Some(org) => org,
            None => {
                return json_answer(
                    404,
                    &json!({
                        "errors": [format!("user redirect does not exist [name: {}]", owner.to_lowercase())],
                        "message": "The target couldn't be found.",
                        "url": format!("{}/api/swagger", state.origin),
                    }),
                )
            }
        }
    } else {
        owner
    };
    if !incoming.is_json() {
        // The form binding finds no fields at all.
        return gitea_error(state, 422, "[Name]: Required");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&incoming.body) else {
        return gitea_error(state, 422, "[]: invalid JSON");
    };
    let name = match body.get("name") {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => return gitea_error(state, 422, "[Name]: Required"),
    };
    let name_ok = name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return gitea_error(state, 422, "[Name]: AlphaDashDot");
    }
    let private = match body.get("private") {
        None => false,
        Some(Value::Bool(private)) => *private,
        Some(_) => return gitea_error(state, 422, "[]: private must be a boolean"),
    };
    if state.find_repo(&owner, &name).is_some() {
        return gitea_error(
            state,
            409,
            "The repository with the same name already exists.",
        );
    }
    let id = state.add_repo(&owner, &name);
    let html_url = format!("{}/{owner}/{name}", state.origin);
    json_answer(
        201,
        &json!({
            "id": id,
            "name": name,
            "full_name": format!("{owner}/{name}"),
            "private": private,
            "description": body.get("description").cloned().unwrap_or(json!("")),
            "owner": { "login": owner },
            "html_url": html_url,
            "clone_url": format!("{html_url}.git"),
            "ssh_url": format!("git@127.0.0.1:{owner}/{name}.git"),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// GitLab

/// The user's namespace id; groups get `100 + index`.
const USER_NAMESPACE_ID: u64 = 1;

fn gitlab_namespace(state: &State, key: &str) -> Option<(u64, String, &'static str)> {
    let by_id = key.parse::<u64>().ok();
    if by_id == Some(USER_NAMESPACE_ID) || state.user.eq_ignore_ascii_case(key) {
        return Some((USER_NAMESPACE_ID, state.user.clone(), "user"));
    }
    state.orgs.iter().enumerate().find_map(|(index, group)| {
        let id = 100 + index as u64;
        (by_id == Some(id) || group.eq_ignore_ascii_case(key)).then(|| (id, group.clone(), "group"))
    })
}

fn gitlab(state: &mut State, incoming: &Incoming) -> Answer {
    let not_found = || json_answer(404, &json!({ "error": "404 Not Found" }));
    let Some(segments) = incoming.segments("/api/v4") else {
        return not_found();
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = incoming.method.as_str();
    let expected = match segments.as_slice() {
        ["user"] | ["namespaces", _] => "GET",
        ["projects"] => "POST",
        _ => return not_found(),
    };
    if method != expected {
        return json_answer(405, &json!({ "error": "405 Not Allowed" }));
    }
    let authorized = match incoming.header("private-token") {
        Some(token) => token == state.token,
        None => matches!(
            authorization(incoming, &["Bearer"]),
            Some(Some(credential)) if credential == state.token
        ),
    };
    if !authorized {
        return json_answer(401, &json!({ "message": "401 Unauthorized" }));
    }
    let namespace_not_found = || json_answer(404, &json!({ "message": "404 Namespace Not Found" }));
    match segments.as_slice() {
        ["user"] => json_answer(200, &json!({ "id": 1, "username": state.user })),
        ["namespaces", key] => match gitlab_namespace(state, key) {
            Some((id, full_path, kind)) => json_answer(
                200,
                &json!({
                    "id": id,
                    "name": full_path.rsplit('/').next().unwrap_or_default(),
                    "path": full_path.rsplit('/').next().unwrap_or_default(),
                    "kind": kind,
                    "full_path": full_path,
                    "web_url": format!("{}/{full_path}", state.origin),
                }),
            ),
            None => namespace_not_found(),
        },
        _ => {
            if !incoming.is_json() {
                let content_type = incoming.header("content-type").unwrap_or_default();
                return json_answer(
                    415,
                    &json!({
                        "error": format!("The provided content-type '{content_type}' is not supported.")
                    }),
                );
            }
            let Ok(body) = serde_json::from_slice::<Value>(&incoming.body) else {
                return json_answer(400, &json!({ "error": "400 Bad request - invalid JSON" }));
            };
            gitlab_create(state, &body)
        }
    }
}

fn gitlab_create(state: &mut State, body: &Value) -> Answer {
    let bad = |message: &str| json_answer(400, &json!({ "error": message }));
    let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
    let (name, path) = match (text("name"), text("path")) {
        (None, None) => {
            return bad("name, path are missing, at least one parameter must be provided")
        }
        (Some(name), None) => (name.clone(), name.to_lowercase().replace(' ', "-")),
        (None, Some(path)) => (path.clone(), path),
        (Some(name), Some(path)) => (name, path),
    };
    let visibility = match body.get("visibility") {
        None => "private".to_owned(),
        Some(Value::String(v)) if ["private", "internal", "public"].contains(&v.as_str()) => {
            v.clone()
        }
        Some(_) => return bad("visibility does not have a valid value"),
    };
    let namespace = match body.get("namespace_id") {
        None => Some((USER_NAMESPACE_ID, state.user.clone(), "user")),
        Some(Value::Number(id)) => id
            .as_u64()
            .and_then(|id| gitlab_namespace(state, &id.to_string())),
        Some(Value::String(id)) if id.parse::<u64>().is_ok() => gitlab_namespace(state, id),
        Some(_) => return bad("namespace_id is invalid"),
    };
    let Some((namespace_id, full_path, kind)) = namespace else {
        return json_answer(404, &json!({ "message": "404 Namespace Not Found" }));
    };
    if state.find_repo(&full_path, &path).is_some() || state.find_repo(&full_path, &name).is_some()
    {
        return json_answer(
            400,
            &json!({ "message": {
                "project_namespace.name": ["has already been taken"],
                "name": ["has already been taken"],
                "path": ["has already been taken"],
            }}),
        );
    }
    let id = state.add_repo(&full_path, &path);
    let web_url = format!("{}/{full_path}/{path}", state.origin);
    json_answer(
        201,
        &json!({
            "id": id,
            "name": name,
            "path": path,
            "path_with_namespace": format!("{full_path}/{path}"),
            "description": body.get("description").cloned().unwrap_or(Value::Null),
            "visibility": visibility,
            "namespace": { "id": namespace_id, "full_path": full_path, "kind": kind },
            "web_url": web_url,
            "http_url_to_repo": format!("{web_url}.git"),
            "ssh_url_to_repo": format!("git@127.0.0.1:{full_path}/{path}.git"),
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpStream;

    use super::*;

    const TOKEN: &str = "fake-token";

    /// Sends one raw HTTP/1.1 request; returns the status and the body.
    fn raw(
        forge: &FakeForge,
        method: &str,
        path: &str,
        headers: &[&str],
        body: &str,
    ) -> (u16, String) {
        let address = forge.origin().trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(&address).expect("connect");
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
        for header in headers {
            request.push_str(header);
            request.push_str("\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("status line");
        let body = response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (status, body)
    }

    #[test]
    fn github_refuses_what_github_refuses() {
        let forge = FakeForge::start(FakeKind::Github, TOKEN, "alice");
        let ua = "User-Agent: t";
        let bearer = format!("Authorization: Bearer {TOKEN}");
        assert_eq!(raw(&forge, "GET", "/user", &[&bearer], "").0, 403);
        let (status, body) = raw(&forge, "GET", "/user", &[ua], "");
        assert_eq!(status, 401);
        assert!(body.contains("Requires authentication"));
        let private = format!("PRIVATE-TOKEN: {TOKEN}");
        assert_eq!(raw(&forge, "GET", "/user", &[ua, &private], "").0, 401);
        assert_eq!(
            raw(
                &forge,
                "GET",
                "/user",
                &[ua, "Authorization: Bearer nope"],
                ""
            )
            .0,
            401
        );
        assert_eq!(raw(&forge, "GET", "/user", &[ua, &bearer], "").0, 200);
        assert_eq!(raw(&forge, "DELETE", "/user", &[ua, &bearer], "").0, 404);
        assert_eq!(raw(&forge, "GET", "/nope", &[ua, &bearer], "").0, 404);
        let create = |body: &str| raw(&forge, "POST", "/user/repos", &[ua, &bearer], body);
        let (status, body) = create("{not json");
        assert_eq!(status, 400);
        assert!(body.contains("Problems parsing JSON"));
        assert_eq!(create(r#"{"private":true}"#).0, 422);
        assert_eq!(create(r#"{"name":"r","private":"yes"}"#).0, 422);
        assert_eq!(create(r#"{"name":"r"}"#).0, 201);
        let (status, body) = create(r#"{"name":"R"}"#);
        assert_eq!(status, 422);
        assert!(body.contains("name already exists on this account"));
    }

    #[test]
    fn gitea_refuses_what_gitea_refuses() {
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
        let auth = format!("Authorization: token {TOKEN}");
        let json = "Content-Type: application/json";
        assert_eq!(raw(&forge, "GET", "/api/v1/user", &[], "").0, 401);
        let private = format!("PRIVATE-TOKEN: {TOKEN}");
        assert_eq!(raw(&forge, "GET", "/api/v1/user", &[&private], "").0, 401);
        assert_eq!(raw(&forge, "GET", "/api/v1/user", &[&auth], "").0, 200);
        assert_eq!(raw(&forge, "GET", "/user", &[&auth], "").0, 404);
        assert_eq!(
            raw(&forge, "PUT", "/api/v1/user/repos", &[&auth], "").0,
            405
        );
        let body = r#"{"name":"r"}"#;
        assert_eq!(
            raw(
                &forge,
                "POST",
                "/api/v1/user/repos",
                &[&auth, "Content-Type: text/plain"],
                body
            )
            .0,
            422
        );
        let create = |body: &str| raw(&forge, "POST", "/api/v1/user/repos", &[&auth, json], body);
        assert_eq!(create("{bad").0, 422);
        assert_eq!(create(body).0, 201);
        let (status, reply) = create(body);
        assert_eq!(status, 409);
        assert!(reply.contains("The repository with the same name already exists."));
        assert_eq!(
            raw(
                &forge,
                "POST",
                "/api/v1/orgs/acme/repos",
                &[&auth, json],
                body
            )
            .0,
            404
        );
    }

    #[test]
    fn gitlab_refuses_what_gitlab_refuses() {
        let forge = FakeForge::start(FakeKind::Gitlab, TOKEN, "alice");
        forge.add_org("acme");
        let auth = format!("PRIVATE-TOKEN: {TOKEN}");
        let json = "Content-Type: application/json";
        let (status, body) = raw(&forge, "GET", "/api/v4/namespaces/acme", &[], "");
        assert_eq!(
            (status, body.as_str()),
            (401, r#"{"message":"401 Unauthorized"}"#)
        );
        let token_form = format!("Authorization: token {TOKEN}");
        assert_eq!(
            raw(&forge, "GET", "/api/v4/namespaces/acme", &[&token_form], "").0,
            401
        );
        assert_eq!(
            raw(&forge, "GET", "/api/v4/namespaces/acme", &[&auth], "").0,
            200
        );
        let (status, body) = raw(&forge, "GET", "/api/v4/namespaces/nope", &[&auth], "");
        assert_eq!(
            (status, body.as_str()),
            (404, r#"{"message":"404 Namespace Not Found"}"#)
        );
        assert_eq!(
            raw(&forge, "DELETE", "/api/v4/projects", &[&auth], "").0,
            405
        );
        assert_eq!(raw(&forge, "GET", "/api/v4/nope", &[&auth], "").0, 404);
        let body = r#"{"name":"lib","namespace_id":100}"#;
        assert_eq!(
            raw(
                &forge,
                "POST",
                "/api/v4/projects",
                &[&auth, "Content-Type: text/plain"],
                body
            )
            .0,
            415
        );
        let create = |body: &str| raw(&forge, "POST", "/api/v4/projects", &[&auth, json], body);
        assert_eq!(create("{bad").0, 400);
        assert_eq!(create("{}").0, 400);
        assert_eq!(create(r#"{"name":"x","visibility":"secret"}"#).0, 400);
        assert_eq!(create(r#"{"name":"x","namespace_id":999}"#).0, 404);
        assert_eq!(create(body).0, 201);
        let (status, reply) = create(body);
        assert_eq!(status, 400);
        assert!(reply.contains(r#""name":["has already been taken"]"#));
        assert_eq!(forge.requests().len(), 13);
    }
}
