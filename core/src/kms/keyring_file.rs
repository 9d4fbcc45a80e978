//! A keyring bound to its file (`std`): long-running services see versions other processes add.

use super::Keyring;
use super::file::FileIdentity;
use crate::Result;
use alloc::sync::Arc;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Instant;

/// The default bound on how long a [`KeyringFile`] keeps encrypting with a primary version after
/// another process made a newer one: 1 s.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// A keyring loaded from a file that follows the file's changes: the local KMS for long-running
/// services.
///
/// - **Decrypting** a blob of a version the loaded keyring does not know makes it read the file
///   again before failing, if the file changed since it was read (one `stat` tells; the read
///   takes the permission check again, and one thread reads while the others wait for it). So a
///   config written by another process with a version it has just added decrypts here.
///   A flood of made-up version ids costs one `stat` each, never a read.
/// - **Encrypting** uses the newest primary version: the file is checked at most once per
///   [refresh interval](Self::with_refresh_interval) (default [`DEFAULT_REFRESH_INTERVAL`],
///   1 s), so a version added elsewhere is used for new blobs within that bound.
/// - A re-read that fails (the file removed, made readable by others, or malformed) leaves the
///   loaded keys in use; the next unknown version reports the failure, and
///   [`reload`](Self::reload) reports it at once.
/// - [`rotate`](Self::rotate) changes the file under its lock (see
///   [`Keyring::update_file`]) and uses the new version at once.
///
/// Thread-safe: share it (`Arc<KeyringFile>`) between threads.
///
/// ```
/// use nacoscrypt_core::config::{self, ConfigId, Format};
/// use nacoscrypt_core::kms::{Keyring, KeyringFile};
///
/// let dir = std::env::temp_dir().join(format!("nacoscrypt-doc-kf-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("keyring");
/// # let _ = std::fs::remove_file(&path);
/// Keyring::create(&path, "alias/nacos")?;
/// let service = KeyringFile::open(&path)?;          // a long-running reader
///
/// // Another process rotates the key and encrypts with the new version ...
/// Keyring::rotate_file(&path, "alias/nacos", false)?;
/// let id = ConfigId::new("cipher-kms-aes-256-db", "DEFAULT_GROUP", "");
/// let stored = config::encrypt(&Keyring::load(&path)?, &id, "pw=1", "alias/nacos", Format::V1)?;
///
/// // ... and the service decrypts it: the unknown version made it read the file again.
/// let plain = config::decrypt(&service, &id, &stored.content, &stored.encrypted_data_key)?;
/// assert_eq!(plain.as_str(), "pw=1");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
pub struct KeyringFile {
    path: PathBuf,
    loaded: RwLock<Loaded>,
    /// One re-read at a time.
    reading: Mutex<()>,
    epoch: Instant,
    /// Nanoseconds after `epoch` of the last check of the file.
    checked_at: AtomicU64,
    refresh_interval: Duration,
}

struct Loaded {
    keyring: Arc<Keyring>,
    identity: FileIdentity,
}

impl fmt::Debug for KeyringFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringFile")
            .field("path", &self.path)
            .field("refresh_interval", &self.refresh_interval)
            .finish_non_exhaustive()
    }
}

