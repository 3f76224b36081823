//! `.hyperforge/config.toml` (a repository's forges and org) and the user's own config file
//! (forge tables every repository inherits): reading, validating and the in-place update `init`
//! makes.
//!
//! Both files are parsed with `toml_edit` rather than serde so that every error can name the file,
//! the line (and for syntax errors the column) and carry a hint, and so that `init` can change
//! `org` and `forges` while keeping every other line and comment. Values are checked here, once:
//! forge names and orgs are valid secret path segments, URLs are http(s) with a host, kinds and
//! protocols are known. Which forges a repository ends up with is [`crate::forge`]'s business.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use auth_hub_protocol::local::atomic::write_atomic;
use auth_hub_protocol::SecretPath;
use toml_edit::{DocumentMut, ImDocument, Item, TableLike, Value};

use crate::error::CliError;
use crate::forge::{builtin_names, normalize_url, ForgeKind, Protocol};

/// The repository config's path relative to the repository root.
pub const REPO_CONFIG: &str = ".hyperforge/config.toml";

/// The keys a `[forge.<name>]` table may hold.
const FORGE_KEYS: &str = "kind, url, api_url, org, remote, protocol";
/// The keys a `[package]` table may hold.
const PACKAGE_KEYS: &str = "name, registry";
/// The keys the top level of `.hyperforge/config.toml` may hold.
const REPO_KEYS: &str = "org, forges, forge, package";
/// What a forge url must look like.
pub(crate) const URL_HINT: &str = "a forge url is its base web address: http:// or https://, a host and an optional port and path, no user, query or fragment, e.g. https://git.example.com";
/// What an org must look like.
const ORG_HINT: &str =
    "an org is one path segment of at most 100 of the letters A-Z a-z, digits and . _ @ - (e.g. alice)";

/// A place in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// A config file that cannot be read, parsed, validated or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not valid TOML or breaks the schema.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A value given on the command line (to `init`) is not valid.
    #[error("{message}")]
    Argument {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The file exists but cannot be read.
    #[error("cannot read {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file (or its directory) cannot be written.
    #[error("cannot write {}: {source}", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl ConfigError {
    /// What to do about it, when there is advice to give.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Invalid { hint, .. } | Self::Argument { hint, .. } => Some(hint),
            Self::Read { .. } | Self::Write { .. } => None,
        }
    }

    /// The place in a file, for parse and validation errors.
    #[cfg(test)]
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Invalid { location, .. } => Some(location),
            _ => None,
        }
    }

    /// An error about the `forges` entry at `index` of `repo`.
    pub(crate) fn invalid_at_entry(
        repo: &RepoConfig,
        index: usize,
        message: String,
        hint: String,
    ) -> Self {
        Self::Invalid {
            location: Location {
                file: repo.file.clone(),
                line: repo.forges_lines.get(index).copied().flatten(),
                column: None,
            },
            message,
            hint,
        }
    }

    /// The `forges` entry at `index` names a forge that is neither built in nor complete.
    pub(crate) fn unknown_forge(
        repo: &RepoConfig,
        index: usize,
        name: &str,
        has_table: bool,
        user_file: Option<&Path>,
    ) -> Self {
        let message = if has_table {
            format!("forge `{name}` is not built in and needs both `kind` and `url`")
        } else {
            format!("unknown forge `{name}` in forges")
        };
        let user = user_file.map_or_else(
            || "the user config".to_owned(),
            |file| file.display().to_string(),
        );
        let hint = format!(
            "the built-in forges are {}; define another in {} or {user}, e.g.\n  [forge.{name}]\n  kind = \"gitea\"\n  url = \"https://git.example.com\"",
            builtin_names(),
            repo.file.display(),
        );
        Self::invalid_at_entry(repo, index, message, hint)
    }
}

/// Config errors are usage errors (exit 2), with their hint.
impl From<ConfigError> for CliError {
    fn from(error: ConfigError) -> Self {
        let hint = error.hint().map(str::to_owned);
        let cli = CliError::usage(error.to_string());
        match hint {
            Some(hint) => cli.with_hint(hint),
            None => cli,
        }
    }
}

