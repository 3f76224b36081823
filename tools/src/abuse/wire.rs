//! The protocol spoken by hand over async sockets, for attackers that must do what the client
//! library never would: stop half way through a frame, trickle it, announce impossible lengths.
//! Also the classification of how the hub ended such a connection.

use std::io;

use auth_hub_protocol::frame::{decode_body, encode};
use auth_hub_protocol::{
    Hello, HelloReply, MasterToken, Request, RequestEnvelope, ResponseResult, ServerMessage,
    DEFAULT_MAX_FRAME, PROTOCOL_VERSION,
};
use tokio::io::{AsyncRead, AsyncReadExt};

/// A whole hello frame (length prefix and body) without a key.
pub fn hello_frame() -> Vec<u8> {
    hello_frame_with(None)
}

/// A whole hello frame presenting `token` (the frame then holds the key: drop it soon).
pub fn hello_frame_with(token: Option<MasterToken>) -> Vec<u8> {
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        client_name: "auth-hub-abuse".into(),
        client_version: env!("CARGO_PKG_VERSION").into(),
        master_token: token,
    };
    encode(&hello, DEFAULT_MAX_FRAME).expect("a hello always encodes below the default cap")
}

/// A whole request frame.
pub fn request_frame(id: u64, request: Request) -> Vec<u8> {
    encode(&RequestEnvelope { id, request }, DEFAULT_MAX_FRAME)
        .expect("the harness's requests encode below the default cap")
}

/// Reads one frame body; `None` when the hub closed the connection cleanly before a frame.
///
/// # Errors
/// The read failed (a reset counts), or the hub announced more than `max` bytes.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut prefix = [0u8; 4];
    match reader.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the hub announced an oversized frame",
        ));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// What a hub's frame says, in a word: `welcome`, `ok`, or the error code it carries.
pub fn classify_hello_reply(body: &[u8]) -> String {
    match decode_body::<HelloReply>(body) {
        Ok(HelloReply::Welcome(_)) => "welcome".into(),
        Ok(HelloReply::Error(reply)) => reply.code.as_str().into(),
        Err(_) => "undecodable reply".into(),
    }
}

/// Like [`classify_hello_reply`] for a frame after the hello.
pub fn classify_response(body: &[u8]) -> String {
    match decode_body::<ServerMessage>(body) {
        Ok(ServerMessage::Response(response)) => match response.result {
            ResponseResult::Ok(_) => "ok".into(),
            ResponseResult::Error(reply) => reply.code.as_str().into(),
        },
        Ok(ServerMessage::Event(_)) => "event".into(),
        Err(_) => "undecodable reply".into(),
    }
}

/// How a read that ended the conversation ended: `closed by the hub` or `reset by the hub`.
pub fn classify_end(result: &io::Result<Option<Vec<u8>>>) -> &'static str {
    match result {
        Ok(None) => "closed by the hub",
        Err(error) if error.kind() == io::ErrorKind::ConnectionReset => "reset by the hub",
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => "closed by the hub",
        Err(_) => "read error",
        Ok(Some(_)) => "answered",
    }
}
