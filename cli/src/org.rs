//! Git remote URLs and org resolution.
//!
//! The org decides a forge's secret path (`{forge}/{org}/token`), so it is resolved in the one
//! order the design gives: the forge table's `org`, then the top-level `org`, then the owner
//! segment of the forge's git remote URL. Remote URLs come in many forms (scp-like, `ssh://` with
//! ports, `https://` with user info, with or without `.git`); this module parses them without
//! guessing: an SSH host alias is never taken for an owner, and local paths give nothing.

use std::fmt;

use auth_hub_protocol::{PathError, SecretPath};

use crate::config::REPO_CONFIG;
use crate::error::CliError;
use crate::forge::url::split_host_port;
use crate::forge::{is_org_segment, Forge};

/// How a remote URL reaches its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteScheme {
    /// `ssh://`, `git+ssh://`, or the scp-like `host:path`.
    Ssh,
    /// `git://`.
    Git,
    /// `http://`.
    Http,
    /// `https://`.
    Https,
}

impl fmt::Display for RemoteScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ssh => "ssh",
            Self::Git => "git",
            Self::Http => "http",
            Self::Https => "https",
        })
    }
}

/// A parsed git remote URL: scp-like (`git@host:owner/repo.git`, `host:owner/repo`), `ssh://`
/// (user, port), `https://` / `http://` (user info, port), `git://`; with or without `.git` and
/// trailing slashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    /// How it is reached.
    pub scheme: RemoteScheme,
    /// The host (or SSH host alias), IPv6 without brackets.
    pub host: String,
    /// The port, when the URL gives one.
    pub port: Option<u16>,
    /// The non-empty path segments, as written (`repo.git` keeps its suffix).
    pub segments: Vec<String>,
}

impl RemoteUrl {
    /// Parses a remote URL; `None` for local paths, `file://`, unknown schemes and anything
    /// malformed.
    pub fn parse(url: &str) -> Option<Self> {
        let url = url.trim();
        if url.is_empty()
            || url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        {
            return None;
        }
        match url.split_once("://") {
            Some((scheme, rest)) => Self::parse_with_scheme(scheme, rest),
            None => Self::parse_scp_like(url),
        }
    }

    /// `scheme://[user[:password]@]host[:port]/path`.
    fn parse_with_scheme(scheme: &str, rest: &str) -> Option<Self> {
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "ssh" | "git+ssh" | "ssh+git" => RemoteScheme::Ssh,
            "git" => RemoteScheme::Git,
            "http" => RemoteScheme::Http,
            "https" => RemoteScheme::Https,
            _ => return None,
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        let path = match scheme {
            RemoteScheme::Http | RemoteScheme::Https => path.split(['?', '#']).next()?,
            RemoteScheme::Ssh | RemoteScheme::Git => path,
        };
        // User info ends at the last `@` of the authority (a password may hold another).
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = split_host_port(host_port)?;
        let port = match port {
            Some(port) => Some(port.parse::<u16>().ok()?),
            None => None,
        };
        Some(Self {
            scheme,
            host: clean_host(host)?,
            port,
            segments: segments(path),
        })
    }

    /// `[user@]host:path`, git's scp-like syntax: a `:` with no `/` before it.
    fn parse_scp_like(url: &str) -> Option<Self> {
        let rest = match url.find('@') {
            Some(at) if !url[..at].contains([':', '/', '[']) => &url[at + 1..],
            _ => url,
        };
        let (host, path) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']')?;
            (host, after.strip_prefix(':')?)
        } else {
            let (host, path) = rest.split_once(':')?;
            if host.contains('/') {
                // `./a:b` and `/srv/a:b` are local paths.
                return None;
            }
            // `C:/repo` is a Windows drive, not a host called C.
            if host.len() == 1 && path.starts_with('/') {
                return None;
            }
            (host, path)
        };
        Some(Self {
            scheme: RemoteScheme::Ssh,
            host: clean_host(host)?,
            port: None,
            segments: segments(path),
        })
    }

    /// The repository's name: the last segment without `.git`.
    #[cfg(test)]
    pub fn repo_name(&self) -> Option<&str> {
        let last = self.segments.last()?;
        let name = last.strip_suffix(".git").unwrap_or(last);
        (!name.is_empty()).then_some(name)
    }
}

/// A host name, alias or IP address (brackets removed); `None` when it has characters no host has.
fn clean_host(host: &str) -> Option<String> {
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'));
    valid.then(|| host.to_owned())
}

