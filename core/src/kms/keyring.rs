//! The local keyring: a KMS in a text file (SPEC 2.4).
//!
//! ```text
//! # comments and blank lines are ignored
//! key <key-id> <version-id> <base64 of 32 random bytes>
//! ```
//!
//! The last line of a key id is its primary version, used for new blobs; older versions still
//! decrypt. A blob is `base64std(version-id[36] ‖ iv[12] ‖ AES-256-GCM ciphertext ‖ tag[16])`
//! with AAD `nacoscrypt:kms:v1` ‖ lp(name) ‖ lp(value) for each context pair sorted by name.

use super::{Context, GeneratedDataKey, KeySpec, Kms, push_lp};
use crate::gcm::{self, GcmKey, NONCE_LEN, TAG_LEN};
use crate::rng::RandomSource;
use crate::{CryptoRng, Error, Result, SecretBytes, b64};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a keyring master key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of a version id (a UUID in its 36-character text form).
pub const VERSION_ID_LEN: usize = 36;
/// Longest key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 128;
/// Largest keyring text accepted, in bytes (a denial-of-service bound: about 10,000 key
/// versions).
pub const MAX_KEYRING_LEN: usize = 1 << 20;
/// Longest blob accepted by [`Keyring::decrypt`], in characters.
pub const MAX_BLOB_LEN: usize = 1 << 20;
/// Largest plaintext [`Keyring`] encrypts: the largest whose blob is at most
/// [`MAX_BLOB_LEN`] characters, so that every blob it writes it can read back.
pub const MAX_BLOB_PLAINTEXT_LEN: usize =
    MAX_BLOB_LEN / 4 * 3 - (VERSION_ID_LEN + NONCE_LEN + TAG_LEN);
const AAD_LABEL: &[u8] = b"nacoscrypt:kms:v1";
/// The comment [`Keyring::to_text`] starts with.
const TEXT_HEADER: &str = "# nacoscrypt keyring: one key version a line; the last line of a key id is its primary.\n\
                           # key <key-id> <version-id> <base64 of 32 bytes>. Keep this file mode 0600.\n";

/// The length of a keyring line of a version of `key_id`, newline included.
fn version_line_len(key_id: &str) -> usize {
    "key ".len() + key_id.len() + 1 + VERSION_ID_LEN + 1 + b64::std_encoded_len(KEY_LEN) + 1
}
/// Base64 characters of a version id (36 bytes: exactly 48 characters).
const VERSION_ID_CHARS: usize = VERSION_ID_LEN / 3 * 4;

/// One key version: a 32-byte master key, wiped on drop, with its AES-GCM key schedule kept
/// after first use (every wrap and unwrap under this version shares it).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct KeyVersion {
    #[zeroize(skip)]
    key_id: String,
    #[zeroize(skip)]
    version_id: String,
    key: [u8; KEY_LEN],
    /// The expansion of `key`, which never changes once the version is made.
    #[zeroize(skip)]
    schedule: gcm::Schedule,
}

impl KeyVersion {
    fn gcm_key(&self) -> GcmKey<'_> {
        GcmKey::aes256(&self.key).kept_in(&self.schedule)
    }
}

