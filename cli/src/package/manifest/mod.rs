//! Reading a package's manifest: `Cargo.toml`, `package.json` or `pyproject.toml`, found by
//! name in a directory; a Cargo workspace's members; Hex and Hackage refused by name.
//!
//! Manifests are untrusted text (a workspace may hold anyone's packages): they are read with a
//! size limit, parsed with `toml_edit` / `serde_json` (so errors can name the line), and every
//! name and version is checked here, once, so that what comes out always forms a valid token
//! path, tag and version. Nothing here panics on any input (the `manifest` fuzz target).

mod cargo;
mod npm;
mod pypi;

use std::fs;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item};

pub(crate) use self::pypi::requirement_name;
use super::{names, Ecosystem, Package, Version};

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

/// Largest manifest or lock file read: far beyond any real one, small enough to keep a hostile
/// file from costing memory.
pub(crate) const MAX_FILE: u64 = 1 << 20;

/// Which ecosystem the manifest in `dir` belongs to.
///
/// Exactly one of `Cargo.toml`, `package.json` and `pyproject.toml` may be present: a directory
/// with two of them (a Rust crate with a `package.json` for its tooling, say) is refused with an
/// error naming both, rather than guessing which one is meant to be published. Only when none
/// is there are `mix.exs` (Hex) and `*.cabal` (Hackage) looked for, to say they are not
/// supported yet.
///
/// # Errors
/// [`ManifestError::Missing`], or [`ManifestError::Unsupported`] for Hex and Hackage,
/// [`ManifestError::Invalid`] for more than one manifest, [`ManifestError::Read`] when the
/// directory cannot be listed.
pub fn detect(dir: &Path) -> Result<Ecosystem, ManifestError> {
    let found: Vec<Ecosystem> = [Ecosystem::Cargo, Ecosystem::Npm, Ecosystem::Pypi]
        .into_iter()
        .filter(|ecosystem| dir.join(ecosystem.manifest()).is_file())
        .collect();
    match found.as_slice() {
        [one] => return Ok(*one),
        [] => {}
        several => {
            let names: Vec<&str> = several.iter().map(|e| e.manifest()).collect();
            return Err(ManifestError::Invalid {
                file: dir.to_owned(),
                line: None,
                message: format!(
                    "more than one manifest ({}): hyperforge publishes one package per directory and will not guess which one",
                    names.join(", ")
                ),
            });
        }
    }
    if dir.join("mix.exs").is_file() {
        return Err(ManifestError::Unsupported {
            file: dir.join("mix.exs"),
            what: "Hex",
        });
    }
    let entries = fs::read_dir(dir).map_err(|source| ManifestError::Read {
        file: dir.to_owned(),
        source,
    })?;
    let mut cabal: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cabal") && path.is_file())
        .collect();
    cabal.sort();
    if let Some(file) = cabal.into_iter().next() {
        return Err(ManifestError::Unsupported {
            file,
            what: "Hackage",
        });
    }
    Err(ManifestError::Missing {
        dir: dir.to_owned(),
    })
}

/// The packages in `dir`: its one package, or each member of the Cargo workspace whose root it
/// is (and the root package, when the root manifest has one).
///
/// A Cargo package's `lock_dir` is the directory of the workspace root it is a member of (the
/// nearest ancestor whose `Cargo.toml` has a `[workspace]` listing it), else its own; its
/// `version.workspace = true` is read from that root's `[workspace.package] version`. Workspace
/// members with `publish = false` are left out (no registry receives them); a package asked
/// for directly is returned whatever its `publish` says.
///
/// # Errors
/// As [`detect`], and any manifest that cannot be read or parsed.
pub fn read(dir: &Path) -> Result<Vec<Package>, ManifestError> {
    let ecosystem = detect(dir)?;
    let file = dir.join(ecosystem.manifest());
    let text = read_text(&file)?;
    if ecosystem == Ecosystem::Cargo {
        return read_cargo(dir, &file, &text);
    }
    let manifest = parse(ecosystem, &text, &file)?;
    Ok(vec![package(dir, ecosystem, &file, manifest, None, dir)?])
}