/// The non-empty `/`-separated segments of a path.
fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The owner (org) of a remote URL: the first path segment after `base_path` (the forge URL's
/// path prefix, `""` for github.com), when a repository segment follows it. GitLab subgroups
/// (`group/sub/repo`) give the top group.
///
/// Never a host or SSH host alias: `gh-work:repo.git` (no owner segment) gives `None`, as do
/// `~user` segments, local paths and `file://` URLs. An HTTP(S) URL outside the base path gives
/// `None`; an SSH URL without the base path is read from its first segment, since SSH servers
/// often serve repositories without the web path prefix.
pub fn owner_from_remote(url: &str, base_path: &str) -> Option<String> {
    let remote = RemoteUrl::parse(url)?;
    let base: Vec<&str> = base_path.split('/').filter(|s| !s.is_empty()).collect();
    let mut segments: Vec<&str> = remote.segments.iter().map(String::as_str).collect();
    if segments.starts_with(&base) {
        segments.drain(..base.len());
    } else if matches!(remote.scheme, RemoteScheme::Http | RemoteScheme::Https) {
        return None;
    }
    match segments.as_slice() {
        [owner, _repo, ..] if is_org_segment(owner) => Some((*owner).to_owned()),
        _ => None,
    }
}

/// Where a resolved org came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgSource {
    /// `[forge.<name>] org`.
    ForgeTable,
    /// Top-level `org`.
    TopLevel,
    /// The owner segment of the forge's remote URL.
    RemoteUrl,
}

impl fmt::Display for OrgSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ForgeTable => "its [forge.<name>] table",
            Self::TopLevel => "the top-level org",
            Self::RemoteUrl => "its remote URL",
        })
    }
}

/// No usable org for a forge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OrgError {
    /// Nothing configured, and the remote URL names no owner (or there is no remote).
    #[error("no org for forge `{forge}`: none is configured and {reason}")]
    Missing {
        /// The forge's name.
        forge: String,
        /// Why the remote did not help (never the URL itself, which may hold credentials).
        reason: String,
    },
    /// The org found is not a valid secret path segment.
    #[error("invalid org `{org}` for forge `{forge}` (from {origin}): {error}")]
    Invalid {
        /// The forge's name.
        forge: String,
        /// The org found.
        org: String,
        /// Where it came from.
        origin: OrgSource,
        /// Why it is not valid.
        error: PathError,
    },
}

impl OrgError {
    /// The forge the error is about.
    pub fn forge(&self) -> &str {
        match self {
            Self::Missing { forge, .. } | Self::Invalid { forge, .. } => forge,
        }
    }

    /// Where to set the org.
    pub fn hint(&self) -> String {
        format!(
            "set `org = \"…\"` in {REPO_CONFIG}, or `org` in its [forge.{}] table",
            self.forge()
        )
    }
}

/// Org errors are config errors (exit 2), with the hint saying where to set one.
impl From<OrgError> for CliError {
    fn from(error: OrgError) -> Self {
        let hint = error.hint();
        CliError::usage(error.to_string()).with_hint(hint)
    }
}

