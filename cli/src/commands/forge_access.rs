//! A forge's token, fetched from auth-hub by scope, and the one-command git credential built from
//! it: what `push`, `status --fetch`, `init --create-remote` and `workspace push` share.
//!
//! Every one of those commands asks for all its forges' scopes in one request that waits at
//! most `--wait` (or not at all with `--no-wait`), so the owner decides once and a cron job
//! never blocks once per ungranted forge; the tokens fetched afterwards never wait again.

use std::collections::BTreeMap;
use std::time::Duration;

use auth_hub_client::{AuthClient, AuthError, HubClient};
use auth_hub_protocol::request::HasScope;
use auth_hub_protocol::response::ScopeResult;
use auth_hub_protocol::{
    grant_command, ErrorCode, Permissions, Request, Response, Secret, SecretPath, SecretScope,
};

use crate::commands::auth::{announce_wait, connect_keyed, keyed_options};
use crate::error::{CliError, ErrorKind};
use crate::git::{Credential, TransferError};
use crate::project::ProjectForge;

/// Why a forge could not be reached or pushed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeFailure {
    /// The owner (or policy) refused the scope.
    Denied {
        /// The scope refused.
        scope: SecretScope,
    },
    /// Nobody approved the scope in time.
    TimedOut {
        /// The scope asked for.
        scope: SecretScope,
    },
    /// Anything else, said in one line.
    Other(String),
}

impl ForgeFailure {
    /// True for a refusal by the hub (denied, or not approved in time), which alone is exit 3.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Denied { .. } | Self::TimedOut { .. })
    }

    /// The short reason for a summary line ("access denied").
    pub fn reason(&self) -> String {
        match self {
            Self::Denied { .. } => "access denied".to_owned(),
            Self::TimedOut { .. } => "approval timed out".to_owned(),
            Self::Other(message) => message.clone(),
        }
    }

    /// The lines a person reads on stderr for forge `forge`: the design's messages for a denied
    /// or timed-out scope, with the command that grants it.
    pub fn lines(&self, forge: &str) -> Vec<String> {
        match self {
            Self::Denied { scope } => vec![
                format!("✗ Access denied to {scope}"),
                format!("  Run: {}", grant_command(scope.as_str())),
            ],
            Self::TimedOut { scope } => vec![
                format!("✗ Approval timed out for {scope}"),
                format!("  Run: {}", grant_command(scope.as_str())),
            ],
            Self::Other(message) => vec![format!("✗ {forge}: {message}")],
        }
    }
}

/// The org and secret path of a forge, or why there is none.
///
/// # Errors
/// [`ForgeFailure::Other`] when the org is unknown or not a valid path segment.
pub fn secret_path(forge: &ProjectForge) -> Result<(String, SecretPath), ForgeFailure> {
    let org = forge
        .org
        .as_ref()
        .map_err(|error| ForgeFailure::Other(error.to_string()))?;
    let path = forge
        .forge
        .secret_path(org)
        .map_err(|error| ForgeFailure::Other(error.to_string()))?;
    Ok((org.clone(), path))
}

/// The HTTPS URL to push to or fetch from, refused before any token is asked for when it would
/// carry the token in clear text (plain `http://` anywhere but loopback).
///
/// # Errors
/// [`ForgeFailure::Other`] naming the URL.
pub fn transfer_url(forge: &ProjectForge, org: &str, repo: &str) -> Result<String, ForgeFailure> {
    let url = forge.forge.push_url(org, repo);
    crate::forge::http::check_url(&url).map_err(|error| ForgeFailure::Other(error.to_string()))?;
    Ok(url)
}

/// Fetches the secret at `path` through the hub, turning refusals into [`ForgeFailure`]s.
///
/// # Errors
/// [`ForgeFailure`] for denial, timeout, a missing secret and hub errors.
pub async fn fetch_token(client: &HubClient, path: &SecretPath) -> Result<Secret, ForgeFailure> {
    client.get_secret(path).await.map_err(|error| match error {
        AuthError::AccessDenied { .. } => ForgeFailure::Denied {
            scope: path.parent_scope(),
        },
        AuthError::Timeout { .. } => ForgeFailure::TimedOut {
            scope: path.parent_scope(),
        },
        AuthError::SecretNotFound { .. } => ForgeFailure::Other(format!(
            "no token stored at {path} (store one with `hyperforge auth put {path}`)"
        )),
        other => ForgeFailure::Other(other.to_string()),
    })
}

