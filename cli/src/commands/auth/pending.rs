//! `hyperforge auth pending`: the requests waiting for the owner's decision; with `--watch`, an
//! interactive approver that shows each request as it arrives and asks what to do.
//!
//! Without a terminal on stdin, `--watch` only streams the events (JSON lines with `--json`).
//! It ends on Ctrl-C, at the end of stdin, or when the hub closes the connection.

use std::collections::VecDeque;
use std::io::{self, BufRead, IsTerminal};

use auth_hub_client::HubClient;
use auth_hub_protocol::request::{Deny, Grant, ListPending};
use auth_hub_protocol::response::PendingRequest;
use auth_hub_protocol::{Event, PendingOutcome, PendingResolved, Request, Response};
use chrono::Utc;
use clap::Args;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{connect_keyed, keyed_options, owner_required, report, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// The question asked for each request in `--watch` mode.
const PROMPT: &str = "approve? [y]es / [o]nce / [n]o / [s]kip ";

/// Arguments of `auth pending`.
#[derive(Debug, Args)]
pub struct PendingArgs {
    /// Keep watching: show requests as they arrive and, at a terminal, approve or deny them.
    #[arg(long)]
    pub watch: bool,
}

/// Runs `auth pending`.
///
/// # Errors
/// Not the owner key (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: PendingArgs) -> Result<(), CliError> {
    if args.watch {
        return watch(ctx).await;
    }
    let requests = match report(
        "hyperforge auth pending",
        Request::ListPending(ListPending {}),
    )
    .await?
    {
        Response::Pending(list) => list.requests,
        other => return Err(unexpected("list_pending", &other)),
    };
    if ctx.out.is_json() {
        ctx.out
            .json(&Value::Array(requests.iter().map(pending_json).collect()))
    } else if requests.is_empty() {
        output::note("nothing is pending");
        Ok(())
    } else {
        ctx.out.line(&pending_table(&requests))
    }
}

/// One pending request for `--json`.
fn pending_json(request: &PendingRequest) -> Value {
    json!({
        "id": request.id,
        "scopes": request.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "permissions": request.permissions.to_string(),
        "key": request.key_name,
        "client": request.client_name,
        "uid": request.peer.uid,
        "pid": request.peer.pid,
        "exe": request.peer.exe,
        "reason": request.reason,
        "created_at": output::time_json(request.created_at),
        "expires_at": output::time_json(request.expires_at),
    })
}

/// Scopes as one cell.
fn scopes_text(request: &PendingRequest) -> String {
    let scopes: Vec<&str> = request.scopes.iter().map(|s| s.as_str()).collect();
    scopes.join(" ")
}

/// The pending requests for people.
fn pending_table(requests: &[PendingRequest]) -> String {
    let now = Utc::now();
    let rows: Vec<Vec<String>> = requests
        .iter()
        .map(|request| {
            vec![
                request.id.to_string(),
                scopes_text(request),
                request.permissions.to_string(),
                request.key_name.clone(),
                request.client_name.clone(),
                request
                    .peer
                    .pid
                    .map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
                request.peer.exe.clone().unwrap_or_else(|| "-".to_owned()),
                output::age(request.created_at, now),
                request.reason.clone(),
            ]
        })
        .collect();
    output::table(
        &[
            "id",
            "scopes",
            "perm",
            "key",
            "client",
            "pid",
            "executable",
            "age",
            "reason",
        ],
        &rows,
    )
}

/// One arriving request, for people.
fn request_text(request: &PendingRequest) -> String {
    let mut text = format!(
        "request {}: {} ({}) for key {}\n  from {}, pid {}, {}",
        request.id,
        scopes_text(request),
        request.permissions,
        request.key_name,
        request.client_name,
        request
            .peer
            .pid
            .map_or_else(|| "?".to_owned(), |pid| pid.to_string()),
        request.peer.exe.as_deref().unwrap_or("unknown executable"),
    );
    if !request.reason.is_empty() {
        text.push_str("\n  reason: ");
        text.push_str(&request.reason);
    }
    text
}

fn outcome_text(outcome: PendingOutcome) -> &'static str {
    match outcome {
        PendingOutcome::Granted => "granted",
        PendingOutcome::Denied => "denied",
        PendingOutcome::Timeout => "timed out",
        PendingOutcome::Cancelled => "cancelled",
    }
}

