//! The KMS interface (SPEC 2.3) and the local keyring (SPEC 2.4).
//!
//! A [`Kms`] hands out data keys and encrypts small secrets. Alibaba Cloud KMS, AWS KMS, an HSM
//! or the embedded [`Keyring`] all fit behind the same three calls. The trait is object safe, so
//! the C and Python bindings implement it at run time with callbacks and duck-typed objects.
//!
//! # Keyring files
//! With the `std` feature a keyring lives in a file (SPEC 2.4); for long-running services use
//! [`KeyringFile`], which follows the file. Every change to the file is safe against
//! concurrent writers and crashes:
//! - **Writers serialize** on an advisory lock (`flock`) on a lock file beside the keyring,
//!   `<keyring>.lock` (mode 0600, never removed: removing a lock file races with its next user).
//!   The lock is held across load, change and save, so N processes × M rotations leave exactly
//!   1 + N·M versions. A writer that cannot get the lock within [`LOCK_TIMEOUT`] fails with
//!   [`Error::Io`] naming the lock file.
//! - **Atomic replacement**: the new text goes to a temporary file in the keyring's own folder
//!   (a unique name: process id, a per-process counter and the time), is flushed to disk, renamed
//!   over the keyring, and the folder is flushed so the rename itself survives a crash. A crash
//!   at any point leaves either the old file or the new one, never a mix; a full disk or a
//!   read-only folder leaves the old file untouched. Temporary files a killed writer left behind
//!   are removed by the next writer (under the lock, no other writer can be using them).
//! - **Symbolic links are followed**: a keyring path that is a symbolic link stays a link; the
//!   file it points to is replaced, atomically, in its own folder, and its lock file sits beside
//!   it, so writers through the link and through the real path exclude each other.
//! - **Only regular files** are read: a FIFO, a device or a directory is an [`Error::Io`] that
//!   says what it is.

pub(crate) mod keyring;

#[cfg(feature = "std")]
mod file;
#[cfg(feature = "std")]
mod keyring_file;

pub use keyring::{KEY_LEN, Keyring, KeyringWithRng, VERSION_ID_LEN};

#[cfg(feature = "std")]
pub use file::LOCK_TIMEOUT;
#[cfg(feature = "std")]
pub use keyring_file::{DEFAULT_REFRESH_INTERVAL, KeyringFile};

use crate::{Error, Result, SecretBytes};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The size of a data key asked of a KMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeySpec {
    /// A 16-byte AES-128 key (`AES_128`).
    Aes128,
    /// A 32-byte AES-256 key (`AES_256`).
    Aes256,
}

impl KeySpec {
    /// The name KMS APIs use: `AES_128` or `AES_256`.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::KeySpec;
    /// assert_eq!(KeySpec::Aes256.as_str(), "AES_256");
    /// assert_eq!(KeySpec::parse("AES_128"), Some(KeySpec::Aes128));
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aes128 => "AES_128",
            Self::Aes256 => "AES_256",
        }
    }

    /// The key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// Parses `AES_128` / `AES_256`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AES_128" => Some(Self::Aes128),
            "AES_256" => Some(Self::Aes256),
            _ => None,
        }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a data key spec exactly as the bindings accept it: `AES_256` or `AES_128`, upper case
/// (the KMS API's names; the inverse of [`KeySpec::as_str`] and `Display`).
///
/// ```
/// use nacoscrypt_core::kms::KeySpec;
/// use nacoscrypt_core::ErrorKind;
///
/// assert_eq!("AES_256".parse::<KeySpec>()?, KeySpec::Aes256);
/// assert_eq!("AES_128".parse::<KeySpec>()?, KeySpec::Aes128);
/// let err = "aes_256".parse::<KeySpec>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
/// assert_eq!(err.to_string(), "invalid argument: spec must be \"AES_256\" or \"AES_128\"");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
impl core::str::FromStr for KeySpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s).ok_or(Error::InvalidArgument {
            reason: "spec must be \"AES_256\" or \"AES_128\"",
        })
    }
}

