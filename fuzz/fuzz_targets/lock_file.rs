//! Fuzz target `lock_file`: a `Cargo.lock` or `package-lock.json` (picked by the first byte)
//! with package `wa`'s entry moved from 0.1.0 to 0.2.0, as a release does.
//!
//! Input: one byte choosing the ecosystem (even: Cargo, odd: npm), then UTF-8 text. Checks that:
//! - `set_lock_version` never panics, and an error names a line inside the text;
//! - its result is again a lock file it accepts;
//! - moving the entry back gives the original text byte for byte, when the text holds no
//!   escape, no multi-line string and no 0.2.0 of its own (which the move back would also
//!   touch).

#![no_main]

use std::path::Path;

use hyperforge::package::edit::set_lock_version;
use hyperforge::package::manifest::ManifestError;
use hyperforge::package::{Ecosystem, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let ecosystem = if selector % 2 == 0 {
        Ecosystem::Cargo
    } else {
        Ecosystem::Npm
    };
    let file = Path::new(ecosystem.lock_file().expect("cargo and npm have lock files"));
    let old: Version = "0.1.0".parse().expect("a valid version");
    let new: Version = "0.2.0".parse().expect("a valid version");
    let out = match set_lock_version(ecosystem, text, file, "wa", &old, &new) {
        Ok(out) => out,
        Err(error) => {
            if let ManifestError::Invalid {
                line: Some(line), ..
            } = &error
            {
                let lines = text.split('\n').count();
                assert!(*line >= 1 && *line <= lines, "line {line} of {lines}: {error}");
            }
            return;
        }
    };
    let back = set_lock_version(ecosystem, &out, file, "wa", &new, &old)
        .expect("an edited lock file is still accepted");
    let plain = !text.contains('\\')
        && !text.contains("'''")
        && !text.contains("\"\"\"")
        && !text.contains("0.2.0");
    if plain {
        assert_eq!(back, text, "moving the entry back changed other bytes");
    }
});
