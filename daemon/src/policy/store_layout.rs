//! `config.toml`'s store layout: `[store] default`, `[store.backend.<name>]` and
//! `[[store.route]]`, checked into a [`Layout`] with the location of the first bad value.
//!
//! `[store] backend` is either the local store's kind (`backend = "file"`, as before named
//! backends existed) or the table of named backends (`[store.backend.team]`); TOML cannot hold
//! both, so a file that declares backends keeps the local store's default kind (`file`, or
//! `auth-hub serve --store memory`).

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use auth_hub_protocol::duration::parse_duration;
use auth_hub_protocol::SecretPath;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::config::{Checker, ConfigError};
use crate::store::settings::{
    BackendSettings, BackendSpec, Layout, OpenBaoAuth, OpenBaoSettings, Route, DEFAULT_MOUNT,
    DEFAULT_PREFIX, DEFAULT_REMOTE_TIMEOUT, LOCAL_BACKEND,
};
use crate::store::StoreKind;

/// `[store] backend`: the local store's kind, or the named backends' tables in file order.
pub(super) enum RawBackendField {
    /// `backend = "file" | "memory"`.
    Kind(StoreKind),
    /// `[store.backend.<name>]` tables.
    Tables(Vec<(Spanned<String>, Spanned<RawBackend>)>),
}

impl<'de> Deserialize<'de> for RawBackendField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A hand-written visitor rather than `untagged`: the table's entries are read straight
        // from the TOML deserializer, so their spans survive for the error messages.
        struct FieldVisitor(PhantomData<()>);

        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = RawBackendField;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"file\", \"memory\", or [store.backend.<name>] tables")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                text.parse::<StoreKind>()
                    .map(RawBackendField::Kind)
                    .map_err(|_| E::unknown_variant(text, &["file", "memory"]))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut tables = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    tables.push((name, map.next_value::<Spanned<RawBackend>>()?));
                }
                Ok(RawBackendField::Tables(tables))
            }
        }

        deserializer.deserialize_any(FieldVisitor(PhantomData))
    }
}

/// One `[store.backend.<name>]`, every key of every kind; which apply is checked per kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBackend {
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    mount: Option<Spanned<String>>,
    prefix: Option<Spanned<String>>,
    namespace: Option<Spanned<String>>,
    ca_cert: Option<Spanned<String>>,
    token_path: Option<Spanned<String>>,
    role_id: Option<Spanned<String>>,
    secret_id_path: Option<Spanned<String>>,
    cache_ttl: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

impl RawBackend {
    /// The OpenBao-only keys that are present, with their names.
    fn remote_keys(&self) -> Vec<(&'static str, &Spanned<String>)> {
        [
            ("url", &self.url),
            ("mount", &self.mount),
            ("prefix", &self.prefix),
            ("namespace", &self.namespace),
            ("ca_cert", &self.ca_cert),
            ("token_path", &self.token_path),
            ("role_id", &self.role_id),
            ("secret_id_path", &self.secret_id_path),
            ("cache_ttl", &self.cache_ttl),
            ("timeout", &self.timeout),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| (name, value)))
        .collect()
    }
}

/// One `[[store.route]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    scope: Spanned<String>,
    backend: Spanned<String>,
}