/// A KMS encryption context: a set of string pairs, iterated sorted by name.
///
/// An implementation must bind it to the ciphertext (use it as AAD), so a blob made under one
/// context does not decrypt under another.
///
/// ```
/// use nacoscrypt_core::kms::Context;
///
/// let mut ctx = Context::new();
/// ctx.insert("tenant", "public");
/// ctx.insert("dataId", "cipher-x");
/// let names: Vec<_> = ctx.iter().map(|(k, _)| k).collect();
/// assert_eq!(names, ["dataId", "tenant"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Context<'a> {
    /// The empty context (what the `nacos` format uses).
    pub const fn new() -> Self {
        Self { pairs: Vec::new() }
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &'a str, value: &'a str) {
        match self.pairs.binary_search_by(|(k, _)| (*k).cmp(name)) {
            Ok(i) => self.pairs[i].1 = value,
            Err(i) => self.pairs.insert(i, (name, value)),
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| self.pairs[i].1)
    }

    /// The pairs, sorted by name (byte order).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + '_ {
        self.pairs.iter().copied()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// `true` if no pair is set.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Context<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        let mut ctx = Self::new();
        for (k, v) in iter {
            ctx.insert(k, v);
        }
        ctx
    }
}

/// An AES data key: 16 or 32 bytes, wiped on drop, never printed.
///
/// With the `aws-lc` backend a key used for `v1` expands its AES-GCM key schedule on first use
/// and keeps it (freed and cleansed with the key), so encrypting or decrypting many small
/// configs with one `DataKey` pays the key setup once; a clone expands again.
///
/// ```
/// use nacoscrypt_core::kms::{DataKey, KeySpec};
///
/// let key = DataKey::new(KeySpec::Aes128, &[7u8; 16])?;
/// assert_eq!(key.spec(), KeySpec::Aes128);
/// assert_eq!(format!("{key:?}"), "DataKey(AES_128, [REDACTED])");
/// assert!(DataKey::new(KeySpec::Aes256, &[7u8; 16]).is_err());
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey {
    bytes: KeyBytes,
    /// The expanded AES-GCM key of `bytes` (only ever of these bytes: they never change).
    #[zeroize(skip)]
    schedule: crate::gcm::Schedule,
}

/// The key bytes, by size.
#[derive(Clone, Zeroize)]
pub(crate) enum KeyBytes {
    Aes128([u8; 16]),
    Aes256([u8; 32]),
}

impl DataKey {
    /// A data key of `spec` from `bytes`, which must have exactly `spec.key_len()` bytes.
    pub fn new(spec: KeySpec, bytes: &[u8]) -> Result<Self> {
        let wrong_length = || Error::DataKeyLength {
            expected: spec.key_len(),
            len: bytes.len(),
        };
        let bytes = match spec {
            KeySpec::Aes128 => KeyBytes::Aes128(bytes.try_into().map_err(|_| wrong_length())?),
            KeySpec::Aes256 => KeyBytes::Aes256(bytes.try_into().map_err(|_| wrong_length())?),
        };
        Ok(Self {
            bytes,
            schedule: crate::gcm::Schedule::default(),
        })
    }

    /// The key's size.
    pub fn spec(&self) -> KeySpec {
        match self.bytes {
            KeyBytes::Aes128(_) => KeySpec::Aes128,
            KeyBytes::Aes256(_) => KeySpec::Aes256,
        }
    }

    /// The raw key bytes (16 or 32).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.bytes {
            KeyBytes::Aes128(k) => k,
            KeyBytes::Aes256(k) => k,
        }
    }

    pub(crate) fn bytes(&self) -> &KeyBytes {
        &self.bytes
    }

    pub(crate) fn gcm_key(&self) -> crate::gcm::GcmKey<'_> {
        match &self.bytes {
            KeyBytes::Aes128(k) => crate::gcm::GcmKey::aes128(k),
            KeyBytes::Aes256(k) => crate::gcm::GcmKey::aes256(k),
        }
        .kept_in(&self.schedule)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({}, [REDACTED])", self.spec())
    }
}