/// The local KMS: named master keys with versions, from a keyring text or file.
///
/// `Keyring` implements [`Kms`] (with the `getrandom` feature; otherwise use
/// [`Keyring::with_rng`]). It is `Send + Sync`: share one between threads by reference.
/// Key bytes never leave it and are wiped when it is dropped.
///
/// # Example
/// ```
/// use nacoscrypt_core::kms::{Context, Keyring, Kms};
///
/// let text = "key alias/nacos 52f22665-a60c-42d2-a918-5d950ee88136 \
///             CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n";
/// let keyring = Keyring::parse(text)?;
/// assert_eq!(keyring.key_ids(), ["alias/nacos"]);
///
/// let blob = keyring.encrypt("alias/nacos", b"small secret", &Context::new())?;
/// assert!(blob.starts_with("NTJmMjI2NjUt")); // base64 of the version id comes first
/// assert_eq!(keyring.decrypt(&blob, &Context::new())?.as_bytes(), b"small secret");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Keyring {
    versions: Vec<KeyVersion>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids())
            .field("versions", &self.versions.len())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// An empty keyring.
    pub const fn new() -> Self {
        Self {
            versions: Vec::new(),
        }
    }

    /// Parses keyring text (SPEC 2.4). Errors name the 1-based line.
    ///
    /// ```
    /// use nacoscrypt_core::{ErrorKind, kms::Keyring};
    ///
    /// let err = Keyring::parse("# header\nkey alias/x too-short AAAA\n").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::KeyringSyntax);
    /// assert!(err.to_string().starts_with("keyring line 2:"));
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_KEYRING_LEN {
            return Err(Error::KeyringSyntax {
                line: 0,
                reason: "keyring text is larger than 1 MiB",
            });
        }
        let mut keyring = Self::new();
        for (index, raw) in text.split('\n').enumerate() {
            let line = index + 1;
            let content = raw.strip_suffix('\r').unwrap_or(raw).trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let version = parse_line(content, line)?;
            if keyring.find_version(&version.version_id).is_some() {
                return Err(Error::DuplicateKeyVersion { line });
            }
            keyring.versions.push(version);
        }
        Ok(keyring)
    }

    /// The keyring as text, in the format [`Keyring::parse`] reads (wiped on drop).
    pub fn to_text(&self) -> Zeroizing<String> {
        // Exact capacity: the text holds key material, so it must never be reallocated (a
        // reallocation would free a copy that is not wiped).
        let len = self.text_len();
        let mut out = Zeroizing::new(String::with_capacity(len));
        out.push_str(TEXT_HEADER);
        for v in &self.versions {
            out.push_str("key ");
            out.push_str(&v.key_id);
            out.push(' ');
            out.push_str(&v.version_id);
            out.push(' ');
            b64::encode_std_append(&v.key, &mut out);
            out.push('\n');
        }
        debug_assert_eq!(out.len(), len);
        out
    }

    /// The key ids, in the order they first appear.
    pub fn key_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for v in &self.versions {
            if !ids.contains(&v.key_id.as_str()) {
                ids.push(&v.key_id);
            }
        }
        ids
    }

    /// The version ids of `key_id`, oldest first (the last is the primary).
    pub fn versions(&self, key_id: &str) -> Vec<&str> {
        self.versions
            .iter()
            .filter(|v| v.key_id == key_id)
            .map(|v| v.version_id.as_str())
            .collect()
    }

    /// The primary (newest) version id of `key_id`.
    pub fn primary_version(&self, key_id: &str) -> Option<&str> {
        self.primary(key_id).map(|v| v.version_id.as_str())
    }

    /// `true` if the keyring has no key.
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// Adds a new key `key_id` with one fresh random version, using the OS RNG.
    ///
    /// Fails with [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) if the key id
    /// is invalid or already present (use [`Keyring::rotate`] to add a version).
    #[cfg(feature = "getrandom")]
    pub fn add_new_key(&mut self, key_id: &str) -> Result<&str> {
        self.add_new_key_from(key_id, &mut RandomSource::Os)
    }

    /// [`Keyring::add_new_key`] with a caller-supplied RNG.
    pub fn add_new_key_with_rng(&mut self, key_id: &str, rng: &mut dyn CryptoRng) -> Result<&str> {
        self.add_new_key_from(key_id, &mut RandomSource::Caller(rng))
    }

    /// Adds a fresh random version to the existing key `key_id`, making it the primary; returns
    /// the new version id. Older versions still decrypt.
    ///
    /// ```
    /// use nacoscrypt_core::kms::{Context, Keyring, Kms};
    ///
    /// let mut keyring = Keyring::new();
    /// keyring.add_new_key("alias/k")?;
    /// let old_blob = keyring.encrypt("alias/k", b"v1", &Context::new())?;
    /// let new_version = keyring.rotate("alias/k")?.to_owned();
    /// assert_eq!(keyring.primary_version("alias/k"), Some(new_version.as_str()));
    /// assert_eq!(keyring.decrypt(&old_blob, &Context::new())?.as_bytes(), b"v1");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[cfg(feature = "getrandom")]
    pub fn rotate(&mut self, key_id: &str) -> Result<&str> {
        self.rotate_from(key_id, &mut RandomSource::Os)
    }

    /// [`Keyring::rotate`] with a caller-supplied RNG.
    pub fn rotate_with_rng(&mut self, key_id: &str, rng: &mut dyn CryptoRng) -> Result<&str> {
        self.rotate_from(key_id, &mut RandomSource::Caller(rng))
    }

    /// This keyring as a [`Kms`] that draws randomness from `rng` (for `no_std` targets).
    pub fn with_rng<R: CryptoRng>(&self, rng: R) -> KeyringWithRng<'_, R> {
        KeyringWithRng {
            keyring: self,
            rng: RefCell::new(rng),
        }
    }

    /// Decrypts a blob made by this keyring under `context` (no randomness needed).
    pub fn decrypt(&self, blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        if blob.len() > MAX_BLOB_LEN {
            return Err(Error::BlobTooLarge {
                size: blob.len(),
                limit: MAX_BLOB_LEN,
            });
        }
        // version-id (36 bytes) is exactly the first 48 characters; then nonce ‖ ct ‖ tag.
        let blob = blob.as_bytes();
        if blob.len() < VERSION_ID_CHARS + gcm::NONCE_CHARS + b64::std_encoded_len(TAG_LEN) {
            return Err(match b64::decode_std_bytes(blob, "ciphertext blob") {
                Err(e) => e,
                Ok(raw) => Error::BlobTooShort { len: raw.len() },
            });
        }
        let (version_id, sealed) = blob.split_at(VERSION_ID_CHARS);
        let version_id = b64::decode_std_array::<VERSION_ID_LEN>(version_id, "ciphertext blob")?;
        let version = core::str::from_utf8(&version_id)
            .ok()
            .and_then(|id| self.find_version(id))
            .ok_or(Error::UnknownKeyVersion)?;
        gcm::open_base64(
            version.gcm_key(),
            &context_aad(context),
            sealed,
            "ciphertext blob",
        )
    }

    pub(crate) fn encrypt_from(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &Context<'_>,
        rng: &mut RandomSource<'_>,
    ) -> Result<String> {
        if plaintext.len() > MAX_BLOB_PLAINTEXT_LEN {
            return Err(Error::ContentTooLarge {
                size: plaintext.len(),
                limit: MAX_BLOB_PLAINTEXT_LEN,
            });
        }
        let version = self.primary(key_id).ok_or(Error::UnknownKeyId)?;
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)?;
        let mut raw = Vec::with_capacity(VERSION_ID_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        raw.extend_from_slice(version.version_id.as_bytes());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(plaintext);
        let body = &mut raw[VERSION_ID_LEN + NONCE_LEN..];
        let tag = gcm::seal(version.gcm_key(), &nonce, &context_aad(context), body)?;
        raw.extend_from_slice(&tag);
        Ok(b64::encode_std(&raw))
    }

    pub(crate) fn generate_from(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
        rng: &mut RandomSource<'_>,
    ) -> Result<GeneratedDataKey> {
        let mut key = Zeroizing::new([0u8; 32]);
        let key = &mut key[..spec.key_len()];
        rng.fill(key)?;
        let ciphertext_blob = self.encrypt_from(key_id, key, context, rng)?;
        Ok(GeneratedDataKey {
            plaintext: SecretBytes::copy_from(key),
            ciphertext_blob,
        })
    }

    fn add_new_key_from(&mut self, key_id: &str, rng: &mut RandomSource<'_>) -> Result<&str> {
        check_key_id(key_id).map_err(|reason| Error::InvalidArgument { reason })?;
        if self.primary(key_id).is_some() {
            return Err(Error::InvalidArgument {
                reason: "the key id already exists; rotate it to add a version",
            });
        }
        self.push_random_version(key_id, rng)
    }

    fn rotate_from(&mut self, key_id: &str, rng: &mut RandomSource<'_>) -> Result<&str> {
        if self.primary(key_id).is_none() {
            return Err(Error::UnknownKeyId);
        }
        self.push_random_version(key_id, rng)
    }

    /// The length of [`to_text`](Self::to_text)'s text.
    fn text_len(&self) -> usize {
        TEXT_HEADER.len()
            + self
                .versions
                .iter()
                .map(|v| version_line_len(&v.key_id))
                .sum::<usize>()
    }

    fn push_random_version(&mut self, key_id: &str, rng: &mut RandomSource<'_>) -> Result<&str> {
        // Never make a keyring whose text (what a keyring file holds) `parse` would refuse.
        if self.text_len() + version_line_len(key_id) > MAX_KEYRING_LEN {
            return Err(Error::KeyringSyntax {
                line: 0,
                reason: "keyring text is larger than 1 MiB",
            });
        }
        let mut version = KeyVersion {
            key_id: key_id.into(),
            version_id: String::new(),
            key: [0; KEY_LEN],
            schedule: gcm::Schedule::default(),
        };
        rng.fill(&mut version.key)?;
        loop {
            let mut uuid = [0u8; 16];
            rng.fill(&mut uuid)?;
            version.version_id = uuid_v4_text(uuid);
            if self.find_version(&version.version_id).is_none() {
                break;
            }
        }
        self.versions.push(version);
        Ok(self
            .versions
            .last()
            .map(|v| v.version_id.as_str())
            .unwrap_or_default())
    }

    fn primary(&self, key_id: &str) -> Option<&KeyVersion> {
        self.versions.iter().rev().find(|v| v.key_id == key_id)
    }

    fn find_version(&self, version_id: &str) -> Option<&KeyVersion> {
        self.versions.iter().find(|v| v.version_id == version_id)
    }

    /// `true` if `blob` starts with the version id of `key_id`'s primary version (the answer of
    /// [`Kms::is_current_version`]: a blob of another layout, or of a key id this keyring does
    /// not hold, is not under the current version).
    pub(crate) fn blob_is_primary(&self, key_id: &str, blob: &str) -> bool {
        let Some(primary) = self.primary(key_id) else {
            return false;
        };
        blob.as_bytes()
            .get(..VERSION_ID_CHARS)
            .and_then(|head| b64::decode_std_array::<VERSION_ID_LEN>(head, "ciphertext blob").ok())
            .is_some_and(|id| id == primary.version_id.as_bytes())
    }
}

