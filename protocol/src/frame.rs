//! Frames: a 4-byte big-endian length N (1 ≤ N ≤ max), then N bytes of MessagePack with named
//! fields. The length is checked against the maximum on every frame *before* anything is
//! allocated, so a hostile peer announcing 4 GiB costs nothing.
//!
//! [`FrameCodec`] is the `tokio_util` codec for async peers; [`encode`], [`decode`],
//! [`read_frame`] and [`write_frame`] serve tests, fuzzing and blocking callers.

use std::io::{self, Read, Write};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::codec::{Decoder, Encoder};

use crate::named_fields::NamedFields;

/// Bytes in the length prefix.
pub const LENGTH_BYTES: usize = 4;
/// Deepest nesting of arrays and maps a body may have.
pub const MAX_DEPTH: usize = 32;
/// Default largest body: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A zero length prefix.
    #[error("frame announces an empty body")]
    Empty,
    /// The announced or encoded body is larger than the maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Announced or encoded length.
        len: usize,
        /// The maximum in force.
        max: usize,
    },
    /// The stream ended inside a frame.
    #[error("connection closed inside a frame ({got} of {expected} bytes)")]
    Truncated {
        /// Bytes the frame needed, prefix included.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// The body is not MessagePack of the expected shape.
    #[error("malformed message: {0}")]
    Decode(String),
    /// A value could not be encoded.
    #[error("cannot encode message: {0}")]
    Encode(String),
    /// Reading or writing the stream failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// Encodes `message` as one whole frame, prefix included.
///
/// # Errors
/// [`FrameError::Encode`], or [`FrameError::TooLarge`] when the body exceeds `max`.
pub fn encode<T: Serialize>(message: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut frame = vec![0u8; LENGTH_BYTES];
    rmp_serde::encode::write_named(&mut frame, message)
        .map_err(|e| FrameError::Encode(e.to_string()))?;
    let len = frame.len() - LENGTH_BYTES;
    check_len(len, max)?;
    let prefix = u32::try_from(len).map_err(|_| FrameError::TooLarge { len, max })?;
    frame[..LENGTH_BYTES].copy_from_slice(&prefix.to_be_bytes());
    Ok(frame)
}

/// Decodes a body (without its prefix) into a message. Structs must be maps keyed by field
/// names and enum variants named by strings, at every depth (see [`NamedFields`]).
///
/// # Errors
/// [`FrameError::Decode`] for anything that is not a `T` in MessagePack, trailing bytes included.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let end = first_value_len(body)?;
    if end != body.len() {
        let trailing = body.len() - end;
        return Err(FrameError::Decode(format!(
            "{trailing} trailing bytes after the message"
        )));
    }
    // Read in place: names and strings are borrowed from the body while decoding, not copied
    // through a reader's buffer first.
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(body);
    T::deserialize(NamedFields(&mut deserializer)).map_err(|e| FrameError::Decode(e.to_string()))
}

/// Decodes one whole frame from the start of `bytes`; returns the message and the bytes used.
///
/// # Errors
/// [`FrameError::Truncated`] when `bytes` holds less than a frame, and the errors of
/// [`decode_body`] and of the length check.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], max: usize) -> Result<(T, usize), FrameError> {
    let Some(prefix) = bytes.get(..LENGTH_BYTES) else {
        return Err(FrameError::Truncated {
            expected: LENGTH_BYTES,
            got: bytes.len(),
        });
    };
    let len = announced_len(prefix);
    check_len(len, max)?;
    let end = LENGTH_BYTES + len;
    let body = bytes.get(LENGTH_BYTES..end).ok_or(FrameError::Truncated {
        expected: end,
        got: bytes.len(),
    })?;
    Ok((decode_body(body)?, end))
}

/// Reads one frame's body from a blocking reader. `Ok(None)` on a clean end of stream.
///
/// # Errors
/// [`FrameError::Truncated`] for an end inside the frame, the length checks, and I/O errors.
pub fn read_frame(reader: &mut impl Read, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; LENGTH_BYTES];
    let mut got = 0;
    while got < LENGTH_BYTES {
        match reader.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(FrameError::Truncated {
                    expected: LENGTH_BYTES,
                    got,
                })
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = announced_len(&prefix);
    check_len(len, max)?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated {
            expected: LENGTH_BYTES + len,
            got: LENGTH_BYTES,
        },
        _ => FrameError::Io(e),
    })?;
    Ok(Some(body))
}

