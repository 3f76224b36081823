//! The one approval a workspace command asks for before it changes anything: every scope it
//! needs, in one request, shown as the design's block (`Requesting access to:` and a `✓`/`✗`
//! line per scope). `workspace push` and `workspace publish` both use it.

use auth_hub_client::HubClient;
use auth_hub_protocol::SecretScope;
use serde_json::{json, Value};

use crate::commands::forge_access::{self, Decisions, ForgeFailure};
use crate::commands::Context;
use crate::error::CliError;

/// Asks for every scope in one request, waiting at most `wait` in all, and prints the design's
/// block of decisions: the scopes and grants on stdout, each refusal once on stderr with the
/// command that grants it.
///
/// # Errors
/// Connection errors; each scope's refusal is in the [`Decisions`].
pub async fn request(
    ctx: &Context,
    client: &HubClient,
    scopes: &[SecretScope],
    wait: std::time::Duration,
) -> Result<Decisions, CliError> {
    let human = !ctx.out.is_json();
    if human && !scopes.is_empty() {
        ctx.out.line("Requesting access to:")?;
        for scope in scopes {
            ctx.out.line(&format!("  {scope}"))?;
        }
        ctx.out.line("\n")?;
    }
    let decisions = forge_access::decide(client, scopes, wait).await?;
    if human && !scopes.is_empty() {
        for scope in scopes {
            match decisions.refusal(scope) {
                None => ctx.out.line(&format!("✓ Granted: {scope}"))?,
                Some(failure) => {
                    let verdict = match failure {
                        ForgeFailure::TimedOut { .. } => "Timed out",
                        _ => "Denied",
                    };
                    crate::output::note(&format!("✗ {verdict}: {scope}"));
                    crate::output::note(&format!(
                        "  Run: {}",
                        auth_hub_protocol::grant_command(scope.as_str())
                    ));
                }
            }
        }
        ctx.out.line("\n")?;
    }
    Ok(decisions)
}

/// The `--json` `scopes` list: each scope asked for and whether the hub granted it.
pub fn scopes_json(scopes: &[SecretScope], decisions: &Decisions) -> Vec<Value> {
    scopes
        .iter()
        .map(|scope| {
            json!({
                "scope": scope.as_str(),
                "granted": decisions.granted(scope),
            })
        })
        .collect()
}
