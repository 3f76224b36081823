//! Rewriting a manifest or lock file for a release, keeping every other byte as the user wrote
//! it: the package's own version, a dependent's requirement on a bumped package, and the
//! package's entry in `Cargo.lock` / `package-lock.json`.
//!
//! Every edit is a splice: the file is parsed (`toml_edit` for TOML, `serde_json` for JSON) only
//! to find the byte range of the one string value to change, and those bytes are replaced, so
//! comments, key order, quoting, indentation and line endings stay exactly as they were.
//!
//! Requirements keep their operator and get the new version as the operand: `"0.1.0"` →
//! `"0.2.0"`, `"^0.1"` → `"^0.2.0"`, `">= 0.1"` → `">= 0.2.0"`, `wa~=0.1` → `wa~=0.2.0`. A
//! compound requirement keeps its first operator only (`>=0.1, <0.3` → `>=0.2.0`), since its
//! upper bound would exclude the new version anyway. Requirements that do not name a version
//! are left alone: `*`, `latest`, `workspace:…`, `file:…`, git URLs, a bare PEP 508 name,
//! Cargo's `workspace = true` (the root's `[workspace.dependencies]` entry is what changes).

use std::ops::Range;
use std::path::Path;

use toml_edit::{Item, TableLike};

use super::manifest::{requirement_name, Source};
use super::names::pep503;
use super::{json, Ecosystem, ManifestError, Version};

/// `text` (a manifest of `ecosystem`, read from `file`) with the package's version set to `new`.
///
/// # Errors
/// The manifest has no version to set, or cannot be parsed. A Cargo package whose version is
/// `version.workspace = true` is an error saying so: its version is the workspace root's, set
/// with [`set_workspace_version`].
pub fn set_version(
    ecosystem: Ecosystem,
    text: &str,
    file: &Path,
    new: &Version,
) -> Result<String, ManifestError> {
    let source = Source { file, text };
    source.check_size()?;
    let new = new.to_string();
    match ecosystem {
        Ecosystem::Cargo | Ecosystem::Pypi => {
            let document = source.toml()?;
            let table_name = if ecosystem == Ecosystem::Cargo {
                "package"
            } else {
                "project"
            };
            let Some(table) = document.get(table_name).and_then(Item::as_table_like) else {
                return Err(source.invalid(
                    None,
                    format!("no [{table_name}] table to set the version in"),
                ));
            };
            let Some(version) = table.get("version") else {
                return Err(source.invalid(None, format!("no `version` in [{table_name}] to set")));
            };
            if version.is_table_like() {
                return Err(source.invalid(
                    version.span(),
                    "the version is inherited (`version.workspace = true`): set [workspace.package] version in the workspace root".into(),
                ));
            }
            let edit = toml_string_edit(&source, version, |_| Some(new.clone()))?;
            Ok(splice(text, edit.into_iter().collect()))
        }
        Ecosystem::Npm => {
            source.json()?;
            let Some(range) = json::string_span(text, &["version"]) else {
                return Err(source.invalid(None, "no string `version` to set".into()));
            };
            let edit = json_string_edit(text, range, |_| Some(new.clone()));
            Ok(splice(text, edit.into_iter().collect()))
        }
    }
}

/// True when `text` (a `Cargo.toml`) takes its version from the workspace root
/// (`version.workspace = true`): releasing it means [`set_workspace_version`] on the root's
/// manifest, since [`set_version`] refuses it. False for text that does not parse.
pub fn inherits_workspace_version(text: &str) -> bool {
    toml_edit::ImDocument::parse(text).is_ok_and(|document| {
        document
            .get("package")
            .and_then(|package| package.get("version"))
            .and_then(|version| version.get("workspace"))
            .and_then(Item::as_bool)
            == Some(true)
    })
}

/// `text` (a Cargo workspace root's `Cargo.toml`) with `[workspace.package] version` set to
/// `new`: what releasing a member with `version.workspace = true` changes.
///
/// # Errors
/// The manifest cannot be parsed or has no `[workspace.package] version`.
pub fn set_workspace_version(
    text: &str,
    file: &Path,
    new: &Version,
) -> Result<String, ManifestError> {
    let source = Source { file, text };
    source.check_size()?;
    let document = source.toml()?;
    let version = document
        .get("workspace")
        .and_then(|workspace| workspace.get("package"))
        .and_then(|package| package.get("version"))
        .ok_or_else(|| source.invalid(None, "no [workspace.package] version to set".into()))?;
    let new = new.to_string();
    let edit = toml_string_edit(&source, version, |_| Some(new.clone()))?;
    Ok(splice(text, edit.into_iter().collect()))
}