/// Encodes `message` and writes it as one frame to a blocking writer.
///
/// # Errors
/// The errors of [`encode`], and I/O errors.
pub fn write_frame<T: Serialize>(
    writer: &mut impl Write,
    message: &T,
    max: usize,
) -> Result<(), FrameError> {
    writer.write_all(&encode(message, max)?)?;
    Ok(())
}

/// Walks the first MessagePack value of `body` iteratively and returns its length in bytes;
/// refuses nesting deeper than [`MAX_DEPTH`] before serde recurses into it. rmp-serde's own depth
/// limit does not cover values skipped as unknown fields, and in a debug build 1 KiB of nested
/// arrays would overflow a worker's stack.
fn first_value_len(body: &[u8]) -> Result<usize, FrameError> {
    let truncated = || FrameError::Decode("message ends inside a value".into());
    let read_len = |pos: usize, width: usize| -> Result<u64, FrameError> {
        let bytes = body.get(pos..pos + width).ok_or_else(truncated)?;
        Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    };
    // Items still expected at each open level; the body itself is one item. A fixed stack: no
    // allocation per frame.
    let mut open = [0u64; MAX_DEPTH + 2];
    open[0] = 1;
    let mut depth = 1usize;
    let mut pos = 0usize;
    while depth > 0 {
        let remaining = &mut open[depth - 1];
        if *remaining == 0 {
            depth -= 1;
            continue;
        }
        *remaining -= 1;
        let marker = *body.get(pos).ok_or_else(truncated)?;
        pos += 1;
        // (bytes of payload to skip, child items that follow)
        let (skip, children): (u64, u64) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (u64::from(marker & 0x1f), 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xc4 | 0xd9 => (1 + read_len(pos, 1)?, 0),
            0xc5 | 0xda => (2 + read_len(pos, 2)?, 0),
            0xc6 | 0xdb => (4 + read_len(pos, 4)?, 0),
            0xc7 => (2 + read_len(pos, 1)?, 0),
            0xc8 => (3 + read_len(pos, 2)?, 0),
            0xc9 => (5 + read_len(pos, 4)?, 0),
            0xdc => (2, read_len(pos, 2)?),
            0xdd => (4, read_len(pos, 4)?),
            0xde => (2, 2 * read_len(pos, 2)?),
            0xdf => (4, 2 * read_len(pos, 4)?),
            0xc1 => {
                return Err(FrameError::Decode(
                    "0xc1 is not a MessagePack marker".into(),
                ))
            }
        };
        pos = usize::try_from(skip)
            .ok()
            .and_then(|skip| pos.checked_add(skip))
            .filter(|&end| end <= body.len())
            .ok_or_else(truncated)?;
        if children > 0 {
            if depth > MAX_DEPTH {
                return Err(FrameError::Decode(format!(
                    "message nests deeper than {MAX_DEPTH} levels"
                )));
            }
            open[depth] = children;
            depth += 1;
        }
    }
    Ok(pos)
}

fn announced_len(prefix: &[u8]) -> usize {
    let mut bytes = [0u8; LENGTH_BYTES];
    bytes.copy_from_slice(&prefix[..LENGTH_BYTES]);
    u32::from_be_bytes(bytes) as usize
}

fn check_len(len: usize, max: usize) -> Result<(), FrameError> {
    if len == 0 {
        Err(FrameError::Empty)
    } else if len > max {
        Err(FrameError::TooLarge { len, max })
    } else {
        Ok(())
    }
}

/// The async codec: decodes frames to raw bodies, encodes already-serialized bodies.
///
/// Bodies stay raw so a caller can answer an ill-typed body with an error instead of dropping the
/// connection; [`decode_body`] turns one into a message.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    max: usize,
}

impl FrameCodec {
    /// A codec refusing bodies larger than `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }

    /// The maximum body size.
    pub fn max(&self) -> usize {
        self.max
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        if src.len() < LENGTH_BYTES {
            return Ok(None);
        }
        let len = announced_len(&src[..LENGTH_BYTES]);
        check_len(len, self.max)?;
        if src.len() < LENGTH_BYTES + len {
            // Nothing is reserved for the announced length: the buffer grows with the bytes that
            // really arrive, so a peer announcing large frames and sending nothing costs nothing.
            return Ok(None);
        }
        src.advance(LENGTH_BYTES);
        Ok(Some(src.split_to(len)))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => {
                let expected = if src.len() < LENGTH_BYTES {
                    LENGTH_BYTES
                } else {
                    LENGTH_BYTES + announced_len(&src[..LENGTH_BYTES])
                };
                Err(FrameError::Truncated {
                    expected,
                    got: src.len(),
                })
            }
        }
    }
}

