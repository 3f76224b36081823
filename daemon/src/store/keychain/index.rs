//! The keychain backend's layout for keychains that cannot be searched by attribute (the macOS
//! Keychain): each secret one `keyring` entry, service `auth-hub`, account `<hub>#<path>`, and
//! one index entry per hub, account `<hub>#`, holding the JSON map of every path's metadata, which
//! `get` and `list` read instead of a search.
//!
//! A `put` writes the value, then the index; a `delete` removes the path from the index, then
//! the value. A crash between the two steps leaves at worst a value the index does not name
//! (invisible, overwritten by the next `put`) or an index one version behind its value. The
//! index item is read and rewritten whole on every write: fine for the tens of secrets a
//! keychain holds. Built on every platform so that it is tested against the Secret Service
//! (`daemon/tests/keychain_store.rs`); used by default only on macOS, where it cannot be tested
//! here. Prompts are the keychain's own: on Linux, `keyring` waits for an unlock prompt, so the
//! caller's timeout is what bounds a request on a locked keychain.

use std::collections::BTreeMap;

use auth_hub_protocol::{SecretPath, SecretValue};
use chrono::Utc;
use zeroize::Zeroizing;

use super::item::{self, SERVICE};
use super::Failure;
use crate::store::{SecretMeta, StoredSecret};

/// The account of the value entry of `path`.
pub fn value_account(hub: &str, path: &SecretPath) -> String {
    format!("{hub}#{path}")
}

/// The account of the hub's index entry (no path is empty, so it cannot clash).
pub fn index_account(hub: &str) -> String {
    format!("{hub}#")
}

fn classify(error: keyring::Error) -> Failure {
    match error {
        keyring::Error::NoStorageAccess(_) => Failure::Locked,
        keyring::Error::PlatformFailure(e) => Failure::Unreachable(e.to_string()),
        other => Failure::Other(other.to_string()),
    }
}

fn entry(account: &str) -> Result<keyring::Entry, Failure> {
    keyring::Entry::new(SERVICE, account).map_err(classify)
}

/// The entry's text, or `None` if there is no entry.
fn read(account: &str) -> Result<Option<Zeroizing<String>>, Failure> {
    match entry(account)?.get_password() {
        Ok(text) => Ok(Some(Zeroizing::new(text))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(error) => Err(classify(error)),
    }
}

type Index = BTreeMap<SecretPath, SecretMeta>;

fn read_index(hub: &str) -> Result<Index, Failure> {
    let Some(text) = read(&index_account(hub))? else {
        return Ok(Index::new());
    };
    serde_json::from_str(&text).map_err(|e| Failure::Unusable {
        path: index_account(hub),
        reason: format!("the hub's index entry is not an index: {e}"),
    })
}

fn write_index(hub: &str, index: &Index) -> Result<(), Failure> {
    let text = serde_json::to_string(index).map_err(|e| Failure::Other(e.to_string()))?;
    entry(&index_account(hub))?
        .set_password(&text)
        .map_err(classify)
}

/// The current value and metadata of `path`.
pub(super) fn get(hub: &str, path: &SecretPath) -> Result<Option<StoredSecret>, Failure> {
    let Some(meta) = read_index(hub)?.remove(path) else {
        return Ok(None);
    };
    Ok(read(&value_account(hub, path))?.map(|text| StoredSecret {
        value: SecretValue::new(text.as_str().to_owned()),
        meta,
    }))
}

/// Writes the next version of `path`: the value, then the index.
pub(super) fn put(
    hub: &str,
    path: &SecretPath,
    value: &SecretValue,
) -> Result<SecretMeta, Failure> {
    let mut index = read_index(hub)?;
    let meta = item::next_meta(path, index.get(path), Utc::now());
    entry(&value_account(hub, path))?
        .set_password(value.expose())
        .map_err(classify)?;
    index.insert(path.clone(), meta.clone());
    write_index(hub, &index)?;
    Ok(meta)
}

/// Forgets `path`: the index, then the value; `false` if the index did not name it.
pub(super) fn delete(hub: &str, path: &SecretPath) -> Result<bool, Failure> {
    let mut index = read_index(hub)?;
    if index.remove(path).is_none() {
        return Ok(false);
    }
    write_index(hub, &index)?;
    match entry(&value_account(hub, path))?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => {}
        // Unnamed by the index, the value is no longer served; the next put overwrites it.
        Err(error) => tracing::warn!(path = %path, %error, "cannot delete a keychain value"),
    }
    Ok(true)
}

/// Metadata of the hub's paths under the whole-segment `prefix`, sorted by path.
pub(super) fn list(hub: &str, prefix: &str) -> Result<Vec<SecretMeta>, Failure> {
    Ok(read_index(hub)?
        .into_values()
        .filter(|meta| meta.path.starts_with_segments(prefix))
        .collect())
}

/// A probe: reads the index entry.
pub(super) fn probe(hub: &str) -> Result<(), Failure> {
    read_index(hub).map(drop)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn accounts_cannot_clash() {
        let path = SecretPath::parse("index").unwrap();
        assert_eq!(value_account("/s", &path), "/s#index");
        assert_eq!(index_account("/s"), "/s#");
        assert_ne!(value_account("/s", &path), index_account("/s"));
    }
}
