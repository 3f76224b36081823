//! The memory store (`--store memory`), and [`SecretMap`], the versioned map every backend keeps
//! in memory.
//!
//! [`SecretMap`] implements the store semantics once (version numbering, kept history, whole-segment
//! listing); [`MemoryStore`] guards one with a lock, and the file store seals one into its file.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{PoisonError, RwLock};

use auth_hub_protocol::{SecretPath, SecretValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{SecretMeta, SecretStore, StoreError, StoredSecret};

/// One version of a secret: its value and metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Version {
    value: SecretValue,
    meta: SecretMeta,
}

/// A secret's current version and the earlier ones kept, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Versions {
    current: Version,
    earlier: VecDeque<Version>,
}

/// Secrets by path, each with its kept history. Values are zeroized when dropped; `Debug` shows
/// none of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecretMap {
    /// Visible to the file store, which seals it beside the audit anchor.
    pub(super) secrets: BTreeMap<SecretPath, Versions>,
}

impl SecretMap {
    /// The current value at `path`.
    pub fn get(&self, path: &SecretPath) -> Option<StoredSecret> {
        self.secrets.get(path).map(|versions| StoredSecret {
            value: versions.current.value.clone(),
            meta: versions.current.meta.clone(),
        })
    }

    /// Makes `value` the current version of `path` at time `now`, keeping at most `keep` earlier
    /// versions. Returns the new version's metadata.
    pub fn put(
        &mut self,
        path: &SecretPath,
        value: SecretValue,
        now: DateTime<Utc>,
        keep: usize,
    ) -> SecretMeta {
        match self.secrets.get_mut(path) {
            Some(versions) => {
                let meta = SecretMeta {
                    path: path.clone(),
                    version: versions.current.meta.version.saturating_add(1),
                    created_at: versions.current.meta.created_at,
                    updated_at: now,
                };
                let previous = std::mem::replace(
                    &mut versions.current,
                    Version {
                        value,
                        meta: meta.clone(),
                    },
                );
                versions.earlier.push_front(previous);
                versions.earlier.truncate(keep);
                meta
            }
            None => {
                let meta = SecretMeta {
                    path: path.clone(),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                };
                self.secrets.insert(
                    path.clone(),
                    Versions {
                        current: Version {
                            value,
                            meta: meta.clone(),
                        },
                        earlier: VecDeque::new(),
                    },
                );
                meta
            }
        }
    }

    /// Forgets `path` and its history; `false` if it was absent.
    pub fn delete(&mut self, path: &SecretPath) -> bool {
        self.secrets.remove(path).is_some()
    }

    /// Metadata of the current versions under the whole-segment `prefix`, sorted by path.
    pub fn list(&self, prefix: &str) -> Vec<SecretMeta> {
        self.secrets
            .iter()
            .filter(|(path, _)| path.starts_with_segments(prefix))
            .map(|(_, versions)| versions.current.meta.clone())
            .collect()
    }

