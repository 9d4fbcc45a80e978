//! The decrypt-side data-key cache (off by default).
//!
//! Keyed by the encrypted data key and the encryption context, holding the decrypted key bytes
//! (wiped when evicted or dropped). Bounded in entries (the least recently used goes first),
//! in age since last use and in age since written.

use nacoscrypt_core::SecretBytes;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When a cached data key is used.
///
/// ```
/// use nacoscrypt_kms_common::CacheMode;
///
/// assert_eq!(CacheMode::default(), CacheMode::Off);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// Never cache (the default).
    #[default]
    Off,
    /// Ask the KMS every time; use a cached key only when the KMS fails (as the Java MSE
    /// extension does), so an outage does not stop configs from decrypting.
    Fallback,
    /// Use a fresh cached key without asking the KMS.
    First,
}

/// Parses a cache mode as the bindings and the `kmsCache` setting spell it: `off`, `fallback`
/// or `first`, lower case. An empty or absent setting means the default, [`CacheMode::Off`]
/// (`CacheMode::default()`); that is the caller's choice, not a spelling parsed here.
///
/// ```
/// use nacoscrypt_kms_common::CacheMode;
/// use nacoscrypt_core::ErrorKind;
///
/// assert_eq!("fallback".parse::<CacheMode>()?, CacheMode::Fallback);
/// assert_eq!("first".parse::<CacheMode>()?, CacheMode::First);
/// let err = "Fallback".parse::<CacheMode>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
/// assert_eq!(
///     err.to_string(),
///     "invalid argument: cache must be \"off\", \"fallback\" or \"first\""
/// );
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
impl std::str::FromStr for CacheMode {
    type Err = nacoscrypt_core::Error;

    fn from_str(s: &str) -> nacoscrypt_core::Result<Self> {
        match s {
            "off" => Ok(Self::Off),
            "fallback" => Ok(Self::Fallback),
            "first" => Ok(Self::First),
            _ => Err(nacoscrypt_core::Error::InvalidArgument {
                reason: "cache must be \"off\", \"fallback\" or \"first\"",
            }),
        }
    }
}

/// The cache's bounds.
///
/// ```
/// use nacoscrypt_kms_common::{CacheMode, CacheSettings};
///
/// let s = CacheSettings { mode: CacheMode::First, ..CacheSettings::default() };
/// assert_eq!(s.max_entries, 1000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheSettings {
    /// When to use it.
    pub mode: CacheMode,
    /// At most this many keys (default 1,000).
    pub max_entries: usize,
    /// Forgotten this long after last use (default 1 h).
    pub idle: Duration,
    /// Forgotten this long after written (default 24 h).
    pub max_age: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            mode: CacheMode::Off,
            max_entries: 1000,
            idle: Duration::from_secs(3600),
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

impl CacheSettings {
    /// The Java MSE extension's settings: fallback mode, 1,000 entries, 1 h idle, 24 h old (see
    /// [`CacheSettings`]).
    ///
    /// ```
    /// use nacoscrypt_kms_common::{CacheMode, CacheSettings};
    /// use std::time::Duration;
    ///
    /// let s = CacheSettings::fallback();
    /// assert_eq!(s.mode, CacheMode::Fallback);
    /// assert_eq!((s.max_entries, s.idle), (1000, Duration::from_secs(3600)));
    /// ```
    pub fn fallback() -> Self {
        Self {
            mode: CacheMode::Fallback,
            ..Self::default()
        }
    }
}

/// Counters of a client, read with its `stats()` (`AliyunKms::stats`, `AwsKms::stats`).
///
/// ```
/// use nacoscrypt_kms_common::cache::Counters;
///
/// let c = Counters::default();
/// Counters::bump(&c.kms_calls);
/// assert_eq!(c.snapshot().kms_calls, 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Data keys served from the cache.
    pub cache_hits: u64,
    /// Data-key decrypts the cache could not serve.
    pub cache_misses: u64,
    /// Requests sent to the KMS (retries included).
    pub kms_calls: u64,
    /// Retries after a retryable failure.
    pub retries: u64,
}

/// The live counters behind [`Stats`].
///
/// ```
/// use nacoscrypt_kms_common::cache::Counters;
/// use std::sync::atomic::Ordering;
///
/// let c = Counters::default();
/// Counters::bump(&c.retries);
/// assert_eq!(c.retries.load(Ordering::Relaxed), 1);
/// ```
#[derive(Debug, Default)]
pub struct Counters {
    /// See [`Stats::cache_hits`].
    pub cache_hits: AtomicU64,
    /// See [`Stats::cache_misses`].
    pub cache_misses: AtomicU64,
    /// See [`Stats::kms_calls`].
    pub kms_calls: AtomicU64,
    /// See [`Stats::retries`].
    pub retries: AtomicU64,
}

