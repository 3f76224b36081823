//! Which registry a package is published to, and where its token lives: the built-in `cargo`,
//! `npm` and `pypi` (the public registries), or a `[registry.<name>]` table of the user's config
//! or the repository's; `{registry}/token`, or `{registry}/@scope/token` for a scoped npm
//! package, unless the table names another path.

use auth_hub_protocol::{SecretPath, SecretScope};

use super::Ecosystem;

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

    /// Where the token for publishing `package` (its registry name) lives.
    pub fn token_path(&self, package: &str) -> SecretPath {
        let _ = package;
        unimplemented!("helper: package core")
    }

    /// The scope asked for to read [`Registry::token_path`].
    pub fn scope(&self, package: &str) -> SecretScope {
        self.token_path(package).parent_scope()
    }
}