    /// Metadata of the earlier versions of `path`, newest first.
    pub fn history(&self, path: &SecretPath) -> Vec<SecretMeta> {
        self.secrets
            .get(path)
            .map(|versions| {
                versions
                    .earlier
                    .iter()
                    .map(|version| version.meta.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Number of paths held.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// True when no path is held.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// A store that keeps secrets in memory only; everything is gone when the hub stops.
#[derive(Debug)]
pub struct MemoryStore {
    map: RwLock<SecretMap>,
    history: usize,
}

impl MemoryStore {
    /// An empty store keeping `history` earlier versions per secret.
    pub fn new(history: usize) -> Self {
        Self {
            map: RwLock::new(SecretMap::default()),
            history,
        }
    }
}

impl SecretStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn key_source(&self) -> String {
        "none".to_owned()
    }

    fn reads_from_memory(&self) -> bool {
        true
    }

    fn get(&self, path: &SecretPath) -> Result<Option<StoredSecret>, StoreError> {
        Ok(self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path))
    }

    fn put(&self, path: &SecretPath, value: SecretValue) -> Result<SecretMeta, StoreError> {
        Ok(self
            .map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .put(path, value, Utc::now(), self.history))
    }

    fn delete(&self, path: &SecretPath) -> Result<bool, StoreError> {
        Ok(self
            .map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .delete(path))
    }

    fn list(&self, prefix: &str) -> Result<Vec<SecretMeta>, StoreError> {
        Ok(self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .list(prefix))
    }

    fn history(&self, path: &SecretPath) -> Result<Vec<SecretMeta>, StoreError> {
        Ok(self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .history(path))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::thread;

    use super::*;
    use crate::test_support::path;

    #[test]
    fn put_get_delete() {
        let store = MemoryStore::new(10);
        let p = path("github/alice/token");
        assert!(store.get(&p).unwrap().is_none());
        let meta = store.put(&p, "ghp_one".into()).unwrap();
        assert_eq!(meta.version, 1);
        let got = store.get(&p).unwrap().unwrap();
        assert_eq!(got.value.expose(), "ghp_one");
        assert_eq!(got.meta, meta);
        assert!(store.delete(&p).unwrap());
        assert!(!store.delete(&p).unwrap());
        assert!(store.get(&p).unwrap().is_none());
        assert_eq!(store.put(&p, "again".into()).unwrap().version, 1);
    }

    #[test]
    fn versions_and_history() {
        let store = MemoryStore::new(2);
        let p = path("cargo/token");
        let first = store.put(&p, "v1".into()).unwrap();
        let second = store.put(&p, "v2".into()).unwrap();
        let third = store.put(&p, "v3".into()).unwrap();
        let fourth = store.put(&p, "v4".into()).unwrap();
        assert_eq!(fourth.version, 4);
        assert_eq!(fourth.created_at, first.created_at);
        assert!(fourth.updated_at >= first.updated_at);
        assert_eq!(store.history(&p).unwrap(), vec![third, second]);
        assert_eq!(store.get(&p).unwrap().unwrap().value.expose(), "v4");
        assert!(store.history(&path("absent")).unwrap().is_empty());
        let none = MemoryStore::new(0);
        none.put(&p, "a".into()).unwrap();
        none.put(&p, "b".into()).unwrap();
        assert!(none.history(&p).unwrap().is_empty());
    }

    #[test]
    fn list_is_whole_segment_and_sorted() {
        let store = MemoryStore::new(10);
        for p in [
            "github/alice/token",
            "github/ali/token",
            "github/alice/deploy",
            "gitlab/alice/token",
        ] {
            store.put(&path(p), "x".into()).unwrap();
        }
        let names = |prefix: &str| -> Vec<String> {
            store
                .list(prefix)
                .unwrap()
                .into_iter()
                .map(|m| m.path.to_string())
                .collect()
        };
        assert_eq!(names("github/ali"), vec!["github/ali/token"]);
        assert_eq!(
            names("github/alice/"),
            vec!["github/alice/deploy", "github/alice/token"]
        );
        assert_eq!(names("").len(), 4);
        assert_eq!(
            names("github"),
            vec![
                "github/ali/token",
                "github/alice/deploy",
                "github/alice/token"
            ]
        );
        assert!(names("git").is_empty());
    }

    #[test]
    fn concurrent_puts() {
        let store = Arc::new(MemoryStore::new(3));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = Arc::clone(&store);
                thread::spawn(move || {
                    for i in 0..50 {
                        store
                            .put(&path(&format!("t{t}/s")), format!("{i}").into())
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        for t in 0..8 {
            let got = store.get(&path(&format!("t{t}/s"))).unwrap().unwrap();
            assert_eq!(got.value.expose(), "49");
            assert_eq!(got.meta.version, 50);
        }
    }

    #[test]
    fn debug_hides_values() {
        let mut map = SecretMap::default();
        map.put(&path("a/b"), "hunter2-secret".into(), Utc::now(), 5);
        map.put(&path("a/b"), "hunter3-secret".into(), Utc::now(), 5);
        assert!(!format!("{map:?}").contains("secret\""));
        assert!(!format!("{map:?}").contains("hunter"));
    }
}
