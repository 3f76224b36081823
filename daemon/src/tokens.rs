//! Access tokens: short-lived opaque values the hub issues for one scope, held only in memory.
//!
//! A token is `hat_` followed by the base58 encoding of 32 random bytes. The [`TokenTable`] keys
//! its entries by the SHA-256 of the token text, so the table never holds a usable token and a
//! lookup's timing reveals nothing about one. A daemon restart forgets every token; clients simply
//! ask again. The table has a size cap: when full it drops expired tokens, then the ones closest to
//! expiry. Both are found through an index by expiry, so a full table (a script that started
//! tens of thousands of `hyperforge auth get` within a token's lifetime) costs each new token a
//! few map operations, not a scan of every token under the table's lock.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use auth_hub_protocol::{Access, AccessToken, Permissions, SecretPath, SecretScope};
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Prefix of every access token, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "hat_";
/// Random bytes in an access token.
const TOKEN_BYTES: usize = 32;
/// Default cap on live tokens.
pub const DEFAULT_MAX_TOKENS: usize = 65_536;

/// What an access token is bound to.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    /// The key it was issued to.
    pub key_name: String,
    /// The scope it covers and the permissions it carries.
    pub access: Access,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Why an access token was not accepted. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is unknown, revoked or expired.
    #[error("access token is unknown or expired")]
    Invalid,
    /// The token is valid but does not cover the path or lacks a permission.
    #[error("access token for {have} does not allow this request, which needs {need}")]
    Insufficient {
        /// The token's scope pattern and permissions, such as `github/alice/* (read)`.
        have: String,
        /// The scope pattern the request needs: the path's parent scope, such as `github/bob/*`.
        need: String,
    },
}

/// The live access tokens, by hash.
#[derive(Debug)]
pub struct TokenTable {
    entries: HashMap<[u8; 32], TokenEntry>,
    /// Every entry's expiry and hash, soonest first.
    by_expiry: BTreeSet<(DateTime<Utc>, [u8; 32])>,
    max_tokens: usize,
}

impl Default for TokenTable {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_TOKENS)
    }
}

impl TokenTable {
    /// An empty table holding at most `max_tokens` tokens (at least one).
    pub fn new(max_tokens: usize) -> Self {
        Self {
            entries: HashMap::new(),
            by_expiry: BTreeSet::new(),
            max_tokens: max_tokens.max(1),
        }
    }

