//! Configuration encryption (SPEC 2): the data ID picks the scheme, the writer picks the format.
//!
//! | data ID prefix        | scheme                          | plaintext limit |
//! |-----------------------|---------------------------------|-----------------|
//! | `cipher-kms-aes-256-` | envelope, 32-byte data key      | 51,200 bytes    |
//! | `cipher-kms-aes-128-` | envelope, 16-byte data key      | 51,200 bytes    |
//! | `cipher-`             | direct: the KMS encrypts it     | 6,144 bytes     |
//!
//! Two stored formats: [`Format::Nacos`] (AES-ECB, what every Nacos client reads; the default
//! for writing) and [`Format::V1`] (AES-GCM bound to data ID, group, tenant and the wrapped data
//! key; content starts with `nc1:`). Readers detect the format.
//!
//! ```
//! use nacoscrypt_core::config::{self, ConfigId, Format};
//! use nacoscrypt_core::{ErrorKind, kms::Keyring};
//!
//! # fn main() -> Result<(), nacoscrypt_core::Error> {
//! let mut keyring = Keyring::new();
//! keyring.add_new_key("alias/nacos")?;
//! let id = ConfigId::new("cipher-kms-aes-128-app.yaml", "payments", "prod");
//!
//! let stored = config::encrypt(&keyring, &id, "token: abc", "alias/nacos", Format::V1)?;
//! assert!(stored.content.starts_with("nc1:"));
//! assert_eq!(config::decrypt(&keyring, &id, &stored.content, &stored.encrypted_data_key)?.as_str(), "token: abc");
//!
//! // A v1 config moved to another group no longer decrypts.
//! let moved = ConfigId::new("cipher-kms-aes-128-app.yaml", "other", "prod");
//! let err = config::decrypt(&keyring, &moved, &stored.content, &stored.encrypted_data_key).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
//! # Ok(()) }
//! ```

pub mod doctor;
#[cfg(feature = "zip")]
pub mod export;
pub mod migrate;
mod nacos;
pub mod plugin;
mod scheme;
mod v1;

pub use scheme::{
    DIRECT_BLOB_OVERHEAD, Limits, MAX_DIRECT_PLAINTEXT_LEN, MAX_ENVELOPE_PLAINTEXT_LEN, Scheme,
};

use crate::kms::{Context, DataKey, Kms};
use crate::rng::RandomSource;
use crate::{CryptoRng, Error, Result, SecretBytes, SecretString};
use alloc::string::String;
use core::fmt;

/// The longest `encryptedDataKey` Nacos stores (`varchar(1024)`).
pub const MAX_ENCRYPTED_DATA_KEY_LEN: usize = 1024;

/// The tenant that an empty tenant stands for.
pub const DEFAULT_TENANT: &str = "public";

/// A configuration's identity in Nacos: data ID, group and tenant (namespace).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConfigId<'a> {
    /// The data ID; its prefix selects the [`Scheme`].
    pub data_id: &'a str,
    /// The group (for example `DEFAULT_GROUP`).
    pub group: &'a str,
    /// The tenant (namespace id); empty means `public`.
    pub tenant: &'a str,
}

impl<'a> ConfigId<'a> {
    /// A config identity.
    pub const fn new(data_id: &'a str, group: &'a str, tenant: &'a str) -> Self {
        Self {
            data_id,
            group,
            tenant,
        }
    }

    /// The tenant with `""` normalised to `public`.
    ///
    /// ```
    /// # use nacoscrypt_core::config::ConfigId;
    /// assert_eq!(ConfigId::new("cipher-x", "g", "").normalized_tenant(), "public");
    /// ```
    pub const fn normalized_tenant(&self) -> &'a str {
        if self.tenant.is_empty() {
            DEFAULT_TENANT
        } else {
            self.tenant
        }
    }

    /// The KMS context of the `v1` format: `{dataId, group, tenant}`.
    pub fn v1_context(&self) -> Context<'a> {
        [
            ("dataId", self.data_id),
            ("group", self.group),
            ("tenant", self.normalized_tenant()),
        ]
        .into_iter()
        .collect()
    }

    fn context(&self, format: Format) -> Context<'a> {
        match format {
            Format::Nacos => Context::new(),
            Format::V1 => self.v1_context(),
        }
    }
}

