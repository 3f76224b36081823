//! `.hyperforge/config.toml` (a repository's forges and org) and the user's own config file
//! (forge tables every repository inherits): reading, validating and the in-place update `init`
//! makes.
//!
//! Both files are parsed with `toml_edit` rather than serde so that every error can name the file,
//! the line (and for syntax errors the column) and carry a hint, and so that `init` can change
//! `org` and `forges` while keeping every other line and comment. Values are checked here, once:
//! forge names and orgs are valid secret path segments, URLs are http(s) with a host, kinds and
//! protocols are known. Which forges a repository ends up with is [`crate::forge`]'s business.
//!
//! Both files may also define self-hosted package registries as `[registry.<name>]` tables
//! (`kind`, `url`, optional `token`); which one a package goes to is
//! [`crate::package::registry::resolve`]'s business.

mod error;
mod parse;
mod registry;
mod sources;
mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;

use auth_hub_protocol::SecretPath;

pub use self::error::{ConfigError, Location};
pub use self::write::{plan_init, write_init, InitPlan};
use crate::forge::kind::{ForgeKind, Protocol};
use crate::package::Ecosystem;

/// The repository config's path relative to the repository root.
pub const REPO_CONFIG: &str = ".hyperforge/config.toml";

/// The keys a `[forge.<name>]` table may hold.
const FORGE_KEYS: &str = "kind, url, api_url, org, remote, protocol";
/// The keys a `[package]` table may hold.
const PACKAGE_KEYS: &str = "name, registry";
/// The keys a `[registry.<name>]` table may hold.
const REGISTRY_KEYS: &str = "kind, url, token";
/// The keys the top level of `.hyperforge/config.toml` may hold.
const REPO_KEYS: &str = "org, forges, forge, package, registry";
/// What an org must look like.
const ORG_HINT: &str =
    "an org is one path segment of at most 100 of the letters A-Z a-z, digits and . _ @ - (e.g. alice)";

/// The settings of one `[forge.<name>]` table; unset keys fall through to the next layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForgeSettings {
    /// The API it speaks (`kind`).
    pub kind: Option<ForgeKind>,
    /// Base web URL, normalized (`url`).
    pub url: Option<String>,
    /// REST API root, normalized (`api_url`).
    pub api_url: Option<String>,
    /// The org for this forge (`org`).
    pub org: Option<String>,
    /// The git remote name (`remote`).
    pub remote: Option<String>,
    /// Fetch URL style (`protocol`).
    pub protocol: Option<Protocol>,
}

/// One `[registry.<name>]` table: a self-hosted registry. Both keys but `token` are required,
/// so a table is complete in the file that defines it (no layering between the two files: the
/// repository's table of a name replaces the user's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    /// The ecosystem it serves (`kind`).
    pub kind: Ecosystem,
    /// Cargo: the index URL (`sparse+https://…/` or a git index `https://…`); npm: the registry
    /// URL; PyPI: the upload URL (`url`), as written. Plain http only to a loopback host.
    pub url: String,
    /// The token's secret path, when not `{name}/token` (`token`).
    pub token: Option<SecretPath>,
}

/// The `[package]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageConfig {
    /// Package name, when it differs from the repository's.
    pub name: Option<String>,
    /// Registry to publish to.
    pub registry: Option<String>,
}

/// A repository's `.hyperforge/config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoConfig {
    /// Top-level `org`.
    pub org: Option<String>,
    /// The forges to mirror to, in order.
    pub forges: Vec<String>,
    /// `[forge.<name>]` tables.
    pub forge: BTreeMap<String, ForgeSettings>,
    /// `[package]`.
    pub package: Option<PackageConfig>,
    /// `[registry.<name>]` tables.
    pub registry: BTreeMap<String, RegistrySettings>,
    /// The file it was read from, for messages.
    file: PathBuf,
    /// The line of each `forges` entry, for messages.
    forges_lines: Vec<Option<usize>>,
}

