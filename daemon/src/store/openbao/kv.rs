//! KV v2 as the hub sees it: the API paths of a hub path (`<mount>/data/<prefix>/<path>`,
//! `<mount>/metadata/…`), the write body, and reading a value and its metadata out of the
//! server's answers.
//!
//! The hub's value is the KV data's `value` field. A secret written by another tool with exactly
//! one field is read as that field; several fields without `value`, a non-string value, or a
//! value over [`MAX_VALUE_BYTES`] is [`StoreError::Unusable`], naming the path and never the
//! content.

use auth_hub_protocol::{SecretPath, SecretValue};
use chrono::{DateTime, Utc};
use serde_json::Value;
use zeroize::Zeroizing;

use super::super::settings::OpenBaoSettings;
use super::super::{SecretMeta, StoreError};

/// The largest value the hub serves from OpenBao: half the default frame maximum
/// (`auth_hub_protocol::frame::DEFAULT_MAX_FRAME`), so the reply carrying it always fits a frame
/// with room for its envelope. A larger value written by another tool is an error on `get`, not
/// a reply the client cannot decode.
pub const MAX_VALUE_BYTES: usize = auth_hub_protocol::frame::DEFAULT_MAX_FRAME / 2;

/// The KV field the hub reads and writes.
pub const VALUE_FIELD: &str = "value";

/// Where a backend's paths live: the mount and the prefix inside it.
#[derive(Debug, Clone)]
pub struct KvLayout {
    mount: String,
    prefix: String,
}

impl KvLayout {
    /// The layout of `settings` (slashes around the mount and the prefix are ignored).
    pub fn new(settings: &OpenBaoSettings) -> Self {
        Self {
            mount: settings.mount.trim_matches('/').to_owned(),
            prefix: settings.prefix.trim_matches('/').to_owned(),
        }
    }

    /// `<prefix>/<rest>` inside the mount (`rest` may be empty).
    fn inner(&self, rest: &str) -> String {
        let rest = rest.trim_matches('/');
        match (self.prefix.is_empty(), rest.is_empty()) {
            (true, _) => rest.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{rest}", self.prefix),
        }
    }

    /// `<mount>/data/<prefix>/<path>`: read, write, soft delete.
    pub fn data(&self, path: &SecretPath) -> String {
        format!("{}/data/{}", self.mount, self.inner(path.as_str()))
    }

    /// `<mount>/metadata/<prefix>/<rest>`: versions, destroy, list.
    pub fn metadata(&self, rest: &str) -> String {
        format!("{}/metadata/{}", self.mount, self.inner(rest))
    }

    /// The server's name for `path`, as `secret/auth-hub/team/x`, for messages and `bao kv`.
    pub fn display(&self, path: &str) -> String {
        format!("{}/{}", self.mount, self.inner(path))
    }
}

/// The body of a write: `{"data":{"value":…}}`, with `options.cas` when a version is checked.
/// Built as text in a zeroizing buffer, so no copy of the value outlives the request.
pub fn write_body(value: &SecretValue, cas: Option<u64>) -> Zeroizing<String> {
    let value = json_string(value.expose());
    Zeroizing::new(match cas {
        Some(cas) => format!(
            r#"{{"data":{{"{VALUE_FIELD}":{}}},"options":{{"cas":{cas}}}}}"#,
            *value
        ),
        None => format!(r#"{{"data":{{"{VALUE_FIELD}":{}}}}}"#, *value),
    })
}

/// `text` as a JSON string literal, in a zeroizing buffer.
pub fn json_string(text: &str) -> Zeroizing<String> {
    // Serializing a &str cannot fail; the fallback is never taken.
    Zeroizing::new(serde_json::to_string(text).unwrap_or_default())
}

/// The hub's value in a read's `data.data`.
///
/// # Errors
/// [`StoreError::Unusable`] for several fields without `value`, no field at all, a field that is
/// not a string, or a value over [`MAX_VALUE_BYTES`].
pub fn value_of(backend: &str, path: &SecretPath, data: &Value) -> Result<SecretValue, StoreError> {
    let unusable = |reason: String| StoreError::Unusable {
        backend: backend.to_owned(),
        path: path.as_str().to_owned(),
        reason,
    };
    let fields = data
        .as_object()
        .ok_or_else(|| unusable("the KV data is not an object".into()))?;
    let field = match fields.get(VALUE_FIELD) {
        Some(field) => field,
        None if fields.len() == 1 => fields.values().next().unwrap_or(&Value::Null),
        None if fields.is_empty() => return Err(unusable("the secret has no field".into())),
        None => {
            let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
            names.sort_unstable();
            return Err(unusable(format!(
                "the secret has {} fields ({}) and none is named `{VALUE_FIELD}`; the hub reads \
                 the `{VALUE_FIELD}` field, or the only field",
                names.len(),
                names.join(", ")
            )));
        }
    };
    let text = field
        .as_str()
        .ok_or_else(|| unusable("the field the hub reads is not a string".into()))?;
    if text.len() > MAX_VALUE_BYTES {
        return Err(unusable(format!(
            "the value is {} bytes, over the hub's limit of {MAX_VALUE_BYTES}",
            text.len()
        )));
    }
    Ok(SecretValue::new(text.to_owned()))
}

/// A time in the server's RFC 3339 form; the epoch when absent or malformed.
pub fn time_of(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |time| time.with_timezone(&Utc))
}

