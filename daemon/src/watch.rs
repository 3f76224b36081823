//! Live reload: the hub's `config.toml` and every registered repository's
//! `.hyperforge/config.toml`.
//!
//! The hub's file: a change (an edit in place, or an editor's write-temp-then-rename) or a SIGHUP
//! re-reads it, debounced. An invalid file keeps the settings in force and its error shows in
//! `status` ([`Hub::reload_config`]). Policy, timeouts, token lifetimes and store routes take
//! effect at once (a store backend whose settings changed is reopened; one whose layout is
//! invalid or cannot open keeps the previous layout); socket-level limits apply to new
//! connections.
//!
//! Repositories: each registered root is watched non-recursively (so a `.hyperforge/` created
//! later is seen) and so is its `.hyperforge/` directory when it exists (so an edit, a delete or
//! an editor's rename over `config.toml` is seen). A change re-reads that repository's file into
//! the [`DeclaredBook`](crate::declared::DeclaredBook), debounced; SIGHUP re-reads them all; a
//! registration or unregistration ([`Hub::repos_changed`]) updates the watch set at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::declared::CONFIG_DIR;
use crate::hub::{lock, Hub};

/// How long to wait after a change for the rest of an editor's burst of writes.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Starts watching `hub`'s config file, the registered repositories' configs, and SIGHUP, until
/// the hub shuts down. A watcher that cannot start (no inotify instances left, say) is logged;
/// SIGHUP still works.
pub fn spawn(hub: Arc<Hub>) {
    let (changed, mut changes) = mpsc::channel::<()>(1);
    let watcher = watch_file(&hub.paths.config_file, changed)
        .map_err(|error| tracing::warn!(%error, "cannot watch the config file; reload with SIGHUP"))
        .ok();
    let (repo_changed, mut repo_changes) = mpsc::channel::<()>(1);
    let mut repos = RepoWatcher::new(repo_changed);
    let hangups = signal(SignalKind::hangup())
        .map_err(|error| tracing::warn!(%error, "cannot handle SIGHUP"))
        .ok();
    tokio::spawn(async move {
        // Keeps the watcher alive for as long as this task runs.
        let _watcher = watcher;
        let mut hangups = hangups;
        repos.sync(&hub, false);
        loop {
            tokio::select! {
                Some(()) = changes.recv() => {
                    tokio::time::sleep(DEBOUNCE).await;
                    while changes.try_recv().is_ok() {}
                    hub.reload_config();
                }
                Some(()) = repo_changes.recv() => {
                    tokio::time::sleep(DEBOUNCE).await;
                    while repo_changes.try_recv().is_ok() {}
                    repos.refresh_dirty(&hub);
                }
                () = hub.repos_changed.notified() => repos.sync(&hub, false),
                Some(()) = async { hangups.as_mut()?.recv().await } => {
                    tracing::info!("SIGHUP: reloading the config file and repository configs");
                    hub.reload_config();
                    repos.sync(&hub, true);
                }
                () = hub.shutdown.cancelled() => return,
            }
        }
    });
}

/// Watches registered repositories' roots and `.hyperforge/` directories.
struct RepoWatcher {
    watcher: Option<RecommendedWatcher>,
    /// Repositories whose files changed since the last refresh, filled by notify's thread.
    dirty: Arc<Mutex<BTreeSet<String>>>,
    /// Watched repositories → whether their `.hyperforge/` is watched too.
    watched: BTreeMap<String, bool>,
}

