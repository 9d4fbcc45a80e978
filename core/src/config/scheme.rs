//! Which scheme a data ID selects (SPEC 2.1), and the size limits.

use crate::b64::std_encoded_len;
use crate::kms::KeySpec;
use crate::{Error, Result};

const AES_256_PREFIX: &str = "cipher-kms-aes-256-";
const AES_128_PREFIX: &str = "cipher-kms-aes-128-";
const DIRECT_PREFIX: &str = "cipher-";

/// How a configuration is encrypted, chosen by its data ID.
///
/// ```
/// use nacoscrypt_core::config::Scheme;
/// use nacoscrypt_core::kms::KeySpec;
///
/// assert_eq!(Scheme::for_encrypt("cipher-kms-aes-256-db.properties")?, Scheme::Envelope(KeySpec::Aes256));
/// assert_eq!(Scheme::for_encrypt("cipher-kms-aes-128-app.yaml")?, Scheme::Envelope(KeySpec::Aes128));
/// assert_eq!(Scheme::for_encrypt("cipher-token.json")?, Scheme::Direct);
/// assert!(Scheme::for_encrypt("application.yaml").is_err());
/// // The Go and Python SDKs' hyphenless form, when an encryptedDataKey comes with it:
/// assert_eq!(Scheme::for_decrypt("cipher-kms-aes-256db", "blob")?, Scheme::Envelope(KeySpec::Aes256));
/// assert_eq!(Scheme::for_decrypt("cipher-kms-aes-256db", "")?, Scheme::Direct);
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Envelope encryption: a fresh data key of this size from the KMS per config.
    Envelope(KeySpec),
    /// The KMS encrypts the content itself (small configs).
    Direct,
}

impl Scheme {
    /// The scheme for writing `data_id`: exact prefixes, hyphen included, in SPEC order.
    pub fn for_encrypt(data_id: &str) -> Result<Self> {
        if data_id.starts_with(AES_256_PREFIX) {
            Ok(Self::Envelope(KeySpec::Aes256))
        } else if data_id.starts_with(AES_128_PREFIX) {
            Ok(Self::Envelope(KeySpec::Aes128))
        } else if data_id.starts_with(DIRECT_PREFIX) {
            Ok(Self::Direct)
        } else {
            Err(Error::NotEncryptedDataId)
        }
    }

    /// The scheme for reading `data_id`: as [`Scheme::for_encrypt`], and also the hyphenless
    /// `cipher-kms-aes-256` / `-128` prefixes of the Go and Python SDKs when a non-empty
    /// `encrypted_data_key` comes with them.
    pub fn for_decrypt(data_id: &str, encrypted_data_key: &str) -> Result<Self> {
        let scheme = Self::for_encrypt(data_id)?;
        if scheme == Self::Direct && !encrypted_data_key.is_empty() {
            if data_id.starts_with(&AES_256_PREFIX[..AES_256_PREFIX.len() - 1]) {
                return Ok(Self::Envelope(KeySpec::Aes256));
            }
            if data_id.starts_with(&AES_128_PREFIX[..AES_128_PREFIX.len() - 1]) {
                return Ok(Self::Envelope(KeySpec::Aes128));
            }
        }
        Ok(scheme)
    }

    /// `true` if `data_id` names an encrypted config (starts with `cipher-`).
    pub fn is_encrypted_data_id(data_id: &str) -> bool {
        data_id.starts_with(DIRECT_PREFIX)
    }
}

/// Size limits on configuration plaintext (UTF-8 bytes).
///
/// The defaults are Nacos': 51,200 bytes (50 KiB) for envelope schemes and 6,144 bytes (6 KiB)
/// for direct encryption. Writing always uses the defaults, so every Nacos client can read what
/// this crate writes; readers may raise them with [`config::decrypt_with_limits`].
///
/// [`config::decrypt_with_limits`]: crate::config::decrypt_with_limits
///
/// ```
/// use nacoscrypt_core::config::{Limits, Scheme};
///
/// let limits = Limits::default();
/// assert_eq!(limits.plaintext_limit(Scheme::Direct), 6_144);
/// let raised = Limits { direct: 16_384, ..Limits::NACOS };
/// assert!(raised.check_plaintext(Scheme::Direct, 10_000).is_ok());
/// assert!(limits.check_plaintext(Scheme::Direct, 6_145).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Largest plaintext for envelope schemes, in bytes.
    pub envelope: usize,
    /// Largest plaintext for direct encryption, in bytes.
    pub direct: usize,
}

/// The envelope schemes' plaintext limit in [`Limits::NACOS`]: 51,200 bytes (50 KiB).
pub const MAX_ENVELOPE_PLAINTEXT_LEN: usize = 51_200;

/// The direct `cipher-` scheme's plaintext limit in [`Limits::NACOS`]: 6,144 bytes (6 KiB).
pub const MAX_DIRECT_PLAINTEXT_LEN: usize = 6_144;

/// Allowance for a KMS ciphertext blob's own framing (version ids, IVs, tags, provider headers)
/// when bounding stored direct-scheme content before decoding it.
pub const DIRECT_BLOB_OVERHEAD: usize = 1024;

/// Length of the `v1` marker `nc1:`.
const V1_MARKER_LEN: usize = 4;

impl Limits {
    /// Nacos' limits: 50 KiB envelope, 6 KiB direct.
    pub const NACOS: Self = Self {
        envelope: MAX_ENVELOPE_PLAINTEXT_LEN,
        direct: MAX_DIRECT_PLAINTEXT_LEN,
    };

    /// The plaintext limit for `scheme`.
    pub const fn plaintext_limit(&self, scheme: Scheme) -> usize {
        match scheme {
            Scheme::Envelope(_) => self.envelope,
            Scheme::Direct => self.direct,
        }
    }

    /// Checks a plaintext of `len` bytes against the limit for `scheme`; exactly at the limit
    /// is accepted, empty is refused.
    pub const fn check_plaintext(&self, scheme: Scheme, len: usize) -> Result<()> {
        let limit = self.plaintext_limit(scheme);
        if len == 0 {
            Err(Error::EmptyContent)
        } else if len > limit {
            Err(Error::ContentTooLarge { size: len, limit })
        } else {
            Ok(())
        }
    }

    /// The longest stored content a maximal plaintext encodes to under `scheme`, in either
    /// format; longer stored content is refused before any decoding.
    pub const fn max_stored_len(&self, scheme: Scheme) -> usize {
        let raw = match scheme {
            // nacos: PKCS#7 adds 1..=16 bytes; v1: 12-byte nonce + 16-byte tag.
            Scheme::Envelope(_) => {
                let ecb = (self.envelope / 16).saturating_add(1).saturating_mul(16);
                let gcm = self.envelope.saturating_add(28);
                if ecb > gcm { ecb } else { gcm }
            }
            Scheme::Direct => self.direct.saturating_add(DIRECT_BLOB_OVERHEAD),
        };
        std_encoded_len(raw).saturating_add(V1_MARKER_LEN)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::NACOS
    }
}
