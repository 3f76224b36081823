//! The accept loop: a cap on connections, peer credentials checked before the first frame, accept
//! errors backed off rather than spun on, and an orderly shutdown.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::connection::Connection;
use crate::frame_reader::FrameBudget;
use crate::hub::Hub;
use crate::peer::{peer_info, uid_allowed};

/// How long requests in flight may take to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Longest pause after repeated accept errors.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The next connection from `accept`, or `None` once `shutdown` is cancelled. An accept error
/// (out of file descriptors, a connection aborted in the backlog) is logged and retried after a
/// pause that doubles up to [`MAX_ACCEPT_BACKOFF`], so a persistent error is not spun on.
pub(crate) async fn accept_backing_off<T, F, Fut>(
    mut accept: F,
    shutdown: &CancellationToken,
    listener: &str,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut backoff = Duration::from_millis(1);
    loop {
        tokio::select! {
            accepted = accept() => match accepted {
                Ok(accepted) => return Some(accepted),
                Err(error) => {
                    tracing::warn!(%error, listener, backoff_ms = backoff.as_millis() as u64, "accept failed; backing off");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => return None,
                    }
                    backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                }
            },
            () = shutdown.cancelled() => return None,
        }
    }
}

/// Accepts connections until `hub.shutdown` is cancelled, then waits (within a grace period) for
/// open connections to finish what they were doing.
pub async fn run(listener: UnixListener, hub: Arc<Hub>) {
    let limits = hub.config().server.clone();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // One budget for large frames across all connections: the connection cap times the frame
    // cap is gigabytes, so memory is bounded by this, not by those two limits.
    let budget = FrameBudget::for_max_frame(limits.max_frame);
    let mut connections = JoinSet::new();
    loop {
        // Wait for a free slot first, so a flood of connections waits in the kernel's backlog
        // instead of in our memory.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = hub.shutdown.cancelled() => break,
        };
        let Some((stream, _)) =
            accept_backing_off(|| listener.accept(), &hub.shutdown, "socket").await
        else {
            break;
        };
        let peer = match peer_info(&stream) {
            Ok(peer) => peer,
            Err(error) => {
                tracing::warn!(%error, "cannot read peer credentials; closing");
                continue;
            }
        };
        if !uid_allowed(peer.uid, &hub.config().server.allowed_uids) {
            tracing::warn!(
                uid = peer.uid,
                pid = peer.pid,
                "refused a connection from another user"
            );
            continue;
        }
        let (hub, budget) = (hub.clone(), budget.clone());
        connections.spawn(async move {
            Connection::new(hub, stream, peer, budget).run().await;
            drop(permit);
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    tracing::info!(
        open = connections.len(),
        "stopped accepting; finishing requests in flight"
    );
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        tracing::warn!("grace period over; closing the remaining connections");
        connections.shutdown().await;
    }
}
