//! The hub's `config.toml`: policy, server limits and store settings, parsed into typed values.
//!
//! Every table refuses unknown keys, so a typo is an error rather than a silently ignored
//! setting. Errors name the file, the line and column, and for a bad scope, duration, key name or
//! limit, the offending value. A missing file means all defaults. [`EXAMPLE_CONFIG`] documents
//! every setting.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use auth_hub_protocol::duration::parse_duration;
use auth_hub_protocol::key::validate_name;
use auth_hub_protocol::{Permissions, SecretScope, DEFAULT_MAX_FRAME};
use serde::Deserialize;

use super::identity_config::{HttpSettings, JwtSettings, RawHttp, RawJwt};
use crate::store::settings::Layout;
use crate::store::{KeySource, StoreKind};
use toml::Spanned;

use super::rules::{
    Action, DeclaredAction, Policy, Rule, DEFAULT_GRANT_TIMEOUT, DEFAULT_TOKEN_TTL,
};
use super::store_layout::{RawBackendField, RawRoute};

/// Smallest accepted `server.max_frame`: 1 KiB.
pub const MIN_MAX_FRAME: usize = 1024;
/// Largest accepted `server.max_frame`: 16 MiB.
pub const MAX_MAX_FRAME: usize = 16 * 1024 * 1024;
/// Default `server.max_connections`: at about 3.8 KiB per open connection, a full house stays
/// near 50 MiB, under the 64 MiB the hub promises (16 384 measured 65 MiB).
pub const DEFAULT_MAX_CONNECTIONS: usize = 12_288;
/// Default `server.hello_timeout`.
pub const DEFAULT_HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `server.max_in_flight`.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;
/// Default `store.history`.
pub const DEFAULT_HISTORY: usize = crate::store::DEFAULT_HISTORY;

/// A commented configuration showing every setting with its default.
pub const EXAMPLE_CONFIG: &str = r#"# auth-hub configuration. Every setting is optional; the values shown are the defaults.

[policy]
# What happens when the OWNER key asks for a scope no rule matches: prompt | deny | allow.
# Service keys are denied unless a rule names them or their own scopes allow the request.
default = "prompt"
# How long a prompted request waits for `hyperforge auth grant` or `deny`.
grant_timeout = "60s"
# How long an access token lives.
token_ttl = "10m"
# What the OWNER key gets for a scope that a registered repository declares in its
# .hyperforge/config.toml ({forge}/{org}/*) when no rule matches: allow | prompt.
# "allow" issues read tokens without a prompt; explicit deny and prompt rules still win.
declared = "prompt"

# Rules are tried in order; the first match wins. A rule matches a requested scope its `scope`
# covers, asked with permissions its `permissions` include, by a key it names (`keys`; without
# `keys` the rule applies to the owner key only).
[[policy.rule]]
scope = "cargo/*"
keys = ["ci"]
action = "allow"          # allow | deny | prompt
permissions = ["read"]    # read and/or write; default ["read"]

[[policy.rule]]
scope = "github/acme/*"
action = "prompt"
permissions = ["read", "write"]

[server]
max_connections = 12288
# Largest request, in bytes (1 KiB ..= 16 MiB). Frames over 512 bytes, all connections together,
# share a 4 MiB memory budget (or one max_frame, if larger); a client that cannot get its share
# within 2 s is answered `busy`.
max_frame = 1048576
hello_timeout = "5s"
max_in_flight = 32        # requests per connection
allowed_uids = []         # users allowed besides the daemon's own

# Hub-signed JWTs for 1st-layer APIs (`hyperforge auth token`, `issue_jwt`): EdDSA (Ed25519),
# keys in jwt-keys.json in the state directory, published as a JWKS.
[jwt]
issuer = "auth-hub"       # the `iss` claim; APIs check it
ttl = "5m"                # a token's lifetime when the caller names none
max_ttl = "1h"            # the longest lifetime granted; longer asks are capped
# The signing key is replaced at the first signature after it is this old; the old public key
# stays in the JWKS for max_ttl (+ 60 s leeway) more, so tokens it signed stay valid until they
# expire.
rotate_every = "24h"

[store]
backend = "file"          # the local store: file | memory
key_source = "auto"       # auto | keychain | file
history = 10              # versions kept per secret
# Lock all of the hub's memory (mlockall) so decrypted secrets are never swapped out. Needs
# RLIMIT_MEMLOCK unlimited (systemd: LimitMEMLOCK=infinity); otherwise a warning and no lock.
mlock = false
# The backend of every path no route sends elsewhere; "file" is the local store above.
default = "file"

