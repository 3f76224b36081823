//! Reading a package's manifest: `Cargo.toml`, `package.json` or `pyproject.toml`, found by
//! name in a directory; a Cargo workspace's members; Hex and Hackage refused by name.

use std::path::{Path, PathBuf};

use super::{Ecosystem, Package};

/// A manifest that is missing, unsupported or cannot be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// No manifest hyperforge knows in the directory.
    #[error("no Cargo.toml, package.json or pyproject.toml in {}", dir.display())]
    Missing {
        /// The directory searched.
        dir: PathBuf,
    },
    /// A manifest of an ecosystem hyperforge does not publish to yet (`mix.exs`, `*.cabal`).
    #[error("publishing {what} packages is not supported yet ({})", file.display())]
    Unsupported {
        /// The manifest found.
        file: PathBuf,
        /// "Hex", "Hackage".
        what: &'static str,
    },
    /// The manifest cannot be read.
    #[error("cannot read {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is not valid, or lacks what publishing needs (a name, a version).
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// Which ecosystem the manifest in `dir` belongs to.
///
/// # Errors
/// [`ManifestError::Missing`], or [`ManifestError::Unsupported`] for Hex and Hackage.
pub fn detect(dir: &Path) -> Result<Ecosystem, ManifestError> {
    let _ = dir;
    unimplemented!("helper: package core")
}

/// The packages in `dir`: its one package, or each member of the Cargo workspace whose root it
/// is (and the root package, when the root manifest has one).
///
/// # Errors
/// As [`detect`], and any manifest that cannot be read or parsed.
pub fn read(dir: &Path) -> Result<Vec<Package>, ManifestError> {
    let _ = dir;
    unimplemented!("helper: package core")
}

/// What one manifest's text says. Public so the fuzz targets can drive it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The package's name; `None` for a virtual Cargo workspace manifest.
    pub name: Option<String>,
    /// Its version as written; `None` for a virtual workspace.
    pub version: Option<String>,
    /// Names of the packages it depends on (not dev-dependencies).
    pub dependencies: Vec<String>,
    /// A Cargo workspace root's `members` patterns.
    pub members: Vec<String>,
}

/// Parses the text of a manifest of `ecosystem` read from `file` (for messages).
///
/// # Errors
/// [`ManifestError::Invalid`] naming the line when it can.
pub fn parse(ecosystem: Ecosystem, text: &str, file: &Path) -> Result<Manifest, ManifestError> {
    let _ = (ecosystem, text, file);
    unimplemented!("helper: package core")
}
