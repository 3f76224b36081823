//! The forge model: which forges a repository mirrors to, each with every setting resolved.
//!
//! A forge is named (`github`, `codeberg`, `work`), has a kind (the REST API it speaks), a base web
//! URL, and the git remote it is written to. Settings come from three layers, the repository's
//! `[forge.<name>]` table over the user's over the built-in defaults; this module merges them once
//! so every command sees the same [`Forge`]. It also owns the URL forms derived from a forge (fetch,
//! push and API URLs, the secret path of its token) and the reverse mapping a git credential
//! request needs (protocol + host + path back to a forge and org).

use auth_hub_protocol::{PathError, SecretPath};

use crate::config::{ConfigError, ForgeSettings, RepoConfig, UserConfig};

pub mod kind;
pub mod url;

// API clients:
pub mod api;
pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod http;

pub use self::kind::{
    builtin, builtin_names, BuiltinForge, ForgeKind, Protocol, UnknownName, BUILTIN_FORGES,
};
pub use self::url::{default_api_url, normalize_url};
use self::url::{host_without_port, split_url, URL_HINT};

/// One forge of a repository, every setting resolved (repo table over user table over built-in
/// default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forge {
    /// The forge's name in the config: `github`, `codeberg`, `work`.
    pub name: String,
    /// The API it speaks.
    pub kind: ForgeKind,
    /// Base web URL without a trailing slash: `https://github.com`, `http://127.0.0.1:8080/gh`.
    pub url: String,
    /// REST API root without a trailing slash.
    pub api_url: String,
    /// The per-forge org from the config, if any.
    pub org: Option<String>,
    /// The git remote name.
    pub remote: String,
    /// Style of the fetch URL written to the remote.
    pub protocol: Protocol,
}

impl Forge {
    /// The host as git's credential protocol says it, with the port when the URL has one:
    /// `github.com`, `127.0.0.1:8080`.
    pub fn host(&self) -> &str {
        split_url(&self.url).1
    }

    /// The path part of the URL without slashes: `""` for `https://github.com`, `"gh"` for
    /// `http://127.0.0.1:8080/gh`.
    pub fn base_path(&self) -> &str {
        split_url(&self.url).2
    }

    /// The URL written to the git remote: `git@github.com:alice/repo.git` for SSH (host without
    /// port, base path kept: `git@127.0.0.1:gh/alice/repo.git`), the push URL for HTTPS.
    pub fn fetch_url(&self, org: &str, repo: &str) -> String {
        match self.protocol {
            Protocol::Https => self.push_url(org, repo),
            Protocol::Ssh => {
                let host = host_without_port(self.host());
                match self.base_path() {
                    "" => format!("git@{host}:{org}/{repo}.git"),
                    base => format!("git@{host}:{base}/{org}/{repo}.git"),
                }
            }
        }
    }

    /// The HTTP(S) URL hyperforge pushes to: `{url}/{org}/{repo}.git`.
    pub fn push_url(&self, org: &str, repo: &str) -> String {
        format!("{}/{org}/{repo}.git", self.url)
    }

    /// Where this forge's token for `org` is kept: `{name}/{org}/token`.
    ///
    /// # Errors
    /// A [`PathError`] when `org` is not a valid path segment.
    pub fn secret_path(&self, org: &str) -> Result<SecretPath, PathError> {
        // `SecretPath::new` skips empty parts and would accept a nested org; neither is one
        // segment.
        if org.is_empty() {
            return Err(PathError::EmptySegment { position: 2 });
        }
        if org.contains('/') {
            return Err(PathError::BadCharacter {
                position: 2,
                found: '/',
            });
        }
        SecretPath::new(&self.name, org, "token")
    }

    /// The scope that covers this forge's secrets for `org`: `{name}/{org}/*`.
    ///
    /// # Errors
    /// A [`PathError`] when `org` is not a valid path segment.
    #[cfg(test)]
    pub fn scope(&self, org: &str) -> Result<auth_hub_protocol::SecretScope, PathError> {
        Ok(self.secret_path(org)?.parent_scope())
    }

