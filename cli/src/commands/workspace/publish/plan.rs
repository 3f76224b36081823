//! Deciding a `workspace publish` run before anything changes: the units in publish order with
//! their plans, the repositories to push, every scope to ask for once, and what would stop a
//! unit early (a release that would refuse, a repository that could not be pushed, a refused
//! scope).

use auth_hub_protocol::SecretScope;

use super::{Status, Unit};
use crate::commands::forge_access::{self, Decisions, ForgeFailure};
use crate::commands::push::head;
use crate::commands::workspace::packages::{Contents, Workspace};
use crate::config::UserConfig;
use crate::error::CliError;
use crate::package::release::{self, Plan};
use crate::package::{graph, registry, Bump, Registry};
use crate::project::Project;

/// Decides the run: the packages in publish order (a cycle is a usage error), the selection,
/// each selected package's plan with `bump`, and the requirement rewrites for the selected
/// packages it depends on.
///
/// A dependent that is not selected keeps its old requirement on a bumped package: it is not
/// released in this run, so its manifest is not touched (run with it selected, or `--deps` from
/// it, to move it too).
pub(super) fn plan(
    workspace: &Workspace,
    user: &UserConfig,
    bump: &Bump,
    names: &[String],
    with_deps: bool,
) -> Result<Vec<Unit>, CliError> {
    let packages = &workspace.packages;
    let order = graph::order(packages).map_err(|cycle| {
        CliError::usage(cycle.to_string())
            .with_hint("a workspace publishes each package after the ones it depends on; remove one dependency of the cycle")
    })?;
    let selected: Vec<usize> = if names.is_empty() {
        (0..packages.len()).collect()
    } else {
        graph::select(packages, names, with_deps).map_err(CliError::usage)?
    };
    let edges = graph::edges(packages);
    let run: Vec<usize> = order
        .into_iter()
        .filter(|index| selected.contains(index))
        .collect();

    let mut units: Vec<Unit> = Vec::with_capacity(run.len());
    for &index in &run {
        let package = &packages[index];
        let deps: Vec<usize> = edges[index]
            .iter()
            .filter_map(|dep| run.iter().position(|unit| unit == dep))
            .collect();
        let plan = registry_of(workspace, index, user).and_then(|registry| {
            let mut plan = Plan::new(
                package.clone(),
                registry,
                bump,
                workspace.shares_repository(index),
            )
            .map_err(|error| {
                format!("cannot bump {} {}: {error}", package.name, package.version)
            })?;
            plan.requirement_updates = deps
                .iter()
                .filter_map(|&dep| {
                    let dep_plan = units[dep].plan.as_ref().ok()?;
                    Some((dep_plan.package.name.clone(), dep_plan.version.clone()))
                })
                .collect();
            Ok(plan)
        });
        units.push(Unit {
            package: index,
            repo: workspace.repository_of[index],
            deps,
            plan,
        });
    }
    Ok(units)
}

/// The registry package `index` goes to, from its repository's `[package]` table and the
/// `[registry.<name>]` tables of both configs.
fn registry_of(workspace: &Workspace, index: usize, user: &UserConfig) -> Result<Registry, String> {
    let Contents::Packages { config, .. } = &workspace.repository(index).contents else {
        return Err("its repository cannot be read".to_owned());
    };
    let kind = workspace.packages[index].ecosystem;
    registry::resolve(kind, config.package.as_ref(), config, user)
        .map_err(|error| error.message().to_owned())
}

/// The repositories that would be pushed: those with a package that can still be released.
pub(super) fn repositories_of(units: &[Unit], statuses: &[Status]) -> Vec<usize> {
    let mut repos: Vec<usize> = units
        .iter()
        .zip(statuses)
        .filter(|(unit, status)| unit.plan.is_ok() && matches!(status, Status::Planned))
        .map(|(unit, _)| unit.repo)
        .collect();
    repos.sort_unstable();
    repos.dedup();
    repos
}

/// The project of repository `repo`, when it was opened.
pub(super) fn project(workspace: &Workspace, repo: usize) -> Option<&Project> {
    match &workspace.repositories[repo].contents {
        Contents::Packages { project, .. } => Some(project),
        _ => None,
    }
}

/// Why repository `repo` could not be pushed, found before anything changes: no branch to push,
/// or a forge whose org or URL is unusable.
pub(super) async fn push_problem(workspace: &Workspace, repo: usize) -> Option<String> {
    let project = project(workspace, repo)?;
    if let Err(error) = head(project).await {
        return Some(format!("cannot push: {}", error.message()));
    }
    for forge in &project.forges {
        let usable = forge_access::secret_path(forge)
            .and_then(|(org, _)| forge_access::transfer_url(forge, &org, &project.name()));
        if let Err(failure) = usable {
            return Some(format!(
                "cannot push to {}: {}",
                forge.forge.name,
                failure.reason()
            ));
        }
    }
    None
}

/// What the release of `unit` would refuse before changing anything, asked up front.
pub(super) async fn release_problem(
    workspace: &Workspace,
    unit: &Unit,
    allow_dirty: bool,
) -> Option<String> {
    let (Ok(plan), Some(project)) = (&unit.plan, project(workspace, unit.repo)) else {
        return None;
    };
    release::check(&project.repo, plan, allow_dirty)
        .await
        .err()
        .map(|error| error.to_string())
}

/// Every scope the run needs, once each: the registries' of the packages that can still be
/// released (in publish order), then the forges' of the repositories to push.
pub(super) fn scopes_of(
    workspace: &Workspace,
    units: &[Unit],
    statuses: &[Status],
    pushed: &[usize],
) -> Vec<SecretScope> {
    let mut scopes: Vec<SecretScope> = Vec::new();
    let mut add = |scope: SecretScope| {
        if !scopes.iter().any(|known| known.as_str() == scope.as_str()) {
            scopes.push(scope);
        }
    };
    for (unit, status) in units.iter().zip(statuses) {
        if let (Ok(plan), Status::Planned) = (&unit.plan, status) {
            add(plan.token_path.parent_scope());
        }
    }
    for &repo in pushed {
        if let Some(project) = project(workspace, repo) {
            forge_access::scopes_of(&project.forges)
                .into_iter()
                .for_each(&mut add);
        }
    }
    scopes
}

/// The refusal that stops `unit` before anything changes: its registry's scope, or (when
/// pushing) a scope of one of its repository's forges, since its tag could not be pushed.
pub(super) fn refusal(
    workspace: &Workspace,
    unit: &Unit,
    decisions: &Decisions,
    push: bool,
) -> Option<String> {
    let plan = unit.plan.as_ref().ok()?;
    if let Some(failure) = decisions.refusal(&plan.token_path.parent_scope()) {
        return Some(refusal_text(&failure));
    }
    if push {
        let project = project(workspace, unit.repo)?;
        for forge in &project.forges {
            if let Some(failure) = decisions.refusal_of(forge) {
                return Some(format!(
                    "{}, needed to push to {}",
                    refusal_text(&failure),
                    forge.forge.name
                ));
            }
        }
    }
    None
}

/// A refusal by the hub, in a few words naming the scope.
pub(super) fn refusal_text(failure: &ForgeFailure) -> String {
    match failure {
        ForgeFailure::Denied { scope } => format!("access denied to {scope}"),
        ForgeFailure::TimedOut { scope } => format!("approval timed out for {scope}"),
        ForgeFailure::Other(message) => message.clone(),
    }
}
