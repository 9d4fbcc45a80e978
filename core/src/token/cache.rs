//! [`TokenCache`]: the server's cached token manager (`token.cache.enable`, SPEC 3.4).

use super::revocation::{self, RevocationStore};
use super::{AccessToken, Claims, TokenManager};
use crate::Result;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;

/// Most entries kept in each of the two maps (logins by user, verified tokens). When a map is
/// full after dropping expired entries, the entry expiring first makes room.
pub const MAX_CACHE_ENTRIES: usize = 65_536;

/// Expired entries are swept at most this often (and whenever a map is full), in seconds.
const SWEEP_INTERVAL_SECS: i64 = 60;

/// A [`TokenManager`] with the server's token cache in front of it (SPEC 3.4):
///
/// - [`issue`](Self::issue) returns a user's cached token until 90% of its validity has passed,
///   then signs a new one; the reported TTL is the time remaining;
/// - [`verify`](Self::verify) remembers verified tokens until they expire;
/// - expired entries are evicted, and each map holds at most [`MAX_CACHE_ENTRIES`].
///
/// Time is in one unit throughout, as for [`TokenManager`]: every `now` is Unix seconds
/// ([`issue`](Self::issue), [`verify`](Self::verify), [`evict_expired`](Self::evict_expired)).
/// The deprecated [`login`](Self::login) alone takes milliseconds, rounded down to the second.
///
/// Methods take `&mut self`; share one between threads behind a lock.
///
/// # Example
/// ```
/// use nacoscrypt_core::token::{SecretKey, TokenCache, TokenManager};
///
/// let mut cache = TokenCache::new(TokenManager::new(SecretKey::from_bytes(&[5u8; 32])?));
/// let first = cache.issue("nacos", 1_000)?; // at t = 1,000 s
/// assert_eq!(first.ttl, 18_000);
/// let again = cache.issue("nacos", 1_000 + 60)?; // a minute later: same token
/// assert_eq!(again.token, first.token);
/// assert_eq!(again.ttl, 17_940);
/// let later = cache.issue("nacos", 1_000 + 16_200)?; // 90% of 5 h: a new one
/// assert_ne!(later.token, first.token);
/// assert_eq!(cache.verify(&later.token, 17_200)?.sub, "nacos");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Debug)]
pub struct TokenCache {
    manager: TokenManager,
    /// user name → (token, issued at in Unix seconds)
    logins: BTreeMap<String, (AccessToken, i64)>,
    /// token → claims
    verified: BTreeMap<String, Claims>,
    next_sweep: i64,
    revocations: Option<Revocations>,
    /// Entries removed so far (swept, evicted, invalidated, cleared): a change tells the
    /// per-thread memos of [`SharedTokenCache`](super::SharedTokenCache) that an answer they
    /// hold may be gone.
    removals: u64,
}

/// The revocation store of a cache (`Debug` names it only).
struct Revocations(Box<dyn RevocationStore + Send + Sync>);

impl core::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RevocationStore")
    }
}

impl TokenCache {
    /// A cache in front of `manager`.
    pub fn new(manager: TokenManager) -> Self {
        Self {
            manager,
            logins: BTreeMap::new(),
            verified: BTreeMap::new(),
            next_sweep: i64::MIN,
            revocations: None,
            removals: 0,
        }
    }