    /// The user name git is given together with a token: GitHub wants `x-access-token`, Gitea and
    /// GitLab accept `oauth2`.
    pub fn username(&self) -> &'static str {
        match self.kind {
            ForgeKind::Github => "x-access-token",
            ForgeKind::Gitea | ForgeKind::Gitlab => "oauth2",
        }
    }
}

/// Resolves `repo.forges` in order, each from the repo's table over the user's over the built-in
/// default. The first forge's remote is `origin` unless `remote` is set; the others are named after
/// the forge.
///
/// # Errors
/// A [`ConfigError`] naming the repository file and the line of the `forges` entry when a name is
/// neither built in nor given both `kind` and `url` (in the repo or user file); also when a URL is
/// invalid or two forges would write the same remote.
pub fn resolve_forges(repo: &RepoConfig, user: &UserConfig) -> Result<Vec<Forge>, ConfigError> {
    let mut forges: Vec<Forge> = Vec::with_capacity(repo.forges.len());
    for (index, name) in repo.forges.iter().enumerate() {
        let default_remote = if index == 0 {
            "origin".to_owned()
        } else {
            name.clone()
        };
        let layers = Layers::new(name, repo.forge.get(name), user.forge.get(name));
        let forge = match layers.build(default_remote) {
            Ok(forge) => forge,
            Err(Incomplete::Missing) => {
                return Err(ConfigError::unknown_forge(
                    repo,
                    index,
                    name,
                    layers.has_table(),
                    user.file(),
                ))
            }
            Err(Incomplete::BadUrl(reason)) => {
                return Err(ConfigError::invalid_at_entry(
                    repo,
                    index,
                    format!("forge `{name}` has an invalid url: {reason}"),
                    URL_HINT.to_owned(),
                ))
            }
        };
        if let Some(other) = forges.iter().find(|other| other.remote == forge.remote) {
            return Err(ConfigError::invalid_at_entry(
                repo,
                index,
                format!(
                    "forges `{}` and `{name}` would both use the git remote `{}`",
                    other.name, forge.remote
                ),
                format!("give one of them another remote, e.g.\n  [forge.{name}]\n  remote = \"{name}\""),
            ));
        }
        forges.push(forge);
    }
    Ok(forges)
}

/// For the git credential helper: the forge whose URL matches `protocol` + `host` (with port, as
/// git sends it) + the start of `path` (the forge URL's base path), and the org: the first path
/// segment after the base path, else the forge's configured `org`.
///
/// Forges are looked up in the user's config tables, then the built-ins, then (when given) the
/// repository's tables; among matches the longest base path wins, then the first found. `None`
/// when nothing matches: unknown hosts get no answer, so git asks its next helper.
pub fn forge_for_request(
    protocol: &str,
    host: &str,
    path: Option<&str>,
    user: &UserConfig,
    repo: Option<&RepoConfig>,
) -> Option<(Forge, Option<String>)> {
    let mut candidates: Vec<Forge> = Vec::new();
    let mut add = |name: &str, repo_table: Option<&ForgeSettings>| {
        let layers = Layers::new(name, repo_table, user.forge.get(name));
        let remote = layers.remote().unwrap_or(name).to_owned();
        if let Ok(forge) = layers.build(remote) {
            candidates.push(forge);
        }
    };
    for name in user.forge.keys() {
        add(name, None);
    }
    for builtin in &BUILTIN_FORGES {
        if !user.forge.contains_key(builtin.name) {
            add(builtin.name, None);
        }
    }
    if let Some(repo) = repo {
        for name in repo.forge.keys().chain(repo.forges.iter()) {
            add(name, repo.forge.get(name));
        }
    }

    let path_segments: Vec<&str> = path
        .unwrap_or("")
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let mut best: Option<(usize, Forge, Option<String>)> = None;
    for forge in candidates {
        let (scheme, forge_host, base) = split_url(&forge.url);
        if !scheme.eq_ignore_ascii_case(protocol) || !forge_host.eq_ignore_ascii_case(host) {
            continue;
        }
        let base_segments: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
        let org_from_path = match path {
            Some(_) => {
                if !path_segments.starts_with(&base_segments) {
                    continue;
                }
                let rest = &path_segments[base_segments.len()..];
                // An owner needs a repository after it: `alice/repo.git`.
                match rest {
                    [owner, _, ..] if is_org_segment(owner) => Some((*owner).to_owned()),
                    _ => None,
                }
            }
            None => None,
        };
        let score = base_segments.len();
        if best
            .as_ref()
            .is_some_and(|(best_score, _, _)| *best_score >= score)
        {
            continue;
        }
        let org = org_from_path.or_else(|| forge.org.clone());
        best = Some((score, forge, org));
    }
    best.map(|(_, forge, org)| (forge, org))
}

