//! Registered repositories: the [`RepoBook`] owns `state/repos.json`.
//!
//! `hyperforge init` registers each repository it sets up, so the hub knows which
//! `.hyperforge/config.toml` files to watch. A registration is only a path and a time: the hub
//! never looks at the filesystem there (the client sends the canonical path; its shape is checked
//! by [`validate_repo_path`]). Like `grants.json`, the file is versioned JSON, mode 0600, replaced
//! atomically; each change is on disk before it returns and is rolled back in memory when the
//! write fails. At most [`MAX_REPOS`] repositories, of at most [`MAX_REPO_BYTES`] of paths in
//! all, are kept: a runaway client cannot grow the file without bound, and a `list_repos` answer
//! always fits in a default-sized frame.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use auth_hub_protocol::response::RepoInfo;
use auth_hub_protocol::{validate_repo_path, RepoPathError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state_file::{self, StateFileError};

/// The `version` written to and accepted from `repos.json`.
pub const REPO_FILE_VERSION: u32 = 1;
/// Most repositories the hub keeps registered.
pub const MAX_REPOS: usize = 10_000;
/// Most bytes of registered paths in all: with ~32 bytes of framing per entry, 10,000 entries
/// still fit in one default 1 MiB frame.
pub const MAX_REPO_BYTES: usize = 640 * 1024;

/// Why a repository could not be registered, or `repos.json` could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RepoStoreError {
    /// The file could not be read, parsed or written; on a failed write nothing changed.
    #[error(transparent)]
    File(#[from] StateFileError),
    /// The path sent is not an absolute, canonical path.
    #[error(transparent)]
    InvalidPath(#[from] RepoPathError),
    /// The cap on registered repositories is reached.
    #[error("{limit} repositories are registered already, the limit; unregister one first")]
    TooMany {
        /// The cap.
        limit: usize,
    },
    /// The registered paths would exceed their cap in bytes.
    #[error(
        "registered repository paths would take more than {limit_bytes} bytes in all, the limit; \
         unregister one first"
    )]
    TooLarge {
        /// The cap, in bytes of paths.
        limit_bytes: usize,
    },
    /// The file parses but holds an entry the hub would never have written.
    #[error("{} is corrupt: entry {index}: {reason}", file.display())]
    BadEntry {
        /// The file.
        file: PathBuf,
        /// 0-based index of the entry in `repos`.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// One registration as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRepo {
    path: String,
    registered_at: DateTime<Utc>,
}

/// The on-disk shape of `repos.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoFile {
    version: u32,
    repos: Vec<StoredRepo>,
}

/// The registered repositories, backed by `repos.json`.
#[derive(Debug)]
pub struct RepoBook {
    file: PathBuf,
    /// Path → first registration time; a `BTreeMap` so listings come out sorted.
    repos: BTreeMap<String, DateTime<Utc>>,
    /// Sum of the registered paths' lengths.
    bytes: usize,
    limit: usize,
    limit_bytes: usize,
}

impl RepoBook {
    /// Loads the repositories file at `file`, keeping at most [`MAX_REPOS`]; a missing file gives
    /// an empty book.
    ///
    /// # Errors
    /// [`RepoStoreError::File`]: unreadable, corrupt (with line and column), or from a newer hub;
    /// [`RepoStoreError::BadEntry`]: an invalid or duplicate path.
    pub fn load(file: &Path) -> Result<Self, RepoStoreError> {
        Self::load_with_limits(file, MAX_REPOS, MAX_REPO_BYTES)
    }

