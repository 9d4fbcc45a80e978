//! The one error type of the crate.
//!
//! Every failure is an [`Error`]: a value that names what was wrong in its `Display` text and
//! never carries key material or plaintext. [`Error::kind`] classifies it into an [`ErrorKind`],
//! the stable vocabulary that the C result codes and the Python exception classes map onto one to
//! one. Token errors also offer the Nacos server's own message ([`Error::nacos_message`]) for
//! services that must answer exactly as the server does.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

/// A stable classification of every [`Error`].
///
/// The bindings map each kind onto a C result number and a Python exception class: kinds are
/// public contracts and are never renamed or repurposed (new ones may be added).
///
/// # Example
/// ```
/// use nacoscrypt_core::{ErrorKind, config::Scheme};
///
/// let err = Scheme::for_encrypt("plain.properties").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotEncryptedDataId);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    // ----- configuration -----
    /// The data ID does not start with `cipher-`: it names no encryption scheme.
    NotEncryptedDataId,
    /// The content is empty (Nacos refuses blank configs).
    EmptyContent,
    /// The plaintext or the stored content is larger than the limit allows.
    ContentTooLarge,
    /// Stored content or a blob is not valid standard base64.
    InvalidBase64,
    /// `nacos` format: the PKCS#7 padding is wrong after decryption.
    BadPadding,
    /// `nacos` format: the ciphertext is not a whole number of 16-byte blocks.
    NotWholeBlocks,
    /// AES-GCM authentication failed: tampered, moved or decrypted with the wrong key.
    AuthenticationFailed,
    /// Decrypted bytes (or an input) are not UTF-8.
    InvalidUtf8,
    /// The key id or key version is not known to the KMS.
    UnknownKey,
    /// The KMS failed; the message is the provider's.
    Kms,
    /// A data key has the wrong length for the scheme.
    DataKeyLength,
    /// The `encryptedDataKey` is missing for an envelope scheme, or longer than Nacos stores.
    InvalidEncryptedDataKey,
    /// A caller-supplied argument is out of its domain (an invalid key id, say).
    InvalidArgument,
    /// The random number generator failed.
    Random,

    // ----- keyring -----
    /// A keyring text has a malformed line (the error names the line).
    KeyringSyntax,
    /// A keyring has the same version id twice.
    DuplicateKeyVersion,
    /// A keyring key is not 32 bytes.
    KeyringKeyLength,
    /// A keyring file can be read by its group or by others.
    LoosePermissions,
    /// Reading or writing a file failed.
    Io,

    // ----- secret keys, identity and settings -----
    /// A token secret key is not valid base64 for the server's decoder.
    InvalidSecretKey,
    /// A token secret key decodes to fewer than 32 bytes.
    SecretKeyTooShort,
    /// A publicly known key or identity was refused (opt in explicitly to use it).
    PubliclyKnownKey,
    /// A server identity key or value is empty.
    InvalidIdentity,
    /// An `application.properties` file or environment setting is invalid.
    InvalidSettings,

    // ----- tokens (SPEC 3.3) -----
    /// The token is blank, not three non-empty parts, or longer than the bound.
    MalformedToken,
    /// The token header is not the constant of the key's algorithm.
    UnsupportedAlgorithm,
    /// The signature does not verify (or is not canonically encoded).
    InvalidSignature,
    /// The payload is not a JSON object with a string `sub` and an integer `exp`.
    InvalidClaims,
    /// The token has expired.
    TokenExpired,
}

