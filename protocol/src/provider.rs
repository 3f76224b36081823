//! AuthProvider records (the second seed's model): who may authenticate users for an app of an
//! org, and how. A record is unique per `(org, app, type)` and addressed as `ORG/APP/TYPE`
//! (`osf/cli/oidc`); every change makes a new version, and the versions are kept as its history
//! (the seed's audit table). Removing a record is a soft delete: it stays in the history.
//!
//! This file holds the data and its validation; the hub's `providers.rs` stores it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest `ORG`, `APP` or `TYPE` segment.
pub const MAX_PROVIDER_SEGMENT: usize = 64;

/// Why an `ORG/APP/TYPE` address or a record field is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// Not three `/`-separated segments.
    #[error("provider {given:?} must be ORG/APP/TYPE, such as osf/cli/oidc")]
    Shape {
        /// The text as given (at most 128 characters of it).
        given: String,
    },
    /// A segment is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    #[error("provider {part} {value:?} is invalid: {reason}")]
    Segment {
        /// `org`, `app` or `type`.
        part: &'static str,
        /// The segment (at most 64 characters of it).
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A field's value is not acceptable (an issuer that is not an https URL, …).
    #[error("provider field {field} is invalid: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// A provider's unique address, `ORG/APP/TYPE`. Each segment is 1–64 bytes of
/// `[A-Za-z0-9._-]`, never `.` or `..`. Types the hub knows: `oidc`, `auth0` (both OpenID
/// Connect), `tauth-key`, `melt-key`; others are accepted and stored (the seed's list is
/// extensible) but get no OIDC behaviour.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderId {
    org: String,
    app: String,
    kind: String,
}

impl ProviderId {
    /// Builds an address from its parts.
    ///
    /// # Errors
    /// [`ProviderError::Segment`] naming the bad part.
    pub fn new(org: &str, app: &str, kind: &str) -> Result<Self, ProviderError> {
        validate_segment("org", org)?;
        validate_segment("app", app)?;
        validate_segment("type", kind)?;
        Ok(Self {
            org: org.to_owned(),
            app: app.to_owned(),
            kind: kind.to_owned(),
        })
    }

    /// Parses `ORG/APP/TYPE`.
    ///
    /// # Errors
    /// [`ProviderError::Shape`] or [`ProviderError::Segment`].
    pub fn parse(text: &str) -> Result<Self, ProviderError> {
        let parts: Vec<&str> = text.split('/').collect();
        let [org, app, kind] = parts.as_slice() else {
            return Err(ProviderError::Shape {
                given: text.chars().take(128).collect(),
            });
        };
        Self::new(org, app, kind)
    }

    /// The org (`osf`).
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The app (`cli`).
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The type (`oidc`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// True for the types that speak OpenID Connect (`oidc`, `auth0`).
    pub fn is_oidc(&self) -> bool {
        matches!(self.kind.as_str(), "oidc" | "auth0")
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.org, self.app, self.kind)
    }
}

impl FromStr for ProviderId {
    type Err = ProviderError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for ProviderId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProviderId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn validate_segment(part: &'static str, value: &str) -> Result<(), ProviderError> {
    let bad = |reason| {
        Err(ProviderError::Segment {
            part,
            value: value.chars().take(MAX_PROVIDER_SEGMENT).collect(),
            reason,
        })
    };
    if value.is_empty() {
        return bad("it is empty");
    }
    if value.len() > MAX_PROVIDER_SEGMENT {
        return bad("it is longer than 64 bytes");
    }
    if value == "." || value == ".." {
        return bad("it is . or ..");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("allowed are A-Z a-z 0-9 . _ -");
    }
    Ok(())
}

/// Who made a change (the seed's `InfoStar`): the key's name and the caller's process, as every
/// decision in the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The key the caller authenticated with.
    pub key: String,
    /// The caller's uid.
    pub uid: u32,
    /// The caller's pid, when the platform reports it.
    #[serde(default)]
    pub pid: Option<u32>,
    /// The caller's executable, when it could be read.
    #[serde(default)]
    pub exe: Option<String>,
}