impl Checker<'_> {
    /// Checks the backends, routes and default into a [`Layout`].
    pub(super) fn layout(
        &self,
        tables: Vec<(Spanned<String>, Spanned<RawBackend>)>,
        routes: Vec<RawRoute>,
        default: Option<Spanned<String>>,
    ) -> Result<Layout, ConfigError> {
        let mut backends: Vec<BackendSpec> = Vec::with_capacity(tables.len());
        for (name, table) in tables {
            backends.push(self.backend(name, table.into_inner())?);
        }
        let known = |name: &str| name == LOCAL_BACKEND || backends.iter().any(|b| b.name == name);
        let mut checked: Vec<Route> = Vec::with_capacity(routes.len());
        for (index, raw) in routes.into_iter().enumerate() {
            let field = |name: &str| format!("store.route[{index}].{name}");
            let scope = self.scope(&raw.scope, &field("scope"))?;
            if let Some((earlier, first)) = checked
                .iter()
                .enumerate()
                .find(|(_, first)| first.scope.covers_scope(&scope))
            {
                return Err(self.invalid(
                    raw.scope.span(),
                    &field("scope"),
                    raw.scope.get_ref(),
                    format!(
                        "route {index} ({scope}) can never match: route {earlier} ({}) comes \
                         first and covers it",
                        first.scope
                    ),
                ));
            }
            if !known(raw.backend.get_ref()) {
                return Err(self.invalid(
                    raw.backend.span(),
                    &field("backend"),
                    raw.backend.get_ref(),
                    declared_names(&backends),
                ));
            }
            checked.push(Route {
                scope,
                backend: raw.backend.into_inner(),
            });
        }
        let default = match default {
            None => LOCAL_BACKEND.to_owned(),
            Some(name) if known(name.get_ref()) => name.into_inner(),
            Some(name) => {
                return Err(self.invalid(
                    name.span(),
                    "store.default",
                    name.get_ref(),
                    declared_names(&backends),
                ))
            }
        };
        Ok(Layout {
            backends,
            routes: checked,
            default,
        })
    }

    fn backend(&self, name: Spanned<String>, raw: RawBackend) -> Result<BackendSpec, ConfigError> {
        let field = |key: &str| format!("store.backend.{}.{key}", name.get_ref());
        let valid_name = !name.get_ref().contains('/') && SecretPath::parse(name.get_ref()).is_ok();
        if !valid_name {
            return Err(self.invalid(
                name.span(),
                "store.backend",
                name.get_ref(),
                "a backend name is one segment of letters, digits, '.', '_', '@' or '-'",
            ));
        }
        let settings = match raw.kind.get_ref().as_str() {
            "file" => BackendSettings::File,
            "keychain" => BackendSettings::Keychain,
            "openbao" | "vault" => BackendSettings::OpenBao(self.openbao(&field, &raw)?),
            other => {
                return Err(self.invalid(
                    raw.kind.span(),
                    &field("kind"),
                    other,
                    "expected \"file\", \"keychain\", \"openbao\" or \"vault\"",
                ))
            }
        };
        if !matches!(settings, BackendSettings::OpenBao(_)) {
            if let Some((key, value)) = raw.remote_keys().first() {
                return Err(self.invalid(
                    value.span(),
                    &field(key),
                    value.get_ref(),
                    format!(
                        "`{key}` applies to kind \"openbao\" only, not to kind {:?}",
                        raw.kind.get_ref()
                    ),
                ));
            }
        }
        if name.get_ref() == LOCAL_BACKEND && settings != BackendSettings::File {
            return Err(self.invalid(
                raw.kind.span(),
                &field("kind"),
                raw.kind.get_ref(),
                "\"file\" is the hub's local store; give this backend another name",
            ));
        }
        Ok(BackendSpec {
            name: name.into_inner(),
            settings,
        })
    }

    fn openbao(
        &self,
        field: &dyn Fn(&str) -> String,
        raw: &RawBackend,
    ) -> Result<OpenBaoSettings, ConfigError> {
        let Some(url) = &raw.url else {
            return Err(self.invalid(
                raw.kind.span(),
                &field("url"),
                "",
                "an openbao backend needs `url` (https://…, or http:// on loopback)",
            ));
        };
        if let Err(reason) = check_url(url.get_ref()) {
            return Err(self.invalid(url.span(), &field("url"), url.get_ref(), reason));
        }
        let segments = |value: &Option<Spanned<String>>, key: &str, default: &str| {
            let Some(value) = value else {
                return Ok(default.to_owned());
            };
            match SecretPath::parse(value.get_ref()) {
                Ok(_) => Ok(value.get_ref().clone()),
                Err(error) => Err(self.invalid(
                    value.span(),
                    &field(key),
                    value.get_ref(),
                    error.to_string(),
                )),
            }
        };
        let mount = segments(&raw.mount, "mount", DEFAULT_MOUNT)?;
        let prefix = segments(&raw.prefix, "prefix", DEFAULT_PREFIX)?;
        let local_path = |value: &Spanned<String>, key: &str| {
            SecretPath::parse(value.get_ref()).map_err(|error| {
                self.invalid(
                    value.span(),
                    &field(key),
                    value.get_ref(),
                    format!("{error} (a path in the hub's local store)"),
                )
            })
        };
        let auth = match (&raw.token_path, &raw.role_id, &raw.secret_id_path) {
            (Some(token), None, None) => OpenBaoAuth::Token {
                token_path: local_path(token, "token_path")?,
            },
            (None, Some(role), Some(secret)) if !role.get_ref().trim().is_empty() => {
                OpenBaoAuth::AppRole {
                    role_id: role.get_ref().clone(),
                    secret_id_path: local_path(secret, "secret_id_path")?,
                }
            }
            (Some(token), _, _) => {
                return Err(self.invalid(
                    token.span(),
                    &field("token_path"),
                    token.get_ref(),
                    "give either token_path, or role_id with secret_id_path, not both",
                ))
            }
            (None, role, secret) => {
                let at = role
                    .as_ref()
                    .or(secret.as_ref())
                    .map_or(raw.kind.span(), |v| v.span());
                return Err(self.invalid(
                    at,
                    &field("auth"),
                    "",
                    "give token_path = \"<local secret path>\", or role_id = \"…\" with \
                     secret_id_path = \"<local secret path>\"",
                ));
            }
        };
        Ok(OpenBaoSettings {
            url: url.get_ref().trim_end_matches('/').to_owned(),
            mount,
            prefix,
            namespace: raw.namespace.as_ref().map(|v| v.get_ref().clone()),
            ca_cert: raw.ca_cert.as_ref().map(|v| PathBuf::from(v.get_ref())),
            auth,
            cache_ttl: self.remote_duration(&raw.cache_ttl, &field("cache_ttl"), true)?,
            timeout: self.remote_duration(&raw.timeout, &field("timeout"), false)?,
        })
    }

    fn remote_duration(
        &self,
        raw: &Option<Spanned<String>>,
        field: &str,
        zero_ok: bool,
    ) -> Result<Duration, ConfigError> {
        let Some(raw) = raw else {
            return Ok(if zero_ok {
                Duration::ZERO
            } else {
                DEFAULT_REMOTE_TIMEOUT
            });
        };
        match parse_duration(raw.get_ref()) {
            Ok(duration) if duration.is_zero() && !zero_ok => {
                Err(self.invalid(raw.span(), field, raw.get_ref(), "must be longer than zero"))
            }
            Ok(duration) => Ok(duration),
            Err(_) => Err(self.invalid(
                raw.span(),
                field,
                raw.get_ref(),
                "expected a number with ms, s, m, h or d (e.g. 0s, 90s, 5m)",
            )),
        }
    }
}