    /// Consults `store` on every [`issue`](Self::issue) (a cached token issued before the
    /// user's not-before time is replaced by a new one) and every [`verify`](Self::verify)
    /// (cached verifications included: a revocation takes effect at once).
    ///
    /// ```
    /// use nacoscrypt_core::token::{InMemoryRevocations, SecretKey, TokenCache, TokenManager};
    /// use std::sync::{Arc, RwLock};
    ///
    /// let store = Arc::new(RwLock::new(InMemoryRevocations::new()));
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[6u8; 32])?);
    /// let mut cache = TokenCache::new(manager).with_revocations(store.clone());
    /// let old = cache.issue("alice", 1_000)?;
    /// assert!(cache.verify(&old.token, 1_001).is_ok());
    ///
    /// store.write().unwrap().revoke_before("alice", 1_002); // password changed
    /// assert!(cache.verify(&old.token, 1_003).is_err());
    /// let new = cache.issue("alice", 1_003)?;
    /// assert_ne!(new.token, old.token);
    /// assert!(cache.verify(&new.token, 1_004).is_ok());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn with_revocations(mut self, store: impl RevocationStore + Send + Sync + 'static) -> Self {
        self.set_revocations(store);
        self
    }

    /// [`with_revocations`](Self::with_revocations) on a cache in place (replacing any store
    /// given before).
    pub fn set_revocations(&mut self, store: impl RevocationStore + Send + Sync + 'static) {
        self.revocations = Some(Revocations(Box::new(store)));
    }

    /// `true` if a revocation store refuses `sub`'s token expiring at `exp`.
    fn revoked(&self, sub: &str, exp: i64) -> bool {
        self.revocations
            .as_ref()
            .is_some_and(|r| revocation::check(&*r.0, sub, exp, self.manager.validity()).is_err())
    }

    /// The manager behind the cache.
    pub fn manager(&self) -> &TokenManager {
        &self.manager
    }

    /// Gives the manager back, dropping the cache.
    pub fn into_manager(self) -> TokenManager {
        self.manager
    }

    /// A token for `username` at `now` (Unix seconds): the cached one while less than 90% of
    /// its validity has passed, with its remaining TTL in seconds; a new one (from
    /// [`TokenManager::issue`]) after.
    ///
    /// # Errors
    /// As [`TokenManager::issue`].
    pub fn issue(&mut self, username: &str, now: i64) -> Result<AccessToken> {
        self.sweep(now);
        if let Some((token, issued)) = self
            .logins
            .get(username)
            .filter(|(t, _)| !self.revoked(username, t.expires_at))
        {
            // Renewed from issued + 90% of the validity on: compared in tenths of a second, as
            // 90% of a validity in seconds is a whole number of tenths.
            let renew_at = i128::from(*issued) * 10 + i128::from(token.ttl) * 9;
            if i128::from(now) * 10 < renew_at {
                let remaining = i128::from(token.expires_at) - i128::from(now);
                let mut cached = token.clone();
                cached.ttl = u64::try_from(remaining).unwrap_or(0);
                return Ok(cached);
            }
        }
        let token = self.manager.issue(username, now)?;
        if !self.logins.contains_key(username) && self.logins.len() >= MAX_CACHE_ENTRIES {
            self.sweep_now(now);
            self.removals += u64::from(evict_first(&mut self.logins, |(t, _)| t.expires_at));
        }
        // A renewal replaces the user's entry: its old answer is gone.
        if self
            .logins
            .insert(String::from(username), (token.clone(), now))
            .is_some()
        {
            self.removals += 1;
        }
        Ok(token)
    }

    /// [`issue`](Self::issue) at `now_ms` (Unix milliseconds), rounded down to the second:
    /// `issue(username, now_ms.div_euclid(1000))`.
    ///
    /// # Errors
    /// As [`issue`](Self::issue).
    #[deprecated(
        note = "the cache takes Unix seconds throughout: use issue(username, now) with Unix seconds"
    )]
    pub fn login(&mut self, username: &str, now_ms: i64) -> Result<AccessToken> {
        self.issue(username, now_ms.div_euclid(1000))
    }

    /// Verifies `token` at `now` (Unix seconds): a token verified before is answered from the
    /// cache until it expires; otherwise as [`TokenManager::verify`], remembering success. With
    /// a revocation store ([`with_revocations`](Self::with_revocations)) a revoked token is
    /// refused, cached or not.
    ///
    /// # Errors
    /// As [`TokenManager::verify`]; [`Error::InvalidClaims`](crate::Error::InvalidClaims) for a
    /// revoked token.
    pub fn verify(&mut self, token: &str, now: i64) -> Result<Claims> {
        self.sweep(now);
        if let Some(claims) = self.verified.get(token) {
            if !self.expired(claims.exp, now) {
                if self.revoked(&claims.sub, claims.exp) {
                    return Err(revocation::REVOKED);
                }
                return Ok(claims.clone());
            }
            self.verified.remove(token);
            self.removals += 1;
        }
        let claims = self.manager.verify(token, now)?;
        if self.revoked(&claims.sub, claims.exp) {
            return Err(revocation::REVOKED);
        }
        if self.verified.len() >= MAX_CACHE_ENTRIES {
            self.sweep_now(now);
            self.removals += u64::from(evict_first(&mut self.verified, |c| c.exp));
        }
        self.verified.insert(String::from(token), claims.clone());
        Ok(claims)
    }

    /// Forgets the cached login of `username` (say, after a password change).
    pub fn invalidate_user(&mut self, username: &str) {
        if self.logins.remove(username).is_some() {
            self.removals += 1;
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.removals += (self.logins.len() + self.verified.len()) as u64;
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

    /// [`issue`](Self::issue) at the system clock's time.
    ///
    /// # Errors
    /// As [`issue`](Self::issue).
    #[cfg(feature = "std")]
    pub fn issue_now(&mut self, username: &str) -> Result<AccessToken> {
        self.issue(username, super::unix_now_secs())
    }

    /// The deprecated name of [`issue_now`](Self::issue_now).
    ///
    /// # Errors
    /// As [`issue`](Self::issue).
    #[cfg(feature = "std")]
    #[deprecated(note = "renamed issue_now, as TokenManager::issue_now")]
    pub fn login_now(&mut self, username: &str) -> Result<AccessToken> {
        self.issue_now(username)
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
        let before = self.logins.len() + self.verified.len();
        self.logins
            .retain(|_, (t, _)| t.expires_at.saturating_add(leeway) >= now);
        self.verified
            .retain(|_, c| c.exp.saturating_add(leeway) >= now);
        self.removals += (before - self.logins.len() - self.verified.len()) as u64;
        self.next_sweep = now.saturating_add(SWEEP_INTERVAL_SECS);
    }

    /// The removal count (see the field).
    #[cfg(feature = "std")]
    pub(super) fn removals(&self) -> u64 {
        self.removals
    }

    /// Whether a revocation store is consulted (then answers cannot be memoised: the store may
    /// change at any time).
    #[cfg(feature = "std")]
    pub(super) fn has_revocations(&self) -> bool {
        self.revocations.is_some()
    }

    /// The time, in tenths of a second, from which the cached login of `username` is renewed
    /// instead of reused (see [`issue`](Self::issue)).
    #[cfg(feature = "std")]
    pub(super) fn login_renew_at_tenths(&self, username: &str) -> Option<i128> {
        let (token, issued) = self.logins.get(username)?;
        Some(i128::from(*issued) * 10 + i128::from(token.ttl) * 9)
    }

    /// The cached login of `username` as stored (its full TTL).
    #[cfg(feature = "std")]
    pub(super) fn cached_login(&self, username: &str) -> Option<AccessToken> {
        self.logins.get(username).map(|(t, _)| t.clone())
    }

    /// The last second at which a remembered verification of `exp` is still answered.
    #[cfg(feature = "std")]
    pub(super) fn verified_until(&self, exp: i64) -> i64 {
        let leeway = i64::try_from(self.manager.leeway()).unwrap_or(i64::MAX);
        exp.saturating_add(leeway)
    }
}

/// Removes the entry expiring first if `map` is still full.
fn evict_first<V>(map: &mut BTreeMap<String, V>, exp: impl Fn(&V) -> i64) -> bool {
    if map.len() < MAX_CACHE_ENTRIES {
        return false;
    }
    let first = map
        .iter()
        .min_by_key(|(_, v)| exp(v))
        .map(|(k, _)| k.clone());
    first.is_some_and(|k| map.remove(&k).is_some())
}