/// True when `org` can be the org segment of a secret path (and is not a `~user` segment).
pub(crate) fn is_org_segment(org: &str) -> bool {
    !org.starts_with('~') && !org.contains('/') && SecretPath::parse(org).is_ok()
}

/// Why a forge could not be built from its layers.
enum Incomplete {
    /// Neither `kind` nor `url` (or only one of them) is known.
    Missing,
    /// The URL or API URL is not usable.
    BadUrl(String),
}

/// The three setting layers of one forge, highest first.
struct Layers<'a> {
    name: &'a str,
    repo: Option<&'a ForgeSettings>,
    user: Option<&'a ForgeSettings>,
    builtin: Option<&'static BuiltinForge>,
}

impl<'a> Layers<'a> {
    fn new(
        name: &'a str,
        repo: Option<&'a ForgeSettings>,
        user: Option<&'a ForgeSettings>,
    ) -> Self {
        Self {
            name,
            repo,
            user,
            builtin: builtin(name),
        }
    }

    /// True when the repo or user file has a table for this forge.
    fn has_table(&self) -> bool {
        self.repo.is_some() || self.user.is_some()
    }

    /// The first layer's value of a setting.
    fn pick<T>(&self, get: impl Fn(&'a ForgeSettings) -> Option<T>) -> Option<T> {
        self.repo
            .and_then(&get)
            .or_else(|| self.user.and_then(&get))
    }

    fn remote(&self) -> Option<&'a str> {
        self.pick(|settings| settings.remote.as_deref())
    }

