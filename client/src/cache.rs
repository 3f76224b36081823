//! What the client remembers between calls: access tokens per scope until shortly before they
//! expire, and secret values for a short TTL.
//!
//! Tokens are the expensive part (a scope request may wait for the owner's approval), so every
//! granted token is kept until [`TOKEN_EXPIRY_MARGIN`] before its expiry and reused for any scope it
//! covers with the permissions it carries (a read+write token satisfies a read). Secret values are
//! kept for the client's `secret_ttl` so a burst of `get`s costs one round trip; the cached
//! [`Secret`] zeroizes its value when it is evicted or replaced.
//!
//! Both caches take the current [`Instant`] as an argument, so their expiry rules are tested with
//! made-up clocks instead of waits. Locks are `std::sync::Mutex`es held only for a map operation,
//! never across an `.await`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use auth_hub_protocol::response::ScopeToken;
use auth_hub_protocol::{Access, AccessToken, Secret, SecretPath, SecretScope};
use chrono::{DateTime, Utc};

/// A token is no longer used once it expires within this margin, so a request never races the
/// hub's own expiry.
pub const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// Locks a cache map; a panic elsewhere while holding the lock leaves only a cache behind, which is
/// still consistent, so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One granted access token.
#[derive(Clone)]
struct CachedToken {
    access: Access,
    token: AccessToken,
    expires: Instant,
}

/// Access tokens by scope pattern and permissions, until shortly before their expiry.
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<Access, CachedToken>>,
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers the token granted for `scope` (its pattern; the permissions come from `granted`).
    /// `now` and `wall_now` are the same moment on the monotonic and the wall clock; the hub's
    /// wall-clock expiry is turned into a monotonic deadline so a clock change cannot extend it.
    pub fn insert(
        &self,
        scope: &SecretScope,
        granted: &ScopeToken,
        now: Instant,
        wall_now: DateTime<Utc>,
    ) {
        let remaining = (granted.expires_at - wall_now)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let access = Access::new(scope.clone(), granted.permissions);
        let entry = CachedToken {
            token: granted.access_token.clone(),
            expires: now + remaining,
            access: access.clone(),
        };
        lock(&self.tokens).insert(access, entry);
    }

    /// A token still good at `now` (with the margin) whose scope and permissions allow `wanted`.
    /// Expired tokens met on the way are dropped.
    pub fn find(&self, wanted: &Access, now: Instant) -> Option<AccessToken> {
        let mut tokens = lock(&self.tokens);
        tokens.retain(|_, entry| is_fresh(entry, now));
        tokens
            .values()
            .filter(|entry| entry.access.allows(wanted))
            // Prefer the token that lives longest, so a retry does not pick one about to expire.
            .max_by_key(|entry| entry.expires)
            .map(|entry| entry.token.clone())
    }

    /// True when a token good at `now` allows `wanted`.
    pub fn allows(&self, wanted: &Access, now: Instant) -> bool {
        self.find(wanted, now).is_some()
    }

    /// Forgets a token the hub no longer accepts (revoked, or the hub restarted).
    pub fn remove(&self, token: &AccessToken) {
        lock(&self.tokens).retain(|_, entry| entry.token != *token);
    }

    /// Forgets every token.
    pub fn clear(&self) {
        lock(&self.tokens).clear();
    }

    /// Tokens held, expired ones included until the next lookup.
    pub fn len(&self) -> usize {
        lock(&self.tokens).len()
    }

    /// True when no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Scopes only: the tokens themselves never appear in a Debug.
        let scopes: Vec<String> = lock(&self.tokens)
            .values()
            .map(|entry| entry.access.to_string())
            .collect();
        f.debug_struct("TokenCache")
            .field("scopes", &scopes)
            .finish()
    }
}

fn is_fresh(entry: &CachedToken, now: Instant) -> bool {
    now.checked_add(TOKEN_EXPIRY_MARGIN)
        .is_some_and(|deadline| deadline < entry.expires)
}

/// Secret values by path for a fixed TTL; a TTL of zero disables the cache.
pub struct SecretCache {
    ttl: Duration,
    values: Mutex<HashMap<SecretPath, (Secret, Instant)>>,
}

impl SecretCache {
    /// A cache keeping each value for `ttl` after it was fetched.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            values: Mutex::new(HashMap::new()),
        }
    }

    /// The TTL in force.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value fetched for `path` less than the TTL before `now`. A stale value is dropped (and
    /// zeroized).
    pub fn get(&self, path: &SecretPath, now: Instant) -> Option<Secret> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut values = lock(&self.values);
        match values.get(path) {
            Some((secret, until)) if now < *until => Some(secret.clone()),
            Some(_) => {
                values.remove(path);
                None
            }
            None => None,
        }
    }

    /// Remembers a value fetched at `now`.
    pub fn insert(&self, secret: &Secret, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let Some(until) = now.checked_add(self.ttl) else {
            return;
        };
        let mut values = lock(&self.values);
        values.retain(|_, (_, until)| now < *until);
        values.insert(secret.path.clone(), (secret.clone(), until));
    }

    /// Forgets the value of `path` (after this client wrote or deleted it).
    pub fn invalidate(&self, path: &SecretPath) {
        lock(&self.values).remove(path);
    }

    /// Forgets every value.
    pub fn clear(&self) {
        lock(&self.values).clear();
    }
}