/// What [`Kms::generate_data_key`] returns: the plaintext key and its encrypted form.
#[derive(Debug)]
pub struct GeneratedDataKey {
    /// The plaintext data key bytes (checked against the spec by the caller of the KMS).
    pub plaintext: SecretBytes,
    /// The KMS ciphertext blob of the key, stored as the config's `encryptedDataKey`.
    pub ciphertext_blob: String,
}

/// A key management service (SPEC 2.3).
///
/// Implementations must bind `context` to their ciphertexts (for example as AEAD associated
/// data) and return errors, never panic. The trait is object safe: the config functions take
/// `&dyn Kms`, and the bindings implement it with C callbacks and Python objects.
///
/// # Example: a KMS that delegates to the local keyring and counts calls
/// ```
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Keyring, Kms};
/// use nacoscrypt_core::{Result, SecretBytes};
///
/// struct Counting { inner: Keyring, calls: AtomicUsize }
///
/// impl Kms for Counting {
///     fn generate_data_key(&self, key_id: &str, spec: KeySpec, ctx: &Context<'_>) -> Result<GeneratedDataKey> {
///         self.calls.fetch_add(1, Ordering::Relaxed);
///         self.inner.generate_data_key(key_id, spec, ctx)
///     }
///     fn encrypt(&self, key_id: &str, plaintext: &[u8], ctx: &Context<'_>) -> Result<String> {
///         self.calls.fetch_add(1, Ordering::Relaxed);
///         self.inner.encrypt(key_id, plaintext, ctx)
///     }
///     fn decrypt(&self, blob: &str, ctx: &Context<'_>) -> Result<SecretBytes> {
///         self.calls.fetch_add(1, Ordering::Relaxed);
///         self.inner.decrypt(blob, ctx)
///     }
/// }
///
/// let mut inner = Keyring::new();
/// inner.add_new_key("alias/k")?;
/// let kms = Counting { inner, calls: AtomicUsize::new(0) };
/// let blob = kms.encrypt("alias/k", b"hello", &Context::new())?;
/// assert_eq!(kms.decrypt(&blob, &Context::new())?.as_bytes(), b"hello");
/// assert_eq!(kms.calls.load(Ordering::Relaxed), 2);
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
pub trait Kms {
    /// A fresh random data key of `spec` under the master key `key_id`, bound to `context`.
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<GeneratedDataKey>;

    /// Encrypts `plaintext` under the master key `key_id`, bound to `context`; returns the blob.
    fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String>;

    /// Decrypts a blob made by [`Kms::encrypt`] or [`Kms::generate_data_key`] under the same
    /// `context`.
    fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes>;

