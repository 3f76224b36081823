//! The keychain backend's calls to the Secret Service (Linux) over a connection the backend's
//! worker keeps: items found by the attributes [`super::item`] defines, prompts refused at once
//! (a hub has nobody to click them), and every failure sorted into [`Failure`].
//!
//! A `put` creates the new version's item first and only then deletes the older one(s), so a hub
//! killed between the two leaves both items and readers take the higher version: never a torn or
//! missing secret. Items found in a locked collection are reported as locked rather than
//! unlocked, because unlocking would ask the user through a prompt.

use std::collections::{BTreeMap, HashMap};

use auth_hub_protocol::{SecretPath, SecretValue};
use chrono::Utc;
use dbus_secret_service::{Collection, EncryptionType, Error, Item, SecretService};
use zeroize::Zeroizing;

use super::item;
use super::Failure;
use crate::store::{SecretMeta, StoredSecret};

/// Seconds a Secret Service prompt may stay open: none, it is dismissed at once.
const NO_PROMPT: u64 = 0;

/// D-Bus error names that mean nobody (or nothing usable) answers on the bus.
const UNREACHABLE_NAMES: &[&str] = &[
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.Timeout",
    "org.freedesktop.DBus.Error.TimedOut",
    "org.freedesktop.DBus.Error.NoServer",
    "org.freedesktop.DBus.Error.NoNetwork",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.FileNotFound",
    "org.freedesktop.DBus.Error.Spawn.ChildExited",
    "org.freedesktop.DBus.Error.Spawn.ExecFailed",
    "org.freedesktop.DBus.Error.UnknownMethod",
    "org.freedesktop.DBus.Error.UnknownObject",
];

/// The D-Bus error the Secret Service returns for an operation on a locked collection or item.
const IS_LOCKED: &str = "org.freedesktop.Secret.Error.IsLocked";

fn classify(error: Error) -> Failure {
    match error {
        Error::Locked | Error::Prompt => Failure::Locked,
        Error::Unavailable => Failure::Unreachable(error.to_string()),
        Error::Dbus(ref dbus) => {
            let name = dbus.name().unwrap_or_default();
            if name == IS_LOCKED {
                Failure::Locked
            } else if UNREACHABLE_NAMES.contains(&name) {
                Failure::Unreachable(dbus.message().unwrap_or(name).to_owned())
            } else {
                Failure::Other(format!(
                    "{name}: {}",
                    dbus.message().unwrap_or("no message")
                ))
            }
        }
        other => Failure::Other(other.to_string()),
    }
}

/// A session with the Secret Service (an encrypted D-Bus session, negotiated once).
pub(super) type Connection = SecretService;

/// Opens a session on the session bus named by `DBUS_SESSION_BUS_ADDRESS`.
pub(super) fn connect() -> Result<Connection, Failure> {
    SecretService::connect_with_max_prompt_timeout(EncryptionType::Dh, NO_PROMPT).map_err(|error| {
        match classify(error) {
            Failure::Other(reason) => Failure::Unreachable(reason),
            failure => failure,
        }
    })
}

/// The unlocked items matching `query` with their metadata, highest version first. Any match in
/// a locked collection is [`Failure::Locked`]; items whose attributes are not the hub's are
/// skipped with a warning (another tool wrote them).
fn find<'a>(
    service: &'a SecretService,
    query: HashMap<&str, &str>,
) -> Result<Vec<(Item<'a>, SecretMeta)>, Failure> {
    let found = service.search_items(query).map_err(classify)?;
    if !found.locked.is_empty() {
        return Err(Failure::Locked);
    }
    let mut items = Vec::with_capacity(found.unlocked.len());
    for candidate in found.unlocked {
        let attributes = candidate.get_attributes().map_err(classify)?;
        match item::meta_of(&attributes) {
            Ok(meta) => items.push((candidate, meta)),
            Err(reason) => {
                tracing::warn!(%reason, "skipping a keychain item that is not the hub's")
            }
        }
    }
    items.sort_by_key(|(_, meta)| std::cmp::Reverse(meta.version));
    Ok(items)
}

/// The current value and metadata of `path`.
pub(super) fn get(
    service: &Connection,
    hub: &str,
    path: &SecretPath,
) -> Result<Option<StoredSecret>, Failure> {
    let items = find(service, item::path_query(hub, path))?;
    let Some((current, meta)) = items.into_iter().next() else {
        return Ok(None);
    };
    let bytes = Zeroizing::new(current.get_secret().map_err(classify)?);
    let text = std::str::from_utf8(&bytes).map_err(|_| Failure::Unusable {
        path: path.to_string(),
        reason: "the item's secret is not UTF-8 text".to_owned(),
    })?;
    Ok(Some(StoredSecret {
        value: SecretValue::new(text.to_owned()),
        meta,
    }))
}

/// Writes the next version of `path`: a new item, then the older items deleted.
pub(super) fn put(
    service: &Connection,
    hub: &str,
    path: &SecretPath,
    value: &SecretValue,
) -> Result<SecretMeta, Failure> {
    let older = find(service, item::path_query(hub, path))?;
    let meta = item::next_meta(path, older.first().map(|(_, meta)| meta), Utc::now());
    let collection = unlocked_collection(service)?;
    let attributes = item::attributes(hub, &meta);
    let attributes: HashMap<&str, &str> = attributes
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    collection
        .create_item(
            &item::label(path),
            attributes,
            value.expose().as_bytes(),
            false,
            "text/plain",
        )
        .map_err(classify)?;
    for (stale, stale_meta) in older {
        if let Err(error) = stale.delete() {
            // The new item has the higher version, so it is served; the next put retries.
            tracing::warn!(path = %path, version = stale_meta.version, %error,
                "cannot delete an older keychain item");
        }
    }
    Ok(meta)
}

/// Deletes every item of `path`; `false` if there was none.
pub(super) fn delete(service: &Connection, hub: &str, path: &SecretPath) -> Result<bool, Failure> {
    let items = find(service, item::path_query(hub, path))?;
    let found = !items.is_empty();
    for (doomed, _) in items {
        doomed.delete().map_err(classify)?;
    }
    Ok(found)
}

/// Metadata of the hub's current versions under the whole-segment `prefix`, sorted by path.
pub(super) fn list(
    service: &Connection,
    hub: &str,
    prefix: &str,
) -> Result<Vec<SecretMeta>, Failure> {
    let mut current: BTreeMap<SecretPath, SecretMeta> = BTreeMap::new();
    for (_, meta) in find(service, item::hub_query(hub))? {
        if meta.path.starts_with_segments(prefix) && !current.contains_key(&meta.path) {
            // `find` sorts by version, highest first: the first seen is the current one.
            current.insert(meta.path.clone(), meta);
        }
    }
    Ok(current.into_values().collect())
}

/// A cheap probe: asks whether the default collection is locked.
pub(super) fn probe(service: &Connection) -> Result<(), Failure> {
    unlocked_collection(service).map(drop)
}

/// The collection new items go to (the default one, else any), refused when it is locked.
fn unlocked_collection(service: &Connection) -> Result<Collection<'_>, Failure> {
    let collection = service
        .get_default_collection()
        .or_else(|_| service.get_any_collection())
        .map_err(classify)?;
    if collection.is_locked().map_err(classify)? {
        return Err(Failure::Locked);
    }
    Ok(collection)
}