impl Counters {
    /// Adds one to `counter` (see [`Stats`]).
    ///
    /// ```
    /// use nacoscrypt_kms_common::cache::Counters;
    ///
    /// let c = Counters::default();
    /// Counters::bump(&c.cache_hits);
    /// Counters::bump(&c.cache_hits);
    /// assert_eq!(c.snapshot().cache_hits, 2);
    /// ```
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now (see [`Stats`]).
    ///
    /// ```
    /// use nacoscrypt_kms_common::{Stats, cache::Counters};
    ///
    /// let c = Counters::default();
    /// Counters::bump(&c.cache_misses);
    /// assert_eq!(c.snapshot(), Stats { cache_misses: 1, ..Stats::default() });
    /// ```
    pub fn snapshot(&self) -> Stats {
        Stats {
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            kms_calls: self.kms_calls.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

struct Entry {
    key: SecretBytes,
    written: Instant,
    used: Instant,
}

/// The cache itself.
///
/// ```
/// use nacoscrypt_core::{Error, KmsServiceError, SecretBytes};
/// use nacoscrypt_kms_common::cache::{self, Counters, DataKeyCache};
/// use nacoscrypt_kms_common::CacheSettings;
///
/// let c = DataKeyCache::new(CacheSettings::fallback());
/// let counters = Counters::default();
/// let key = cache::cache_key("blob", "{}");
/// let k = cache::through(&c, &counters, key.clone(), || Ok(SecretBytes::copy_from(b"k")))?;
/// assert_eq!(k.as_bytes(), b"k");
/// // The key service fails: the key it gave before still serves.
/// let down = KmsServiceError {
///     service: "Example KMS",
///     operation: "Decrypt",
///     code: "Network".into(),
///     message: "connection refused".into(),
///     request_id: None,
///     http_status: None,
///     attempts: 1,
/// };
/// let again = cache::through(&c, &counters, key, || Err(Error::from(down)))?;
/// assert_eq!(again.as_bytes(), b"k");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
pub struct DataKeyCache {
    settings: CacheSettings,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for DataKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKeyCache")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The cache key: blob and canonical context, length-prefixed so no two pairs collide (see
/// [`DataKeyCache`]).
///
/// ```
/// use nacoscrypt_kms_common::cache::cache_key;
///
/// assert_eq!(cache_key("blob", "{}"), "4:blob{}");
/// // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
/// assert_ne!(cache_key("ab", "c"), cache_key("a", "bc"));
/// ```
pub fn cache_key(blob: &str, context_json: &str) -> String {
    format!("{}:{blob}{context_json}", blob.len())
}

impl DataKeyCache {
    /// An empty cache with `settings` (see [`DataKeyCache`]).
    ///
    /// ```
    /// use nacoscrypt_kms_common::{CacheSettings, cache::DataKeyCache};
    ///
    /// let c = DataKeyCache::new(CacheSettings::fallback());
    /// assert!(c.get("4:blob{}").is_none());
    /// ```
    pub fn new(settings: CacheSettings) -> Self {
        Self {
            settings,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// When it is used (see [`DataKeyCache`]).
    ///
    /// ```
    /// use nacoscrypt_kms_common::{CacheMode, CacheSettings, cache::DataKeyCache};
    ///
    /// assert_eq!(DataKeyCache::new(CacheSettings::default()).mode(), CacheMode::Off);
    /// assert_eq!(DataKeyCache::new(CacheSettings::fallback()).mode(), CacheMode::Fallback);
    /// ```
    pub fn mode(&self) -> CacheMode {
        self.settings.mode
    }

    fn fresh(&self, e: &Entry, now: Instant) -> bool {
        now.duration_since(e.used) < self.settings.idle
            && now.duration_since(e.written) < self.settings.max_age
    }

    /// The cached key, if fresh (its last use is now); see [`DataKeyCache`].
    ///
    /// ```
    /// use nacoscrypt_core::SecretBytes;
    /// use nacoscrypt_kms_common::{CacheSettings, cache::DataKeyCache};
    ///
    /// let c = DataKeyCache::new(CacheSettings::fallback());
    /// c.put("k".into(), &SecretBytes::copy_from(b"key"));
    /// assert_eq!(c.get("k").map(|k| k.as_bytes().to_vec()), Some(b"key".to_vec()));
    /// assert!(c.get("other").is_none());
    /// ```
    pub fn get(&self, key: &str) -> Option<SecretBytes> {
        let now = Instant::now();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = entries.get(key).map(|e| self.fresh(e, now))?;
        if !fresh {
            entries.remove(key);
            return None;
        }
        let e = entries.get_mut(key)?;
        e.used = now;
        Some(e.key.clone())
    }

    /// Stores a key, evicting expired entries and then the least recently used; see
    /// [`DataKeyCache`].
    ///
    /// ```
    /// use nacoscrypt_core::SecretBytes;
    /// use nacoscrypt_kms_common::{CacheMode, CacheSettings, cache::DataKeyCache};
    ///
    /// let c = DataKeyCache::new(CacheSettings { max_entries: 1, ..CacheSettings::fallback() });
    /// c.put("a".into(), &SecretBytes::copy_from(b"1"));
    /// c.put("b".into(), &SecretBytes::copy_from(b"2"));
    /// assert!(c.get("a").is_none(), "at most one entry: the older one went");
    /// assert!(c.get("b").is_some());
    /// // A cache that is off stores nothing.
    /// let off = DataKeyCache::new(CacheSettings { mode: CacheMode::Off, ..CacheSettings::default() });
    /// off.put("a".into(), &SecretBytes::copy_from(b"1"));
    /// assert!(off.get("a").is_none());
    /// ```
    pub fn put(&self, key: String, value: &SecretBytes) {
        if self.settings.mode == CacheMode::Off || self.settings.max_entries == 0 {
            return;
        }
        let now = Instant::now();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.settings.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, e| {
                now.duration_since(e.used) < self.settings.idle
                    && now.duration_since(e.written) < self.settings.max_age
            });
            while entries.len() >= self.settings.max_entries {
                let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                entries.remove(&oldest);
            }
        }
        entries.insert(
            key,
            Entry {
                key: value.clone(),
                written: now,
                used: now,
            },
        );
    }

    /// Number of entries (fresh or not).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// A data-key decrypt through `cache` (its mode decides): "first" serves a fresh cached key
/// without calling `fetch`; "fallback" calls `fetch` and serves a cached key only when the key
/// service failed; both store what `fetch` returned.
///
/// ```
/// use nacoscrypt_core::SecretBytes;
/// use nacoscrypt_kms_common::cache::{self, Counters, DataKeyCache};
/// use nacoscrypt_kms_common::{CacheMode, CacheSettings};
///
/// let c = DataKeyCache::new(CacheSettings { mode: CacheMode::First, ..CacheSettings::default() });
/// let counters = Counters::default();
/// let fetch = || Ok(SecretBytes::copy_from(b"k"));
/// cache::through(&c, &counters, "key".into(), fetch)?; // asks the key service
/// cache::through(&c, &counters, "key".into(), || unreachable!())?; // served from the cache
/// assert_eq!((counters.snapshot().cache_misses, counters.snapshot().cache_hits), (1, 1));
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
pub fn through(
    cache: &DataKeyCache,
    counters: &Counters,
    key: String,
    fetch: impl FnOnce() -> nacoscrypt_core::Result<SecretBytes>,
) -> nacoscrypt_core::Result<SecretBytes> {
    use nacoscrypt_core::Error;
    if cache.mode() == CacheMode::First
        && let Some(k) = cache.get(&key)
    {
        Counters::bump(&counters.cache_hits);
        return Ok(k);
    }
    match fetch() {
        Ok(k) => {
            if cache.mode() != CacheMode::Off {
                Counters::bump(&counters.cache_misses);
                cache.put(key, &k);
            }
            Ok(k)
        }
        Err(e @ Error::KmsService(_)) if cache.mode() == CacheMode::Fallback => {
            // The key service failed: a key it gave before still opens the config.
            if let Some(k) = cache.get(&key) {
                Counters::bump(&counters.cache_hits);
                Ok(k)
            } else {
                Counters::bump(&counters.cache_misses);
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling the Python binding (`cache=`) and `kmsCache` accept today ("" / absent is
    /// the default, handled by the caller), and nothing else.
    #[test]
    fn cache_mode_from_str() {
        for (text, mode) in [
            ("off", CacheMode::Off),
            ("fallback", CacheMode::Fallback),
            ("first", CacheMode::First),
        ] {
            assert_eq!(text.parse::<CacheMode>().unwrap(), mode);
        }
        assert_eq!(CacheMode::default(), CacheMode::Off);
        assert_eq!(CacheSettings::default().mode, CacheMode::default());
        for bad in ["", "Off", "FIRST", "on", " first", "fallback "] {
            let err = bad.parse::<CacheMode>().unwrap_err();
            assert_eq!(
                err.kind(),
                nacoscrypt_core::ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn bounded_lru_and_ages() {
        let c = DataKeyCache::new(CacheSettings {
            mode: CacheMode::First,
            max_entries: 2,
            idle: Duration::from_millis(200),
            max_age: Duration::from_secs(10),
        });
        c.put("a".into(), &SecretBytes::copy_from(b"1"));
        std::thread::sleep(Duration::from_millis(5));
        c.put("b".into(), &SecretBytes::copy_from(b"2"));
        assert!(c.get("a").is_some()); // a is now the most recently used
        c.put("c".into(), &SecretBytes::copy_from(b"3"));
        assert_eq!(c.len(), 2);
        assert!(c.get("b").is_none(), "the least recently used went first");
        std::thread::sleep(Duration::from_millis(250));
        assert!(
            c.get("a").is_none() && c.get("c").is_none(),
            "idle entries expire"
        );
    }

    #[test]
    fn off_stores_nothing() {
        let c = DataKeyCache::new(CacheSettings::default());
        c.put("a".into(), &SecretBytes::copy_from(b"1"));
        assert_eq!(c.len(), 0);
    }
}