    /// As [`RepoBook::load`], with other caps on the number of repositories and the bytes of
    /// their paths (a file holding more is still loaded whole; only new registrations are
    /// refused).
    ///
    /// # Errors
    /// As [`RepoBook::load`].
    pub fn load_with_limits(
        file: &Path,
        limit: usize,
        limit_bytes: usize,
    ) -> Result<Self, RepoStoreError> {
        let mut repos = BTreeMap::new();
        if let Some(stored) = state_file::load::<RepoFile>(file, REPO_FILE_VERSION)? {
            for (index, repo) in stored.repos.into_iter().enumerate() {
                let bad = |reason: String| RepoStoreError::BadEntry {
                    file: file.to_owned(),
                    index,
                    reason,
                };
                validate_repo_path(&repo.path).map_err(|error| bad(error.to_string()))?;
                if repos.contains_key(&repo.path) {
                    return Err(bad(format!("{:?} is listed twice", repo.path)));
                }
                repos.insert(repo.path, repo.registered_at);
            }
        }
        let bytes = repos.keys().map(String::len).sum();
        Ok(Self {
            file: file.to_owned(),
            repos,
            bytes,
            limit,
            limit_bytes,
        })
    }

    /// Registers `path` at `now`. Returns false when it was registered already (its first
    /// registration time is kept and nothing is written).
    ///
    /// # Errors
    /// [`RepoStoreError::InvalidPath`], [`RepoStoreError::TooMany`],
    /// [`RepoStoreError::TooLarge`], or a write error; nothing was changed.
    pub fn register(&mut self, path: &str, now: DateTime<Utc>) -> Result<bool, RepoStoreError> {
        validate_repo_path(path)?;
        if self.repos.contains_key(path) {
            return Ok(false);
        }
        if self.repos.len() >= self.limit {
            return Err(RepoStoreError::TooMany { limit: self.limit });
        }
        if self.bytes + path.len() > self.limit_bytes {
            return Err(RepoStoreError::TooLarge {
                limit_bytes: self.limit_bytes,
            });
        }
        self.repos.insert(path.to_owned(), now);
        if let Err(error) = self.persist() {
            self.repos.remove(path);
            return Err(error);
        }
        self.bytes += path.len();
        Ok(true)
    }

    /// Forgets `path`. Returns false when it was not registered (nothing is written).
    ///
    /// # Errors
    /// [`RepoStoreError::InvalidPath`] or a write error; nothing was changed.
    pub fn unregister(&mut self, path: &str) -> Result<bool, RepoStoreError> {
        validate_repo_path(path)?;
        let Some(registered_at) = self.repos.remove(path) else {
            return Ok(false);
        };
        if let Err(error) = self.persist() {
            self.repos.insert(path.to_owned(), registered_at);
            return Err(error);
        }
        self.bytes -= path.len();
        Ok(true)
    }

    /// The registered repositories, sorted bytewise by path.
    pub fn list(&self) -> Vec<RepoInfo> {
        self.repos
            .iter()
            .map(|(path, registered_at)| RepoInfo {
                path: path.clone(),
                registered_at: *registered_at,
            })
            .collect()
    }

    /// True when `path` is registered.
    pub fn contains(&self, path: &str) -> bool {
        self.repos.contains_key(path)
    }

    /// How many repositories are registered.
    pub fn len(&self) -> usize {
        self.repos.len()
    }

    /// True when none is.
    pub fn is_empty(&self) -> bool {
        self.repos.is_empty()
    }

    /// The file this book persists to.
    pub fn path(&self) -> &Path {
        &self.file
    }