    /// Issues a token for `key_name` allowing `access` that lives for `ttl`. Returns the token
    /// and its expiry.
    pub fn issue(
        &mut self,
        key_name: &str,
        access: Access,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> (AccessToken, DateTime<Utc>) {
        let expires_at = TimeDelta::from_std(ttl)
            .ok()
            .and_then(|delta| now.checked_add_signed(delta))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.make_room(now);
        let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        let encoded = Zeroizing::new(bs58::encode(bytes.as_ref()).into_string());
        let token = AccessToken::new(format!("{TOKEN_PREFIX}{}", encoded.as_str()));
        let hash = digest(&token);
        self.by_expiry.insert((expires_at, hash));
        self.entries.insert(
            hash,
            TokenEntry {
                key_name: key_name.to_owned(),
                access,
                expires_at,
            },
        );
        (token, expires_at)
    }

    /// The entry of a token that may `need` on `path` at `now`.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for an unknown or expired token; [`TokenError::Insufficient`] when
    /// its scope does not cover `path` or its permissions do not include `need`.
    pub fn check(
        &self,
        token: &AccessToken,
        path: &SecretPath,
        need: Permissions,
        now: DateTime<Utc>,
    ) -> Result<&TokenEntry, TokenError> {
        let entry = self.lookup(token, now)?;
        if entry.access.allows_path(path, need) {
            Ok(entry)
        } else {
            Err(TokenError::Insufficient {
                have: entry.access.to_string(),
                need: path.parent_scope().to_string(),
            })
        }
    }

    /// The entry of a token that is live at `now`.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for an unknown or expired token.
    pub fn lookup(
        &self,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> Result<&TokenEntry, TokenError> {
        self.entries
            .get(&digest(token))
            .filter(|entry| now < entry.expires_at)
            .ok_or(TokenError::Invalid)
    }

    /// Kills every token issued to `key_name`. Returns how many.
    pub fn revoke_key(&mut self, key_name: &str) -> usize {
        self.remove_where(|entry| entry.key_name == key_name)
    }

    /// Kills every token whose scope `scope` covers, of `key` only when given. Returns how many.
    pub fn revoke_scope(&mut self, scope: &SecretScope, key: Option<&str>) -> usize {
        self.remove_where(|entry| {
            key.is_none_or(|key| entry.key_name == key) && scope.covers_scope(&entry.access.scope)
        })
    }

    /// Drops tokens expired at `now`. Returns how many.
    pub fn purge_expired(&mut self, now: DateTime<Utc>) -> usize {
        let mut dropped = 0;
        while self
            .by_expiry
            .first()
            .is_some_and(|(expires_at, _)| *expires_at <= now)
        {
            self.drop_soonest();
            dropped += 1;
        }
        dropped
    }

    /// Tokens held, including expired ones not yet purged.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no token is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn remove_where(&mut self, mut doomed: impl FnMut(&TokenEntry) -> bool) -> usize {
        let Self {
            entries, by_expiry, ..
        } = self;
        let before = entries.len();
        entries.retain(|hash, entry| {
            let keep = !doomed(entry);
            if !keep {
                by_expiry.remove(&(entry.expires_at, *hash));
            }
            keep
        });
        before - entries.len()
    }

    /// Drops the token closest to expiry; false when there is none.
    fn drop_soonest(&mut self) -> bool {
        match self.by_expiry.pop_first() {
            Some((_, hash)) => {
                self.entries.remove(&hash);
                true
            }
            None => false,
        }
    }

    /// Frees at least one slot when the table is full.
    fn make_room(&mut self, now: DateTime<Utc>) {
        if self.entries.len() < self.max_tokens {
            return;
        }
        self.purge_expired(now);
        while self.entries.len() >= self.max_tokens && self.drop_soonest() {}
    }
}

fn digest(token: &AccessToken) -> [u8; 32] {
    Sha256::digest(token.expose().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{at, path};

    fn scope(pattern: &str, permissions: Permissions) -> Access {
        Access::new(
            SecretScope::parse(pattern).expect("valid test scope"),
            permissions,
        )
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn token_shape_and_lookup() {
        let mut table = TokenTable::new(8);
        let (token, expires) =
            table.issue("ci", scope("cargo/*", Permissions::READ), MINUTE, at(0));
        assert!(token.expose().starts_with(TOKEN_PREFIX));
        assert!(token.expose().len() > 40);
        assert_eq!(expires, at(60));
        let entry = table.lookup(&token, at(1)).expect("live");
        assert_eq!(entry.key_name, "ci");
        assert!(matches!(
            table.lookup(&AccessToken::from("hat_nope"), at(1)),
            Err(TokenError::Invalid)
        ));
        let (other, _) = table.issue("ci", scope("cargo/*", Permissions::READ), MINUTE, at(0));
        assert_ne!(other, token);
        assert!(!format!("{table:?}").contains(token.expose()));
    }

    #[test]
    fn scope_is_segment_wise() {
        let mut table = TokenTable::new(8);
        let (token, _) = table.issue(
            "owner",
            scope("github/alice/*", Permissions::READ),
            MINUTE,
            at(0),
        );
        let read = Permissions::READ;
        assert!(table
            .check(&token, &path("github/alice/token"), read, at(1))
            .is_ok());
        assert!(table
            .check(&token, &path("github/alice/ci/token"), read, at(1))
            .is_ok());
        assert_eq!(
            table
                .check(&token, &path("github/alicex/token"), read, at(1))
                .map(|e| e.key_name.clone()),
            Err(TokenError::Insufficient {
                have: "github/alice/* (read)".into(),
                need: "github/alicex/*".into(),
            })
        );
    }

    #[test]
    fn write_only_token_cannot_read() {
        let mut table = TokenTable::new(8);
        let (token, _) = table.issue("ci", scope("npm/*", Permissions::WRITE), MINUTE, at(0));
        let target = path("npm/token");
        assert!(table
            .check(&token, &target, Permissions::WRITE, at(1))
            .is_ok());
        assert!(matches!(
            table.check(&token, &target, Permissions::READ, at(1)),
            Err(TokenError::Insufficient { .. })
        ));
        assert!(matches!(
            table.check(&token, &target, Permissions::READ_WRITE, at(1)),
            Err(TokenError::Insufficient { .. })
        ));
    }

    #[test]
    fn tokens_expire() {
        let mut table = TokenTable::new(8);
        let (token, _) = table.issue("ci", scope("cargo/*", Permissions::READ), MINUTE, at(0));
        let target = path("cargo/token");
        assert!(table
            .check(&token, &target, Permissions::READ, at(59))
            .is_ok());
        assert!(matches!(
            table.check(&token, &target, Permissions::READ, at(60)),
            Err(TokenError::Invalid)
        ));
        assert_eq!(table.len(), 1);
        assert_eq!(table.purge_expired(at(60)), 1);
        assert!(table.is_empty());
        let (forever, expires) = table.issue(
            "ci",
            scope("cargo/*", Permissions::READ),
            Duration::MAX,
            at(0),
        );
        assert_eq!(expires, DateTime::<Utc>::MAX_UTC);
        assert!(table.lookup(&forever, at(1_000_000)).is_ok());
    }

    #[test]
    fn revoke_key_kills_at_once() {
        let mut table = TokenTable::new(8);
        let (a, _) = table.issue("ci", scope("cargo/*", Permissions::READ), MINUTE, at(0));
        let (b, _) = table.issue("ci", scope("npm/*", Permissions::READ), MINUTE, at(0));
        let (c, _) = table.issue("owner", scope("npm/*", Permissions::READ), MINUTE, at(0));
        assert_eq!(table.revoke_key("ci"), 2);
        assert!(table.lookup(&a, at(1)).is_err());
        assert!(table.lookup(&b, at(1)).is_err());
        assert!(table.lookup(&c, at(1)).is_ok());
    }

    #[test]
    fn revoke_scope_kills_covered_tokens() {
        let mut table = TokenTable::new(8);
        let read = Permissions::READ;
        let (alice, _) = table.issue("ci", scope("github/alice/*", read), MINUTE, at(0));
        let (alice_ci, _) = table.issue("ci", scope("github/alice/ci/*", read), MINUTE, at(0));
        let (alicex, _) = table.issue("ci", scope("github/alicex/*", read), MINUTE, at(0));
        let (owner, _) = table.issue("owner", scope("github/alice/*", read), MINUTE, at(0));
        assert_eq!(
            table.revoke_scope(&scope("github/alice/*", read).scope, Some("ci")),
            2
        );
        assert!(table.lookup(&alice, at(1)).is_err());
        assert!(table.lookup(&alice_ci, at(1)).is_err());
        assert!(table.lookup(&alicex, at(1)).is_ok());
        assert!(table.lookup(&owner, at(1)).is_ok());
        assert_eq!(table.revoke_scope(&scope("*", read).scope, None), 2);
        assert!(table.is_empty());
    }

    #[test]
    fn cap_purges_expired_then_evicts_soonest() {
        let mut table = TokenTable::new(3);
        let read = Permissions::READ;
        let (old, _) = table.issue("a", scope("x/*", read), Duration::from_secs(10), at(0));
        let (soon, _) = table.issue("a", scope("x/*", read), Duration::from_secs(100), at(0));
        let (late, _) = table.issue("a", scope("x/*", read), Duration::from_secs(900), at(0));
        // Full: the expired one goes first.
        let (fourth, _) = table.issue("a", scope("x/*", read), Duration::from_secs(500), at(20));
        assert_eq!(table.len(), 3);
        assert!(table.lookup(&old, at(5)).is_err());
        assert!(table.lookup(&soon, at(21)).is_ok());
        // Full and nothing expired: the soonest-expiring goes.
        let (fifth, _) = table.issue("a", scope("x/*", read), Duration::from_secs(500), at(21));
        assert_eq!(table.len(), 3);
        assert!(table.lookup(&soon, at(22)).is_err());
        for token in [&late, &fourth, &fifth] {
            assert!(table.lookup(token, at(22)).is_ok());
        }
    }

    #[test]
    fn the_expiry_index_follows_every_removal() {
        let mut table = TokenTable::new(1_000);
        let read = Permissions::READ;
        for i in 0..300u64 {
            let key = if i % 3 == 0 { "a" } else { "b" };
            let pattern = if i % 2 == 0 { "x/*" } else { "y/*" };
            // Equal expiries too: the index tells them apart by hash.
            let ttl = Duration::from_secs(60 + i % 7);
            table.issue(key, scope(pattern, read), ttl, at(0));
        }
        let consistent = |table: &TokenTable| {
            table.by_expiry.len() == table.entries.len()
                && table.by_expiry.iter().all(|(expires_at, hash)| {
                    table.entries.get(hash).map(|entry| entry.expires_at) == Some(*expires_at)
                })
        };
        assert!(consistent(&table));
        assert_eq!(table.revoke_key("a"), 100);
        assert!(consistent(&table));
        assert_eq!(table.revoke_scope(&scope("x/*", read).scope, None), 100);
        assert!(consistent(&table));
        // Expiries 60..=66 s: at 63 s those of 60..=63 s are gone.
        let left = table.len();
        let dropped = table.purge_expired(at(63));
        assert!(dropped > 0 && dropped < left, "{dropped} of {left}");
        assert!(consistent(&table));
        assert_eq!(table.purge_expired(at(63)), 0);
        assert_eq!(table.purge_expired(at(66)), left - dropped);
        assert!(table.is_empty() && consistent(&table));
    }
}
