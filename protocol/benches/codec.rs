//! Criterion benchmarks of the frame codec on the hot path of a read: a `get_secret` request
//! framed by a client and decoded by the hub (length check, `FrameCodec`, named-field
//! `decode_body`), and the `secret` answer encoded by the hub and decoded by the client. Run with
//! `cargo bench -p auth-hub-protocol`; the figures are one core's, beside the round trip's
//! 10–30 µs in `docs/benchmarks.md`.

use auth_hub_protocol::frame::{decode, decode_body, encode, encode_body};
use auth_hub_protocol::request::GetSecret;
use auth_hub_protocol::{
    AccessToken, FrameCodec, Request, RequestEnvelope, Response, ResponseEnvelope, ResponseResult,
    Secret, SecretPath, SecretValue, ServerMessage, DEFAULT_MAX_FRAME,
};
use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tokio_util::codec::Decoder;

/// A request as `hyperforge auth get` sends it: an access token of the hub's length and a path.
fn get_secret() -> RequestEnvelope {
    RequestEnvelope {
        id: 3,
        request: Request::GetSecret(GetSecret {
            access_token: AccessToken::from("at_4QkYp9uRz2s7TnVbXc3mLd8aWeFh6JgKq1oPiUyT5rE"),
            path: SecretPath::parse("github/alice/token").expect("a valid path"),
        }),
    }
}

/// The hub's answer: a 40-byte value with its metadata.
fn secret_answer() -> ServerMessage {
    let now = chrono::Utc::now();
    ServerMessage::Response(ResponseEnvelope {
        id: 3,
        result: ResponseResult::Ok(Response::Secret(Secret {
            value: SecretValue::from("ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"),
            path: SecretPath::parse("github/alice/token").expect("a valid path"),
            created_at: Some(now),
            updated_at: Some(now),
            version: 4,
        })),
    })
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    let request = get_secret();
    let request_frame = encode(&request, DEFAULT_MAX_FRAME).expect("encodes");
    group.bench_function("encode_get_secret_frame", |b| {
        b.iter(|| encode(black_box(&request), DEFAULT_MAX_FRAME).expect("encodes"));
    });
    // What the hub does with each request: split the frame off its read buffer, then decode.
    let mut codec = FrameCodec::new(DEFAULT_MAX_FRAME);
    group.bench_function("hub_decode_get_secret_frame", |b| {
        b.iter(|| {
            let mut buffer = BytesMut::from(black_box(request_frame.as_slice()));
            let body = codec.decode(&mut buffer).expect("valid").expect("whole");
            decode_body::<RequestEnvelope>(&body).expect("decodes")
        });
    });

    let answer = secret_answer();
    let answer_frame = encode(&answer, DEFAULT_MAX_FRAME).expect("encodes");
    group.bench_function("hub_encode_secret_answer", |b| {
        b.iter(|| encode_body(black_box(&answer)).expect("encodes"));
    });
    group.bench_function("client_decode_secret_answer", |b| {
        b.iter(|| {
            decode::<ServerMessage>(black_box(&answer_frame), DEFAULT_MAX_FRAME).expect("decodes")
        });
    });
    group.finish();
}

#[allow(missing_docs)] // criterion_group! generates an undocumented fn
mod group {
    use super::*;
    criterion_group!(benches, codec);
}
use group::benches;
criterion_main!(benches);
