//! Creating a repository on GitHub (or GitHub Enterprise) through its REST API.
//!
//! Follows docs.github.com/en/rest/repos/repos ("Create a repository for the authenticated
//! user", "Create an organization repository") and /rest/users/users ("Get the authenticated
//! user"), confirmed with the search tool:
//! - `GET {api}/user` → 200 with `login`; 401 `{"message":"Bad credentials"}` for a bad token.
//! - `POST {api}/user/repos` when the owner is the token's user (logins compare
//!   case-insensitively), else `POST {api}/orgs/{org}/repos`; body `{"name", "description"?,
//!   "private"}`; 201 with the repository (`html_url`, `clone_url`).
//! - 422 `{"message":"Repository creation failed.","errors":[{"resource":"Repository",
//!   "code":"custom","field":"name","message":"name already exists on this account"}]}` for an
//!   existing name (as reported in the CommonWealthRobotics/BowlerStudio#342 thread).
//! - 404 on `/orgs/{org}/repos`: the organization does not exist or the token cannot see it.
//! - Headers: `Accept: application/vnd.github+json`, `Authorization: Bearer TOKEN`,
//!   `X-GitHub-Api-Version: 2022-11-28`, and a `User-Agent` (GitHub refuses requests without one).

use auth_hub_protocol::SecretValue;
use serde_json::json;

use super::api::{
    forge_message, optional_str, path_segment, required_str, Created, ForgeApiError, NewRepo,
    Visibility,
};
use super::http::{ForgeHttp, TokenHeader};

/// The headers every GitHub REST call carries besides the token and `User-Agent`.
const HEADERS: &[(&str, &str)] = &[
    ("Accept", "application/vnd.github+json"),
    ("X-GitHub-Api-Version", "2022-11-28"),
];

/// The message GitHub puts in `errors[]` when the repository name is taken.
const ALREADY_EXISTS: &str = "name already exists on this account";

/// Creates `repo` on the GitHub API at `api` (no trailing slash).
///
/// # Errors
///
/// See [`super::api::create_repo`].
pub fn create_repo(
    http: &ForgeHttp,
    api: &str,
    token: &SecretValue,
    repo: &NewRepo<'_>,
) -> Result<Created, ForgeApiError> {
    let auth = TokenHeader::Bearer(token);
    let login = authenticated_login(http, api, token)?;
    let for_user = login.eq_ignore_ascii_case(repo.owner);
    let url = if for_user {
        format!("{api}/user/repos")
    } else {
        format!("{api}/orgs/{}/repos", path_segment(repo.owner))
    };
    let mut body = json!({
        "name": repo.name,
        "private": repo.visibility == Visibility::Private,
    });
    if let Some(description) = repo.description {
        body["description"] = json!(description);
    }
    let reply = http.post_json(&url, auth, HEADERS, &body)?;
    match reply.status {
        201 => {
            let json = reply.json(&url)?;
            Ok(Created::Created {
                web_url: required_str(&json, "html_url", &url)?,
                clone_url: optional_str(&json, "clone_url"),
            })
        }
        422 if names_taken(&reply.body) => Ok(Created::AlreadyExists),
        401 => Err(ForgeApiError::Unauthorized {
            forge_url: api.to_owned(),
        }),
        404 if !for_user => Err(ForgeApiError::NotFound {
            what: format!("organization {} on {api}", repo.owner),
        }),
        status => Err(ForgeApiError::Refused {
            status,
            message: forge_message(&reply.body, token),
        }),
    }
}

/// The token's user (`GET /user` → `login`).
fn authenticated_login(
    http: &ForgeHttp,
    api: &str,
    token: &SecretValue,
) -> Result<String, ForgeApiError> {
    let url = format!("{api}/user");
    let reply = http.get(&url, TokenHeader::Bearer(token), HEADERS)?;
    match reply.status {
        200 => required_str(&reply.json(&url)?, "login", &url),
        401 => Err(ForgeApiError::Unauthorized {
            forge_url: api.to_owned(),
        }),
        status => Err(ForgeApiError::Refused {
            status,
            message: forge_message(&reply.body, token),
        }),
    }
}

/// True when a 422 body says the name already exists.
fn names_taken(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json.get("errors").cloned())
        .and_then(|errors| errors.as_array().cloned())
        .is_some_and(|errors| {
            errors.iter().any(|error| {
                error.get("message").and_then(serde_json::Value::as_str) == Some(ALREADY_EXISTS)
            })
        })
}
