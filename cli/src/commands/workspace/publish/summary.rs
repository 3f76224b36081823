//! The end of a `workspace publish` run: how many packages published, failed or were skipped,
//! which pushes failed, and the exit code that means (3 only when the hub refused everything).

use std::collections::BTreeMap;

use super::jobs::RepoPush;
use super::Status;
use crate::commands::workspace::packages::{Contents, Workspace};
use crate::error::{CliError, ErrorKind};

/// The counts at the end of a run and the exit they mean.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Summary {
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
    pub(super) fn new(
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
    pub(super) fn line(&self) -> String {
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
    pub(super) fn result(&self) -> Result<(), CliError> {
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

#[cfg(test)]
mod tests {
    use super::super::failed;
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
