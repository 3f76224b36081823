//! Fuzz target `hub_config`: the daemon's `config.toml`, parsed with [`HubConfig::parse`].
//!
//! Input: UTF-8 text. Checks that parsing never panics, that an error's location (when it has
//! one) points inside the text, that an invalid value is quoted at most 64 characters long, and that a parsed config's `Debug` form can be produced.

#![no_main]

use std::path::Path;

use auth_hub::policy::{ConfigError, HubConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match HubConfig::parse(text, Path::new("config.toml")) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.is_empty());
            let at = match &error {
                ConfigError::Syntax { at, .. } => *at,
                ConfigError::Invalid { at, value, .. } => {
                    assert!(
                        value.chars().count() <= 64,
                        "an invalid value is not shortened"
                    );
                    Some(*at)
                }
                _ => None,
            };
            if let Some(at) = at {
                let lines = text.split('\n').count();
                assert!(
                    at.line >= 1 && at.line <= lines,
                    "line {} of {lines}",
                    at.line
                );
                assert!(at.column >= 1, "column {}", at.column);
            }
        }
    }
});
