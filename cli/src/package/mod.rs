//! Packages that hyperforge publishes: what a manifest says (ecosystem, name, version, the
//! packages it depends on), how a version is bumped and written back, which registry a package
//! goes to and where that registry's token lives, and the order a workspace publishes in.
//!
//! Everything here reads and rewrites text; running `cargo`, `npm` and `twine` is
//! [`tool`]'s business and the release transaction (bump, verify, commit, publish, tag, undo)
//! is [`release`]'s.

pub mod edit;
pub mod graph;
mod json;
pub mod lock;
pub mod manifest;
mod names;
pub mod refusal;
pub mod registry;
pub mod release;
pub mod tool;
pub mod version;

use std::fmt;
use std::path::PathBuf;

pub use self::manifest::ManifestError;
pub use self::registry::Registry;
pub use self::version::{Bump, Version};

/// The package ecosystems hyperforge publishes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// `Cargo.toml`, published with `cargo publish`.
    Cargo,
    /// `package.json`, published with `npm publish`.
    Npm,
    /// `pyproject.toml`, built with `python3 -m build`, uploaded with `twine`.
    Pypi,
}

impl Ecosystem {
    /// The built-in registry's name, which is also its token's first path segment.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cargo => "cargo",
            Self::Npm => "npm",
            Self::Pypi => "pypi",
        }
    }

    /// The manifest's file name.
    pub fn manifest(self) -> &'static str {
        match self {
            Self::Cargo => "Cargo.toml",
            Self::Npm => "package.json",
            Self::Pypi => "pyproject.toml",
        }
    }

    /// The lock file that records the package's own version, if the ecosystem has one.
    pub fn lock_file(self) -> Option<&'static str> {
        match self {
            Self::Cargo => Some("Cargo.lock"),
            Self::Npm => Some("package-lock.json"),
            Self::Pypi => None,
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A package found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The directory holding its manifest.
    pub dir: PathBuf,
    /// Which ecosystem it belongs to.
    pub ecosystem: Ecosystem,
    /// Its name as the registry knows it (`@acme/x` for a scoped npm package).
    pub name: String,
    /// Its version now.
    pub version: Version,
    /// The names of the packages it depends on (normal, build and peer dependencies; not
    /// dev-dependencies, which a registry does not need first), as written in the manifest.
    pub dependencies: Vec<String>,
    /// The Cargo workspace root whose `Cargo.lock` records it, when it is a workspace member
    /// (its own directory otherwise).
    pub lock_dir: PathBuf,
}

impl Package {
    /// The manifest's path.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(self.ecosystem.manifest())
    }
}
