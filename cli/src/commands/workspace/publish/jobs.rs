//! The two steps the schedule runs for `workspace publish`: releasing one unit (its token
//! fetched, then the release transaction) and pushing one repository's branch and tags to its
//! forges, with the outcomes they report back.

use auth_hub_client::HubClient;

use super::plan::{project, refusal_text};
use super::Unit;
use crate::commands::forge_access::{self, Decisions};
use crate::commands::push::{head, push_forge, ForgePush};
use crate::commands::workspace::packages::Workspace;
use crate::package::release::{self, ReleaseError, Released};
use crate::progress::Progress;

/// How one release ended.
pub(super) enum Finish {
    Published(Released),
    /// The registry has it, but tagging afterwards failed.
    PublishedBut(String),
    Failed {
        error: String,
        refusal: bool,
    },
}

/// How one repository's push ended: each forge's outcome, or why none was tried.
pub(super) type RepoPush = Result<Vec<ForgePush>, String>;

/// Releases one unit: fetches its registry token (its scope was granted up front), then runs
/// the release transaction in its repository.
pub(super) async fn release_unit(
    client: &HubClient,
    workspace: &Workspace,
    unit: &Unit,
    allow_dirty: bool,
    progress: &Progress,
) -> Finish {
    let (Ok(plan), Some(project)) = (&unit.plan, project(workspace, unit.repo)) else {
        return Finish::Failed {
            error: "nothing to release".to_owned(),
            refusal: false,
        };
    };
    let task = progress.task(&format!(
        "{} {} → {}",
        plan.package.name, plan.package.version, plan.version
    ));
    task.set("fetching the token");
    let token = match forge_access::fetch_token(client, &plan.token_path).await {
        Ok(token) => token,
        Err(failure) => {
            return Finish::Failed {
                refusal: failure.is_refusal(),
                error: refusal_text(&failure),
            }
        }
    };
    match release::release(&project.repo, plan, &token, allow_dirty, &task).await {
        Ok(released) => Finish::Published(released),
        Err(ReleaseError::AfterPublish(message)) => {
            Finish::PublishedBut(format!("published, but {message}"))
        }
        Err(error) => Finish::Failed {
            error: error.to_string(),
            refusal: false,
        },
    }
}

/// Pushes repository `repo`'s branch and tags to each of its forges, as `hyperforge push --tags`
/// does.
pub(super) async fn push_repository(
    client: &HubClient,
    workspace: &Workspace,
    repo: usize,
    decisions: &Decisions,
    progress: &Progress,
) -> RepoPush {
    let project = project(workspace, repo).ok_or("the repository cannot be read")?;
    let head = head(project)
        .await
        .map_err(|error| error.message().to_owned())?;
    let name = &workspace.repositories[repo].name;
    let mut outcomes = Vec::with_capacity(project.forges.len());
    for forge in &project.forges {
        let task = progress.task(&format!("{name} → {}", forge.forge.name));
        outcomes.push(push_forge(client, project, forge, &head, true, decisions, &task).await);
    }
    Ok(outcomes)
}