/// `text` with every requirement on `dependency` moved to `new`, keeping its operator:
/// `"0.1.0"` → `"0.2.0"`, `"^0.1"` → `"^0.2.0"`, `wa>=0.1.0` → `wa>=0.2.0`. Unchanged when the
/// manifest does not depend on it.
///
/// Cargo: `[dependencies]`, `[build-dependencies]`, `[dev-dependencies]` (a path dependency's
/// version must match even there), their `[target.*]` forms and `[workspace.dependencies]`,
/// matched by key or `package = "…"`. npm: `dependencies`, `peerDependencies`,
/// `optionalDependencies`, `devDependencies`. PyPI: `[project] dependencies`, names compared as
/// PEP 503 does.
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
    let source = Source { file, text };
    source.check_size()?;
    let new = new.to_string();
    let mut edits = Vec::new();
    match ecosystem {
        Ecosystem::Cargo => {
            let document = source.toml()?;
            let root = document.as_table();
            let mut tables: Vec<&dyn TableLike> = Vec::new();
            let kinds = ["dependencies", "build-dependencies", "dev-dependencies"];
            tables.extend(kinds.iter().filter_map(|k| root.get(k)?.as_table_like()));
            if let Some(targets) = root.get("target").and_then(Item::as_table_like) {
                for (_, target) in targets.iter() {
                    tables.extend(kinds.iter().filter_map(|k| target.get(k)?.as_table_like()));
                }
            }
            if let Some(shared) = root
                .get("workspace")
                .and_then(|w| w.get("dependencies"))
                .and_then(Item::as_table_like)
            {
                tables.push(shared);
            }
            for table in tables {
                for (key, spec) in table.iter() {
                    let version = match spec.as_table_like() {
                        Some(detail) => {
                            let name = detail.get("package").and_then(Item::as_str).unwrap_or(key);
                            if name != dependency {
                                continue;
                            }
                            match detail.get("version") {
                                Some(version) => version,
                                None => continue,
                            }
                        }
                        None if key == dependency => spec,
                        None => continue,
                    };
                    if version.as_str().is_none() {
                        continue;
                    }
                    edits.extend(toml_string_edit(&source, version, |old| {
                        requirement(old, &new)
                    })?);
                }
            }
        }
        Ecosystem::Npm => {
            source.json()?;
            let keys = [
                "dependencies",
                "peerDependencies",
                "optionalDependencies",
                "devDependencies",
            ];
            for key in keys {
                if let Some(range) = json::string_span(text, &[key, dependency]) {
                    edits.extend(json_string_edit(text, range, |old| requirement(old, &new)));
                }
            }
        }
        Ecosystem::Pypi => {
            let document = source.toml()?;
            let wanted = pep503(dependency);
            let Some(list) = document
                .get("project")
                .and_then(|project| project.get("dependencies"))
                .and_then(Item::as_array)
            else {
                return Ok(text.to_owned());
            };
            for value in list.iter() {
                let Some(written) = value.as_str() else {
                    continue;
                };
                if pep503(requirement_name(written)) != wanted {
                    continue;
                }
                let item = Item::Value(value.clone());
                let span = value.span();
                edits.extend(toml_string_edit_at(&source, &item, span, |old| {
                    pep508_requirement(old, &new)
                })?);
            }
        }
    }
    Ok(splice(text, edits))
}

