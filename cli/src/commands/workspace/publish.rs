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

use std::collections::BTreeMap;

use auth_hub_client::HubClient;
use auth_hub_protocol::SecretScope;
use serde_json::{json, Value};

use super::approval::{request, scopes_json};
use super::packages::{self, Contents, Workspace};
use super::schedule::{self, Event, Job, Schedule, State};
use super::WorkspacePublishArgs;
use crate::commands::forge_access::{self, Access, Decisions, ForgeFailure};
use crate::commands::push::{head, push_forge, ForgePush};
use crate::commands::Context;
use crate::config::UserConfig;
use crate::error::{CliError, ErrorKind};
use crate::package::release::{self, Plan, ReleaseError, Released};
use crate::package::{graph, registry, Bump, Package, Registry};
use crate::progress::Progress;
use crate::project::Project;

/// How many repositories are opened at once while discovering.
const OPEN_JOBS: usize = 8;

/// One package of the run, in publish order.
struct Unit {
    /// Its index in [`Workspace::packages`].
    package: usize,
    /// Its repository's index in [`Workspace::repositories`].
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

/// How one release ended.
enum Finish {
    Published(Released),
    /// The registry has it, but tagging afterwards failed.
    PublishedBut(String),
    Failed {
        error: String,
        refusal: bool,
    },
}

/// How one repository's push ended: each forge's outcome, or why none was tried.
type RepoPush = Result<Vec<ForgePush>, String>;

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

/// Decides the run: the packages in publish order (a cycle is a usage error), the selection,
/// each selected package's plan with `bump`, and the requirement rewrites for the selected
/// packages it depends on.
///
/// A dependent that is not selected keeps its old requirement on a bumped package: it is not
/// released in this run, so its manifest is not touched (run with it selected, or `--deps` from
/// it, to move it too).
fn plan(
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
fn repositories_of(units: &[Unit], statuses: &[Status]) -> Vec<usize> {
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
fn project(workspace: &Workspace, repo: usize) -> Option<&Project> {
    match &workspace.repositories[repo].contents {
        Contents::Packages { project, .. } => Some(project),
        _ => None,
    }
}

/// Why repository `repo` could not be pushed, found before anything changes: no branch to push,
/// or a forge whose org or URL is unusable.
async fn push_problem(workspace: &Workspace, repo: usize) -> Option<String> {
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
async fn release_problem(workspace: &Workspace, unit: &Unit, allow_dirty: bool) -> Option<String> {
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
fn scopes_of(
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
fn refusal(
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
fn refusal_text(failure: &ForgeFailure) -> String {
    match failure {
        ForgeFailure::Denied { scope } => format!("access denied to {scope}"),
        ForgeFailure::TimedOut { scope } => format!("approval timed out for {scope}"),
        ForgeFailure::Other(message) => message.clone(),
    }
}

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

/// Releases one unit: fetches its registry token (its scope was granted up front), then runs
/// the release transaction in its repository.
async fn release_unit(
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
async fn push_repository(
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

/// The lines a person reads while the run goes on: successes on stdout, the rest on stderr.
struct Printer<'a> {
    ctx: &'a Context,
    /// The progress lines to print around; none before the run starts.
    progress: Option<&'a Progress>,
    workspace: &'a Workspace,
    units: &'a [Unit],
    /// The first write error (a closed pipe), returned once the run is over.
    error: Option<CliError>,
}

impl Printer<'_> {
    fn human(&self) -> bool {
        !self.ctx.out.is_json()
    }

    fn name(&self, position: usize) -> &str {
        &self.workspace.packages[self.units[position].package].name
    }

    fn stdout(&mut self, line: &str) {
        if self.error.is_none() {
            let out = self.ctx.out;
            let written = match self.progress {
                Some(progress) => progress.suspend(|| out.line(line)),
                None => out.line(line),
            };
            if let Err(error) = written {
                self.error = Some(error);
            }
        }
    }

    /// A line on stderr, above the progress lines.
    fn note(&self, line: &str) {
        match self.progress {
            Some(progress) => progress.note(line),
            None => crate::output::note(line),
        }
    }

    /// `Publishing wa 0.1.0 → 0.2.0 to testreg... ✓`
    fn published(&mut self, position: usize) {
        if let (true, Ok(plan)) = (self.human(), &self.units[position].plan) {
            let line = format!(
                "Publishing {} {} → {} to {}... ✓",
                plan.package.name, plan.package.version, plan.version, plan.registry.name
            );
            self.stdout(&line);
        }
    }

    fn warn(&self, position: usize, warning: &str) {
        if self.human() {
            self.note(&format!("✗ {}: {warning}", self.name(position)));
            if let Some(repo) = self.units.get(position).map(|unit| unit.repo) {
                self.note(&format!(
                    "  Run: hyperforge push --tags --path {}",
                    quoted_path(self.workspace, repo)
                ));
            }
        }
    }

    /// `✗ Failed: wb (the registry refused the token at testreg/token)`
    fn failed(&self, position: usize, error: &str) {
        if self.human() {
            self.note(&format!("✗ Failed: {} ({error})", self.name(position)));
        }
    }

    /// `- Skipped: wc (depends on wb, which failed)`.
    fn skipped(&self, position: usize, on: usize, statuses: &[Status]) {
        if self.human() {
            let what = match statuses[on] {
                Status::Skipped { .. } => "was skipped",
                _ => "failed",
            };
            self.note(&format!(
                "- Skipped: {} (depends on {}, which {what})",
                self.name(position),
                self.name(on)
            ));
        }
    }

    /// `Pushing crates to github... ✓`, or each forge's failure and how to finish.
    fn pushed(&mut self, repo: usize, outcome: &RepoPush) {
        if !self.human() {
            return;
        }
        let name = self.workspace.repositories[repo].name.clone();
        let forges = match outcome {
            Ok(forges) => forges,
            Err(error) => {
                self.note(&format!("✗ Failed: pushing {name} ({error})"));
                return;
            }
        };
        let mut failed = false;
        for forge in forges {
            match &forge.result {
                Ok(()) => self.stdout(&format!("Pushing {name} to {}... ✓", forge.forge)),
                Err(failure) => {
                    failed = true;
                    self.note(&format!(
                        "✗ Failed: pushing {name} to {} ({})",
                        forge.forge,
                        failure.reason()
                    ));
                }
            }
        }
        if failed {
            self.note(&format!(
                "  The packages are published; to finish, run: hyperforge push --tags --path {}",
                quoted_path(self.workspace, repo)
            ));
        }
    }
}

/// Repository `repo`'s path, quoted for a shell.
fn quoted_path(workspace: &Workspace, repo: usize) -> String {
    auth_hub_protocol::command::shell_quote(&workspace.repositories[repo].path.to_string_lossy())
        .into_owned()
}

/// Notes the repositories that hold nothing to publish or cannot be read.
fn report_repositories(workspace: &Workspace, dry_run: bool) {
    for repository in &workspace.repositories {
        match &repository.contents {
            Contents::NoManifest if dry_run => {
                crate::output::note(&format!(
                    "- {}: no package manifest, nothing to publish",
                    repository.name
                ));
            }
            Contents::Broken(error) => {
                crate::output::note(&format!("✗ {}: {error}", repository.name));
            }
            _ => {}
        }
    }
}

/// The repositories that publish nothing, for `--json`.
fn repositories_json(workspace: &Workspace) -> Vec<Value> {
    workspace
        .repositories
        .iter()
        .filter_map(|repository| match &repository.contents {
            Contents::Packages { .. } => None,
            Contents::NoManifest => Some(json!({
                "repo": repository.name, "status": "no_manifest", "error": null,
            })),
            Contents::Broken(error) => Some(json!({
                "repo": repository.name, "status": "error", "error": error,
            })),
        })
        .collect()
}

/// One package's `--json` object.
fn package_json(workspace: &Workspace, units: &[Unit], unit: &Unit, status: &Status) -> Value {
    let package: &Package = &workspace.packages[unit.package];
    let plan = unit.plan.as_ref().ok();
    let (status_name, error) = match status {
        Status::Planned => ("planned", None),
        Status::Published { warning, .. } => ("published", warning.clone()),
        Status::Failed { error, .. } => ("failed", Some(error.clone())),
        Status::Skipped { on } => (
            "skipped",
            Some(format!(
                "depends on {}, which did not publish",
                workspace.packages[units[*on].package].name
            )),
        ),
    };
    let tag = match status {
        Status::Published { tag, .. } => Some(tag.clone()),
        _ => plan.map(|plan| plan.tag.clone()),
    };
    json!({
        "name": package.name,
        "ecosystem": package.ecosystem.name(),
        "registry": plan.map(|plan| plan.registry.name.clone()),
        "repo": workspace.repositories[unit.repo].name,
        "old_version": package.version.to_string(),
        "version": plan.map(|plan| plan.version.to_string()),
        "tag": tag,
        "status": status_name,
        "error": error,
    })
}

/// One repository's push, for `--json`.
fn push_json(workspace: &Workspace, repo: usize, outcome: &RepoPush) -> Value {
    let name = &workspace.repositories[repo].name;
    match outcome {
        Ok(forges) => json!({
            "repo": name,
            "ok": forges.iter().all(|forge| forge.result.is_ok()),
            "error": null,
            "forges": forges.iter().map(ForgePush::json).collect::<Vec<_>>(),
        }),
        Err(error) => json!({"repo": name, "ok": false, "error": error, "forges": []}),
    }
}

/// The counts at the end of a run and the exit they mean.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    published: usize,
    failed: Vec<String>,
    skipped: Vec<String>,
    /// True when every failure was a refusal by the hub.
    only_refusals: bool,
    /// Packages published with a failure afterwards (tagging).
    warnings: usize,
    /// Repositories whose push failed.
    push_failures: Vec<String>,
    /// Repositories that could not be read.
    broken: usize,
}

impl Summary {
    /// The summary of a run whose units (named `names`) ended as `statuses`.
    fn new(
        statuses: &[Status],
        names: &[&str],
        pushes: &BTreeMap<usize, RepoPush>,
        workspace: &Workspace,
    ) -> Self {
        let mut summary = Self {
            only_refusals: true,
            ..Self::default()
        };
        for (status, name) in statuses.iter().zip(names) {
            match status {
                Status::Planned => {}
                Status::Published { warning, .. } => {
                    summary.published += 1;
                    summary.warnings += usize::from(warning.is_some());
                }
                Status::Failed { refusal, .. } => {
                    summary.failed.push((*name).to_owned());
                    summary.only_refusals &= *refusal;
                }
                Status::Skipped { .. } => summary.skipped.push((*name).to_owned()),
            }
        }
        for (repo, outcome) in pushes {
            let ok = outcome
                .as_ref()
                .is_ok_and(|forges| forges.iter().all(|forge| forge.result.is_ok()));
            if !ok {
                summary
                    .push_failures
                    .push(workspace.repositories[*repo].name.clone());
            }
        }
        summary.broken = workspace
            .repositories
            .iter()
            .filter(|repository| matches!(repository.contents, Contents::Broken(_)))
            .count();
        summary
    }

    /// `published 3, failed 1, skipped 1` (and the pushes that failed, if any).
    fn line(&self) -> String {
        let mut line = format!(
            "published {}, failed {}, skipped {}",
            self.published,
            self.failed.len(),
            self.skipped.len()
        );
        if !self.push_failures.is_empty() {
            line.push_str(&format!(
                "; push failed for {}",
                self.push_failures.join(", ")
            ));
        }
        line
    }

    /// Success, or the error whose exit code scripts branch on.
    fn result(&self) -> Result<(), CliError> {
        let problems = self.failed.len()
            + self.skipped.len()
            + self.warnings
            + self.push_failures.len()
            + self.broken;
        if problems == 0 {
            return Ok(());
        }
        let refused_only = self.published == 0
            && !self.failed.is_empty()
            && self.only_refusals
            && self.warnings + self.push_failures.len() + self.broken == 0;
        let kind = if refused_only {
            ErrorKind::Denied
        } else {
            ErrorKind::Failure
        };
        let mut parts = Vec::new();
        if !self.failed.is_empty() {
            parts.push(format!("failed {}", self.failed.join(", ")));
        }
        if !self.skipped.is_empty() {
            parts.push(format!("skipped {}", self.skipped.join(", ")));
        }
        if self.warnings > 0 {
            parts.push(format!("{} published but not tagged", self.warnings));
        }
        if !self.push_failures.is_empty() {
            parts.push(format!("{} pushes failed", self.push_failures.len()));
        }
        if self.broken > 0 {
            parts.push(format!("{} repositories could not be read", self.broken));
        }
        Err(CliError::new(
            kind,
            format!("workspace publish failed: {}", parts.join(", ")),
        ))
    }
}

/// `--dry-run`: the order, each package's old → new version, registry, token path and its
/// scope's state now, the requirement rewrites, and the repositories that would be pushed. No
/// token is fetched, no hub is started, nothing is changed.
async fn dry_run(
    ctx: &Context,
    workspace: &Workspace,
    units: &[Unit],
    push: bool,
    reason: String,
) -> Result<(), CliError> {
    let statuses = vec![Status::Planned; units.len()];
    let pushed = if push {
        repositories_of(units, &statuses)
    } else {
        Vec::new()
    };
    let scopes = scopes_of(workspace, units, &statuses, &pushed);
    let access = forge_access::preview(reason, &scopes).await;
    let state_of = |scope: &SecretScope| -> Access {
        access
            .iter()
            .find(|(known, _)| known.as_str() == scope.as_str())
            .map_or_else(
                || Access::Unknown("not asked".to_owned()),
                |(_, state)| state.clone(),
            )
    };
    let mut problems = 0;
    let mut packages_json = Vec::new();
    if !ctx.out.is_json() {
        ctx.out.line(&format!(
            "Would publish {} packages, in this order:",
            units.iter().filter(|unit| unit.plan.is_ok()).count()
        ))?;
    }
    for (position, unit) in units.iter().enumerate() {
        let package = &workspace.packages[unit.package];
        let repo_name = &workspace.repositories[unit.repo].name;
        let plan = match &unit.plan {
            Ok(plan) => plan,
            Err(error) => {
                problems += 1;
                if ctx.out.is_json() {
                    let status = failed(error.clone(), false);
                    packages_json.push(package_json(workspace, units, unit, &status));
                } else {
                    crate::output::note(&format!("✗ {}: {error}", package.name));
                }
                continue;
            }
        };
        let scope = plan.token_path.parent_scope();
        let state = state_of(&scope);
        if ctx.out.is_json() {
            let mut value = package_json(workspace, units, unit, &Status::Planned);
            if let Value::Object(map) = &mut value {
                map.insert("token_path".into(), json!(plan.token_path.as_str()));
                map.insert("scope".into(), json!(scope.as_str()));
                map.insert("access".into(), json!(state.name()));
                map.insert(
                    "requirement_updates".into(),
                    plan.requirement_updates
                        .iter()
                        .map(
                            |(name, version)| json!({"name": name, "version": version.to_string()}),
                        )
                        .collect(),
                );
            }
            packages_json.push(value);
            continue;
        }
        ctx.out.line(&format!(
            "  {}. {} {} → {} to {}, tag {} in {repo_name}",
            position + 1,
            package.name,
            package.version,
            plan.version,
            plan.registry.name,
            plan.tag
        ))?;
        ctx.out.line(&format!(
            "     token {}: {}",
            plan.token_path,
            state.describe(&scope)
        ))?;
        for (dependency, version) in &plan.requirement_updates {
            ctx.out
                .line(&format!("     requirement on {dependency} → {version}"))?;
        }
    }

    let mut pushes_json = Vec::new();
    for &repo in &pushed {
        let Some(project) = project(workspace, repo) else {
            continue;
        };
        let name = &workspace.repositories[repo].name;
        let problem = push_problem(workspace, repo).await;
        let forges: Vec<(String, Option<SecretScope>)> = project
            .forges
            .iter()
            .map(|forge| {
                let scope = forge_access::secret_path(forge)
                    .ok()
                    .map(|(_, path)| path.parent_scope());
                (forge.forge.name.clone(), scope)
            })
            .collect();
        if ctx.out.is_json() {
            pushes_json.push(json!({
                "repo": name,
                "error": problem,
                "forges": forges.iter().map(|(forge, scope)| json!({
                    "forge": forge,
                    "scope": scope.as_ref().map(SecretScope::as_str),
                    "access": scope.as_ref().map(|scope| state_of(scope).name()),
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        if let Some(problem) = problem {
            problems += 1;
            crate::output::note(&format!("✗ {name}: {problem}"));
            continue;
        }
        let described: Vec<String> = forges
            .iter()
            .map(|(forge, scope)| match scope {
                Some(scope) => format!("{forge} ({})", state_of(scope).describe(scope)),
                None => forge.clone(),
            })
            .collect();
        ctx.out.line(&format!(
            "Would push {name} (branch and tags) to {}",
            described.join(", ")
        ))?;
    }
    problems += workspace
        .repositories
        .iter()
        .filter(|repository| matches!(repository.contents, Contents::Broken(_)))
        .count();

    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "dry_run": true,
            "scopes": access.iter().map(|(scope, state)| json!({
                "scope": scope.as_str(),
                "access": state.name(),
            })).collect::<Vec<_>>(),
            "packages": packages_json,
            "pushes": pushes_json,
            "repos": repositories_json(workspace),
        }))?;
    }
    if problems > 0 {
        return Err(CliError::failure(format!(
            "{problems} problems would stop part of this publish"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published() -> Status {
        Status::Published {
            tag: "v0.2.0".into(),
            warning: None,
        }
    }

    fn summary(statuses: &[Status]) -> Summary {
        let names = ["wa", "wb", "wc", "wd", "we"];
        Summary::new(
            statuses,
            &names[..statuses.len()],
            &BTreeMap::new(),
            &Workspace::default(),
        )
    }

    #[test]
    fn the_summary_line_counts_each_outcome() {
        let run = summary(&[
            published(),
            failed(
                "the registry refused the token at testreg/token".into(),
                false,
            ),
            Status::Skipped { on: 1 },
            published(),
            published(),
        ]);
        assert_eq!(run.line(), "published 3, failed 1, skipped 1");
        let error = run.result().expect_err("a failure");
        assert_eq!(error.kind(), ErrorKind::Failure);
        assert_eq!(
            error.message(),
            "workspace publish failed: failed wb, skipped wc"
        );
        assert!(summary(&[published(), published()]).result().is_ok());
    }

    #[test]
    fn exit_3_only_when_every_failure_was_a_refusal_and_nothing_was_published() {
        let refused = || failed("access denied to cargo/*".into(), true);
        let all_refused = summary(&[refused(), Status::Skipped { on: 0 }, refused()]);
        assert_eq!(
            all_refused.result().expect_err("refused").kind(),
            ErrorKind::Denied
        );
        let some_published = summary(&[refused(), published()]);
        assert_eq!(
            some_published.result().expect_err("partial").kind(),
            ErrorKind::Failure
        );
        let mixed = summary(&[refused(), failed("verification failed: x".into(), false)]);
        assert_eq!(
            mixed.result().expect_err("mixed").kind(),
            ErrorKind::Failure
        );
    }

    #[test]
    fn published_but_not_tagged_is_a_failure() {
        let run = summary(&[Status::Published {
            tag: "v0.2.0".into(),
            warning: Some("published, but tagging failed".into()),
        }]);
        assert_eq!(run.line(), "published 1, failed 0, skipped 0");
        let error = run.result().expect_err("a failure");
        assert_eq!(error.kind(), ErrorKind::Failure);
        assert!(error.message().contains("1 published but not tagged"));
    }
}
