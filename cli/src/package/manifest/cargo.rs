//! `Cargo.toml`: the `[package]` name and version (or `version.workspace = true`), the
//! dependencies a registry needs first (normal, build and per-target ones, by their `package =`
//! name when renamed), and a workspace root's members, `exclude` and `[workspace.package]`
//! version.

use std::fs;
use std::path::{Component, Path, PathBuf};

use toml_edit::{Item, TableLike};

use super::{push_unique, Manifest, ManifestError, Source};
use crate::package::Ecosystem;

/// A `Cargo.toml` as far as publishing cares.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// The shared part.
    pub(crate) manifest: Manifest,
    /// `[workspace]` is present: this is a workspace root.
    pub(crate) workspace: bool,
    /// `[workspace] exclude`.
    pub(crate) exclude: Vec<String>,
    /// `[workspace.package] version`.
    pub(crate) workspace_version: Option<String>,
    /// `package.publish = false` (or an empty list of registries).
    pub(crate) unpublished: bool,
}

/// The dependency tables a registry needs satisfied first.
const DEPENDENCY_TABLES: [&str; 2] = ["dependencies", "build-dependencies"];

pub(crate) fn parse(source: &Source<'_>) -> Result<Parsed, ManifestError> {
    let document = source.toml()?;
    let root = document.as_table();
    let mut parsed = Parsed::default();
    let package = root.get("package");
    let workspace = root.get("workspace");
    if package.is_none() && workspace.is_none() {
        return Err(source.invalid(
            None,
            "neither [package] nor [workspace]: not a Cargo package".into(),
        ));
    }
    if let Some(item) = package {
        let table = table(source, item, "package")?;
        let name = table
            .get("name")
            .ok_or_else(|| source.invalid(item.span(), "no `name` in [package]".into()))?;
        parsed.manifest.name = Some(source.name(
            Ecosystem::Cargo,
            source.toml_string(name, "package.name")?,
            name.span(),
        )?);
        if let Some(version) = table.get("version") {
            if let Some(inherit) = version.as_table_like() {
                let inherits = inherit
                    .get("workspace")
                    .and_then(Item::as_bool)
                    .unwrap_or(false);
                if !inherits {
                    return Err(source.invalid(
                        version.span(),
                        "`package.version` must be a string or `version.workspace = true`".into(),
                    ));
                }
            } else {
                let written = source.toml_string(version, "package.version")?;
                parsed.manifest.version = Some(source.version(written, version.span())?);
            }
        }
        parsed.unpublished = match table.get("publish") {
            Some(item) => {
                item.as_bool() == Some(false) || item.as_array().is_some_and(|a| a.is_empty())
            }
            None => false,
        };
    }
    let mut dependencies = Vec::new();
    for key in DEPENDENCY_TABLES {
        if let Some(item) = root.get(key) {
            collect(source, item, key, &mut dependencies)?;
        }
    }
    if let Some(targets) = root.get("target") {
        let targets = table(source, targets, "target")?;
        for (cfg, target) in targets.iter() {
            let target = table(source, target, &format!("target.{cfg}"))?;
            for key in DEPENDENCY_TABLES {
                if let Some(item) = target.get(key) {
                    collect(
                        source,
                        item,
                        &format!("target.{cfg}.{key}"),
                        &mut dependencies,
                    )?;
                }
            }
        }
    }
    parsed.manifest.dependencies = dependencies;
    if let Some(item) = workspace {
        parsed.workspace = true;
        let table = table(source, item, "workspace")?;
        parsed.manifest.members = strings(source, table.get("members"), "workspace.members")?;
        parsed.exclude = strings(source, table.get("exclude"), "workspace.exclude")?;
        if let Some(package) = table.get("package") {
            let package = self::table(source, package, "workspace.package")?;
            if let Some(version) = package.get("version") {
                let written = source.toml_string(version, "workspace.package.version")?;
                parsed.workspace_version = Some(source.version(written, version.span())?);
            }
        }
    }
    Ok(parsed)
}

/// `item` as a table, or an error naming `what`.
fn table<'i>(
    source: &Source<'_>,
    item: &'i Item,
    what: &str,
) -> Result<&'i dyn TableLike, ManifestError> {
    item.as_table_like().ok_or_else(|| {
        source.invalid(
            item.span(),
            format!("`{what}` must be a table, found {}", item.type_name()),
        )
    })
}

/// A list of strings (absent: empty).
fn strings(
    source: &Source<'_>,
    item: Option<&Item>,
    what: &str,
) -> Result<Vec<String>, ManifestError> {
    let Some(item) = item else {
        return Ok(Vec::new());
    };
    let not_list = || source.invalid(item.span(), format!("`{what}` must be a list of strings"));
    let array = item.as_array().ok_or_else(not_list)?;
    array
        .iter()
        .map(|value| value.as_str().map(str::to_owned).ok_or_else(not_list))
        .collect()
}