/// What one manifest's text says. Public so the fuzz targets can drive it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The package's name; `None` for a virtual Cargo workspace manifest.
    pub name: Option<String>,
    /// Its version as written (always a valid [`Version`]); `None` for a virtual workspace and
    /// for a Cargo package with `version.workspace = true`, which [`read`] resolves.
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
    let source = Source { file, text };
    source.check_size()?;
    match ecosystem {
        Ecosystem::Cargo => cargo::parse(&source).map(|parsed| parsed.manifest),
        Ecosystem::Npm => npm::parse(&source),
        Ecosystem::Pypi => pypi::parse(&source),
    }
}

/// Reads a manifest or lock file, refusing one larger than [`MAX_FILE`].
pub(crate) fn read_text(file: &Path) -> Result<String, ManifestError> {
    let read_error = |source| ManifestError::Read {
        file: file.to_owned(),
        source,
    };
    let handle = fs::File::open(file).map_err(read_error)?;
    let mut text = String::new();
    handle
        .take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .map_err(read_error)?;
    Source { file, text: &text }.check_size()?;
    Ok(text)
}

/// A [`Package`] from a parsed manifest; `inherited` is the workspace root's manifest and its
/// `[workspace.package] version`, for `version.workspace = true`.
fn package(
    dir: &Path,
    ecosystem: Ecosystem,
    file: &Path,
    manifest: Manifest,
    inherited: Option<(&Path, Option<&str>)>,
    lock_dir: &Path,
) -> Result<Package, ManifestError> {
    let invalid = |message: String| ManifestError::Invalid {
        file: file.to_owned(),
        line: None,
        message,
    };
    let name = manifest.name.ok_or_else(|| {
        invalid("no [package] table: a workspace member must be a package".into())
    })?;
    let written = match (manifest.version, inherited) {
        (Some(version), _) => version,
        (None, Some((_, Some(version)))) => version.to_owned(),
        (None, Some((root, None))) => {
            return Err(invalid(format!(
                "`version.workspace = true`, but the workspace root {} has no [workspace.package] version",
                root.display()
            )))
        }
        (None, None) => return Err(invalid("no version to publish".into())),
    };
    let version = written
        .parse()
        .map_err(|error: super::version::VersionError| invalid(error.0))?;
    Ok(Package {
        dir: dir.to_owned(),
        ecosystem,
        name,
        version,
        dependencies: manifest.dependencies,
        lock_dir: lock_dir.to_owned(),
    })
}

/// `dir`'s Cargo package, or its workspace's members.
fn read_cargo(dir: &Path, file: &Path, text: &str) -> Result<Vec<Package>, ManifestError> {
    let parsed = cargo::parse(&Source { file, text })?;
    if parsed.workspace {
        let mut packages = Vec::new();
        let inherited = Some((file, parsed.workspace_version.as_deref()));
        let members = cargo::members(dir, file, &parsed)?;
        if parsed.manifest.name.is_some() {
            packages.push(package(
                dir,
                Ecosystem::Cargo,
                file,
                parsed.manifest,
                inherited,
                dir,
            )?);
        }
        for member in members {
            let member_file = member.join(Ecosystem::Cargo.manifest());
            let member_text = read_text(&member_file)?;
            let member_parsed = cargo::parse(&Source {
                file: &member_file,
                text: &member_text,
            })?;
            if member_parsed.unpublished {
                continue;
            }
            packages.push(package(
                &member,
                Ecosystem::Cargo,
                &member_file,
                member_parsed.manifest,
                inherited,
                dir,
            )?);
        }
        return Ok(packages);
    }
    let root = cargo::workspace_root(dir);
    let (lock_dir, inherited) = match &root {
        Some((root_dir, root_file, version)) => (
            root_dir.as_path(),
            Some((root_file.as_path(), version.as_deref())),
        ),
        None => (dir, None),
    };
    Ok(vec![package(
        dir,
        Ecosystem::Cargo,
        file,
        parsed.manifest,
        inherited,
        lock_dir,
    )?])
}

