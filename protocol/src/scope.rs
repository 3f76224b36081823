//! `SecretScope`, `Permissions` and `Access` (the two together): what a client asks for and what
//! a grant or token allows.
//!
//! A scope is either `prefix/*` (every path strictly below `prefix`, compared segment-wise), `*`
//! (every path), or an exact path (that path alone). `github/alice/*` covers `github/alice/token`
//! and `github/alice/ci/token`, never `github/alicex/token` nor `github/alice` itself.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::path::{validate_segments, PathError, SecretPath};

/// Read and write rights. Write does not imply read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Permissions {
    /// May read secret values.
    #[serde(default)]
    pub read: bool,
    /// May create, replace and delete secrets.
    #[serde(default)]
    pub write: bool,
}

impl Permissions {
    /// Read only.
    pub const READ: Self = Self {
        read: true,
        write: false,
    };
    /// Write only.
    pub const WRITE: Self = Self {
        read: false,
        write: true,
    };
    /// Read and write.
    pub const READ_WRITE: Self = Self {
        read: true,
        write: true,
    };

    /// True when every right in `need` is in `self`.
    pub fn includes(self, need: Permissions) -> bool {
        (self.read || !need.read) && (self.write || !need.write)
    }

    /// Rights in either.
    pub fn union(self, other: Permissions) -> Permissions {
        Permissions {
            read: self.read || other.read,
            write: self.write || other.write,
        }
    }

    /// True when no right is set.
    pub fn is_empty(self) -> bool {
        !self.read && !self.write
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.read, self.write) {
            (true, true) => "read+write",
            (true, false) => "read",
            (false, true) => "write",
            (false, false) => "none",
        })
    }
}

/// A validated scope pattern. It carries no permissions: those travel beside it, in an
/// [`Access`] or in a request's own `permissions` field, so equality and hashing agree with the
/// pattern string that goes on the wire.
///
/// ```
/// use auth_hub_protocol::{SecretPath, SecretScope};
/// let scope = SecretScope::parse("github/alice/*").unwrap();
/// assert!(scope.covers_path(&SecretPath::parse("github/alice/token").unwrap()));
/// assert!(!scope.covers_path(&SecretPath::parse("github/alicex/token").unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretScope {
    pattern: String,
}

impl SecretScope {
    /// Parses `prefix/*`, `*` or an exact path.
    ///
    /// # Errors
    /// A [`PathError`] naming the rule the pattern breaks.
    pub fn parse(pattern: &str) -> Result<Self, PathError> {
        if pattern != "*" {
            validate_segments(pattern, true)?;
        }
        Ok(Self {
            pattern: pattern.to_owned(),
        })
    }

    /// `*`: every path.
    pub fn everything() -> Self {
        Self {
            pattern: "*".to_owned(),
        }
    }

    /// `parent/*` for an already validated parent.
    pub(crate) fn wildcard_under(parent: &str) -> Self {
        Self {
            pattern: format!("{parent}/*"),
        }
    }

    /// The pattern as text, such as `github/alice/*`.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The part before `/*`, empty for `*`, the whole path for an exact scope.
    pub fn prefix(&self) -> &str {
        if self.pattern == "*" {
            ""
        } else {
            self.pattern.strip_suffix("/*").unwrap_or(&self.pattern)
        }
    }

    /// True for `prefix/*` and `*`.
    pub fn is_wildcard(&self) -> bool {
        self.pattern == "*" || self.pattern.ends_with("/*")
    }

    /// True when `path` lies under this pattern.
    pub fn covers_path(&self, path: &SecretPath) -> bool {
        if !self.is_wildcard() {
            return path.as_str() == self.pattern;
        }
        let prefix = self.prefix();
        if prefix.is_empty() {
            return true;
        }
        // Strictly below: the prefix, a slash, then at least one more segment.
        path.as_str()
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
    }

