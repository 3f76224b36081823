//! `[registry.<name>]` tables, in the user config and in `.hyperforge/config.toml`: a
//! self-hosted package registry's `kind`, `url` and optional `token` path, each checked with a
//! line and a hint.

use std::collections::BTreeMap;
use std::ops::Range;

use auth_hub_protocol::SecretPath;
use toml_edit::Item;

use super::parse::{describe, key_span, Source};
use super::{is_segment, ConfigError, RegistrySettings, REGISTRY_KEYS};
use crate::forge::http::check_url;
use crate::forge::url::normalize_url;
use crate::package::Ecosystem;

/// The names of the built-in registries, which a table may not redefine.
pub(crate) const BUILTIN_REGISTRIES: [&str; 3] = ["cargo", "npm", "pypi"];

/// What a registry url must look like.
const REGISTRY_URL_HINT: &str = "a registry url is https:// (or http:// to a loopback host such as 127.0.0.1) with a host, an optional port and path, no user, query or fragment; Cargo's may start with sparse+ (e.g. sparse+https://cargo.example.com/index/)";

impl Source<'_> {
    /// The `registry` table: one [`RegistrySettings`] per `[registry.<name>]`.
    pub(super) fn registry_tables(
        &self,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<BTreeMap<String, RegistrySettings>, ConfigError> {
        let example = "  [registry.local]\n  kind = \"cargo\"\n  url = \"sparse+https://cargo.example.com/index/\"";
        let Some(table) = item.as_table_like() else {
            return Err(self.error(
                span,
                format!(
                    "`registry` must hold [registry.<name>] tables, found {}",
                    describe(item)
                ),
                format!("define a registry as e.g.\n{example}"),
            ));
        };
        let mut registries = BTreeMap::new();
        for (name, settings) in table.iter() {
            let span = key_span(table, name, settings);
            if BUILTIN_REGISTRIES.contains(&name) {
                return Err(self.error(
                    span,
                    format!("[registry.{name}] redefines the built-in registry `{name}`"),
                    format!(
                        "the built-in registries ({}) are the public ones; give a self-hosted registry another name, e.g. [registry.{name}-local]",
                        BUILTIN_REGISTRIES.join(", ")
                    ),
                ));
            }
            if !is_segment(name) {
                return Err(self.error(
                    span,
                    format!("invalid registry name `{name}` in [registry.{name}]"),
                    "a registry name is one path segment of at most 100 of the letters A-Z a-z, digits and . _ @ - (its token lives at {name}/token)".to_owned(),
                ));
            }
            registries.insert(name.to_owned(), self.registry(name, settings, span)?);
        }
        Ok(registries)
    }

    /// One `[registry.<name>]` table.
    fn registry(
        &self,
        name: &str,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<RegistrySettings, ConfigError> {
        let context = format!("in [registry.{name}]");
        let example = format!(
            "  [registry.{name}]\n  kind = \"cargo\"\n  url = \"sparse+https://cargo.example.com/index/\""
        );
        let Some(table) = item.as_table_like() else {
            return Err(self.error(
                span,
                format!(
                    "`registry.{name}` must be a table, found {}",
                    describe(item)
                ),
                format!("write it as a table, e.g.\n{example}"),
            ));
        };
        let mut kind = None;
        let mut url: Option<(String, Option<Range<usize>>)> = None;
        let mut token = None;
        for (key, value) in table.iter() {
            match key {
                "kind" => {
                    let written = self.string(value, key, &context)?;
                    kind = Some(match written.as_str() {
                        "cargo" => Ecosystem::Cargo,
                        "npm" => Ecosystem::Npm,
                        "pypi" => Ecosystem::Pypi,
                        _ => {
                            return Err(self.error(
                                value.span(),
                                format!("unknown kind `{written}` {context}"),
                                "kind is one of: cargo, npm, pypi".to_owned(),
                            ))
                        }
                    });
                }
                "url" => url = Some((self.string(value, key, &context)?, value.span())),
                "token" => {
                    let path = self.string(value, key, &context)?;
                    token = Some(SecretPath::parse(&path).map_err(|error| {
                        self.error(
                            value.span(),
                            format!("invalid `token` {context}: {error}"),
                            format!("token is the secret path of the registry's token, e.g. token = \"{name}/token\""),
                        )
                    })?);
                }
                other => {
                    return Err(self.error(
                        key_span(table, other, value),
                        format!("unknown key `{other}` {context}"),
                        format!("a [registry.<name>] table may hold: {REGISTRY_KEYS}"),
                    ))
                }
            }
        }
        let Some(kind) = kind else {
            return Err(self.error(
                span,
                format!("[registry.{name}] has no `kind`"),
                format!("say which ecosystem it serves (cargo, npm or pypi), e.g.\n{example}"),
            ));
        };
        let Some((url, url_span)) = url else {
            return Err(self.error(
                span,
                format!("[registry.{name}] has no `url`"),
                format!("give the registry's url, e.g.\n{example}"),
            ));
        };
        let url = url.trim().to_owned();
        check_registry_url(kind, &url).map_err(|reason| {
            self.error(
                url_span,
                format!("invalid `url` {context}: {reason}"),
                REGISTRY_URL_HINT.to_owned(),
            )
        })?;
        Ok(RegistrySettings { kind, url, token })
    }
}

/// Checks a registry URL: http(s) with a host and no user, query or fragment, plain http only to
/// loopback (a token is sent there); Cargo's may carry the `sparse+` prefix.
fn check_registry_url(kind: Ecosystem, url: &str) -> Result<(), String> {
    let plain = match url.strip_prefix("sparse+") {
        Some(rest) if kind == Ecosystem::Cargo => rest,
        Some(_) => return Err(format!("sparse+ is for Cargo registries, not {kind}")),
        None => url,
    };
    normalize_url(plain)?;
    check_url(plain).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{RepoConfig, UserConfig};

    use super::*;

    const FILE: &str = "/r/.hyperforge/config.toml";

    fn repo(text: &str) -> Result<RepoConfig, ConfigError> {
        RepoConfig::parse(&format!("forges = [\"github\"]\n{text}"), Path::new(FILE))
    }

    fn repo_err(text: &str) -> ConfigError {
        repo(text).expect_err(text)
    }

    #[test]
    fn registries_in_both_files() {
        let config = repo(
            "[registry.local]\nkind = \"cargo\"\nurl = \"sparse+http://127.0.0.1:8000/index/\"\n\
             [registry.verdaccio]\nkind = \"npm\"\nurl = \"http://localhost:4873/\"\ntoken = \"npm-local/@acme/token\"\n\
             [package]\nregistry = \"local\"\n",
        )
        .expect("valid");
        let local = &config.registry["local"];
        assert_eq!(local.kind, Ecosystem::Cargo);
        assert_eq!(local.url, "sparse+http://127.0.0.1:8000/index/");
        assert_eq!(local.token, None);
        let npm = &config.registry["verdaccio"];
        assert_eq!(npm.kind, Ecosystem::Npm);
        assert_eq!(
            npm.token.as_ref().map(SecretPath::as_str),
            Some("npm-local/@acme/token")
        );
        let user = UserConfig::parse(
            "[registry.pypi-local]\nkind = \"pypi\"\nurl = \"https://pypi.example.com/legacy/\"\n",
            Path::new("/u/config.toml"),
        )
        .expect("valid");
        assert_eq!(user.registry["pypi-local"].kind, Ecosystem::Pypi);
        repo("[registry.git]\nkind = \"cargo\"\nurl = \"https://github.com/acme/index\"\n")
            .expect("a git index");
    }

    #[test]
    fn registry_errors_have_lines_and_hints() {
        let cases = [
            (
                "[registry.x]\nkind = \"cargo\"\nurl = \"https://h/\"\nhost = \"h\"\n",
                "5: unknown key `host` in [registry.x]",
                "kind, url, token",
            ),
            (
                "[registry.x]\nkind = \"hex\"\nurl = \"https://h/\"\n",
                "3: unknown kind `hex` in [registry.x]",
                "cargo, npm, pypi",
            ),
            (
                "[registry.x]\nurl = \"https://h/\"\n",
                "2: [registry.x] has no `kind`",
                "kind = \"cargo\"",
            ),
            (
                "[registry.x]\nkind = \"npm\"\n",
                "2: [registry.x] has no `url`",
                "url =",
            ),
            (
                "[registry.x]\nkind = \"npm\"\nurl = \"http://npm.example.com/\"\n",
                "4: invalid `url` in [registry.x]: refusing to send a token over plain http",
                "loopback",
            ),
            (
                "[registry.x]\nkind = \"npm\"\nurl = \"sparse+https://h/\"\n",
                "4: invalid `url` in [registry.x]: sparse+ is for Cargo",
                "sparse+",
            ),
            (
                "[registry.x]\nkind = \"npm\"\nurl = \"https://u:p@h/\"\n",
                "4: invalid `url` in [registry.x]: user info",
                "no user",
            ),
            (
                "[registry.x]\nkind = \"pypi\"\nurl = \"ftp://h/\"\n",
                "4: invalid `url` in [registry.x]: the scheme `ftp`",
                "https://",
            ),
            (
                "[registry.x]\nkind = \"pypi\"\nurl = \"https://h/\"\ntoken = \"a//b\"\n",
                "5: invalid `token` in [registry.x]",
                "x/token",
            ),
            (
                "[registry.x]\nkind = 1\n",
                "3: `kind` in [registry.x] must be a string, found an integer",
                "quote",
            ),
            (
                "[registry.cargo]\nkind = \"cargo\"\nurl = \"https://h/\"\n",
                "2: [registry.cargo] redefines the built-in registry `cargo`",
                "cargo-local",
            ),
            (
                "[registry.\"a b\"]\nkind = \"cargo\"\n",
                "2: invalid registry name `a b`",
                "path segment",
            ),
            (
                "registry = 1\n",
                "2: `registry` must hold [registry.<name>] tables, found an integer",
                "[registry.local]",
            ),
            (
                "registry.x = 1\n",
                "`registry.x` must be a table, found an integer",
                "[registry.x]",
            ),
        ];
        for (text, message, hint) in cases {
            let error = repo_err(text);
            let shown = error.to_string();
            assert!(
                shown.starts_with(&format!("{FILE}:{message}")) || shown.contains(message),
                "{text:?}: {shown}"
            );
            assert!(
                error.hint().is_some_and(|h| h.contains(hint)),
                "{text:?}: {:?}",
                error.hint()
            );
        }
        let error = UserConfig::parse("[registry.x]\nkind = \"npm\"\n", Path::new("/u/c"))
            .expect_err("no url");
        assert_eq!(error.to_string(), "/u/c:1: [registry.x] has no `url`");
        let error = UserConfig::parse("org = \"a\"\n", Path::new("/u/c")).expect_err("org");
        assert!(error
            .hint()
            .is_some_and(|h| h.contains("[registry.<name>]")));
    }
}