impl RepoWatcher {
    fn new(wake: mpsc::Sender<()>) -> Self {
        let dirty = Arc::new(Mutex::new(BTreeSet::new()));
        let sink = dirty.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if !matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            ) {
                return;
            }
            let repos: Vec<String> = event.paths.iter().filter_map(|p| repo_of(p)).collect();
            if repos.is_empty() {
                return;
            }
            lock(&sink).extend(repos);
            // A full channel already holds a pending refresh: nothing is lost.
            let _ = wake.try_send(());
        })
        .map_err(|error| {
            tracing::warn!(%error, "cannot watch repository configs; reload them with SIGHUP");
        })
        .ok();
        Self {
            watcher,
            dirty,
            watched: BTreeMap::new(),
        }
    }

    /// Makes the watch set match the registered repositories and reads the new ones (after
    /// their watch is in place, so no edit falls between). `all` re-reads every repository.
    fn sync(&mut self, hub: &Hub, all: bool) {
        let registered: BTreeSet<String> = lock(&hub.repos)
            .list()
            .into_iter()
            .map(|r| r.path)
            .collect();
        let gone: Vec<String> = self
            .watched
            .keys()
            .filter(|repo| !registered.contains(*repo))
            .cloned()
            .collect();
        for repo in gone {
            self.unwatch(&repo);
        }
        lock(&hub.declared).retain(&registered);
        for repo in &registered {
            let new = !self.watched.contains_key(repo);
            if new || all {
                // Again on SIGHUP: a root that did not exist at registration may exist now.
                self.watch_root(repo);
            }
            if new || all {
                self.watch_config_dir(repo);
                hub.refresh_declared(repo);
            }
        }
    }

    /// Re-reads the repositories notify reported, watching a `.hyperforge/` that appeared.
    fn refresh_dirty(&mut self, hub: &Hub) {
        let dirty = std::mem::take(&mut *lock(&self.dirty));
        for repo in dirty {
            if self.watched.contains_key(&repo) {
                self.watch_config_dir(&repo);
                hub.refresh_declared(&repo);
            }
        }
    }

    fn watch_root(&mut self, repo: &str) {
        self.watched.entry(repo.to_owned()).or_insert(false);
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        if let Err(error) = watcher.watch(Path::new(repo), RecursiveMode::NonRecursive) {
            tracing::debug!(repo, %error, "cannot watch the repository");
        }
    }

    /// Watches `repo/.hyperforge/` when it exists and is not watched yet; notes it unwatched when
    /// it is gone (the kernel drops the watch of a deleted directory).
    fn watch_config_dir(&mut self, repo: &str) {
        let dir = Path::new(repo).join(CONFIG_DIR);
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let exists = dir.is_dir();
        let watching = self.watched.get(repo).copied().unwrap_or(false);
        if exists && !watching {
            match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.watched.insert(repo.to_owned(), true);
                }
                Err(error) => {
                    tracing::debug!(repo, %error, "cannot watch the repository's .hyperforge");
                }
            }
        } else if !exists && watching {
            let _ = watcher.unwatch(&dir);
            self.watched.insert(repo.to_owned(), false);
        }
    }

    fn unwatch(&mut self, repo: &str) {
        let config_dir = self.watched.remove(repo).unwrap_or(false);
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        if config_dir {
            let _ = watcher.unwatch(&Path::new(repo).join(CONFIG_DIR));
        }
        let _ = watcher.unwatch(Path::new(repo));
    }
}

/// The repository a notify path belongs to: `R` for `R/.hyperforge` and for anything directly
/// inside it (the config, an editor's temp file renamed over it); `None` for other paths.
fn repo_of(path: &Path) -> Option<String> {
    let repo = if path.file_name()? == CONFIG_DIR {
        path.parent()?
    } else {
        let dir = path.parent()?;
        if dir.file_name()? != CONFIG_DIR {
            return None;
        }
        dir.parent()?
    };
    repo.to_str().map(str::to_owned)
}

/// Watches the directory holding `file` (so a rename over it, or its creation, is seen) and
/// signals `changed` for events that touch `file`.
fn watch_file(
    file: &Path,
    changed: mpsc::Sender<()>,
) -> notify::Result<notify::RecommendedWatcher> {
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if !dir.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
    }
    let name = file.file_name().map(ToOwned::to_owned);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let relevant = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) && event
            .paths
            .iter()
            .any(|path| path.file_name() == name.as_deref());
        if relevant {
            // A full channel already holds a pending reload: nothing is lost.
            let _ = changed.try_send(());
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_map_to_their_repository() {
        let of = |p: &str| repo_of(Path::new(p));
        assert_eq!(of("/r/.hyperforge").as_deref(), Some("/r"));
        assert_eq!(of("/r/.hyperforge/config.toml").as_deref(), Some("/r"));
        assert_eq!(of("/r/.hyperforge/.config.toml.swp").as_deref(), Some("/r"));
        assert_eq!(of("/r/src"), None);
        assert_eq!(of("/r/config.toml"), None);
        assert_eq!(of("/"), None);
    }
}
