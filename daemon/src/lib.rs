//! auth-hub: the per-user daemon that owns master tokens, the scope-grant policy and the secrets.
//!
//! [`serve`] takes a bound listener, an opened [`Hub`] and a shutdown future, so the foreground
//! command, socket activation and in-process tests all run the same code.

pub mod activation;
pub mod audit;
pub mod cli;
pub mod connection;
pub mod declared;
pub mod docs;
pub mod error;
pub mod frame_reader;
pub mod grants;
pub mod handler;
pub mod hardening;
pub mod http;
pub mod hub;
pub mod identity;
pub mod install;
pub mod integrity;
pub mod keys;
pub mod outbox;
pub mod paths;
pub mod peer;
pub mod policy;
pub mod providers;
pub mod recovery;
pub mod repos;
pub mod server;
pub mod session;
pub mod state_file;
pub mod state_lock;
pub mod status;
pub mod stop;
pub mod store;
#[cfg(test)]
mod test_support;
pub mod tokens;
pub mod watch;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::net::{TcpListener, UnixListener};

pub use error::HubError;
pub use hub::{Hub, HubOptions};
pub use paths::HubPaths;

/// How often buffered audit lines are made durable.
const AUDIT_FLUSH_EVERY: Duration = Duration::from_millis(200);
/// How often expired tokens and grants are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(30);

/// Serves `listener` until `shutdown` completes: then stops accepting, fails pending approvals,
/// lets requests in flight finish within a grace period, and flushes the audit log.
///
/// # Errors
/// The final audit flush failed.
pub async fn serve(
    listener: UnixListener,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HubError> {
    serve_with_http(listener, None, hub, shutdown).await
}

/// [`serve`], plus the loopback HTTP endpoints on `http` (bound by [`http::bind`] before the
/// hub reports itself ready), stopped on the same shutdown.
///
/// # Errors
/// The final audit flush failed.
pub async fn serve_with_http(
    listener: UnixListener,
    http: Option<TcpListener>,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HubError> {
    let housekeeping = tokio::spawn(housekeeping(hub.clone()));
    watch::spawn(hub.clone());
    let http = http.map(|listener| {
        tokio::spawn(http::serve_http(
            hub.clone(),
            listener,
            hub.shutdown.clone(),
        ))
    });
    let server = server::run(listener, hub.clone());
    tokio::pin!(server);
    tokio::select! {
        () = &mut server => {}
        () = shutdown => {
            tracing::info!("shutting down");
            hub.shutdown.cancel();
            hub::lock(&hub.pending).cancel_all();
            server.await;
        }
    }
    hub.shutdown.cancel();
    if let Some(http) = http {
        if let Err(error) = http.await {
            tracing::error!(%error, "the http endpoints stopped abnormally");
        }
    }
    housekeeping.abort();
    hub.audit.flush()?;
    // Seals the final audit head and records the generation, so a clean stop anchors every line.
    if let Err(error) = hub.store.checkpoint(Some(&hub.audit.durable_head()), true) {
        tracing::error!(%error, "cannot anchor the audit log in the store at shutdown");
    }
    Ok(())
}

/// Flush ticks after the last audit line during which the store is still given the chance to
/// seal its anchor (it does at most every [`store::file::ANCHOR_INTERVAL`]); after them the hub
/// is idle and the ticks do nothing until the next line.
const SETTLE_TICKS: u32 =
    (store::file::ANCHOR_INTERVAL.as_millis() / AUDIT_FLUSH_EVERY.as_millis()) as u32 + 2;

async fn housekeeping(hub: Arc<Hub>) {
    let mut flush = tokio::time::interval(AUDIT_FLUSH_EVERY);
    let mut purge = tokio::time::interval(PURGE_EVERY);
    let mut quiet_ticks = 0u32;
    loop {
        tokio::select! {
            _ = flush.tick() => {
                // An idle hub neither flushes the disk's cache nor wakes a blocking thread.
                quiet_ticks = if hub.audit.is_flushed() { quiet_ticks.saturating_add(1) } else { 0 };
                if quiet_ticks > SETTLE_TICKS {
                    continue;
                }
                // Off the runtime's threads: the flush waits for the disk (milliseconds), and the
                // checkpoint may write a store record and the manifest.
                let hub = hub.clone();
                let checkpoint = tokio::task::spawn_blocking(move || {
                    if let Err(error) = hub.audit.flush() {
                        tracing::error!(%error, "cannot flush the audit log");
                    }
                    hub.store.checkpoint(Some(&hub.audit.durable_head()), false)
                });
                if let Ok(Err(error)) = checkpoint.await {
                    tracing::error!(%error, "cannot checkpoint the store");
                }
            }
            _ = purge.tick() => {
                let now = Utc::now();
                hub.tokens.write().unwrap_or_else(std::sync::PoisonError::into_inner).purge_expired(now);
                if let Err(error) = hub::lock(&hub.grants).purge_expired(now) {
                    tracing::error!(%error, "cannot drop expired grants");
                }
            }
        }
    }
}