    fn build(&self, default_remote: String) -> Result<Forge, Incomplete> {
        let kind = self
            .pick(|settings| settings.kind)
            .or(self.builtin.map(|builtin| builtin.kind))
            .ok_or(Incomplete::Missing)?;
        let url = self
            .pick(|settings| settings.url.as_deref())
            .or(self.builtin.map(|builtin| builtin.url))
            .ok_or(Incomplete::Missing)?;
        let url = normalize_url(url).map_err(Incomplete::BadUrl)?;
        let api_url = match self.pick(|settings| settings.api_url.as_deref()) {
            Some(api_url) => normalize_url(api_url).map_err(Incomplete::BadUrl)?,
            None => default_api_url(kind, &url),
        };
        Ok(Forge {
            name: self.name.to_owned(),
            kind,
            url,
            api_url,
            org: self.pick(|settings| settings.org.clone()),
            remote: self.remote().map_or(default_remote, str::to_owned),
            protocol: self.pick(|settings| settings.protocol).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    fn repo(text: &str) -> RepoConfig {
        RepoConfig::parse(text, Path::new(".hyperforge/config.toml")).expect("valid repo config")
    }

    fn user(text: &str) -> UserConfig {
        UserConfig::parse(text, Path::new("/home/u/.config/hyperforge/config.toml"))
            .expect("valid user config")
    }

    fn one(repo_text: &str, user_text: &str) -> Forge {
        let forges = resolve_forges(&repo(repo_text), &user(user_text)).expect("resolves");
        assert_eq!(forges.len(), 1);
        forges.into_iter().next().expect("one forge")
    }

    #[test]
    fn github_urls() {
        let forge = one("forges = [\"github\"]", "");
        assert_eq!(forge.kind, ForgeKind::Github);
        assert_eq!(forge.host(), "github.com");
        assert_eq!(forge.base_path(), "");
        assert_eq!(forge.api_url, "https://api.github.com");
        assert_eq!(forge.remote, "origin");
        assert_eq!(forge.protocol, Protocol::Ssh);
        assert_eq!(
            forge.fetch_url("alice", "repo"),
            "git@github.com:alice/repo.git"
        );
        assert_eq!(
            forge.push_url("alice", "repo"),
            "https://github.com/alice/repo.git"
        );
        assert_eq!(
            forge.secret_path("alice").expect("valid").as_str(),
            "github/alice/token"
        );
        assert_eq!(
            forge.scope("alice").expect("valid").as_str(),
            "github/alice/*"
        );
        assert_eq!(forge.username(), "x-access-token");
        assert!(forge.secret_path("").is_err());
        assert!(forge.secret_path("a/b").is_err());
        assert!(forge.secret_path("..").is_err());
    }

    #[test]
    fn codeberg_and_gitlab_urls() {
        let forges = resolve_forges(
            &repo("forges = [\"github\", \"codeberg\", \"gitlab\"]"),
            &UserConfig::default(),
        )
        .expect("resolves");
        let codeberg = &forges[1];
        assert_eq!(codeberg.kind, ForgeKind::Gitea);
        assert_eq!(codeberg.remote, "codeberg");
        assert_eq!(codeberg.host(), "codeberg.org");
        assert_eq!(codeberg.api_url, "https://codeberg.org/api/v1");
        assert_eq!(
            codeberg.fetch_url("alice", "x"),
            "git@codeberg.org:alice/x.git"
        );
        assert_eq!(
            codeberg.push_url("alice", "x"),
            "https://codeberg.org/alice/x.git"
        );
        assert_eq!(codeberg.username(), "oauth2");
        let gitlab = &forges[2];
        assert_eq!(gitlab.kind, ForgeKind::Gitlab);
        assert_eq!(gitlab.remote, "gitlab");
        assert_eq!(gitlab.api_url, "https://gitlab.com/api/v4");
        assert_eq!(gitlab.fetch_url("grp", "x"), "git@gitlab.com:grp/x.git");
        assert_eq!(gitlab.scope("grp").expect("valid").as_str(), "gitlab/grp/*");
    }

    #[test]
    fn self_hosted_gitlab_with_base_path_and_port() {
        let forge = one(
            "forges = [\"work\"]",
            "[forge.work]\nkind = \"gitlab\"\nurl = \"https://Git.Example.com:8443/git/\"\norg = \"team\"\n",
        );
        assert_eq!(forge.url, "https://git.example.com:8443/git");
        assert_eq!(forge.host(), "git.example.com:8443");
        assert_eq!(forge.base_path(), "git");
        assert_eq!(forge.api_url, "https://git.example.com:8443/git/api/v4");
        assert_eq!(forge.org.as_deref(), Some("team"));
        assert_eq!(
            forge.fetch_url("team", "x"),
            "git@git.example.com:git/team/x.git"
        );
        assert_eq!(
            forge.push_url("team", "x"),
            "https://git.example.com:8443/git/team/x.git"
        );
        assert_eq!(
            forge.secret_path("team").expect("valid").as_str(),
            "work/team/token"
        );
    }

    #[test]
    fn test_server_override_and_https_protocol() {
        let forges = resolve_forges(
            &repo("forges = [\"github\", \"codeberg\"]\n[forge.codeberg]\nprotocol = \"https\"\nremote = \"cb\"\n"),
            &user("[forge.github]\nurl = \"http://127.0.0.1:8080/github\"\n[forge.codeberg]\nurl = \"http://127.0.0.1:8080/codeberg\"\napi_url = \"http://127.0.0.1:9000/api/\"\n"),
        )
        .expect("resolves");
        let github = &forges[0];
        assert_eq!(github.kind, ForgeKind::Github);
        assert_eq!(github.api_url, "http://127.0.0.1:8080/github/api/v3");
        assert_eq!(github.host(), "127.0.0.1:8080");
        assert_eq!(
            github.fetch_url("alice", "repo"),
            "git@127.0.0.1:github/alice/repo.git"
        );
        assert_eq!(
            github.push_url("alice", "repo"),
            "http://127.0.0.1:8080/github/alice/repo.git"
        );
        let codeberg = &forges[1];
        assert_eq!(codeberg.remote, "cb");
        assert_eq!(codeberg.protocol, Protocol::Https);
        assert_eq!(codeberg.api_url, "http://127.0.0.1:9000/api");
        assert_eq!(
            codeberg.fetch_url("alice", "repo"),
            "http://127.0.0.1:8080/codeberg/alice/repo.git"
        );
    }

    #[test]
    fn github_enterprise_api_url() {
        let forge = one(
            "forges = [\"ghe\"]\n[forge.ghe]\nkind = \"github\"\nurl = \"https://ghe.corp.example\"\n",
            "",
        );
        assert_eq!(forge.api_url, "https://ghe.corp.example/api/v3");
        assert_eq!(forge.username(), "x-access-token");
    }

    #[test]
    fn repo_table_wins_over_user_table() {
        let forge = one(
            "forges = [\"work\"]\n[forge.work]\norg = \"repo-org\"\nremote = \"w\"\n",
            "[forge.work]\nkind = \"gitea\"\nurl = \"https://git.example.com\"\norg = \"user-org\"\nremote = \"u\"\nprotocol = \"https\"\n",
        );
        assert_eq!(forge.org.as_deref(), Some("repo-org"));
        assert_eq!(forge.remote, "w");
        assert_eq!(forge.protocol, Protocol::Https);
        assert_eq!(forge.kind, ForgeKind::Gitea);
    }

    #[test]
    fn unknown_forge_names_the_forges_line() {
        let repo = repo("org = \"alice\"\nforges = [\n  \"github\",\n  \"work\",\n]\n");
        let error = resolve_forges(&repo, &UserConfig::default()).expect_err("work is unknown");
        assert_eq!(
            error.to_string(),
            ".hyperforge/config.toml:4: unknown forge `work` in forges"
        );
        let hint = error.hint().expect("a hint");
        assert!(hint.contains("github, codeberg, gitlab"), "{hint}");
        assert!(
            hint.contains("[forge.work]\n  kind = \"gitea\"\n  url = \"https://"),
            "{hint}"
        );
    }

    #[test]
    fn forge_table_without_kind_is_incomplete() {
        let repo = repo("forges = [\"work\"]\n[forge.work]\nurl = \"https://git.example.com\"\n");
        let error = resolve_forges(&repo, &UserConfig::default()).expect_err("no kind");
        assert_eq!(
            error.to_string(),
            ".hyperforge/config.toml:1: forge `work` is not built in and needs both `kind` and `url`"
        );
    }

    #[test]
    fn two_forges_on_one_remote_is_an_error() {
        let repo =
            repo("forges = [\"github\", \"codeberg\"]\n[forge.codeberg]\nremote = \"origin\"\n");
        let error = resolve_forges(&repo, &UserConfig::default()).expect_err("clash");
        assert!(
            error
                .to_string()
                .contains("both use the git remote `origin`"),
            "{error}"
        );
    }

    #[test]
    fn credential_requests_map_to_forges() {
        let user = user(
            "[forge.github]\nurl = \"http://127.0.0.1:8080/github\"\n\
             [forge.codeberg]\nurl = \"http://127.0.0.1:8080/codeberg\"\n\
             [forge.work]\nkind = \"gitlab\"\nurl = \"https://git.example.com\"\norg = \"team\"\n",
        );
        let (forge, org) = forge_for_request(
            "http",
            "127.0.0.1:8080",
            Some("codeberg/alice/repo.git"),
            &user,
            None,
        )
        .expect("matches");
        assert_eq!(forge.name, "codeberg");
        assert_eq!(org.as_deref(), Some("alice"));
        let (forge, org) = forge_for_request(
            "http",
            "127.0.0.1:8080",
            Some("github/bob/x.git"),
            &user,
            None,
        )
        .expect("matches");
        assert_eq!(forge.name, "github");
        assert_eq!(org.as_deref(), Some("bob"));
        // Base path does not match.
        assert!(
            forge_for_request("http", "127.0.0.1:8080", Some("other/a/b.git"), &user, None)
                .is_none()
        );
        // Wrong scheme or port, unknown host.
        assert!(
            forge_for_request("https", "127.0.0.1:8080", Some("github/a/b"), &user, None).is_none()
        );
        assert!(
            forge_for_request("http", "127.0.0.1:8081", Some("github/a/b"), &user, None).is_none()
        );
        assert!(forge_for_request("https", "example.org", Some("a/b"), &user, None).is_none());
        // Built-ins not overridden by the user still answer; no path gives no org.
        let (forge, org) =
            forge_for_request("https", "gitlab.com", None, &user, None).expect("built in");
        assert_eq!((forge.name.as_str(), org), ("gitlab", None));
        // The configured org stands in when there is no path.
        let (forge, org) =
            forge_for_request("https", "git.example.com", None, &user, None).expect("user forge");
        assert_eq!(
            (forge.name.as_str(), org.as_deref()),
            ("work", Some("team"))
        );
        // Overridden built-ins no longer answer for their public host.
        assert!(forge_for_request("https", "github.com", Some("a/b"), &user, None).is_none());
        // A path with no repository after the owner gives no org.
        let (_, org) =
            forge_for_request("https", "GitLab.com", Some("alice"), &user, None).expect("built in");
        assert_eq!(org, None);
    }

    #[test]
    fn credential_requests_fall_back_to_repo_tables() {
        let user = UserConfig::default();
        let repo = repo(
            "forges = [\"mine\"]\n[forge.mine]\nkind = \"gitea\"\nurl = \"https://git.mine.example/forgejo\"\n",
        );
        assert!(forge_for_request(
            "https",
            "git.mine.example",
            Some("forgejo/a/b"),
            &user,
            None
        )
        .is_none());
        let (forge, org) = forge_for_request(
            "https",
            "git.mine.example",
            Some("/forgejo/alice/b.git"),
            &user,
            Some(&repo),
        )
        .expect("repo forge");
        assert_eq!(forge.name, "mine");
        assert_eq!(org.as_deref(), Some("alice"));
    }

    #[test]
    fn longest_base_path_wins() {
        let mut forge = BTreeMap::new();
        forge.insert(
            "a".to_owned(),
            ForgeSettings {
                kind: Some(ForgeKind::Gitea),
                url: Some("http://h".to_owned()),
                ..ForgeSettings::default()
            },
        );
        forge.insert(
            "b".to_owned(),
            ForgeSettings {
                kind: Some(ForgeKind::Gitea),
                url: Some("http://h/sub".to_owned()),
                ..ForgeSettings::default()
            },
        );
        let mut user = UserConfig::default();
        user.forge = forge;
        let (found, org) =
            forge_for_request("http", "h", Some("sub/alice/x"), &user, None).expect("match");
        assert_eq!((found.name.as_str(), org.as_deref()), ("b", Some("alice")));
        let (found, org) =
            forge_for_request("http", "h", Some("alice/x"), &user, None).expect("match");
        assert_eq!((found.name.as_str(), org.as_deref()), ("a", Some("alice")));
    }
}