#[cfg(feature = "getrandom")]
impl Kms for Keyring {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        self.generate_from(key_id, spec, context, &mut RandomSource::Os)
    }

    fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
        self.encrypt_from(key_id, plaintext, context, &mut RandomSource::Os)
    }

    fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        Keyring::decrypt(self, ciphertext_blob, context)
    }

    fn is_current_version(&self, key_id: &str, ciphertext_blob: &str) -> Option<bool> {
        Some(self.blob_is_primary(key_id, ciphertext_blob))
    }
}

/// A [`Keyring`] used as a [`Kms`] with a caller-supplied RNG; see [`Keyring::with_rng`].
pub struct KeyringWithRng<'k, R> {
    keyring: &'k Keyring,
    rng: RefCell<R>,
}

impl<R> fmt::Debug for KeyringWithRng<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringWithRng")
            .field("keyring", self.keyring)
            .finish_non_exhaustive()
    }
}

impl<R: CryptoRng> KeyringWithRng<'_, R> {
    fn with_source<T>(&self, f: impl FnOnce(&mut RandomSource<'_>) -> Result<T>) -> Result<T> {
        let mut rng = self.rng.try_borrow_mut().map_err(|_| Error::Random)?;
        f(&mut RandomSource::Caller(&mut *rng))
    }
}