/// The settings of one `[forge.<name>]` table; unset keys fall through to the next layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForgeSettings {
    /// The API it speaks (`kind`).
    pub kind: Option<ForgeKind>,
    /// Base web URL, normalized (`url`).
    pub url: Option<String>,
    /// REST API root, normalized (`api_url`).
    pub api_url: Option<String>,
    /// The org for this forge (`org`).
    pub org: Option<String>,
    /// The git remote name (`remote`).
    pub remote: Option<String>,
    /// Fetch URL style (`protocol`).
    pub protocol: Option<Protocol>,
}

/// The `[package]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageConfig {
    /// Package name, when it differs from the repository's.
    pub name: Option<String>,
    /// Registry to publish to.
    pub registry: Option<String>,
}

/// A repository's `.hyperforge/config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoConfig {
    /// Top-level `org`.
    pub org: Option<String>,
    /// The forges to mirror to, in order.
    pub forges: Vec<String>,
    /// `[forge.<name>]` tables.
    pub forge: BTreeMap<String, ForgeSettings>,
    /// `[package]`.
    pub package: Option<PackageConfig>,
    /// The file it was read from, for messages.
    file: PathBuf,
    /// The line of each `forges` entry, for messages.
    forges_lines: Vec<Option<usize>>,
}

impl RepoConfig {
    /// `repo_root/.hyperforge/config.toml`.
    pub fn path(repo_root: &Path) -> PathBuf {
        repo_root.join(REPO_CONFIG)
    }

    /// Reads the repository's config; `None` when the file does not exist.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when it cannot be read, [`ConfigError::Invalid`] when it is not valid.
    pub fn load(repo_root: &Path) -> Result<Option<Self>, ConfigError> {
        let file = Self::path(repo_root);
        match read_optional(&file)? {
            Some(text) => Self::parse(&text, &file).map(Some),
            None => Ok(None),
        }
    }

    /// Parses and validates the text of a repository config read from `file`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the line and with a hint: TOML syntax, unknown keys, wrong
    /// types, bad values, a missing, empty or repeating `forges` list, `[forges.<name>]` tables.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let source = Source { file, text };
        let document = source.document()?;
        let root = document.as_table();
        let mut config = RepoConfig {
            file: file.to_owned(),
            ..RepoConfig::default()
        };
        let mut saw_forges = false;
        for (key, item) in root.iter() {
            let span = key_span(root, key, item);
            match key {
                "org" => config.org = Some(source.org(item, "at the top level")?),
                "forges" => {
                    saw_forges = true;
                    (config.forges, config.forges_lines) = source.forge_list(item, span)?;
                }
                "forge" => config.forge = source.forge_tables(item, span)?,
                "package" => config.package = Some(source.package(item, span)?),
                other => {
                    return Err(source.error(
                        span,
                        format!("unknown key `{other}` at the top level"),
                        format!("the top level of {REPO_CONFIG} may hold: {REPO_KEYS}"),
                    ))
                }
            }
        }
        if !saw_forges {
            return Err(source.error(
                None,
                "no `forges` list".to_owned(),
                "name the forges to mirror to, e.g.\n  forges = [\"github\", \"codeberg\"]"
                    .to_owned(),
            ));
        }
        Ok(config)
    }

    /// The file this config was read from (empty for one built in code).
    #[cfg(test)]
    pub fn file(&self) -> &Path {
        &self.file
    }
}

/// The user's own config: `[forge.<name>]` tables every repository inherits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserConfig {
    /// `[forge.<name>]` tables.
    pub forge: BTreeMap<String, ForgeSettings>,
    /// The file it was (or would have been) read from, for messages.
    file: Option<PathBuf>,
}

impl UserConfig {
    /// The user config's path: `HYPERFORGE_CONFIG` when set, else
    /// `$XDG_CONFIG_HOME/hyperforge/config.toml`, else `~/.config/hyperforge/config.toml`; `None`
    /// when there is no home directory either.
    pub fn path() -> Option<PathBuf> {
        let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        if let Some(path) = non_empty("HYPERFORGE_CONFIG") {
            return Some(PathBuf::from(path));
        }
        if let Some(dir) = non_empty("XDG_CONFIG_HOME").map(PathBuf::from) {
            if dir.is_absolute() {
                return Some(dir.join("hyperforge").join("config.toml"));
            }
        }
        non_empty("HOME").map(|home| {
            PathBuf::from(home)
                .join(".config")
                .join("hyperforge")
                .join("config.toml")
        })
    }