/// The stored format of an encrypted config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// AES-ECB + PKCS#7, base64: what the Nacos Java, Go and Python SDKs read and write.
    #[default]
    Nacos,
    /// AES-GCM bound to the config's identity, content prefixed `nc1:`.
    V1,
}

impl Format {
    /// `nacos` or `v1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Nacos => "nacos",
            Self::V1 => "v1",
        }
    }

    /// Parses `nacos` / `v1`.
    ///
    /// ```
    /// # use nacoscrypt_core::config::Format;
    /// assert_eq!(Format::parse("v1"), Some(Format::V1));
    /// assert_eq!(Format::parse("V1"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "nacos" => Some(Self::Nacos),
            "v1" => Some(Self::V1),
            _ => None,
        }
    }

    /// The format of stored `content`: `v1` if it starts with `nc1:`.
    pub fn of_content(content: &str) -> Self {
        if content.starts_with(v1::MARKER) {
            Self::V1
        } else {
            Self::Nacos
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses the format's name exactly as the bindings accept it: `nacos` or `v1`, lower case
/// (the inverse of [`Format::as_str`] and `Display`).
///
/// ```
/// use nacoscrypt_core::config::Format;
/// use nacoscrypt_core::ErrorKind;
///
/// assert_eq!("nacos".parse::<Format>()?, Format::Nacos);
/// assert_eq!("v1".parse::<Format>()?, Format::V1);
/// let err = "V1".parse::<Format>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
/// assert_eq!(err.to_string(), "invalid argument: format must be \"nacos\" or \"v1\"");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
impl core::str::FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s).ok_or(Error::InvalidArgument {
            reason: "format must be \"nacos\" or \"v1\"",
        })
    }
}

/// An encrypted config as Nacos stores it: `content` and `encryptedDataKey`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedConfig {
    /// The stored content.
    pub content: String,
    /// The KMS blob of the data key (empty for the direct scheme).
    pub encrypted_data_key: String,
}

/// Encrypts `plaintext` for the config `id` with the master key `key_id` of `kms`, in `format`,
/// drawing nonces from the OS.
///
/// Errors: [`NotEncryptedDataId`](crate::ErrorKind::NotEncryptedDataId) for a data ID without a
/// `cipher-` prefix, [`EmptyContent`](crate::ErrorKind::EmptyContent),
/// [`ContentTooLarge`](crate::ErrorKind::ContentTooLarge) over 50 KiB (envelope) or 6 KiB
/// (direct), and whatever the KMS reports.
#[cfg(feature = "getrandom")]
pub fn encrypt(
    kms: &dyn Kms,
    id: &ConfigId<'_>,
    plaintext: &str,
    key_id: &str,
    format: Format,
) -> Result<EncryptedConfig> {
    encrypt_from(kms, id, plaintext, key_id, format, &mut RandomSource::Os)
}

/// [`encrypt`] with a caller-supplied RNG for the `v1` nonce (for `no_std` targets, or tests).
pub fn encrypt_with_rng(
    kms: &dyn Kms,
    id: &ConfigId<'_>,
    plaintext: &str,
    key_id: &str,
    format: Format,
    rng: &mut dyn CryptoRng,
) -> Result<EncryptedConfig> {
    encrypt_from(
        kms,
        id,
        plaintext,
        key_id,
        format,
        &mut RandomSource::Caller(rng),
    )
}

