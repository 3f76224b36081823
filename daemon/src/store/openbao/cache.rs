//! The short-lived value cache of an OpenBao backend (`cache_ttl`, default zero: nothing is
//! cached, every read asks the server). A value read or written is served again until its TTL
//! passes; a write or delete through the hub drops the path at once. Bounded in entries, so a
//! long listing cannot grow it without limit.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use auth_hub_protocol::SecretPath;

use super::super::StoredSecret;

/// Entries kept at most; when full, expired entries go first, then everything.
const MAX_ENTRIES: usize = 1024;

/// Values by path, each with the instant it expires.
pub struct Cache {
    ttl: Duration,
    entries: Mutex<HashMap<SecretPath, (Instant, StoredSecret)>>,
}

impl Cache {
    /// A cache keeping values for `ttl` (zero: none).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached value of `path`, if it has not expired.
    pub fn get(&self, path: &SecretPath) -> Option<StoredSecret> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(path) {
            Some((expires, secret)) if Instant::now() < *expires => Some(secret.clone()),
            Some(_) => {
                entries.remove(path);
                None
            }
            None => None,
        }
    }

    /// Keeps `secret` for the TTL.
    pub fn put(&self, secret: &StoredSecret) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            let now = Instant::now();
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            secret.meta.path.clone(),
            (Instant::now() + self.ttl, secret.clone()),
        );
    }

    /// Drops `path` (it was written or deleted).
    pub fn forget(&self, path: &SecretPath) {
        if self.ttl.is_zero() {
            return;
        }
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(path);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use auth_hub_protocol::SecretValue;
    use chrono::Utc;

    use super::super::super::SecretMeta;
    use super::*;

    fn secret(path: &str) -> StoredSecret {
        StoredSecret {
            value: SecretValue::new("v".into()),
            meta: SecretMeta {
                path: SecretPath::parse(path).unwrap(),
                version: 1,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            },
        }
    }

    #[test]
    fn zero_ttl_keeps_nothing() {
        let cache = Cache::new(Duration::ZERO);
        cache.put(&secret("team/a"));
        assert!(cache.get(&SecretPath::parse("team/a").unwrap()).is_none());
    }

    #[test]
    fn values_are_served_until_forgotten() {
        let cache = Cache::new(Duration::from_secs(60));
        let path = SecretPath::parse("team/a").unwrap();
        cache.put(&secret("team/a"));
        assert_eq!(cache.get(&path).unwrap().value.expose(), "v");
        cache.forget(&path);
        assert!(cache.get(&path).is_none());
    }
}