impl std::fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Paths only, never values.
        let paths: Vec<String> = lock(&self.values)
            .keys()
            .map(|path| path.to_string())
            .collect();
        f.debug_struct("SecretCache")
            .field("ttl", &self.ttl)
            .field("paths", &paths)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use auth_hub_protocol::Permissions;

    fn scope(pattern: &str) -> SecretScope {
        SecretScope::parse(pattern).unwrap()
    }

    fn wanted(pattern: &str) -> Access {
        Access::read(scope(pattern))
    }

    fn granted(
        token: &str,
        permissions: Permissions,
        wall_now: DateTime<Utc>,
        secs: i64,
    ) -> ScopeToken {
        ScopeToken {
            access_token: AccessToken::from(token),
            permissions,
            expires_at: wall_now + chrono::Duration::seconds(secs),
        }
    }

    fn secret(path: &str, value: &str) -> Secret {
        Secret {
            value: value.into(),
            path: SecretPath::parse(path).unwrap(),
            created_at: None,
            updated_at: None,
            version: 1,
        }
    }

    #[test]
    fn token_is_reused_until_five_seconds_before_expiry() {
        let cache = TokenCache::new();
        let (now, wall) = (Instant::now(), Utc::now());
        cache.insert(
            &scope("github/alice/*"),
            &granted("t1", Permissions::READ, wall, 60),
            now,
            wall,
        );
        let wanted = wanted("github/alice/*");
        assert_eq!(cache.find(&wanted, now).unwrap().expose(), "t1");
        assert!(cache.find(&wanted, now + Duration::from_secs(54)).is_some());
        assert!(cache.find(&wanted, now + Duration::from_secs(55)).is_none());
        assert!(cache.is_empty(), "expired tokens are dropped on lookup");
    }

    #[test]
    fn token_covers_narrower_scopes_and_weaker_permissions() {
        let cache = TokenCache::new();
        let (now, wall) = (Instant::now(), Utc::now());
        cache.insert(
            &scope("github/*"),
            &granted("rw", Permissions::READ_WRITE, wall, 60),
            now,
            wall,
        );
        assert!(cache.allows(&wanted("github/alice/*"), now));
        assert!(cache.allows(
            &Access::new(scope("github/alice/*"), Permissions::WRITE),
            now
        ));
        assert!(!cache.allows(&wanted("gitlab/alice/*"), now));
        assert!(!cache.allows(&wanted("*"), now));

        let read_only = TokenCache::new();
        read_only.insert(
            &scope("a/*"),
            &granted("r", Permissions::READ, wall, 60),
            now,
            wall,
        );
        assert!(!read_only.allows(&Access::new(scope("a/*"), Permissions::WRITE), now));
    }

    #[test]
    fn read_and_write_tokens_for_one_scope_coexist_and_can_be_removed() {
        let cache = TokenCache::new();
        let (now, wall) = (Instant::now(), Utc::now());
        cache.insert(
            &scope("a/*"),
            &granted("r", Permissions::READ, wall, 60),
            now,
            wall,
        );
        cache.insert(
            &scope("a/*"),
            &granted("w", Permissions::WRITE, wall, 60),
            now,
            wall,
        );
        assert_eq!(cache.len(), 2);
        let read = cache.find(&wanted("a/*"), now).unwrap();
        assert_eq!(read.expose(), "r");
        cache.remove(&read);
        assert!(!cache.allows(&wanted("a/*"), now));
        assert!(cache.allows(&Access::new(scope("a/*"), Permissions::WRITE), now));
    }

    #[test]
    fn token_already_expired_by_the_wall_clock_is_never_used() {
        let cache = TokenCache::new();
        let (now, wall) = (Instant::now(), Utc::now());
        cache.insert(
            &scope("a/*"),
            &granted("old", Permissions::READ, wall, -10),
            now,
            wall,
        );
        assert!(!cache.allows(&wanted("a/*"), now));
    }

    #[test]
    fn debug_shows_scopes_not_tokens() {
        let cache = TokenCache::new();
        let (now, wall) = (Instant::now(), Utc::now());
        cache.insert(
            &scope("a/*"),
            &granted("tok_verysecret", Permissions::READ, wall, 60),
            now,
            wall,
        );
        let shown = format!("{cache:?}");
        assert!(
            shown.contains("a/*") && !shown.contains("verysecret"),
            "{shown}"
        );
    }

    #[test]
    fn values_live_for_the_ttl() {
        let cache = SecretCache::new(Duration::from_secs(300));
        let now = Instant::now();
        let path = SecretPath::parse("cargo/token").unwrap();
        cache.insert(&secret("cargo/token", "v1"), now);
        assert_eq!(
            cache
                .get(&path, now + Duration::from_secs(299))
                .unwrap()
                .value
                .expose(),
            "v1"
        );
        assert!(cache.get(&path, now + Duration::from_secs(300)).is_none());
        assert!(cache.get(&path, now).is_none(), "a stale value is dropped");
    }

    #[test]
    fn zero_ttl_disables_and_invalidate_forgets() {
        let path = SecretPath::parse("cargo/token").unwrap();
        let now = Instant::now();
        let off = SecretCache::new(Duration::ZERO);
        off.insert(&secret("cargo/token", "v"), now);
        assert!(off.get(&path, now).is_none());

        let on = SecretCache::new(Duration::from_secs(60));
        on.insert(&secret("cargo/token", "v"), now);
        on.invalidate(&path);
        assert!(on.get(&path, now).is_none());
        on.insert(&secret("cargo/token", "v_verysecret"), now);
        assert!(!format!("{on:?}").contains("verysecret"));
    }
}