/// The package names in a dependency table: the `package = "…"` of a renamed one, else its key.
fn collect(
    source: &Source<'_>,
    item: &Item,
    what: &str,
    names: &mut Vec<String>,
) -> Result<(), ManifestError> {
    let table = table(source, item, what)?;
    for (key, spec) in table.iter() {
        let renamed = spec
            .as_table_like()
            .and_then(|spec| spec.get("package"))
            .and_then(Item::as_str);
        push_unique(names, renamed.unwrap_or(key));
    }
    Ok(())
}

/// The member directories of the workspace rooted at `root` (manifest `file`): each `members`
/// pattern (a plain path, or `*` wildcards within path segments, as in `crates/*`) expanded in
/// order, wildcard matches sorted by name and kept only when they hold a `Cargo.toml`, minus
/// `exclude`d paths, without repeats and without the root itself.
pub(crate) fn members(
    root: &Path,
    file: &Path,
    parsed: &Parsed,
) -> Result<Vec<PathBuf>, ManifestError> {
    let invalid = |message: String| ManifestError::Invalid {
        file: file.to_owned(),
        line: None,
        message,
    };
    let excluded: Vec<PathBuf> = parsed
        .exclude
        .iter()
        .map(|path| normalize(&root.join(path)))
        .collect();
    let root_normal = normalize(root);
    let mut found: Vec<PathBuf> = Vec::new();
    for pattern in &parsed.manifest.members {
        if pattern.contains("**") || pattern.contains(['?', '[', ']', '{', '}']) {
            return Err(invalid(format!(
                "unsupported workspace members pattern `{pattern}`: hyperforge understands plain paths and `*` within a path segment (e.g. crates/*)"
            )));
        }
        let mut candidates = vec![root.to_owned()];
        for segment in pattern.split('/').filter(|s| !s.is_empty() && *s != ".") {
            if !segment.contains('*') {
                candidates = candidates.iter().map(|c| c.join(segment)).collect();
                continue;
            }
            let mut next = Vec::new();
            for candidate in &candidates {
                let Ok(entries) = fs::read_dir(candidate) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.path().is_dir())
                    .filter_map(|entry| entry.file_name().into_string().ok())
                    .filter(|name| glob_match(segment, name))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|name| candidate.join(name)));
            }
            candidates = next;
        }
        let wildcard = pattern.contains('*');
        for candidate in candidates {
            if wildcard && !candidate.join(Ecosystem::Cargo.manifest()).is_file() {
                continue;
            }
            let normal = normalize(&candidate);
            if normal == root_normal
                || excluded.iter().any(|ex| normal.starts_with(ex))
                || found.iter().any(|seen| normalize(seen) == normal)
            {
                continue;
            }
            found.push(candidate);
        }
    }
    Ok(found)
}

/// `name` matches `pattern`, where `*` stands for any run of characters.
fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// `path` with `.` removed and `..` applied, lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The Cargo workspace `dir` is a member of: the nearest ancestor whose `Cargo.toml` has a
/// `[workspace]` whose members include `dir`, as (root directory, its manifest, its
/// `[workspace.package] version`). Cargo stops at the first `[workspace]` above a package, and
/// so does this: a root that does not list `dir` means it is in no workspace. Ancestors whose
/// manifest cannot be read or parsed are passed over.
pub(crate) fn workspace_root(dir: &Path) -> Option<(PathBuf, PathBuf, Option<String>)> {
    let absolute = if dir.is_absolute() {
        dir.to_owned()
    } else {
        std::env::current_dir().ok()?.join(dir)
    };
    let absolute = normalize(&absolute);
    for ancestor in absolute.ancestors().skip(1) {
        let file = ancestor.join(Ecosystem::Cargo.manifest());
        if !file.is_file() {
            continue;
        }
        let Ok(text) = super::read_text(&file) else {
            continue;
        };
        let Ok(parsed) = parse(&Source {
            file: &file,
            text: &text,
        }) else {
            continue;
        };
        if !parsed.workspace {
            continue;
        }
        let members = members(ancestor, &file, &parsed).ok()?;
        // Lexically first; through symlinks only when that fails.
        let canonical = fs::canonicalize(&absolute).ok();
        let is_member = members.iter().any(|member| {
            normalize(member) == absolute
                || canonical.is_some() && fs::canonicalize(member).ok() == canonical
        });
        return is_member.then(|| (ancestor.to_owned(), file, parsed.workspace_version));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("w*", "wa"));
        assert!(glob_match("*-sys", "foo-sys"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXc"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact2"));
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }
}
