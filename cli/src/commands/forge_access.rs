//! A forge's token, fetched from auth-hub by scope, and the one-command git credential built from
//! it: what `push`, `status --fetch` and `workspace push` share.

use auth_hub_client::{AuthClient, AuthError, HubClient};
use auth_hub_protocol::{grant_command, Secret, SecretPath, SecretScope};

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
