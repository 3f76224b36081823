//! One read on a fresh connection, blocking: the hello and `get_secret_scoped` in one write,
//! the welcome and the answer read back, and the connection closed.
//!
//! For a process that reads one secret and exits (`hyperforge auth get`). [`HubClient`] is built
//! for a program that keeps its connection: an async runtime, a reader task, caches. A one-shot
//! process pays for all of that on every run, and in such a process it costs more than the
//! round trip itself (docs/benchmarks.md). This path needs none of it. It sends the same frames
//! and reads the answers with the same checks and the same errors as [`HubClient`]
//! (`connection.rs`, `socket.rs`).
//!
//! It only does the one-round-trip read. When the hub cannot answer at once (the scope awaits
//! the owner's approval, or the hub predates `get_secret_scoped`), nothing was issued or read,
//! and [`ReadOnce::NotAtOnce`] leaves the asking and the waiting to [`HubClient`].
//!
//! [`HubClient`]: crate::HubClient

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;

use auth_hub_protocol::frame::{encode, read_frame};
use auth_hub_protocol::request::{GetSecretScoped, Request};
use auth_hub_protocol::{
    RequestEnvelope, ResponseEnvelope, ResponseResult, Secret, SecretPath, ServerMessage,
    DEFAULT_MAX_FRAME,
};
use zeroize::{Zeroize, Zeroizing};

use crate::connection::{
    check_socket_path, closed_error, hello_reply, hello_timed_out, server_message,
    unreadable_request, HELLO_TIMEOUT,
};
use crate::error::AuthError;
use crate::socket::{check_answered_path, response_of, scoped_answer};
use crate::ClientOptions;

/// What [`read_once`] found.
#[derive(Debug)]
pub enum ReadOnce {
    /// The secret, read with a token the hub issued for its parent scope.
    Secret(Secret),
    /// The hub cannot answer at once: the scope awaits the owner's approval, or the hub predates
    /// `get_secret_scoped`. Nothing was issued or read; ask with [`crate::HubClient`].
    NotAtOnce,
}

/// The id of the one request: any id works on a connection of one request.
const REQUEST_ID: u64 = 1;

/// Reads `path` on a new connection to `options.socket` with `options`' key, in one round trip.
///
/// # Errors
/// As [`crate::HubClient::get_secret_now`]: [`AuthError::Unreachable`] when nothing answers
/// (the caller may start a hub and use [`crate::HubClient`]), the hello's refusal, the hub's
/// error reply (a refused scope with the scope named), and [`AuthError::ConnectionLost`] when
/// the hub went away before answering.
pub fn read_once(options: &ClientOptions, path: &SecretPath) -> Result<ReadOnce, AuthError> {
    check_socket_path(&options.socket)?;
    let stream = UnixStream::connect(&options.socket).map_err(|source| AuthError::Unreachable {
        socket: options.socket.clone(),
        source,
    })?;
    let request = RequestEnvelope {
        id: REQUEST_ID,
        request: Request::GetSecretScoped(GetSecretScoped { path: path.clone() }),
    };
    // Before the welcome the hub takes frames up to the default limit, as from `HubClient`.
    let mut frames = encode(&options.hello(), DEFAULT_MAX_FRAME)
        .map_err(|e| AuthError::Protocol(format!("cannot encode the hello: {e}")))?;
    frames.extend(
        encode(&request, DEFAULT_MAX_FRAME)
            .map_err(|e| AuthError::BadRequest(format!("get_secret_scoped request: {e}")))?,
    );
    (&stream)
        .write_all(&frames)
        .map_err(|e| AuthError::ConnectionLost(format!("cannot send the hello: {e}")))?;

    let mut reader = ZeroizingReader::new(&stream);
    let max = options.max_frame;
    stream
        .set_read_timeout(Some(HELLO_TIMEOUT))
        .map_err(|e| AuthError::ConnectionLost(format!("cannot read the hello reply: {e}")))?;
    let hello = match read_frame(&mut reader, max) {
        Err(auth_hub_protocol::FrameError::Io(e)) if is_timeout(&e) => Err(hello_timed_out()),
        frame => hello_reply(frame.transpose().map(|f| f.map(Zeroizing::new))),
    };
    hello.map_err(|failure| failure.into_error())?;
    // As `HubClient`: after the welcome, the answer takes as long as the hub takes.
    stream
        .set_read_timeout(None)
        .map_err(|e| AuthError::ConnectionLost(format!("read failed: {e}")))?;
    let answer = loop {
        let frame = read_frame(&mut reader, max).transpose();
        match server_message(frame.map(|f| f.map(Zeroizing::new))) {
            Ok(ServerMessage::Response(ResponseEnvelope { id, result })) if id == REQUEST_ID => {
                break response_of(result);
            }
            Ok(ServerMessage::Response(ResponseEnvelope {
                id: 0,
                result: ResponseResult::Error(reply),
            })) => return Err(closed_error(unreadable_request(&reply), false)),
            Ok(ServerMessage::Response(ResponseEnvelope { id, .. })) => {
                tracing::warn!(id, "response for no request in flight");
            }
            Ok(ServerMessage::Event(_)) => {}
            Err((reason, hub_gone)) => return Err(closed_error(reason, hub_gone)),
        }
    };
    match scoped_answer(path, answer)? {
        Some(scoped) => {
            check_answered_path(path, &scoped.secret)?;
            Ok(ReadOnce::Secret(scoped.secret))
        }
        None => Ok(ReadOnce::NotAtOnce),
    }
}

