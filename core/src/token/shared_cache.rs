//! [`SharedTokenCache`]: one [`TokenCache`] for many threads, whose hits take no lock.

use super::{AccessToken, Claims, TokenCache};
use crate::Result;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use subtle::ConstantTimeEq;

/// Memoised answers kept per thread (the oldest is replaced first).
const MEMO_ENTRIES: usize = 16;

/// Gives every shared cache its own identity for the memos.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A [`TokenCache`] shared by many threads (`&self` methods), as a server's request handlers
/// or a C/C++ service's worker threads use it.
///
/// The cache itself sits behind a lock, but a repeated answer does not reach it: each thread
/// memoises the logins and verifications it was answered (a few, per thread), and a memo is
/// used only while the cache has removed nothing since (a *generation* number, read with one
/// atomic load: read-only, so threads do not contend) and while the cache would give the same
/// answer at `now` (the login is not due for renewal, the verified token has not expired).
/// Answers are therefore exactly those of the locked cache; only misses, renewals and changes
/// take the lock. With a revocation store nothing is memoised (the store may revoke a user at
/// any moment, and is consulted on every call as [`TokenCache`] does).
///
/// Memos hold copies of tokens: they are replaced as the thread works and dropped when it
/// exits (or answer nothing once their cache is gone).
///
/// ```
/// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
/// let key = SecretKey::from_bytes(&[7u8; 32])?;
/// let cache = SharedTokenCache::new(TokenCache::new(TokenManager::new(key)));
/// let now = 1_700_000_000;
/// let first = cache.issue("nacos", now)?;
/// std::thread::scope(|s| {
///     s.spawn(|| assert_eq!(cache.issue("nacos", now + 1).unwrap().token, first.token));
/// });
/// assert_eq!(cache.verify(&first.token, now)?.sub, "nacos");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Debug)]
pub struct SharedTokenCache {
    inner: Mutex<TokenCache>,
    /// Bumped (under the lock) whenever the cache may have dropped an answer.
    generation: AtomicU64,
    id: u64,
}

/// One memoised answer.
enum Answer {
    /// A login reused until `renew_at_tenths` (exclusive, tenths of a second).
    Login {
        username: String,
        token: AccessToken,
        renew_at_tenths: i128,
    },
    /// A verification answered until `until` (inclusive, seconds).
    Verified {
        token: String,
        claims: Claims,
        until: i64,
    },
}

struct Memo {
    cache: u64,
    generation: u64,
    answer: Answer,
}

#[derive(Default)]
struct Memos {
    entries: Vec<Memo>,
    next: usize,
}

impl Memos {
    fn find(&self, cache: u64, generation: u64, hit: impl Fn(&Answer) -> bool) -> Option<&Answer> {
        self.entries
            .iter()
            .find(|m| m.cache == cache && m.generation == generation && hit(&m.answer))
            .map(|m| &m.answer)
    }

    fn put(&mut self, memo: Memo, same: impl Fn(&Answer) -> bool) {
        if let Some(slot) = self
            .entries
            .iter_mut()
            .find(|m| m.cache == memo.cache && same(&m.answer))
        {
            *slot = memo;
        } else if self.entries.len() < MEMO_ENTRIES {
            self.entries.push(memo);
        } else {
            self.entries[self.next] = memo;
            self.next = (self.next + 1) % MEMO_ENTRIES;
        }
    }
}

std::thread_local! {
    static MEMOS: RefCell<Memos> = RefCell::new(Memos::default());
}

/// Runs `f` on this thread's memos; `None` while the thread is exiting (or re-entered).
fn with_memos<T>(f: impl FnOnce(&mut Memos) -> T) -> Option<T> {
    MEMOS
        .try_with(|m| m.try_borrow_mut().ok().map(|mut m| f(&mut m)))
        .ok()
        .flatten()
}

impl SharedTokenCache {
    /// Shares `cache`.
    ///
    /// ```
    /// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[7u8; 32])?);
    /// let cache = SharedTokenCache::new(TokenCache::new(manager));
    /// assert_eq!(cache.read(TokenCache::login_count), 0);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn new(cache: TokenCache) -> Self {
        Self {
            inner: Mutex::new(cache),
            generation: AtomicU64::new(0),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TokenCache> {
        // A panic while locked cannot leave the maps unsound, only stale: recover the lock.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the cache under the lock (to configure it, invalidate, count, ...); memoised
    /// answers of every thread are dropped afterwards, whatever `f` did.
    ///
    /// ```
    /// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[7u8; 32])?);
    /// let cache = SharedTokenCache::new(TokenCache::new(manager));
    /// let first = cache.issue("nacos", 1_700_000_000)?;
    /// cache.with(|c| c.invalidate_user("nacos"));
    /// assert_ne!(cache.issue("nacos", 1_700_000_001)?.token, first.token);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn with<T>(&self, f: impl FnOnce(&mut TokenCache) -> T) -> T {
        let mut cache = self.lock();
        let out = f(&mut cache);
        self.generation.fetch_add(1, Ordering::Release);
        out
    }

    /// Runs `f` on the cache under the lock, read-only (memoised answers stay valid).
    ///
    /// ```
    /// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[7u8; 32])?);
    /// let cache = SharedTokenCache::new(TokenCache::new(manager));
    /// cache.issue("nacos", 1_700_000_000)?;
    /// assert_eq!(cache.read(TokenCache::login_count), 1);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn read<T>(&self, f: impl FnOnce(&TokenCache) -> T) -> T {
        f(&self.lock())
    }

