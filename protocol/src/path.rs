//! `SecretPath`: the validated name of one secret, such as `github/alice/token`.
//!
//! Paths come from sockets, command lines and config files, so every constructor validates: 1–8
//! `/`-separated segments of `[A-Za-z0-9._@-]`, none empty, `.` or `..`, at most 256 bytes in all.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::scope::SecretScope;

/// Most segments a path may have.
pub const MAX_SEGMENTS: usize = 8;
/// Most bytes a path may have, separators included.
pub const MAX_PATH_LEN: usize = 256;

/// Why a path or scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The string was empty.
    #[error("secret path is empty")]
    Empty,
    /// The string is longer than [`MAX_PATH_LEN`].
    #[error("secret path is {len} bytes long, the limit is {MAX_PATH_LEN}")]
    TooLong {
        /// Length in bytes.
        len: usize,
    },
    /// More than [`MAX_SEGMENTS`] segments.
    #[error("secret path has {count} segments, the limit is {MAX_SEGMENTS}")]
    TooManySegments {
        /// Number of segments found.
        count: usize,
    },
    /// Two slashes in a row, or a leading or trailing slash.
    #[error(
        "secret path has an empty segment at position {position} (leading, trailing or double '/')"
    )]
    EmptySegment {
        /// 1-based segment position.
        position: usize,
    },
    /// A `.` or `..` segment.
    #[error("secret path segment {position} is '{segment}', which is not allowed")]
    DotSegment {
        /// 1-based segment position.
        position: usize,
        /// The offending segment.
        segment: String,
    },
    /// A character outside `[A-Za-z0-9._@-]`.
    #[error("secret path segment {position} contains {found:?}; allowed are A-Z a-z 0-9 . _ @ -")]
    BadCharacter {
        /// 1-based segment position.
        position: usize,
        /// The first character refused.
        found: char,
    },
    /// A `*` anywhere but as the whole last segment of a scope.
    #[error("'*' may only stand alone as the last segment of a scope")]
    MisplacedWildcard,
    /// A `*` in a secret path, which names one secret and never holds a wildcard.
    #[error(
        "a secret path names one secret and never holds '*' (scopes such as github/alice/* are for grant and revoke)"
    )]
    WildcardInPath,
}

/// A validated secret path.
///
/// ```
/// use auth_hub_protocol::SecretPath;
/// let path = SecretPath::parse("github/alice/token").unwrap();
/// assert_eq!(path.parent_scope().as_str(), "github/alice/*");
/// assert_eq!(SecretPath::new("cargo", "token", "").unwrap().as_str(), "cargo/token");
/// assert!(SecretPath::parse("github/../token").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretPath {
    text: String,
}

impl SecretPath {
    /// Parses and validates a path such as `github/alice/token`.
    ///
    /// # Errors
    /// A [`PathError`] naming the first rule the string breaks.
    pub fn parse(path: &str) -> Result<Self, PathError> {
        validate_segments(path, false)?;
        Ok(Self {
            text: path.to_owned(),
        })
    }

    /// Builds `forge/org/key`, skipping empty parts: `new("cargo", "token", "")` is `cargo/token`.
    ///
    /// # Errors
    /// A [`PathError`] if the joined parts do not form a valid path (all empty, a bad character).
    pub fn new(forge: &str, org: &str, key: &str) -> Result<Self, PathError> {
        let joined = [forge, org, key]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        Self::parse(&joined)
    }

    /// The scope that covers this path's siblings: `github/alice/token` gives `github/alice/*`,
    /// and a one-segment path gives `*`.
    pub fn parent_scope(&self) -> SecretScope {
        match self.text.rsplit_once('/') {
            Some((parent, _)) => SecretScope::wildcard_under(parent),
            None => SecretScope::everything(),
        }
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.text.split('/')
    }

    /// True when `prefix` (a path-like string, possibly empty) is a whole-segment prefix of this
    /// path: `github/alice` is a prefix of `github/alice/token`, `github/ali` is not.
    pub fn starts_with_segments(&self, prefix: &str) -> bool {
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return true;
        }
        match self.text.strip_prefix(prefix) {
            Some("") => true,
            Some(rest) => rest.starts_with('/'),
            None => false,
        }
    }
}