/// The text being parsed and its file, to turn byte offsets into lines.
pub(crate) struct Source<'a> {
    pub(crate) file: &'a Path,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An [`ManifestError::Invalid`] at a byte span, when known.
    pub(crate) fn invalid(&self, span: Option<Range<usize>>, message: String) -> ManifestError {
        ManifestError::Invalid {
            file: self.file.to_owned(),
            line: span.map(|span| self.line(span.start)),
            message,
        }
    }

    /// Refuses text longer than [`MAX_FILE`].
    pub(crate) fn check_size(&self) -> Result<(), ManifestError> {
        if self.text.len() as u64 > MAX_FILE {
            return Err(self.invalid(None, "larger than 1 MiB, which no manifest is".into()));
        }
        Ok(())
    }

    /// Parses TOML, a syntax error naming its line.
    pub(crate) fn toml(&self) -> Result<ImDocument<&str>, ManifestError> {
        ImDocument::parse(self.text).map_err(|error| {
            self.invalid(
                error.span(),
                format!("invalid TOML: {}", error.message().trim()),
            )
        })
    }

    /// Parses JSON, a syntax error naming its line.
    pub(crate) fn json(&self) -> Result<serde_json::Value, ManifestError> {
        serde_json::from_str(self.text).map_err(|error| ManifestError::Invalid {
            file: self.file.to_owned(),
            line: (error.line() > 0).then_some(error.line()),
            message: format!("invalid JSON: {error}"),
        })
    }

    /// A string value of a TOML item, or an error naming `what`.
    pub(crate) fn toml_string<'i>(
        &self,
        item: &'i Item,
        what: &str,
    ) -> Result<&'i str, ManifestError> {
        item.as_str().ok_or_else(|| {
            self.invalid(
                item.span(),
                format!("`{what}` must be a string, found {}", item.type_name()),
            )
        })
    }

    /// A checked package name.
    pub(crate) fn name(
        &self,
        ecosystem: Ecosystem,
        name: &str,
        span: Option<Range<usize>>,
    ) -> Result<String, ManifestError> {
        match names::invalid_reason(ecosystem, name) {
            None => Ok(name.to_owned()),
            Some(reason) => Err(self.invalid(
                span,
                format!("invalid package name `{}`: {reason}", name.escape_debug()),
            )),
        }
    }

    /// A checked version, as written.
    pub(crate) fn version(
        &self,
        version: &str,
        span: Option<Range<usize>>,
    ) -> Result<String, ManifestError> {
        version
            .parse::<Version>()
            .map(|_| version.to_owned())
            .map_err(|error| self.invalid(span, error.0))
    }
}