impl ErrorKind {
    /// Every kind, in declaration order (for binding tables and their tests).
    pub const ALL: &'static [ErrorKind] = &[
        Self::NotEncryptedDataId,
        Self::EmptyContent,
        Self::ContentTooLarge,
        Self::InvalidBase64,
        Self::BadPadding,
        Self::NotWholeBlocks,
        Self::AuthenticationFailed,
        Self::InvalidUtf8,
        Self::UnknownKey,
        Self::Kms,
        Self::DataKeyLength,
        Self::InvalidEncryptedDataKey,
        Self::InvalidArgument,
        Self::Random,
        Self::KeyringSyntax,
        Self::DuplicateKeyVersion,
        Self::KeyringKeyLength,
        Self::LoosePermissions,
        Self::Io,
        Self::InvalidSecretKey,
        Self::SecretKeyTooShort,
        Self::PubliclyKnownKey,
        Self::InvalidIdentity,
        Self::InvalidSettings,
        Self::MalformedToken,
        Self::UnsupportedAlgorithm,
        Self::InvalidSignature,
        Self::InvalidClaims,
        Self::TokenExpired,
    ];

    /// A short snake_case name, stable across releases (used by the CLI and in vectors).
    ///
    /// ```
    /// # use nacoscrypt_core::ErrorKind;
    /// assert_eq!(ErrorKind::TokenExpired.name(), "expired");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::NotEncryptedDataId => "not_encrypted_data_id",
            Self::EmptyContent => "empty_content",
            Self::ContentTooLarge => "content_too_large",
            Self::InvalidBase64 => "invalid_base64",
            Self::BadPadding => "bad_padding",
            Self::NotWholeBlocks => "not_whole_blocks",
            Self::AuthenticationFailed => "authentication_failed",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::UnknownKey => "unknown_key",
            Self::Kms => "kms",
            Self::DataKeyLength => "data_key_length",
            Self::InvalidEncryptedDataKey => "invalid_encrypted_data_key",
            Self::InvalidArgument => "invalid_argument",
            Self::Random => "random",
            Self::KeyringSyntax => "keyring_syntax",
            Self::DuplicateKeyVersion => "duplicate_key_version",
            Self::KeyringKeyLength => "keyring_key_length",
            Self::LoosePermissions => "loose_permissions",
            Self::Io => "io",
            Self::InvalidSecretKey => "invalid_base64_secret",
            Self::SecretKeyTooShort => "too_short",
            Self::PubliclyKnownKey => "publicly_known",
            Self::InvalidIdentity => "invalid_identity",
            Self::InvalidSettings => "invalid_settings",
            Self::MalformedToken => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::InvalidSignature => "invalid_signature",
            Self::InvalidClaims => "invalid_claims",
            Self::TokenExpired => "expired",
        }
    }

    /// `true` for the five token verification kinds of SPEC 3.3.
    pub const fn is_token_error(self) -> bool {
        matches!(
            self,
            Self::MalformedToken
                | Self::UnsupportedAlgorithm
                | Self::InvalidSignature
                | Self::InvalidClaims
                | Self::TokenExpired
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a token was refused as [`ErrorKind::MalformedToken`]: the server answers differently for
/// a blank token and for one of the wrong shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Empty or whitespace only (server: `user not found!`).
    Blank,
    /// Not exactly three non-empty parts (server: `token invalid!`).
    Shape,
    /// Longer than [`MAX_TOKEN_LEN`](crate::token::MAX_TOKEN_LEN) bytes, refused before it is
    /// read (server: `token invalid!`).
    TooLong,
}

/// The crate's error: what went wrong, with just enough detail to act on, and nothing secret.
///
/// # Example
/// ```
/// use nacoscrypt_core::{Error, ErrorKind};
///
/// let err = Error::ContentTooLarge { size: 51_201, limit: 51_200 };
/// assert_eq!(err.kind(), ErrorKind::ContentTooLarge);
/// assert_eq!(err.to_string(), "content too large: 51201 bytes, the limit is 51200");
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// See [`ErrorKind::NotEncryptedDataId`].
    NotEncryptedDataId,
    /// See [`ErrorKind::EmptyContent`].
    EmptyContent,
    /// The plaintext has `size` UTF-8 bytes, over `limit`.
    ContentTooLarge {
        /// Size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Stored content of `size` characters is longer than a maximal plaintext encodes to.
    StoredContentTooLarge {
        /// Stored size in characters.
        size: usize,
        /// The longest stored content the limits allow.
        limit: usize,
    },
    /// A KMS ciphertext blob of `size` characters is longer than the KMS reads.
    BlobTooLarge {
        /// Its length in characters.
        size: usize,
        /// The longest blob read.
        limit: usize,
    },
    /// Invalid base64 in the named field.
    InvalidBase64 {
        /// Which input: `content`, `encryptedDataKey`, `blob`, `key`.
        field: &'static str,
    },
    /// See [`ErrorKind::BadPadding`].
    BadPadding,
    /// The ciphertext has `len` bytes, not a multiple of 16.
    NotWholeBlocks {
        /// Ciphertext length in bytes.
        len: usize,
    },
    /// See [`ErrorKind::AuthenticationFailed`]. Deliberately opaque.
    AuthenticationFailed,
    /// See [`ErrorKind::InvalidUtf8`].
    InvalidUtf8,
    /// The key id is not in the KMS.
    UnknownKeyId,
    /// The version id at the start of a blob is not in the KMS.
    UnknownKeyVersion,
    /// The KMS failed, with the provider's message.
    Kms {
        /// The provider's message.
        message: String,
    },
    /// A key service answered with an error or could not be reached: what it said, for logs
    /// and support tickets (never a secret). Its kind is [`ErrorKind::Kms`].
    KmsService(Box<KmsServiceError>),
    /// A data key of `len` bytes where the scheme needs `expected`.
    DataKeyLength {
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        len: usize,
    },
    /// The `encryptedDataKey` is empty for an envelope scheme.
    MissingEncryptedDataKey,
    /// The `encryptedDataKey` is longer than Nacos stores (1024 characters).
    EncryptedDataKeyTooLong {
        /// Its length.
        len: usize,
    },
    /// A blob is shorter than its fixed parts.
    BlobTooShort {
        /// Its decoded length.
        len: usize,
    },
    /// A caller-supplied argument is invalid; the text says which and why.
    InvalidArgument {
        /// What was wrong.
        reason: &'static str,
    },
    /// The random number generator failed.
    Random,
    /// A keyring line is malformed.
    KeyringSyntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A keyring version id appears twice.
    DuplicateKeyVersion {
        /// 1-based line number of the second occurrence.
        line: usize,
    },
    /// A keyring key does not decode to 32 bytes.
    KeyringKeyLength {
        /// 1-based line number.
        line: usize,
        /// Decoded length.
        len: usize,
    },
    /// A keyring file is readable by group or others.
    LoosePermissions {
        /// The file's permission bits.
        mode: u32,
    },
    /// An I/O operation failed.
    Io {
        /// What was being done (for example `reading the keyring file`).
        operation: &'static str,
        /// The operating system's description.
        message: String,
    },
    /// A token secret key has a character the server's base64 decoder refuses.
    IllegalBase64Character {
        /// Byte offset in the input of the character the server's decoder stops at.
        position: usize,
    },
    /// A token secret key decodes to `bits` bits, fewer than 256.
    SecretKeyTooShort {
        /// Decoded length in bits.
        bits: usize,
    },
    /// A publicly known key or identity was refused.
    PubliclyKnownKey,
    /// A server identity key or value is empty.
    EmptyIdentity,
    /// An `application.properties` or environment setting is invalid.
    InvalidSettings {
        /// The setting's name.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// See [`ErrorKind::MalformedToken`].
    MalformedToken(Malformed),
    /// See [`ErrorKind::UnsupportedAlgorithm`].
    UnsupportedAlgorithm,
    /// See [`ErrorKind::InvalidSignature`].
    InvalidSignature,
    /// See [`ErrorKind::InvalidClaims`].
    InvalidClaims {
        /// What is wrong with the payload.
        reason: &'static str,
    },
    /// See [`ErrorKind::TokenExpired`].
    TokenExpired,
}

impl Error {
    /// The stable classification of this error.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Self::NotEncryptedDataId => ErrorKind::NotEncryptedDataId,
            Self::EmptyContent => ErrorKind::EmptyContent,
            Self::ContentTooLarge { .. }
            | Self::StoredContentTooLarge { .. }
            | Self::BlobTooLarge { .. } => ErrorKind::ContentTooLarge,
            Self::InvalidBase64 { .. } | Self::BlobTooShort { .. } => ErrorKind::InvalidBase64,
            Self::BadPadding => ErrorKind::BadPadding,
            Self::NotWholeBlocks { .. } => ErrorKind::NotWholeBlocks,
            Self::AuthenticationFailed => ErrorKind::AuthenticationFailed,
            Self::InvalidUtf8 => ErrorKind::InvalidUtf8,
            Self::UnknownKeyId | Self::UnknownKeyVersion => ErrorKind::UnknownKey,
            Self::Kms { .. } | Self::KmsService(_) => ErrorKind::Kms,
            Self::DataKeyLength { .. } => ErrorKind::DataKeyLength,
            Self::MissingEncryptedDataKey | Self::EncryptedDataKeyTooLong { .. } => {
                ErrorKind::InvalidEncryptedDataKey
            }
            Self::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Self::Random => ErrorKind::Random,
            Self::KeyringSyntax { .. } => ErrorKind::KeyringSyntax,
            Self::DuplicateKeyVersion { .. } => ErrorKind::DuplicateKeyVersion,
            Self::KeyringKeyLength { .. } => ErrorKind::KeyringKeyLength,
            Self::LoosePermissions { .. } => ErrorKind::LoosePermissions,
            Self::Io { .. } => ErrorKind::Io,
            Self::IllegalBase64Character { .. } => ErrorKind::InvalidSecretKey,
            Self::SecretKeyTooShort { .. } => ErrorKind::SecretKeyTooShort,
            Self::PubliclyKnownKey => ErrorKind::PubliclyKnownKey,
            Self::EmptyIdentity => ErrorKind::InvalidIdentity,
            Self::InvalidSettings { .. } => ErrorKind::InvalidSettings,
            Self::MalformedToken(_) => ErrorKind::MalformedToken,
            Self::UnsupportedAlgorithm => ErrorKind::UnsupportedAlgorithm,
            Self::InvalidSignature => ErrorKind::InvalidSignature,
            Self::InvalidClaims { .. } => ErrorKind::InvalidClaims,
            Self::TokenExpired => ErrorKind::TokenExpired,
        }
    }

    /// For token verification errors, the message the Nacos server answers with; `None` for
    /// every other error.
    ///
    /// ```
    /// # use nacoscrypt_core::Error;
    /// assert_eq!(Error::TokenExpired.nacos_message(), Some("token expired!"));
    /// assert_eq!(Error::BadPadding.nacos_message(), None);
    /// ```
    pub const fn nacos_message(&self) -> Option<&'static str> {
        match self {
            Self::MalformedToken(Malformed::Blank) => Some("user not found!"),
            Self::MalformedToken(Malformed::Shape | Malformed::TooLong) => Some("token invalid!"),
            Self::UnsupportedAlgorithm => Some("unsupported signature algorithm"),
            Self::InvalidSignature => Some("Invalid signature"),
            Self::InvalidClaims { .. } => Some("token invalid!"),
            Self::TokenExpired => Some("token expired!"),
            _ => None,
        }
    }

    /// Builds a KMS error from a provider's message.
    pub fn kms(message: impl Into<String>) -> Self {
        Self::Kms {
            message: message.into(),
        }
    }
}