/// The user's own config: `[forge.<name>]` tables every repository inherits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserConfig {
    /// `[forge.<name>]` tables.
    pub forge: BTreeMap<String, ForgeSettings>,
    /// `[registry.<name>]` tables.
    pub registry: BTreeMap<String, RegistrySettings>,
    /// The file it was (or would have been) read from, for messages.
    file: Option<PathBuf>,
}

/// True when `text` is one valid secret path segment.
fn is_segment(text: &str) -> bool {
    text.len() <= MAX_SEGMENT && !text.contains('/') && SecretPath::parse(text).is_ok()
}

/// Longest org or forge name: two of them and `/token` stay within a secret path's 256 bytes
/// (the `repo_config` fuzz target found a 250-byte org whose token path could not be formed).
const MAX_SEGMENT: usize = 100;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::error::CliError;
    use crate::forge::url::URL_HINT;

    const FILE: &str = "/r/.hyperforge/config.toml";

    fn parse(text: &str) -> Result<RepoConfig, ConfigError> {
        RepoConfig::parse(text, Path::new(FILE))
    }

    fn parse_err(text: &str) -> ConfigError {
        parse(text).expect_err("invalid config")
    }

    fn user_err(text: &str) -> ConfigError {
        UserConfig::parse(text, Path::new("/u/config.toml")).expect_err("invalid user config")
    }

    #[test]
    fn full_repo_config_parses() {
        let config = parse(
            "# mirrors\norg = \"alice\"\nforges = [\"github\", \"work\"]\n\n\
             [forge.github]\norg = \"alice-gh\"\nremote = \"gh\"\nprotocol = \"https\"\n\n\
             [forge.work]\nkind = \"gitlab\"\nurl = \"https://git.example.com/\"\napi_url = \"https://api.example.com/v4/\"\n\n\
             [package]\nname = \"tool\"\nregistry = \"crates-io\"\n",
        )
        .expect("valid");
        assert_eq!(config.org.as_deref(), Some("alice"));
        assert_eq!(config.forges, ["github", "work"]);
        assert_eq!(config.file(), Path::new(FILE));
        let github = &config.forge["github"];
        assert_eq!(github.org.as_deref(), Some("alice-gh"));
        assert_eq!(github.remote.as_deref(), Some("gh"));
        assert_eq!(github.protocol, Some(Protocol::Https));
        let work = &config.forge["work"];
        assert_eq!(work.kind, Some(ForgeKind::Gitlab));
        assert_eq!(work.url.as_deref(), Some("https://git.example.com"));
        assert_eq!(work.api_url.as_deref(), Some("https://api.example.com/v4"));
        assert_eq!(
            config.package,
            Some(PackageConfig {
                name: Some("tool".into()),
                registry: Some("crates-io".into())
            })
        );
    }

    #[test]
    fn dotted_and_inline_forms_are_the_same_tables() {
        let config = parse(
            "forges = [\"github\"]\nforge.github.org = \"a\"\nforge.codeberg = { org = \"b\" }\n",
        )
        .expect("valid");
        assert_eq!(config.forge["github"].org.as_deref(), Some("a"));
        assert_eq!(config.forge["codeberg"].org.as_deref(), Some("b"));
    }

    #[test]
    fn unknown_key_in_forge_table() {
        let error =
            parse_err("forges = [\"work\"]\n\n[forge.work]\nkind = \"gitea\"\nhosst = \"x\"\n");
        assert_eq!(
            CliError::from(error).report(),
            format!(
                "error: {FILE}:5: unknown key `hosst` in [forge.work]\n\
                 hint: a [forge.<name>] table may hold: kind, url, api_url, org, remote, protocol\n"
            )
        );
    }

    #[test]
    fn unknown_key_at_top_level_and_in_package() {
        let error = parse_err("forges = [\"github\"]\norgs = \"alice\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:2: unknown key `orgs` at the top level")
        );
        assert_eq!(
            error.hint(),
            Some("the top level of .hyperforge/config.toml may hold: org, forges, forge, package, registry")
        );

        let error = parse_err("forges = [\"github\"]\n[package]\nname = \"x\"\nversion = \"1\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:4: unknown key `version` in [package]")
        );
        assert_eq!(error.hint(), Some("[package] may hold: name, registry"));
    }

    #[test]
    fn plural_forges_tables_show_the_singular_form() {
        let expected_hint = "write per-forge settings as [forge.github] (singular), e.g.\n  forges = [\"github\"]\n  [forge.github]\n  org = \"alice\"";
        // With the list: TOML itself rejects the duplicate key.
        let error = parse_err(
            "org = \"alice\"\nforges = [\"github\"]\n\n[forges.github]\norg = \"alice\"\n",
        );
        assert_eq!(error.location().and_then(|l| l.line), Some(4));
        assert!(
            error
                .to_string()
                .starts_with(&format!("{FILE}:4: [forges.github] is not valid")),
            "{error}"
        );
        assert_eq!(error.hint(), Some(expected_hint));
        // Without the list it parses as TOML but is still the wrong form.
        let error = parse_err("[forges.github]\norg = \"alice\"\n");
        assert_eq!(error.location().and_then(|l| l.line), Some(1));
        assert_eq!(error.hint(), Some(expected_hint));
        // Another name shows in the hint.
        let error = parse_err("forges = [\"codeberg\"]\n[forges.codeberg]\n");
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("[forge.codeberg]")));
    }

    #[test]
    fn bad_kind_and_protocol() {
        let error = parse_err("forges = [\"w\"]\n[forge.w]\nkind = \"bitbucket\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:3: unknown kind `bitbucket` in [forge.w]")
        );
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("github, gitea, gitlab")));
        let error = parse_err("forges = [\"w\"]\n[forge.w]\nprotocol = \"git\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:3: unknown protocol `git` in [forge.w]")
        );
        assert!(error.hint().is_some_and(|hint| hint.contains("ssh")));
    }

    #[test]
    fn wrong_types() {
        let error = parse_err("org = 7\nforges = [\"github\"]\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:1: `org` at the top level must be a string, found an integer")
        );
        let error = parse_err("forges = \"github\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:1: `forges` must be a list of forge names, found a string")
        );
        let error = parse_err("forges = [\"github\",\n  3]\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:2: `forges` entries must be strings, found an integer")
        );
        let error = parse_err("forges = [\"github\"]\n[forge.github]\nremote = true\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:3: `remote` in [forge.github] must be a string, found a boolean")
        );
        let error = parse_err("forges = [\"github\"]\nforge = 1\n");
        assert!(
            error
                .to_string()
                .starts_with(&format!("{FILE}:2: `forge` must hold")),
            "{error}"
        );
        let error = parse_err("forges = [\"github\"]\nforge.github = \"x\"\n");
        assert!(
            error
                .to_string()
                .contains("`forge.github` must be a table, found a string"),
            "{error}"
        );
        let error = parse_err("forges = [\"github\"]\npackage = [1]\n");
        assert!(
            error
                .to_string()
                .contains("`package` must be a table, found an array"),
            "{error}"
        );
    }

    #[test]
    fn forges_list_rules() {
        let error = parse_err("forges = [\"github\", \"codeberg\",\n \"github\"]\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:2: forge `github` is listed twice in forges")
        );
        let error = parse_err("org = \"a\"\nforges = []\n");
        assert_eq!(error.to_string(), format!("{FILE}:2: `forges` is empty"));
        let error = parse_err("org = \"a\"\n");
        assert_eq!(error.to_string(), format!("{FILE}: no `forges` list"));
        let error = parse_err("forges = [\"git hub\"]\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:1: invalid forge name `git hub` in forges")
        );
        let error = parse_err("forges = [\"github\"]\n[forge.\"a/b\"]\norg = \"x\"\n");
        assert!(
            error
                .to_string()
                .starts_with(&format!("{FILE}:2: invalid forge name `a/b`")),
            "{error}"
        );
    }

    #[test]
    fn invalid_orgs() {
        for org in ["a/b", "", "..", "al ice", "~alice", "*"] {
            let error = parse_err(&format!("org = \"{org}\"\nforges = [\"github\"]\n"));
            assert_eq!(
                error.to_string(),
                format!("{FILE}:1: invalid org `{org}` at the top level")
            );
            assert_eq!(error.hint(), Some(ORG_HINT));
        }
        let error = parse_err("forges = [\"github\"]\n[forge.github]\norg = \"a b\"\n");
        assert_eq!(
            error.to_string(),
            format!("{FILE}:3: invalid org `a b` in [forge.github]")
        );
        // Dots, dashes, @ and capitals are fine.
        parse("org = \"Alice.B-c@d_e\"\nforges = [\"github\"]\n").expect("valid org");
    }

    #[test]
    fn invalid_urls_and_remotes() {
        let error = parse_err("forges = [\"w\"]\n[forge.w]\nkind = \"gitea\"\nurl = \"ftp://x\"\n");
        assert!(
            error.to_string().starts_with(&format!(
                "{FILE}:4: invalid `url` in [forge.w]: the scheme `ftp`"
            )),
            "{error}"
        );
        assert_eq!(error.hint(), Some(URL_HINT));
        let error = parse_err("forges = [\"w\"]\n[forge.w]\napi_url = \"https://h/api?x\"\n");
        assert!(error.to_string().contains("invalid `api_url`"), "{error}");
        for remote in ["", "-x", ".x", "a b", "a..b", "x.lock", "x/"] {
            let error = parse_err(&format!(
                "forges = [\"github\"]\n[forge.github]\nremote = \"{remote}\"\n"
            ));
            assert!(
                error.to_string().contains("invalid remote name"),
                "{remote}: {error}"
            );
        }
        parse("forges = [\"github\"]\n[forge.github]\nremote = \"mirrors/gh_1\"\n")
            .expect("valid remote");
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let error = parse_err("forges = [\"github\"]\norg = \"alice\n");
        let location = error.location().expect("located").clone();
        assert_eq!(location.line, Some(2));
        assert!(location.column.is_some());
        assert!(
            error.to_string().starts_with(&format!("{FILE}:2:")),
            "{error}"
        );
        assert!(error.to_string().contains("invalid TOML"), "{error}");
    }

    #[test]
    fn user_config_holds_only_forge_tables() {
        let config = UserConfig::parse(
            "[forge.work]\nkind = \"gitlab\"\nurl = \"https://git.example.com\"\norg = \"team\"\n",
            Path::new("/u/config.toml"),
        )
        .expect("valid");
        assert_eq!(config.forge["work"].org.as_deref(), Some("team"));
        assert_eq!(config.file(), Some(Path::new("/u/config.toml")));
        let error = user_err("org = \"alice\"\n");
        assert_eq!(
            error.to_string(),
            "/u/config.toml:1: unknown key `org` at the top level"
        );
        assert!(error
            .hint()
            .is_some_and(|hint| hint.contains("[forge.<name>]")));
        let error = user_err("[forge.work]\nhosst = \"x\"\n");
        assert_eq!(
            error.to_string(),
            "/u/config.toml:2: unknown key `hosst` in [forge.work]"
        );
        assert_eq!(
            UserConfig::parse("", Path::new("/u/c"))
                .expect("empty")
                .forge
                .len(),
            0
        );
    }

    #[test]
    fn config_errors_are_usage_errors() {
        let error = CliError::from(parse_err("forges = []\n"));
        assert_eq!(error.exit_code(), std::process::ExitCode::from(2));
        assert!(error.hint().is_some());
    }

    #[test]
    fn orgs_and_forge_names_fit_a_token_path() {
        let long = "a".repeat(MAX_SEGMENT + 1);
        let text = format!("org = \"{long}\"\nforges = [\"github\"]\n");
        assert!(RepoConfig::parse(&text, Path::new(FILE)).is_err());
        let fits = "a".repeat(MAX_SEGMENT);
        let text = format!("org = \"{fits}\"\nforges = [\"github\"]\n");
        assert!(RepoConfig::parse(&text, Path::new(FILE)).is_ok());
    }
}