    /// Decrypts the blob of a data key of `spec` made by [`Kms::generate_data_key`]: the raw
    /// key bytes. The config functions call this for envelope schemes and [`Kms::decrypt`] for
    /// the direct scheme, so a service that carries data keys as text tells the two apart.
    ///
    /// The default is [`Kms::decrypt`]. Alibaba Cloud KMS overrides it: its `Decrypt` of a data
    /// key returns the key as base64 text, which it decodes here (SPEC 5.1).
    fn decrypt_data_key(
        &self,
        ciphertext_blob: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<SecretBytes> {
        let _ = spec;
        self.decrypt(ciphertext_blob, context)
    }

    /// Wraps an existing data key of `spec` under the master key `key_id`: the inverse of
    /// [`Kms::decrypt_data_key`], used to re-wrap a config's data key under a new master key
    /// without touching its content (`migrate --mode rewrap`).
    ///
    /// The default is [`Kms::encrypt`] of the raw key bytes. A service that carries data keys as
    /// text overrides it (Alibaba Cloud KMS encrypts the key's base64 text, SPEC 5.1).
    fn encrypt_data_key(
        &self,
        key_id: &str,
        key: &DataKey,
        context: &Context<'_>,
    ) -> Result<String> {
        self.encrypt(key_id, key.as_bytes(), context)
    }

    /// Whether `ciphertext_blob` (an `encryptedDataKey`, or a direct config's blob) was made
    /// under the **current** version of the master key `key_id`, as far as the blob and what
    /// this KMS already knows tell, without a call to a service: `Some(true)` or `Some(false)`
    /// when it can tell, `None` when it cannot (the default).
    ///
    /// `migrate` uses it to skip entries already in the target form when the source and the
    /// target are the same key service (a rotation): an entry is skipped only on `Some(true)`.
    /// The local keyring answers from the version id at the start of its blobs (SPEC 2.4): the
    /// key id's primary (last) version is the current one.
    ///
    /// ```
    /// use nacoscrypt_core::kms::{Context, Keyring, Kms};
    ///
    /// let mut k = Keyring::new();
    /// k.add_new_key("alias/a")?;
    /// let old = k.encrypt("alias/a", b"secret", &Context::new())?;
    /// assert_eq!(k.is_current_version("alias/a", &old), Some(true));
    /// k.rotate("alias/a")?;
    /// assert_eq!(k.is_current_version("alias/a", &old), Some(false));
    /// let new = k.encrypt("alias/a", b"secret", &Context::new())?;
    /// assert_eq!(k.is_current_version("alias/a", &new), Some(true));
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    fn is_current_version(&self, key_id: &str, ciphertext_blob: &str) -> Option<bool> {
        let _ = (key_id, ciphertext_blob);
        None
    }
}

/// `Kms` for pointers to a `Kms`: every method forwards to the pointee, so a `&K`, `Box<K>` or
/// `Arc<K>` (and `Box<dyn Kms>`) can be handed wherever a `Kms` is taken.
macro_rules! forward_kms {
    ($($pointer:ty),+ $(,)?) => {$(
        impl<K: Kms + ?Sized> Kms for $pointer {
            fn generate_data_key(
                &self,
                key_id: &str,
                spec: KeySpec,
                context: &Context<'_>,
            ) -> Result<GeneratedDataKey> {
                (**self).generate_data_key(key_id, spec, context)
            }
            fn encrypt(
                &self,
                key_id: &str,
                plaintext: &[u8],
                context: &Context<'_>,
            ) -> Result<String> {
                (**self).encrypt(key_id, plaintext, context)
            }
            fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
                (**self).decrypt(ciphertext_blob, context)
            }
            fn decrypt_data_key(
                &self,
                ciphertext_blob: &str,
                spec: KeySpec,
                context: &Context<'_>,
            ) -> Result<SecretBytes> {
                (**self).decrypt_data_key(ciphertext_blob, spec, context)
            }
            fn encrypt_data_key(
                &self,
                key_id: &str,
                key: &DataKey,
                context: &Context<'_>,
            ) -> Result<String> {
                (**self).encrypt_data_key(key_id, key, context)
            }
            fn is_current_version(&self, key_id: &str, ciphertext_blob: &str) -> Option<bool> {
                (**self).is_current_version(key_id, ciphertext_blob)
            }
        }
    )+};
}

forward_kms!(&K, alloc::boxed::Box<K>, alloc::sync::Arc<K>);

/// Appends lp(`s`) = 4-byte big-endian length ‖ bytes, the framing of every AAD in SPEC 2.
pub(crate) fn push_lp(aad: &mut Vec<u8>, s: &[u8]) {
    // Inputs are bounded far below 4 GiB by the limits; saturate rather than wrap regardless.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    aad.extend_from_slice(&len.to_be_bytes());
    aad.extend_from_slice(s);
}