/// A failed push or fetch (`verb`) with the token at `path`, said for people.
pub fn transfer_failure(error: TransferError, verb: &str, path: &SecretPath) -> ForgeFailure {
    ForgeFailure::Other(match error {
        TransferError::AuthenticationFailed => {
            format!("authentication failed (the forge refused the token at {path})")
        }
        TransferError::Failed(message) => format!("{verb} failed: {message}"),
        TransferError::Git(error) => error.to_string(),
    })
}

/// The credential for `url` (the forge's HTTPS URL) carrying `secret`.
pub fn credential<'a>(forge: &'a ProjectForge, url: &'a str, secret: &'a Secret) -> Credential<'a> {
    Credential {
        protocol: url.split_once("://").map_or("https", |(scheme, _)| scheme),
        host: forge.forge.host(),
        username: forge.forge.username(),
        password: &secret.value,
    }
}

/// Connects for a forge command, with this machine's key, starting the hub when none answers.
/// Token fetches on this client never wait for approval: the waiting is done once, up front, by
/// [`decide`].
///
/// # Errors
/// No key, hub unreachable, the hello refused.
pub async fn connect_forges(reason: String) -> Result<HubClient, CliError> {
    let mut options = keyed_options(reason)?;
    options.wait = Duration::ZERO;
    connect_keyed(options).await
}

/// The distinct scopes of `forges`, in first-seen order; forges without an org have none.
pub fn scopes_of<'a>(forges: impl IntoIterator<Item = &'a ProjectForge>) -> Vec<SecretScope> {
    let mut scopes: Vec<SecretScope> = Vec::new();
    for forge in forges {
        if let Ok((_, path)) = secret_path(forge) {
            let scope = path.parent_scope();
            if !scopes.iter().any(|known| known.as_str() == scope.as_str()) {
                scopes.push(scope);
            }
        }
    }
    scopes
}

/// The hub's answer for each scope of one batch.
#[derive(Debug, Default)]
pub struct Decisions(BTreeMap<String, Result<(), ForgeFailure>>);

impl Decisions {
    /// The refusal of `scope`, if it was refused (an unknown scope is not).
    pub fn refusal(&self, scope: &SecretScope) -> Option<ForgeFailure> {
        self.0.get(scope.as_str()).cloned()?.err()
    }

    /// The refusal of `forge`'s scope, if it was refused.
    pub fn refusal_of(&self, forge: &ProjectForge) -> Option<ForgeFailure> {
        let (_, path) = secret_path(forge).ok()?;
        self.refusal(&path.parent_scope())
    }

    /// True when `scope` was granted.
    pub fn granted(&self, scope: &SecretScope) -> bool {
        self.0.get(scope.as_str()).is_some_and(Result::is_ok)
    }
}

/// Asks for every scope in one request that waits at most `wait` in all (zero: not at all, an
/// ungranted scope is refused at once), after telling the user on stderr which scopes wait and
/// the command that grants them. Granted tokens stay in the client for the fetches that follow.
///
/// # Errors
/// Connection errors; each scope's refusal is in the [`Decisions`].
pub async fn decide(
    client: &HubClient,
    scopes: &[SecretScope],
    wait: Duration,
) -> Result<Decisions, CliError> {
    let mut decisions = Decisions::default();
    if scopes.is_empty() {
        return Ok(decisions);
    }
    let ((), outcomes) = tokio::join!(
        announce_wait(client, scopes, Permissions::READ, wait),
        client.request_scopes(scopes, Permissions::READ, wait)
    );
    for outcome in outcomes? {
        let scope = outcome.scope;
        let decision = match outcome.result {
            ScopeResult::Granted(_) => Ok(()),
            ScopeResult::Error(reply) if reply.code == ErrorCode::Timeout => {
                Err(ForgeFailure::TimedOut {
                    scope: scope.clone(),
                })
            }
            ScopeResult::Error(_) => Err(ForgeFailure::Denied {
                scope: scope.clone(),
            }),
        };
        decisions.0.insert(scope.as_str().to_owned(), decision);
    }
    Ok(decisions)
}

/// What a real run would get for a scope, as a dry run reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Granted now (standing grant, policy, or the key's own scopes).
    Granted,
    /// A real run would wait for the owner's approval.
    NeedsApproval,
    /// A real run would be refused at once.
    Refused,
    /// The hub could not be asked (not running, no key): said why.
    Unknown(String),
}

impl Access {
    /// The few words a dry run prints for `scope`.
    pub fn describe(&self, scope: &SecretScope) -> String {
        match self {
            Self::Granted => format!("{scope} granted"),
            Self::NeedsApproval => format!(
                "{scope} needs approval: run `{}`",
                grant_command(scope.as_str())
            ),
            Self::Refused => format!("{scope} refused by policy"),
            Self::Unknown(why) => format!("{scope} not checked: {why}"),
        }
    }