fn outcome_json(outcome: PendingOutcome) -> &'static str {
    match outcome {
        PendingOutcome::Granted => "granted",
        PendingOutcome::Denied => "denied",
        PendingOutcome::Timeout => "timeout",
        PendingOutcome::Cancelled => "cancelled",
    }
}

/// An approver's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Approve and keep a standing grant.
    Yes,
    /// Approve this request only.
    Once,
    /// Deny.
    No,
    /// Leave it pending and move on.
    Skip,
}

/// Reads `y`, `yes`, `o`, `once`, `n`, `no`, `s`, `skip` (any case).
fn parse_answer(line: &str) -> Option<Answer> {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(Answer::Yes),
        "o" | "once" => Some(Answer::Once),
        "n" | "no" => Some(Answer::No),
        "s" | "skip" => Some(Answer::Skip),
        _ => None,
    }
}

/// Lines typed on stdin, read on a thread of their own (stdin cannot be read without blocking).
/// The channel closes at the end of input.
fn read_lines() -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel(8);
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut line = String::new();
        loop {
            line.clear();
            match stdin.lock().read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if sender.blocking_send(line.clone()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    receiver
}

/// The next answer, or never when there is no terminal to ask.
async fn next_line(lines: &mut Option<mpsc::Receiver<String>>) -> Option<String> {
    match lines {
        Some(lines) => lines.recv().await,
        None => std::future::pending().await,
    }
}

/// The interactive approver's state: requests waiting to be asked about, the first one asked.
struct Approver {
    client: HubClient,
    queue: VecDeque<PendingRequest>,
    asking: Option<u64>,
}

impl Approver {
    /// Asks about the first queued request unless already asking.
    fn prompt(&mut self) {
        if self.asking.is_some() {
            return;
        }
        if let Some(request) = self.queue.front() {
            output::note(&request_text(request));
            output::note_inline(PROMPT);
            self.asking = Some(request.id);
        }
    }

    /// Applies an answer to the request being asked about.
    async fn answer(&mut self, line: &str) {
        if self.asking.is_none() {
            return;
        }
        let Some(answer) = parse_answer(line) else {
            output::note_inline(PROMPT);
            return;
        };
        let Some(request) = self.queue.pop_front() else {
            return;
        };
        self.asking = None;
        let result = match answer {
            Answer::Yes => self.grant(&request, false).await,
            Answer::Once => self.grant(&request, true).await,
            Answer::No => self.deny(&request).await,
            Answer::Skip => {
                output::note(&format!("request {} left pending", request.id));
                Ok(())
            }
        };
        if let Err(error) = result {
            output::note(error.report().trim_end());
        }
        self.prompt();
    }

    /// Approves every scope of the request (the hub decides a request scope by scope).
    async fn grant(&self, request: &PendingRequest, once: bool) -> Result<(), CliError> {
        for scope in &request.scopes {
            let grant = Grant {
                scope: scope.clone(),
                permissions: request.permissions,
                ttl_ms: None,
                once,
                request_id: Some(request.id),
                key: None,
            };
            match self.client.call(Request::Grant(grant)).await? {
                Response::Granted(_) => {}
                other => return Err(unexpected("grant", &other)),
            }
        }
        Ok(())
    }

    /// Denies the request.
    async fn deny(&self, request: &PendingRequest) -> Result<(), CliError> {
        let Some(scope) = request.scopes.first() else {
            return Ok(());
        };
        let deny = Deny {
            scope: scope.clone(),
            request_id: Some(request.id),
        };
        match self.client.call(Request::Deny(deny)).await? {
            Response::Denied(_) => Ok(()),
            other => Err(unexpected("deny", &other)),
        }
    }

    /// A request ended elsewhere (decided by another approver, timed out, cancelled).
    fn resolved(&mut self, resolved: &PendingResolved) {
        self.queue.retain(|request| request.id != resolved.id);
        if self.asking == Some(resolved.id) {
            self.asking = None;
            output::note("");
            self.prompt();
        }
    }
}

/// `pending --watch`.
async fn watch(ctx: &Context) -> Result<(), CliError> {
    let client = connect_keyed(keyed_options("hyperforge auth pending --watch".into())?).await?;
    let welcome = client.welcome().await?;
    if !welcome.owner {
        return Err(owner_required(
            "hyperforge auth pending --watch",
            welcome.key_name.as_deref(),
        ));
    }
    let (initial, mut events) = client.watch_pending().await?;
    let interactive = io::stdin().is_terminal();
    let mut lines = interactive.then(read_lines);
    let mut approver = Approver {
        client,
        queue: VecDeque::new(),
        asking: None,
    };
    if !ctx.out.is_json() {
        output::note("watching for requests (Ctrl-C to stop)");
    }
    for request in initial {
        show_added(ctx, &request, interactive)?;
        if interactive {
            approver.queue.push_back(request);
        }
    }
    approver.prompt();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            event = events.recv() => match event {
                Some(Event::PendingAdded(request)) => {
                    show_added(ctx, &request, interactive)?;
                    if interactive {
                        approver.queue.push_back(request);
                        approver.prompt();
                    }
                }
                Some(Event::PendingResolved(resolved)) => {
                    show_resolved(ctx, &resolved)?;
                    approver.resolved(&resolved);
                }
                Some(_) => {}
                None => {
                    return Err(CliError::failure("the hub closed the connection"));
                }
            },
            line = next_line(&mut lines) => match line {
                Some(line) => approver.answer(&line).await,
                None => break,
            },
        }
    }
    if approver.asking.is_some() {
        output::note("");
    }
    Ok(())
}

