//! Creating a project on GitLab (gitlab.com or self-hosted) through its REST API v4.
//!
//! Follows docs.gitlab.com/api/namespaces ("Get details on a namespace") and
//! docs.gitlab.com/api/projects ("Create a project"), confirmed with the search tool:
//! - `GET {api}/namespaces/{id or URL-encoded path}` → 200 with `id`; 404
//!   `{"message":"404 Namespace Not Found"}`; 401 `{"message":"401 Unauthorized"}`.
//!   A user's own namespace is found the same way as a group (`group/subgroup` as
//!   `group%2Fsubgroup`).
//! - `POST {api}/projects` with `{"name", "path", "namespace_id", "visibility":
//!   "public"|"private", "description"?}` → 201 with the project (`web_url`,
//!   `http_url_to_repo`).
//! - 400 `{"message":{"name":["has already been taken"],"path":["has already been taken"]}}`
//!   for an existing project (Rails' uniqueness validation message).
//! - Header `PRIVATE-TOKEN: TOKEN`.

use auth_hub_protocol::SecretValue;
use serde_json::json;

use super::api::{
    forge_message, optional_str, path_segment, required_str, Created, ForgeApiError, NewRepo,
    Visibility,
};
use super::http::{ForgeHttp, TokenHeader};

/// The headers every GitLab call carries besides the token and `User-Agent`.
const HEADERS: &[(&str, &str)] = &[("Accept", "application/json")];

/// GitLab's uniqueness validation message.
const TAKEN: &str = "has already been taken";

/// Creates `repo` on the GitLab API at `api` (such as `https://gitlab.com/api/v4`).
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
    let namespace_id = namespace_id(http, api, token, repo.owner)?;
    let url = format!("{api}/projects");
    let mut body = json!({
        "name": repo.name,
        "path": repo.name,
        "namespace_id": namespace_id,
        "visibility": match repo.visibility {
            Visibility::Public => "public",
            Visibility::Private => "private",
        },
    });
    if let Some(description) = repo.description {
        body["description"] = json!(description);
    }
    let reply = http.post_json(&url, TokenHeader::PrivateToken(token), HEADERS, &body)?;
    match reply.status {
        201 => {
            let json = reply.json(&url)?;
            Ok(Created::Created {
                web_url: required_str(&json, "web_url", &url)?,
                clone_url: optional_str(&json, "http_url_to_repo"),
            })
        }
        400 if already_taken(&reply.body) => Ok(Created::AlreadyExists),
        401 => Err(ForgeApiError::Unauthorized {
            forge_url: api.to_owned(),
        }),
        status => Err(ForgeApiError::Refused {
            status,
            message: forge_message(&reply.body, token),
        }),
    }
}

/// The numeric id of the namespace (user or group path) `owner`.
fn namespace_id(
    http: &ForgeHttp,
    api: &str,
    token: &SecretValue,
    owner: &str,
) -> Result<u64, ForgeApiError> {
    let url = format!("{api}/namespaces/{}", path_segment(owner));
    let reply = http.get(&url, TokenHeader::PrivateToken(token), HEADERS)?;
    match reply.status {
        200 => reply
            .json(&url)?
            .get("id")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| ForgeApiError::BadResponse {
                url: url.clone(),
                detail: "no numeric \"id\" in the namespace".into(),
            }),
        401 => Err(ForgeApiError::Unauthorized {
            forge_url: api.to_owned(),
        }),
        404 => Err(ForgeApiError::NotFound {
            what: format!("namespace {owner} on {api}"),
        }),
        status => Err(ForgeApiError::Refused {
            status,
            message: forge_message(&reply.body, token),
        }),
    }
}

/// True when a 400 body says the project's name or path is taken.
fn already_taken(body: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    ["name", "path"].iter().any(|field| {
        json.get("message")
            .and_then(|message| message.get(field))
            .and_then(serde_json::Value::as_array)
            .is_some_and(|messages| {
                messages
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .any(|text| text.contains(TAKEN))
            })
    })
}
