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

#[cfg(test)]
mod tests {
    use auth_hub_protocol::SecretValue;
    use fake_forge::forge_api::{FakeForge, FakeKind};
    use serde_json::json;

    use crate::forge::api::{create_repo, Created, ForgeApiError, NewRepo, Visibility};
    use crate::forge::ForgeKind;

    const TOKEN: &str = "ghp_test_token_0123456789";

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
        create_repo(ForgeKind::Github, &forge.api_url(), &token(TOKEN), repo)
    }

    #[test]
    fn creates_under_the_user_with_the_exact_request() {
        let forge = FakeForge::start(FakeKind::Github, TOKEN, "alice");
        let repo = NewRepo {
            visibility: Visibility::Public,
            description: Some("a tool"),
            ..new_repo("Alice", "tool")
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
        assert_eq!((&*requests[0].method, &*requests[0].path), ("GET", "/user"));
        let post = &requests[1];
        assert_eq!((&*post.method, &*post.path), ("POST", "/user/repos"));
        for request in &requests {
            assert_eq!(
                request.header("authorization"),
                Some(format!("Bearer {TOKEN}").as_str())
            );
            assert_eq!(
                request.header("accept"),
                Some("application/vnd.github+json")
            );
            assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
            assert!(request
                .header("user-agent")
                .is_some_and(|agent| agent.starts_with("hyperforge/")));
        }
        assert_eq!(post.header("content-type"), Some("application/json"));
        assert_eq!(
            post.body,
            Some(json!({"name": "tool", "description": "a tool", "private": false}))
        );
        assert_eq!(forge.repos(), [("alice".to_owned(), "tool".to_owned())]);
    }

    #[test]
    fn creates_under_an_org() {
        let forge = FakeForge::start(FakeKind::Github, TOKEN, "alice");
        forge.add_org("acme");
        let created = create(&forge, &new_repo("acme", "lib")).expect("created");
        assert!(
            matches!(created, Created::Created { web_url, .. } if web_url.ends_with("/acme/lib"))
        );
        let post = &forge.requests()[1];
        assert_eq!((&*post.method, &*post.path), ("POST", "/orgs/acme/repos"));
        assert_eq!(post.body, Some(json!({"name": "lib", "private": true})));
    }

    #[test]
    fn an_existing_repository_is_reported() {
        let forge = FakeForge::start(FakeKind::Github, TOKEN, "alice");
        forge.add_existing_repo("alice", "tool");
        let outcome = create(&forge, &new_repo("alice", "tool")).expect("not an error");
        assert_eq!(outcome, Created::AlreadyExists);
        assert_eq!(forge.repos().len(), 1);
    }

    #[test]
    fn a_wrong_token_is_unauthorized_and_never_shown() {
        let forge = FakeForge::start(FakeKind::Github, TOKEN, "alice");
        let wrong = "ghp_wrong_token_abcdef";
        let error = create_repo(
            ForgeKind::Github,
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
        assert!(forge.repos().is_empty());
    }

    #[test]
    fn a_missing_org_is_not_found() {
        let forge = FakeForge::start(FakeKind::Github, TOKEN, "alice");
        let error = create(&forge, &new_repo("nosuch", "tool")).expect_err("no org");
        assert!(matches!(error, ForgeApiError::NotFound { .. }), "{error}");
        assert!(error.to_string().contains("nosuch"));
    }

    #[test]
    fn garbage_answers_are_bad_responses() {
        let forge = FakeForge::start(FakeKind::Github, TOKEN, "alice");
        forge.override_response("POST", "/user/repos", 201, "<html>surprise</html>");
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("garbage");
        assert!(
            matches!(error, ForgeApiError::BadResponse { .. }),
            "{error}"
        );

        forge.override_response("POST", "/user/repos", 201, r#"{"html_url": 7}"#);
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("no url");
        assert!(
            matches!(error, ForgeApiError::BadResponse { .. }),
            "{error}"
        );

        forge.override_response("GET", "/user", 200, r#"{"id": 1}"#);
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("no login");
        assert!(
            matches!(error, ForgeApiError::BadResponse { .. }),
            "{error}"
        );
    }

    #[test]
    fn other_refusals_carry_a_clean_message() {
        let forge = FakeForge::start(FakeKind::Github, TOKEN, "alice");
        let echo = format!(
            "{{\"message\":\"no \\u001b[1m{TOKEN} {}\"}}",
            "x".repeat(500)
        );
        forge.override_response("POST", "/user/repos", 403, &echo);
        let error = create(&forge, &new_repo("alice", "tool")).expect_err("refused");
        let ForgeApiError::Refused { status, message } = &error else {
            panic!("{error}");
        };
        assert_eq!(*status, 403);
        assert!(!message.contains(TOKEN) && !message.contains('\u{1b}'));
        assert!(message.chars().count() <= 301);
    }
}