fn encrypt_from(
    kms: &dyn Kms,
    id: &ConfigId<'_>,
    plaintext: &str,
    key_id: &str,
    format: Format,
    rng: &mut RandomSource<'_>,
) -> Result<EncryptedConfig> {
    let scheme = Scheme::for_encrypt(id.data_id)?;
    Limits::NACOS.check_plaintext(scheme, plaintext.len())?;
    let context = id.context(format);
    match scheme {
        Scheme::Envelope(spec) => {
            let generated = kms.generate_data_key(key_id, spec, &context)?;
            let key = DataKey::new(spec, generated.plaintext.as_bytes())?;
            let encrypted_data_key = generated.ciphertext_blob;
            if encrypted_data_key.is_empty() {
                return Err(Error::kms("the KMS returned an empty data key blob"));
            }
            check_blob_has_no_nul(&encrypted_data_key)?;
            check_encrypted_data_key(&encrypted_data_key)?;
            let content =
                encrypt_content_from(&key, id, plaintext, &encrypted_data_key, format, rng)?;
            Ok(EncryptedConfig {
                content,
                encrypted_data_key,
            })
        }
        Scheme::Direct => {
            let blob = kms.encrypt(key_id, plaintext.as_bytes(), &context)?;
            if blob.is_empty() || blob.starts_with(v1::MARKER) {
                return Err(Error::kms("the KMS returned an empty or ambiguous blob"));
            }
            check_blob_has_no_nul(&blob)?;
            let content = match format {
                Format::Nacos => blob,
                Format::V1 => {
                    let mut content = String::with_capacity(v1::MARKER.len() + blob.len());
                    content.push_str(v1::MARKER);
                    content.push_str(&blob);
                    content
                }
            };
            Ok(EncryptedConfig {
                content,
                encrypted_data_key: String::new(),
            })
        }
    }
}

/// Decrypts a stored config with the default [`Limits`]; the format is detected.
///
/// ```
/// use nacoscrypt_core::config::{self, ConfigId};
/// use nacoscrypt_core::{ErrorKind, kms::Keyring};
///
/// let keyring = Keyring::new();
/// let id = ConfigId::new("application.yaml", "DEFAULT_GROUP", "");
/// let err = config::decrypt(&keyring, &id, "plain: text", "").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotEncryptedDataId);
/// ```
pub fn decrypt(
    kms: &dyn Kms,
    id: &ConfigId<'_>,
    content: &str,
    encrypted_data_key: &str,
) -> Result<SecretString> {
    decrypt_with_limits(kms, id, content, encrypted_data_key, &Limits::NACOS)
}

/// [`decrypt`] with caller-chosen limits (for example raised for a cluster configured with
/// larger configs).
pub fn decrypt_with_limits(
    kms: &dyn Kms,
    id: &ConfigId<'_>,
    content: &str,
    encrypted_data_key: &str,
    limits: &Limits,
) -> Result<SecretString> {
    let scheme = Scheme::for_decrypt(id.data_id, encrypted_data_key)?;
    check_stored(scheme, content, limits)?;
    let format = Format::of_content(content);
    let body = strip_marker(content, format);
    let context = id.context(format);
    let plaintext = match scheme {
        Scheme::Envelope(spec) => {
            if encrypted_data_key.is_empty() {
                return Err(Error::MissingEncryptedDataKey);
            }
            check_encrypted_data_key(encrypted_data_key)?;
            let key_bytes = kms.decrypt_data_key(encrypted_data_key, spec, &context)?;
            let key = DataKey::new(spec, key_bytes.as_bytes())?;
            decrypt_body(&key, id, body, encrypted_data_key, format)?
        }
        Scheme::Direct => kms.decrypt(body, &context)?,
    };
    finish(scheme, plaintext, limits)
}

/// Encrypts `plaintext` with a data key the caller already has (the cipher step alone, without
/// a KMS): returns the stored content. `encrypted_data_key` is the blob that will be stored
/// beside it (bound into the `v1` AAD; unused by the `nacos` format).
///
/// ```
/// use nacoscrypt_core::config::{self, ConfigId, Format};
/// use nacoscrypt_core::kms::{DataKey, KeySpec};
///
/// let key = DataKey::new(KeySpec::Aes256, &(0u8..32).collect::<Vec<_>>())?;
/// let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
/// let content = config::encrypt_with_data_key(&key, &id, "username=nacos\npassword=secret&x=1", "", Format::Nacos)?;
/// assert_eq!(content, "cdJ7YJfSJvo8Gkk+FWH04fQrhqZ4FW7+j6nT1vBQCPTpD9r9TojtDIDA2oCGETnC");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[cfg(feature = "getrandom")]
pub fn encrypt_with_data_key(
    key: &DataKey,
    id: &ConfigId<'_>,
    plaintext: &str,
    encrypted_data_key: &str,
    format: Format,
) -> Result<String> {
    encrypt_content_from(
        key,
        id,
        plaintext,
        encrypted_data_key,
        format,
        &mut RandomSource::Os,
    )
}

