//! Creating a repository through a forge's REST API: the request and outcome types shared by the
//! GitHub, Gitea/Forgejo and GitLab clients, their one error type, and [`create_repo`], which
//! picks the client for a [`ForgeKind`].
//!
//! Everything here is blocking (the CLI calls it from `spawn_blocking`). What a forge sends back
//! is untrusted: missing or ill-typed fields become [`ForgeApiError::BadResponse`], and a forge's
//! own error message is shortened, stripped of control characters and of the token before it is
//! put into an error.

use auth_hub_protocol::SecretValue;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::http::ForgeHttp;
use super::ForgeKind;

/// Longest forge message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Who may see a new repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Visibility {
    /// Everyone.
    Public,
    /// Only the owner and the members they choose.
    #[default]
    Private,
}

/// A repository to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRepo<'a> {
    /// The token's own user, or an organization (GitHub, Gitea) or group path (GitLab,
    /// `group/subgroup` allowed).
    pub owner: &'a str,
    /// The repository name (also its path on GitLab).
    pub name: &'a str,
    /// Public or private.
    pub visibility: Visibility,
    /// An optional one-line description.
    pub description: Option<&'a str>,
}

/// What [`create_repo`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The forge created the repository.
    Created {
        /// The repository's page.
        web_url: String,
        /// Its HTTPS clone URL, when the forge said.
        clone_url: Option<String>,
    },
    /// A repository of that name already existed; nothing was changed.
    AlreadyExists,
}

/// Why a repository could not be created. No message contains the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForgeApiError {
    /// The forge refused the token (HTTP 401).
    #[error("the forge at {forge_url} refused the token (401 unauthorized); check the token stored for it")]
    Unauthorized {
        /// The API base URL.
        forge_url: String,
    },
    /// The owner (organization, group or namespace) does not exist, or the token cannot see it.
    #[error("{what} not found, or the token has no access to it")]
    NotFound {
        /// What was looked for, such as `organization acme on https://api.github.com`.
        what: String,
    },
    /// The forge answered with an error status.
    #[error("the forge refused the request with status {status}: {message}")]
    Refused {
        /// HTTP status code.
        status: u16,
        /// The forge's message, cleaned and truncated.
        message: String,
    },
    /// The request did not get an answer (connection, TLS, timeout, body over the size cap).
    #[error("request to {url} failed: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// What went wrong.
        source: ureq::Error,
    },
    /// The forge answered with something that is not what its API documents.
    #[error("unexpected response from {url}: {detail}")]
    BadResponse {
        /// The URL requested.
        url: String,
        /// What was wrong with it.
        detail: String,
    },
    /// The API URL is plain http to a host other than loopback; the token is not sent.
    #[error("refusing to send a token over plain http to {url}; use https://")]
    InsecureUrl {
        /// The URL refused.
        url: String,
    },
    /// The API URL cannot be used.
    #[error("invalid forge API URL {url}: {detail}")]
    BadUrl {
        /// The URL refused.
        url: String,
        /// Why.
        detail: String,
    },
    /// The owner or repository name cannot be a path on any forge.
    #[error("invalid {what} {value:?}")]
    InvalidName {
        /// `owner` or `repository name`.
        what: &'static str,
        /// The value given.
        value: String,
    },
}

/// Creates `repo` on the forge of `kind` whose REST API is at `api_url` (`https://api.github.com`,
/// `https://codeberg.org/api/v1`, `https://gitlab.com/api/v4`, or a self-hosted one).
///
/// Blocking; call it from `spawn_blocking` in async code. An existing repository of that name
/// is `Ok(Created::AlreadyExists)`.
///
/// # Errors
///
/// Any [`ForgeApiError`]: the token refused, the owner missing, another refusal by the forge, a
/// transport failure, a response that does not follow the forge's API, or an unusable URL or
/// name.
pub fn create_repo(
    kind: ForgeKind,
    api_url: &str,
    token: &SecretValue,
    repo: &NewRepo<'_>,
) -> Result<Created, ForgeApiError> {
    check_names(kind, repo)?;
    let http = ForgeHttp::new();
    let api_url = api_url.trim_end_matches('/');
    match kind {
        ForgeKind::Github => super::github::create_repo(&http, api_url, token, repo),
        ForgeKind::Gitea => super::gitea::create_repo(&http, api_url, token, repo),
        ForgeKind::Gitlab => super::gitlab::create_repo(&http, api_url, token, repo),
    }
}