/// Metadata of the version a read returned (`data.metadata`): its number, and its time as both
/// `created_at` and `updated_at` (a read does not carry the first version's time; `list` and
/// `history`, which read the metadata endpoint, do).
pub fn read_meta(path: &SecretPath, metadata: &Value) -> SecretMeta {
    let time = time_of(&metadata["created_time"]);
    SecretMeta {
        path: path.clone(),
        version: metadata["version"].as_u64().unwrap_or(0),
        created_at: time,
        updated_at: time,
    }
}

/// A secret's full metadata (`GET …/metadata/…`'s `data`).
pub struct Versions<'a>(pub &'a Value);

impl Versions<'_> {
    /// The current version number (0 when none).
    pub fn current(&self) -> u64 {
        self.0["current_version"].as_u64().unwrap_or(0)
    }

    /// Whether version `n` is readable: present, not soft-deleted, not destroyed.
    pub fn live(&self, n: u64) -> bool {
        let version = &self.0["versions"][n.to_string()];
        version.is_object()
            && version["destroyed"].as_bool() != Some(true)
            && version["deletion_time"].as_str().is_none_or(str::is_empty)
    }

    /// The metadata of the current version, if it is live.
    pub fn current_meta(&self, path: &SecretPath) -> Option<SecretMeta> {
        let current = self.current();
        self.live(current).then(|| SecretMeta {
            path: path.clone(),
            version: current,
            created_at: time_of(&self.0["created_time"]),
            updated_at: time_of(&self.0["updated_time"]),
        })
    }

    /// The earlier live versions, newest first.
    pub fn earlier(&self, path: &SecretPath) -> Vec<SecretMeta> {
        let created = time_of(&self.0["created_time"]);
        (1..self.current())
            .rev()
            .filter(|n| self.live(*n))
            .map(|n| SecretMeta {
                path: path.clone(),
                version: n,
                created_at: created,
                updated_at: time_of(&self.0["versions"][n.to_string()]["created_time"]),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use serde_json::json;

    use super::super::super::settings::{OpenBaoAuth, OpenBaoSettings};
    use super::*;
    use crate::test_support::path;

    fn settings(mount: &str, prefix: &str) -> OpenBaoSettings {
        OpenBaoSettings {
            url: "http://127.0.0.1:8200".into(),
            mount: mount.into(),
            prefix: prefix.into(),
            namespace: None,
            ca_cert: None,
            auth: OpenBaoAuth::Token {
                token_path: SecretPath::parse("openbao/team/token").unwrap(),
            },
            cache_ttl: Duration::ZERO,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn paths_put_the_prefix_inside_the_mount() {
        let kv = KvLayout::new(&settings("secret", "auth-hub"));
        assert_eq!(kv.data(&path("team/x")), "secret/data/auth-hub/team/x");
        assert_eq!(kv.metadata("team"), "secret/metadata/auth-hub/team");
        assert_eq!(kv.metadata(""), "secret/metadata/auth-hub");
        let bare = KvLayout::new(&settings("/kv/", ""));
        assert_eq!(bare.data(&path("team/x")), "kv/data/team/x");
        assert_eq!(bare.metadata(""), "kv/metadata/");
    }

    #[test]
    fn value_field_or_the_only_field() {
        let p = path("team/x");
        let v = value_of("team", &p, &json!({"value": "a", "other": "b"})).unwrap();
        assert_eq!(v.expose(), "a");
        let v = value_of("team", &p, &json!({"password": "c"})).unwrap();
        assert_eq!(v.expose(), "c");
    }

    #[test]
    fn several_fields_without_value_name_them_not_their_content() {
        let err = value_of(
            "team",
            &path("team/x"),
            &json!({"user": "u1", "pass": "p1"}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("2 fields (pass, user)"), "{err}");
        assert!(err.contains("team/x"), "{err}");
        assert!(!err.contains("u1") && !err.contains("p1"), "{err}");
    }

    #[test]
    fn oversized_and_non_string_values_are_unusable() {
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        let err = value_of("team", &path("team/x"), &json!({ "value": big })).unwrap_err();
        assert!(err.to_string().contains("over the hub's limit"), "{err}");
        let err = value_of("team", &path("team/x"), &json!({"value": 3})).unwrap_err();
        assert!(err.to_string().contains("not a string"), "{err}");
        assert!(value_of("team", &path("team/x"), &json!({})).is_err());
    }

    #[test]
    fn versions_skip_deleted_and_destroyed() {
        let meta = json!({
            "current_version": 3,
            "created_time": "2024-01-01T00:00:00Z",
            "updated_time": "2024-01-03T00:00:00Z",
            "versions": {
                "1": {"created_time": "2024-01-01T00:00:00Z", "deletion_time": "", "destroyed": false},
                "2": {"created_time": "2024-01-02T00:00:00Z", "deletion_time": "", "destroyed": true},
                "3": {"created_time": "2024-01-03T00:00:00Z", "deletion_time": "2024-01-04T00:00:00Z", "destroyed": false}
            }
        });
        let versions = Versions(&meta);
        assert!(versions.current_meta(&path("a/b")).is_none());
        let earlier = versions.earlier(&path("a/b"));
        assert_eq!(earlier.len(), 1);
        assert_eq!(earlier[0].version, 1);
    }

    #[test]
    fn write_body_carries_cas_only_when_given() {
        let value = SecretValue::new("s".into());
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        assert_eq!(
            parse(&write_body(&value, None)),
            json!({"data": {"value": "s"}})
        );
        assert_eq!(
            parse(&write_body(&value, Some(0))),
            json!({"data": {"value": "s"}, "options": {"cas": 0}})
        );
        let quoted = SecretValue::new("a\"b\\c\n".into());
        assert_eq!(
            parse(&write_body(&quoted, None))["data"]["value"],
            "a\"b\\c\n"
        );
    }
}