/// What a key service said when a call failed (see [`Error::KmsService`]).
///
/// ```
/// use nacoscrypt_core::{Error, ErrorKind, KmsServiceError};
///
/// let err = Error::from(KmsServiceError {
///     service: "Alibaba Cloud KMS",
///     operation: "Decrypt",
///     code: "Forbidden.KeyNotFound".into(),
///     message: "The specified Key is not found.".into(),
///     request_id: Some("0F2A".into()),
///     http_status: Some(404),
///     attempts: 1,
/// });
/// assert_eq!(err.kind(), ErrorKind::Kms);
/// assert_eq!(
///     err.to_string(),
///     "KMS failure: Alibaba Cloud KMS Decrypt: Forbidden.KeyNotFound: The specified Key is not \
///      found. (HTTP 404, request id 0F2A)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsServiceError {
    /// The service, for example `Alibaba Cloud KMS`.
    pub service: &'static str,
    /// The call, for example `Decrypt`.
    pub operation: &'static str,
    /// The service's error code (`Rejected.Throttling`), or for a failure before any answer one
    /// of `Network`, `Timeout`, `Tls`, `MalformedResponse`, `ResponseTooLarge`, `Credentials`.
    pub code: String,
    /// The service's message, or what went wrong.
    pub message: String,
    /// The service's request id, if it answered.
    pub request_id: Option<String>,
    /// The HTTP status, if it answered.
    pub http_status: Option<u16>,
    /// How many attempts were made (retries included).
    pub attempts: u32,
}

