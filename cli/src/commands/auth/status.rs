//! `hyperforge auth status`: the hub's state, and whether this machine's key works. Runs with or
//! without a key: a missing or refused key falls back to a session without one. Ends with the
//! "declared scopes:" block: the scopes registered repositories declare, each with its state.
//!
//! A report, so it never starts a hub: with none running it says so and exits 5. Everything is
//! printed first; then a refused key exits 3 and an unreadable key or an invalid policy file
//! (a config error) exits 2, and lost or rolled-back secrets or a cut audit log exit 1, so a
//! script's `hyperforge auth status` fails when something is wrong.

use std::time::Duration;

use auth_hub_client::{discover, AuthError};
use auth_hub_protocol::request::Status;
use auth_hub_protocol::response::{BackendStatus, StatusReply};
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::Value;

use super::{connect_welcomed, options, unexpected, Autostart, ConnectError};
use crate::commands::Context;
use crate::error::{CliError, ErrorKind};
use crate::output;

/// Arguments of `auth status`.
#[derive(Debug, Args)]
pub struct StatusArgs {}

/// What this machine's key turned out to be.
#[derive(Debug, Default)]
struct KeyState {
    /// A key was found (`AUTH_HUB_TOKEN` or saved).
    saved: bool,
    /// It came from `AUTH_HUB_TOKEN`.
    from_env: bool,
    /// The hub accepted it.
    valid: bool,
    /// It exists but could not be read.
    error: Option<String>,
    /// The hub refused it: why (malformed, unknown, revoked or expired).
    refused: Option<String>,
}