/// A record's settable fields. For an OIDC provider (`oidc`, `auth0`) `issuer` and `client_id`
/// are required; `scopes` defaults to `openid`, `audiences` to the client id, `algorithms` to
/// the asymmetric ones the hub verifies (never `none`, never HS*).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderFields {
    /// The service it belongs to (`/allai/chat/slack`).
    #[serde(default)]
    pub service_handle: Option<String>,
    /// The OpenID issuer URL (`https://id.example.com`); its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The OAuth client id the CLI logs in as.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Scopes requested at login.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Audiences accepted in a provider JWT's `aud`.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Signature algorithms accepted (`RS256`, `ES256`, `EdDSA`, …).
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// Other attributes (the seed's `extra`), `k=v`.
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

/// A provider record at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRecord {
    /// Its address.
    pub id: ProviderId,
    /// Starts at 1; every change adds one.
    pub version: u64,
    /// Its fields at this version.
    pub fields: ProviderFields,
    /// When version 1 was written (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub created_at: DateTime<Utc>,
    /// Who wrote version 1.
    pub created_by: Actor,
    /// When this version was written (unix milliseconds).
    #[serde(with = "crate::time::millis")]
    pub updated_at: DateTime<Utc>,
    /// Who wrote this version.
    pub updated_by: Actor,
    /// When it was removed (soft delete), if it was.
    #[serde(default, with = "crate::time::opt_millis")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One entry of a record's history: the record as that version left it, and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderVersion {
    /// `add`, `update` or `remove`.
    pub action: String,
    /// The names of the fields that changed from the previous version (every set field for
    /// `add`; none for `remove`).
    #[serde(default)]
    pub changed: Vec<String>,
    /// The record as of this version.
    pub record: ProviderRecord,
}

/// Owner: create a record. A live record with the same `ORG/APP/TYPE` is a `conflict`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddProvider {
    /// Its address.
    pub id: ProviderId,
    /// Its fields.
    pub fields: ProviderFields,
}

/// Owner: change a live record, making a new version. Only the fields given change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateProvider {
    /// Its address.
    pub id: ProviderId,
    /// The changes.
    pub change: ProviderChange,
}

/// What an update changes; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderChange {
    /// New service handle; `Some("")` clears it.
    #[serde(default)]
    pub service_handle: Option<String>,
    /// New issuer.
    #[serde(default)]
    pub issuer: Option<String>,
    /// New client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Replaces the scopes.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Replaces the audiences.
    #[serde(default)]
    pub audiences: Option<Vec<String>>,
    /// Replaces the algorithms.
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// Attributes set (`k=v`).
    #[serde(default)]
    pub set_extra: BTreeMap<String, String>,
    /// Attributes removed.
    #[serde(default)]
    pub unset_extra: Vec<String>,
}

/// Records, live ones unless `all`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListProviders {
    /// Also the removed ones.
    #[serde(default)]
    pub all: bool,
}

/// One record (the live one, else the last removed one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowProvider {
    /// Its address.
    pub id: ProviderId,
}

/// Every version of a record, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderHistory {
    /// Its address.
    pub id: ProviderId,
}

/// Owner: soft-delete a live record (a new version with `deleted_at` set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveProvider {
    /// Its address.
    pub id: ProviderId,
}

/// To `add_provider`, `update_provider`, `show_provider` and `remove_provider`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderReply {
    /// The record as it now stands.
    pub record: ProviderRecord,
}

/// To `list_providers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderList {
    /// The records, sorted by address.
    pub records: Vec<ProviderRecord>,
}

/// To `provider_history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderHistoryReply {
    /// The versions, oldest first.
    pub versions: Vec<ProviderVersion>,
}

// ---- Field validation (shared by the hub, which enforces it, and clients, which may check
// early). ----

/// Signature algorithms a provider record may accept: asymmetric only, so a public key can
/// never be used as an HMAC secret, and never `none`.
pub const ALLOWED_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Most `extra` attributes on one record.
pub const MAX_EXTRA: usize = 64;