/// `text` (the lock file of `ecosystem`, read from `file`) with package `name`'s own entry moved
/// from `old` to `new`; unchanged when it has no such entry.
///
/// `Cargo.lock`: the `[[package]]` with that name and version and no `source` (a package of
/// this workspace, not one from a registry). `package-lock.json`: when its top-level `name` is
/// `name`, the top-level `version` and `packages[""].version` that read `old`; installed copies
/// under `node_modules/` are not touched.
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
    let source = Source { file, text };
    source.check_size()?;
    let (old, new) = (old.to_string(), new.to_string());
    let mut edits = Vec::new();
    match ecosystem {
        Ecosystem::Cargo | Ecosystem::Pypi => {
            let document = source.toml()?;
            let Some(packages) = document.get("package").and_then(Item::as_array_of_tables) else {
                return Ok(text.to_owned());
            };
            for package in packages.iter() {
                let is_ours = package.get("name").and_then(Item::as_str) == Some(name)
                    && package.get("source").is_none();
                let Some(version) = package.get("version").filter(|_| is_ours) else {
                    continue;
                };
                if version.as_str() == Some(old.as_str()) {
                    edits.extend(toml_string_edit(&source, version, |_| Some(new.clone()))?);
                }
            }
        }
        Ecosystem::Npm => {
            let value = source.json()?;
            if value.get("name").and_then(serde_json::Value::as_str) != Some(name) {
                return Ok(text.to_owned());
            }
            for path in [&["version"][..], &["packages", "", "version"][..]] {
                if let Some(range) = json::string_span(text, path) {
                    edits.extend(json_string_edit(text, range, |written| {
                        (written == old).then(|| new.clone())
                    }));
                }
            }
        }
    }
    Ok(splice(text, edits))
}

/// A Cargo or npm requirement moved to `new` with its operator kept; `None` when it names no
/// version (`*`, `latest`, `workspace:^`, `file:…`, a URL).
fn requirement(old: &str, new: &str) -> Option<String> {
    let lead = old.len() - old.trim_start().len();
    let rest = &old[lead..];
    let operator_len = rest.len() - rest.trim_start_matches(['^', '~', '=', '<', '>']).len();
    let after_operator = &rest[operator_len..];
    let spaces = after_operator.len() - after_operator.trim_start().len();
    let operand = &after_operator[spaces..];
    if !operand.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(format!("{}{new}", &old[..lead + operator_len + spaces]))
}

