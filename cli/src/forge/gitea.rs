//! Creating a repository on Gitea or Forgejo (Codeberg) through its REST API.
//!
//! Follows the Gitea/Forgejo swagger (codeberg.org/api/swagger; `routers/api/v1/repo/repo.go`
//! in go-gitea/gitea), confirmed with the search tool:
//! - `GET {api}/user` → 200 with `login`; 401 for a missing or bad token.
//! - `POST {api}/user/repos` (createCurrentUserRepo) when the owner is the token's user, else
//!   `POST {api}/orgs/{org}/repos` (createOrgRepo); body `CreateRepoOption` `{"name",
//!   "description", "private"}`; 201 with the `Repository` (`html_url`, `clone_url`).
//! - 409 "The repository with the same name already exists." for an existing name; 403 when
//!   the user may not create in the organization; 404 for an unknown organization; 422 for an
//!   invalid name (`APIValidationError`).
//! - Header `Authorization: token TOKEN`.

use auth_hub_protocol::SecretValue;
use serde_json::json;

use super::api::{
    forge_message, optional_str, path_segment, required_str, Created, ForgeApiError, NewRepo,
    Visibility,
};
use super::http::{ForgeHttp, TokenHeader};

/// The headers every Gitea call carries besides the token and `User-Agent`.
const HEADERS: &[(&str, &str)] = &[("Accept", "application/json")];

/// Creates `repo` on the Gitea/Forgejo API at `api` (such as `https://codeberg.org/api/v1`).
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
    let auth = TokenHeader::Token(token);
    let login = authenticated_login(http, api, token)?;
    let for_user = login.eq_ignore_ascii_case(repo.owner);
    let url = if for_user {
        format!("{api}/user/repos")
    } else {
        format!("{api}/orgs/{}/repos", path_segment(repo.owner))
    };
    let body = json!({
        "name": repo.name,
        "description": repo.description.unwrap_or_default(),
        "private": repo.visibility == Visibility::Private,
    });
    let reply = http.post_json(&url, auth, HEADERS, &body)?;
    match reply.status {
        201 => {
            let json = reply.json(&url)?;
            Ok(Created::Created {
                web_url: required_str(&json, "html_url", &url)?,
                clone_url: optional_str(&json, "clone_url"),
            })
        }
        409 => Ok(Created::AlreadyExists),
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
    let reply = http.get(&url, TokenHeader::Token(token), HEADERS)?;
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