/// A read timeout, as the platform reports it.
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A buffered reader whose buffer is wiped when dropped: the frames it holds carry a secret.
/// One read usually takes both answers, where reading each frame's prefix and body straight
/// from the socket would take four.
struct ZeroizingReader<'a> {
    stream: &'a UnixStream,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// How much of `buf` was ever written: what the drop wipes.
    used: usize,
}

impl<'a> ZeroizingReader<'a> {
    /// Room for the welcome and a common answer; a larger frame's body is read straight into
    /// the caller's buffer.
    const CAPACITY: usize = 2048;

    fn new(stream: &'a UnixStream) -> Self {
        Self {
            stream,
            buf: vec![0; Self::CAPACITY],
            pos: 0,
            filled: 0,
            used: 0,
        }
    }
}

impl Read for ZeroizingReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.filled {
            // A large read goes straight to the caller's buffer, as `BufReader` does.
            if out.len() >= self.buf.len() {
                return self.stream.read(out);
            }
            self.filled = self.stream.read(&mut self.buf)?;
            self.pos = 0;
            self.used = self.used.max(self.filled);
        }
        let available = &self.buf[self.pos..self.filled];
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for ZeroizingReader<'_> {
    fn drop(&mut self) {
        self.buf[..self.used].zeroize();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::thread;

    use auth_hub_protocol::frame::read_frame;

    use super::*;

    /// Frames come out whole however they arrive: several in one read, one over several reads,
    /// and one larger than the buffer.
    #[test]
    fn frames_are_read_whole_across_reads() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let bodies = [vec![1u8; 10], vec![2u8; 20_000], vec![3u8; 5]];
        // Pieces smaller and larger than the reader's buffer.
        let mut bytes = Vec::new();
        for body in &bodies {
            bytes.extend(u32::try_from(body.len()).unwrap().to_be_bytes());
            bytes.extend(body);
        }
        let writer = thread::spawn(move || {
            for piece in bytes.chunks(1_500) {
                theirs.write_all(piece).unwrap();
                thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        let mut reader = ZeroizingReader::new(&ours);
        for body in &bodies {
            let got = read_frame(&mut reader, DEFAULT_MAX_FRAME).unwrap().unwrap();
            assert_eq!(&got, body);
        }
        writer.join().unwrap();
        assert!(read_frame(&mut reader, DEFAULT_MAX_FRAME)
            .unwrap()
            .is_none());
    }
}