    /// Reads the user config; a missing file (or no home directory) is an empty config.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when it cannot be read, [`ConfigError::Invalid`] when it is not valid.
    pub fn load() -> Result<Self, ConfigError> {
        let Some(file) = Self::path() else {
            return Ok(Self::default());
        };
        match read_optional(&file)? {
            Some(text) => Self::parse(&text, &file),
            None => Ok(Self {
                forge: BTreeMap::new(),
                file: Some(file),
            }),
        }
    }

    /// Parses and validates the text of a user config read from `file`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the line and with a hint: TOML syntax, anything but
    /// `[forge.<name>]` tables, unknown keys, wrong types, bad values.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let source = Source { file, text };
        let document = source.document()?;
        let root = document.as_table();
        let mut forge = BTreeMap::new();
        for (key, item) in root.iter() {
            let span = key_span(root, key, item);
            match key {
                "forge" => forge = source.forge_tables(item, span)?,
                other => {
                    return Err(source.error(
                        span,
                        format!("unknown key `{other}` at the top level"),
                        format!(
                            "the user config holds only [forge.<name>] tables (keys: {FORGE_KEYS})"
                        ),
                    ))
                }
            }
        }
        Ok(Self {
            forge,
            file: Some(file.to_owned()),
        })
    }

    /// The file this config was (or would have been) read from.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

/// Creates or updates the repository config for `init`: sets `org` (when given) and `forges`,
/// keeping every other line and comment, and writes atomically (a temp file in the same directory,
/// then a rename), creating `.hyperforge/` when needed.
///
/// Returns one human description per change (`created .hyperforge/config.toml`,
/// `org: bob -> alice`, `forges: github -> github, codeberg`); empty when nothing changed, in which
/// case the file is not touched.
///
/// # Errors
/// [`ConfigError::Argument`] for an invalid org or forge list, [`ConfigError::Invalid`] when the
/// existing file is not valid, [`ConfigError::Read`] / [`ConfigError::Write`] for I/O.
pub fn write_init(
    repo_root: &Path,
    org: Option<&str>,
    forges: &[String],
) -> Result<Vec<String>, ConfigError> {
    let plan = plan_init(repo_root, org, forges)?;
    plan.write()?;
    Ok(plan.changes)
}

/// What [`write_init`] would write, computed without touching anything, so `init` can check
/// everything else (and create remotes) before writing, and `init --dry-run` can show it.
#[derive(Debug)]
pub struct InitPlan {
    /// The repository config's path.
    pub file: PathBuf,
    /// One human description per change; empty when nothing would change.
    pub changes: Vec<String>,
    /// The file's new text (the old text when nothing changes).
    pub text: String,
}

impl InitPlan {
    /// The config as it will read once written.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`], which would be a bug in the planning.
    pub fn config(&self) -> Result<RepoConfig, ConfigError> {
        RepoConfig::parse(&self.text, &self.file)
    }

    /// Writes the file atomically; nothing when nothing changes.
    ///
    /// # Errors
    /// [`ConfigError::Write`].
    pub fn write(&self) -> Result<(), ConfigError> {
        if self.changes.is_empty() {
            return Ok(());
        }
        write_atomically(&self.file, self.text.as_bytes())
    }
}

