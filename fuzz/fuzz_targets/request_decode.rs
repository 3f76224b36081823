//! Fuzz target `request_decode`: a frame body as the hub receives it from a client, decoded as a
//! request envelope and as a hello.
//!
//! Input: one byte giving a count `k` (0 to 63) of one-element arrays to wrap around the rest,
//! then the body. Checks that:
//! - decoding never panics or overflows the stack, whatever the nesting;
//! - the lenient id reader agrees with the full decoder whenever the envelope decodes;
//! - a body nested deeper than [`MAX_DEPTH`] is always refused (the nesting check runs before
//!   serde recurses);
//! - whatever decodes re-encodes, and the re-encoded body decodes to the same value.

#![no_main]

use auth_hub_protocol::frame::{self, MAX_DEPTH};
use auth_hub_protocol::{Hello, RequestEnvelope};
use libfuzzer_sys::fuzz_target;

/// MessagePack fixarray of one element.
const ARRAY_OF_ONE: u8 = 0x91;

fuzz_target!(|data: &[u8]| {
    let Some((&wrap, body)) = data.split_first() else {
        return;
    };
    let depth = usize::from(wrap & 0x3f);
    let mut wrapped = vec![ARRAY_OF_ONE; depth];
    wrapped.extend_from_slice(body);

    for input in [body, wrapped.as_slice()] {
        // The lenient id reader the hub uses for bad_request answers never panics either, and
        // reads the id of anything that decodes whole.
        let id = auth_hub_protocol::request_id(input);
        if let Ok(envelope) = frame::decode_body::<RequestEnvelope>(input) {
            let _ = envelope.request.name();
            assert_eq!(id, Some(envelope.id));
            let again = frame::encode_body(&envelope).expect("a decoded envelope re-encodes");
            let back: RequestEnvelope =
                frame::decode_body(&again).expect("a re-encoded envelope decodes");
            assert_eq!(back, envelope);
        }
        if let Ok(hello) = frame::decode_body::<Hello>(input) {
            let again = frame::encode_body(&hello).expect("a decoded hello re-encodes");
            let back: Hello = frame::decode_body(&again).expect("a re-encoded hello decodes");
            assert_eq!(back, hello);
        }
    }

    if depth > MAX_DEPTH {
        assert!(frame::decode_body::<RequestEnvelope>(&wrapped).is_err());
        assert!(frame::decode_body::<Hello>(&wrapped).is_err());
    }
});