/// The org of `forge`, in the design's order: the forge's own `org`, then the top-level `org`,
/// then the owner of the forge's remote URL (`remote_url`, the URL of the remote named
/// `forge.remote`, when it exists).
///
/// # Errors
/// [`OrgError::Missing`] when none gives one; [`OrgError::Invalid`] when the one found is not a
/// valid path segment.
pub fn resolve_org(
    forge: &Forge,
    top_level: Option<&str>,
    remote_url: Option<&str>,
) -> Result<String, OrgError> {
    let (org, origin) = if let Some(org) = &forge.org {
        (org.clone(), OrgSource::ForgeTable)
    } else if let Some(org) = top_level {
        (org.to_owned(), OrgSource::TopLevel)
    } else {
        let owner = remote_url.and_then(|url| owner_from_remote(url, forge.base_path()));
        match owner {
            Some(owner) => (owner, OrgSource::RemoteUrl),
            None => {
                let reason = match remote_url {
                    Some(_) => format!("the URL of remote `{}` names no owner", forge.remote),
                    None => format!("there is no remote `{}`", forge.remote),
                };
                return Err(OrgError::Missing {
                    forge: forge.name.clone(),
                    reason,
                });
            }
        }
    };
    let invalid = |error| OrgError::Invalid {
        forge: forge.name.clone(),
        org: org.clone(),
        origin,
        error,
    };
    if org.contains('/') {
        return Err(invalid(PathError::BadCharacter {
            position: 1,
            found: '/',
        }));
    }
    SecretPath::parse(&org).map_err(invalid)?;
    if org.starts_with('~') {
        return Err(invalid(PathError::BadCharacter {
            position: 1,
            found: '~',
        }));
    }
    Ok(org)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::{ForgeKind, Protocol};

    /// Remote URL, forge base path, expected owner.
    const OWNER_CASES: &[(&str, &str, Option<&str>)] = &[
        // scp-like
        ("git@github.com:alice/repo.git", "", Some("alice")),
        ("github.com:alice/repo.git", "", Some("alice")),
        ("git@github.com:alice/repo", "", Some("alice")),
        ("git@github.com:alice/repo.git/", "", Some("alice")),
        ("git@github.com:/alice/repo.git", "", Some("alice")),
        ("gh-work:alice/repo.git", "", Some("alice")),
        ("gh-work:repo.git", "", None),
        ("git@gh-work:repo.git", "", None),
        ("git@[::1]:alice/x.git", "", Some("alice")),
        (
            "git@127.0.0.1:github/alice/repo.git",
            "github",
            Some("alice"),
        ),
        ("host:~alice/x", "", None),
        // ssh://
        ("ssh://git@github.com/alice/repo.git", "", Some("alice")),
        (
            "ssh://git@host.example:2222/alice/repo.git",
            "",
            Some("alice"),
        ),
        ("ssh://host.example:2222/alice/repo", "", Some("alice")),
        ("git+ssh://git@host/alice/repo.git", "", Some("alice")),
        ("ssh://git@[::1]:2222/alice/x.git", "", Some("alice")),
        ("ssh://host/~alice/x", "", None),
        ("ssh://git@host:notaport/alice/x", "", None),
        ("SSH://git@host/Alice/x.git", "", Some("Alice")),
        (
            "ssh://git@git.example.com/alice/x.git",
            "git",
            Some("alice"),
        ),
        // https / http
        ("https://github.com/alice/repo.git", "", Some("alice")),
        ("https://github.com/alice/repo", "", Some("alice")),
        ("https://github.com/alice/repo/", "", Some("alice")),
        ("https://github.com/alice/repo.git/", "", Some("alice")),
        (
            "https://user:pass@github.com/alice/repo.git",
            "",
            Some("alice"),
        ),
        (
            "https://x-access-token@host.example:8443/alice/repo.git",
            "",
            Some("alice"),
        ),
        (
            "http://127.0.0.1:8080/github/alice/repo.git",
            "github",
            Some("alice"),
        ),
        ("https://host/git/alice/repo.git", "git", Some("alice")),
        ("https://host/other/alice/repo.git", "git", None),
        ("https://host/git/repo.git", "git", None),
        ("HTTPS://GitHub.com/alice/repo.git", "", Some("alice")),
        ("https://github.com/alice/repo.git?x=1#y", "", Some("alice")),
        ("https://github.com/alice", "", None),
        ("https://github.com/", "", None),
        ("https://[::1]:8080/alice/x.git", "", Some("alice")),
        // GitLab subgroups take the top group
        ("git@gitlab.com:group/sub/repo.git", "", Some("group")),
        (
            "https://gitlab.com/group/sub/deeper/deepest/repo.git",
            "",
            Some("group"),
        ),
        (
            "ssh://git@gitlab.example:2222/group/a/b/c/repo.git",
            "",
            Some("group"),
        ),
        // git://
        ("git://host/alice/x", "", Some("alice")),
        ("git://host:9418/alice/x.git", "", Some("alice")),
        // orgs keep @, dots, dashes, underscores
        (
            "git@github.com:my.org-x_y@z/repo.git",
            "",
            Some("my.org-x_y@z"),
        ),
        ("https://github.com/a.b-c/repo.git", "", Some("a.b-c")),
        // owners that are no path segment
        ("https://github.com/al%20ice/repo.git", "", None),
        ("https://github.com/../repo.git", "", None),
        // local and garbage
        ("file:///srv/x.git", "", None),
        ("/srv/git/x.git", "", None),
        ("../x", "", None),
        ("./a:b/c", "", None),
        ("x.git", "", None),
        ("C:/repos/x.git", "", None),
        ("C:\\repos\\x.git", "", None),
        ("", "", None),
        ("   ", "", None),
        ("git@github.com: alice/repo.git", "", None),
        ("not a url at all", "", None),
        ("ftp://host/alice/x.git", "", None),
        ("https://", "", None),
        (":alice/repo.git", "", None),
    ];

    #[test]
    fn owner_from_remote_table() {
        assert!(OWNER_CASES.len() >= 30);
        let mut failures = Vec::new();
        for (url, base, expected) in OWNER_CASES {
            let owner = owner_from_remote(url, base);
            if owner.as_deref() != *expected {
                failures.push(format!(
                    "{url:?} (base {base:?}): got {owner:?}, want {expected:?}"
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn parse_keeps_host_port_and_segments() {
        let url = RemoteUrl::parse("ssh://git@[::1]:2222/alice/x.git/").expect("parses");
        assert_eq!(url.scheme, RemoteScheme::Ssh);
        assert_eq!(url.host, "::1");
        assert_eq!(url.port, Some(2222));
        assert_eq!(url.segments, ["alice", "x.git"]);
        assert_eq!(url.repo_name(), Some("x"));

        let url = RemoteUrl::parse("https://u:p@Host.example:8443/a/b").expect("parses");
        assert_eq!(url.scheme, RemoteScheme::Https);
        assert_eq!(url.host, "Host.example");
        assert_eq!(url.port, Some(8443));
        assert_eq!(url.repo_name(), Some("b"));

        let url = RemoteUrl::parse("gh-work:repo.git").expect("parses");
        assert_eq!(url.scheme, RemoteScheme::Ssh);
        assert_eq!(url.host, "gh-work");
        assert_eq!(url.port, None);
        assert_eq!(url.repo_name(), Some("repo"));

        assert_eq!(
            RemoteUrl::parse("git://h/x").map(|u| u.scheme),
            Some(RemoteScheme::Git)
        );
        assert_eq!(
            RemoteUrl::parse("https://h/").and_then(|u| u.repo_name().map(str::to_owned)),
            None
        );
        assert_eq!(
            RemoteUrl::parse("https://h/.git").and_then(|u| u.repo_name().map(str::to_owned)),
            None
        );
        assert!(RemoteUrl::parse("file:///srv/x.git").is_none());
        assert!(RemoteUrl::parse("https://h:70000/a/b").is_none());
    }

    fn forge(org: Option<&str>, url: &str) -> Forge {
        Forge {
            name: "github".to_owned(),
            kind: ForgeKind::Github,
            url: url.to_owned(),
            api_url: format!("{url}/api/v3"),
            org: org.map(str::to_owned),
            remote: "origin".to_owned(),
            protocol: Protocol::Ssh,
        }
    }

    #[test]
    fn resolve_org_precedence() {
        let remote = Some("git@github.com:from-remote/repo.git");
        let with_forge_org = forge(Some("from-forge"), "https://github.com");
        let plain = forge(None, "https://github.com");
        assert_eq!(
            resolve_org(&with_forge_org, Some("top"), remote).expect("org"),
            "from-forge"
        );
        assert_eq!(
            resolve_org(&plain, Some("top"), remote).expect("org"),
            "top"
        );
        assert_eq!(
            resolve_org(&plain, None, remote).expect("org"),
            "from-remote"
        );
        // The remote's owner is read after the forge's base path.
        let test_forge = forge(None, "http://127.0.0.1:8080/github");
        assert_eq!(
            resolve_org(&test_forge, None, Some("git@127.0.0.1:github/alice/r.git")).expect("org"),
            "alice"
        );
    }

    #[test]
    fn resolve_org_errors() {
        let plain = forge(None, "https://github.com");
        let error = resolve_org(&plain, None, None).expect_err("nothing");
        assert_eq!(
            error.to_string(),
            "no org for forge `github`: none is configured and there is no remote `origin`"
        );
        assert!(error.hint().contains("[forge.github]"));
        let error = resolve_org(&plain, None, Some("https://user:s3cret@gh-alias/repo.git"))
            .expect_err("alias");
        assert_eq!(
            error.to_string(),
            "no org for forge `github`: none is configured and the URL of remote `origin` names no owner"
        );
        assert!(!error.to_string().contains("s3cret"));
        let error = resolve_org(&plain, Some("a b"), None).expect_err("invalid");
        assert!(
            error
                .to_string()
                .starts_with("invalid org `a b` for forge `github` (from the top-level org)"),
            "{error}"
        );
        let error =
            resolve_org(&forge(Some("a/b"), "https://github.com"), None, None).expect_err("nested");
        assert!(
            error.to_string().contains("from its [forge.<name>] table"),
            "{error}"
        );
        let cli = CliError::from(error);
        assert_eq!(cli.exit_code(), std::process::ExitCode::from(2));
        assert!(cli
            .hint()
            .is_some_and(|hint| hint.contains(".hyperforge/config.toml")));
    }
}