fn declared_names(backends: &[BackendSpec]) -> String {
    let names: Vec<&str> = std::iter::once(LOCAL_BACKEND)
        .chain(backends.iter().map(|b| b.name.as_str()))
        .collect();
    format!("no such backend; declared: {}", names.join(", "))
}

/// `https://host[:port][/path]`, or `http://` when the host is loopback.
fn check_url(url: &str) -> Result<(), String> {
    let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("expected an https:// url (http:// only on loopback)".to_owned());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err("the url has no host".to_owned());
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !secure && !loopback {
        return Err(
            "plain http would send the hub's token in clear; use https:// (http:// is accepted \
             on loopback only)"
                .to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::policy::HubConfig;

    fn parse(text: &str) -> Result<HubConfig, ConfigError> {
        HubConfig::parse(text, Path::new("/etc/hub/config.toml"))
    }

    fn refused(text: &str) -> (String, String, usize) {
        match parse(text) {
            Err(ConfigError::Invalid {
                field, reason, at, ..
            }) => (field, reason, at.line),
            Err(other) => (String::new(), other.to_string(), 0),
            Ok(_) => panic!("config should be refused:\n{text}"),
        }
    }

    const CONTRACT: &str = r#"
[store]
default = "file"

[store.backend.team]
kind = "openbao"
url = "http://127.0.0.1:8200"
namespace = "eng"
ca_cert = "/path/ca.pem"
token_path = "openbao/team/token"
cache_ttl = "0s"
timeout = "5s"

[store.backend.kc]
kind = "keychain"

[store.backend.approle]
kind = "vault"
url = "https://bao.example:8200/"
mount = "kv"
prefix = "hub/alice"
role_id = "r-1"
secret_id_path = "openbao/approle/secret-id"
cache_ttl = "30s"

[store.backend.other]
kind = "file"

[[store.route]]
scope = "team/*"
backend = "team"

[[store.route]]
scope = "cargo/token"
backend = "kc"
"#;

    #[test]
    fn the_contract_parses() {
        let config = parse(CONTRACT).expect("contract config");
        let layout = &config.store.layout;
        assert_eq!(config.store.backend, StoreKind::File);
        assert_eq!(layout.default, "file");
        let names: Vec<&str> = layout.backends.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["team", "kc", "approle", "other"]);
        let BackendSettings::OpenBao(team) = &layout.backends[0].settings else {
            panic!("team is openbao");
        };
        assert_eq!(team.url, "http://127.0.0.1:8200");
        assert_eq!(team.mount, "secret");
        assert_eq!(team.prefix, "auth-hub");
        assert_eq!(team.namespace.as_deref(), Some("eng"));
        assert_eq!(team.ca_cert.as_deref(), Some(Path::new("/path/ca.pem")));
        assert_eq!(
            team.auth,
            OpenBaoAuth::Token {
                token_path: SecretPath::parse("openbao/team/token").expect("path")
            }
        );
        assert_eq!(team.cache_ttl, Duration::ZERO);
        assert_eq!(team.timeout, Duration::from_secs(5));
        assert_eq!(layout.backends[1].settings, BackendSettings::Keychain);
        let BackendSettings::OpenBao(approle) = &layout.backends[2].settings else {
            panic!("vault is a synonym of openbao");
        };
        assert_eq!(approle.url, "https://bao.example:8200");
        assert_eq!(
            (approle.mount.as_str(), approle.prefix.as_str()),
            ("kv", "hub/alice")
        );
        assert!(matches!(&approle.auth, OpenBaoAuth::AppRole { role_id, .. } if role_id == "r-1"));
        assert_eq!(approle.cache_ttl, Duration::from_secs(30));
        assert_eq!(approle.timeout, DEFAULT_REMOTE_TIMEOUT);
        assert_eq!(layout.backends[3].settings, BackendSettings::File);
        assert_eq!(layout.routes.len(), 2);
        assert_eq!(layout.routes[0].scope.as_str(), "team/*");
        assert_eq!(layout.routes[1].backend, "kc");

        let plain = parse("[store]\nbackend = \"memory\"\ndefault = \"file\"\n").expect("kind");
        assert_eq!(plain.store.backend, StoreKind::Memory);
        assert_eq!(plain.store.layout, Layout::default());
    }

    #[test]
    fn bad_layouts_are_refused_where_they_are() {
        let kc = "[store.backend.kc]\nkind = \"keychain\"\n";
        let cases: Vec<(String, &str, &str, usize)> = vec![
            (
                "[store.backend.x]\nkind = \"s3\"\n".into(),
                "store.backend.x.kind",
                "expected \"file\"",
                2,
            ),
            (
                format!("{kc}url = \"https://a\"\n"),
                "store.backend.kc.url",
                "applies to kind \"openbao\" only",
                3,
            ),
            (
                "[store.backend.file]\nkind = \"keychain\"\n".into(),
                "store.backend.file.kind",
                "local store",
                2,
            ),
            (
                "[store.backend.\"a b\"]\nkind = \"keychain\"\n".into(),
                "store.backend",
                "one segment",
                1,
            ),
            (
                format!("{kc}[[store.route]]\nscope = \"team/*\"\nbackend = \"tema\"\n"),
                "store.route[0].backend",
                "no such backend; declared: file, kc",
                5,
            ),
            (
                format!(
                    "{kc}[[store.route]]\nscope = \"team/*\"\nbackend = \"kc\"\n\
                     [[store.route]]\nscope = \"team/x/*\"\nbackend = \"file\"\n"
                ),
                "store.route[1].scope",
                "route 1 (team/x/*) can never match: route 0 (team/*) comes first",
                7,
            ),
            (
                format!("{kc}[[store.route]]\nscope = \"team/*/x\"\nbackend = \"kc\"\n"),
                "store.route[0].scope",
                "",
                4,
            ),
            (
                "[store]\ndefault = \"team\"\n".into(),
                "store.default",
                "no such backend",
                2,
            ),
            (
                "[store.backend.t]\nkind = \"openbao\"\nurl = \"http://bao.example\"\n\
                 token_path = \"t/x\"\n"
                    .into(),
                "store.backend.t.url",
                "loopback",
                3,
            ),
            (
                "[store.backend.t]\nkind = \"openbao\"\ntoken_path = \"t/x\"\n".into(),
                "store.backend.t.url",
                "needs `url`",
                2,
            ),
            (
                "[store.backend.t]\nkind = \"openbao\"\nurl = \"https://b\"\n".into(),
                "store.backend.t.auth",
                "token_path",
                2,
            ),
            (
                "[store.backend.t]\nkind = \"openbao\"\nurl = \"https://b\"\n\
                 token_path = \"t/x\"\nrole_id = \"r\"\nsecret_id_path = \"t/y\"\n"
                    .into(),
                "store.backend.t.token_path",
                "not both",
                4,
            ),
            (
                "[store.backend.t]\nkind = \"openbao\"\nurl = \"https://b\"\n\
                 role_id = \"r\"\n"
                    .into(),
                "store.backend.t.auth",
                "secret_id_path",
                4,
            ),
            (
                "[store.backend.t]\nkind = \"openbao\"\nurl = \"https://b\"\n\
                 token_path = \"../x\"\n"
                    .into(),
                "store.backend.t.token_path",
                "local store",
                4,
            ),
            (
                "[store.backend.t]\nkind = \"openbao\"\nurl = \"https://b\"\n\
                 token_path = \"t/x\"\ntimeout = \"0s\"\n"
                    .into(),
                "store.backend.t.timeout",
                "longer than zero",
                5,
            ),
            (
                "[store.backend.t]\nkind = \"openbao\"\nurl = \"https://b\"\n\
                 token_path = \"t/x\"\ncache_ttl = \"soon\"\n"
                    .into(),
                "store.backend.t.cache_ttl",
                "expected a number",
                5,
            ),
        ];
        for (text, want_field, want_reason, want_line) in cases {
            let (field, reason, line) = refused(&text);
            assert_eq!(field, want_field, "{text}");
            assert!(reason.contains(want_reason), "{reason}\n{text}");
            assert_eq!(line, want_line, "{reason}\n{text}");
        }
    }

    #[test]
    fn unknown_keys_and_loopback_urls() {
        let typo = parse("[store.backend.kc]\nkind = \"keychain\"\nknd = 1\n")
            .expect_err("unknown key")
            .to_string();
        assert!(typo.contains("`knd`"), "{typo}");
        let route = parse("[[store.route]]\nscope = \"a/*\"\nbackend = \"file\"\nx = 1\n")
            .expect_err("unknown key")
            .to_string();
        assert!(route.contains("`x`"), "{route}");
        for ok in [
            "http://127.0.0.1:8200",
            "http://localhost",
            "http://[::1]:8200/",
            "https://bao.example",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in ["http://10.0.0.1", "ftp://x", "https://", "127.0.0.1:8200"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