/// [`encrypt_with_data_key`] with a caller-supplied RNG.
pub fn encrypt_with_data_key_and_rng(
    key: &DataKey,
    id: &ConfigId<'_>,
    plaintext: &str,
    encrypted_data_key: &str,
    format: Format,
    rng: &mut dyn CryptoRng,
) -> Result<String> {
    encrypt_content_from(
        key,
        id,
        plaintext,
        encrypted_data_key,
        format,
        &mut RandomSource::Caller(rng),
    )
}

/// Decrypts stored `content` with a data key the caller already has (the cipher step alone),
/// applying the same checks as [`decrypt_with_limits`] except the KMS step.
pub fn decrypt_with_data_key(
    key: &DataKey,
    id: &ConfigId<'_>,
    content: &str,
    encrypted_data_key: &str,
    limits: &Limits,
) -> Result<SecretString> {
    let scheme = Scheme::Envelope(key.spec());
    check_stored(scheme, content, limits)?;
    check_encrypted_data_key(encrypted_data_key)?;
    let format = Format::of_content(content);
    let plaintext = decrypt_body(
        key,
        id,
        strip_marker(content, format),
        encrypted_data_key,
        format,
    )?;
    finish(scheme, plaintext, limits)
}

fn encrypt_content_from(
    key: &DataKey,
    id: &ConfigId<'_>,
    plaintext: &str,
    encrypted_data_key: &str,
    format: Format,
    rng: &mut RandomSource<'_>,
) -> Result<String> {
    Limits::NACOS.check_plaintext(Scheme::Envelope(key.spec()), plaintext.len())?;
    match format {
        Format::Nacos => Ok(nacos::encrypt(key, plaintext.as_bytes())),
        Format::V1 => v1::encrypt(
            key,
            &v1::aad(id, encrypted_data_key),
            plaintext.as_bytes(),
            rng,
        ),
    }
}

fn decrypt_body(
    key: &DataKey,
    id: &ConfigId<'_>,
    body: &str,
    encrypted_data_key: &str,
    format: Format,
) -> Result<SecretBytes> {
    match format {
        Format::Nacos => nacos::decrypt(key, body),
        Format::V1 => v1::decrypt(key, &v1::aad(id, encrypted_data_key), body),
    }
}

fn strip_marker(content: &str, format: Format) -> &str {
    match format {
        Format::Nacos => content,
        Format::V1 => &content[v1::MARKER.len()..],
    }
}

fn check_stored(scheme: Scheme, content: &str, limits: &Limits) -> Result<()> {
    if content.is_empty() {
        return Err(Error::EmptyContent);
    }
    let limit = limits.max_stored_len(scheme);
    if content.len() > limit {
        return Err(Error::StoredContentTooLarge {
            size: content.len(),
            limit,
        });
    }
    Ok(())
}

/// A blob becomes the stored `content` or `encryptedDataKey`, which C readers take as
/// NUL-terminated strings: one holding NUL could be written but never read back.
fn check_blob_has_no_nul(blob: &str) -> Result<()> {
    if blob.contains('\0') {
        return Err(Error::kms(
            "the KMS returned a ciphertext blob containing a NUL character",
        ));
    }
    Ok(())
}

fn check_encrypted_data_key(encrypted_data_key: &str) -> Result<()> {
    if encrypted_data_key.len() > MAX_ENCRYPTED_DATA_KEY_LEN {
        return Err(Error::EncryptedDataKeyTooLong {
            len: encrypted_data_key.len(),
        });
    }
    Ok(())
}

fn finish(scheme: Scheme, plaintext: SecretBytes, limits: &Limits) -> Result<SecretString> {
    limits.check_plaintext(scheme, plaintext.len())?;
    plaintext.into_secret_string()
}