# Named backends. `backend = "…"` above and [store.backend.<name>] tables cannot both be in one
# file: with named backends the local store is the sealed file (or `auth-hub serve --store memory`).
#
# [store.backend.team]
# kind = "openbao"                 # file | keychain | openbao ("vault" is a synonym)
# url = "https://bao.example:8200" # plain http:// only on loopback
# mount = "secret"                 # the KV v2 mount
# prefix = "auth-hub"              # the folder inside the mount
# namespace = "eng"                # optional
# ca_cert = "/path/ca.pem"         # optional: trust these CAs instead of the system's
# token_path = "openbao/team/token"          # a path in the LOCAL store holding the hub's token, or
# # role_id = "…" with secret_id_path = "openbao/team/secret-id" (AppRole)
# cache_ttl = "0s"                 # how long a value read from the server is served again
# timeout = "5s"                   # bound on one request to the server
#
# [store.backend.kc]
# kind = "keychain"                # each secret an item in the OS keychain
#
# Routes: the first whose scope covers a path picks its backend; a route an earlier one covers
# can never match and is refused.
# [[store.route]]
# scope = "team/*"
# backend = "team"
"#;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HubConfig {
    /// `[policy]`.
    pub policy: Policy,
    /// `[server]`.
    pub server: ServerLimits,
    /// `[store]`.
    pub store: StoreSettings,
    /// `[jwt]`.
    pub jwt: JwtSettings,
    /// `[http]`.
    pub http: HttpSettings,
}

/// `[server]`: connection limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Largest frame accepted, in bytes: a frame's length is checked before anything is
    /// allocated, and frames over the per-connection allowance also take from the hub-wide
    /// budget (`crate::frame_reader`), so this bounds one request, not the hub's memory.
    pub max_frame: usize,
    /// How long a new connection has to send its hello.
    pub hello_timeout: Duration,
    /// Requests in flight per connection.
    pub max_in_flight: usize,
    /// Users allowed to connect besides the daemon's own.
    pub allowed_uids: Vec<u32>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_frame: DEFAULT_MAX_FRAME,
            hello_timeout: DEFAULT_HELLO_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            allowed_uids: Vec::new(),
        }
    }
}

/// `[store]`: where secrets live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// The backend.
    pub backend: StoreKind,
    /// Where the file store's data key comes from.
    pub key_source: KeySource,
    /// Versions kept per secret.
    pub history: usize,
    /// Lock the process's memory with `mlockall` at start.
    pub mlock: bool,
    /// Named backends, routes and the default backend.
    pub layout: Layout,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            backend: StoreKind::File,
            key_source: KeySource::Auto,
            history: DEFAULT_HISTORY,
            mlock: false,
            layout: Layout::default(),
        }
    }
}

/// A 1-based line and column in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type or an unknown name.
    #[error("{}{}: {message}", path.display(), at_suffix(*at))]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// Where, when the TOML parser knows.
        at: Option<Location>,
        /// The parser's message, such as ``unknown field `defualt`, expected …``.
        message: String,
    },
    /// A well-typed value that is not acceptable: a bad scope, duration, key name or limit.
    #[error("{}{}: invalid {field} {value:?}: {reason}", path.display(), at_suffix(Some(*at)))]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Where the value is.
        at: Location,
        /// The setting, such as `policy.rule[2].scope`.
        field: String,
        /// The value as written (at most 64 characters).
        value: String,
        /// Why it is refused.
        reason: String,
    },
}

fn at_suffix(at: Option<Location>) -> String {
    at.map(|at| format!(":{}:{}", at.line, at.column))
        .unwrap_or_default()
}

impl HubConfig {
    /// Reads and parses `path`; a missing file gives the defaults.
    ///
    /// # Errors
    /// [`ConfigError::Read`] when the file cannot be read, otherwise as [`HubConfig::parse`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses `text`; `path` is only used in errors.
    ///
    /// ```
    /// use std::path::Path;
    /// use auth_hub::policy::{Action, HubConfig};
    /// let config = HubConfig::parse("[policy]\ndefault = \"deny\"\n", Path::new("config.toml")).unwrap();
    /// assert_eq!(config.policy.default, Action::Deny);
    /// assert!(HubConfig::parse("[policy]\ndefualt = \"deny\"\n", Path::new("config.toml")).is_err());
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] for malformed TOML, unknown keys and wrong types;
    /// [`ConfigError::Invalid`] for a value out of range.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|error| ConfigError::Syntax {
            path: path.to_owned(),
            at: error.span().map(|span| locate(text, span.start)),
            message: match error.message().trim() {
                "" => "invalid toml syntax".to_owned(),
                message => message.to_owned(),
            },
        })?;
        Checker { text, path }.convert(raw)
    }
}

