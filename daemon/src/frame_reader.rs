//! Reading frames under a memory budget shared by every connection.
//!
//! A per-connection frame limit alone does not bound the hub's memory: each of thousands of
//! connections may announce a frame of `server.max_frame` bytes, send half of it and stall, and
//! the hub would hold every half. So a connection reads into a small buffer that only frames of
//! up to [`ALLOWANCE`] bytes fit in (nearly every request: they never touch the budget), and a
//! larger frame must first take its whole size from the hub-wide [`FrameBudget`] before its
//! buffer grows. A connection that cannot get it within [`BUDGET_WAIT`] gets a `busy` error and
//! is closed. The budget taken stays with the [`Frame`] until the caller drops it, so it also
//! bounds large requests still being decoded or served.

use std::sync::Arc;
use std::time::Duration;

use auth_hub_protocol::frame::{FrameError, LENGTH_BYTES};
use auth_hub_protocol::FrameCodec;
use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::codec::Decoder;

/// Bytes a connection may buffer for one frame without taking from the budget. Small, because
/// every one of up to `server.max_connections` (12 288) connections may hold this much at once:
/// 512 B each is 6 MiB at a full house, on top of the ~3.8 KiB an idle connection costs. It fits a
/// hello and every request but a `put` of a value over ~300 bytes.
pub const ALLOWANCE: usize = 512;
/// Smallest read buffer: enough for the 4-byte prefix and a small request. A connection's first
/// read takes up to [`ALLOWANCE`] (the hello and whatever follows it); each next frame starts in a
/// buffer the size of the last small one (one `read` per request for a client that repeats a
/// request, instead of a 64-byte read and another for the rest), growing up to [`ALLOWANCE`] as
/// needed.
const READ_BUFFER: usize = 64;
/// Default budget for frames larger than [`ALLOWANCE`], all connections together: four frames of
/// the default 1 MiB maximum at once. With a full house of idle connections (~50 MiB) and every
/// one of them holding its allowance (6 MiB), the hub stays under its 64 MiB ceiling.
pub const DEFAULT_BUDGET: usize = 4 << 20;
/// How long a connection waits for budget before it is told `busy` and closed. Shorter than the
/// default `hello_timeout` (5 s), so the waiting client gets that answer rather than the silent
/// close of a stalled frame; long enough to ride out another client's large `put`.
pub const BUDGET_WAIT: Duration = Duration::from_secs(2);

/// The hub-wide budget of bytes for large frames being received or served.
#[derive(Debug, Clone)]
pub struct FrameBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl FrameBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> Self {
        // The semaphore's own ceiling is far above any budget a u32 frame length needs.
        let total = total.min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// The budget for a hub whose frames may be `max_frame` bytes: [`DEFAULT_BUDGET`], or one
    /// whole frame if `server.max_frame` was raised above it.
    pub fn for_max_frame(max_frame: usize) -> Self {
        Self::new(DEFAULT_BUDGET.max(max_frame + LENGTH_BYTES))
    }

    /// The budget's size in bytes.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Bytes not taken right now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// Takes `bytes` (at most the whole budget, so a frame larger than it after a config reload
    /// still gets through, alone), waiting at most `wait`.
    async fn take(&self, bytes: usize, wait: Duration) -> Option<OwnedSemaphorePermit> {
        let wanted = u32::try_from(bytes.min(self.total)).unwrap_or(u32::MAX);
        tokio::time::timeout(wait, self.bytes.clone().acquire_many_owned(wanted))
            .await
            .ok()
            .and_then(Result::ok)
    }
}

/// One frame's body, and the budget it holds until dropped.
#[derive(Debug)]
pub struct Frame {
    /// The MessagePack body, without its length prefix.
    pub body: BytesMut,
    /// Budget taken for a frame larger than [`ALLOWANCE`]; dropping it gives the bytes back.
    pub budget: Option<OwnedSemaphorePermit>,
}

