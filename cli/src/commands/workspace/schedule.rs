//! The order `workspace publish` runs its packages in, as a pure state machine: which packages
//! may start now, which are skipped because a package they depend on did not publish, and when a
//! repository is finished and can be pushed.
//!
//! Units are the selected packages in publish order (every dependency before its dependents). A
//! unit may start once each unit it depends on is published, while fewer than `jobs` units run,
//! and never while another unit of the same repository runs: releases commit and tag in their
//! repository's work tree, and git does not take two at once. [`drive`] runs the machine with the
//! caller's release and push futures; the command's output is the caller's business.

use std::future::Future;
use std::pin::Pin;

use futures::stream::FuturesUnordered;
use futures::StreamExt;

/// Where one unit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started.
    Waiting,
    /// Its release is running.
    Running,
    /// In its registry.
    Published,
    /// Its release failed, or it was refused before anything started.
    Failed,
    /// Not attempted: unit `on`, which it depends on, failed or was skipped.
    Skipped {
        /// The dependency that did not publish.
        on: usize,
    },
}

impl State {
    /// True once the unit will not change any more.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Waiting | Self::Running)
    }
}

/// The state of every unit of one run.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// For each unit, the units it depends on (all earlier in the order).
    deps: Vec<Vec<usize>>,
    /// For each unit, its repository.
    repo: Vec<usize>,
    state: Vec<State>,
}

impl Schedule {
    /// A schedule of `deps.len()` units, all waiting: `deps[u]` are the units `u` depends on,
    /// `repo[u]` its repository (any number naming it).
    pub fn new(deps: Vec<Vec<usize>>, repo: Vec<usize>) -> Self {
        debug_assert_eq!(deps.len(), repo.len());
        let state = vec![State::Waiting; deps.len()];
        Self { deps, repo, state }
    }

    /// Where unit `unit` stands.
    pub fn state(&self, unit: usize) -> State {
        self.state[unit]
    }

    /// The units that can start now, in order, so that at most `jobs` run at once and no two of
    /// one repository run together.
    pub fn ready(&self, jobs: usize) -> Vec<usize> {
        let running = self.state.iter().filter(|s| **s == State::Running).count();
        let mut busy: Vec<usize> = (0..self.state.len())
            .filter(|&unit| self.state[unit] == State::Running)
            .map(|unit| self.repo[unit])
            .collect();
        let mut ready = Vec::new();
        for unit in 0..self.state.len() {
            if running + ready.len() >= jobs {
                break;
            }
            let startable = self.state[unit] == State::Waiting
                && !busy.contains(&self.repo[unit])
                && self.deps[unit]
                    .iter()
                    .all(|&dep| self.state[dep] == State::Published);
            if startable {
                busy.push(self.repo[unit]);
                ready.push(unit);
            }
        }
        ready
    }

    /// Marks `unit` as running.
    pub fn start(&mut self, unit: usize) {
        self.state[unit] = State::Running;
    }

    /// Records how `unit` ended; on a failure, returns the units skipped because of it (directly
    /// or through another skipped unit), in order.
    pub fn finish(&mut self, unit: usize, published: bool) -> Vec<usize> {
        if published {
            self.state[unit] = State::Published;
            Vec::new()
        } else {
            self.fail(unit)
        }
    }

    /// Fails `unit` before it started (refused up front); returns the units skipped because of
    /// it, in order.
    pub fn fail(&mut self, unit: usize) -> Vec<usize> {
        self.state[unit] = State::Failed;
        let mut skipped = Vec::new();
        // Dependencies come first in the order, so one pass forward reaches every dependent.
        for later in unit + 1..self.state.len() {
            if self.state[later] != State::Waiting {
                continue;
            }
            let gone = self.deps[later]
                .iter()
                .copied()
                .find(|&dep| matches!(self.state[dep], State::Failed | State::Skipped { .. }));
            if let Some(on) = gone {
                self.state[later] = State::Skipped { on };
                skipped.push(later);
            }
        }
        skipped
    }

    /// True when every unit of repository `repo` has ended and at least one was published: the
    /// moment to push it.
    pub fn repo_finished(&self, repo: usize) -> bool {
        let mut units = (0..self.state.len()).filter(|&unit| self.repo[unit] == repo);
        let mut published = false;
        let finished = units.all(|unit| {
            published |= self.state[unit] == State::Published;
            self.state[unit].is_final()
        });
        finished && published
    }

    /// The repository of `unit`.
    pub fn repo_of(&self, unit: usize) -> usize {
        self.repo[unit]
    }

    /// True when nothing waits or runs any more.
    pub fn done(&self) -> bool {
        self.state.iter().all(|state| state.is_final())
    }
}

/// Something [`drive`] reports, in the order it happened.
#[derive(Debug)]
pub enum Event<R, P> {
    /// A unit's release ended with its result.
    Released(usize, R),
    /// A unit was skipped because the unit `on`, which it depends on, did not publish.
    Skipped {
        /// The unit skipped.
        unit: usize,
        /// Its dependency that failed or was skipped.
        on: usize,
    },
    /// A repository's push ended.
    Pushed(usize, P),
}

