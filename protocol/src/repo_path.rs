//! Repository paths: where a repository registered with the hub lives, such as
//! `/home/alice/src/hyperforge`.
//!
//! The hub never touches the filesystem at a client's path (it must not follow links or stat
//! directories on a client's behalf), so the client sends the path already canonical and this
//! module only checks its shape: absolute, at most [`MAX_REPO_PATH_LEN`] bytes, no NUL, and no
//! `.`, `..` or empty components. Both the hub (authoritatively) and its files (on load) use
//! [`validate_repo_path`], so one rule decides what a registered path can be.

/// Most bytes a repository path may have (Linux's `PATH_MAX`).
pub const MAX_REPO_PATH_LEN: usize = 4096;

/// Why a repository path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepoPathError {
    /// The path was empty.
    #[error("repository path is empty")]
    Empty,
    /// The path does not start with `/`.
    #[error("repository path {path:?} is relative; send an absolute, canonical path")]
    Relative {
        /// The path as sent.
        path: String,
    },
    /// The path is longer than [`MAX_REPO_PATH_LEN`].
    #[error("repository path is {len} bytes long, the limit is {MAX_REPO_PATH_LEN}")]
    TooLong {
        /// Length in bytes.
        len: usize,
    },
    /// The path contains a NUL byte.
    #[error("repository path contains a NUL byte at byte {offset}")]
    Nul {
        /// 0-based byte offset of the first NUL.
        offset: usize,
    },
    /// A `..` component.
    #[error("repository path {path:?} has a '..' component; send the canonical path")]
    ParentComponent {
        /// The path as sent.
        path: String,
    },
    /// A `.` component.
    #[error("repository path {path:?} has a '.' component; send the canonical path")]
    CurrentComponent {
        /// The path as sent.
        path: String,
    },
    /// Two slashes in a row, or a trailing slash.
    #[error("repository path {path:?} has an empty component (double or trailing '/'); send the canonical path")]
    EmptyComponent {
        /// The path as sent.
        path: String,
    },
}

/// Checks that `path` is an absolute path in canonical form: what `std::fs::canonicalize` returns
/// for an existing directory. The root `/` itself is accepted.
///
/// ```
/// use auth_hub_protocol::repo_path::{validate_repo_path, RepoPathError};
/// assert!(validate_repo_path("/home/alice/src/app").is_ok());
/// assert!(matches!(validate_repo_path("src/app"), Err(RepoPathError::Relative { .. })));
/// assert!(matches!(
///     validate_repo_path("/home/alice/../bob"),
///     Err(RepoPathError::ParentComponent { .. })
/// ));
/// ```
///
/// # Errors
/// A [`RepoPathError`] naming the first rule the path breaks, checked in the order empty, too
/// long, NUL, relative, then components from left to right.
pub fn validate_repo_path(path: &str) -> Result<(), RepoPathError> {
    if path.is_empty() {
        return Err(RepoPathError::Empty);
    }
    if path.len() > MAX_REPO_PATH_LEN {
        // Checked before anything quotes the path, so an error message stays small.
        return Err(RepoPathError::TooLong { len: path.len() });
    }
    if let Some(offset) = path.bytes().position(|b| b == 0) {
        return Err(RepoPathError::Nul { offset });
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(RepoPathError::Relative {
            path: path.to_owned(),
        });
    };
    if rest.is_empty() {
        return Ok(());
    }
    for component in rest.split('/') {
        let error = match component {
            "" => RepoPathError::EmptyComponent {
                path: path.to_owned(),
            },
            "." => RepoPathError::CurrentComponent {
                path: path.to_owned(),
            },
            ".." => RepoPathError::ParentComponent {
                path: path.to_owned(),
            },
            _ => continue,
        };
        return Err(error);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_absolute_paths_pass() {
        for path in [
            "/",
            "/home/alice/src/app",
            "/a",
            "/with space/and-ünïcode",
            "/dots.in/names..ok/...",
            "/.hidden/x",
        ] {
            assert_eq!(validate_repo_path(path), Ok(()), "{path}");
        }
        let longest = format!("/{}", "a".repeat(MAX_REPO_PATH_LEN - 1));
        assert_eq!(validate_repo_path(&longest), Ok(()));
    }

    #[test]
    fn each_rule_has_its_own_error() {
        assert_eq!(validate_repo_path(""), Err(RepoPathError::Empty));
        assert!(matches!(
            validate_repo_path("src/app"),
            Err(RepoPathError::Relative { path }) if path == "src/app"
        ));
        assert!(matches!(
            validate_repo_path("./app"),
            Err(RepoPathError::Relative { .. })
        ));
        let long = format!("/{}", "a".repeat(MAX_REPO_PATH_LEN));
        assert_eq!(
            validate_repo_path(&long),
            Err(RepoPathError::TooLong {
                len: MAX_REPO_PATH_LEN + 1
            })
        );
        assert_eq!(
            validate_repo_path("/a/b\0c"),
            Err(RepoPathError::Nul { offset: 4 })
        );
        for path in ["/a/../b", "/..", "/a/.."] {
            assert!(
                matches!(
                    validate_repo_path(path),
                    Err(RepoPathError::ParentComponent { .. })
                ),
                "{path}"
            );
        }
        for path in ["/a/./b", "/.", "/a/."] {
            assert!(
                matches!(
                    validate_repo_path(path),
                    Err(RepoPathError::CurrentComponent { .. })
                ),
                "{path}"
            );
        }
        for path in ["//a", "/a//b", "/a/"] {
            assert!(
                matches!(
                    validate_repo_path(path),
                    Err(RepoPathError::EmptyComponent { .. })
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn messages_are_precise_and_lowercase() {
        let message = validate_repo_path("src/app")
            .expect_err("relative")
            .to_string();
        assert_eq!(
            message,
            "repository path \"src/app\" is relative; send an absolute, canonical path"
        );
        let message = validate_repo_path("/a/../b")
            .expect_err("dot dot")
            .to_string();
        assert_eq!(
            message,
            "repository path \"/a/../b\" has a '..' component; send the canonical path"
        );
    }
}