/// Why no frame could be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The frame itself is refused (length, truncation, I/O).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The hub-wide budget for large frames stayed spent for [`BUDGET_WAIT`].
    #[error(
        "the hub is receiving too many large frames at once (a budget of {budget} bytes for all \
         connections); retry shortly"
    )]
    Busy {
        /// The budget's size in bytes.
        budget: usize,
    },
}

/// Reads frames from `source`, growing its buffer past [`ALLOWANCE`] only with budget.
pub struct FrameReader<R> {
    source: R,
    codec: FrameCodec,
    buffer: BytesMut,
    budget: FrameBudget,
    /// Budget taken for the frame being received.
    held: Option<OwnedSemaphorePermit>,
    /// Set after the end of the stream or an error: nothing more is read.
    done: bool,
    /// Capacity to start the next frame with: the size of the last frame (prefix included)
    /// within [`READ_BUFFER`]..=[`ALLOWANCE`], so a client repeating requests of one size has
    /// each read whole by one `read`, not a 64-byte one followed by the rest.
    start_with: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader refusing frames over `max_frame` bytes and taking large ones from `budget`.
    pub fn new(source: R, max_frame: usize, budget: FrameBudget) -> Self {
        Self {
            source,
            codec: FrameCodec::new(max_frame),
            buffer: BytesMut::with_capacity(READ_BUFFER),
            budget,
            held: None,
            done: false,
            // The hello and the requests a client sends behind it in the same write (a fresh
            // `get`) are read at once, so the welcome can leave with the first answer.
            start_with: ALLOWANCE,
        }
    }

    /// The largest frame accepted.
    pub fn max_frame(&self) -> usize {
        self.codec.max()
    }

    /// True while part of a frame is buffered.
    pub fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// True when a whole frame is buffered: [`FrameReader::next`] answers it without reading.
    pub fn has_frame(&self) -> bool {
        self.buffer
            .first_chunk::<LENGTH_BYTES>()
            .and_then(|prefix| usize::try_from(u32::from_be_bytes(*prefix)).ok())
            .is_some_and(|len| self.buffer.len() - LENGTH_BYTES >= len)
    }

    /// The next frame; `None` at a clean end of the stream and after an error. Cancel safe: a
    /// call dropped while waiting for bytes or budget loses nothing.
    pub async fn next(&mut self) -> Option<Result<Frame, ReadError>> {
        if self.done {
            return None;
        }
        let result = self.read_frame().await;
        if !matches!(result, Some(Ok(_))) {
            // Nothing more will be read: give back the budget and the buffer now, not when the
            // connection has finished its requests in flight.
            self.done = true;
            self.held = None;
            self.buffer = BytesMut::new();
        }
        result
    }

    async fn read_frame(&mut self) -> Option<Result<Frame, ReadError>> {
        loop {
            match self.codec.decode(&mut self.buffer) {
                Ok(Some(body)) => {
                    let budget = self.held.take();
                    self.start_with = (LENGTH_BYTES + body.len()).clamp(READ_BUFFER, ALLOWANCE);
                    return Some(Ok(Frame { body, budget }));
                }
                Ok(None) => {}
                Err(error) => return Some(Err(error.into())),
            }
            if self.buffer.is_empty() && self.buffer.capacity() < self.start_with {
                // A new small buffer, never the rest of a large one (that goes with its frame).
                self.buffer = BytesMut::with_capacity(self.start_with);
            }
            if self.buffer.len() == self.buffer.capacity() {
                if let Err(error) = self.grow().await {
                    return Some(Err(error));
                }
            }
            match self.source.read_buf(&mut self.buffer).await {
                Ok(0) => {
                    return match self.codec.decode_eof(&mut self.buffer) {
                        Ok(_) => None,
                        Err(error) => Some(Err(error.into())),
                    }
                }
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Some(Err(FrameError::Io(error).into())),
            }
        }
    }

