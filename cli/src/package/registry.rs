//! Which registry a package is published to, and where its token lives: the built-in `cargo`,
//! `npm` and `pypi` (the public registries), or a `[registry.<name>]` table of the user's config
//! or the repository's; `{registry}/token`, or `{registry}/@scope/token` for a scoped npm
//! package, unless the table names another path.

use auth_hub_protocol::{SecretPath, SecretScope};

use super::Ecosystem;
use crate::config::{PackageConfig, RepoConfig, UserConfig};
use crate::error::CliError;

/// A registry to publish to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// `cargo`, `npm`, `pypi`, or the name of a `[registry.<name>]` table.
    pub name: String,
    /// The ecosystem it serves.
    pub kind: Ecosystem,
    /// Cargo: the index URL (`sparse+https://…/`); npm: the registry URL; PyPI: the upload URL.
    /// `None` for the public registries.
    pub url: Option<String>,
    /// The table's `token`, overriding the default path.
    pub token: Option<SecretPath>,
}

impl Registry {
    /// The public registry of `kind`.
    pub fn builtin(kind: Ecosystem) -> Self {
        Self {
            name: kind.name().to_owned(),
            kind,
            url: None,
            token: None,
        }
    }

    /// Where the token for publishing `package` (its registry name) lives: the table's `token`
    /// when set; else `{registry}/token`, or `{registry}/@scope/token` for an npm package named
    /// `@scope/x`.
    ///
    /// Registry names are checked path segments (built in, or checked where the config is
    /// read) and package names are checked where the manifest is read, so the path is always
    /// valid; a scope that is not a valid segment all the same falls back to the registry's own
    /// `{registry}/token` rather than failing.
    pub fn token_path(&self, package: &str) -> SecretPath {
        if let Some(token) = &self.token {
            return token.clone();
        }
        let scope = package
            .strip_prefix('@')
            .filter(|_| self.kind == Ecosystem::Npm)
            .and_then(|scoped| scoped.split_once('/'))
            .map(|(scope, _)| format!("@{scope}"));
        if let Some(path) =
            scope.and_then(|scope| SecretPath::new(&self.name, &scope, "token").ok())
        {
            return path;
        }
        SecretPath::new(&self.name, "", "token")
            .or_else(|_| SecretPath::new(self.kind.name(), "", "token"))
            .expect("a built-in registry name is a valid secret path segment")
    }

    /// The scope asked for to read [`Registry::token_path`].
    pub fn scope(&self, package: &str) -> SecretScope {
        self.token_path(package).parent_scope()
    }
}

/// The registry a package of `kind` goes to: the one `[package] registry` names, else the
/// built-in registry of `kind`.
///
/// A name is looked up among the built-ins (`cargo`, `npm`, `pypi`), then the repository's
/// `[registry.<name>]` tables, then the user's: when both files define a name, the
/// repository's table wins, since it travels with the code that is published.
///
/// # Errors
/// A usage error (exit 2) for an unknown name (listing the known ones) or a registry whose
/// kind is not the manifest's (naming both).
pub fn resolve(
    kind: Ecosystem,
    package: Option<&PackageConfig>,
    repo: &RepoConfig,
    user: &UserConfig,
) -> Result<Registry, CliError> {
    let name = package
        .and_then(|package| package.registry.as_deref())
        .unwrap_or(kind.name());
    let builtin = [Ecosystem::Cargo, Ecosystem::Npm, Ecosystem::Pypi]
        .into_iter()
        .find(|ecosystem| ecosystem.name() == name);
    let registry = if let Some(builtin) = builtin {
        Registry::builtin(builtin)
    } else if let Some(settings) = repo.registry.get(name).or_else(|| user.registry.get(name)) {
        Registry {
            name: name.to_owned(),
            kind: settings.kind,
            url: Some(settings.url.clone()),
            token: settings.token.clone(),
        }
    } else {
        let mut known: Vec<&str> = vec!["cargo", "npm", "pypi"];
        for defined in repo.registry.keys().chain(user.registry.keys()) {
            if !known.contains(&defined.as_str()) {
                known.push(defined);
            }
        }
        return Err(CliError::usage(format!("unknown registry `{name}` in [package] registry"))
            .with_hint(format!(
                "the known registries are {}; define another as a [registry.{name}] table with kind and url in .hyperforge/config.toml or the user config",
                known.join(", ")
            )));
    };
    if registry.kind != kind {
        return Err(CliError::usage(format!(
            "registry `{name}` is {} {} registry, but the package is {} {kind} package ({})",
            article(registry.kind),
            registry.kind,
            article(kind),
            kind.manifest()
        ))
        .with_hint(format!(
            "set [package] registry to a {kind} registry (e.g. \"{kind}\"), or remove it to use the public one"
        )));
    }
    Ok(registry)
}

