//! [`TokenCache`]: the server's cached token manager (`token.cache.enable`, SPEC 3.4).

use super::{AccessToken, Claims, TokenManager};
use crate::Result;
use alloc::collections::BTreeMap;
use alloc::string::String;

/// Most entries kept in each of the two maps (logins by user, verified tokens). When a map is
/// full after dropping expired entries, the entry expiring first makes room.
pub const MAX_CACHE_ENTRIES: usize = 65_536;

/// Expired entries are swept at most this often (and whenever a map is full), in seconds.
const SWEEP_INTERVAL_SECS: i64 = 60;

/// A [`TokenManager`] with the server's token cache in front of it (SPEC 3.4):
///
/// - [`login`](Self::login) returns a user's cached token until 90% of its validity has passed,
///   then signs a new one; the reported TTL is the time remaining;
/// - [`verify`](Self::verify) remembers verified tokens until they expire;
/// - expired entries are evicted, and each map holds at most [`MAX_CACHE_ENTRIES`].
///
/// Methods take `&mut self`; share one between threads behind a lock.
///
/// # Example
/// ```
/// use nacoscrypt_core::token::{SecretKey, TokenCache, TokenManager};
///
/// let mut cache = TokenCache::new(TokenManager::new(SecretKey::from_bytes(&[5u8; 32])?));
/// let first = cache.login("nacos", 1_000_000)?; // at t = 1,000 s
/// assert_eq!(first.ttl, 18_000);
/// let again = cache.login("nacos", 1_000_000 + 60_000)?; // a minute later: same token
/// assert_eq!(again.token, first.token);
/// assert_eq!(again.ttl, 17_940);
/// let later = cache.login("nacos", 1_000_000 + 16_200_000)?; // 90% of 5 h: a new one
/// assert_ne!(later.token, first.token);
/// assert_eq!(cache.verify(&later.token, 17_200)?.sub, "nacos");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Debug)]
pub struct TokenCache {
    manager: TokenManager,
    /// user name → (token, issued at in ms)
    logins: BTreeMap<String, (AccessToken, i64)>,
    /// token → claims
    verified: BTreeMap<String, Claims>,
    next_sweep: i64,
}

impl TokenCache {
    /// A cache in front of `manager`.
    pub fn new(manager: TokenManager) -> Self {
        Self {
            manager,
            logins: BTreeMap::new(),
            verified: BTreeMap::new(),
            next_sweep: i64::MIN,
        }
    }

    /// The manager behind the cache.
    pub fn manager(&self) -> &TokenManager {
        &self.manager
    }

    /// Gives the manager back, dropping the cache.
    pub fn into_manager(self) -> TokenManager {
        self.manager
    }

    /// A token for `username` at `now_ms` (Unix milliseconds): the cached one while less than
    /// 90% of its validity has passed, with its remaining TTL (whole seconds); a new one after.
    ///
    /// # Errors
    /// As [`TokenManager::issue`].
    pub fn login(&mut self, username: &str, now_ms: i64) -> Result<AccessToken> {
        let now_secs = now_ms.div_euclid(1000);
        self.sweep(now_secs);
        if let Some((token, issued_ms)) = self.logins.get(username) {
            let validity_ms = i128::from(token.ttl) * 1000;
            let renew_at = i128::from(*issued_ms) + validity_ms * 9 / 10;
            if i128::from(now_ms) < renew_at {
                let remaining_ms = i128::from(token.expires_at) * 1000 - i128::from(now_ms);
                let mut cached = token.clone();
                cached.ttl = u64::try_from(remaining_ms.div_euclid(1000)).unwrap_or(0);
                return Ok(cached);
            }
        }
        let token = self.manager.issue(username, now_secs)?;
        if !self.logins.contains_key(username) && self.logins.len() >= MAX_CACHE_ENTRIES {
            self.sweep_now(now_secs);
            evict_first(&mut self.logins, |(t, _)| t.expires_at);
        }
        self.logins
            .insert(String::from(username), (token.clone(), now_ms));
        Ok(token)
    }

    /// Verifies `token` at `now` (Unix seconds): a token verified before is answered from the
    /// cache until it expires; otherwise as [`TokenManager::verify`], remembering success.
    ///
    /// # Errors
    /// As [`TokenManager::verify`].
    pub fn verify(&mut self, token: &str, now: i64) -> Result<Claims> {
        self.sweep(now);
        if let Some(claims) = self.verified.get(token) {
            if !self.expired(claims.exp, now) {
                return Ok(claims.clone());
            }
            self.verified.remove(token);
        }
        let claims = self.manager.verify(token, now)?;
        if self.verified.len() >= MAX_CACHE_ENTRIES {
            self.sweep_now(now);
            evict_first(&mut self.verified, |c| c.exp);
        }
        self.verified.insert(String::from(token), claims.clone());
        Ok(claims)
    }

    /// Forgets the cached login of `username` (say, after a password change).
    pub fn invalidate_user(&mut self, username: &str) {
        self.logins.remove(username);
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.logins.clear();
        self.verified.clear();
    }

    /// The number of cached logins.
    pub fn login_count(&self) -> usize {
        self.logins.len()
    }

    /// The number of remembered verified tokens.
    pub fn verified_count(&self) -> usize {
        self.verified.len()
    }

    /// `true` if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.logins.is_empty() && self.verified.is_empty()
    }

    /// Drops every expired entry now (done automatically at most once a minute).
    pub fn evict_expired(&mut self, now: i64) {
        self.sweep_now(now);
    }

    /// [`login`](Self::login) at the system clock's time.
    ///
    /// # Errors
    /// As [`login`](Self::login).
    #[cfg(feature = "std")]
    pub fn login_now(&mut self, username: &str) -> Result<AccessToken> {
        self.login(username, super::unix_now_millis())
    }

    /// [`verify`](Self::verify) at the system clock's time.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    #[cfg(feature = "std")]
    pub fn verify_now(&mut self, token: &str) -> Result<Claims> {
        self.verify(token, super::unix_now_secs())
    }

    fn expired(&self, exp: i64, now: i64) -> bool {
        let leeway = i64::try_from(self.manager.leeway()).unwrap_or(i64::MAX);
        exp.saturating_add(leeway) < now
    }

    fn sweep(&mut self, now: i64) {
        if now >= self.next_sweep {
            self.sweep_now(now);
        }
    }

    fn sweep_now(&mut self, now: i64) {
        let leeway = i64::try_from(self.manager.leeway()).unwrap_or(i64::MAX);
        self.logins
            .retain(|_, (t, _)| t.expires_at.saturating_add(leeway) >= now);
        self.verified
            .retain(|_, c| c.exp.saturating_add(leeway) >= now);
        self.next_sweep = now.saturating_add(SWEEP_INTERVAL_SECS);
    }
}

/// Removes the entry expiring first if `map` is still full.
fn evict_first<V>(map: &mut BTreeMap<String, V>, exp: impl Fn(&V) -> i64) {
    if map.len() < MAX_CACHE_ENTRIES {
        return;
    }
    let first = map
        .iter()
        .min_by_key(|(_, v)| exp(v))
        .map(|(k, _)| k.clone());
    if let Some(k) = first {
        map.remove(&k);
    }
}