    /// The `--json` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::NeedsApproval => "needs_approval",
            Self::Refused => "refused",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// For a dry run: whether each scope would be granted, asked with `has_scope`, which never
/// prompts the owner, issues no token and reads no secret. A hub that does not answer is not
/// started (a dry run changes nothing); every scope is then [`Access::Unknown`].
pub async fn preview(reason: String, scopes: &[SecretScope]) -> Vec<(SecretScope, Access)> {
    let unknown = |why: String| {
        scopes
            .iter()
            .map(|scope| (scope.clone(), Access::Unknown(why.clone())))
            .collect()
    };
    if scopes.is_empty() {
        return Vec::new();
    }
    let options = match keyed_options(reason) {
        Ok(options) if options.master_token.is_some() => options,
        Ok(_) => return unknown("no auth-hub key".to_owned()),
        Err(error) => return unknown(error.message().to_owned()),
    };
    let client = match HubClient::connect(options).await {
        Ok(client) => client,
        Err(AuthError::Unreachable { .. }) => return unknown("auth-hub is not running".to_owned()),
        Err(error) => return unknown(error.to_string()),
    };
    let mut answers = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let request = Request::HasScope(HasScope {
            scope: scope.clone(),
            permissions: Permissions::READ,
        });
        let access = match client.call(request).await {
            Ok(Response::HasScope(reply)) if reply.granted => Access::Granted,
            Ok(Response::HasScope(reply)) if reply.needs_approval => Access::NeedsApproval,
            Ok(Response::HasScope(_)) => Access::Refused,
            Ok(_) => Access::Unknown("unexpected reply".to_owned()),
            Err(error) => Access::Unknown(error.to_string()),
        };
        answers.push((scope.clone(), access));
    }
    answers
}

/// The error ending a command over several forges (`what`: "push", "remote creation") when any
/// failed, each already reported: exit 3 when every forge failed and all were refused by the hub
/// (nothing was done, and granting is the fix), else 1 (a partial failure, or another cause).
pub fn summary_error(what: &str, failed: &[(&str, &ForgeFailure)], total: usize) -> CliError {
    let names: Vec<&str> = failed.iter().map(|(name, _)| *name).collect();
    let kind = if failed.len() == total && failed.iter().all(|(_, f)| f.is_refusal()) {
        ErrorKind::Denied
    } else {
        ErrorKind::Failure
    };
    CliError::new(
        kind,
        format!(
            "{what} failed for {} of {total} forges: {}",
            failed.len(),
            names.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> SecretScope {
        SecretScope::parse(text).expect("valid scope")
    }

    #[test]
    fn exit_3_only_when_every_forge_was_refused() {
        let denied = ForgeFailure::Denied {
            scope: scope("github/alice/*"),
        };
        let timed_out = ForgeFailure::TimedOut {
            scope: scope("codeberg/alice/*"),
        };
        let other = ForgeFailure::Other("push failed: rejected".into());

        let all_refused =
            summary_error("push", &[("github", &denied), ("codeberg", &timed_out)], 2);
        assert_eq!(all_refused.kind(), ErrorKind::Denied);
        assert_eq!(
            all_refused.message(),
            "push failed for 2 of 2 forges: github, codeberg"
        );
        let partial = summary_error("push", &[("github", &denied)], 2);
        assert_eq!(partial.kind(), ErrorKind::Failure);
        let mixed = summary_error("push", &[("github", &denied), ("codeberg", &other)], 2);
        assert_eq!(mixed.kind(), ErrorKind::Failure);
    }

    #[test]
    fn dry_run_access_is_said_plainly() {
        let github = scope("github/alice/*");
        assert_eq!(Access::Granted.describe(&github), "github/alice/* granted");
        assert_eq!(
            Access::NeedsApproval.describe(&github),
            format!(
                "github/alice/* needs approval: run `{}`",
                grant_command("github/alice/*")
            )
        );
        assert_eq!(
            Access::Unknown("auth-hub is not running".into()).describe(&github),
            "github/alice/* not checked: auth-hub is not running"
        );
        assert_eq!(Access::Refused.name(), "refused");
    }

    #[test]
    fn refusals_are_denials_and_timeouts_only() {
        assert!(ForgeFailure::Denied {
            scope: scope("a/*")
        }
        .is_refusal());
        assert!(!ForgeFailure::Other("x".into()).is_refusal());
    }
}
