//! Fuzz target `oidc_discovery`: the documents read from an OpenID provider, parsed with the
//! protocol crate's [`Discovery::parse`], [`DeviceAuthorization::parse`] and
//! [`TokenAnswer::parse`] (each gets the same bytes).
//!
//! Input: bytes (a document as fetched). Checks that:
//! - nothing panics;
//! - a parsed discovery document names exactly the issuer it was fetched for and only
//!   https (or loopback http) endpoints;
//! - a parsed device authorization has an acceptable verification URL;
//! - the device code and the tokens never show in `Debug` output nor in an error message.
//!
//! Found: serde_json's "invalid type: string \"…\"" message repeated a token sent in a field of
//! another type (`expires_in`); the parse errors now hide quoted values. The input is in
//! `fuzz/regressions/oidc_discovery/` and a unit test of `protocol/src/oidc.rs` covers it.

#![no_main]

use auth_hub_protocol::oidc::{check_url, DeviceAuthorization, Discovery, TokenAnswer};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://op.example";

fuzz_target!(|data: &[u8]| {
    if let Ok(discovery) = Discovery::parse(data, ISSUER) {
        assert_eq!(discovery.issuer, ISSUER);
        assert!(check_url("jwks_uri", &discovery.jwks_uri).is_ok());
        assert!(check_url("token_endpoint", &discovery.token_endpoint).is_ok());
        if let Ok(device) = discovery.device_endpoint() {
            assert!(check_url("device_authorization_endpoint", device).is_ok());
        }
    }
    let secrets = secret_strings(data);
    match DeviceAuthorization::parse(data) {
        Ok(answer) => {
            assert!(check_url("verification_uri", &answer.verification_uri).is_ok());
            assert_hidden(&format!("{answer:?}"), &secrets, "device authorization Debug");
        }
        Err(error) => assert_hidden(&error.to_string(), &secrets, "device authorization error"),
    }
    match TokenAnswer::parse(data) {
        Ok(answer) => assert_hidden(&format!("{answer:?}"), &secrets, "token answer Debug"),
        Err(error) => assert_hidden(&error.to_string(), &secrets, "token answer error"),
    }
});

/// The credential fields' values in `data`, when it is a JSON object, that are long enough not
/// to be a piece of some fixed word.
fn secret_strings(data: &[u8]) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(data) else {
        return Vec::new();
    };
    ["device_code", "access_token", "id_token", "refresh_token"]
        .iter()
        .filter_map(|field| map.get(*field)?.as_str())
        .filter(|value| value.len() >= 16)
        .map(str::to_owned)
        .collect()
}

fn assert_hidden(text: &str, secrets: &[String], what: &str) {
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "{what} shows a credential");
    }
}