impl<R: CryptoRng> Kms for KeyringWithRng<'_, R> {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        self.with_source(|rng| self.keyring.generate_from(key_id, spec, context, rng))
    }

    fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
        self.with_source(|rng| self.keyring.encrypt_from(key_id, plaintext, context, rng))
    }

    fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        self.keyring.decrypt(ciphertext_blob, context)
    }

    fn is_current_version(&self, key_id: &str, ciphertext_blob: &str) -> Option<bool> {
        Some(self.keyring.blob_is_primary(key_id, ciphertext_blob))
    }
}

/// AAD of a keyring blob: the label, then lp(name) ‖ lp(value) for each pair sorted by name.
fn context_aad(context: &Context<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(
        AAD_LABEL.len()
            + context
                .iter()
                .map(|(k, v)| 8 + k.len() + v.len())
                .sum::<usize>(),
    );
    aad.extend_from_slice(AAD_LABEL);
    for (name, value) in context.iter() {
        push_lp(&mut aad, name.as_bytes());
        push_lp(&mut aad, value.as_bytes());
    }
    aad
}

fn check_key_id(key_id: &str) -> core::result::Result<(), &'static str> {
    if key_id.is_empty() || key_id.len() > MAX_KEY_ID_LEN {
        return Err("a key id has 1 to 128 characters");
    }
    if !key_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a key id is printable ASCII without spaces");
    }
    Ok(())
}

fn parse_line(content: &str, line: usize) -> Result<KeyVersion> {
    let syntax = |reason| Error::KeyringSyntax { line, reason };
    let mut fields = content.split_ascii_whitespace();
    let (Some(tag), Some(key_id), Some(version_id), Some(key_b64), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(syntax("expected `key <key-id> <version-id> <base64 key>`"));
    };
    if tag != "key" {
        return Err(syntax("a line must start with `key`"));
    }
    check_key_id(key_id).map_err(syntax)?;
    if version_id.len() != VERSION_ID_LEN || !version_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(syntax("a version id has exactly 36 ASCII characters"));
    }
    let decoded = Zeroizing::new(
        b64::decode_std(key_b64, "key").map_err(|_| syntax("the key is not valid base64"))?,
    );
    let key: [u8; KEY_LEN] =
        decoded
            .as_slice()
            .try_into()
            .map_err(|_| Error::KeyringKeyLength {
                line,
                len: decoded.len(),
            })?;
    Ok(KeyVersion {
        key_id: key_id.into(),
        version_id: version_id.into(),
        key,
        schedule: gcm::Schedule::default(),
    })
}

/// Formats 16 random bytes as a version-4 UUID (lower-case, hyphenated).
fn uuid_v4_text(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(VERSION_ID_LEN);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid_v4_text([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(u.len(), VERSION_ID_LEN);
    }

    #[test]
    fn aad_layout() {
        let ctx: Context<'_> = [("group", "g"), ("dataId", "d")].into_iter().collect();
        let aad = context_aad(&ctx);
        let mut want = b"nacoscrypt:kms:v1".to_vec();
        want.extend_from_slice(b"\0\0\0\x06dataId\0\0\0\x01d\0\0\0\x05group\0\0\0\x01g");
        assert_eq!(aad, want);
    }
}
