//! `hyperforge workspace publish`: every package of a workspace released to its registry in
//! dependency order, then each repository pushed to its forges with its new tags.
//!
//! The run is decided before anything changes: the packages found (one per repository, or the
//! members of a Cargo workspace), the order (a cycle is a config error naming it), the selection
//! (`--package`, `--deps`), each package's new version and the requirement rewrites its bumped
//! dependencies cause, and one approval for every registry and forge scope (the design's
//! `Requesting access to:` block). A refused scope fails only the packages that need it; their
//! dependents are skipped, and independent packages still publish. Releases then run as
//! [`super::schedule`] allows (`-j N`, never two in one repository), each with
//! [`crate::package::release::release`]; a repository is pushed once its last package ended.
//!
//! The parts: [`plan`](mod@plan) decides the run and finds what would stop it before anything
//! changes, [`jobs`] are the two steps the schedule runs (one release, one repository's push),
//! [`report`] prints the run as it goes and renders `--json`, [`summary`] counts the outcomes
//! and picks the exit code, and [`dry_run`](mod@dry_run) shows all of it without changing
//! anything.

mod dry_run;
mod jobs;
mod plan;
mod report;
mod summary;

use std::collections::BTreeMap;

use serde_json::json;

use self::dry_run::dry_run;
use self::jobs::{push_repository, release_unit, Finish, RepoPush};
use self::plan::{plan, push_problem, refusal, release_problem, repositories_of, scopes_of};
use self::report::{package_json, push_json, report_repositories, repositories_json, Printer};
use self::summary::Summary;
use super::approval::{request, scopes_json};
use super::packages;
use super::schedule::{self, Event, Job, Schedule, State};
use super::WorkspacePublishArgs;
use crate::commands::forge_access::{self, Decisions};
use crate::commands::Context;
use crate::config::UserConfig;
use crate::error::CliError;
use crate::package::release::Plan;
use crate::progress::Progress;

/// How many repositories are opened at once while discovering.
const OPEN_JOBS: usize = 8;

/// One package of the run, in publish order.
struct Unit {
    /// Its index in [`Workspace::packages`](packages::Workspace::packages).
    package: usize,
    /// Its repository's index in [`Workspace::repositories`](packages::Workspace::repositories).
    repo: usize,
    /// The units (positions in the run) it depends on.
    deps: Vec<usize>,
    /// Its release, or why none can be planned.
    plan: Result<Plan, String>,
}

/// How a unit ended (or, before the run, stands).
#[derive(Debug, Clone)]
enum Status {
    /// Not run (a dry run, or never reached).
    Planned,
    /// In its registry; `warning` when something after the publish failed.
    Published {
        tag: String,
        warning: Option<String>,
    },
    /// Not published; `refusal` when the hub refused a scope it needs.
    Failed { error: String, refusal: bool },
    /// Not attempted: the unit it depends on did not publish.
    Skipped { on: usize },
}

