//! Fuzz target `registry_reason`: the output of a failed `cargo publish`, `npm publish` or
//! `twine upload`, part of which is the registry's own (untrusted) error body.
//!
//! Input: the first byte picks the ecosystem; the rest, decoded lossily as UTF-8, is the output.
//! Checks that [`reason`] never panics and that the line it keeps is one line of at most
//! [`MAX_LINE`] characters without control characters.

#![no_main]

use hyperforge::package::refusal::{reason, RegistryReason, MAX_LINE};
use hyperforge::package::Ecosystem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let ecosystem = match first % 3 {
        0 => Ecosystem::Cargo,
        1 => Ecosystem::Npm,
        _ => Ecosystem::Pypi,
    };
    let output = String::from_utf8_lossy(rest);
    if let RegistryReason::Other(line) = reason(ecosystem, &output) {
        assert!(line.chars().count() <= MAX_LINE, "{} chars", line.chars().count());
        assert!(!line.chars().any(char::is_control), "control character in {line:?}");
        assert!(!line.is_empty());
    }
});