    fn persist(&self) -> Result<(), RepoStoreError> {
        let file = RepoFile {
            version: REPO_FILE_VERSION,
            repos: self
                .repos
                .iter()
                .map(|(path, registered_at)| StoredRepo {
                    path: path.clone(),
                    registered_at: *registered_at,
                })
                .collect(),
        };
        Ok(state_file::save(&self.file, &file)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::at;
    use auth_hub_protocol::frame;
    use auth_hub_protocol::response::RepoList;
    use auth_hub_protocol::{
        Response, ResponseEnvelope, ResponseResult, ServerMessage, DEFAULT_MAX_FRAME,
    };
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn book() -> (tempfile::TempDir, RepoBook) {
        let dir = tempfile::tempdir().expect("temp dir");
        let book = RepoBook::load(&dir.path().join("repos.json")).expect("empty book");
        (dir, book)
    }

    #[test]
    fn register_persists_privately_and_reloads() {
        let (dir, mut book) = book();
        assert!(book.is_empty());
        assert!(book.register("/home/alice/src/b", at(1)).expect("added"));
        assert!(book.register("/home/alice/src/a", at(2)).expect("added"));
        let file = dir.path().join("repos.json");
        let mode = fs::metadata(&file).expect("written").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = fs::read_to_string(&file).expect("readable");
        assert!(text.contains("\"version\": 1"), "{text}");

        let reloaded = RepoBook::load(&file).expect("reloads");
        assert_eq!(reloaded.list(), book.list());
        let listed: Vec<_> = reloaded.list().into_iter().map(|r| r.path).collect();
        assert_eq!(listed, ["/home/alice/src/a", "/home/alice/src/b"]);
        assert_eq!(reloaded.list()[0].registered_at, at(2));
        assert_eq!(reloaded.len(), 2);
    }

    #[test]
    fn duplicate_keeps_the_first_registration() {
        let (dir, mut book) = book();
        assert!(book.register("/r", at(1)).expect("added"));
        let file = dir.path().join("repos.json");
        let before = fs::metadata(&file).expect("written").ino();
        assert!(!book.register("/r", at(5)).expect("already there"));
        assert_eq!(book.len(), 1);
        assert_eq!(book.list()[0].registered_at, at(1));
        let after = fs::metadata(&file).expect("written").ino();
        assert_eq!(
            before, after,
            "nothing rewritten (a write replaces the file)"
        );
    }

    #[test]
    fn unregister_removes_and_persists() {
        let (dir, mut book) = book();
        book.register("/a", at(0)).expect("added");
        book.register("/b", at(0)).expect("added");
        assert!(book.unregister("/a").expect("removed"));
        assert!(!book.unregister("/a").expect("gone already"));
        assert!(!book.unregister("/never").expect("never there"));
        let reloaded = RepoBook::load(&dir.path().join("repos.json")).expect("reloads");
        assert!(!reloaded.contains("/a"));
        assert!(reloaded.contains("/b"));
    }

    #[test]
    fn invalid_paths_are_refused_before_anything_changes() {
        let (dir, mut book) = book();
        for path in ["", "relative", "/a/../b", "/a//b", "/a\0b"] {
            assert!(
                matches!(
                    book.register(path, at(0)),
                    Err(RepoStoreError::InvalidPath(_))
                ),
                "{path:?}"
            );
            assert!(
                matches!(book.unregister(path), Err(RepoStoreError::InvalidPath(_))),
                "{path:?}"
            );
        }
        assert!(book.is_empty());
        assert!(!dir.path().join("repos.json").exists());
    }

    #[test]
    fn cap_is_a_clear_error() {
        assert_eq!(MAX_REPOS, 10_000);
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("repos.json");
        let mut book = RepoBook::load_with_limits(&file, 2, MAX_REPO_BYTES).expect("empty");
        book.register("/a", at(0)).expect("added");
        book.register("/b", at(0)).expect("added");
        let error = book.register("/c", at(0)).expect_err("over the cap");
        assert!(matches!(error, RepoStoreError::TooMany { limit: 2 }));
        assert_eq!(
            error.to_string(),
            "2 repositories are registered already, the limit; unregister one first"
        );
        // A registered path is still answered, and room is made by unregistering.
        assert!(!book.register("/a", at(0)).expect("already there"));
        book.unregister("/a").expect("removed");
        assert!(book.register("/c", at(0)).expect("room again"));
        let reloaded = RepoBook::load_with_limits(&file, 2, MAX_REPO_BYTES).expect("reloads");
        assert_eq!(reloaded.len(), 2);
    }

    #[test]
    fn byte_cap_is_a_clear_error_and_counts_unregistering() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("repos.json");
        let mut book = RepoBook::load_with_limits(&file, 100, 8).expect("empty");
        book.register("/aaa", at(0)).expect("4 bytes");
        book.register("/bbb", at(0)).expect("8 bytes");
        let error = book.register("/c", at(0)).expect_err("10 bytes");
        assert!(matches!(error, RepoStoreError::TooLarge { limit_bytes: 8 }));
        assert!(error.to_string().contains("more than 8 bytes"), "{error}");
        book.unregister("/aaa").expect("removed");
        book.register("/c", at(0)).expect("6 bytes");
        let mut reloaded = RepoBook::load_with_limits(&file, 100, 8).expect("reloads");
        // The byte count is rebuilt on load: 6 bytes registered, 3 more would be 9.
        assert!(matches!(
            reloaded.register("/dd", at(0)),
            Err(RepoStoreError::TooLarge { .. })
        ));
        reloaded.register("/d", at(0)).expect("8 bytes");
    }

    #[test]
    fn the_longest_listing_fits_a_default_frame() {
        // MAX_REPOS paths sharing MAX_REPO_BYTES, as the hub would send them.
        let each = MAX_REPO_BYTES / MAX_REPOS;
        let repos = (0..MAX_REPOS)
            .map(|n| RepoInfo {
                path: format!("/{n:0width$}", width = each - 1),
                registered_at: at(0),
            })
            .collect();
        let answer = ServerMessage::Response(ResponseEnvelope {
            id: u64::MAX,
            result: ResponseResult::Ok(Response::Repos(RepoList { repos })),
        });
        let body = frame::encode_body(&answer).expect("encodes");
        assert!(body.len() <= DEFAULT_MAX_FRAME, "{} bytes", body.len());
    }

    #[test]
    fn failed_write_rolls_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut book =
            RepoBook::load(&dir.path().join("missing").join("repos.json")).expect("empty");
        assert!(matches!(
            book.register("/a", at(0)),
            Err(RepoStoreError::File(StateFileError::Write { .. }))
        ));
        assert!(book.is_empty());
        // The retry after a failure is a real registration, not "already there".
        fs::create_dir(dir.path().join("missing")).expect("mkdir");
        assert!(book.register("/a", at(0)).expect("added now"));
    }