/// Adds `name` to `names` unless it is there already.
fn push_unique(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|seen| seen == name) {
        names.push(name.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(ecosystem: Ecosystem, text: &str) -> Manifest {
        parse(ecosystem, text, Path::new("m")).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn parse_err(ecosystem: Ecosystem, text: &str) -> String {
        parse(ecosystem, text, Path::new("m"))
            .expect_err(text)
            .to_string()
    }

    fn write(dir: &Path, file: &str, text: &str) {
        let path = dir.join(file);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    #[test]
    fn cargo_package_and_its_dependencies() {
        let manifest = parse_ok(
            Ecosystem::Cargo,
            "[package]\nname = \"wc\"\nversion = \"0.1.0\"\n\n\
             [dependencies]\nwa = { version = \"0.1\", path = \"../wa\" }\nserde = \"1\"\n\
             renamed = { package = \"wb\", version = \"0.1\" }\n\
             [build-dependencies]\ncc = \"1\"\n\
             [dev-dependencies]\ntesty = \"1\"\n\
             [target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\nwa = \"0.1\"\n\
             [target.'cfg(windows)'.build-dependencies]\nwinres = \"0.1\"\n",
        );
        assert_eq!(manifest.name.as_deref(), Some("wc"));
        assert_eq!(manifest.version.as_deref(), Some("0.1.0"));
        assert_eq!(
            manifest.dependencies,
            ["wa", "serde", "wb", "cc", "libc", "winres"]
        );
        assert!(manifest.members.is_empty());
    }

    #[test]
    fn cargo_virtual_workspace_and_inherited_version() {
        let manifest = parse_ok(
            Ecosystem::Cargo,
            "[workspace]\nmembers = [\"crates/*\", \"tool\"]\n[workspace.package]\nversion = \"1.0.0\"\n",
        );
        assert_eq!(manifest.name, None);
        assert_eq!(manifest.version, None);
        assert_eq!(manifest.members, ["crates/*", "tool"]);
        let manifest = parse_ok(
            Ecosystem::Cargo,
            "[package]\nname = \"wa\"\nversion.workspace = true\n",
        );
        assert_eq!(manifest.name.as_deref(), Some("wa"));
        assert_eq!(manifest.version, None);
    }

    #[test]
    fn cargo_errors_name_the_line() {
        let cases = [
            (
                "[package]\nname = \"a b\"\nversion = \"1.0.0\"\n",
                "m:2: invalid package name `a b`",
            ),
            (
                "[package]\nname = \"a\"\nversion = \"1.0\"\n",
                "m:3: invalid version `1.0`",
            ),
            (
                "[package]\nname = 3\n",
                "m:2: `package.name` must be a string, found integer",
            ),
            ("[package]\nversion = \"1.0.0\"\n", "no `name` in [package]"),
            (
                "[package]\nname = \"a\"\nversion = { workspace = false }\n",
                "m:3: `package.version` must be",
            ),
            (
                "[package]\nname = \"a\"\n[dependencies]\nx = 1\n[target]\nfoo = 2\n",
                "m:6: `target.foo` must be a table",
            ),
            (
                "dependencies = 3\n[package]\nname = \"a\"\n",
                "m:1: `dependencies` must be a table",
            ),
            (
                "[workspace]\nmembers = [1]\n",
                "m:2: `workspace.members` must be a list of strings",
            ),
            ("[package\n", "m:1: invalid TOML"),
            ("[lib]\n", "neither [package] nor [workspace]"),
        ];
        for (text, expected) in cases {
            let error = parse_err(Ecosystem::Cargo, text);
            assert!(
                error.starts_with(expected) || error.contains(expected),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn npm_package_and_its_dependencies() {
        let manifest = parse_ok(
            Ecosystem::Npm,
            r#"{"name": "@acme/wc", "version": "0.1.0-rc.1",
               "dependencies": {"wa": "^0.1.0", "left-pad": "1"},
               "peerDependencies": {"wb": "*", "wa": "^0.1.0"},
               "optionalDependencies": {"fsevents": "2"},
               "devDependencies": {"jest": "29"}}"#,
        );
        assert_eq!(manifest.name.as_deref(), Some("@acme/wc"));
        assert_eq!(manifest.version.as_deref(), Some("0.1.0-rc.1"));
        assert_eq!(manifest.dependencies, ["wa", "left-pad", "wb", "fsevents"]);
    }

    #[test]
    fn npm_errors() {
        let cases = [
            (
                "{\"name\": \"wa\",\n \"version\": \"1.2\"}",
                "m:2: invalid version `1.2`",
            ),
            (
                "{\n\"name\": \"Wa\", \"version\": \"1.0.0\"}",
                "m:2: invalid package name `Wa`",
            ),
            ("{\"version\": \"1.0.0\"}", "no `name`"),
            ("{\"name\": \"wa\"}", "no `version`"),
            (
                "{\"name\": \"wa\",\n\"version\": 1}",
                "m:2: `version` must be a string",
            ),
            (
                "{\"name\": \"wa\", \"version\": \"1.0.0\",\n\"dependencies\": []}",
                "m:2: `dependencies` must be an object",
            ),
            ("[]", "the top level must be an object"),
            ("{\n\"name\": ", "m:2: invalid JSON"),
        ];
        for (text, expected) in cases {
            let error = parse_err(Ecosystem::Npm, text);
            assert!(
                error.starts_with(expected) || error.contains(expected),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn pypi_project_and_its_dependencies() {
        let manifest = parse_ok(
            Ecosystem::Pypi,
            "[project]\nname = \"wc\"\nversion = \"0.1.0\"\ndependencies = [\n  \"wa>=0.1.0\",\n  \"Wb_x[extra] ~= 1.0\",\n  \"requests\",\n  \"attrs ; python_version >= '3.8'\",\n  \"pip @ https://x/pip.whl\",\n  \"zope.interface(>=5)\",\n]\n[project.optional-dependencies]\ntest = [\"pytest\"]\n",
        );
        assert_eq!(manifest.name.as_deref(), Some("wc"));
        assert_eq!(manifest.version.as_deref(), Some("0.1.0"));
        assert_eq!(
            manifest.dependencies,
            ["wa", "Wb_x", "requests", "attrs", "pip", "zope.interface"]
        );
    }

    #[test]
    fn pypi_errors() {
        let cases = [
            (
                "[project]\nname = \"wa\"\ndynamic = [\"version\"]\n",
                "m:3: the version is dynamic",
            ),
            ("[project]\nname = \"wa\"\n", "no `version` in [project]"),
            (
                "[project]\nname = \"-wa\"\nversion = \"1.0.0\"\n",
                "m:2: invalid package name `-wa`",
            ),
            (
                "[project]\nname = \"wa\"\nversion = \"1.0\"\n",
                "write `1.0.0`",
            ),
            ("[tool.poetry]\nname = \"wa\"\n", "[tool.poetry]"),
            (
                "[project]\nname = \"wa\"\nversion = \"1.0.0\"\ndependencies = [\n\">=1\"]\n",
                "m:5: cannot read a package name",
            ),
            (
                "[project]\nname = \"wa\"\nversion = \"1.0.0\"\ndependencies = \"x\"\n",
                "m:4: `project.dependencies` must be a list",
            ),
            ("project = 1\n", "m:1: `project` must be a table"),
        ];
        for (text, expected) in cases {
            let error = parse_err(Ecosystem::Pypi, text);
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn requirement_names() {
        for (requirement, name) in [
            ("wa", "wa"),
            ("wa>=1", "wa"),
            (" wa == 1", "wa"),
            ("wa[x]", "wa"),
            ("wa;python_version<'3'", "wa"),
            ("wa@file:///x", "wa"),
            ("wa~=1.0", "wa"),
            ("wa!=1", "wa"),
            ("wa(>1)", "wa"),
        ] {
            assert_eq!(requirement_name(requirement), name, "{requirement}");
        }
    }

    #[test]
    fn oversized_manifests_are_refused() {
        let text = format!(
            "[package]\nname = \"a\"\nversion = \"1.0.0\"\n#{}\n",
            "x".repeat(1 << 20)
        );
        assert!(parse_err(Ecosystem::Cargo, &text).contains("larger than 1 MiB"));
        let dir = tempfile::tempdir().expect("temp dir");
        write(dir.path(), "Cargo.toml", &text);
        let error = read(dir.path()).expect_err("too large");
        assert!(error.to_string().contains("larger than 1 MiB"), "{error}");
    }

    #[test]
    fn detects_each_ecosystem_and_refuses_the_rest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        assert!(matches!(detect(root), Err(ManifestError::Missing { .. })));
        write(root, "hs/x.cabal", "name: x\n");
        let error = detect(&root.join("hs")).expect_err("cabal");
        assert!(matches!(
            error,
            ManifestError::Unsupported {
                what: "Hackage",
                ..
            }
        ));
        assert!(error
            .to_string()
            .contains("publishing Hackage packages is not supported yet"));
        assert!(error.to_string().contains("x.cabal"));
        write(root, "ex/mix.exs", "defmodule X do end\n");
        assert!(matches!(
            detect(&root.join("ex")),
            Err(ManifestError::Unsupported { what: "Hex", .. })
        ));
        write(root, "rs/Cargo.toml", "");
        assert_eq!(detect(&root.join("rs")).expect("cargo"), Ecosystem::Cargo);
        write(root, "js/package.json", "{}");
        assert_eq!(detect(&root.join("js")).expect("npm"), Ecosystem::Npm);
        write(root, "py/pyproject.toml", "");
        assert_eq!(detect(&root.join("py")).expect("pypi"), Ecosystem::Pypi);
        write(root, "rs/package.json", "{}");
        let error = detect(&root.join("rs"))
            .expect_err("two manifests")
            .to_string();
        assert!(
            error.contains("more than one manifest (Cargo.toml, package.json)"),
            "{error}"
        );
    }

    #[test]
    fn reads_npm_and_pypi_packages() {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            dir.path(),
            "package.json",
            r#"{"name": "wa", "version": "1.2.3", "dependencies": {"wb": "1"}}"#,
        );
        let packages = read(dir.path()).expect("reads");
        assert_eq!(packages.len(), 1);
        let package = &packages[0];
        assert_eq!(package.ecosystem, Ecosystem::Npm);
        assert_eq!(package.name, "wa");
        assert_eq!(package.version.to_string(), "1.2.3");
        assert_eq!(package.dependencies, ["wb"]);
        assert_eq!(package.dir, dir.path());
        assert_eq!(package.lock_dir, dir.path());
        assert_eq!(package.manifest_path(), dir.path().join("package.json"));

        let dir = tempfile::tempdir().expect("temp dir");
        write(
            dir.path(),
            "pyproject.toml",
            "[project]\nname = \"wp\"\nversion = \"0.3.0.post1\"\n",
        );
        let packages = read(dir.path()).expect("reads");
        assert_eq!(packages[0].version.suffix, ".post1");
    }

    #[test]
    fn reads_a_cargo_workspace() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\", \"tools/cli\", \"crates/wa\"]\nexclude = [\"crates/skip\"]\n\
             [workspace.package]\nversion = \"0.4.0\"\n",
        );
        write(
            root,
            "crates/wa/Cargo.toml",
            "[package]\nname = \"wa\"\nversion.workspace = true\n",
        );
        write(
            root,
            "crates/wb/Cargo.toml",
            "[package]\nname = \"wb\"\nversion = \"0.2.0\"\n[dependencies]\nwa = { path = \"../wa\", version = \"0.4\" }\n",
        );
        write(
            root,
            "crates/skip/Cargo.toml",
            "[package]\nname = \"skip\"\nversion = \"1.0.0\"\n",
        );
        write(
            root,
            "crates/private/Cargo.toml",
            "[package]\nname = \"private\"\npublish = false\n",
        );
        write(root, "crates/notes/README", "not a crate\n");
        write(
            root,
            "tools/cli/Cargo.toml",
            "[package]\nname = \"wcli\"\nversion = \"1.0.0\"\n",
        );
        let packages = read(root).expect("reads");
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["wa", "wb", "wcli"]);
        assert_eq!(packages[0].version.to_string(), "0.4.0");
        assert_eq!(packages[1].dependencies, ["wa"]);
        assert_eq!(packages[1].dir, root.join("crates/wb"));
        assert!(packages.iter().all(|p| p.lock_dir == root));

        // A member read on its own finds its workspace root (lock file and version).
        let member = read(&root.join("crates/wa")).expect("member");
        assert_eq!(member[0].lock_dir, root);
        assert_eq!(member[0].version.to_string(), "0.4.0");
        // An excluded crate is in no workspace.
        let alone = read(&root.join("crates/skip")).expect("excluded");
        assert_eq!(alone[0].lock_dir, root.join("crates/skip"));
    }

    #[test]
    fn a_root_package_comes_first_and_an_inherited_version_needs_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "Cargo.toml",
            "[package]\nname = \"top\"\nversion = \"1.0.0\"\n[workspace]\nmembers = [\"sub\", \".\"]\n",
        );
        write(
            root,
            "sub/Cargo.toml",
            "[package]\nname = \"sub\"\nversion.workspace = true\n",
        );
        let error = read(root).expect_err("no workspace version").to_string();
        assert!(
            error.contains("has no [workspace.package] version"),
            "{error}"
        );
        write(
            root,
            "sub/Cargo.toml",
            "[package]\nname = \"sub\"\nversion = \"2.0.0\"\n",
        );
        let packages = read(root).expect("reads");
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["top", "sub"]);
        write(root, "Cargo.toml", "[workspace]\nmembers = [\"**/x\"]\n");
        let error = read(root).expect_err("pattern").to_string();
        assert!(
            error.contains("unsupported workspace members pattern `**/x`"),
            "{error}"
        );
        write(root, "Cargo.toml", "[workspace]\nmembers = [\"missing\"]\n");
        let error = read(root).expect_err("missing member");
        assert!(matches!(error, ManifestError::Read { .. }), "{error}");
    }

    #[test]
    fn a_package_outside_any_workspace_locks_itself() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(root, "Cargo.toml", "[workspace]\nmembers = [\"a\"]\n");
        write(
            root,
            "b/Cargo.toml",
            "[package]\nname = \"b\"\nversion = \"1.0.0\"\n",
        );
        let packages = read(&root.join("b")).expect("reads");
        assert_eq!(packages[0].lock_dir, root.join("b"));
        write(
            root,
            "c/Cargo.toml",
            "[package]\nname = \"c\"\nversion.workspace = true\n",
        );
        let error = read(&root.join("c"))
            .expect_err("nothing to inherit")
            .to_string();
        assert!(error.contains("no version to publish"), "{error}");
    }
}