/// Plans `init`'s config change (see [`write_init`]) without writing.
///
/// # Errors
/// As [`write_init`], except [`ConfigError::Write`].
pub fn plan_init(
    repo_root: &Path,
    org: Option<&str>,
    forges: &[String],
) -> Result<InitPlan, ConfigError> {
    if let Some(org) = org {
        if !is_segment(org) {
            return Err(ConfigError::Argument {
                message: format!("invalid org `{org}`"),
                hint: ORG_HINT.to_owned(),
            });
        }
    }
    check_forge_names(forges)?;

    let file = RepoConfig::path(repo_root);
    let existing = read_optional(&file)?;
    let mut changes = Vec::new();
    let mut document = match &existing {
        Some(text) => {
            RepoConfig::parse(text, &file)?;
            text.parse::<DocumentMut>().map_err(|error| {
                // Parsed once already, so this cannot happen; report it as a syntax error anyway.
                Source { file: &file, text }.syntax_error(&error)
            })?
        }
        None => {
            changes.push(format!("created {REPO_CONFIG}"));
            DocumentMut::new()
        }
    };

    if let Some(org) = org {
        let old = document
            .get("org")
            .and_then(Item::as_str)
            .map(str::to_owned);
        if old.as_deref() != Some(org) {
            if existing.is_some() {
                changes.push(match &old {
                    Some(old) => format!("org: {old} -> {org}"),
                    None => format!("org: set to {org}"),
                });
            }
            replace_value(&mut document, "org", Value::from(org));
        }
    }

    let old_forges: Vec<String> = document
        .get("forges")
        .and_then(Item::as_array)
        .map(|array| {
            array
                .iter()
                .filter_map(|value| value.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if old_forges != forges {
        if existing.is_some() {
            changes.push(format!(
                "forges: {} -> {}",
                old_forges.join(", "),
                forges.join(", ")
            ));
        }
        let mut array: toml_edit::Array = forges.iter().map(String::as_str).collect();
        array.fmt();
        replace_value(&mut document, "forges", Value::Array(array));
    }

    Ok(InitPlan {
        file,
        changes,
        text: document.to_string(),
    })
}

/// Sets a top-level value in place, keeping the comments above the key and the old value's
/// surrounding whitespace and trailing comment.
fn replace_value(document: &mut DocumentMut, key: &str, mut value: Value) {
    match document.get_mut(key) {
        Some(item) => {
            if let Some(old) = item.as_value() {
                *value.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(value);
        }
        None => {
            document.insert(key, Item::Value(value));
        }
    }
}

/// Checks a forge list given on the command line.
fn check_forge_names(forges: &[String]) -> Result<(), ConfigError> {
    if forges.is_empty() {
        return Err(ConfigError::Argument {
            message: "no forges given".to_owned(),
            hint: format!(
                "name at least one forge, e.g. --forges github (built in: {})",
                builtin_names()
            ),
        });
    }
    for (index, name) in forges.iter().enumerate() {
        if !is_segment(name) {
            return Err(ConfigError::Argument {
                message: format!("invalid forge name `{name}`"),
                hint: "a forge name is one path segment of the letters A-Z a-z, digits and . _ @ -"
                    .to_owned(),
            });
        }
        if forges[..index].contains(name) {
            return Err(ConfigError::Argument {
                message: format!("forge `{name}` is given twice"),
                hint: "name each forge once".to_owned(),
            });
        }
    }
    Ok(())
}

/// Writes `bytes` to `file` through a temp file in the same directory and a rename, so a reader
/// (or the hub watching the file) sees the old or the new content, never a torn one (the protocol
/// crate's `write_atomic`, which the hub's own files go through too).
fn write_atomically(file: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let write_error = |source: io::Error| ConfigError::Write {
        file: file.to_owned(),
        source,
    };
    let dir = file
        .parent()
        .expect("the repo config path always has a .hyperforge parent");
    fs::create_dir_all(dir).map_err(write_error)?;
    // Keep the old file's permissions; a new one gets the usual 0644.
    let mode = fs::metadata(file).map_or(0o644, |metadata| metadata.permissions().mode() & 0o7777);
    write_atomic(file, bytes, mode).map_err(write_error)
}

/// Reads a file; `None` when it does not exist.
fn read_optional(file: &Path) -> Result<Option<String>, ConfigError> {
    match fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            file: file.to_owned(),
            source,
        }),
    }
}

/// True when `text` is one valid secret path segment.
fn is_segment(text: &str) -> bool {
    text.len() <= MAX_SEGMENT && !text.contains('/') && SecretPath::parse(text).is_ok()
}

/// Longest org or forge name: two of them and `/token` stay within a secret path's 256 bytes
/// (the `repo_config` fuzz target found a 250-byte org whose token path could not be formed).
const MAX_SEGMENT: usize = 100;

/// The span of `key` in `table`, else of its value.
fn key_span(table: &dyn TableLike, key: &str, item: &Item) -> Option<Range<usize>> {
    table
        .key(key)
        .and_then(toml_edit::Key::span)
        .or_else(|| item.span())
}

/// A value's type for messages: "a string", "an integer", "a table".
fn describe(item: &Item) -> String {
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
struct Source<'a> {
    file: &'a Path,
    text: &'a str,
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
    fn error(&self, span: Option<Range<usize>>, message: String, hint: String) -> ConfigError {
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
    fn syntax_error(&self, error: &toml_edit::TomlError) -> ConfigError {
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
    fn document(&self) -> Result<ImDocument<&str>, ConfigError> {
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
    fn string(&self, item: &Item, key: &str, context: &str) -> Result<String, ConfigError> {
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
    fn org(&self, item: &Item, context: &str) -> Result<String, ConfigError> {
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
    fn forge_list(
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
    fn forge_tables(
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
    fn package(
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

    const FILE: &str = "/r/.hyperforge/config.toml";

    fn parse(text: &str) -> Result<RepoConfig, ConfigError> {
        RepoConfig::parse(text, Path::new(FILE))
    }

    fn parse_err(text: &str) -> ConfigError {
        parse(text).expect_err("invalid config")
    }

    fn user_err(text: &str) -> ConfigError {
        UserConfig::parse(text, Path::new("/u/config.toml")).expect_err("invalid user config")
    }

    #[test]
    fn full_repo_config_parses() {
        let config = parse(
            "# mirrors\norg = \"alice\"\nforges = [\"github\", \"work\"]\n\n\
             [forge.github]\norg = \"alice-gh\"\nremote = \"gh\"\nprotocol = \"https\"\n\n\
             [forge.work]\nkind = \"gitlab\"\nurl = \"https://git.example.com/\"\napi_url = \"https://api.example.com/v4/\"\n\n\
             [package]\nname = \"tool\"\nregistry = \"crates-io\"\n",
        )
        .expect("valid");
        assert_eq!(config.org.as_deref(), Some("alice"));
        assert_eq!(config.forges, ["github", "work"]);
        assert_eq!(config.file(), Path::new(FILE));
        let github = &config.forge["github"];
        assert_eq!(github.org.as_deref(), Some("alice-gh"));
        assert_eq!(github.remote.as_deref(), Some("gh"));
        assert_eq!(github.protocol, Some(Protocol::Https));
        let work = &config.forge["work"];
        assert_eq!(work.kind, Some(ForgeKind::Gitlab));
        assert_eq!(work.url.as_deref(), Some("https://git.example.com"));
        assert_eq!(work.api_url.as_deref(), Some("https://api.example.com/v4"));
        assert_eq!(
            config.package,
            Some(PackageConfig {
                name: Some("tool".into()),
                registry: Some("crates-io".into())
            })
        );
    }

    #[test]
    fn dotted_and_inline_forms_are_the_same_tables() {
        let config = parse(
            "forges = [\"github\"]\nforge.github.org = \"a\"\nforge.codeberg = { org = \"b\" }\n",
        )
        .expect("valid");
        assert_eq!(config.forge["github"].org.as_deref(), Some("a"));
        assert_eq!(config.forge["codeberg"].org.as_deref(), Some("b"));
    }

    #[test]
    fn unknown_key_in_forge_table() {
        let error =
            parse_err("forges = [\"work\"]\n\n[forge.work]\nkind = \"gitea\"\nhosst = \"x\"\n");
        assert_eq!(
            CliError::from(error).report(),
            format!(
                "error: {FILE}:5: unknown key `hosst` in [forge.work]\n\
                 hint: a [forge.<name>] table may hold: kind, url, api_url, org, remote, protocol\n"
            )
        );
    }

    #[test]
    fn unknown_key_at_top_level_and_in_package() {
        let error = parse_err("forges = [\"github\"]\norgs = \"alice\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:2: unknown key `orgs` at the top level")
        );
        assert_eq!(
            error.hint(),
            Some("the top level of .hyperforge/config.toml may hold: org, forges, forge, package")
        );

        let error = parse_err("forges = [\"github\"]\n[package]\nname = \"x\"\nversion = \"1\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:4: unknown key `version` in [package]")
        );
        assert_eq!(error.hint(), Some("[package] may hold: name, registry"));
    }

    #[test]
    fn plural_forges_tables_show_the_singular_form() {
        let expected_hint = "write per-forge settings as [forge.github] (singular), e.g.\n  forges = [\"github\"]\n  [forge.github]\n  org = \"alice\"";
        // With the list: TOML itself rejects the duplicate key.
        let error = parse_err(
            "org = \"alice\"\nforges = [\"github\"]\n\n[forges.github]\norg = \"alice\"\n",
        );
        assert_eq!(error.location().and_then(|l| l.line), Some(4));
        assert!(
            error
                .to_string()
                .starts_with(&format!("{FILE}:4: [forges.github] is not valid")),
            "{error}"
        );
        assert_eq!(error.hint(), Some(expected_hint));
        // Without the list it parses as TOML but is still the wrong form.
        let error = parse_err("[forges.github]\norg = \"alice\"\n");
        assert_eq!(error.location().and_then(|l| l.line), Some(1));
        assert_eq!(error.hint(), Some(expected_hint));
        // Another name shows in the hint.
        let error = parse_err("forges = [\"codeberg\"]\n[forges.codeberg]\n");
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("[forge.codeberg]")));
    }

    #[test]
    fn bad_kind_and_protocol() {
        let error = parse_err("forges = [\"w\"]\n[forge.w]\nkind = \"bitbucket\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:3: unknown kind `bitbucket` in [forge.w]")
        );
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("github, gitea, gitlab")));
        let error = parse_err("forges = [\"w\"]\n[forge.w]\nprotocol = \"git\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:3: unknown protocol `git` in [forge.w]")
        );
        assert!(error.hint().is_some_and(|hint| hint.contains("ssh")));
    }

    #[test]
    fn wrong_types() {
        let error = parse_err("org = 7\nforges = [\"github\"]\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:1: `org` at the top level must be a string, found an integer")
        );
        let error = parse_err("forges = \"github\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:1: `forges` must be a list of forge names, found a string")
        );
        let error = parse_err("forges = [\"github\",\n  3]\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:2: `forges` entries must be strings, found an integer")
        );
        let error = parse_err("forges = [\"github\"]\n[forge.github]\nremote = true\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:3: `remote` in [forge.github] must be a string, found a boolean")
        );
        let error = parse_err("forges = [\"github\"]\nforge = 1\n");
        assert!(
            error
                .to_string()
                .starts_with(&format!("{FILE}:2: `forge` must hold")),
            "{error}"
        );
        let error = parse_err("forges = [\"github\"]\nforge.github = \"x\"\n");
        assert!(
            error
                .to_string()
                .contains("`forge.github` must be a table, found a string"),
            "{error}"
        );
        let error = parse_err("forges = [\"github\"]\npackage = [1]\n");
        assert!(
            error
                .to_string()
                .contains("`package` must be a table, found an array"),
            "{error}"
        );
    }

    #[test]
    fn forges_list_rules() {
        let error = parse_err("forges = [\"github\", \"codeberg\",\n \"github\"]\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:2: forge `github` is listed twice in forges")
        );
        let error = parse_err("org = \"a\"\nforges = []\n");
        assert_eq!(error.to_string(), format!("{FILE}:2: `forges` is empty"));
        let error = parse_err("org = \"a\"\n");
        assert_eq!(error.to_string(), format!("{FILE}: no `forges` list"));
        let error = parse_err("forges = [\"git hub\"]\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:1: invalid forge name `git hub` in forges")
        );
        let error = parse_err("forges = [\"github\"]\n[forge.\"a/b\"]\norg = \"x\"\n");
        assert!(
            error
                .to_string()
                .starts_with(&format!("{FILE}:2: invalid forge name `a/b`")),
            "{error}"
        );
    }

    #[test]
    fn invalid_orgs() {
        for org in ["a/b", "", "..", "al ice", "~alice", "*"] {
            let error = parse_err(&format!("org = \"{org}\"\nforges = [\"github\"]\n"));
            assert_eq!(
                error.to_string(),
                format!("{FILE}:1: invalid org `{org}` at the top level")
            );
            assert_eq!(error.hint(), Some(ORG_HINT));
        }
        let error = parse_err("forges = [\"github\"]\n[forge.github]\norg = \"a b\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:3: invalid org `a b` in [forge.github]")
        );
        // Dots, dashes, @ and capitals are fine.
        parse("org = \"Alice.B-c@d_e\"\nforges = [\"github\"]\n").expect("valid org");
    }

    #[test]
    fn invalid_urls_and_remotes() {
        let error = parse_err("forges = [\"w\"]\n[forge.w]\nkind = \"gitea\"\nurl = \"ftp://x\"\n");
        assert!(
            error.to_string().starts_with(&format!(
                "{FILE}:4: invalid `url` in [forge.w]: the scheme `ftp`"
            )),
            "{error}"
        );
        assert_eq!(error.hint(), Some(URL_HINT));
        let error = parse_err("forges = [\"w\"]\n[forge.w]\napi_url = \"https://h/api?x\"\n");
        assert!(error.to_string().contains("invalid `api_url`"), "{error}");
        for remote in ["", "-x", ".x", "a b", "a..b", "x.lock", "x/"] {
            let error = parse_err(&format!(
                "forges = [\"github\"]\n[forge.github]\nremote = \"{remote}\"\n"
            ));
            assert!(
                error.to_string().contains("invalid remote name"),
                "{remote}: {error}"
            );
        }
        parse("forges = [\"github\"]\n[forge.github]\nremote = \"mirrors/gh_1\"\n")
            .expect("valid remote");
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let error = parse_err("forges = [\"github\"]\norg = \"alice\n");
        let location = error.location().expect("located").clone();
        assert_eq!(location.line, Some(2));
        assert!(location.column.is_some());
        assert!(
            error.to_string().starts_with(&format!("{FILE}:2:")),
            "{error}"
        );
        assert!(error.to_string().contains("invalid TOML"), "{error}");
    }

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
    fn user_config_holds_only_forge_tables() {
        let config = UserConfig::parse(
            "[forge.work]\nkind = \"gitlab\"\nurl = \"https://git.example.com\"\norg = \"team\"\n",
            Path::new("/u/config.toml"),
        )
        .expect("valid");
        assert_eq!(config.forge["work"].org.as_deref(), Some("team"));
        assert_eq!(config.file(), Some(Path::new("/u/config.toml")));
        let error = user_err("org = \"alice\"\n");
        assert_eq!(
            error.to_string(),
            "/u/config.toml:1: unknown key `org` at the top level"
        );
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("[forge.<name>]")));
        let error = user_err("[forge.work]\nhosst = \"x\"\n");
        assert_eq!(
            error.to_string(),
            "/u/config.toml:2: unknown key `hosst` in [forge.work]"
        );
        assert_eq!(
            UserConfig::parse("", Path::new("/u/c"))
                .expect("empty")
                .forge
                .len(),
            0
        );
    }

    #[test]
    fn user_config_path_and_load() {
        // The only test that touches these variables; they are put back at the end.
        let names = ["HYPERFORGE_CONFIG", "XDG_CONFIG_HOME", "HOME"];
        let saved: Vec<_> = names.iter().map(std::env::var_os).collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("user.toml");
        std::env::set_var("HYPERFORGE_CONFIG", &file);
        assert_eq!(UserConfig::path(), Some(file.clone()));
        let empty = UserConfig::load().expect("a missing file is an empty config");
        assert!(empty.forge.is_empty());
        assert_eq!(empty.file(), Some(file.as_path()));
        fs::write(
            &file,
            "[forge.github]\nurl = \"http://127.0.0.1:9/github\"\n",
        )
        .expect("write");
        let loaded = UserConfig::load().expect("loads");
        assert_eq!(
            loaded.forge["github"].url.as_deref(),
            Some("http://127.0.0.1:9/github")
        );
        fs::write(&file, "[forge.github]\nhost = \"x\"\n").expect("write");
        let error = UserConfig::load().expect_err("invalid");
        assert_eq!(
            error.to_string(),
            format!("{}:2: unknown key `host` in [forge.github]", file.display())
        );
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("goes in `url`")));

        std::env::set_var("HYPERFORGE_CONFIG", "");
        std::env::set_var("XDG_CONFIG_HOME", dir.path());
        assert_eq!(
            UserConfig::path(),
            Some(dir.path().join("hyperforge/config.toml"))
        );
        std::env::set_var("XDG_CONFIG_HOME", "relative");
        std::env::set_var("HOME", "/home/someone");
        assert_eq!(
            UserConfig::path(),
            Some(PathBuf::from(
                "/home/someone/.config/hyperforge/config.toml"
            ))
        );
        for (name, value) in names.iter().zip(saved) {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    }

    #[test]
    fn config_errors_are_usage_errors() {
        let error = CliError::from(parse_err("forges = []\n"));
        assert_eq!(error.exit_code(), std::process::ExitCode::from(2));
        assert!(error.hint().is_some());
    }

    #[test]
    fn load_missing_repo_config_is_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(RepoConfig::load(dir.path()).expect("loads"), None);
        assert_eq!(
            RepoConfig::path(dir.path()),
            dir.path().join(".hyperforge/config.toml")
        );
    }

    #[test]
    fn write_init_creates_then_reports_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let forges = vec!["github".to_owned(), "codeberg".to_owned()];
        let changes = write_init(dir.path(), Some("alice"), &forges).expect("writes");
        assert_eq!(changes, ["created .hyperforge/config.toml"]);
        let path = RepoConfig::path(dir.path());
        let text = fs::read_to_string(&path).expect("written");
        assert_eq!(
            text,
            "org = \"alice\"\nforges = [\"github\", \"codeberg\"]\n"
        );
        let config = RepoConfig::load(dir.path())
            .expect("loads")
            .expect("exists");
        assert_eq!(config.org.as_deref(), Some("alice"));
        assert_eq!(config.forges, forges);

        let modified = fs::metadata(&path)
            .expect("exists")
            .modified()
            .expect("mtime");
        assert!(write_init(dir.path(), Some("alice"), &forges)
            .expect("no-op")
            .is_empty());
        assert!(write_init(dir.path(), None, &forges)
            .expect("no-op")
            .is_empty());
        assert_eq!(
            fs::metadata(&path)
                .expect("exists")
                .modified()
                .expect("mtime"),
            modified
        );
        // No temp files left behind.
        let entries = fs::read_dir(path.parent().expect("dir"))
            .expect("lists")
            .count();
        assert_eq!(entries, 1);
    }

    #[test]
    fn write_init_keeps_comments_and_other_keys() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = RepoConfig::path(dir.path());
        fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        let before = "# my mirrors\norg = \"bob\"   # the team\nforges = [\"github\"]\n\n# self-hosted\n[forge.work]\nkind = \"gitea\" # forgejo\nurl = \"https://git.example.com\"\n";
        fs::write(&path, before).expect("write");
        let forges = vec!["github".to_owned(), "work".to_owned()];
        let changes = write_init(dir.path(), Some("alice"), &forges).expect("writes");
        assert_eq!(
            changes,
            ["org: bob -> alice", "forges: github -> github, work"]
        );
        let after = fs::read_to_string(&path).expect("read");
        assert_eq!(
            after,
            "# my mirrors\norg = \"alice\"   # the team\nforges = [\"github\", \"work\"]\n\n# self-hosted\n[forge.work]\nkind = \"gitea\" # forgejo\nurl = \"https://git.example.com\"\n"
        );
    }

    #[test]
    fn write_init_adds_org_to_an_existing_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = RepoConfig::path(dir.path());
        fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        fs::write(&path, "forges = [\"github\"]\n\n[package]\nname = \"x\"\n").expect("write");
        let changes =
            write_init(dir.path(), Some("alice"), &["github".to_owned()]).expect("writes");
        assert_eq!(changes, ["org: set to alice"]);
        let config = RepoConfig::load(dir.path())
            .expect("loads")
            .expect("exists");
        assert_eq!(config.org.as_deref(), Some("alice"));
        assert!(config.package.is_some());
    }

    #[test]
    fn write_init_refuses_bad_input_and_invalid_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error =
            write_init(dir.path(), Some("a/b"), &["github".to_owned()]).expect_err("bad org");
        assert_eq!(error.to_string(), "invalid org `a/b`");
        assert!(write_init(dir.path(), None, &[]).is_err());
        let twice = ["github".to_owned(), "github".to_owned()];
        assert!(write_init(dir.path(), None, &twice).is_err());
        assert!(!RepoConfig::path(dir.path()).exists());

        let path = RepoConfig::path(dir.path());
        fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        fs::write(&path, "forges = [\"github\"]\nhosst = 1\n").expect("write");
        let error =
            write_init(dir.path(), None, &["codeberg".to_owned()]).expect_err("invalid file");
        assert!(error.to_string().contains("unknown key `hosst`"), "{error}");
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

    #[test]
    fn orgs_and_forge_names_fit_a_token_path() {
        let long = "a".repeat(MAX_SEGMENT + 1);
        let text = format!("org = \"{long}\"\nforges = [\"github\"]\n");
        assert!(RepoConfig::parse(&text, Path::new(FILE)).is_err());
        let fits = "a".repeat(MAX_SEGMENT);
        let text = format!("org = \"{fits}\"\nforges = [\"github\"]\n");
        assert!(RepoConfig::parse(&text, Path::new(FILE)).is_ok());
    }
}
