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

#[cfg(test)]
mod tests {
    use auth_hub_protocol::SecretValue;
    use fake_forge::forge_api::{FakeForge, FakeKind};
    use serde_json::json;

    use crate::forge::api::{create_repo, Created, ForgeApiError, NewRepo, Visibility};
    use crate::forge::ForgeKind;

    const TOKEN: &str = "gitea_test_token_0123456789";

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
        create_repo(ForgeKind::Gitea, &forge.api_url(), &token(TOKEN), repo)
    }

    #[test]
    fn creates_under_the_user_with_the_exact_request() {
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
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
            ("GET", "/api/v1/user")
        );
        let post = &requests[1];
        assert_eq!((&*post.method, &*post.path), ("POST", "/api/v1/user/repos"));
        for request in &requests {
            assert_eq!(
                request.header("authorization"),
                Some(format!("token {TOKEN}").as_str())
            );
            assert!(request
                .header("user-agent")
                .is_some_and(|agent| agent.starts_with("hyperforge/")));
        }
        assert_eq!(post.header("content-type"), Some("application/json"));
        assert_eq!(
            post.body,
            Some(json!({"name": "tool", "description": "a tool", "private": false}))
        );
    }

    #[test]
    fn creates_under_an_org() {
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
        forge.add_org("acme");
        let created = create(&forge, &new_repo("acme", "lib")).expect("created");
        assert!(
            matches!(created, Created::Created { web_url, .. } if web_url.ends_with("/acme/lib"))
        );
        let post = &forge.requests()[1];
        assert_eq!(
            (&*post.method, &*post.path),
            ("POST", "/api/v1/orgs/acme/repos")
        );
        assert_eq!(
            post.body,
            Some(json!({"name": "lib", "description": "", "private": true}))
        );
    }

    #[test]
    fn an_existing_repository_is_reported() {
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
        forge.add_existing_repo("alice", "tool");
        let outcome = create(&forge, &new_repo("alice", "tool")).expect("not an error");
        assert_eq!(outcome, Created::AlreadyExists);
        // A second create through the API answers the same way.
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
        create(&forge, &new_repo("alice", "tool")).expect("first");
        let second = create(&forge, &new_repo("alice", "tool")).expect("second");
        assert_eq!(second, Created::AlreadyExists);
    }

    #[test]
    fn a_wrong_token_is_unauthorized_and_never_shown() {
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
        let wrong = "gitea_wrong_token_abcdef";
        let error = create_repo(
            ForgeKind::Gitea,
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
    fn a_missing_org_is_not_found() {
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
        let error = create(&forge, &new_repo("nosuch", "tool")).expect_err("no org");
        assert!(matches!(error, ForgeApiError::NotFound { .. }), "{error}");
    }

    #[test]
    fn garbage_answers_are_bad_responses() {
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
        forge.override_response("POST", "/api/v1/user/repos", 201, "\u{0}\u{1}garbage");
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("garbage");
        assert!(
            matches!(error, ForgeApiError::BadResponse { .. }),
            "{error}"
        );

        forge.override_response("GET", "/api/v1/user", 200, "[]");
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("no login");
        assert!(
            matches!(error, ForgeApiError::BadResponse { .. }),
            "{error}"
        );
    }

    #[test]
    fn an_invalid_name_is_refused_with_the_forge_message() {
        let forge = FakeForge::start(FakeKind::Gitea, TOKEN, "alice");
        let error = create(&forge, &new_repo("alice", "bad*name")).expect_err("invalid");
        let ForgeApiError::Refused { status, message } = &error else {
            panic!("{error}");
        };
        assert_eq!((*status, message.as_str()), (422, "[Name]: AlphaDashDot"));
    }
}
