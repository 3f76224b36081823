//! What a registry said when a publish failed, read from the tool's output (which carries the
//! registry's error body): a refused token, a version that already exists, or its own words.

use super::Ecosystem;

/// Why a registry refused a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryReason {
    /// HTTP 401/403: the token was refused.
    TokenRefused,
    /// The version is already published.
    VersionExists,
    /// Anything else, in the registry's (or the tool's) words, one line.
    Other(String),
}

/// Reads the reason out of the stderr and stdout of a failed `cargo publish`, `npm publish` or
/// `twine upload`. Never panics on any input (fuzzed).
pub fn reason(ecosystem: Ecosystem, output: &str) -> RegistryReason {
    let _ = (ecosystem, output);
    unimplemented!("helper: publish command")
}
