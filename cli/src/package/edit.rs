//! Rewriting a manifest or lock file for a release, keeping every other byte as the user wrote
//! it: the package's own version, a dependent's requirement on a bumped package, and the
//! package's entry in `Cargo.lock` / `package-lock.json`.

use super::{Ecosystem, ManifestError, Version};
use std::path::Path;

/// `text` (a manifest of `ecosystem`, read from `file`) with the package's version set to `new`.
///
/// # Errors
/// The manifest has no version to set, or cannot be parsed.
pub fn set_version(
    ecosystem: Ecosystem,
    text: &str,
    file: &Path,
    new: &Version,
) -> Result<String, ManifestError> {
    let _ = (ecosystem, text, file, new);
    unimplemented!("helper: package core")
}

/// `text` with every requirement on `dependency` moved to `new`, keeping its operator:
/// `"0.1.0"` → `"0.2.0"`, `"^0.1"` → `"^0.2.0"`, `wa>=0.1.0` → `wa>=0.2.0`. Unchanged when the
/// manifest does not depend on it.
///
/// # Errors
/// The manifest cannot be parsed.
pub fn set_requirement(
    ecosystem: Ecosystem,
    text: &str,
    file: &Path,
    dependency: &str,
    new: &Version,
) -> Result<String, ManifestError> {
    let _ = (ecosystem, text, file, dependency, new);
    unimplemented!("helper: package core")
}

/// `text` (the lock file of `ecosystem`, read from `file`) with package `name`'s own entry moved
/// from `old` to `new`; unchanged when it has no such entry.
///
/// # Errors
/// The lock file cannot be parsed.
pub fn set_lock_version(
    ecosystem: Ecosystem,
    text: &str,
    file: &Path,
    name: &str,
    old: &Version,
    new: &Version,
) -> Result<String, ManifestError> {
    let _ = (ecosystem, text, file, name, old, new);
    unimplemented!("helper: package core")
}