/// Checks the shared path/scope rules; `allow_wildcard_tail` lets the last segment be `*`.
pub(crate) fn validate_segments(text: &str, allow_wildcard_tail: bool) -> Result<(), PathError> {
    if text.is_empty() {
        return Err(PathError::Empty);
    }
    if text.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong { len: text.len() });
    }
    let count = text.split('/').count();
    if count > MAX_SEGMENTS {
        return Err(PathError::TooManySegments { count });
    }
    for (index, segment) in text.split('/').enumerate() {
        let position = index + 1;
        if segment.is_empty() {
            return Err(PathError::EmptySegment { position });
        }
        if segment == "*" && allow_wildcard_tail && position == count {
            continue;
        }
        if !allow_wildcard_tail && segment.contains('*') {
            return Err(PathError::WildcardInPath);
        }
        if segment == "*" {
            return Err(PathError::MisplacedWildcard);
        }
        if segment == "." || segment == ".." {
            return Err(PathError::DotSegment {
                position,
                segment: segment.to_owned(),
            });
        }
        if let Some(found) = segment.chars().find(|c| !is_segment_char(*c)) {
            if found == '*' {
                return Err(PathError::MisplacedWildcard);
            }
            return Err(PathError::BadCharacter { position, found });
        }
    }
    Ok(())
}

fn is_segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')
}

impl fmt::Debug for SecretPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretPath({:?})", self.text)
    }
}

impl fmt::Display for SecretPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for SecretPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for SecretPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for SecretPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_design_examples() {
        for ok in [
            "github/alice/token",
            "cargo/token",
            "npm/@acme-corp/token",
            "a",
            "a.b_c-d@e",
        ] {
            assert_eq!(SecretPath::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_each_rule_precisely() {
        assert_eq!(SecretPath::parse(""), Err(PathError::Empty));
        assert_eq!(
            SecretPath::parse("a//b"),
            Err(PathError::EmptySegment { position: 2 })
        );
        assert_eq!(
            SecretPath::parse("/a"),
            Err(PathError::EmptySegment { position: 1 })
        );
        assert_eq!(
            SecretPath::parse("a/"),
            Err(PathError::EmptySegment { position: 2 })
        );
        assert!(matches!(
            SecretPath::parse("a/../b"),
            Err(PathError::DotSegment { position: 2, .. })
        ));
        assert!(matches!(
            SecretPath::parse("."),
            Err(PathError::DotSegment { .. })
        ));
        assert_eq!(
            SecretPath::parse("a/b c"),
            Err(PathError::BadCharacter {
                position: 2,
                found: ' '
            })
        );
        assert_eq!(SecretPath::parse("a/*"), Err(PathError::WildcardInPath));
        assert_eq!(SecretPath::parse("a*/b"), Err(PathError::WildcardInPath));
        assert!(PathError::WildcardInPath
            .to_string()
            .contains("never holds '*'"));
        assert_eq!(
            SecretPath::parse("1/2/3/4/5/6/7/8/9"),
            Err(PathError::TooManySegments { count: 9 })
        );
        let long = "a".repeat(257);
        assert_eq!(
            SecretPath::parse(&long),
            Err(PathError::TooLong { len: 257 })
        );
        assert!(SecretPath::parse(&"a".repeat(256)).is_ok());
        assert!(SecretPath::parse("tok\u{e9}n").is_err());
        assert!(SecretPath::parse("a\0b").is_err());
    }

    #[test]
    fn new_skips_empty_parts() {
        assert_eq!(
            SecretPath::new("cargo", "token", "").unwrap().as_str(),
            "cargo/token"
        );
        assert_eq!(
            SecretPath::new("github", "alice", "token")
                .unwrap()
                .as_str(),
            "github/alice/token"
        );
        assert_eq!(
            SecretPath::new("npm", "@acme-corp", "token")
                .unwrap()
                .as_str(),
            "npm/@acme-corp/token"
        );
        assert!(SecretPath::new("", "", "").is_err());
        assert!(SecretPath::new("github", "a/../b", "token").is_err());
    }

    #[test]
    fn parent_scope_drops_last_segment() {
        let scope = |p: &str| {
            SecretPath::parse(p)
                .unwrap()
                .parent_scope()
                .as_str()
                .to_owned()
        };
        assert_eq!(scope("github/alice/token"), "github/alice/*");
        assert_eq!(scope("cargo/token"), "cargo/*");
        assert_eq!(scope("token"), "*");
    }

    #[test]
    fn segment_prefix_is_whole_segments() {
        let path = SecretPath::parse("github/alice/token").unwrap();
        assert!(path.starts_with_segments(""));
        assert!(path.starts_with_segments("github"));
        assert!(path.starts_with_segments("github/alice/"));
        assert!(path.starts_with_segments("github/alice/token"));
        assert!(!path.starts_with_segments("github/ali"));
        assert!(!path.starts_with_segments("gitlab"));
    }

    #[test]
    fn deserialize_validates() {
        let bytes = rmp_serde::to_vec("a/../b").unwrap();
        assert!(rmp_serde::from_slice::<SecretPath>(&bytes).is_err());
    }
}
