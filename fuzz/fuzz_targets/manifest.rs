//! Fuzz target `manifest`: a package manifest (`Cargo.toml`, `package.json` or
//! `pyproject.toml`, picked by the first byte) parsed and edited the way a release edits it.
//!
//! Input: one byte choosing the ecosystem (modulo 3), then UTF-8 text. Checks that:
//! - parsing, setting the version and rewriting a requirement never panic, and an error names a
//!   line inside the text;
//! - a parsed name and version are valid (the version parses as a `Version`);
//! - when the text parses and `set_version` succeeds, the result parses with the new version and
//!   the same name and dependencies;
//! - when the text parses, `set_requirement` leaves it parsing with the same name, version and
//!   dependencies.

#![no_main]

use std::path::Path;

use hyperforge::package::edit::{set_requirement, set_version};
use hyperforge::package::manifest::{parse, Manifest, ManifestError};
use hyperforge::package::{Ecosystem, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let ecosystem = [Ecosystem::Cargo, Ecosystem::Npm, Ecosystem::Pypi][usize::from(selector % 3)];
    let file = Path::new(ecosystem.manifest());
    let parsed = parse(ecosystem, text, file);
    match &parsed {
        Ok(manifest) => check_manifest(manifest),
        Err(error) => check_error(error, text),
    }
    let new: Version = "12.0.3-rc.1".parse().expect("a valid version");
    match set_version(ecosystem, text, file, &new) {
        Ok(out) => {
            if let Ok(before) = &parsed {
                let after = parse(ecosystem, &out, file).expect("a set version still parses");
                assert_eq!(after.version.as_deref(), Some("12.0.3-rc.1"));
                assert_eq!(after.name, before.name);
                assert_eq!(after.dependencies, before.dependencies);
            }
        }
        Err(error) => check_error(&error, text),
    }
    let dependency = before_dependency(&parsed);
    match set_requirement(ecosystem, text, file, &dependency, &new) {
        Ok(out) => {
            if let Ok(before) = &parsed {
                let after = parse(ecosystem, &out, file).expect("a set requirement still parses");
                assert_eq!(&after, before, "a requirement edit changed what the manifest says");
            }
        }
        Err(error) => check_error(&error, text),
    }
});

/// The dependency whose requirement is rewritten: the manifest's first, else `wa`.
fn before_dependency(parsed: &Result<Manifest, ManifestError>) -> String {
    parsed
        .as_ref()
        .ok()
        .and_then(|manifest| manifest.dependencies.first().cloned())
        .unwrap_or_else(|| "wa".to_owned())
}

fn check_manifest(manifest: &Manifest) {
    if let Some(version) = &manifest.version {
        version
            .parse::<Version>()
            .unwrap_or_else(|error| panic!("version {version:?} accepted: {error}"));
    }
    if let Some(name) = &manifest.name {
        assert!(!name.is_empty() && name.len() <= 214, "name {name:?} accepted");
    }
}

fn check_error(error: &ManifestError, text: &str) {
    assert!(!error.to_string().is_empty());
    if let ManifestError::Invalid {
        line: Some(line), ..
    } = error
    {
        let lines = text.split('\n').count();
        assert!(*line >= 1 && *line <= lines, "line {line} of {lines}: {error}");
    }
}
