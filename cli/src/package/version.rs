//! Versions as the three ecosystems write them for a release (`MAJOR.MINOR.PATCH`, with an
//! optional pre-release or local suffix kept as written) and the `--bump` argument.

use std::fmt;
use std::str::FromStr;

/// A release version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
    /// Whatever follows `MAJOR.MINOR.PATCH` as written (`-rc.1`, `+build`, `rc1`), or empty.
    pub suffix: String,
}

/// A version or `--bump` value that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VersionError(pub String);

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let _ = text;
        unimplemented!("helper: package core")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}{}",
            self.major, self.minor, self.patch, self.suffix
        )
    }
}

/// `--bump patch|minor|major|X.Y.Z`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bump {
    /// `1.2.3` → `1.2.4`.
    Patch,
    /// `1.2.3` → `1.3.0`.
    Minor,
    /// `1.2.3` → `2.0.0`.
    Major,
    /// Exactly this version, which must be greater than the current one.
    Exact(Version),
}

impl FromStr for Bump {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let _ = text;
        unimplemented!("helper: package core")
    }
}

impl Bump {
    /// The version after `current`.
    ///
    /// # Errors
    /// An exact version that is not greater than `current`.
    pub fn apply(&self, current: &Version) -> Result<Version, VersionError> {
        let _ = current;
        unimplemented!("helper: package core")
    }
}
