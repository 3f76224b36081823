//! The keychain backend where no Secret Service client is built (every platform but Linux): each
//! call fails with what to do. macOS would need an index item beside the Keychain items, since
//! the Keychain cannot be searched by custom attributes; it is not built yet.

use auth_hub_protocol::{SecretPath, SecretValue};

use super::Failure;
use crate::store::{SecretMeta, StoredSecret};

/// No connection can be made here.
pub(super) enum Connection {}

pub(super) fn connect() -> Result<Connection, Failure> {
    unsupported()
}

fn unsupported<T>() -> Result<T, Failure> {
    Err(Failure::Unreachable(
        "the keychain backend is only built for the Secret Service on Linux; route these paths \
         to the file store on this platform"
            .to_owned(),
    ))
}

pub(super) fn get(
    _service: &Connection,
    _hub: &str,
    _path: &SecretPath,
) -> Result<Option<StoredSecret>, Failure> {
    unsupported()
}

pub(super) fn put(
    _service: &Connection,
    _hub: &str,
    _path: &SecretPath,
    _value: &SecretValue,
) -> Result<SecretMeta, Failure> {
    unsupported()
}

pub(super) fn delete(
    _service: &Connection,
    _hub: &str,
    _path: &SecretPath,
) -> Result<bool, Failure> {
    unsupported()
}

pub(super) fn list(
    _service: &Connection,
    _hub: &str,
    _prefix: &str,
) -> Result<Vec<SecretMeta>, Failure> {
    unsupported()
}

pub(super) fn probe(_service: &Connection) -> Result<(), Failure> {
    unsupported()
}
