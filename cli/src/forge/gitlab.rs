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

#[cfg(test)]
mod tests {
    use auth_hub_protocol::SecretValue;
    use fake_forge::forge_api::{FakeForge, FakeKind};
    use serde_json::json;

    use crate::forge::api::{create_repo, Created, ForgeApiError, NewRepo, Visibility};
    use crate::forge::ForgeKind;

    const TOKEN: &str = "glpat-test-token-0123456789";

    fn token(text: &str) -> SecretValue {
        SecretValue::new(text.to_owned())
    }

    fn new_repo<'a>(owner: &'a str, name: &'a str) -> NewRepo<'a> {
        NewRepo {
            owner,
            name,
            visibility: Visibility::Private,
            description: None,
        }
    }

    fn create(forge: &FakeForge, repo: &NewRepo<'_>) -> Result<Created, ForgeApiError> {
        create_repo(ForgeKind::Gitlab, &forge.api_url(), &token(TOKEN), repo)
    }

    #[test]
    fn creates_under_the_user_with_the_exact_request() {
        let forge = FakeForge::start(FakeKind::Gitlab, TOKEN, "alice");
        let repo = NewRepo {
            visibility: Visibility::Public,
            description: Some("a tool"),
            ..new_repo("alice", "tool")
        };
        let created = create(&forge, &repo).expect("created");
        let origin = forge.origin();
        assert_eq!(
            created,
            Created::Created {
                web_url: format!("{origin}/alice/tool"),
                clone_url: Some(format!("{origin}/alice/tool.git")),
            }
        );
        let requests = forge.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            (&*requests[0].method, &*requests[0].path),
            ("GET", "/api/v4/namespaces/alice")
        );
        let post = &requests[1];
        assert_eq!((&*post.method, &*post.path), ("POST", "/api/v4/projects"));
        for request in &requests {
            assert_eq!(request.header("private-token"), Some(TOKEN));
            assert_eq!(request.header("authorization"), None);
            assert!(request
                .header("user-agent")
                .is_some_and(|agent| agent.starts_with("hyperforge/")));
        }
        assert_eq!(post.header("content-type"), Some("application/json"));
        assert_eq!(
            post.body,
            Some(json!({
                "name": "tool",
                "path": "tool",
                "namespace_id": 1,
                "visibility": "public",
                "description": "a tool",
            }))
        );
    }

    #[test]
    fn creates_under_a_subgroup() {
        let forge = FakeForge::start(FakeKind::Gitlab, TOKEN, "alice");
        forge.add_org("acme");
        forge.add_org("acme/platform");
        let created = create(&forge, &new_repo("acme/platform", "lib")).expect("created");
        assert!(
            matches!(created, Created::Created { web_url, .. } if web_url.ends_with("/acme/platform/lib"))
        );
        let requests = forge.requests();
        assert_eq!(requests[0].path, "/api/v4/namespaces/acme%2Fplatform");
        assert_eq!(
            requests[1].body,
            Some(json!({
                "name": "lib",
                "path": "lib",
                "namespace_id": 101,
                "visibility": "private",
            }))
        );
        assert_eq!(
            forge.repos(),
            [("acme/platform".to_owned(), "lib".to_owned())]
        );
    }

    #[test]
    fn an_existing_project_is_reported() {
        let forge = FakeForge::start(FakeKind::Gitlab, TOKEN, "alice");
        forge.add_org("acme");
        create(&forge, &new_repo("acme", "lib")).expect("first");
        let second = create(&forge, &new_repo("acme", "lib")).expect("not an error");
        assert_eq!(second, Created::AlreadyExists);
        assert_eq!(forge.repos().len(), 1);
    }

    #[test]
    fn a_wrong_token_is_unauthorized_and_never_shown() {
        let forge = FakeForge::start(FakeKind::Gitlab, TOKEN, "alice");
        let wrong = "glpat-wrong-token-abcdef";
        let error = create_repo(
            ForgeKind::Gitlab,
            &forge.api_url(),
            &token(wrong),
            &new_repo("alice", "tool"),
        )
        .expect_err("refused");
        assert!(
            matches!(error, ForgeApiError::Unauthorized { .. }),
            "{error}"
        );
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(wrong) && !shown.contains(TOKEN), "{shown}");
    }

    #[test]
    fn a_missing_namespace_is_not_found() {
        let forge = FakeForge::start(FakeKind::Gitlab, TOKEN, "alice");
        let error = create(&forge, &new_repo("nosuch", "tool")).expect_err("no group");
        assert!(matches!(error, ForgeApiError::NotFound { .. }), "{error}");
    }

    #[test]
    fn garbage_answers_are_bad_responses() {
        let forge = FakeForge::start(FakeKind::Gitlab, TOKEN, "alice");
        forge.override_response("GET", "/api/v4/namespaces/alice", 200, r#"{"id":"one"}"#);
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("bad id");
        assert!(
            matches!(error, ForgeApiError::BadResponse { .. }),
            "{error}"
        );

        forge.override_response("GET", "/api/v4/namespaces/alice", 200, r#"{"id":1}"#);
        forge.override_response("POST", "/api/v4/projects", 201, "not json at all");
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("garbage");
        assert!(
            matches!(error, ForgeApiError::BadResponse { .. }),
            "{error}"
        );
    }

    #[test]
    fn other_400s_are_refusals() {
        let forge = FakeForge::start(FakeKind::Gitlab, TOKEN, "alice");
        forge.override_response(
            "POST",
            "/api/v4/projects",
            400,
            r#"{"message":{"path":["can contain only letters"]}}"#,
        );
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("refused");
        assert!(
            matches!(&error, ForgeApiError::Refused { status: 400, message } if message == "path can contain only letters"),
            "{error}"
        );
    }
}
