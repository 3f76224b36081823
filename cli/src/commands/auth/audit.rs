//! `hyperforge auth audit`: print the hub's audit log (JSON lines: who asked for what, and what
//! was decided — never a value) and, with `--verify`, check its hash chain; a broken chain exits 1.

use auth_hub_protocol::request::ReadAudit;
use auth_hub_protocol::response::{AuditReply, AuditVerification};
use auth_hub_protocol::{Request, Response};
use clap::Args;
use serde_json::{json, Value};

use super::{report, unexpected};
use crate::commands::Context;
use crate::error::CliError;

/// Arguments of `auth audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Check the hash chain of the whole log, and that it still holds every line the hub anchored
    /// (in its sealed store); exit 1 if it is broken, cut short or missing.
    #[arg(long)]
    pub verify: bool,
    /// Only the last N lines (all when 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub limit: u32,
}

/// Runs `auth audit`.
///
/// # Errors
/// A broken chain (1), not the owner key (2), no key (1), unreachable (5).
pub async fn run(ctx: &Context, args: AuditArgs) -> Result<(), CliError> {
    let request = Request::ReadAudit(ReadAudit {
        limit: args.limit,
        verify: args.verify,
    });
    let reply = match report("hyperforge auth audit", request).await? {
        Response::Audit(reply) => reply,
        other => return Err(unexpected("read_audit", &other)),
    };
    if ctx.out.is_json() {
        ctx.out.json(&audit_json(&reply))?;
    } else {
        let mut text = reply.lines.join("\n");
        if let Some(verification) = &reply.verification {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&verification_text(verification));
        }
        ctx.out.line(&text)?;
    }
    match &reply.verification {
        Some(verification) if !verification.ok => Err(CliError::failure(format!(
            "the audit log failed verification: {}",
            verification
                .error
                .as_deref()
                .unwrap_or("the hash chain is broken")
        ))),
        _ => Ok(()),
    }
}

/// The log for `--json`: each line parsed (kept as a string if it is not JSON).
fn audit_json(reply: &AuditReply) -> Value {
    let lines: Vec<Value> = reply
        .lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| Value::String(line.clone())))
        .collect();
    let mut report = json!({ "lines": lines });
    if let Some(verification) = &reply.verification {
        report["verification"] = json!({
            "ok": verification.ok,
            "lines": verification.lines,
            "error": verification.error,
            "anchored": verification.anchored,
        });
    }
    report
}

/// The verification for people.
fn verification_text(verification: &AuditVerification) -> String {
    if verification.ok {
        format!(
            "audit log verified: {} lines, hash chain intact",
            verification.lines
        )
    } else {
        format!(
            "audit log BROKEN after checking {} lines: {}",
            verification.lines,
            verification
                .error
                .as_deref()
                .unwrap_or("hash chain mismatch")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_lines_are_parsed_for_json() {
        let reply = AuditReply {
            lines: vec![
                r#"{"event":"get_secret","path":"a/b"}"#.into(),
                "not json".into(),
            ],
            verification: Some(AuditVerification {
                ok: false,
                lines: 2,
                error: Some("line 2: prev hash mismatch".into()),
                anchored: 0,
            }),
        };
        let json = audit_json(&reply);
        assert_eq!(json["lines"][0]["event"], "get_secret");
        assert_eq!(json["lines"][1], "not json");
        assert_eq!(json["verification"]["ok"], false);
        assert!(
            verification_text(reply.verification.as_ref().expect("present")).contains("BROKEN")
        );
    }
}