    /// Replaces the full buffer with one that fits the frame being received: exactly its size
    /// (and only with budget) past [`ALLOWANCE`], so nothing beyond the frame is ever read into
    /// a large buffer and the next frame starts again in a small one.
    async fn grow(&mut self) -> Result<(), ReadError> {
        let needed = match self.buffer.get(..LENGTH_BYTES) {
            // The codec has checked the announced length against the maximum already.
            Some(prefix) => {
                let mut bytes = [0u8; LENGTH_BYTES];
                bytes.copy_from_slice(prefix);
                LENGTH_BYTES + u32::from_be_bytes(bytes) as usize
            }
            None => LENGTH_BYTES,
        };
        let capacity = if needed > ALLOWANCE {
            if self.held.is_none() {
                self.held = Some(self.budget.take(needed, BUDGET_WAIT).await.ok_or(
                    ReadError::Busy {
                        budget: self.budget.total(),
                    },
                )?);
            }
            needed
        } else {
            needed.max(READ_BUFFER)
        };
        let mut grown = BytesMut::with_capacity(capacity);
        grown.extend_from_slice(&self.buffer);
        self.buffer = grown;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_hub_protocol::frame::encode;
    use tokio::io::AsyncWriteExt;

    fn frame_of(len: usize) -> Vec<u8> {
        // A MessagePack bin of the right size: 0xc6, a 4-byte length, the bytes.
        let mut body = vec![0xc6];
        body.extend_from_slice(&u32::try_from(len - 5).unwrap().to_be_bytes());
        body.resize(len, 7);
        let mut frame = u32::try_from(len).unwrap().to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        frame
    }

    #[test]
    fn has_frame_needs_the_whole_frame_buffered() {
        let (source, _other) = tokio::io::duplex(64);
        let mut reader = FrameReader::new(source, 1024, FrameBudget::new(4096));
        assert!(!reader.has_frame(), "empty");
        let frame = frame_of(100);
        reader.buffer.extend_from_slice(&frame[..3]);
        assert!(!reader.has_frame(), "part of the prefix");
        reader.buffer.extend_from_slice(&frame[3..50]);
        assert!(!reader.has_frame(), "part of the body");
        reader.buffer.extend_from_slice(&frame[50..]);
        assert!(reader.has_frame(), "whole");
        reader.buffer.extend_from_slice(&frame[..10]);
        assert!(reader.has_frame(), "whole, and part of the next");
    }

    #[tokio::test]
    async fn small_frames_never_touch_the_budget() {
        let budget = FrameBudget::new(1024);
        let (mut client, server) = tokio::io::duplex(4096);
        let mut reader = FrameReader::new(server, 1 << 20, budget.clone());
        let mut wire = encode(&"one", 1024).unwrap();
        wire.extend(frame_of(ALLOWANCE - LENGTH_BYTES));
        client.write_all(&wire).await.unwrap();
        let first = reader.next().await.unwrap().unwrap();
        assert_eq!(&first.body[..], &rmp_serde::to_vec("one").unwrap()[..]);
        let second = reader.next().await.unwrap().unwrap();
        assert_eq!(second.body.len(), ALLOWANCE - LENGTH_BYTES);
        assert!(first.budget.is_none() && second.budget.is_none());
        assert_eq!(budget.available(), 1024);
        drop(client);
        assert!(reader.next().await.is_none());
    }

    /// An `AsyncRead` that counts the reads that returned bytes.
    struct CountingReads<R> {
        inner: R,
        reads: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl<R: AsyncRead + Unpin> AsyncRead for CountingReads<R> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let before = buf.filled().len();
            let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
            if buf.filled().len() > before {
                self.reads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            polled
        }
    }

    #[tokio::test]
    async fn a_repeated_request_is_read_whole_by_one_read() {
        let (mut client, server) = tokio::io::duplex(4096);
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let source = CountingReads {
            inner: server,
            reads: reads.clone(),
        };
        let budget = FrameBudget::new(1024);
        let mut reader = FrameReader::new(source, 1 << 20, budget.clone());
        // A request of 200 bytes, as large as a get_secret with a long path.
        let frame = frame_of(200);
        for round in 0..4 {
            client.write_all(&frame).await.unwrap();
            let body = reader.next().await.unwrap().unwrap().body;
            assert_eq!(body.len(), 200);
            let count = reads.swap(0, std::sync::atomic::Ordering::Relaxed);
            // The first read takes up to ALLOWANCE; each next starts at the last frame's size.
            assert_eq!(count, 1, "reads for request {round}");
        }
        // A larger one afterwards still arrives whole, and is not kept as the next start.
        let large = frame_of(3 * ALLOWANCE);
        client.write_all(&large).await.unwrap();
        let body = reader.next().await.unwrap().unwrap().body;
        assert_eq!(body.len(), 3 * ALLOWANCE);
        client.write_all(&frame).await.unwrap();
        assert_eq!(reader.next().await.unwrap().unwrap().body.len(), 200);
        assert!(reader.buffer.capacity() <= ALLOWANCE);
        assert_eq!(budget.available(), 1024);
    }

    #[tokio::test]
    async fn a_large_frame_holds_budget_until_dropped() {
        let budget = FrameBudget::new(10_000);
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut reader = FrameReader::new(server, 1 << 20, budget.clone());
        client.write_all(&frame_of(6_000)).await.unwrap();
        let frame = reader.next().await.unwrap().unwrap();
        assert_eq!(frame.body.len(), 6_000);
        assert_eq!(budget.available(), 10_000 - 6_004);
        drop(frame);
        assert_eq!(budget.available(), 10_000);
        // The next frame starts in a small buffer again.
        assert!(reader.buffer.capacity() <= ALLOWANCE);
    }

    #[tokio::test]
    async fn partial_frames_beyond_the_budget_are_refused_as_busy() {
        let budget = FrameBudget::new(10_000);
        let (mut first_client, first_server) = tokio::io::duplex(1 << 16);
        let (mut second_client, second_server) = tokio::io::duplex(1 << 16);
        let mut first = FrameReader::new(first_server, 1 << 20, budget.clone());
        let mut second = FrameReader::new(second_server, 1 << 20, budget.clone());
        // Each sends half of an 8 000-byte frame and stalls.
        first_client
            .write_all(&frame_of(8_000)[..4_000])
            .await
            .unwrap();
        second_client
            .write_all(&frame_of(8_000)[..4_000])
            .await
            .unwrap();
        let stalled = tokio::time::timeout(Duration::from_millis(200), first.next()).await;
        assert!(stalled.is_err(), "the first frame is incomplete");
        assert!(first.has_partial());
        assert_eq!(budget.available(), 10_000 - 8_004);
        // The second connection cannot grow past its allowance: busy, and then nothing more.
        let refused = second.next().await.unwrap();
        assert!(
            matches!(refused, Err(ReadError::Busy { budget: 10_000 })),
            "{refused:?}"
        );
        assert!(second.buffer.capacity() <= ALLOWANCE);
        assert!(second.next().await.is_none());
        // Once the first connection goes away, its budget comes back at once.
        drop(first_client);
        assert!(matches!(
            first.next().await,
            Some(Err(ReadError::Frame(FrameError::Truncated { .. })))
        ));
        assert_eq!(budget.available(), 10_000);
        assert!(!first.has_partial());
    }

    #[tokio::test]
    async fn a_frame_larger_than_the_whole_budget_takes_all_of_it() {
        let budget = FrameBudget::new(2_000);
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut reader = FrameReader::new(server, 1 << 20, budget.clone());
        client.write_all(&frame_of(5_000)).await.unwrap();
        let frame = reader.next().await.unwrap().unwrap();
        assert_eq!(frame.body.len(), 5_000);
        assert_eq!(budget.available(), 0);
    }

    #[tokio::test]
    async fn oversized_and_truncated_frames_are_errors() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut reader = FrameReader::new(server, 1024, FrameBudget::new(4096));
        client.write_all(&[0xff, 0xff, 0xff, 0xff]).await.unwrap();
        assert!(matches!(
            reader.next().await,
            Some(Err(ReadError::Frame(FrameError::TooLarge { .. })))
        ));
        assert!(reader.next().await.is_none());
    }
}
