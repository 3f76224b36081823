//! The checked parse both config files share: `toml_edit` spans turned into lines and columns,
//! and every value validated with a message and a hint.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml_edit::{ImDocument, Item, TableLike, Value};

use super::{
    is_segment, ConfigError, ForgeSettings, Location, PackageConfig, FORGE_KEYS, ORG_HINT,
    PACKAGE_KEYS,
};
use crate::forge::url::{normalize_url, URL_HINT};

/// The span of `key` in `table`, else of its value.
pub(super) fn key_span(table: &dyn TableLike, key: &str, item: &Item) -> Option<Range<usize>> {
    table
        .key(key)
        .and_then(toml_edit::Key::span)
        .or_else(|| item.span())
}

/// A value's type for messages: "a string", "an integer", "a table".
pub(super) fn describe(item: &Item) -> String {
    let name = match item {
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => "table",
        other => other.type_name(),
    };
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// The text being parsed and its file, to turn byte spans into lines.
pub(super) struct Source<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
}

impl Source<'_> {
    /// 1-based line and column (in characters) of a byte offset.
    fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// A schema error at a span (line only).
    pub(super) fn error(
        &self,
        span: Option<Range<usize>>,
        message: String,
        hint: String,
    ) -> ConfigError {
        ConfigError::Invalid {
            location: Location {
                file: self.file.to_owned(),
                line: span.map(|span| self.line_column(span.start).0),
                column: None,
            },
            message,
            hint,
        }
    }

    /// A TOML syntax error, with line and column.
    pub(super) fn syntax_error(&self, error: &toml_edit::TomlError) -> ConfigError {
        if let Some((line, name)) = self.forges_table() {
            return self.forges_table_error(Some(line), &name);
        }
        let (line, column) = match error.span() {
            Some(span) => {
                let (line, column) = self.line_column(span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError::Invalid {
            location: Location {
                file: self.file.to_owned(),
                line,
                column,
            },
            message: format!("invalid TOML: {}", error.message().trim()),
            hint: "fix the TOML syntax (https://toml.io)".to_owned(),
        }
    }

    /// Parses the document.
    pub(super) fn document(&self) -> Result<ImDocument<&str>, ConfigError> {
        ImDocument::parse(self.text).map_err(|error| self.syntax_error(&error))
    }

    /// The line and forge name of the first `[forges.<name>]` header, the invalid plural form.
    fn forges_table(&self) -> Option<(usize, String)> {
        self.text.lines().enumerate().find_map(|(index, line)| {
            let header = line.trim_start().strip_prefix('[')?;
            if header.starts_with('[') {
                return None;
            }
            let rest = header.trim_start().strip_prefix("forges")?;
            let rest = rest.trim_start().strip_prefix('.')?;
            let name = rest.split(']').next()?.trim().trim_matches(['"', '\'']);
            Some((index + 1, name.to_owned()))
        })
    }

    /// The error for `[forges.<name>]` tables.
    fn forges_table_error(&self, line: Option<usize>, name: &str) -> ConfigError {
        let name = if name.is_empty() { "github" } else { name };
        ConfigError::Invalid {
            location: Location {
                file: self.file.to_owned(),
                line,
                column: None,
            },
            message: format!(
                "[forges.{name}] is not valid: `forges` is the list of forge names, per-forge settings go in [forge.{name}]"
            ),
            hint: format!(
                "write per-forge settings as [forge.{name}] (singular), e.g.\n  forges = [\"{name}\"]\n  [forge.{name}]\n  org = \"alice\""
            ),
        }
    }

    /// A string value.
    pub(super) fn string(
        &self,
        item: &Item,
        key: &str,
        context: &str,
    ) -> Result<String, ConfigError> {
        item.as_str().map(str::to_owned).ok_or_else(|| {
            self.error(
                item.span(),
                format!(
                    "`{key}` {context} must be a string, found {}",
                    describe(item)
                ),
                format!("quote the value, e.g. {key} = \"…\""),
            )
        })
    }

    /// An org value.
    pub(super) fn org(&self, item: &Item, context: &str) -> Result<String, ConfigError> {
        let org = self.string(item, "org", context)?;
        if !is_segment(&org) || org.starts_with('~') {
            return Err(self.error(
                item.span(),
                format!("invalid org `{org}` {context}"),
                ORG_HINT.to_owned(),
            ));
        }
        Ok(org)
    }

    /// The `forges` list: names and the line of each.
    pub(super) fn forge_list(
        &self,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<(Vec<String>, Vec<Option<usize>>), ConfigError> {
        if item.is_table_like() {
            let (line, name) = match self.forges_table() {
                Some((line, name)) => (Some(line), name),
                None => (
                    span.map(|span| self.line_column(span.start).0),
                    item.as_table_like()
                        .and_then(|table| table.iter().next().map(|(name, _)| name.to_owned()))
                        .unwrap_or_default(),
                ),
            };
            return Err(self.forges_table_error(line, &name));
        }
        let example = "forges = [\"github\", \"codeberg\"]";
        let Some(array) = item.as_array() else {
            return Err(self.error(
                span,
                format!(
                    "`forges` must be a list of forge names, found {}",
                    describe(item)
                ),
                format!("write it as a list, e.g. {example}"),
            ));
        };
        if array.is_empty() {
            return Err(self.error(
                span,
                "`forges` is empty".to_owned(),
                format!("name at least one forge, e.g. {example}"),
            ));
        }
        let mut names: Vec<String> = Vec::with_capacity(array.len());
        let mut lines = Vec::with_capacity(array.len());
        for value in array.iter() {
            let value_span = value.span().or_else(|| span.clone());
            let Some(name) = value.as_str() else {
                return Err(self.error(
                    value_span,
                    format!(
                        "`forges` entries must be strings, found {}",
                        describe(&Item::Value(value.clone()))
                    ),
                    format!("quote each name, e.g. {example}"),
                ));
            };
            if !is_segment(name) {
                return Err(self.error(
                    value_span,
                    format!("invalid forge name `{name}` in forges"),
                    "a forge name is one path segment of the letters A-Z a-z, digits and . _ @ -"
                        .to_owned(),
                ));
            }
            if names.iter().any(|seen| seen == name) {
                return Err(self.error(
                    value_span,
                    format!("forge `{name}` is listed twice in forges"),
                    "name each forge once".to_owned(),
                ));
            }
            names.push(name.to_owned());
            lines.push(value_span.map(|span| self.line_column(span.start).0));
        }
        Ok((names, lines))
    }

    /// The `forge` table: one [`ForgeSettings`] per `[forge.<name>]`.
    pub(super) fn forge_tables(
        &self,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<BTreeMap<String, ForgeSettings>, ConfigError> {
        let Some(table) = item.as_table_like() else {
            return Err(self.error(
                span,
                format!(
                    "`forge` must hold [forge.<name>] tables, found {}",
                    describe(item)
                ),
                "write per-forge settings as e.g.\n  [forge.github]\n  org = \"alice\"".to_owned(),
            ));
        };
        let mut forges = BTreeMap::new();
        for (name, settings) in table.iter() {
            let span = key_span(table, name, settings);
            if !is_segment(name) {
                return Err(self.error(
                    span,
                    format!("invalid forge name `{name}` in [forge.{name}]"),
                    "a forge name is one path segment of the letters A-Z a-z, digits and . _ @ -"
                        .to_owned(),
                ));
            }
            forges.insert(name.to_owned(), self.forge_settings(name, settings, span)?);
        }
        Ok(forges)
    }

    /// One `[forge.<name>]` table.
    fn forge_settings(
        &self,
        name: &str,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<ForgeSettings, ConfigError> {
        let context = format!("in [forge.{name}]");
        let Some(table) = item.as_table_like() else {
            return Err(self.error(
                span,
                format!("`forge.{name}` must be a table, found {}", describe(item)),
                format!("write it as a table, e.g.\n  [forge.{name}]\n  org = \"alice\""),
            ));
        };
        let mut settings = ForgeSettings::default();
        for (key, value) in table.iter() {
            match key {
                "kind" => {
                    let kind = self.string(value, key, &context)?;
                    settings.kind = Some(kind.parse().map_err(|_| {
                        self.error(
                            value.span(),
                            format!("unknown kind `{kind}` {context}"),
                            "kind is one of: github, gitea, gitlab (gitea also covers Forgejo and Codeberg)".to_owned(),
                        )
                    })?);
                }
                "protocol" => {
                    let protocol = self.string(value, key, &context)?;
                    settings.protocol = Some(protocol.parse().map_err(|_| {
                        self.error(
                            value.span(),
                            format!("unknown protocol `{protocol}` {context}"),
                            "protocol is one of: ssh (git@host:org/repo.git, the default), https"
                                .to_owned(),
                        )
                    })?);
                }
                "url" | "api_url" => {
                    let url = self.string(value, key, &context)?;
                    let url = normalize_url(&url).map_err(|reason| {
                        self.error(
                            value.span(),
                            format!("invalid `{key}` {context}: {reason}"),
                            URL_HINT.to_owned(),
                        )
                    })?;
                    if key == "url" {
                        settings.url = Some(url);
                    } else {
                        settings.api_url = Some(url);
                    }
                }
                "org" => settings.org = Some(self.org(value, &context)?),
                "remote" => {
                    let remote = self.string(value, key, &context)?;
                    if !is_remote_name(&remote) {
                        return Err(self.error(
                            value.span(),
                            format!("invalid remote name `{remote}` {context}"),
                            "a remote name uses the letters A-Z a-z, digits and . _ - /, and does not start with . or -".to_owned(),
                        ));
                    }
                    settings.remote = Some(remote);
                }
                other => {
                    let mut hint = format!("a [forge.<name>] table may hold: {FORGE_KEYS}");
                    if other == "host" {
                        hint.push_str(
                            "; the host goes in `url`, e.g. url = \"https://git.example.com\"",
                        );
                    }
                    return Err(self.error(
                        key_span(table, other, value),
                        format!("unknown key `{other}` {context}"),
                        hint,
                    ));
                }
            }
        }
        Ok(settings)
    }

    /// The `[package]` table.
    pub(super) fn package(
        &self,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<PackageConfig, ConfigError> {
        let Some(table) = item.as_table_like() else {
            return Err(self.error(
                span,
                format!("`package` must be a table, found {}", describe(item)),
                "write it as a table, e.g.\n  [package]\n  name = \"my-crate\"".to_owned(),
            ));
        };
        let context = "in [package]";
        let mut package = PackageConfig::default();
        for (key, value) in table.iter() {
            match key {
                "name" => package.name = Some(self.string(value, key, context)?),
                "registry" => package.registry = Some(self.string(value, key, context)?),
                other => {
                    return Err(self.error(
                        key_span(table, other, value),
                        format!("unknown key `{other}` {context}"),
                        format!("[package] may hold: {PACKAGE_KEYS}"),
                    ))
                }
            }
        }
        Ok(package)
    }
}

/// A git remote name this tool is willing to write: `[A-Za-z0-9._/-]`, not starting with `.` or
/// `-`, without `..`, `//`, a trailing `/` or `.lock` (git's ref-name rules, narrowed).
fn is_remote_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && !name.starts_with(['.', '-', '/'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("/.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters() {
        let source = Source {
            file: Path::new("f"),
            text: "a\nüb = 1\n",
        };
        assert_eq!(source.line_column(0), (1, 1));
        assert_eq!(source.line_column(2), (2, 1));
        assert_eq!(source.line_column(4), (2, 2));
        assert_eq!(source.line_column(100), (3, 1));
    }

    #[test]
    fn remote_names() {
        for good in ["origin", "gh", "mirrors/gh", "a.b_c-d"] {
            assert!(is_remote_name(good), "{good}");
        }
        for bad in [
            "", "-a", ".a", "a b", "a..b", "a.lock", "a/", "/a", "a//b", "a/.b", "a:b",
        ] {
            assert!(!is_remote_name(bad), "{bad}");
        }
    }
}