/// Rejects names no forge accepts as a path segment, so none can walk the API's paths.
fn check_names(kind: ForgeKind, repo: &NewRepo<'_>) -> Result<(), ForgeApiError> {
    let bad_segment = |segment: &str| {
        segment.is_empty()
            || segment == "."
            || segment == ".."
            || segment.chars().any(|c| c.is_control() || c.is_whitespace())
    };
    let owner_bad = if kind == ForgeKind::Gitlab {
        repo.owner.split('/').any(bad_segment)
    } else {
        bad_segment(repo.owner) || repo.owner.contains('/')
    };
    if owner_bad {
        return Err(ForgeApiError::InvalidName {
            what: "owner",
            value: clean_message(repo.owner, None),
        });
    }
    if bad_segment(repo.name) || repo.name.contains('/') {
        return Err(ForgeApiError::InvalidName {
            what: "repository name",
            value: clean_message(repo.name, None),
        });
    }
    Ok(())
}

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `text` encoded as one URL path segment (`/` becomes `%2F`).
pub(crate) fn path_segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// A forge's error message from a response body: `message` (a string, or GitLab's
/// field → messages object), GitHub's `errors[].message`, GitLab's `error`, else the raw text;
/// then cleaned by [`clean_message`].
pub(crate) fn forge_message(body: &[u8], token: &SecretValue) -> String {
    let raw = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => json_message(&json),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    clean_message(&raw, Some(token))
}

fn json_message(json: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    match json.get("message") {
        Some(serde_json::Value::String(text)) => parts.push(text.clone()),
        Some(serde_json::Value::Object(fields)) => {
            for (field, messages) in fields {
                let messages = match messages {
                    serde_json::Value::Array(list) => list
                        .iter()
                        .filter_map(serde_json::Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                parts.push(format!("{field} {messages}"));
            }
        }
        _ => {}
    }
    if let Some(text) = json.get("error").and_then(serde_json::Value::as_str) {
        parts.push(text.to_owned());
    }
    if let Some(errors) = json.get("errors").and_then(serde_json::Value::as_array) {
        parts.extend(
            errors
                .iter()
                .filter_map(|error| error.get("message").and_then(serde_json::Value::as_str))
                .map(str::to_owned),
        );
    }
    if parts.is_empty() {
        json.to_string()
    } else {
        parts.join("; ")
    }
}

/// Removes the token (should a forge echo it), drops control characters and truncates to
/// 300 characters.
pub(crate) fn clean_message(raw: &str, token: Option<&SecretValue>) -> String {
    let mut text = raw.to_owned();
    if let Some(token) = token.filter(|token| !token.is_empty()) {
        text = text.replace(token.expose(), "[redacted]");
    }
    let mut cleaned: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    if let Some((cut, _)) = cleaned.char_indices().nth(MAX_MESSAGE_CHARS) {
        cleaned.truncate(cut);
        cleaned.push('…');
    }
    cleaned.trim().to_owned()
}

/// A required string field of a JSON response.
///
/// # Errors
///
/// [`ForgeApiError::BadResponse`] when the field is missing, not a string or empty.
pub(crate) fn required_str(
    json: &serde_json::Value,
    field: &str,
    url: &str,
) -> Result<String, ForgeApiError> {
    match json.get(field).and_then(serde_json::Value::as_str) {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(ForgeApiError::BadResponse {
            url: url.to_owned(),
            detail: format!("no {field:?} string in the response"),
        }),
    }
}

/// An optional string field of a JSON response (absent, null or another type → `None`).
pub(crate) fn optional_str(json: &serde_json::Value, field: &str) -> Option<String> {
    json.get(field)
        .and_then(serde_json::Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(path_segment("group/sub"), "group%2Fsub");
        assert_eq!(path_segment("a b?#"), "a%20b%3F%23");
        assert_eq!(path_segment("my-org_1.x~"), "my-org_1.x~");
    }

    #[test]
    fn messages_are_cleaned() {
        let token = SecretValue::new("tok123".into());
        let long = "x".repeat(1000);
        assert_eq!(clean_message(&long, None).chars().count(), 301);
        assert_eq!(
            clean_message("bad\u{1b}[31m tok123\nend", Some(&token)),
            "bad[31m [redacted] end"
        );
        let gitlab = br#"{"message":{"name":["has already been taken"]}}"#;
        assert_eq!(forge_message(gitlab, &token), "name has already been taken");
        let github = br#"{"message":"Repository creation failed.","errors":[{"message":"name already exists on this account"}]}"#;
        assert_eq!(
            forge_message(github, &token),
            "Repository creation failed.; name already exists on this account"
        );
    }

    #[test]
    fn names_that_are_no_path_are_refused() {
        let repo = |owner, name| NewRepo {
            owner,
            name,
            visibility: Visibility::Private,
            description: None,
        };
        assert!(check_names(ForgeKind::Github, &repo("alice", "r")).is_ok());
        assert!(check_names(ForgeKind::Gitlab, &repo("g/sub", "r")).is_ok());
        assert!(check_names(ForgeKind::Github, &repo("g/sub", "r")).is_err());
        assert!(check_names(ForgeKind::Gitea, &repo("..", "r")).is_err());
        assert!(check_names(ForgeKind::Gitea, &repo("a", "")).is_err());
        assert!(check_names(ForgeKind::Gitlab, &repo("a", "x/y")).is_err());
    }
}