/// "a" or "an" before the ecosystem's name.
fn article(kind: Ecosystem) -> &'static str {
    match kind {
        Ecosystem::Npm => "an",
        Ecosystem::Cargo | Ecosystem::Pypi => "a",
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn local(kind: Ecosystem, token: Option<&str>) -> Registry {
        Registry {
            name: "local".into(),
            kind,
            url: Some("http://127.0.0.1:1/".into()),
            token: token.map(|t| SecretPath::parse(t).expect("path")),
        }
    }

    #[test]
    fn token_paths() {
        let path = |registry: &Registry, package: &str| registry.token_path(package).to_string();
        assert_eq!(
            path(&Registry::builtin(Ecosystem::Cargo), "wa"),
            "cargo/token"
        );
        assert_eq!(
            path(&Registry::builtin(Ecosystem::Pypi), "wa"),
            "pypi/token"
        );
        assert_eq!(path(&Registry::builtin(Ecosystem::Npm), "wa"), "npm/token");
        assert_eq!(
            path(&Registry::builtin(Ecosystem::Npm), "@acme/x"),
            "npm/@acme/token"
        );
        assert_eq!(
            path(&local(Ecosystem::Npm, None), "@acme/x"),
            "local/@acme/token"
        );
        assert_eq!(path(&local(Ecosystem::Cargo, None), "wa"), "local/token");
        assert_eq!(
            path(&local(Ecosystem::Npm, Some("vault/npm/publish")), "@acme/x"),
            "vault/npm/publish"
        );
        // A Cargo name never has a scope; an unchecked bad scope falls back.
        assert_eq!(
            path(&local(Ecosystem::Cargo, None), "@acme/x"),
            "local/token"
        );
        assert_eq!(path(&local(Ecosystem::Npm, None), "@a~b/x"), "local/token");
        assert_eq!(
            Registry::builtin(Ecosystem::Npm)
                .scope("@acme/x")
                .to_string(),
            "npm/@acme/*"
        );
        assert_eq!(
            Registry::builtin(Ecosystem::Cargo).scope("wa").to_string(),
            "cargo/*"
        );
    }

    fn configs(repo_tables: &str, user_tables: &str) -> (RepoConfig, UserConfig) {
        let repo = RepoConfig::parse(
            &format!("forges = [\"github\"]\n{repo_tables}"),
            Path::new("/r/.hyperforge/config.toml"),
        )
        .expect("repo config");
        let user =
            UserConfig::parse(user_tables, Path::new("/u/config.toml")).expect("user config");
        (repo, user)
    }

    fn named(name: &str) -> PackageConfig {
        PackageConfig {
            name: None,
            registry: Some(name.into()),
        }
    }

    #[test]
    fn resolves_builtins_and_tables() {
        let (repo, user) = configs(
            "[registry.local]\nkind = \"cargo\"\nurl = \"sparse+http://127.0.0.1:9/index/\"\n",
            "[registry.local]\nkind = \"npm\"\nurl = \"http://127.0.0.1:8/\"\n\
             [registry.verdaccio]\nkind = \"npm\"\nurl = \"http://127.0.0.1:4873/\"\ntoken = \"v/token\"\n",
        );
        let default = resolve(Ecosystem::Npm, None, &repo, &user).expect("default");
        assert_eq!(default, Registry::builtin(Ecosystem::Npm));
        let no_registry = PackageConfig::default();
        let default = resolve(Ecosystem::Pypi, Some(&no_registry), &repo, &user).expect("default");
        assert_eq!(default, Registry::builtin(Ecosystem::Pypi));
        let local =
            resolve(Ecosystem::Cargo, Some(&named("local")), &repo, &user).expect("repo wins");
        assert_eq!(local.kind, Ecosystem::Cargo);
        assert_eq!(
            local.url.as_deref(),
            Some("sparse+http://127.0.0.1:9/index/")
        );
        let verdaccio =
            resolve(Ecosystem::Npm, Some(&named("verdaccio")), &repo, &user).expect("user table");
        assert_eq!(verdaccio.token_path("wa").to_string(), "v/token");
        assert_eq!(verdaccio.name, "verdaccio");
    }

    #[test]
    fn refuses_unknown_names_and_other_kinds() {
        let (repo, user) = configs(
            "[registry.local]\nkind = \"cargo\"\nurl = \"https://c.example.com/index\"\n",
            "[registry.mine]\nkind = \"pypi\"\nurl = \"https://p.example.com/\"\n",
        );
        let error =
            resolve(Ecosystem::Cargo, Some(&named("nope")), &repo, &user).expect_err("unknown");
        assert_eq!(error.exit_code(), std::process::ExitCode::from(2));
        assert_eq!(
            error.message(),
            "unknown registry `nope` in [package] registry"
        );
        assert!(
            error
                .hint()
                .is_some_and(|h| h.contains("cargo, npm, pypi, local, mine")),
            "{:?}",
            error.hint()
        );
        let error = resolve(Ecosystem::Npm, Some(&named("local")), &repo, &user).expect_err("kind");
        assert_eq!(
            error.message(),
            "registry `local` is a cargo registry, but the package is an npm package (package.json)"
        );
        let error = resolve(Ecosystem::Pypi, Some(&named("cargo")), &repo, &user)
            .expect_err("builtin kind");
        assert!(
            error
                .message()
                .contains("registry `cargo` is a cargo registry"),
            "{}",
            error.message()
        );
    }
}