/// Runs `auth status`.
///
/// # Errors
/// Hub not running (exit 5, none is started), the hub's error; after printing the status, a
/// refused key (3), an unreadable key or an invalid policy file (2), a store or audit problem (1).
pub async fn run(ctx: &Context, _args: StatusArgs) -> Result<(), CliError> {
    let reason = "hyperforge auth status".to_owned();
    let mut key = KeyState {
        from_env: std::env::var_os("AUTH_HUB_TOKEN").is_some_and(|v| !v.is_empty()),
        ..KeyState::default()
    };
    let token = match discover::master_token() {
        Ok(token) => token,
        Err(error) => {
            key.error = Some(error.to_string());
            None
        }
    };
    key.saved = token.is_some() || key.error.is_some();
    let client = match token {
        Some(token) => {
            match connect_welcomed(options(Some(token), reason.clone())?, Autostart::Never).await {
                Ok(client) => {
                    key.valid = true;
                    client
                }
                Err(ConnectError::Auth(AuthError::InvalidMasterToken { reason: why })) => {
                    key.refused = Some(why);
                    connect_welcomed(options(None, reason)?, Autostart::Never).await?
                }
                Err(ConnectError::Auth(AuthError::NoKey)) => {
                    connect_welcomed(options(None, reason)?, Autostart::Never).await?
                }
                Err(error) => return Err(error.into()),
            }
        }
        None => connect_welcomed(options(None, reason)?, Autostart::Never).await?,
    };
    let status = match client.call(Request::Status(Status {})).await? {
        Response::Status(status) => status,
        other => return Err(unexpected("status", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&status_json(&status, &key))?;
    } else {
        ctx.out.line(&status_text(&status, &key))?;
    }
    match verdict(&status, &key) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// What the exit code says after the status is printed: a refused key (3), an unreadable key or
/// an invalid policy file (2), a store or audit log problem (1), else success.
fn verdict(status: &StatusReply, key: &KeyState) -> Option<CliError> {
    let source = if key.from_env {
        "the key in AUTH_HUB_TOKEN"
    } else {
        "the saved key"
    };
    if let Some(why) = &key.refused {
        let why = if why.is_empty() {
            "malformed, unknown, revoked or expired"
        } else {
            why
        };
        return Some(CliError::new(
            ErrorKind::Denied,
            format!("the hub refused {source}: {why}"),
        ));
    }
    if let Some(error) = &key.error {
        return Some(CliError::usage(format!("{source} cannot be read: {error}")));
    }
    if let Some(error) = &status.policy_error {
        return Some(
            CliError::usage(format!(
                "the hub's policy file {} is invalid: {error}",
                status.policy_file
            ))
            .with_hint(
                "fix the file; the hub reloads it on save and keeps the previous policy until then",
            ),
        );
    }
    // Lost or rolled-back secrets, a cut audit log and a backend that does not serve are
    // failures a script must see.
    let unhealthy: Vec<String> = status
        .backends
        .iter()
        .filter(|backend| !(backend.reachable && backend.authenticated))
        .map(|backend| format!("backend {} {}", backend.name, health_text(backend)))
        .collect();
    let problems: Vec<&str> = [&status.store_problem, &status.audit_problem]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(unhealthy.iter().map(String::as_str))
        .collect();
    (!problems.is_empty()).then(|| {
        CliError::failure(format!("the hub reports: {}", problems.join("; ")))
            .with_hint("the hub's log and `hyperforge auth audit --verify` say more")
    })
}

/// The status reply plus `key_saved` and `key_valid` (and `key_error` when unreadable).
fn status_json(status: &StatusReply, key: &KeyState) -> Value {
    let mut value =
        serde_json::to_value(status).unwrap_or_else(|_| Value::Object(Default::default()));
    if let Value::Object(map) = &mut value {
        map.insert("key_saved".into(), Value::Bool(key.saved));
        map.insert("key_valid".into(), Value::Bool(key.valid));
        if let Some(error) = &key.error {
            map.insert("key_error".into(), Value::String(error.clone()));
        }
        if let Some(why) = &key.refused {
            map.insert("key_refused".into(), Value::String(why.clone()));
        }
        let logins = status.logins.iter().map(super::oidc_login::session_json);
        map.insert("logins".into(), Value::Array(logins.collect()));
    }
    value
}

/// The status for people.
fn status_text(status: &StatusReply, key: &KeyState) -> String {
    let mut lines = vec![
        format!(
            "auth-hub {} (protocol {}), pid {}, up {}",
            status.server_version,
            status.protocol_version,
            status.pid,
            output::short_duration(Duration::from_millis(status.uptime_ms))
        ),
        format!("socket:   {}", status.socket),
        format!("home:     {}", status.home),
        format!(
            "store:    {} (data key: {})",
            status.store, status.key_source
        ),
        format!("policy:   {}", status.policy_file),
    ];
    if let Some(error) = &status.policy_error {
        lines.push(format!(
            "policy error: {error} (the previous policy stays in force)"
        ));
    }
    if let Some(address) = &status.http_listen {
        lines.push(format!("http:     http://{address}"));
    }
    if let Some(note) = &status.http_restart {
        lines.push(format!("http:     {note}"));
    }
    lines.extend(integrity_lines(status));
    lines.extend(backend_lines(status));
    lines.push(format!(
        "keys: {}  grants: {}  pending: {}  repositories: {}",
        status.keys, status.grants, status.pending, status.registered_repos
    ));
    let source = if key.from_env {
        "AUTH_HUB_TOKEN"
    } else {
        "saved key"
    };
    let key_line = if let Some(error) = &key.error {
        format!("key:      cannot be read: {error}")
    } else if key.valid {
        let name = status.session_key.as_deref().unwrap_or("?");
        let kind = if status.session_owner {
            "owner"
        } else {
            "service key"
        };
        format!("key:      {name} ({kind}, from {source}, valid)")
    } else if let Some(why) = key.refused.as_deref().filter(|why| !why.is_empty()) {
        format!("key:      {source} is not valid here: {why}")
    } else if key.saved {
        format!("key:      {source} is not valid here (unknown, revoked or expired)")
    } else if status.has_owner {
        "key:      none on this machine (set AUTH_HUB_TOKEN to use this hub, or replace a lost owner key with `hyperforge auth login --recover`)".to_owned()
    } else {
        "key:      none yet: run `hyperforge auth login`".to_owned()
    };
    lines.push(key_line);
    lines.extend(login_lines(status));
    lines.extend(declared_lines(status));
    lines.join("\n")
}

/// The "logins:" block: one line per OIDC login the hub holds (provider, who, issuer, until
/// when, refreshable); nothing when there is none.
fn login_lines(status: &StatusReply) -> Vec<String> {
    if status.logins.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["logins:".to_owned()];
    for login in &status.logins {
        let who = match &login.name {
            Some(name) => format!("{name} ({})", login.subject),
            None => login.subject.clone(),
        };
        let state = if login.expires_at <= chrono::Utc::now() {
            "expired"
        } else {
            "until"
        };
        lines.push(format!(
            "  {}  {who}  at {}  {state} {}{}",
            login.provider,
            login.issuer,
            output::time_human(login.expires_at),
            if login.refreshable {
                "  refreshable"
            } else {
                ""
            }
        ));
    }
    lines
}

/// What the hub found missing from its store or audit log; nothing when both are whole.
fn integrity_lines(status: &StatusReply) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(problem) = &status.store_problem {
        lines.push(format!("store problem: {problem}"));
    }
    if let Some(problem) = &status.audit_problem {
        lines.push(format!(
            "audit problem: {problem} (`hyperforge auth audit --verify` fails)"
        ));
    }
    lines
}

/// The "backends:" block: each store backend with its kind, routes and health. Nothing when the
/// local store is the only one (the `store:` line shows it).
fn backend_lines(status: &StatusReply) -> Vec<String> {
    if status.backends.len() < 2 {
        return Vec::new();
    }
    let routes: Vec<String> = status
        .backends
        .iter()
        .map(|backend| {
            let mut routes = backend.routes.clone();
            if backend.default {
                routes.push("(default)".to_owned());
            }
            if routes.is_empty() {
                "-".to_owned()
            } else {
                routes.join(", ")
            }
        })
        .collect();
    let name_width = status
        .backends
        .iter()
        .map(|backend| backend.name.chars().count())
        .max()
        .unwrap_or(0);
    let route_width = routes.iter().map(|r| r.chars().count()).max().unwrap_or(0);
    let mut lines = vec!["backends:".to_owned()];
    for (backend, routes) in status.backends.iter().zip(&routes) {
        lines.push(format!(
            "  {:name_width$}  {:8}  {:route_width$}  {}",
            backend.name,
            backend.kind,
            routes,
            health_text(backend)
        ));
    }
    lines
}

/// `ok`, `ok (12 ms, v2.1.0)`, `unreachable: …`, `not authenticated: …`.
fn health_text(backend: &BackendStatus) -> String {
    let state = if !backend.reachable {
        "unreachable"
    } else if !backend.authenticated {
        "not authenticated"
    } else {
        "ok"
    };
    let details: Vec<String> = backend
        .latency_ms
        .map(|ms| format!("{ms} ms"))
        .into_iter()
        .chain(backend.version.as_ref().map(|v| format!("version {v}")))
        .collect();
    let mut text = state.to_owned();
    if !details.is_empty() {
        text.push_str(&format!(" ({})", details.join(", ")));
    }
    if let Some(problem) = &backend.problem {
        text.push_str(&format!(": {problem}"));
    }
    text
}

/// The "declared scopes:" block: one line per scope (scope, state, repositories), then the
/// repositories whose config could not be read. Nothing when no repository declares anything.
fn declared_lines(status: &StatusReply) -> Vec<String> {
    if status.declared.is_empty() && status.repo_errors.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["declared scopes:".to_owned()];
    if status.declared.is_empty() {
        lines.push("  (none)".to_owned());
    }
    let width = status
        .declared
        .iter()
        .map(|declared| declared.scope.chars().count())
        .max()
        .unwrap_or(0);
    for declared in &status.declared {
        lines.push(format!(
            "  {:width$}  {:17}  {}",
            declared.scope,
            declared.state.as_str(),
            declared.repos.join(", ")
        ));
    }
    for problem in &status.repo_errors {
        lines.push(format!("  {}: {}", problem.repo, problem.error));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_hub_protocol::response::{DeclaredRepoError, DeclaredScope, DeclaredState};

    fn reply() -> StatusReply {
        StatusReply {
            server_version: "0.1.0".into(),
            protocol_version: 1,
            pid: 42,
            uptime_ms: 3_723_000,
            socket: "/run/user/1000/auth-hub/auth-hub.sock".into(),
            home: "/home/a/.local/state/auth-hub".into(),
            store: "file".into(),
            key_source: "keychain".into(),
            policy_file: "/home/a/.config/auth-hub/config.toml".into(),
            policy_error: Some("line 3: unknown action".into()),
            keys: 2,
            grants: 1,
            pending: 0,
            registered_repos: 3,
            has_owner: true,
            session_key: Some("owner".into()),
            session_owner: true,
            declared: vec![DeclaredScope {
                scope: "github/alice/*".into(),
                repos: vec!["/src/a".into(), "/src/b".into()],
                state: DeclaredState::NotGranted,
            }],
            repo_errors: vec![DeclaredRepoError {
                repo: "/src/c".into(),
                error: "config missing".into(),
            }],
            store_problem: None,
            audit_problem: None,
            backends: Vec::new(),
            logins: Vec::new(),
            http_listen: None,
            http_restart: None,
        }
    }

    fn backend(name: &str, kind: &str, routes: &[&str], default: bool) -> BackendStatus {
        BackendStatus {
            name: name.into(),
            kind: kind.into(),
            routes: routes.iter().map(|r| (*r).to_owned()).collect(),
            default,
            reachable: true,
            authenticated: true,
            latency_ms: None,
            version: None,
            problem: None,
        }
    }

    #[test]
    fn backends_are_listed_with_routes_and_health() {
        let alone = status_text(
            &StatusReply {
                backends: vec![backend("file", "file", &[], true)],
                policy_error: None,
                ..reply()
            },
            &KeyState::default(),
        );
        assert!(!alone.contains("backends:"), "{alone}");
        let status = StatusReply {
            backends: vec![
                backend("file", "file", &[], true),
                BackendStatus {
                    reachable: false,
                    authenticated: false,
                    latency_ms: Some(5001),
                    problem: Some("connection refused".into()),
                    ..backend("team", "openbao", &["team/*", "shared/*"], false)
                },
                BackendStatus {
                    latency_ms: Some(3),
                    version: Some("2.1.0".into()),
                    ..backend("kv", "openbao", &["x/*"], false)
                },
            ],
            policy_error: None,
            ..reply()
        };
        let text = status_text(&status, &KeyState::default());
        assert!(
            text.contains(
                "\nbackends:\n  file  file      (default)         ok\n  team  openbao   \
                 team/*, shared/*  unreachable (5001 ms): connection refused\n  kv    openbao   \
                 x/*               ok (3 ms, version 2.1.0)\n"
            ),
            "{text}"
        );
        let json = status_json(&status, &KeyState::default());
        assert_eq!(json["backends"][1]["routes"][0], "team/*");
        assert_eq!(json["backends"][1]["reachable"], false);
        let error = verdict(&status, &KeyState::default()).expect("an unreachable backend fails");
        assert!(
            error.to_string().contains("backend team unreachable"),
            "{error}"
        );
    }

    #[test]
    fn text_and_json_show_declared_scopes() {
        let text = status_text(&reply(), &KeyState::default());
        assert!(
            text.contains("\ndeclared scopes:\n  github/alice/*  not_granted        /src/a, /src/b\n  /src/c: config missing"),
            "{text}"
        );
        let json = status_json(&reply(), &KeyState::default());
        assert_eq!(json["declared"][0]["state"], "not_granted");
        assert_eq!(json["repo_errors"][0]["error"], "config missing");
        let none = status_text(
            &StatusReply {
                declared: Vec::new(),
                repo_errors: Vec::new(),
                ..reply()
            },
            &KeyState::default(),
        );
        assert!(!none.contains("declared"), "{none}");
    }

    #[test]
    fn text_and_json_show_logins() {
        use auth_hub_protocol::identity::OidcSession;
        use auth_hub_protocol::provider::ProviderId;
        use chrono::TimeZone;
        let login = |name: Option<&str>, refreshable| OidcSession {
            provider: ProviderId::parse("osf/cli/oidc").unwrap(),
            subject: "alice".into(),
            issuer: "https://id.example.org".into(),
            name: name.map(str::to_owned),
            expires_at: chrono::Utc.timestamp_opt(1_000_000_000, 0).unwrap(),
            refreshable,
        };
        let status = StatusReply {
            logins: vec![login(Some("Alice"), true), login(None, false)],
            ..reply()
        };
        let text = status_text(&status, &KeyState::default());
        assert!(
            text.contains(
                "\nlogins:\n  osf/cli/oidc  Alice (alice)  at https://id.example.org  expired "
            ),
            "{text}"
        );
        assert!(
            text.contains("refreshable\n  osf/cli/oidc  alice  at"),
            "{text}"
        );
        let json = status_json(&status, &KeyState::default());
        assert_eq!(json["logins"][0]["provider"], "osf/cli/oidc");
        assert_eq!(json["logins"][0]["name"], "Alice");
        assert_eq!(json["logins"][0]["refreshable"], true);
        assert_eq!(json["logins"][1]["refreshable"], false);
        let none = status_text(&reply(), &KeyState::default());
        assert!(!none.contains("logins:"), "{none}");
    }

    #[test]
    fn json_adds_key_fields_to_the_reply() {
        let key = KeyState {
            saved: true,
            valid: true,
            ..KeyState::default()
        };
        let json = status_json(&reply(), &key);
        assert_eq!(json["has_owner"], true);
        assert_eq!(json["key_saved"], true);
        assert_eq!(json["key_valid"], true);
        assert_eq!(json["server_version"], "0.1.0");
        assert!(json.get("key_error").is_none());
    }

    #[test]
    fn a_refused_key_exits_3_and_a_broken_policy_2() {
        let ok = StatusReply {
            policy_error: None,
            ..reply()
        };
        assert!(verdict(&ok, &KeyState::default()).is_none());
        let broken = verdict(&reply(), &KeyState::default()).expect("policy error");
        assert_eq!(broken.kind().exit_code(), 2);
        assert!(
            broken.message().contains("line 3: unknown action"),
            "{}",
            broken.message()
        );
        let refused = KeyState {
            saved: true,
            from_env: true,
            refused: Some("key \"ci\" was revoked".into()),
            ..KeyState::default()
        };
        let error = verdict(&reply(), &refused).expect("refused key");
        assert_eq!(error.kind().exit_code(), 3);
        assert_eq!(
            error.message(),
            "the hub refused the key in AUTH_HUB_TOKEN: key \"ci\" was revoked"
        );
        assert!(status_text(&ok, &refused)
            .contains("key:      AUTH_HUB_TOKEN is not valid here: key \"ci\" was revoked"));
        assert_eq!(
            status_json(&ok, &refused)["key_refused"],
            "key \"ci\" was revoked"
        );
    }

    #[test]
    fn text_shows_policy_error_and_key() {
        let key = KeyState {
            saved: true,
            valid: true,
            ..KeyState::default()
        };
        let text = status_text(&reply(), &key);
        assert!(
            text.starts_with("auth-hub 0.1.0 (protocol 1), pid 42, up 1h 2m\n"),
            "{text}"
        );
        assert!(
            text.contains("policy error: line 3: unknown action"),
            "{text}"
        );
        assert!(
            text.contains("key:      owner (owner, from saved key, valid)"),
            "{text}"
        );
        let none = status_text(
            &StatusReply {
                has_owner: false,
                session_key: None,
                ..reply()
            },
            &KeyState::default(),
        );
        assert!(none.contains("run `hyperforge auth login`"), "{none}");
    }

    #[test]
    fn text_and_json_show_the_http_listener_only_when_one_runs() {
        let off = status_text(&reply(), &KeyState::default());
        assert!(!off.contains("http"), "{off}");
        assert!(status_json(&reply(), &KeyState::default())
            .get("http_listen")
            .is_none());
        let on = StatusReply {
            http_listen: Some("127.0.0.1:8787".into()),
            http_restart: Some("restart the hub to apply it".into()),
            ..reply()
        };
        let text = status_text(&on, &KeyState::default());
        assert!(
            text.contains("\nhttp:     http://127.0.0.1:8787\n"),
            "{text}"
        );
        assert!(
            text.contains("http:     restart the hub to apply it"),
            "{text}"
        );
        assert_eq!(
            status_json(&on, &KeyState::default())["http_listen"],
            "127.0.0.1:8787"
        );
    }

    #[test]
    fn text_and_json_show_store_and_audit_problems() {
        let whole = status_text(&reply(), &KeyState::default());
        assert!(!whole.contains("problem"), "{whole}");
        let damaged = StatusReply {
            store_problem: Some("rolled back: generation 1 of 2".into()),
            audit_problem: Some("audit log /h/audit.jsonl was cut after line 3".into()),
            ..reply()
        };
        let text = status_text(&damaged, &KeyState::default());
        assert!(
            text.contains("\nstore problem: rolled back: generation 1 of 2\n"),
            "{text}"
        );
        assert!(
            text.contains("audit problem: audit log /h/audit.jsonl was cut after line 3"),
            "{text}"
        );
        let json = status_json(&damaged, &KeyState::default());
        assert_eq!(json["store_problem"], "rolled back: generation 1 of 2");
        assert_eq!(
            json["audit_problem"],
            "audit log /h/audit.jsonl was cut after line 3"
        );
        let sound_policy = StatusReply {
            policy_error: None,
            ..reply()
        };
        assert!(verdict(&sound_policy, &KeyState::default()).is_none());
        let failed = verdict(
            &StatusReply {
                policy_error: None,
                ..damaged
            },
            &KeyState::default(),
        )
        .expect("a problem fails");
        assert_eq!(failed.kind().exit_code(), 1);
    }
}
