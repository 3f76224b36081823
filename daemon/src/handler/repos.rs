//! Registered repositories: `register_repo`, `unregister_repo` and `list_repos`, owner key only.
//!
//! The hub does not canonicalize the client's path nor check that the directory exists: the
//! client sends the absolute, canonical path; the [`RepoBook`](crate::repos::RepoBook) checks its
//! shape and persists it. The only file the hub then opens there is the repository's
//! `.hyperforge/config.toml` (a regular file, size-capped, see [`crate::declared`]): registering
//! reads it at once, so `status` shows its declared scopes, and wakes the watcher.

use auth_hub_protocol::request::{RegisterRepo, UnregisterRepo};
use auth_hub_protocol::response::{RepoList, RepoRegistered, RepoUnregistered};
use auth_hub_protocol::Response;
use chrono::Utc;

use crate::audit::AuditRecord;
use crate::error::HubError;
use crate::handler::owner::flush_audit;
use crate::hub::{lock, Hub};
use crate::session::Session;

/// Handles `register_repo`: registers the path; registering it again changes nothing.
///
/// # Errors
/// Not the owner key; a path that is not absolute and canonical; the cap on repositories;
/// persistence errors (nothing changed).
pub fn register_repo(
    hub: &Hub,
    session: &Session,
    request: &RegisterRepo,
) -> Result<Response, HubError> {
    session.require_owner("register_repo")?;
    let added = lock(&hub.repos).register(&request.path, Utc::now())?;
    hub.refresh_declared(&request.path);
    hub.repos_changed.notify_one();
    hub.record(
        session,
        AuditRecord {
            event: "repo_registered",
            path: Some(&request.path),
            outcome: "ok",
            detail: (!added).then_some("registered already"),
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::RepoRegistered(RepoRegistered {
        path: request.path.clone(),
        added,
    }))
}

/// Handles `unregister_repo`: forgets the path; forgetting an unknown path changes nothing.
///
/// # Errors
/// Not the owner key; a path that is not absolute and canonical; persistence errors (nothing
/// changed).
pub fn unregister_repo(
    hub: &Hub,
    session: &Session,
    request: &UnregisterRepo,
) -> Result<Response, HubError> {
    session.require_owner("unregister_repo")?;
    let removed = lock(&hub.repos).unregister(&request.path)?;
    lock(&hub.declared).remove(&request.path);
    hub.repos_changed.notify_one();
    hub.record(
        session,
        AuditRecord {
            event: "repo_unregistered",
            path: Some(&request.path),
            outcome: "ok",
            detail: (!removed).then_some("was not registered"),
            ..Default::default()
        },
    );
    flush_audit(hub);
    Ok(Response::RepoUnregistered(RepoUnregistered {
        path: request.path.clone(),
        removed,
    }))
}

/// Handles `list_repos`.
///
/// # Errors
/// Not the owner key.
pub fn list_repos(hub: &Hub, session: &Session) -> Result<Response, HubError> {
    session.require_owner("list_repos")?;
    Ok(Response::Repos(RepoList {
        repos: lock(&hub.repos).list(),
    }))
}

#[cfg(test)]
mod tests {

    use auth_hub_protocol::response::PeerInfo;
    use auth_hub_protocol::ErrorCode;

    use super::*;
    use crate::session::SessionKey;

    fn session(key: Option<(&str, bool)>) -> Session {
        Session {
            peer: PeerInfo {
                uid: 1000,
                pid: Some(42),
                exe: None,
            },
            client_name: "test".into(),
            key: key.map(|(name, owner)| SessionKey {
                name: name.into(),
                owner,
                hash: String::new(),
            }),
        }
    }

    fn register(path: &str) -> RegisterRepo {
        RegisterRepo { path: path.into() }
    }

    #[tokio::test]
    async fn owner_registers_lists_and_unregisters_with_audit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = crate::test_support::in_memory(dir.path());
        let owner = session(Some(("owner", true)));
        let first = register_repo(&hub, &owner, &register("/home/a/app")).expect("ok");
        assert!(matches!(
            first,
            Response::RepoRegistered(RepoRegistered { added: true, .. })
        ));
        let again = register_repo(&hub, &owner, &register("/home/a/app")).expect("ok");
        assert!(matches!(
            again,
            Response::RepoRegistered(RepoRegistered { added: false, .. })
        ));
        let Response::Repos(list) = list_repos(&hub, &owner).expect("ok") else {
            panic!("repos response")
        };
        assert_eq!(list.repos.len(), 1);
        assert_eq!(list.repos[0].path, "/home/a/app");
        let Response::Status(status) = crate::handler::status::status(&hub, &owner).await else {
            panic!("status response")
        };
        assert_eq!(status.registered_repos, 1);

        let gone = unregister_repo(
            &hub,
            &owner,
            &UnregisterRepo {
                path: "/home/a/app".into(),
            },
        )
        .expect("ok");
        assert!(matches!(
            gone,
            Response::RepoUnregistered(RepoUnregistered { removed: true, .. })
        ));

        hub.audit.flush().expect("flush");
        let lines = hub.audit.tail(0).expect("audit");
        let registered: Vec<_> = lines
            .iter()
            .filter(|l| l.contains("\"repo_registered\""))
            .collect();
        assert_eq!(registered.len(), 2, "{lines:?}");
        assert!(
            registered[0].contains("\"path\":\"/home/a/app\""),
            "{}",
            registered[0]
        );
        assert!(lines.iter().any(|l| l.contains("\"repo_unregistered\"")));
    }

    #[test]
    fn service_and_keyless_sessions_are_refused_like_other_owner_verbs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = crate::test_support::in_memory(dir.path());
        let service = session(Some(("ci", false)));
        let error = register_repo(&hub, &service, &register("/a")).expect_err("service key");
        assert_eq!(error.code(), ErrorCode::BadRequest);
        assert_eq!(error.to_string(), "register_repo needs the owner key");
        let grants = crate::handler::owner::list_grants(&hub, &service).expect_err("service");
        assert_eq!(grants.code(), error.code());
        for error in [
            unregister_repo(&hub, &service, &UnregisterRepo { path: "/a".into() }),
            list_repos(&hub, &service),
        ] {
            assert!(
                matches!(error, Err(HubError::OwnerRequired(_))),
                "{error:?}"
            );
        }
        let keyless = register_repo(&hub, &session(None), &register("/a")).expect_err("keyless");
        assert_eq!(keyless.code(), ErrorCode::InvalidMasterToken);
        assert!(lock(&hub.repos).is_empty());
    }

    #[test]
    fn bad_paths_and_the_cap_are_bad_requests_and_write_errors_are_backend() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hub = crate::test_support::in_memory(dir.path());
        let owner = session(Some(("owner", true)));
        let error = register_repo(&hub, &owner, &register("src/app")).expect_err("relative");
        assert_eq!(error.code(), ErrorCode::BadRequest);
        assert_eq!(
            error.to_reply().message,
            "repository path \"src/app\" is relative; send an absolute, canonical path"
        );
        let error = HubError::from(crate::repos::RepoStoreError::TooMany { limit: 1 });
        assert_eq!(error.code(), ErrorCode::BadRequest);

        std::fs::remove_dir_all(&hub.paths.state_dir).expect("remove state dir");
        let error = register_repo(&hub, &owner, &register("/a")).expect_err("cannot write");
        assert_eq!(error.code(), ErrorCode::Backend);
        assert!(lock(&hub.repos).is_empty());
    }
}
