//! What a person and a script see of a `workspace publish` run: the lines printed as it goes
//! ([`Printer`]), the repositories that publish nothing, and the `--json` objects.

use serde_json::{json, Value};

use super::jobs::RepoPush;
use super::{Status, Unit};
use crate::commands::push::ForgePush;
use crate::commands::workspace::packages::{Contents, Workspace};
use crate::commands::Context;
use crate::error::CliError;
use crate::package::Package;
use crate::progress::Progress;

/// The lines a person reads while the run goes on: successes on stdout, the rest on stderr.
pub(super) struct Printer<'a> {
    pub(super) ctx: &'a Context,
    /// The progress lines to print around; none before the run starts.
    pub(super) progress: Option<&'a Progress>,
    pub(super) workspace: &'a Workspace,
    pub(super) units: &'a [Unit],
    /// The first write error (a closed pipe), returned once the run is over.
    pub(super) error: Option<CliError>,
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
    pub(super) fn published(&mut self, position: usize) {
        if let (true, Ok(plan)) = (self.human(), &self.units[position].plan) {
            let line = format!(
                "Publishing {} {} → {} to {}... ✓",
                plan.package.name, plan.package.version, plan.version, plan.registry.name
            );
            self.stdout(&line);
        }
    }

    pub(super) fn warn(&self, position: usize, warning: &str) {
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
    pub(super) fn failed(&self, position: usize, error: &str) {
        if self.human() {
            self.note(&format!("✗ Failed: {} ({error})", self.name(position)));
        }
    }

    /// `- Skipped: wc (depends on wb, which failed)`.
    pub(super) fn skipped(&self, position: usize, on: usize, statuses: &[Status]) {
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
    pub(super) fn pushed(&mut self, repo: usize, outcome: &RepoPush) {
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
pub(super) fn report_repositories(workspace: &Workspace, dry_run: bool) {
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
pub(super) fn repositories_json(workspace: &Workspace) -> Vec<Value> {
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
pub(super) fn package_json(
    workspace: &Workspace,
    units: &[Unit],
    unit: &Unit,
    status: &Status,
) -> Value {
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
pub(super) fn push_json(workspace: &Workspace, repo: usize, outcome: &RepoPush) -> Value {
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