/// A PEP 508 requirement on the package moved to `new`: `wa>=0.1` → `wa>=0.2.0`, extras and
/// markers kept; `None` for a bare name or a direct (`@ url`) reference.
fn pep508_requirement(old: &str, new: &str) -> Option<String> {
    let name = requirement_name(old);
    let name_end = old.find(name)? + name.len();
    let mut at = name_end;
    let rest = &old[at..];
    // Extras: `[a, b]`.
    let trimmed = rest.trim_start();
    if trimmed.starts_with('[') {
        at += rest.len() - trimmed.len() + trimmed.find(']')? + 1;
    }
    let marker_start = old[at..].find(';').map_or(old.len(), |i| at + i);
    let specifier = &old[at..marker_start];
    let body = specifier.trim();
    if body.is_empty() || body.starts_with('@') {
        return None;
    }
    let body_start = at + (specifier.len() - specifier.trim_start().len());
    let (open, body) = match body.strip_prefix('(') {
        Some(inner) => ("(", inner.trim_start()),
        None => ("", body),
    };
    let operator_len = body.len() - body.trim_start_matches(['<', '>', '=', '!', '~']).len();
    if operator_len == 0 {
        return None;
    }
    let after = &body[operator_len..];
    let spaces = after.len() - after.trim_start().len();
    if !after[spaces..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let close = if open.is_empty() { "" } else { ")" };
    let trailing_ws = &specifier[specifier.trim_end().len()..];
    Some(format!(
        "{}{open}{}{new}{close}{trailing_ws}{}",
        &old[..body_start],
        &body[..operator_len + spaces],
        &old[marker_start..],
    ))
}

/// The edit that replaces the string value `item` (its text run through `rewrite`), or `None`
/// when `rewrite` leaves it alone or it is not a string.
fn toml_string_edit(
    source: &Source<'_>,
    item: &Item,
    rewrite: impl Fn(&str) -> Option<String>,
) -> Result<Option<(Range<usize>, String)>, ManifestError> {
    toml_string_edit_at(source, item, item.span(), rewrite)
}

/// As [`toml_string_edit`], with the value's span given (array elements carry their own).
fn toml_string_edit_at(
    source: &Source<'_>,
    item: &Item,
    span: Option<Range<usize>>,
    rewrite: impl Fn(&str) -> Option<String>,
) -> Result<Option<(Range<usize>, String)>, ManifestError> {
    let Some(value) = item.as_str() else {
        return Ok(None);
    };
    let Some(new_value) = rewrite(value) else {
        return Ok(None);
    };
    let Some(raw) = span.clone().and_then(|span| source.text.get(span)) else {
        return Err(source.invalid(span, "cannot locate the value to change".into()));
    };
    let span = span.unwrap_or_default();
    // A one-line literal whose text is the value itself (no escapes) keeps its quote style; any
    // other string is written anew as a basic string.
    let quote = raw.chars().next().filter(|q| *q == '"' || *q == '\'');
    let plain = raw.len() >= 2
        && !raw.starts_with("'''")
        && !raw.starts_with("\"\"\"")
        && raw.get(1..raw.len() - 1) == Some(value)
        && (quote == Some('\'') || !raw.contains('\\'));
    let replacement = match quote {
        Some(quote) if plain && !new_value.contains([quote, '\\', '\n', '\r']) => {
            format!("{quote}{new_value}{quote}")
        }
        _ => toml_edit::Value::from(new_value).to_string(),
    };
    Ok(Some((span, replacement)))
}

/// The edit that replaces the JSON string whose contents (inside the quotes) are at `range`.
fn json_string_edit(
    text: &str,
    range: Range<usize>,
    rewrite: impl Fn(&str) -> Option<String>,
) -> Option<(Range<usize>, String)> {
    let raw = text.get(range.clone())?;
    if !raw.contains('\\') {
        let new_value = rewrite(raw)?;
        if !new_value.contains(['"', '\\']) && !new_value.chars().any(char::is_control) {
            return Some((range, new_value));
        }
    }
    let quoted = range.start.checked_sub(1)?..range.end + 1;
    let value: String = serde_json::from_str(text.get(quoted.clone())?).ok()?;
    let new_value = rewrite(&value)?;
    Some((quoted, serde_json::to_string(&new_value).ok()?))
}

/// `text` with each (range, replacement) applied; ranges do not overlap.
fn splice(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut out = text.to_owned();
    let mut last_start = usize::MAX;
    for (range, replacement) in edits {
        if range.end > last_start || out.get(range.clone()).is_none() {
            continue;
        }
        last_start = range.start;
        out.replace_range(range, &replacement);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::manifest::parse;

    fn v(text: &str) -> Version {
        text.parse().expect("version")
    }

    fn file() -> &'static Path {
        Path::new("m")
    }

    #[test]
    fn cargo_version_keeps_every_other_byte() {
        let text = "# the crate\n[package]\r\nname = \"wa\"  # name\nversion   =  '0.1.0' # bumped by hyperforge\nedition = \"2021\"\n\n[dependencies]\nversion = \"0.1.0\"\n";
        let out = set_version(Ecosystem::Cargo, text, file(), &v("0.2.0-rc.1")).expect("sets");
        assert_eq!(out, text.replace("'0.1.0' #", "'0.2.0-rc.1' #"));
        let parsed = parse(Ecosystem::Cargo, &out, file()).expect("parses");
        assert_eq!(parsed.version.as_deref(), Some("0.2.0-rc.1"));
        let text = "[package]\nname = \"wa\"\nversion = \"0.1\\u002E0\"\n";
        let out = set_version(Ecosystem::Cargo, text, file(), &v("0.2.0")).expect("sets");
        assert_eq!(out, "[package]\nname = \"wa\"\nversion = \"0.2.0\"\n");
    }

    #[test]
    fn cargo_version_errors() {
        let error = set_version(
            Ecosystem::Cargo,
            "[package]\nname = \"wa\"\nversion.workspace = true\n",
            file(),
            &v("1.0.0"),
        )
        .expect_err("inherited")
        .to_string();
        assert!(error.contains("set [workspace.package] version"), "{error}");
        assert!(inherits_workspace_version(
            "[package]\nname = \"wa\"\nversion.workspace = true\n"
        ));
        assert!(!inherits_workspace_version(
            "[package]\nname = \"wa\"\nversion = \"1.0.0\"\n"
        ));
        assert!(!inherits_workspace_version("[package"));
        for text in ["[workspace]\n", "[package]\nname = \"wa\"\n", "[package"] {
            assert!(
                set_version(Ecosystem::Cargo, text, file(), &v("1.0.0")).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn workspace_version() {
        let text =
            "[workspace]\nmembers = [\"a\"]\n\n[workspace.package]\nversion = \"0.4.0\" # shared\n";
        let out = set_workspace_version(text, file(), &v("0.5.0")).expect("sets");
        assert_eq!(out, text.replace("0.4.0", "0.5.0"));
        assert!(set_workspace_version("[workspace]\n", file(), &v("0.5.0")).is_err());
    }

    #[test]
    fn npm_and_pypi_versions() {
        let text = "{\n    \"name\": \"wa\",\n    \"version\":\"0.1.0\",\n    \"nested\": {\"version\": \"0.1.0\"}\n}\n";
        let out = set_version(Ecosystem::Npm, text, file(), &v("0.2.0")).expect("sets");
        assert_eq!(out, text.replacen("\"0.1.0\"", "\"0.2.0\"", 1));
        assert!(set_version(Ecosystem::Npm, "{\"name\": \"wa\"}", file(), &v("1.0.0")).is_err());
        assert!(set_version(Ecosystem::Npm, "{", file(), &v("1.0.0")).is_err());

        let text = "[project]\nname = \"wp\"\nversion = \"0.1.0\"  # keep\ndependencies = [\"wa==0.1.0\"]\n";
        let out = set_version(Ecosystem::Pypi, text, file(), &v("0.1.1")).expect("sets");
        assert_eq!(out, text.replacen("0.1.0", "0.1.1", 1));
    }

    #[test]
    fn cargo_requirements() {
        let text = "[package]\nname = \"wc\"\nversion = \"0.1.0\"\n\n\
            [dependencies]\nwa = \"0.1.0\" # plain\nwb = { version = \"^0.1\", path = \"../wb\" }\n\
            alias = { package = \"wa\", version = \">= 0.1, <0.2\", registry = \"local\" }\n\
            other = \"0.1.0\"\nstar = \"*\"\n\
            [dev-dependencies]\nwa = { path = \"../wa\", version = \"=0.1.0\" }\n\
            [target.'cfg(unix)'.build-dependencies]\nwa = '~0.1'\n\
            [workspace.dependencies]\nwa = { version = \"0.1\", path = \"wa\" }\n\
            [patch.crates-io]\nwa = { version = \"0.1.0\" }\n";
        let out = set_requirement(Ecosystem::Cargo, text, file(), "wa", &v("0.2.0")).expect("sets");
        let expected = text
            .replace("wa = \"0.1.0\"", "wa = \"0.2.0\"")
            .replace("\">= 0.1, <0.2\"", "\">= 0.2.0\"")
            .replace("\"=0.1.0\"", "\"=0.2.0\"")
            .replace("'~0.1'", "'~0.2.0'")
            .replace(
                "wa = { version = \"0.1\", path = \"wa\" }",
                "wa = { version = \"0.2.0\", path = \"wa\" }",
            );
        assert_eq!(out, expected);
        let out = set_requirement(Ecosystem::Cargo, text, file(), "wb", &v("1.0.0")).expect("sets");
        assert_eq!(out, text.replace("\"^0.1\"", "\"^1.0.0\""));
        let untouched =
            set_requirement(Ecosystem::Cargo, text, file(), "star", &v("1.0.0")).expect("sets");
        assert_eq!(untouched, text);
        let inherited = "[dependencies]\nwa = { workspace = true }\n";
        assert_eq!(
            set_requirement(Ecosystem::Cargo, inherited, file(), "wa", &v("1.0.0")).expect("sets"),
            inherited
        );
    }

    #[test]
    fn npm_requirements() {
        let text = "{\n  \"name\": \"wc\",\n  \"version\": \"0.1.0\",\n  \"dependencies\": {\"wa\": \"^0.1.0\", \"x\": \"1\"},\n  \"peerDependencies\": {\"wa\": \">=0.1.0 <0.2.0\"},\n  \"optionalDependencies\": {\"wa\": \"workspace:^\"},\n  \"devDependencies\": {\"wa\": \"~0.1.0\"},\n  \"other\": {\"wa\": \"0.1.0\"}\n}\n";
        let out = set_requirement(Ecosystem::Npm, text, file(), "wa", &v("0.2.0")).expect("sets");
        let expected = text
            .replace("\"^0.1.0\"", "\"^0.2.0\"")
            .replace("\">=0.1.0 <0.2.0\"", "\">=0.2.0\"")
            .replace("\"~0.1.0\"", "\"~0.2.0\"");
        assert_eq!(out, expected);
        for kept in [
            "*",
            "file:../wa",
            "latest",
            "git+https://x/wa.git",
            "workspace:*",
        ] {
            let text = format!("{{\"dependencies\": {{\"wa\": \"{kept}\"}}}}");
            let out =
                set_requirement(Ecosystem::Npm, &text, file(), "wa", &v("0.2.0")).expect("sets");
            assert_eq!(out, text);
        }
        let escaped = "{\"dependencies\": {\"wa\": \"\\u005E0.1.0\"}}";
        let out =
            set_requirement(Ecosystem::Npm, escaped, file(), "wa", &v("0.2.0")).expect("sets");
        assert_eq!(out, "{\"dependencies\": {\"wa\": \"^0.2.0\"}}");
    }

    #[test]
    fn pypi_requirements() {
        let text = "[project]\nname = \"wc\"\nversion = \"0.1.0\"\ndependencies = [\n  \"wa>=0.1.0\",\n  'Wa[extra] == 0.1.0 ; python_version >= \"3.8\"',\n  \"WA~=0.1\",\n  \"wa\",\n  \"wa (>=0.1)\",\n  \"wa @ https://x/wa.whl\",\n  \"wab>=0.1.0\",\n]\n";
        let out = set_requirement(Ecosystem::Pypi, text, file(), "w-a", &v("0.2.0")).expect("sets");
        let out2 = set_requirement(Ecosystem::Pypi, text, file(), "wa", &v("0.2.0")).expect("sets");
        assert_eq!(out, text, "w-a is not wa");
        let expected = text
            .replace("\"wa>=0.1.0\"", "\"wa>=0.2.0\"")
            .replace("== 0.1.0 ;", "== 0.2.0 ;")
            .replace("WA~=0.1", "WA~=0.2.0")
            .replace("(>=0.1)", "(>=0.2.0)");
        assert_eq!(out2, expected);
        assert_eq!(
            pep508_requirement("wa<1", "2.0.0").as_deref(),
            Some("wa<2.0.0")
        );
        assert_eq!(
            pep508_requirement("wa>=0.1,<0.3", "0.2.0").as_deref(),
            Some("wa>=0.2.0")
        );
        assert_eq!(pep508_requirement("wa[x", "0.2.0"), None);
    }

    #[test]
    fn cargo_lock() {
        let text = "# This file is automatically @generated by Cargo.\nversion = 4\n\n\
            [[package]]\nname = \"wa\"\nversion = \"0.1.0\"\ndependencies = [\n \"serde\",\n]\n\n\
            [[package]]\nname = \"wa\"\nversion = \"0.1.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
            [[package]]\nname = \"wb\"\nversion = \"0.1.0\"\n";
        let out = set_lock_version(
            Ecosystem::Cargo,
            text,
            file(),
            "wa",
            &v("0.1.0"),
            &v("0.2.0"),
        )
        .expect("sets");
        assert_eq!(
            out,
            text.replacen(
                "version = \"0.1.0\"\ndependencies",
                "version = \"0.2.0\"\ndependencies",
                1
            )
        );
        let same = set_lock_version(
            Ecosystem::Cargo,
            text,
            file(),
            "wa",
            &v("0.0.9"),
            &v("0.2.0"),
        )
        .expect("sets");
        assert_eq!(same, text);
        assert!(set_lock_version(
            Ecosystem::Cargo,
            "[[package]",
            file(),
            "wa",
            &v("0.1.0"),
            &v("0.2.0")
        )
        .is_err());
    }

    #[test]
    fn package_lock_json() {
        let text = "{\n  \"name\": \"wa\",\n  \"version\": \"0.1.0\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\n      \"name\": \"wa\",\n      \"version\": \"0.1.0\"\n    },\n    \"node_modules/wa\": {\n      \"version\": \"0.1.0\"\n    }\n  }\n}\n";
        let out = set_lock_version(Ecosystem::Npm, text, file(), "wa", &v("0.1.0"), &v("0.2.0"))
            .expect("sets");
        assert_eq!(out, text.replacen("0.1.0", "0.2.0", 2));
        let other = set_lock_version(Ecosystem::Npm, text, file(), "wb", &v("0.1.0"), &v("0.2.0"))
            .expect("sets");
        assert_eq!(other, text);
    }
}
