//! A connection's outgoing frames. A response is written straight to the socket by the task that
//! produced it when nothing is queued ahead of it (no hop through another task, which is most of
//! a round trip's cost); otherwise it is queued and a flusher task writes it when the socket is
//! writable. The queue is bounded: producers wait while a slow client has more than
//! [`HIGH_WATER`] bytes unread, so it fills only its own queue.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::Notify;

/// Queued bytes above which producers wait. Bytes are queued here only once the kernel's socket
/// buffer (about 200 KiB) is full, so a client that keeps reading is not held up by this; a
/// client that stops reading must not make the hub hold more: with 256 KiB, 200 connections that
/// pipelined requests and never read took a hub from 16 to 80 MiB. At this size a connection's
/// queue is at most 512 bytes plus one response (a few MiB for 12 288 connections of small
/// answers).
pub const HIGH_WATER: usize = 512;

/// The write side of one connection.
pub struct Outbox {
    socket: OwnedWriteHalf,
    queued: Mutex<Vec<u8>>,
    /// Wakes the flusher when bytes are queued.
    queued_more: Notify,
    /// Wakes producers when the queue drained below the high-water mark.
    drained: Notify,
    closed: AtomicBool,
    /// Set by [`Outbox::close`]: stop once the queue is empty.
    closed_when_empty: AtomicBool,
}

impl Outbox {
    /// Wraps a socket's write half and starts its flusher task.
    pub fn start(socket: OwnedWriteHalf) -> Arc<Self> {
        let outbox = Arc::new(Self {
            socket,
            queued: Mutex::new(Vec::new()),
            queued_more: Notify::new(),
            drained: Notify::new(),
            closed: AtomicBool::new(false),
            closed_when_empty: AtomicBool::new(false),
        });
        tokio::spawn(flush_loop(outbox.clone()));
        outbox
    }

    /// Sends one frame body (its length prefix is added here). Returns false once the client is
    /// gone. Waits while the client is too slow to read what it was sent.
    pub async fn send(&self, body: &[u8]) -> bool {
        let Ok(len) = u32::try_from(body.len()) else {
            tracing::error!(len = body.len(), "response too large to frame; dropped");
            return !self.is_closed();
        };
        loop {
            // Register interest before checking, so a drain in between is not missed.
            let drained = self.drained.notified();
            {
                let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
                if self.is_closed() {
                    return false;
                }
                if queued.len() < HIGH_WATER {
                    let start = queued.len();
                    queued.extend_from_slice(&len.to_be_bytes());
                    queued.extend_from_slice(body);
                    if start == 0 {
                        // Nothing ahead of us: write now, from this task.
                        self.write_some(&mut queued);
                    }
                    if !queued.is_empty() {
                        self.queued_more.notify_one();
                    }
                    return !self.is_closed();
                }
            }
            drained.await;
        }
    }

    /// True once a write failed or the connection was closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Stops the flusher after it has written what is queued.
    pub fn close(&self) {
        self.closed_when_empty.store(true, Ordering::Release);
        self.queued_more.notify_one();
    }

    /// Writes as much of `queued` as the socket takes without blocking.
    fn write_some(&self, queued: &mut Vec<u8>) {
        while !queued.is_empty() {
            match self.socket.try_write(queued) {
                Ok(0) => return self.fail(),
                Ok(n) => {
                    queued.drain(..n);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.fail(),
            }
        }
        if queued.capacity() > HIGH_WATER {
            *queued = Vec::new();
        }
    }

    fn fail(&self) {
        self.closed.store(true, Ordering::Release);
        self.drained.notify_waiters();
    }
}

async fn flush_loop(outbox: Arc<Outbox>) {
    loop {
        outbox.queued_more.notified().await;
        loop {
            let (empty, stop) = {
                let mut queued = outbox.queued.lock().unwrap_or_else(PoisonError::into_inner);
                outbox.write_some(&mut queued);
                let stop = outbox.is_closed()
                    || (queued.is_empty() && outbox.closed_when_empty.load(Ordering::Acquire));
                if queued.len() < HIGH_WATER {
                    outbox.drained.notify_waiters();
                }
                (queued.is_empty(), stop)
            };
            if stop {
                outbox.fail();
                return;
            }
            if empty {
                break;
            }
            if outbox.socket.writable().await.is_err() {
                outbox.fail();
                return;
            }
        }
    }
}