/// Longest value of any text field (`service_handle`, `issuer`, `client_id`, a scope, an
/// audience, an `extra` value), in bytes.
pub const MAX_FIELD_VALUE: usize = 1024;

/// Most entries in `scopes` or `audiences`.
pub const MAX_LIST: usize = 64;

/// Longest `extra` attribute name, in bytes.
pub const MAX_EXTRA_KEY: usize = 64;

impl ProviderFields {
    /// The field names this record sets (for a version's `changed` list on `add`):
    /// `service_handle`, `issuer`, `client_id`, `scopes`, `audiences`, `algorithms`, and
    /// `extra.KEY` for each attribute.
    pub fn set_names(&self) -> Vec<String> {
        Self::default().changed_to(self)
    }

    /// The names of the fields that differ from `self` in `new`, in the order of
    /// [`ProviderFields::set_names`].
    pub fn changed_to(&self, new: &Self) -> Vec<String> {
        let mut changed = Vec::new();
        let mut note = |differs: bool, name: &str| {
            if differs {
                changed.push(name.to_owned());
            }
        };
        note(self.service_handle != new.service_handle, "service_handle");
        note(self.issuer != new.issuer, "issuer");
        note(self.client_id != new.client_id, "client_id");
        note(self.scopes != new.scopes, "scopes");
        note(self.audiences != new.audiences, "audiences");
        note(self.algorithms != new.algorithms, "algorithms");
        let keys: std::collections::BTreeSet<&String> =
            self.extra.keys().chain(new.extra.keys()).collect();
        for key in keys {
            if self.extra.get(key) != new.extra.get(key) {
                changed.push(format!("extra.{key}"));
            }
        }
        changed
    }

    /// Fills the OIDC defaults for a record of type `id` (`oidc`, `auth0`): `scopes` empty →
    /// `["openid"]`, `audiences` empty → `[client_id]`. `algorithms` stays empty, which means
    /// the hub's default set. Other types are left as they are.
    pub fn with_defaults(mut self, id: &ProviderId) -> Self {
        if id.is_oidc() {
            if self.scopes.is_empty() {
                self.scopes = vec!["openid".to_owned()];
            }
            if self.audiences.is_empty() {
                if let Some(client_id) = &self.client_id {
                    self.audiences = vec![client_id.clone()];
                }
            }
        }
        self
    }

    /// Checks the fields for a record of type `id`: `issuer` an absolute https URL (http only
    /// on a loopback host) without query or fragment; `issuer` and `client_id` required for
    /// `oidc`/`auth0`; algorithms from [`ALLOWED_ALGORITHMS`]; scopes without whitespace; sizes
    /// within [`MAX_FIELD_VALUE`], [`MAX_LIST`], [`MAX_EXTRA`]; `extra` names 1–64 bytes of
    /// `[A-Za-z0-9._-]`.
    ///
    /// # Errors
    /// [`ProviderError::Field`] naming the first field that is not acceptable.
    pub fn check(&self, id: &ProviderId) -> Result<(), ProviderError> {
        let field = |field: &'static str, reason: String| ProviderError::Field { field, reason };
        check_text("service_handle", self.service_handle.as_deref())?;
        check_text("issuer", self.issuer.as_deref())?;
        check_text("client_id", self.client_id.as_deref())?;
        if let Some(issuer) = &self.issuer {
            crate::oidc::check_url("issuer", issuer)
                .map_err(|error| field("issuer", error.to_string()))?;
            if issuer.contains(['?', '#']) {
                return Err(field(
                    "issuer",
                    "an issuer has no query or fragment".to_owned(),
                ));
            }
        }
        if id.is_oidc() {
            if self.issuer.is_none() {
                return Err(field(
                    "issuer",
                    format!("a {} provider needs --issuer", id.kind()),
                ));
            }
            if self.client_id.is_none() {
                return Err(field(
                    "client_id",
                    format!("a {} provider needs --client-id", id.kind()),
                ));
            }
        }
        check_list("scopes", &self.scopes)?;
        if let Some(bad) = self
            .scopes
            .iter()
            .find(|scope| scope.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(field(
                "scopes",
                format!("scope {bad:?} contains whitespace"),
            ));
        }
        check_list("audiences", &self.audiences)?;
        for algorithm in &self.algorithms {
            if !ALLOWED_ALGORITHMS.contains(&algorithm.as_str()) {
                return Err(field(
                    "algorithms",
                    format!(
                        "{:?} is not accepted; use one of {}",
                        algorithm.chars().take(32).collect::<String>(),
                        ALLOWED_ALGORITHMS.join(", ")
                    ),
                ));
            }
        }
        if self.extra.len() > MAX_EXTRA {
            return Err(field(
                "extra",
                format!("at most {MAX_EXTRA} attributes, got {}", self.extra.len()),
            ));
        }
        for (key, value) in &self.extra {
            check_extra_key(key)?;
            if value.len() > MAX_FIELD_VALUE {
                return Err(field(
                    "extra",
                    format!("the value of {key} is longer than {MAX_FIELD_VALUE} bytes"),
                ));
            }
        }
        Ok(())
    }
}