/// Converts the raw, spanned values, reporting the first bad one with its location.
pub(super) struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Checker<'_> {
    pub(super) fn invalid(
        &self,
        span: Range<usize>,
        field: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            at: locate(self.text, span.start),
            field: field.to_owned(),
            value: value.chars().take(64).collect(),
            reason: reason.into(),
        }
    }

    /// The scope written at `field`, or the error pointing at it.
    pub(super) fn scope(
        &self,
        raw: &Spanned<String>,
        field: &str,
    ) -> Result<SecretScope, ConfigError> {
        SecretScope::parse(raw.get_ref())
            .map_err(|error| self.invalid(raw.span(), field, raw.get_ref(), error.to_string()))
    }

    fn convert(&self, raw: RawConfig) -> Result<HubConfig, ConfigError> {
        let (kind, tables) = match raw.store.backend {
            None => (StoreKind::File, Vec::new()),
            Some(RawBackendField::Kind(kind)) => (kind, Vec::new()),
            Some(RawBackendField::Tables(tables)) => (StoreKind::File, tables),
        };
        Ok(HubConfig {
            policy: self.policy(raw.policy)?,
            server: self.server(raw.server)?,
            store: StoreSettings {
                backend: kind,
                key_source: raw.store.key_source.unwrap_or(KeySource::Auto),
                history: raw.store.history.unwrap_or(DEFAULT_HISTORY),
                mlock: raw.store.mlock.unwrap_or(false),
                layout: self.layout(tables, raw.store.route, raw.store.default)?,
            },
            jwt: self.jwt(raw.jwt)?,
            http: self.http(raw.http)?,
        })
    }

    fn policy(&self, raw: RawPolicy) -> Result<Policy, ConfigError> {
        let mut rules = Vec::with_capacity(raw.rule.len());
        for (index, rule) in raw.rule.into_iter().enumerate() {
            rules.push(self.rule(index, rule)?);
        }
        Ok(Policy {
            default: raw.default.unwrap_or(Action::Prompt),
            grant_timeout: self.duration(
                raw.grant_timeout,
                "policy.grant_timeout",
                DEFAULT_GRANT_TIMEOUT,
            )?,
            token_ttl: self.duration(raw.token_ttl, "policy.token_ttl", DEFAULT_TOKEN_TTL)?,
            rules,
            declared: raw.declared.unwrap_or_default(),
        })
    }

    fn rule(&self, index: usize, raw: RawRule) -> Result<Rule, ConfigError> {
        let field = |name: &str| format!("policy.rule[{index}].{name}");
        let permissions = match raw.permissions {
            None => Permissions::READ,
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.invalid(
                        list.span(),
                        &field("permissions"),
                        "[]",
                        "name at least one of read, write",
                    ));
                }
                list.get_ref()
                    .iter()
                    .fold(Permissions::default(), |all, one| all.union(one.rights()))
            }
        };
        let scope = self.scope(&raw.scope, &field("scope"))?;
        let keys = match raw.keys {
            None => None,
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.invalid(
                        list.span(),
                        &field("keys"),
                        "[]",
                        "name at least one key, or leave keys out for the owner key",
                    ));
                }
                let mut keys = Vec::with_capacity(list.get_ref().len());
                for key in list.into_inner() {
                    if let Err(error) = validate_name(key.get_ref()) {
                        return Err(self.invalid(
                            key.span(),
                            &field("keys"),
                            key.get_ref(),
                            error.to_string(),
                        ));
                    }
                    keys.push(key.into_inner());
                }
                Some(keys)
            }
        };
        Ok(Rule {
            scope,
            keys,
            action: raw.action,
            permissions,
        })
    }

    fn server(&self, raw: RawServer) -> Result<ServerLimits, ConfigError> {
        Ok(ServerLimits {
            max_connections: self.count(
                raw.max_connections,
                "server.max_connections",
                1..=usize::MAX,
                DEFAULT_MAX_CONNECTIONS,
            )?,
            max_frame: self.count(
                raw.max_frame,
                "server.max_frame",
                MIN_MAX_FRAME..=MAX_MAX_FRAME,
                DEFAULT_MAX_FRAME,
            )?,
            hello_timeout: self.duration(
                raw.hello_timeout,
                "server.hello_timeout",
                DEFAULT_HELLO_TIMEOUT,
            )?,
            max_in_flight: self.count(
                raw.max_in_flight,
                "server.max_in_flight",
                1..=usize::MAX,
                DEFAULT_MAX_IN_FLIGHT,
            )?,
            allowed_uids: raw.allowed_uids.unwrap_or_default(),
        })
    }

    pub(super) fn duration(
        &self,
        raw: Option<Spanned<String>>,
        field: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(raw) = raw else {
            return Ok(default);
        };
        match parse_duration(raw.get_ref()) {
            Ok(duration) if duration.is_zero() => {
                Err(self.invalid(raw.span(), field, raw.get_ref(), "must be longer than zero"))
            }
            Ok(duration) => Ok(duration),
            Err(_) => Err(self.invalid(
                raw.span(),
                field,
                raw.get_ref(),
                "expected a number with ms, s, m, h or d (e.g. 90s, 5m, 2h)",
            )),
        }
    }

    fn count(
        &self,
        raw: Option<Spanned<i64>>,
        field: &str,
        range: std::ops::RangeInclusive<usize>,
        default: usize,
    ) -> Result<usize, ConfigError> {
        let Some(raw) = raw else {
            return Ok(default);
        };
        match usize::try_from(*raw.get_ref()) {
            Ok(value) if range.contains(&value) => Ok(value),
            _ => {
                let reason = if *range.end() == usize::MAX {
                    format!("must be at least {}", range.start())
                } else {
                    format!("must be between {} and {}", range.start(), range.end())
                };
                Err(self.invalid(raw.span(), field, &raw.get_ref().to_string(), reason))
            }
        }
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn locate(text: &str, offset: usize) -> Location {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    Location {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    jwt: RawJwt,
    #[serde(default)]
    http: RawHttp,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    default: Option<Action>,
    grant_timeout: Option<Spanned<String>>,
    token_ttl: Option<Spanned<String>>,
    #[serde(default)]
    rule: Vec<RawRule>,
    declared: Option<DeclaredAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    scope: Spanned<String>,
    keys: Option<Spanned<Vec<Spanned<String>>>>,
    action: Action,
    permissions: Option<Spanned<Vec<Permission>>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Permission {
    Read,
    Write,
}

impl Permission {
    fn rights(self) -> Permissions {
        match self {
            Self::Read => Permissions::READ,
            Self::Write => Permissions::WRITE,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    max_connections: Option<Spanned<i64>>,
    max_frame: Option<Spanned<i64>>,
    hello_timeout: Option<Spanned<String>>,
    max_in_flight: Option<Spanned<i64>>,
    allowed_uids: Option<Vec<u32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    backend: Option<RawBackendField>,
    default: Option<Spanned<String>>,
    #[serde(default)]
    route: Vec<RawRoute>,
    key_source: Option<KeySource>,
    history: Option<usize>,
    mlock: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HubConfig, ConfigError> {
        HubConfig::parse(text, Path::new("/etc/hub/config.toml"))
    }

    fn error(text: &str) -> ConfigError {
        parse(text).expect_err("config should be refused")
    }

    fn located(error: &ConfigError) -> Option<Location> {
        match error {
            ConfigError::Syntax { at, .. } => *at,
            ConfigError::Invalid { at, .. } => Some(*at),
            ConfigError::Read { .. } => None,
        }
    }

    #[test]
    fn empty_and_missing_give_defaults() {
        let config = parse("").expect("empty config");
        assert_eq!(config, HubConfig::default());
        assert_eq!(config.policy.default, Action::Prompt);
        assert_eq!(config.policy.grant_timeout, Duration::from_secs(60));
        assert_eq!(config.policy.token_ttl, Duration::from_secs(600));
        assert!(config.policy.rules.is_empty());
        assert_eq!(config.server.max_connections, 12_288);
        assert_eq!(config.server.max_frame, 1_048_576);
        assert_eq!(config.server.hello_timeout, Duration::from_secs(5));
        assert_eq!(config.server.max_in_flight, 32);
        assert!(config.server.allowed_uids.is_empty());
        assert_eq!(config.store.backend, StoreKind::File);
        assert_eq!(config.store.key_source, KeySource::Auto);
        assert_eq!(config.store.history, 10);

        let dir = tempfile::tempdir().expect("temp dir");
        let loaded = HubConfig::load(&dir.path().join("config.toml")).expect("missing file");
        assert_eq!(loaded, HubConfig::default());
        std::fs::write(dir.path().join("config.toml"), "[store]\nhistory = 3\n").expect("write");
        let loaded = HubConfig::load(&dir.path().join("config.toml")).expect("file");
        assert_eq!(loaded.store.history, 3);
        assert!(matches!(
            HubConfig::load(dir.path()),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn declared_and_mlock_are_read_and_checked() {
        assert_eq!(
            parse("").expect("empty").policy.declared,
            DeclaredAction::Prompt
        );
        let config =
            parse("[policy]\ndeclared = \"allow\"\n[store]\nmlock = true\n").expect("valid");
        assert_eq!(config.policy.declared, DeclaredAction::Allow);
        assert!(config.store.mlock);
        let wrong = error("[policy]\ndefault = \"deny\"\ndeclared = \"always\"\n");
        assert!(wrong.to_string().contains("`always`"), "{wrong}");
        assert_eq!(
            located(&wrong),
            Some(Location {
                line: 3,
                column: 12
            })
        );
        assert!(matches!(
            error("[store]\nmlock = \"yes\"\n"),
            ConfigError::Syntax { .. }
        ));
    }

    #[test]
    fn example_config_parses() {
        let config = parse(EXAMPLE_CONFIG).expect("example config");
        assert_eq!(config.server, ServerLimits::default());
        assert_eq!(config.store, StoreSettings::default());
        assert_eq!(config.jwt, JwtSettings::default());
        assert_eq!(config.policy.default, Action::Prompt);
        assert_eq!(config.policy.rules.len(), 2);
        assert_eq!(
            config.policy.rules[0],
            Rule {
                scope: SecretScope::parse("cargo/*").expect("scope"),
                keys: Some(vec!["ci".to_owned()]),
                action: Action::Allow,
                permissions: Permissions::READ,
            }
        );
        assert_eq!(config.policy.rules[1].keys, None);
        assert_eq!(config.policy.rules[1].permissions, Permissions::READ_WRITE);
    }

    #[test]
    fn every_field_is_read() {
        let config = parse(
            r#"
[policy]
default = "deny"
grant_timeout = "2m"
token_ttl = "1h"

[[policy.rule]]
scope = "npm/@acme/*"
keys = ["ci", "melt.acme.app.token"]
action = "prompt"
permissions = ["write"]

[[policy.rule]]
scope = "*"
action = "allow"

[server]
max_connections = 4
max_frame = 1024
hello_timeout = "250ms"
max_in_flight = 1
allowed_uids = [0, 1001]

[store]
backend = "memory"
key_source = "keychain"
history = 0
"#,
        )
        .expect("full config");
        let policy = &config.policy;
        assert_eq!(policy.default, Action::Deny);
        assert_eq!(policy.grant_timeout, Duration::from_secs(120));
        assert_eq!(policy.token_ttl, Duration::from_secs(3600));
        assert_eq!(policy.rules[0].scope.as_str(), "npm/@acme/*");
        assert_eq!(
            policy.rules[0].keys.as_deref(),
            Some(&["ci".to_owned(), "melt.acme.app.token".to_owned()][..])
        );
        assert_eq!(policy.rules[0].action, Action::Prompt);
        assert_eq!(policy.rules[0].permissions, Permissions::WRITE);
        assert_eq!(policy.rules[1].scope.as_str(), "*");
        assert_eq!(policy.rules[1].permissions, Permissions::READ);
        assert_eq!(
            config.server,
            ServerLimits {
                max_connections: 4,
                max_frame: 1024,
                hello_timeout: Duration::from_millis(250),
                max_in_flight: 1,
                allowed_uids: vec![0, 1001],
            }
        );
        assert_eq!(
            config.store,
            StoreSettings {
                backend: StoreKind::Memory,
                key_source: KeySource::Keychain,
                history: 0,
                mlock: false,
                layout: Layout::default(),
            }
        );
        assert_eq!(config.store.backend.as_str(), "memory");
        assert_eq!(config.store.key_source.as_str(), "keychain");
    }

    #[test]
    fn typos_are_refused_with_the_field_name() {
        for (text, typo, line) in [
            ("[policy]\ndefualt = \"deny\"\n", "defualt", 2),
            ("[polcy]\n", "polcy", 1),
            ("[server]\nmax_conections = 3\n", "max_conections", 2),
            ("[store]\nbackand = \"file\"\n", "backand", 2),
            (
                "[[policy.rule]]\nscope = \"a/*\"\naction = \"allow\"\nkey = [\"ci\"]\n",
                "key",
                4,
            ),
            ("[[policy.rules]]\nscope = \"a/*\"\n", "rules", 1),
        ] {
            let error = error(text);
            let shown = error.to_string();
            assert!(matches!(error, ConfigError::Syntax { .. }), "{shown}");
            assert!(shown.contains(&format!("`{typo}`")), "{shown}");
            assert!(shown.starts_with("/etc/hub/config.toml:"), "{shown}");
            assert_eq!(located(&error).map(|at| at.line), Some(line), "{shown}");
        }
    }

    #[test]
    fn bad_values_are_refused_precisely() {
        let scope = error("[[policy.rule]]\nscope = \"github/*/x\"\naction = \"allow\"\n");
        match &scope {
            ConfigError::Invalid {
                at, field, value, ..
            } => {
                assert_eq!(*at, Location { line: 2, column: 9 });
                assert_eq!(field, "policy.rule[0].scope");
                assert_eq!(value, "github/*/x");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(scope.to_string().contains("config.toml:2:9"), "{scope}");

        let duration = error("[policy]\ntoken_ttl = \"5 parsecs\"\n");
        assert!(
            matches!(&duration, ConfigError::Invalid { field, value, .. }
                if field == "policy.token_ttl" && value == "5 parsecs"),
            "{duration}"
        );
        let zero = error("[server]\nhello_timeout = \"0s\"\n");
        assert!(zero.to_string().contains("longer than zero"), "{zero}");

        let action = error("[policy]\ndefault = \"alow\"\n");
        assert!(action.to_string().contains("`alow`"), "{action}");
        assert_eq!(
            located(&action),
            Some(Location {
                line: 2,
                column: 11
            })
        );
        let rule_action =
            error("[[policy.rule]]\nscope = \"a/*\"\naction = \"maybe\"\n").to_string();
        assert!(rule_action.contains("`maybe`"), "{rule_action}");
        let permission = error(
            "[[policy.rule]]\nscope = \"a/*\"\naction = \"allow\"\npermissions = [\"raed\"]\n",
        )
        .to_string();
        assert!(permission.contains("`raed`"), "{permission}");
        let missing = error("[[policy.rule]]\nscope = \"a/*\"\n").to_string();
        assert!(missing.contains("action"), "{missing}");
    }

    #[test]
    fn limits_and_lists_are_checked() {
        let cases = [
            ("[server]\nmax_frame = 1023\n", "server.max_frame", "1023"),
            (
                "[server]\nmax_frame = 16777217\n",
                "server.max_frame",
                "16777217",
            ),
            (
                "[server]\nmax_connections = 0\n",
                "server.max_connections",
                "0",
            ),
            (
                "[server]\nmax_in_flight = -1\n",
                "server.max_in_flight",
                "-1",
            ),
            (
                "[[policy.rule]]\nscope = \"a/*\"\naction = \"allow\"\nkeys = []\n",
                "policy.rule[0].keys",
                "[]",
            ),
            (
                "[[policy.rule]]\nscope = \"a/*\"\naction = \"allow\"\nkeys = [\"bad name\"]\n",
                "policy.rule[0].keys",
                "bad name",
            ),
            (
                "[[policy.rule]]\nscope = \"a/*\"\naction = \"allow\"\npermissions = []\n",
                "policy.rule[0].permissions",
                "[]",
            ),
        ];
        for (text, want_field, want_value) in cases {
            match error(text) {
                ConfigError::Invalid { field, value, .. } => {
                    assert_eq!((field.as_str(), value.as_str()), (want_field, want_value));
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert!(matches!(
            error("[server]\nallowed_uids = [-1]\n"),
            ConfigError::Syntax { .. }
        ));
        assert!(matches!(
            error("[store]\nbackend = \"s3\"\n"),
            ConfigError::Syntax { .. }
        ));
        let broken = error("x = ");
        assert!(!broken.to_string().ends_with(": "), "{broken}");
        assert_eq!(located(&broken), Some(Location { line: 1, column: 5 }));
    }
}