    /// True when every path `other` covers is covered by `self`.
    pub fn covers_scope(&self, other: &SecretScope) -> bool {
        if !other.is_wildcard() {
            return SecretPath::parse(&other.pattern).is_ok_and(|path| self.covers_path(&path));
        }
        if !self.is_wildcard() {
            return false;
        }
        let mine = self.prefix();
        let theirs = other.prefix();
        mine.is_empty()
            || theirs == mine
            || theirs
                .strip_prefix(mine)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// A scope pattern with the rights asked for or held under it: what a request wants, or what a
/// grant, key or token allows.
///
/// ```
/// use auth_hub_protocol::{Access, Permissions, SecretScope};
/// let held = Access::new(SecretScope::parse("github/*").unwrap(), Permissions::READ);
/// let wanted = Access::read(SecretScope::parse("github/alice/*").unwrap());
/// assert!(held.allows(&wanted));
/// assert!(!held.allows(&Access::new(wanted.scope.clone(), Permissions::WRITE)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Access {
    /// The pattern.
    pub scope: SecretScope,
    /// The rights under it.
    pub permissions: Permissions,
}

impl Access {
    /// `scope` with `permissions`.
    pub fn new(scope: SecretScope, permissions: Permissions) -> Self {
        Self { scope, permissions }
    }

    /// `scope` with read permission.
    pub fn read(scope: SecretScope) -> Self {
        Self::new(scope, Permissions::READ)
    }

    /// True when the pattern covers `wanted`'s and the permissions include `wanted`'s.
    pub fn allows(&self, wanted: &Access) -> bool {
        self.scope.covers_scope(&wanted.scope) && self.permissions.includes(wanted.permissions)
    }

    /// True when the pattern covers `path` and the permissions include `need`.
    pub fn allows_path(&self, path: &SecretPath, need: Permissions) -> bool {
        self.scope.covers_path(path) && self.permissions.includes(need)
    }
}

/// `pattern (permissions)`, such as `github/alice/* (read)`.
impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.scope, self.permissions)
    }
}

/// Shows the pattern only.
impl fmt::Display for SecretScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

impl FromStr for SecretScope {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// On the wire a scope is its pattern string; permissions travel in their own field.
impl Serialize for SecretScope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.pattern)
    }
}

impl<'de> Deserialize<'de> for SecretScope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> SecretPath {
        SecretPath::parse(p).unwrap()
    }
    fn scope(s: &str) -> SecretScope {
        SecretScope::parse(s).unwrap()
    }

    #[test]
    fn wildcard_covers_segment_wise() {
        let alice = scope("github/alice/*");
        assert!(alice.covers_path(&path("github/alice/token")));
        assert!(alice.covers_path(&path("github/alice/ci/token")));
        assert!(!alice.covers_path(&path("github/alicex/token")));
        assert!(!alice.covers_path(&path("github/alice")));
        assert!(!alice.covers_path(&path("github/alic")));
        assert!(!alice.covers_path(&path("gitlab/alice/token")));
        assert!(scope("*").covers_path(&path("anything/at/all")));
    }

    #[test]
    fn exact_scope_covers_itself_only() {
        let exact = scope("cargo/token");
        assert!(exact.covers_path(&path("cargo/token")));
        assert!(!exact.covers_path(&path("cargo/token/x")));
        assert!(!exact.covers_path(&path("cargo")));
    }

    #[test]
    fn scope_covers_scope() {
        assert!(scope("github/*").covers_scope(&scope("github/alice/*")));
        assert!(scope("github/alice/*").covers_scope(&scope("github/alice/*")));
        assert!(!scope("github/alice/*").covers_scope(&scope("github/*")));
        assert!(!scope("github/alice/*").covers_scope(&scope("github/alicex/*")));
        assert!(scope("github/alice/*").covers_scope(&scope("github/alice/token")));
        assert!(!scope("github/alice/token").covers_scope(&scope("github/alice/*")));
        assert!(scope("*").covers_scope(&scope("*")));
        assert!(!scope("github/*").covers_scope(&scope("*")));
    }

    #[test]
    fn permissions_are_separate() {
        let read = Access::read(scope("a/*"));
        let write = Access::new(scope("a/*"), Permissions::WRITE);
        assert!(!write.allows(&read));
        assert!(!read.allows(&write));
        assert!(Access::new(read.scope.clone(), Permissions::READ_WRITE).allows(&write));
        assert!(Permissions::READ_WRITE.includes(Permissions::READ));
        assert!(!Permissions::WRITE.includes(Permissions::READ));
    }

    #[test]
    fn parse_refuses_bad_patterns() {
        assert!(SecretScope::parse("github/*/x").is_err());
        assert!(SecretScope::parse("github/al*").is_err());
        assert!(SecretScope::parse("").is_err());
        assert!(SecretScope::parse("a/../*").is_err());
        assert_eq!(scope("*").prefix(), "");
        assert_eq!(scope("a/b/*").prefix(), "a/b");
    }
}
