//! The in-place update `init` makes to `.hyperforge/config.toml`: planned without touching
//! anything, then written atomically, keeping every other line and comment (`toml_edit`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use auth_hub_protocol::local::atomic::write_atomic;
use toml_edit::{DocumentMut, Item, Value};

use super::parse::Source;
use super::sources::read_optional;
use super::{is_segment, ConfigError, RepoConfig, ORG_HINT, REPO_CONFIG};
use crate::forge::kind::builtin_names;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