/// Encodes a body that was serialized already (so serialization happens off the writer task).
impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, body: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        check_len(body.len(), self.max)?;
        let prefix = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge {
            len: body.len(),
            max: self.max,
        })?;
        dst.reserve(LENGTH_BYTES + body.len());
        dst.put_u32(prefix);
        dst.extend_from_slice(&body);
        Ok(())
    }
}

/// Serializes a message to a body (named fields), ready for the [`FrameCodec`] encoder.
///
/// # Errors
/// [`FrameError::Encode`].
pub fn encode_body<T: Serialize>(message: &T) -> Result<Bytes, FrameError> {
    rmp_serde::to_vec_named(message)
        .map(Bytes::from)
        .map_err(|e| FrameError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let mut codec = FrameCodec::new(1024);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::TooLarge {
                len: 0xffff_ffff,
                max: 1024
            })
        ));
        assert!(buf.capacity() < 1024);
        let mut reader: &[u8] = &[0x7f, 0, 0, 0];
        assert!(matches!(
            read_frame(&mut reader, 1024),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn zero_length_is_refused() {
        let mut codec = FrameCodec::new(1024);
        let mut buf = BytesMut::from(&[0, 0, 0, 0][..]);
        assert!(matches!(codec.decode(&mut buf), Err(FrameError::Empty)));
    }

    #[test]
    fn truncated_frames_are_reported() {
        let frame = encode(&"hello", 1024).unwrap();
        for cut in 1..frame.len() {
            let mut codec = FrameCodec::new(1024);
            let mut buf = BytesMut::from(&frame[..cut]);
            assert!(codec.decode(&mut buf).unwrap().is_none());
            assert!(
                matches!(
                    codec.decode_eof(&mut buf),
                    Err(FrameError::Truncated { .. })
                ),
                "cut {cut}"
            );
            assert!(matches!(
                decode::<String>(&frame[..cut], 1024),
                Err(FrameError::Truncated { .. })
            ));
            let mut reader = &frame[..cut];
            assert!(matches!(
                read_frame(&mut reader, 1024),
                Err(FrameError::Truncated { .. })
            ));
        }
    }

    #[test]
    fn round_trip_through_codec_and_blocking_helpers() {
        let mut codec = FrameCodec::new(1024);
        let mut wire = BytesMut::new();
        codec
            .encode(encode_body(&"one").unwrap(), &mut wire)
            .unwrap();
        codec
            .encode(encode_body(&"two").unwrap(), &mut wire)
            .unwrap();
        let first = codec.decode(&mut wire).unwrap().unwrap();
        let second = codec.decode(&mut wire).unwrap().unwrap();
        assert_eq!(decode_body::<String>(&first).unwrap(), "one");
        assert_eq!(decode_body::<String>(&second).unwrap(), "two");

        let mut out = Vec::new();
        write_frame(&mut out, &42u32, 1024).unwrap();
        let body = read_frame(&mut out.as_slice(), 1024).unwrap().unwrap();
        assert_eq!(decode_body::<u32>(&body).unwrap(), 42);
        assert!(read_frame(&mut [].as_slice(), 1024).unwrap().is_none());
    }

    #[test]
    fn encoder_refuses_oversized_bodies() {
        assert!(matches!(
            encode(&"x".repeat(2000), 1024),
            Err(FrameError::TooLarge { .. })
        ));
        let mut codec = FrameCodec::new(8);
        let mut wire = BytesMut::new();
        assert!(codec.encode(Bytes::from(vec![1u8; 9]), &mut wire).is_err());
    }

    #[test]
    fn garbage_and_trailing_bytes_are_decode_errors() {
        assert!(matches!(
            decode_body::<String>(&[0xc1]),
            Err(FrameError::Decode(_))
        ));
        let mut body = rmp_serde::to_vec("a").unwrap();
        body.push(0);
        assert!(matches!(
            decode_body::<String>(&body),
            Err(FrameError::Decode(_))
        ));
    }
}
