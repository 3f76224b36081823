//! What one keychain item says about its secret: the attributes that name the hub and the path,
//! the metadata kept beside the value (version, created, updated), and reading them back.
//!
//! An item of hub `H` for path `P` at version `N` carries the attributes
//!
//! | attribute | value |
//! |---|---|
//! | `service` | `auth-hub` |
//! | `hub` | the hub's keychain id (its canonical state directory) |
//! | `path` | `P` |
//! | `version` | `N`, decimal |
//! | `created` | when version 1 was written, RFC 3339 UTC |
//! | `updated` | when version `N` was written, RFC 3339 UTC |
//!
//! and the label `auth-hub P`, so `secret-tool search service auth-hub path P` finds it and a
//! keyring GUI shows which secret it is. The value is the item's secret (`text/plain`).

use std::collections::HashMap;

use auth_hub_protocol::SecretPath;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::store::SecretMeta;

/// The `service` attribute of every item of every hub.
pub const SERVICE: &str = "auth-hub";

/// Attribute names.
pub const ATTR_SERVICE: &str = "service";
/// The hub's keychain id.
pub const ATTR_HUB: &str = "hub";
/// The secret path.
pub const ATTR_PATH: &str = "path";
/// The version number.
pub const ATTR_VERSION: &str = "version";
/// When version 1 was written.
pub const ATTR_CREATED: &str = "created";
/// When this version was written.
pub const ATTR_UPDATED: &str = "updated";

/// The attributes that find every item of hub `hub`.
pub fn hub_query(hub: &str) -> HashMap<&str, &str> {
    HashMap::from([(ATTR_SERVICE, SERVICE), (ATTR_HUB, hub)])
}

/// The attributes that find the item(s) of `path` in hub `hub`.
pub fn path_query<'a>(hub: &'a str, path: &'a SecretPath) -> HashMap<&'a str, &'a str> {
    let mut query = hub_query(hub);
    query.insert(ATTR_PATH, path.as_str());
    query
}

/// The label of the item holding `path`.
pub fn label(path: &SecretPath) -> String {
    format!("{SERVICE} {path}")
}

/// Every attribute of the item holding `meta` for hub `hub`.
pub fn attributes(hub: &str, meta: &SecretMeta) -> HashMap<String, String> {
    HashMap::from([
        (ATTR_SERVICE.to_owned(), SERVICE.to_owned()),
        (ATTR_HUB.to_owned(), hub.to_owned()),
        (ATTR_PATH.to_owned(), meta.path.as_str().to_owned()),
        (ATTR_VERSION.to_owned(), meta.version.to_string()),
        (ATTR_CREATED.to_owned(), timestamp(meta.created_at)),
        (ATTR_UPDATED.to_owned(), timestamp(meta.updated_at)),
    ])
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The metadata an item's attributes record.
///
/// # Errors
/// A missing or malformed attribute, named in the message (no value is quoted but the path's).
pub fn meta_of(attributes: &HashMap<String, String>) -> Result<SecretMeta, String> {
    let get = |name: &str| {
        attributes
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("the item has no `{name}` attribute"))
    };
    let path_text = get(ATTR_PATH)?;
    let path = SecretPath::parse(path_text)
        .map_err(|e| format!("the item's `path` attribute is not a hub path: {e}"))?;
    let version = get(ATTR_VERSION)?
        .parse::<u64>()
        .ok()
        .filter(|version| *version >= 1)
        .ok_or_else(|| format!("the item for {path} has an invalid `version` attribute"))?;
    let time = |name: &str| -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(get(name)?)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| format!("the item for {path} has an invalid `{name}` attribute"))
    };
    Ok(SecretMeta {
        version,
        created_at: time(ATTR_CREATED)?,
        updated_at: time(ATTR_UPDATED)?,
        path,
    })
}

/// The metadata of the next version of `path` written at `now`, after `current` (if any).
pub fn next_meta(
    path: &SecretPath,
    current: Option<&SecretMeta>,
    now: DateTime<Utc>,
) -> SecretMeta {
    SecretMeta {
        path: path.clone(),
        version: current.map_or(1, |meta| meta.version.saturating_add(1)),
        created_at: current.map_or(now, |meta| meta.created_at),
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::test_support::path;

    #[test]
    fn attributes_name_the_hub_and_path() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let meta = next_meta(&path("github/alice/token"), None, now);
        let attributes = attributes("/home/a/.local/state/auth-hub", &meta);
        assert_eq!(attributes["service"], "auth-hub");
        assert_eq!(attributes["hub"], "/home/a/.local/state/auth-hub");
        assert_eq!(attributes["path"], "github/alice/token");
        assert_eq!(attributes["version"], "1");
        assert_eq!(attributes["created"], "2026-01-02T03:04:05.123456789Z");
        assert_eq!(attributes["updated"], "2026-01-02T03:04:05.123456789Z");
        assert_eq!(attributes.len(), 6);
        assert_eq!(label(&meta.path), "auth-hub github/alice/token");
        assert_eq!(meta_of(&attributes).unwrap(), meta);
    }

    #[test]
    fn queries_select_hub_then_path() {
        let p = path("cargo/token");
        let query = path_query("hub-a", &p);
        assert_eq!(query.len(), 3);
        assert_eq!(query["service"], "auth-hub");
        assert_eq!(query["hub"], "hub-a");
        assert_eq!(query["path"], "cargo/token");
        assert!(!hub_query("hub-a").contains_key("path"));
    }

    #[test]
    fn next_version_keeps_created() {
        let first = Utc::now();
        let one = next_meta(&path("kc/a"), None, first);
        let later = first + chrono::Duration::seconds(5);
        let two = next_meta(&path("kc/a"), Some(&one), later);
        assert_eq!(two.version, 2);
        assert_eq!(two.created_at, first);
        assert_eq!(two.updated_at, later);
    }

    #[test]
    fn malformed_attributes_are_named() {
        let meta = next_meta(&path("kc/a"), None, Utc::now());
        let good = attributes("h", &meta);
        for (name, bad) in [
            ("path", "../x"),
            ("version", "0"),
            ("version", "two"),
            ("created", "yesterday"),
            ("updated", ""),
        ] {
            let mut attributes = good.clone();
            attributes.insert(name.to_owned(), bad.to_owned());
            let err = meta_of(&attributes).unwrap_err();
            assert!(err.contains(&format!("`{name}`")), "{name}: {err}");
        }
        let mut missing = good;
        missing.remove("updated");
        assert_eq!(
            meta_of(&missing).unwrap_err(),
            "the item has no `updated` attribute"
        );
    }
}