impl KeyringFile {
    /// Loads the keyring file at `path` (as [`Keyring::load`]: mode 0600 or stricter, a regular
    /// file) and keeps following it.
    ///
    /// # Errors
    /// As [`Keyring::load`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (keyring, identity) = Keyring::load_with_identity(&path)?;
        Ok(Self {
            path,
            loaded: RwLock::new(Loaded {
                keyring: Arc::new(keyring),
                identity,
            }),
            reading: Mutex::new(()),
            epoch: Instant::now(),
            checked_at: AtomicU64::new(0),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
        })
    }

    /// Sets how often encryption checks the file for a newer primary version (the bound on
    /// using an old primary after another process rotated). `Duration::ZERO` checks on every
    /// call (one `stat` each).
    #[must_use]
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// The path the keyring was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keyring as last read (checked against the file at most once per refresh interval).
    pub fn keyring(&self) -> Arc<Keyring> {
        self.refresh_if_due();
        Arc::clone(&self.read_loaded().keyring)
    }

    /// Reads the file again now if it changed since it was last read. Returns whether it did.
    ///
    /// # Errors
    /// As [`Keyring::load`]; the keyring loaded before stays in use.
    pub fn reload(&self) -> Result<bool> {
        let _one_reader = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
        self.mark_checked();
        let current = std::fs::metadata(&self.path)
            .map(|meta| FileIdentity::of(&meta))
            .map_err(crate::fs::io_error("opening the keyring file"))?;
        if current == self.read_loaded().identity {
            return Ok(false);
        }
        let (keyring, identity) = Keyring::load_with_identity(&self.path)?;
        let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
        *loaded = Loaded {
            keyring: Arc::new(keyring),
            identity,
        };
        Ok(true)
    }

    /// Adds a new primary version to `key_id` in the file (creating the key if `create_key`
    /// and it is missing), under the file's lock, and uses it from now on. Returns the new
    /// version id.
    ///
    /// # Errors
    /// As [`Keyring::rotate_file`].
    #[cfg(feature = "getrandom")]
    pub fn rotate(&self, key_id: &str, create_key: bool) -> Result<alloc::string::String> {
        let version = Keyring::rotate_file(&self.path, key_id, create_key)?;
        self.reload()?;
        Ok(version)
    }

    fn read_loaded(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn mark_checked(&self) {
        self.checked_at.store(self.now_nanos(), Ordering::Relaxed);
    }

    /// Re-reads the file if the refresh interval has passed since the last check; a failure
    /// keeps the loaded keyring (see the type's docs).
    fn refresh_if_due(&self) {
        let interval = u64::try_from(self.refresh_interval.as_nanos()).unwrap_or(u64::MAX);
        let last = self.checked_at.load(Ordering::Relaxed);
        if self.now_nanos().saturating_sub(last) >= interval {
            let _ = self.reload();
        }
    }

    /// Runs `f` on the loaded keyring; on an unknown key version, re-reads a changed file and
    /// runs it once more.
    #[cfg(feature = "getrandom")]
    fn with_retry<T>(&self, f: impl Fn(&Keyring) -> Result<T>) -> Result<T> {
        let tried = Arc::clone(&self.read_loaded().keyring);
        match f(&tried) {
            Err(e) if e.kind() == crate::ErrorKind::UnknownKey => {
                // Another thread may have read the file meanwhile (this one then waited for it
                // and finds the file unchanged): retry whenever the keys are not those tried.
                self.reload()?;
                let now = Arc::clone(&self.read_loaded().keyring);
                if Arc::ptr_eq(&now, &tried) {
                    Err(e)
                } else {
                    f(&now)
                }
            }
            other => other,
        }
    }
}

#[cfg(feature = "getrandom")]
mod kms {
    use super::KeyringFile;
    use crate::kms::{Context, GeneratedDataKey, KeySpec, Kms};
    use crate::{Result, SecretBytes};
    use alloc::string::String;

    impl Kms for KeyringFile {
        fn generate_data_key(
            &self,
            key_id: &str,
            spec: KeySpec,
            context: &Context<'_>,
        ) -> Result<GeneratedDataKey> {
            self.refresh_if_due();
            self.with_retry(|k| k.generate_data_key(key_id, spec, context))
        }

        fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
            self.refresh_if_due();
            self.with_retry(|k| Kms::encrypt(k, key_id, plaintext, context))
        }

        fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
            self.with_retry(|k| Kms::decrypt(k, ciphertext_blob, context))
        }

        fn is_current_version(&self, key_id: &str, ciphertext_blob: &str) -> Option<bool> {
            // The primary as of now: a rotation by another process counts.
            self.refresh_if_due();
            Some(self.keyring().blob_is_primary(key_id, ciphertext_blob))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::KeyringFile;

    #[test]
    fn shared_between_threads() {
        fn check<T: Send + Sync>() {}
        check::<KeyringFile>();
    }
}