/// Runs `workspace publish`.
///
/// # Errors
/// Usage errors (2): no repository, a dependency cycle, an unknown `--package`. After the run:
/// access denied (3) when every failure was a refusal by the hub and nothing was published,
/// else a failure (1) when any package failed or was skipped, a push failed or a repository
/// could not be read.
pub async fn run(ctx: &Context, args: WorkspacePublishArgs) -> Result<(), CliError> {
    let root = &args.path;
    let user = UserConfig::load()?;
    let workspace = packages::discover(root, &user, OPEN_JOBS).await?;
    if !ctx.out.is_json() {
        report_repositories(&workspace, args.dry_run);
    }
    let units = plan(&workspace, &user, &args.bump, &args.packages, args.deps)?;
    let push = !args.no_push;
    let reason = format!("hyperforge workspace publish {}", root.display());
    if args.dry_run {
        return dry_run(ctx, &workspace, &units, push, reason).await;
    }

    // What fails before any token is asked for fails first: plans that cannot be made, what a
    // release would refuse (a dirty work tree, a tag that exists), and repositories that could
    // not be pushed afterwards. So one dirty repository does not stop a run half-way.
    let mut statuses = vec![Status::Planned; units.len()];
    let mut repo_errors: BTreeMap<usize, String> = BTreeMap::new();
    if push {
        for repo in repositories_of(&units, &statuses) {
            if let Some(error) = push_problem(&workspace, repo).await {
                repo_errors.insert(repo, error);
            }
        }
    }
    for (position, unit) in units.iter().enumerate() {
        if let Err(error) = &unit.plan {
            statuses[position] = failed(error.clone(), false);
        } else if let Some(error) = repo_errors.get(&unit.repo) {
            statuses[position] = failed(error.clone(), false);
        } else if let Some(error) = release_problem(&workspace, unit, args.allow_dirty).await {
            statuses[position] = failed(error, false);
        }
    }
    let mut schedule = Schedule::new(
        units.iter().map(|unit| unit.deps.clone()).collect(),
        units.iter().map(|unit| unit.repo).collect(),
    );
    let early = Printer {
        ctx,
        progress: None,
        workspace: &workspace,
        units: &units,
        error: None,
    };
    settle(&mut schedule, &mut statuses, &early);

    let mut scopes = Vec::new();
    let mut decisions = Decisions::default();
    let mut pushes: BTreeMap<usize, RepoPush> = BTreeMap::new();
    if statuses
        .iter()
        .any(|status| matches!(status, Status::Planned))
    {
        let client = forge_access::connect_forges(reason).await?;
        let pushed = if push {
            repositories_of(&units, &statuses)
        } else {
            Vec::new()
        };
        scopes = scopes_of(&workspace, &units, &statuses, &pushed);
        decisions = request(ctx, &client, &scopes, args.wait.duration()).await?;
        for (position, unit) in units.iter().enumerate() {
            if !matches!(statuses[position], Status::Planned) {
                continue;
            }
            if let Some(refusal) = refusal(&workspace, unit, &decisions, push) {
                statuses[position] = failed(refusal, true);
            }
        }
        settle(&mut schedule, &mut statuses, &early);

        let progress = Progress::new(&ctx.out).with_overall(
            u64::try_from(units.len()).unwrap_or(u64::MAX),
            "packages done",
        );
        let mut printer = Printer {
            progress: Some(&progress),
            ..early
        };
        {
            let (client, decisions, progress) = (&client, &decisions, &progress);
            let (workspace, units) = (&workspace, &units);
            let allow_dirty = args.allow_dirty;
            let release = |position: usize| -> Job<'_, Finish> {
                Box::pin(release_unit(
                    client,
                    workspace,
                    &units[position],
                    allow_dirty,
                    progress,
                ))
            };
            let mut push_repo = |repo: usize| -> Job<'_, RepoPush> {
                Box::pin(push_repository(
                    client, workspace, repo, decisions, progress,
                ))
            };
            let report = |event: Event<Finish, RepoPush>| match event {
                Event::Released(position, finish) => {
                    progress.advance();
                    statuses[position] = match finish {
                        Finish::Published(released) => {
                            printer.published(position);
                            Status::Published {
                                tag: released.tag,
                                warning: None,
                            }
                        }
                        Finish::PublishedBut(warning) => {
                            printer.published(position);
                            printer.warn(position, &warning);
                            Status::Published {
                                tag: tag_of(&units[position]),
                                warning: Some(warning),
                            }
                        }
                        Finish::Failed { error, refusal } => {
                            printer.failed(position, &error);
                            Status::Failed { error, refusal }
                        }
                    };
                }
                Event::Skipped { unit, on } => {
                    progress.advance();
                    statuses[unit] = Status::Skipped { on };
                    printer.skipped(unit, on, &statuses);
                }
                Event::Pushed(repo, outcome) => {
                    printer.pushed(repo, &outcome);
                    pushes.insert(repo, outcome);
                }
            };
            schedule::drive(
                &mut schedule,
                usize::from(args.jobs),
                release,
                |finish: &Finish| !matches!(finish, Finish::Failed { .. }),
                if push { Some(&mut push_repo) } else { None },
                report,
            )
            .await;
        }
        progress.finish();
        if let Some(error) = printer.error.take() {
            return Err(error);
        }
    }

    let names: Vec<&str> = units
        .iter()
        .map(|unit| workspace.packages[unit.package].name.as_str())
        .collect();
    let summary = Summary::new(&statuses, &names, &pushes, &workspace);
    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "scopes": scopes_json(&scopes, &decisions),
            "packages": units.iter().zip(&statuses).map(|(unit, status)| {
                package_json(&workspace, &units, unit, status)
            }).collect::<Vec<_>>(),
            "pushes": pushes.iter().map(|(repo, outcome)| push_json(&workspace, *repo, outcome))
                .collect::<Vec<_>>(),
            "repos": repositories_json(&workspace),
        }))?;
    } else {
        ctx.out.line(&summary.line())?;
    }
    summary.result()
}

/// A failure, or a refusal by the hub when `refusal`.
fn failed(error: String, refusal: bool) -> Status {
    Status::Failed { error, refusal }
}

/// Applies the failures decided before the run to `schedule`: each is reported, and the
/// packages depending on it are skipped (and reported).
fn settle(schedule: &mut Schedule, statuses: &mut [Status], printer: &Printer<'_>) {
    for position in 0..statuses.len() {
        let Status::Failed { error, .. } = &statuses[position] else {
            continue;
        };
        if schedule.state(position) != State::Waiting {
            continue;
        }
        printer.failed(position, error);
        for skipped in schedule.fail(position) {
            if let State::Skipped { on } = schedule.state(skipped) {
                statuses[skipped] = Status::Skipped { on };
                printer.skipped(skipped, on, statuses);
            }
        }
    }
}

/// The tag a plan creates (what `--json` shows even when tagging failed).
fn tag_of(unit: &Unit) -> String {
    unit.plan
        .as_ref()
        .map(|plan| plan.tag.clone())
        .unwrap_or_default()
}