impl ProviderChange {
    /// True when the change changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// `fields` with this change applied: `Some("")` clears `service_handle`; lists are
    /// replaced; `set_extra` then `unset_extra`. When `client_id` changes and the audiences
    /// were exactly the old client id (the default), they follow the new one.
    ///
    /// # Errors
    /// [`ProviderError::Field`] for an `unset_extra` name that is not a valid attribute name.
    pub fn apply(&self, fields: &ProviderFields) -> Result<ProviderFields, ProviderError> {
        let mut new = fields.clone();
        if let Some(handle) = &self.service_handle {
            new.service_handle = (!handle.is_empty()).then(|| handle.clone());
        }
        if let Some(issuer) = &self.issuer {
            new.issuer = Some(issuer.clone());
        }
        if let Some(client_id) = &self.client_id {
            let default_audience = fields
                .client_id
                .as_ref()
                .is_some_and(|old| fields.audiences == [old.clone()]);
            if default_audience && self.audiences.is_none() {
                new.audiences = vec![client_id.clone()];
            }
            new.client_id = Some(client_id.clone());
        }
        if let Some(scopes) = &self.scopes {
            new.scopes.clone_from(scopes);
        }
        if let Some(audiences) = &self.audiences {
            new.audiences.clone_from(audiences);
        }
        if let Some(algorithms) = &self.algorithms {
            new.algorithms.clone_from(algorithms);
        }
        for (key, value) in &self.set_extra {
            new.extra.insert(key.clone(), value.clone());
        }
        for key in &self.unset_extra {
            check_extra_key(key)?;
            new.extra.remove(key);
        }
        Ok(new)
    }
}

fn check_text(field: &'static str, value: Option<&str>) -> Result<(), ProviderError> {
    let Some(value) = value else { return Ok(()) };
    let reason = if value.is_empty() {
        "it is empty".to_owned()
    } else if value.len() > MAX_FIELD_VALUE {
        format!("it is longer than {MAX_FIELD_VALUE} bytes")
    } else if value.chars().any(char::is_control) {
        "it contains control characters".to_owned()
    } else {
        return Ok(());
    };
    Err(ProviderError::Field { field, reason })
}

fn check_list(field: &'static str, values: &[String]) -> Result<(), ProviderError> {
    if values.len() > MAX_LIST {
        return Err(ProviderError::Field {
            field,
            reason: format!("at most {MAX_LIST} entries, got {}", values.len()),
        });
    }
    for value in values {
        check_text(field, Some(value))?;
    }
    Ok(())
}

fn check_extra_key(key: &str) -> Result<(), ProviderError> {
    let valid = !key.is_empty()
        && key.len() <= MAX_EXTRA_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(ProviderError::Field {
            field: "extra",
            reason: format!(
                "attribute name {:?} must be 1-{MAX_EXTRA_KEY} bytes of A-Z a-z 0-9 . _ -",
                key.chars().take(MAX_EXTRA_KEY).collect::<String>()
            ),
        })
    }
}
