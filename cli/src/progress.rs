//! Progress of pushes on a terminal: one line per repository and forge being pushed, showing
//! git's own transfer progress (`Writing objects: 45% (450/1000), 1.20 MiB | 3.00 MiB/s`), and,
//! for a workspace, a `[done/total]` line under them.
//!
//! Progress is drawn on standard error only when it is a terminal and the output is not
//! `--json`; otherwise nothing is drawn, git is not asked for `--progress`, and no escape
//! sequence or carriage return reaches a pipe or a log file.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{self, Output};

/// How often a waiting spinner turns.
const TICK: Duration = Duration::from_millis(120);

/// The progress display of one command; inert when stderr is not a terminal or with `--json`.
pub struct Progress {
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
}

impl Progress {
    /// A display for `out`: drawn only when stderr is a terminal and `out` is not JSON.
    pub fn new(out: &Output) -> Self {
        let enabled = !out.is_json() && std::io::stderr().is_terminal();
        Self {
            multi: enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            overall: None,
        }
    }

    /// Adds the `[done/total] what` line, kept below the per-forge lines.
    pub fn with_overall(mut self, total: u64, what: &str) -> Self {
        if let Some(multi) = &self.multi {
            let bar = multi.add(ProgressBar::new(total));
            bar.set_style(style("[{pos}/{len}] {msg}"));
            bar.set_message(what.to_owned());
            self.overall = Some(bar);
        }
        self
    }

    /// Counts one finished unit on the overall line.
    pub fn advance(&self) {
        if let Some(bar) = &self.overall {
            bar.inc(1);
        }
    }

    /// A line for one repository and forge (`name`), above the overall line.
    pub fn task(&self, name: &str) -> Task {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = match &self.overall {
                Some(overall) => multi.insert_before(overall, ProgressBar::new_spinner()),
                None => multi.add(ProgressBar::new_spinner()),
            };
            bar.set_style(style("{spinner} {prefix}: {wide_msg}"));
            bar.set_prefix(name.to_owned());
            bar.set_message("starting");
            bar.enable_steady_tick(TICK);
            bar
        });
        Task { bar }
    }

    /// Prints a note on stderr, as a plain line above the progress lines.
    pub fn note(&self, text: &str) {
        self.suspend(|| output::note(text));
    }

    /// Runs `f` (which writes to stdout) with the progress lines lifted out of its way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.multi {
            Some(multi) => multi.suspend(f),
            None => f(),
        }
    }

    /// Removes every progress line.
    pub fn finish(&self) {
        if let Some(bar) = &self.overall {
            bar.finish_and_clear();
        }
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// One repository and forge's progress line; removed when dropped.
pub struct Task {
    bar: Option<ProgressBar>,
}

impl Task {
    /// Shows what is happening now (a phase, or one of git's progress lines).
    pub fn set(&self, text: impl Into<Cow<'static, str>>) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }

    /// The callback [`crate::git::Repo::transfer`] feeds git's progress lines to, when drawn.
    pub fn git_progress(&self) -> Option<impl Fn(&str) + '_> {
        self.bar.as_ref().map(|bar| {
            move |line: &str| {
                let line = line.trim();
                if !line.is_empty() {
                    bar.set_message(line.to_owned());
                }
            }
        })
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A style from a template that is known to be valid.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_valid() {
        for template in ["[{pos}/{len}] {msg}", "{spinner} {prefix}: {wide_msg}"] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }

    #[test]
    fn json_output_never_draws() {
        let progress = Progress::new(&Output::new(true)).with_overall(3, "pushed");
        assert!(progress.multi.is_none() && progress.overall.is_none());
        let task = progress.task("repo → github");
        assert!(task.bar.is_none());
        assert!(
            task.git_progress().is_none(),
            "git is not asked for --progress"
        );
    }
}
