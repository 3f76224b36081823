//! Fuzz target `api_key`: API key text in both forms, `TAUTH_<name>--z<base58>` and the legacy
//! `MELT_<client path>--<token name>--z<base58>`.
//!
//! Input: UTF-8 text. Checks that:
//! - parsing never panics;
//! - a parsed key formats back to a `TAUTH_` key that parses to the same name and token bytes,
//!   and a parsed `TAUTH_` key formats back to exactly the text it came from;
//! - a key's name is always a valid key name;
//! - an error's message never repeats the token part of the text outside the quoted name it
//!   may show.

#![no_main]

use auth_hub_protocol::key::{validate_name, KeyFormat};
use auth_hub_protocol::ApiKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ApiKey::parse(text) {
        Ok(key) => {
            validate_name(key.name()).expect("a parsed key has a valid name");
            let formatted = key.to_master_token();
            let back = ApiKey::parse(formatted.expose()).expect("a formatted key parses");
            assert_eq!(back.name(), key.name());
            assert_eq!(back.token_bytes(), key.token_bytes());
            assert_eq!(back.format(), &KeyFormat::Tauth);
            if key.format() == &KeyFormat::Tauth {
                assert_eq!(back, key);
                assert!(
                    formatted.expose() == text,
                    "a TAUTH_ key does not format back"
                );
            }
        }
        Err(error) => {
            if let Some((head, token)) = text.rsplit_once("--") {
                // The name is shown, quoted and escaped (`{:?}`), in its own errors; the fuzzer
                // builds tokens out of it (`\0` then `1W…` reads `01W…`; `e: "` from Debug's
                // `name: "…"`). So the check is on the message without its quoted parts: the
                // only quoted values a KeyError shows are the name and fixed words.
                if looks_like_a_token(token) && !head.contains(token) {
                    assert!(
                        !unquoted(&error.to_string()).contains(token),
                        "an error repeats the token"
                    );
                    assert!(
                        !unquoted(&format!("{error:?}")).contains(token),
                        "an error repeats the token"
                    );
                }
            }
        }
    }
});

/// `text` without its double-quoted parts (`\"` inside one does not end it).
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        if quoted {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
        } else if c == '"' {
            quoted = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// A token-like text: at least 12 characters with a digit, an upper and a lower case letter, so
/// it cannot be a piece of an error message's fixed words (`nknownPrefix` once was).
fn looks_like_a_token(token: &str) -> bool {
    token.len() >= 12
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_uppercase())
        && token.bytes().any(|b| b.is_ascii_lowercase())
}