impl fmt::Display for KmsServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}: {}",
            self.service, self.operation, self.code, self.message
        )?;
        let mut details = alloc::vec::Vec::new();
        if let Some(status) = self.http_status {
            details.push(alloc::format!("HTTP {status}"));
        }
        if let Some(id) = &self.request_id {
            details.push(alloc::format!("request id {id}"));
        }
        if self.attempts > 1 {
            details.push(alloc::format!("{} attempts", self.attempts));
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

impl From<KmsServiceError> for Error {
    fn from(e: KmsServiceError) -> Self {
        Self::KmsService(Box::new(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotEncryptedDataId => {
                f.write_str("not an encrypted data ID: it must start with `cipher-`")
            }
            Self::EmptyContent => f.write_str("empty content: Nacos refuses blank configs"),
            Self::ContentTooLarge { size, limit } => {
                write!(f, "content too large: {size} bytes, the limit is {limit}")
            }
            Self::StoredContentTooLarge { size, limit } => write!(
                f,
                "stored content too large: {size} characters, the limit is {limit}"
            ),
            Self::BlobTooLarge { size, limit } => write!(
                f,
                "ciphertext blob too large: {size} characters, the limit is {limit}"
            ),
            Self::InvalidBase64 { field } => write!(f, "invalid base64 in {field}"),
            Self::BadPadding => f.write_str("bad PKCS#7 padding after decryption (wrong key?)"),
            Self::NotWholeBlocks { len } => write!(
                f,
                "ciphertext of {len} bytes is not a whole number of 16-byte blocks"
            ),
            Self::AuthenticationFailed => f.write_str("authentication failed"),
            Self::InvalidUtf8 => f.write_str("decrypted content is not valid UTF-8"),
            Self::UnknownKeyId => f.write_str("unknown key id"),
            Self::UnknownKeyVersion => f.write_str("unknown key version"),
            Self::Kms { message } => write!(f, "KMS failure: {message}"),
            Self::KmsService(e) => write!(f, "KMS failure: {e}"),
            Self::DataKeyLength { expected, len } => {
                write!(f, "data key of {len} bytes, the scheme needs {expected}")
            }
            Self::MissingEncryptedDataKey => {
                f.write_str("missing encryptedDataKey for an envelope-encrypted data ID")
            }
            Self::EncryptedDataKeyTooLong { len } => write!(
                f,
                "encryptedDataKey of {len} characters, Nacos stores at most 1024"
            ),
            Self::BlobTooShort { len } => {
                write!(f, "ciphertext blob of {len} bytes is too short")
            }
            Self::InvalidArgument { reason } => write!(f, "invalid argument: {reason}"),
            Self::Random => f.write_str("the random number generator failed"),
            Self::KeyringSyntax { line, reason } => {
                write!(f, "keyring line {line}: {reason}")
            }
            Self::DuplicateKeyVersion { line } => {
                write!(f, "keyring line {line}: duplicate version id")
            }
            Self::KeyringKeyLength { line, len } => {
                write!(f, "keyring line {line}: key of {len} bytes, it must be 32")
            }
            Self::LoosePermissions { mode } => write!(
                f,
                "keyring file is accessible to group or others (mode {mode:03o}): run `chmod 600` on it"
            ),
            Self::Io { operation, message } => write!(f, "{operation}: {message}"),
            Self::IllegalBase64Character { position } => {
                write!(f, "Illegal base64 character at position {position}")
            }
            Self::SecretKeyTooShort { bits } => write!(
                f,
                "secret key of {bits} bits is too short: at least 256 bits are required"
            ),
            Self::PubliclyKnownKey => f.write_str(
                "publicly known default key refused: generate your own, or opt in explicitly",
            ),
            Self::EmptyIdentity => f.write_str("server identity key and value must not be empty"),
            Self::InvalidSettings { name, reason } => write!(f, "setting {name}: {reason}"),
            Self::MalformedToken(Malformed::Blank) => f.write_str("malformed token: blank"),
            Self::MalformedToken(Malformed::Shape) => {
                f.write_str("malformed token: not three non-empty parts")
            }
            Self::MalformedToken(Malformed::TooLong) => write!(
                f,
                "malformed token: longer than {} bytes",
                crate::token::MAX_TOKEN_LEN
            ),
            Self::UnsupportedAlgorithm => {
                f.write_str("unsupported algorithm: the token header does not match the key")
            }
            Self::InvalidSignature => f.write_str("invalid signature"),
            Self::InvalidClaims { reason } => write!(f, "invalid claims: {reason}"),
            Self::TokenExpired => f.write_str("token expired"),
        }
    }
}

impl core::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique() {
        for (i, a) in ErrorKind::ALL.iter().enumerate() {
            for b in &ErrorKind::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
    }

    #[test]
    fn token_messages_match_the_server() {
        assert_eq!(
            Error::MalformedToken(Malformed::Blank).nacos_message(),
            Some("user not found!")
        );
        assert_eq!(
            Error::InvalidSignature.nacos_message(),
            Some("Invalid signature")
        );
        assert!(ErrorKind::ALL.iter().filter(|k| k.is_token_error()).count() == 5);
    }
}
