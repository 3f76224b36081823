//! What can go wrong with a config file, and where: [`ConfigError`] with its [`Location`] and
//! hint. Config errors are usage errors (exit 2).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::RepoConfig;
use crate::error::CliError;
use crate::forge::kind::builtin_names;

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
