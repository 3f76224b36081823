//! The keychain backend's worker: one thread per backend that owns the Secret Service session
//! and runs requests one at a time, each with a deadline its caller waits for and no longer.
//!
//! Negotiating an encrypted session costs a Diffie-Hellman exchange (about 0.1 s in a debug
//! build), so the session is kept between requests and opened again only after a request found
//! it broken; a request that failed that way on a kept session is retried once on a fresh one (a
//! restarted keyring daemon). Running requests one at a time also serializes writes, so two puts
//! to one path cannot both write the same next version. A request still queued when its caller
//! gave up is not started (a write then is not done); one already running may complete, and the
//! caller's message says so. The thread ends when the backend is dropped.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::platform::{self, Connection};
use super::Failure;

type Job = Box<dyn FnOnce(&mut Option<Connection>) + Send>;

/// Why a request got no answer from the worker.
#[derive(Debug)]
pub(super) enum Unanswered {
    /// Nothing came back before the deadline.
    Timeout,
    /// The worker thread is gone (it could not be started, or a call panicked).
    Gone(String),
}

/// A handle on the worker thread.
pub(super) struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    /// Starts the thread.
    pub(super) fn start() -> Result<Self, String> {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("keychain".to_owned())
            .spawn(move || {
                let mut connection = None;
                for job in queue {
                    job(&mut connection);
                }
            })
            .map_err(|e| format!("cannot start the keychain thread: {e}"))?;
        Ok(Self { jobs })
    }

    /// Runs `call` on the worker's session and waits at most `timeout` for its answer.
    pub(super) fn run<T: Send + 'static>(
        &self,
        timeout: Duration,
        call: impl Fn(&Connection) -> Result<T, Failure> + Send + 'static,
    ) -> Result<Result<T, Failure>, Unanswered> {
        self.run_with(timeout, move |connection| on_session(connection, &call))
    }

    /// Runs `job` on the worker thread (given the kept session, if any) unless `timeout` has
    /// passed before it starts, and waits at most `timeout` for its answer.
    pub(super) fn run_with<T: Send + 'static>(
        &self,
        timeout: Duration,
        job: impl FnOnce(&mut Option<Connection>) -> Result<T, Failure> + Send + 'static,
    ) -> Result<Result<T, Failure>, Unanswered> {
        let deadline = Instant::now() + timeout;
        let (answer, answered) = mpsc::channel();
        let job: Job = Box::new(move |connection: &mut Option<Connection>| {
            if Instant::now() >= deadline {
                let _ = answer.send(Err(Failure::Late));
                return;
            }
            let _ = answer.send(job(connection));
        });
        self.jobs
            .send(job)
            .map_err(|_| Unanswered::Gone("the keychain thread has ended".to_owned()))?;
        match answered.recv_timeout(timeout) {
            Ok(result) => Ok(result),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Unanswered::Timeout),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Unanswered::Gone(
                "the keychain thread ended without answering".to_owned(),
            )),
        }
    }
}

/// Runs `call` on the kept session (opening one if there is none); a session that fails as
/// unreachable is dropped, and a kept one is replaced once and the call retried.
fn on_session<T>(
    connection: &mut Option<Connection>,
    call: &impl Fn(&Connection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let kept = connection.is_some();
    let result = match connection {
        Some(session) => call(session),
        None => call(connection.insert(platform::connect()?)),
    };
    match result {
        Err(Failure::Unreachable(_) | Failure::Other(_)) => {
            *connection = None;
            if kept {
                let fresh = connection.insert(platform::connect()?);
                let retried = call(fresh);
                if matches!(retried, Err(Failure::Unreachable(_) | Failure::Other(_))) {
                    *connection = None;
                }
                return retried;
            }
            result
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn a_call_that_never_answers_is_cut_and_the_next_one_is_not_started() {
        let worker = Worker::start().unwrap();
        let short = Duration::from_millis(50);
        let (hold, release) = mpsc::channel::<()>();
        let release = Mutex::new(release);
        let start = Instant::now();
        let first = worker.run_with(short, move |_| {
            let _ = release.lock().unwrap().recv();
            Ok(())
        });
        assert!(matches!(first, Err(Unanswered::Timeout)), "{first:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
        // Queued behind the hung call: by the time it could start, its caller has given up.
        let ran = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ran);
        let second = worker.run_with(short, move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert!(matches!(second, Err(Unanswered::Timeout)), "{second:?}");
        drop(hold);
        // The worker is free again once the hung call returns; the second call was skipped.
        let third = worker.run_with(Duration::from_secs(10), |_| Ok(7));
        assert_eq!(third.unwrap().unwrap(), 7);
        assert!(!ran.load(Ordering::SeqCst));
    }
}