/// Shows an arriving request: a JSON line, or (when nobody is asked about it) text on stdout.
fn show_added(ctx: &Context, request: &PendingRequest, interactive: bool) -> Result<(), CliError> {
    if ctx.out.is_json() {
        ctx.out
            .json(&json!({ "event": "pending_added", "request": pending_json(request) }))
    } else if interactive {
        // The prompt shows it, on stderr beside the question.
        Ok(())
    } else {
        ctx.out.line(&request_text(request))
    }
}

/// Shows how a request ended.
fn show_resolved(ctx: &Context, resolved: &PendingResolved) -> Result<(), CliError> {
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "event": "pending_resolved",
            "id": resolved.id,
            "outcome": outcome_json(resolved.outcome),
        }))
    } else {
        ctx.out.line(&format!(
            "request {}: {}",
            resolved.id,
            outcome_text(resolved.outcome)
        ))
    }
}

#[cfg(test)]
mod tests {
    use auth_hub_protocol::response::PeerInfo;
    use auth_hub_protocol::{Permissions, SecretScope};
    use chrono::DateTime;

    use super::*;

    fn request() -> PendingRequest {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        PendingRequest {
            id: 1,
            scopes: vec![SecretScope::parse("github/alice/*").expect("valid scope")],
            permissions: Permissions::READ,
            key_name: "owner".into(),
            client_name: "hyperforge".into(),
            peer: PeerInfo {
                uid: 1000,
                pid: Some(41237),
                exe: Some("/home/alice/.cargo/bin/hyperforge".into()),
            },
            reason: "hyperforge auth get github/alice/token".into(),
            created_at: at,
            expires_at: at,
        }
    }

    #[test]
    fn pending_renders_for_scripts_and_people() {
        let json = pending_json(&request());
        assert_eq!(json["scopes"][0], "github/alice/*");
        assert_eq!(json["pid"], 41237);
        assert_eq!(json["key"], "owner");
        let table = pending_table(&[request()]);
        let mut lines = table.lines();
        assert!(lines
            .next()
            .is_some_and(|h| h.starts_with("id  scopes          perm  key")));
        assert!(lines
            .next()
            .is_some_and(|row| row.contains("41237  /home/alice/.cargo/bin/hyperforge")));
        let text = request_text(&request());
        assert!(
            text.contains("request 1: github/alice/* (read) for key owner"),
            "{text}"
        );
        assert!(
            text.contains("reason: hyperforge auth get github/alice/token"),
            "{text}"
        );
    }

    #[test]
    fn answers() {
        assert_eq!(parse_answer("y\n"), Some(Answer::Yes));
        assert_eq!(parse_answer(" Once "), Some(Answer::Once));
        assert_eq!(parse_answer("n"), Some(Answer::No));
        assert_eq!(parse_answer("skip"), Some(Answer::Skip));
        assert_eq!(parse_answer(""), None);
        assert_eq!(parse_answer("maybe"), None);
    }
}