    #[test]
    fn failed_unregister_rolls_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sub = dir.path().join("state");
        fs::create_dir(&sub).expect("mkdir");
        let mut book = RepoBook::load(&sub.join("repos.json")).expect("empty");
        book.register("/a", at(3)).expect("added");
        fs::remove_dir_all(&sub).expect("remove state dir");
        assert!(matches!(
            book.unregister("/a"),
            Err(RepoStoreError::File(StateFileError::Write { .. }))
        ));
        assert!(book.contains("/a"));
        assert_eq!(book.list()[0].registered_at, at(3));
    }

    #[test]
    fn corrupt_file_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("repos.json");
        fs::write(&path, r#"{"version":1,"repos":[{"path":"/a""#).expect("write");
        let error = RepoBook::load(&path).expect_err("truncated");
        assert!(
            matches!(error, RepoStoreError::File(StateFileError::Corrupt { .. })),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("repos.json is corrupt"),
            "{error}"
        );
        assert!(error.to_string().contains("line 1"), "{error}");

        fs::write(&path, r#"{"version":1,"repos":[],"extra":true}"#).expect("write");
        assert!(matches!(
            RepoBook::load(&path),
            Err(RepoStoreError::File(StateFileError::Corrupt { .. }))
        ));

        fs::write(&path, r#"{"version":2,"repos":[]}"#).expect("write");
        assert!(matches!(
            RepoBook::load(&path),
            Err(RepoStoreError::File(StateFileError::UnsupportedVersion {
                version: 2,
                ..
            }))
        ));

        fs::write(
            &path,
            r#"{"version":1,"repos":[{"path":"/a","registered_at":"2024-01-01T00:00:00Z"},{"path":"a/../b","registered_at":"2024-01-01T00:00:00Z"}]}"#,
        )
        .expect("write");
        let error = RepoBook::load(&path).expect_err("relative entry");
        assert!(
            matches!(error, RepoStoreError::BadEntry { index: 1, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("entry 1"), "{error}");

        fs::write(
            &path,
            r#"{"version":1,"repos":[{"path":"/a","registered_at":"2024-01-01T00:00:00Z"},{"path":"/a","registered_at":"2024-01-02T00:00:00Z"}]}"#,
        )
        .expect("write");
        let error = RepoBook::load(&path).expect_err("duplicate");
        assert!(error.to_string().contains("listed twice"), "{error}");
    }
}
