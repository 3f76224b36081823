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
    /// The queue holds bytes kept back to leave with the next frame (see [`Outbox::holding`]).
    held: AtomicBool,
}

impl Outbox {
    /// Wraps a socket's write half and starts its flusher task.
    pub fn start(socket: OwnedWriteHalf) -> Arc<Self> {
        Self::holding(socket, Vec::new())
    }

    /// As [`Outbox::start`], with `first` (whole frames) kept back to leave in one write with
    /// the next frame sent, or at [`Outbox::release`]: the welcome to a hello that requests
    /// followed, so that the client gets it and the first answer together.
    pub fn holding(socket: OwnedWriteHalf, first: Vec<u8>) -> Arc<Self> {
        let held = !first.is_empty();
        let outbox = Arc::new(Self {
            socket,
            queued: Mutex::new(first),
            queued_more: Notify::new(),
            drained: Notify::new(),
            closed: AtomicBool::new(false),
            closed_when_empty: AtomicBool::new(false),
            held: AtomicBool::new(held),
        });
        tokio::spawn(flush_loop(outbox.clone()));
        outbox
    }

    /// Writes what [`Outbox::holding`] kept back, if no frame has taken it along yet.
    pub fn release(&self) {
        if self.held.swap(false, Ordering::AcqRel) {
            let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
            self.write_some(&mut queued);
            if !queued.is_empty() {
                self.queued_more.notify_one();
            }
        }
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
                    if start == 0 || self.held.swap(false, Ordering::AcqRel) {
                        // Nothing ahead of us but what was held for us: write now, from this
                        // task.
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::UnixStream;

    use super::*;

    /// An outbox on one end of a socket pair, and the other end.
    fn pair() -> (Arc<Outbox>, UnixStream) {
        let (server, client) = UnixStream::pair().expect("socket pair");
        let (_read, write) = server.into_split();
        (Outbox::start(write), client)
    }

    /// Reads one frame's body.
    async fn frame(client: &mut UnixStream) -> Vec<u8> {
        let mut prefix = [0u8; 4];
        client.read_exact(&mut prefix).await.expect("a length");
        let mut body = vec![0u8; u32::from_be_bytes(prefix) as usize];
        client.read_exact(&mut body).await.expect("a body");
        body
    }

    /// An outbox holding `held` on one end of a socket pair, and the other end.
    fn holding_pair(held: &[u8]) -> (Arc<Outbox>, UnixStream) {
        let (server, client) = UnixStream::pair().expect("socket pair");
        let (_read, write) = server.into_split();
        (Outbox::holding(write, held.to_vec()), client)
    }

    /// True when nothing arrives within a moment.
    async fn nothing_arrives(client: &mut UnixStream) -> bool {
        let mut byte = [0u8; 1];
        tokio::time::timeout(Duration::from_millis(50), client.read(&mut byte))
            .await
            .is_err()
    }

    /// Reads exactly `len` bytes.
    async fn bytes(client: &mut UnixStream, len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        client.read_exact(&mut bytes).await.expect("bytes");
        bytes
    }

    #[tokio::test]
    async fn held_bytes_leave_only_with_the_next_frame() {
        let (outbox, mut client) = holding_pair(b"HELD");
        assert!(nothing_arrives(&mut client).await, "held back");
        assert!(outbox.send(b"answer").await);
        assert_eq!(bytes(&mut client, 4).await, b"HELD");
        assert_eq!(frame(&mut client).await, b"answer");
    }

    #[tokio::test]
    async fn release_writes_what_was_held_once() {
        let (outbox, mut client) = holding_pair(b"HELD");
        outbox.release();
        assert_eq!(bytes(&mut client, 4).await, b"HELD");
        outbox.release();
        assert!(nothing_arrives(&mut client).await, "nothing written twice");
        assert!(outbox.send(b"next").await);
        assert_eq!(frame(&mut client).await, b"next");
    }

    #[tokio::test]
    async fn held_bytes_are_written_at_close() {
        let (outbox, mut client) = holding_pair(b"HELD");
        outbox.close();
        drop(outbox);
        let mut all = Vec::new();
        client.read_to_end(&mut all).await.expect("read to the end");
        assert_eq!(all, b"HELD");
    }

    #[tokio::test]
    async fn frames_arrive_whole_and_in_order() {
        let (outbox, mut client) = pair();
        for n in 0..100u8 {
            assert!(outbox.send(&[n; 300]).await);
        }
        for n in 0..100u8 {
            assert_eq!(frame(&mut client).await, [n; 300]);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_makes_its_producer_wait_then_gets_everything() {
        let (outbox, mut client) = pair();
        let body = vec![7u8; 64 * 1024];
        // Fill the kernel's buffer and the queue: a send that does not finish (on the paused
        // clock) is one waiting for the client.
        let mut sent = 0usize;
        loop {
            let send = tokio::time::timeout(Duration::from_secs(60), outbox.send(&body));
            match send.await {
                Ok(accepted) => {
                    assert!(accepted);
                    sent += 1;
                    assert!(sent < 1_000, "the producer never waited");
                }
                Err(_) => break,
            }
        }
        assert!(
            outbox.queued.lock().expect("not poisoned").len() >= HIGH_WATER,
            "waits only above the high-water mark"
        );
        // The waiting frame was dropped with its future; the queued ones all arrive, whole.
        let reader = tokio::spawn(async move {
            for _ in 0..sent {
                assert_eq!(frame(&mut client).await.len(), 64 * 1024);
            }
            client
        });
        let mut client = reader.await.expect("reader");
        assert!(outbox.send(b"after").await, "the producer goes on");
        assert_eq!(frame(&mut client).await, b"after");
    }

    #[tokio::test]
    async fn close_still_flushes_what_is_queued() {
        let (outbox, mut client) = pair();
        assert!(outbox.send(b"one").await);
        assert!(outbox.send(b"two").await);
        outbox.close();
        assert_eq!(frame(&mut client).await, b"one");
        assert_eq!(frame(&mut client).await, b"two");
    }

    #[tokio::test]
    async fn sending_to_a_client_that_left_reports_it() {
        let (outbox, client) = pair();
        drop(client);
        assert!(!outbox.send(b"anyone?").await);
        assert!(outbox.is_closed());
    }
}
