//! The names a forge config is made of: its kind (the REST API it speaks), the protocol of its
//! remote, and the built-in forges that need no table.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The REST API a forge speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// GitHub (github.com or GitHub Enterprise).
    Github,
    /// Gitea or Forgejo (Codeberg).
    Gitea,
    /// GitLab (gitlab.com or self-hosted).
    Gitlab,
}

impl ForgeKind {
    /// Every kind, in the order they are listed in messages.
    pub const ALL: [ForgeKind; 3] = [Self::Github, Self::Gitea, Self::Gitlab];

    /// The lowercase name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitea => "gitea",
            Self::Gitlab => "gitlab",
        }
    }
}

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ForgeKind {
    type Err = UnknownName;

    /// Parses `github`, `gitea` or `gitlab` (exact, lowercase).
    ///
    /// # Errors
    /// [`UnknownName`] for anything else.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownName(text.to_owned()))
    }
}

/// The style of the fetch URL written to a forge's git remote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `git@host:org/repo.git` (the default).
    #[default]
    Ssh,
    /// `https://host/org/repo.git`.
    Https,
}

impl Protocol {
    /// Every protocol, in the order they are listed in messages.
    pub const ALL: [Protocol; 2] = [Self::Ssh, Self::Https];

    /// The lowercase name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssh => "ssh",
            Self::Https => "https",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = UnknownName;

    /// Parses `ssh` or `https` (exact, lowercase).
    ///
    /// # Errors
    /// [`UnknownName`] for anything else.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|protocol| protocol.as_str() == text)
            .ok_or_else(|| UnknownName(text.to_owned()))
    }
}

/// A [`ForgeKind`] or [`Protocol`] name that is not one of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name `{0}`")]
pub struct UnknownName(pub String);

/// A built-in forge: name, kind and base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinForge {
    /// Its name in `forges = [...]`.
    pub name: &'static str,
    /// The API it speaks.
    pub kind: ForgeKind,
    /// Its base web URL.
    pub url: &'static str,
}

/// The forges that need no `[forge.<name>]` table.
pub const BUILTIN_FORGES: [BuiltinForge; 3] = [
    BuiltinForge {
        name: "github",
        kind: ForgeKind::Github,
        url: "https://github.com",
    },
    BuiltinForge {
        name: "codeberg",
        kind: ForgeKind::Gitea,
        url: "https://codeberg.org",
    },
    BuiltinForge {
        name: "gitlab",
        kind: ForgeKind::Gitlab,
        url: "https://gitlab.com",
    },
];

/// The built-in forge called `name`, if there is one.
pub fn builtin(name: &str) -> Option<&'static BuiltinForge> {
    BUILTIN_FORGES.iter().find(|forge| forge.name == name)
}

/// The built-in forge names joined for messages: `github, codeberg, gitlab`.
pub fn builtin_names() -> String {
    BUILTIN_FORGES
        .iter()
        .map(|forge| forge.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_protocols_parse_and_print() {
        for kind in ForgeKind::ALL {
            assert_eq!(kind.to_string().parse::<ForgeKind>(), Ok(kind));
        }
        assert!("GitHub".parse::<ForgeKind>().is_err());
        assert_eq!("https".parse::<Protocol>(), Ok(Protocol::Https));
        assert_eq!(
            serde_json::to_string(&ForgeKind::Gitlab).expect("serializes"),
            "\"gitlab\""
        );
        assert_eq!(Protocol::default(), Protocol::Ssh);
    }
}
