//! Fuzz target `frame_decode`: the frame layer, fed a hostile byte stream.
//!
//! Input: one control byte (low two bits pick the maximum body size, so both `TooLarge` and whole
//! frames are reachable), one chunking seed, then the stream. Checks that:
//! - the plain [`frame::decode`] never panics, and when it decodes a message it reports using
//!   exactly the first frame's bytes;
//! - the blocking [`frame::read_frame`] and the `tokio_util` [`FrameCodec`] fed the same stream in
//!   arbitrary chunks (including empty ones) agree on every frame and on how the stream ends;
//! - no frame is ever empty or larger than the maximum.

#![no_main]

use std::io::Cursor;

use auth_hub_protocol::frame::{self, FrameCodec, FrameError, DEFAULT_MAX_FRAME, LENGTH_BYTES};
use auth_hub_protocol::{RequestEnvelope, ServerMessage};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// How a stream of frames ended, with the fields both readers agree on.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Clean,
    Empty,
    TooLarge { len: usize },
    Truncated { expected: usize },
    Other(String),
}

impl From<FrameError> for End {
    fn from(error: FrameError) -> Self {
        match error {
            FrameError::Empty => End::Empty,
            FrameError::TooLarge { len, .. } => End::TooLarge { len },
            FrameError::Truncated { expected, .. } => End::Truncated { expected },
            other => End::Other(other.to_string()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [control, chunking, stream @ ..] = data else {
        return;
    };
    let max = match control & 0b11 {
        0 => 1,
        1 => 16,
        2 => 300,
        _ => DEFAULT_MAX_FRAME,
    };

    let (whole_frames, whole_end) = read_all(stream, max);
    let (codec_frames, codec_end) = decode_chunked(stream, max, *chunking);
    assert_eq!(
        whole_frames, codec_frames,
        "read_frame and the codec disagree"
    );
    assert_eq!(
        whole_end, codec_end,
        "read_frame and the codec end differently"
    );
    for body in &whole_frames {
        assert!(
            !body.is_empty() && body.len() <= max,
            "frame of {} bytes",
            body.len()
        );
    }

    if let Ok((_, used)) = frame::decode::<RequestEnvelope>(stream, max) {
        assert_eq!(used, LENGTH_BYTES + whole_frames[0].len());
    }
    if let Ok((_, used)) = frame::decode::<ServerMessage>(stream, max) {
        assert_eq!(used, LENGTH_BYTES + whole_frames[0].len());
    }
    for body in &whole_frames {
        let _ = frame::decode_body::<RequestEnvelope>(body);
        let _ = frame::decode_body::<ServerMessage>(body);
    }
});

/// Every frame body the blocking reader finds, and how the stream ended.
fn read_all(stream: &[u8], max: usize) -> (Vec<Vec<u8>>, End) {
    let mut reader = Cursor::new(stream);
    let mut frames = Vec::new();
    loop {
        match frame::read_frame(&mut reader, max) {
            Ok(Some(body)) => frames.push(body),
            Ok(None) => return (frames, End::Clean),
            Err(error) => return (frames, error.into()),
        }
    }
}

/// Every frame body the codec finds when the stream arrives in chunks whose sizes come from
/// `seed` (a small linear congruential sequence, 0 to 15 bytes each), then end of stream.
fn decode_chunked(stream: &[u8], max: usize, seed: u8) -> (Vec<Vec<u8>>, End) {
    let mut codec = FrameCodec::new(max);
    let mut buffer = BytesMut::new();
    let mut frames = Vec::new();
    let mut state = u32::from(seed);
    let mut rest = stream;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let size = ((state >> 16) % 16) as usize;
        let (chunk, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        buffer.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buffer) {
                Ok(Some(body)) => frames.push(body.to_vec()),
                Ok(None) => break,
                Err(error) => return (frames, error.into()),
            }
        }
    }
    loop {
        match codec.decode_eof(&mut buffer) {
            Ok(Some(body)) => frames.push(body.to_vec()),
            Ok(None) => return (frames, End::Clean),
            Err(error) => return (frames, error.into()),
        }
    }
}