/// A future [`drive`] runs; boxed so releases and pushes share one set.
pub type Job<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Runs `schedule` to its end: starts `release(unit)` for each ready unit, at most `jobs` at
/// once; `published(&result)` says whether the registry has the package (its dependents may go
/// on); when `push` is given, starts `push(repo)` once each repository with a published unit is
/// finished. Every outcome goes to `report` as it happens.
pub async fn drive<'a, R: 'a, P: 'a>(
    schedule: &mut Schedule,
    jobs: usize,
    mut release: impl FnMut(usize) -> Job<'a, R>,
    published: impl Fn(&R) -> bool,
    mut push: Option<&mut dyn FnMut(usize) -> Job<'a, P>>,
    mut report: impl FnMut(Event<R, P>),
) {
    enum Done<R, P> {
        Release(usize, R),
        Push(usize, P),
    }
    let mut running: FuturesUnordered<Job<'a, Done<R, P>>> = FuturesUnordered::new();
    let mut pushed: Vec<usize> = Vec::new();
    loop {
        for unit in schedule.ready(jobs.max(1)) {
            schedule.start(unit);
            let job = release(unit);
            running.push(Box::pin(async move { Done::Release(unit, job.await) }));
        }
        let Some(done) = running.next().await else {
            break;
        };
        match done {
            Done::Push(repo, outcome) => {
                report(Event::Pushed(repo, outcome));
                continue;
            }
            Done::Release(unit, result) => {
                let skipped = schedule.finish(unit, published(&result));
                report(Event::Released(unit, result));
                for unit in skipped {
                    if let State::Skipped { on } = schedule.state(unit) {
                        report(Event::Skipped { unit, on });
                    }
                }
            }
        }
        if let Some(push) = push.as_mut() {
            // A failure may finish other repositories too (their last units skipped).
            let finished: Vec<usize> = (0..schedule.state.len())
                .map(|unit| schedule.repo_of(unit))
                .filter(|repo| !pushed.contains(repo) && schedule.repo_finished(*repo))
                .collect();
            for repo in finished {
                if pushed.contains(&repo) {
                    continue;
                }
                pushed.push(repo);
                let job = push(repo);
                running.push(Box::pin(async move { Done::Push(repo, job.await) }));
            }
        }
    }
    debug_assert!(schedule.done(), "a unit was never started: {schedule:?}");
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// `wa ← wb ← wc` in one repository, `x` (depends on nothing) in another.
    fn chain_and_one() -> Schedule {
        Schedule::new(vec![vec![], vec![0], vec![1], vec![]], vec![0, 0, 0, 1])
    }

    #[test]
    fn a_unit_waits_for_its_dependencies_and_its_repository() {
        let mut schedule = chain_and_one();
        assert_eq!(schedule.ready(8), [0, 3], "wb waits for wa");
        schedule.start(0);
        schedule.start(3);
        assert!(schedule.ready(8).is_empty());
        assert!(schedule.finish(0, true).is_empty());
        assert_eq!(schedule.ready(8), [1]);
    }

    #[test]
    fn two_units_of_one_repository_never_run_together() {
        // Independent packages, three in repository 0.
        let mut schedule = Schedule::new(vec![vec![]; 4], vec![0, 0, 1, 0]);
        assert_eq!(schedule.ready(8), [0, 2]);
        schedule.start(0);
        assert_eq!(schedule.ready(8), [2], "repository 0 is busy");
        schedule.finish(0, true);
        assert_eq!(schedule.ready(8), [1, 2]);
    }

    #[test]
    fn jobs_caps_the_running_units() {
        let mut schedule = Schedule::new(vec![vec![]; 4], vec![0, 1, 2, 3]);
        assert_eq!(schedule.ready(1), [0]);
        assert_eq!(schedule.ready(3), [0, 1, 2]);
        schedule.start(0);
        schedule.start(1);
        assert_eq!(schedule.ready(3), [2]);
    }

    #[test]
    fn a_failure_skips_its_dependents_transitively_and_nothing_else() {
        let mut schedule = chain_and_one();
        schedule.start(0);
        assert_eq!(schedule.finish(0, false), [1, 2]);
        assert_eq!(schedule.state(1), State::Skipped { on: 0 });
        assert_eq!(schedule.state(2), State::Skipped { on: 1 });
        assert_eq!(schedule.ready(8), [3], "the independent package still goes");
        assert!(!schedule.done());
    }

    #[test]
    fn a_refusal_up_front_skips_like_a_failure() {
        // wc depends on wa and wb; wb is refused before anything runs.
        let mut schedule = Schedule::new(vec![vec![], vec![], vec![0, 1]], vec![0, 1, 2]);
        assert_eq!(schedule.fail(1), [2]);
        assert_eq!(schedule.state(2), State::Skipped { on: 1 });
        assert_eq!(schedule.ready(8), [0]);
    }

    #[test]
    fn a_repository_is_pushed_once_all_its_units_ended_with_one_published() {
        let mut schedule = chain_and_one();
        schedule.start(0);
        schedule.finish(0, true);
        assert!(!schedule.repo_finished(0), "wb and wc are still to come");
        schedule.start(1);
        schedule.finish(1, false);
        assert!(
            schedule.repo_finished(0),
            "wa published, wb failed, wc skipped"
        );
        assert!(!schedule.repo_finished(1));

        let mut refused = Schedule::new(vec![vec![]], vec![0]);
        refused.fail(0);
        assert!(!refused.repo_finished(0), "nothing to push");
    }

    /// Runs `schedule` with a fake release that takes `steps[unit]` polls and fails the units in
    /// `failing`; returns the events and the most units of one repository ever running at once.
    fn run_fake(
        schedule: &mut Schedule,
        jobs: usize,
        steps: &[usize],
        failing: &[usize],
    ) -> (Vec<String>, usize, usize) {
        let repos: Vec<usize> = (0..steps.len()).map(|u| schedule.repo_of(u)).collect();
        let running = RefCell::new(Vec::<usize>::new());
        let most = RefCell::new((0usize, 0usize)); // (at once, of one repository at once)
        let events = RefCell::new(Vec::new());
        let release = |unit: usize| -> Job<'_, bool> {
            let (running, most, repos) = (&running, &most, &repos);
            let polls = steps[unit];
            let ok = !failing.contains(&unit);
            Box::pin(async move {
                running.borrow_mut().push(unit);
                {
                    let now = running.borrow();
                    let same = now.iter().filter(|u| repos[**u] == repos[unit]).count();
                    let mut most = most.borrow_mut();
                    most.0 = most.0.max(now.len());
                    most.1 = most.1.max(same);
                }
                for _ in 0..polls {
                    tokio::task::yield_now().await;
                }
                running.borrow_mut().retain(|u| *u != unit);
                ok
            })
        };
        let mut push = |repo: usize| -> Job<'_, ()> {
            Box::pin(async move {
                let _ = repo;
            })
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(drive(
            schedule,
            jobs,
            release,
            |ok: &bool| *ok,
            Some(&mut push),
            |event| {
                events.borrow_mut().push(match event {
                    Event::Released(unit, ok) => {
                        format!("{unit}:{}", if ok { "ok" } else { "failed" })
                    }
                    Event::Skipped { unit, on } => format!("{unit}:skipped({on})"),
                    Event::Pushed(repo, ()) => format!("push {repo}"),
                });
            },
        ));
        let (at_once, same_repo) = *most.borrow();
        (events.into_inner(), at_once, same_repo)
    }

    #[test]
    fn drive_publishes_in_order_and_pushes_each_repository_after_its_last_package() {
        let mut schedule = chain_and_one();
        let (events, at_once, same_repo) = run_fake(&mut schedule, 1, &[1, 1, 1, 1], &[]);
        // One job: exactly the publish order; repository 0 is pushed after wc, its last.
        assert_eq!(events, ["0:ok", "1:ok", "2:ok", "push 0", "3:ok", "push 1"]);
        assert_eq!((at_once, same_repo), (1, 1));
        assert!(schedule.done());
    }

    #[test]
    fn drive_runs_independent_repositories_together_but_one_unit_per_repository() {
        // Repository 0: a, b (independent); repository 1: c; repository 2: d depends on a.
        let mut schedule = Schedule::new(vec![vec![], vec![], vec![], vec![0]], vec![0, 0, 1, 2]);
        let (events, at_once, same_repo) = run_fake(&mut schedule, 4, &[5, 1, 9, 1], &[]);
        // a and c start together (b waits for a's repository, d for a); when a ends, b and d
        // join c.
        assert_eq!(at_once, 3);
        assert_eq!(same_repo, 1);
        assert_eq!(events.iter().filter(|e| e.starts_with("push")).count(), 3);
        assert!(events.iter().position(|e| e == "0:ok") < events.iter().position(|e| e == "3:ok"));
    }

    #[test]
    fn drive_skips_dependents_of_a_failure_and_still_pushes_what_was_published() {
        let mut schedule = chain_and_one();
        let (events, _, _) = run_fake(&mut schedule, 2, &[1, 1, 1, 3], &[1]);
        assert_eq!(
            events,
            [
                "0:ok",
                "1:failed",
                "2:skipped(1)",
                "push 0",
                "3:ok",
                "push 1"
            ]
        );
        assert_eq!(schedule.state(2), State::Skipped { on: 1 });
    }

    #[test]
    fn drive_pushes_nothing_when_nothing_was_published() {
        let mut schedule = chain_and_one();
        schedule.fail(0);
        schedule.fail(3);
        let (events, _, _) = run_fake(&mut schedule, 2, &[1, 1, 1, 1], &[]);
        assert!(events.is_empty(), "{events:?}");
        assert!(schedule.done());
    }
}
