//! A real `auth-hub serve` owned by a tool: started on a temporary home, killed with SIGKILL,
//! started again on the same home. Unlike the e2e `TestHub`, it reports a hub that fails to
//! start as an error instead of panicking, because "the hub did not come back" is the finding
//! the crash loop exists to report.

use std::fs;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Errors starting or stopping the hub.
#[derive(Debug, thiserror::Error)]
pub enum HubProcessError {
    /// The home, the log or the process could not be created.
    #[error("cannot start auth-hub ({what}): {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The process exited before it listened.
    #[error("auth-hub exited before listening ({status}); see {log}")]
    Exited {
        /// How it exited.
        status: ExitStatus,
        /// Its log file.
        log: String,
    },
    /// The socket did not accept within the limit.
    #[error("auth-hub did not listen within {limit:?}; see {log}")]
    NotListening {
        /// How long we waited.
        limit: Duration,
        /// Its log file.
        log: String,
    },
}

/// How long a start may take before it counts as failed.
pub const START_LIMIT: Duration = Duration::from_secs(20);

/// The `auth-hub` binary: `$AUTH_HUB_BIN`, else beside this executable (`target/<profile>/`).
pub fn hub_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("AUTH_HUB_BIN") {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("auth-hub")))
        .unwrap_or_else(|| PathBuf::from("auth-hub"))
}

/// A hub process on its own temporary home. Killed (and the home removed) on drop.
pub struct HubProcess {
    dir: tempfile::TempDir,
    child: Option<Child>,
    store: &'static str,
    log_level: &'static str,
}

impl HubProcess {
    /// Creates a temporary home with `config` as its `config.toml` and starts a hub on it with the
    /// `store` backend (`file` or `memory`), logging at `log_level` to `hub.log`.
    ///
    /// # Errors
    /// The home cannot be created, or the hub does not start (see [`HubProcess::start_again`]).
    pub fn start(
        config: &str,
        store: &'static str,
        log_level: &'static str,
    ) -> Result<Self, HubProcessError> {
        let io = |what| move |source| HubProcessError::Io { what, source };
        let dir = tempfile::Builder::new()
            .prefix("auth-hub-abuse")
            .tempdir()
            .map_err(io("temporary home"))?;
        fs::write(dir.path().join("config.toml"), config).map_err(io("config.toml"))?;
        let mut hub = Self {
            dir,
            child: None,
            store,
            log_level,
        };
        hub.start_again()?;
        Ok(hub)
    }

    /// The hub's home.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The hub's socket.
    pub fn socket(&self) -> PathBuf {
        self.home().join("auth-hub.sock")
    }

    /// The hub's log file.
    pub fn log_path(&self) -> PathBuf {
        self.home().join("hub.log")
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// How the process exited, if it has.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Starts the hub on the same home (after a kill) and waits until its socket accepts.
    ///
    /// # Errors
    /// The process cannot be spawned, exits before listening (for example because its store or
    /// grants do not open), or does not listen within [`START_LIMIT`].
    pub fn start_again(&mut self) -> Result<(), HubProcessError> {
        let io = |what| move |source| HubProcessError::Io { what, source };
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(io("log file"))?;
        let child = Command::new(hub_binary())
            .args(["serve", "--home"])
            .arg(self.home())
            .args(["--store", self.store])
            .env_remove("AUTH_HUB_TOKEN")
            .env_remove("AUTH_HUB_SOCKET")
            .env("AUTH_HUB_LOG", self.log_level)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(io("spawn"))?;
        self.child = Some(child);
        let socket = self.socket();
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.exit_status() {
                return Err(HubProcessError::Exited {
                    status,
                    log: self.log_path().display().to_string(),
                });
            }
            if UnixStream::connect(&socket).is_ok() {
                return Ok(());
            }
            if start.elapsed() > START_LIMIT {
                return Err(HubProcessError::NotListening {
                    limit: START_LIMIT,
                    log: self.log_path().display().to_string(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// SIGKILL, then reap: a crash at whatever moment this is called.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