    /// Runs a lookup under the lock; bumps the generation if it removed anything. Returns the
    /// result and the generation its answer belongs to.
    fn locked<T>(
        &self,
        f: impl FnOnce(&mut TokenCache) -> T,
    ) -> (T, u64, MutexGuard<'_, TokenCache>) {
        let mut cache = self.lock();
        let removals = cache.removals();
        let out = f(&mut cache);
        let generation = if cache.removals() == removals {
            self.generation.load(Ordering::Acquire)
        } else {
            self.generation.fetch_add(1, Ordering::AcqRel) + 1
        };
        (out, generation, cache)
    }

    /// [`TokenCache::issue`]: a token for `username` at `now` (Unix seconds), the cached one
    /// while less than 90% of its validity has passed.
    ///
    /// # Errors
    /// As [`TokenCache::issue`].
    ///
    /// ```
    /// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[7u8; 32])?);
    /// let cache = SharedTokenCache::new(TokenCache::new(manager));
    /// let a = cache.issue("nacos", 1_700_000_000)?;
    /// let b = cache.issue("nacos", 1_700_000_060)?;
    /// assert_eq!((a.token == b.token, a.ttl - b.ttl), (true, 60));
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn issue(&self, username: &str, now: i64) -> Result<AccessToken> {
        let generation = self.generation.load(Ordering::Acquire);
        let now_tenths = i128::from(now) * 10;
        let hit = with_memos(|memos| {
            let found = memos.find(self.id, generation, |a| {
                matches!(a, Answer::Login { username: u, renew_at_tenths, .. }
                    if u == username && now_tenths < *renew_at_tenths)
            });
            match found {
                Some(Answer::Login { token, .. }) => {
                    let mut token = token.clone();
                    let remaining = i128::from(token.expires_at) - i128::from(now);
                    token.ttl = u64::try_from(remaining).unwrap_or(0);
                    Some(token)
                }
                _ => None,
            }
        })
        .flatten();
        if let Some(token) = hit {
            return Ok(token);
        }
        let (token, generation, cache) = self.locked(|c| c.issue(username, now));
        let token = token?;
        if !cache.has_revocations()
            && let Some(renew_at_tenths) = cache.login_renew_at_tenths(username)
        {
            // The entry as cached (its full TTL): a hit recomputes the remaining time.
            let full = cache.cached_login(username);
            drop(cache);
            if let Some(full) = full {
                let memo = Memo {
                    cache: self.id,
                    generation,
                    answer: Answer::Login {
                        username: String::from(username),
                        token: full,
                        renew_at_tenths,
                    },
                };
                with_memos(|m| {
                    m.put(
                        memo,
                        |a| matches!(a, Answer::Login { username: u, .. } if u == username),
                    )
                });
            }
        }
        Ok(token)
    }

    /// [`TokenCache::verify`]: verifies `token` at `now` (Unix seconds), answering a token
    /// verified before from the cache until it expires.
    ///
    /// # Errors
    /// As [`TokenCache::verify`].
    ///
    /// ```
    /// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[7u8; 32])?);
    /// let token = manager.issue("nacos", 1_700_000_000)?.token;
    /// let cache = SharedTokenCache::new(TokenCache::new(manager));
    /// assert_eq!(cache.verify(&token, 1_700_000_001)?.sub, "nacos");
    /// assert!(cache.verify("not.a.token", 1_700_000_001).is_err());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims> {
        let generation = self.generation.load(Ordering::Acquire);
        let hit = with_memos(|memos| {
            match memos.find(self.id, generation, |a| {
                // Compared in constant time: a remembered token is a valid credential.
                matches!(a, Answer::Verified { token: t, until, .. }
                    if now <= *until && bool::from(t.as_bytes().ct_eq(token.as_bytes())))
            }) {
                Some(Answer::Verified { claims, .. }) => Some(claims.clone()),
                _ => None,
            }
        })
        .flatten();
        if let Some(claims) = hit {
            return Ok(claims);
        }
        let (claims, generation, cache) = self.locked(|c| c.verify(token, now));
        let claims = claims?;
        if !cache.has_revocations() {
            let until = cache.verified_until(claims.exp);
            drop(cache);
            let memo = Memo {
                cache: self.id,
                generation,
                answer: Answer::Verified {
                    token: String::from(token),
                    claims: claims.clone(),
                    until,
                },
            };
            with_memos(|m| {
                m.put(
                    memo,
                    |a| matches!(a, Answer::Verified { token: t, .. } if t == token),
                )
            });
        }
        Ok(claims)
    }

    /// [`issue`](Self::issue) at the system clock's time.
    ///
    /// # Errors
    /// As [`TokenCache::issue`].
    ///
    /// ```
    /// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[7u8; 32])?);
    /// let cache = SharedTokenCache::new(TokenCache::new(manager));
    /// assert_eq!(cache.issue_now("nacos")?.subject, "nacos");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn issue_now(&self, username: &str) -> Result<AccessToken> {
        self.issue(username, super::unix_now_secs())
    }

    /// [`verify`](Self::verify) at the system clock's time.
    ///
    /// # Errors
    /// As [`TokenCache::verify`].
    ///
    /// ```
    /// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[7u8; 32])?);
    /// let cache = SharedTokenCache::new(TokenCache::new(manager));
    /// let token = cache.issue_now("nacos")?.token;
    /// assert_eq!(cache.verify_now(&token)?.sub, "nacos");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn verify_now(&self, token: &str) -> Result<Claims> {
        self.verify(token, super::unix_now_secs())
    }

    /// The cache itself, for a single owner again.
    ///
    /// ```
    /// use nacoscrypt_core::token::{SecretKey, SharedTokenCache, TokenCache, TokenManager};
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[7u8; 32])?);
    /// let cache = SharedTokenCache::new(TokenCache::new(manager));
    /// cache.issue("nacos", 1_700_000_000)?;
    /// assert_eq!(cache.into_inner().login_count(), 1);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn into_inner(self) -> TokenCache {
        self.inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
