//! `hyperforge auth mv --to-backend NAME PATH|SCOPE`: move secrets into another store backend.
//! The hub copies each secret, reads the copy back, and only then deletes the original, so a
//! backend failing on either side never loses a value. One line per secret on stdout; failures
//! and routing warnings on stderr; exit 1 when any secret could not be moved.

use auth_hub_protocol::request::MoveSecrets;
use auth_hub_protocol::response::{MoveFailure, MoveReport, MovedSecret, UnchangedSecret};
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::json;

use super::scope_arg::{self, ScopeArg};
use super::{call, plural, unexpected};
use crate::commands::Context;
use crate::error::CliError;
use crate::output;

/// Arguments of `auth mv`.
#[derive(Debug, Args)]
pub struct MvArgs {
    /// The backend to move the secrets into: a `[store.backend.<name>]` of the hub's config, or
    /// `file` for the local store.
    #[arg(long = "to-backend", value_name = "NAME")]
    pub to_backend: String,
    /// What to move: an exact path, or a scope such as 'team/*'.
    #[command(flatten)]
    pub target: ScopeArg,
}

/// Runs `auth mv`.
///
/// # Errors
/// Any secret not moved (1, each reported on stderr), an unknown backend (1), not the owner key
/// (3), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: MvArgs) -> Result<(), CliError> {
    let target = args.target.resolve("mv")?;
    let command = format!(
        "{} --to-backend {}",
        scope_arg::command("mv", &target),
        args.to_backend
    );
    let request = Request::MoveSecrets(MoveSecrets {
        to_backend: args.to_backend.clone(),
        target: target.clone(),
    });
    let report = match call(&command, request).await? {
        Response::SecretsMoved(report) => report,
        other => return Err(unexpected("move_secrets", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&report_json(&report))?;
    } else {
        for moved in &report.moved {
            ctx.out.line(&moved_line(moved))?;
        }
        for unchanged in &report.unchanged {
            ctx.out.line(&format!(
                "unchanged {}: already in {}",
                unchanged.path, args.to_backend
            ))?;
        }
        if report.moved.is_empty() && report.unchanged.is_empty() && report.failed.is_empty() {
            output::note(&format!("no secret matches {target} in any backend"));
        }
    }
    for warning in warnings(&report, &args.to_backend) {
        output::note(&warning);
    }
    for failure in &report.failed {
        output::note(&failed_line(failure));
    }
    result(&report)
}

/// `moved team/x: file → team`.
fn moved_line(moved: &MovedSecret) -> String {
    format!("moved {}: {} → {}", moved.path, moved.from, moved.to)
}

/// `failed team/x (in file): write: …`.
fn failed_line(failure: &MoveFailure) -> String {
    format!(
        "failed {} (in {}): {}: {}",
        failure.path,
        failure.from,
        failure.stage.as_str(),
        failure.reason
    )
}

/// One warning per secret in the target whose reads a route sends elsewhere.
fn warnings(report: &MoveReport, to: &str) -> Vec<String> {
    let moved = report
        .moved
        .iter()
        .map(|moved| (&moved.path, &moved.served_by));
    let unchanged = report
        .unchanged
        .iter()
        .map(|UnchangedSecret { path, served_by }| (path, served_by));
    moved
        .chain(unchanged)
        .filter(|(_, served_by)| served_by.as_str() != to)
        .map(|(path, served_by)| {
            format!(
                "warning: {path} is in {to}, but reads of it go to {served_by}: they will not see \
                 it until a [[store.route]] sends {path} to {to}"
            )
        })
        .collect()
}

/// Exit 1 when anything failed, saying how much.
fn result(report: &MoveReport) -> Result<(), CliError> {
    if report.failed.is_empty() {
        return Ok(());
    }
    let failed = u64::try_from(report.failed.len()).unwrap_or(u64::MAX);
    Err(CliError::failure(format!(
        "the move did not finish ({}); every value is still where its line above says",
        plural(failed, "failure", "failures")
    )))
}

fn report_json(report: &MoveReport) -> serde_json::Value {
    json!({
        "moved": report.moved.iter().map(|moved| json!({
            "path": moved.path.as_str(),
            "from": moved.from,
            "to": moved.to,
            "version": moved.version,
            "served_by": moved.served_by,
        })).collect::<Vec<_>>(),
        "unchanged": report.unchanged.iter().map(|unchanged| json!({
            "path": unchanged.path.as_str(),
            "served_by": unchanged.served_by,
        })).collect::<Vec<_>>(),
        "failed": report.failed.iter().map(|failure| json!({
            "path": failure.path,
            "from": failure.from,
            "stage": failure.stage.as_str(),
            "reason": failure.reason,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use auth_hub_protocol::response::MoveStage;
    use auth_hub_protocol::SecretPath;

    use super::*;

    fn path(text: &str) -> SecretPath {
        SecretPath::parse(text).expect("valid path")
    }

    fn report() -> MoveReport {
        MoveReport {
            moved: vec![
                MovedSecret {
                    path: path("team/x"),
                    from: "file".into(),
                    to: "team".into(),
                    version: 1,
                    served_by: "team".into(),
                },
                MovedSecret {
                    path: path("github/alice/token"),
                    from: "file".into(),
                    to: "team".into(),
                    version: 2,
                    served_by: "file".into(),
                },
            ],
            unchanged: vec![UnchangedSecret {
                path: path("team/y"),
                served_by: "team".into(),
            }],
            failed: vec![MoveFailure {
                path: "team/z".into(),
                from: "kc".into(),
                stage: MoveStage::Write,
                reason: "backend team is unreachable: timed out; the value is still in kc".into(),
            }],
        }
    }

    #[test]
    fn lines_are_exact() {
        let report = report();
        assert_eq!(moved_line(&report.moved[0]), "moved team/x: file → team");
        assert_eq!(
            failed_line(&report.failed[0]),
            "failed team/z (in kc): write: backend team is unreachable: timed out; the value is \
             still in kc"
        );
    }

    #[test]
    fn only_paths_routed_elsewhere_are_warned_about() {
        let warnings = warnings(&report(), "team");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .starts_with("warning: github/alice/token is in team, but reads of it go to file"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn any_failure_exits_1_and_none_exits_0() {
        let error = result(&report()).expect_err("a failure");
        assert_eq!(error.kind().exit_code(), 1);
        assert!(
            error
                .message()
                .starts_with("the move did not finish (1 failure)"),
            "{}",
            error.message()
        );
        let clean = MoveReport {
            failed: vec![],
            ..report()
        };
        assert!(result(&clean).is_ok());
    }

    #[test]
    fn json_names_every_field() {
        let value = report_json(&report());
        assert_eq!(value["moved"][0]["served_by"], "team");
        assert_eq!(value["unchanged"][0]["path"], "team/y");
        assert_eq!(value["failed"][0]["stage"], "write");
    }
}
