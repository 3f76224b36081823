//! Live reload of the hub's `config.toml`: a change to the file (an edit in place, or an
//! editor's write-temp-then-rename) or a SIGHUP re-reads it, debounced. An invalid file keeps the
//! settings in force and its error shows in `status` ([`Hub::reload_config`]). Policy, timeouts
//! and token lifetimes take effect at once; socket-level limits apply to new connections.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::hub::Hub;

/// How long to wait after a change for the rest of an editor's burst of writes.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Starts watching `hub`'s config file (and SIGHUP) until the hub shuts down. A watcher that
/// cannot start (no inotify instances left, say) is logged; SIGHUP still works.
pub fn spawn(hub: Arc<Hub>) {
    let (changed, mut changes) = mpsc::channel::<()>(1);
    let watcher = watch_file(&hub.paths.config_file, changed)
        .map_err(|error| tracing::warn!(%error, "cannot watch the config file; reload with SIGHUP"))
        .ok();
    let hangups = signal(SignalKind::hangup())
        .map_err(|error| tracing::warn!(%error, "cannot handle SIGHUP"))
        .ok();
    tokio::spawn(async move {
        // Keeps the watcher alive for as long as this task runs.
        let _watcher = watcher;
        let mut hangups = hangups;
        loop {
            tokio::select! {
                Some(()) = changes.recv() => {
                    tokio::time::sleep(DEBOUNCE).await;
                    while changes.try_recv().is_ok() {}
                    hub.reload_config();
                }
                Some(()) = async { hangups.as_mut()?.recv().await } => {
                    tracing::info!("SIGHUP: reloading the config file");
                    hub.reload_config();
                }
                () = hub.shutdown.cancelled() => return,
            }
        }
    });
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
