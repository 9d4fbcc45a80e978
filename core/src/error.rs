//! The one error type of the crate.
//!
//! Every failure is an [`Error`]: a value that names what was wrong in its `Display` text and
//! never carries key material or plaintext. [`Error::kind`] classifies it into an [`ErrorKind`],
//! the stable vocabulary that the C result codes and the Python exception classes map onto one to
//! one. Token errors also offer the Nacos server's own message ([`Error::nacos_message`]) for
//! services that must answer exactly as the server does.

use alloc::boxed::Box;
use alloc::string::String;
use core::ffi::CStr;
use core::fmt;

/// The error vocabulary, declared once: every [`ErrorKind`](crate::ErrorKind) with its stable
/// name, its [`ErrorFamily`](crate::error::ErrorFamily), its description and, for token kinds,
/// the Nacos server's message.
///
/// `for_each_error_kind!(callback)` expands to `callback! { table }`. This crate builds
/// [`ErrorKind`](crate::ErrorKind) and its methods from the table; the bindings build theirs from
/// it (the C result codes, the Python exception classes). A new kind is one entry here, plus its
/// number in the C enum (`ffi/src/result.rs`, literal Rust that cbindgen reads) and, for a
/// family without a shared Python class, its exception class.
///
/// Each entry is the kind's rustdoc, then
/// `Variant = "name", family: Family, message: "description" [, nacos: "server message"];`:
/// - `name`: [`ErrorKind::name`](crate::ErrorKind::name), stable (the CLI prints it; Python's
///   `.kind`);
/// - `family`: [`ErrorKind::family`](crate::ErrorKind::family), which the Python exception
///   class follows;
/// - `message`: [`ErrorKind::description`](crate::ErrorKind::description), also what the C
///   `nacoscrypt_result_message()` returns for the kind's code, byte for byte;
/// - `nacos`: [`ErrorKind::nacos_message`](crate::ErrorKind::nacos_message), present exactly for
///   the token kinds.
///
/// A callback matches the entries with this pattern (or a looser one):
/// ```
/// macro_rules! kind_names {
///     ($(
///         $(#[$doc:meta])*
///         $kind:ident = $name:literal, family: $family:ident, message: $message:literal
///         $(, nacos: $nacos:literal)?;
///     )*) => {
///         const NAMES: &[&str] = &[$($name),*];
///     };
/// }
/// nacoscrypt_core::for_each_error_kind!(kind_names);
/// assert_eq!(NAMES.len(), nacoscrypt_core::ErrorKind::ALL.len());
/// assert_eq!(NAMES[0], "not_encrypted_data_id");
/// ```
#[macro_export]
macro_rules! for_each_error_kind {
    ($callback:ident) => {
        $callback! {
            // ----- configuration -----
            /// The data ID does not start with `cipher-`: it names no encryption scheme.
            NotEncryptedDataId = "not_encrypted_data_id", family: Config,
                message: "not an encrypted data ID: it must start with `cipher-`";
            /// The content is empty (Nacos refuses blank configs).
            EmptyContent = "empty_content", family: Config,
                message: "empty content: Nacos refuses blank configs";
            /// The plaintext or the stored content is larger than the limit allows.
            ContentTooLarge = "content_too_large", family: Config,
                message: "content too large";
            /// Stored content or a blob is not valid standard base64.
            InvalidBase64 = "invalid_base64", family: Decryption,
                message: "invalid base64";
            /// `nacos` format: the PKCS#7 padding is wrong after decryption.
            BadPadding = "bad_padding", family: Decryption,
                message: "bad PKCS#7 padding after decryption (wrong key?)";
            /// `nacos` format: the ciphertext is not a whole number of 16-byte blocks.
            NotWholeBlocks = "not_whole_blocks", family: Decryption,
                message: "ciphertext is not a whole number of 16-byte blocks";
            /// AES-GCM authentication failed: tampered, moved or decrypted with the wrong key.
            AuthenticationFailed = "authentication_failed", family: Decryption,
                message: "authentication failed";
            /// Decrypted bytes (or an input) are not UTF-8.
            InvalidUtf8 = "invalid_utf8", family: Decryption,
                message: "decrypted content is not valid UTF-8";
            /// The key id or key version is not known to the KMS.
            UnknownKey = "unknown_key", family: Kms,
                message: "unknown key id or key version";
            /// The KMS failed; the message is the provider's.
            Kms = "kms", family: Kms,
                message: "KMS failure";
            /// A data key has the wrong length for the scheme.
            DataKeyLength = "data_key_length", family: Kms,
                message: "data key of the wrong length for the scheme";
            /// The `encryptedDataKey` is missing for an envelope scheme, or longer than Nacos
            /// stores.
            InvalidEncryptedDataKey = "invalid_encrypted_data_key", family: Decryption,
                message: "encryptedDataKey missing for an envelope scheme, or too long";
            /// A caller-supplied argument is out of its domain (an invalid key id, say).
            InvalidArgument = "invalid_argument", family: Argument,
                message: "an argument is out of its domain";
            /// The random number generator failed.
            Random = "random", family: General,
                message: "the random number generator failed";

            // ----- keyring -----
            /// A keyring text has a malformed line (the error names the line).
            KeyringSyntax = "keyring_syntax", family: Keyring,
                message: "malformed keyring line";
            /// A keyring has the same version id twice.
            DuplicateKeyVersion = "duplicate_key_version", family: Keyring,
                message: "duplicate keyring version id";
            /// A keyring key is not 32 bytes.
            KeyringKeyLength = "keyring_key_length", family: Keyring,
                message: "keyring key is not 32 bytes";
            /// A keyring file can be read by its group or by others.
            LoosePermissions = "loose_permissions", family: KeyringPermission,
                message: "keyring file is accessible to group or others: run `chmod 600` on it";
            /// Reading or writing a file failed.
            Io = "io", family: File,
                message: "I/O error";

            // ----- secret keys, identity and settings -----
            /// A token secret key is not valid base64 for the server's decoder.
            InvalidSecretKey = "invalid_base64_secret", family: Key,
                message: "Illegal base64 character in the secret key";
            /// A token secret key decodes to fewer than 32 bytes.
            SecretKeyTooShort = "too_short", family: Key,
                message: "secret key too short: at least 256 bits are required";
            /// A publicly known key or identity was refused (opt in explicitly to use it).
            PubliclyKnownKey = "publicly_known", family: Key,
                message: "publicly known default key or identity refused";
            /// A server identity key or value is empty.
            InvalidIdentity = "invalid_identity", family: Key,
                message: "server identity key and value must not be empty";
            /// An `application.properties` file or environment setting is invalid.
            InvalidSettings = "invalid_settings", family: Settings,
                message: "invalid setting";

            // ----- tokens (SPEC 3.3) -----
            /// The token is blank, not three non-empty parts, or longer than the bound.
            MalformedToken = "malformed", family: Token,
                message: "malformed token", nacos: "token invalid!";
            /// The token header is not the constant of the key's algorithm.
            UnsupportedAlgorithm = "unsupported_algorithm", family: Token,
                message: "unsupported algorithm: the token header does not match the key",
                nacos: "unsupported signature algorithm";
            /// The signature does not verify (or is not canonically encoded).
            InvalidSignature = "invalid_signature", family: Token,
                message: "invalid signature", nacos: "Invalid signature";
            /// The payload is not a JSON object with a string `sub` and an integer `exp`.
            InvalidClaims = "invalid_claims", family: Token,
                message: "invalid claims", nacos: "token invalid!";
            /// The token has expired.
            TokenExpired = "expired", family: Token,
                message: "token expired", nacos: "token expired!";

            // ----- logging in (the client-side token keeper) -----
            /// The login that should have produced a token failed: the keeper's login callback
            /// returned an error or panicked.
            LoginFailed = "login_failed", family: Login,
                message: "login failed";
        }
    };
}

/// What a binding handles alike: each [`ErrorKind`] belongs to one family (see
/// [`ErrorKind::family`]).
///
/// The Python exception class of a kind follows its family: one class per family (`Kms` →
/// `KmsError`, `Decryption` → `DecryptionError`, …), except `Token` and `Config`, whose kinds
/// each have their own class (under `InvalidToken` and `ConfigError`). C result numbers are
/// blocks of their own (see the C header).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorFamily {
    /// A caller-supplied argument is out of its domain.
    Argument,
    /// A token secret key or server identity is unusable.
    Key,
    /// A token was refused: the kinds of SPEC 3.3, each with a Nacos server message.
    Token,
    /// A config is refused before any key is involved (not an encrypted data ID, empty, too
    /// large).
    Config,
    /// Stored content does not decrypt (base64, padding, blocks, authentication, UTF-8, the
    /// `encryptedDataKey`).
    Decryption,
    /// The KMS failed, does not know the key, or gave a data key of the wrong length.
    Kms,
    /// A keyring file or text is malformed.
    Keyring,
    /// A keyring file is accessible to its group or to others.
    KeyringPermission,
    /// An `application.properties` file or environment setting is invalid.
    Settings,
    /// Reading or writing a file failed.
    File,
    /// Logging in (the token keeper's login callback) failed.
    Login,
    /// None of the above (the random number generator failed).
    General,
}

/// The C string of a string literal, built at compile time.
macro_rules! c_str {
    ($s:literal) => {
        const {
            match CStr::from_bytes_with_nul(concat!($s, "\0").as_bytes()) {
                Ok(c) => c,
                Err(_) => panic!("an error message holds a NUL byte"),
            }
        }
    };
}

/// `Some` of the optional `nacos:` field of a table entry (as `&str` or as `&CStr`).
macro_rules! nacos_field {
    (str) => {
        None
    };
    (str $m:literal) => {
        Some($m)
    };
    (c_str) => {
        None
    };
    (c_str $m:literal) => {
        Some(c_str!($m))
    };
}

/// Builds [`ErrorKind`] and its tables from [`for_each_error_kind!`].
macro_rules! define_error_kinds {
    ($(
        $(#[$doc:meta])*
        $kind:ident = $name:literal, family: $family:ident, message: $message:literal
        $(, nacos: $nacos:literal)?;
    )*) => {
        /// A stable classification of every [`Error`].
        ///
        /// The bindings map each kind onto a C result number and a Python exception class:
        /// kinds are public contracts and are never renamed or repurposed (new ones may be
        /// added). The kinds are declared once, in [`for_each_error_kind!`].
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
            $($(#[$doc])* $kind,)*
        }

        impl ErrorKind {
            /// Every kind, in declaration order (for binding tables and their tests).
            pub const ALL: &'static [ErrorKind] = &[$(Self::$kind),*];

            /// A short snake_case name, stable across releases (used by the CLI and in
            /// vectors).
            ///
            /// ```
            /// # use nacoscrypt_core::ErrorKind;
            /// assert_eq!(ErrorKind::TokenExpired.name(), "expired");
            /// ```
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$kind => $name,)*
                }
            }

            /// The family of the kind: what a binding handles alike.
            ///
            /// ```
            /// # use nacoscrypt_core::{ErrorKind, error::ErrorFamily};
            /// assert_eq!(ErrorKind::BadPadding.family(), ErrorFamily::Decryption);
            /// ```
            pub const fn family(self) -> ErrorFamily {
                match self {
                    $(Self::$kind => ErrorFamily::$family,)*
                }
            }

            /// A short static English description of the kind (an [`Error`]'s `Display`
            /// gives the detail). The C library returns it, byte for byte, as the message of
            /// the kind's result code.
            ///
            /// ```
            /// # use nacoscrypt_core::ErrorKind;
            /// assert_eq!(ErrorKind::TokenExpired.description(), "token expired");
            /// ```
            pub const fn description(self) -> &'static str {
                match self {
                    $(Self::$kind => $message,)*
                }
            }

            /// [`description`](Self::description) as a static C string.
            pub const fn description_cstr(self) -> &'static CStr {
                match self {
                    $(Self::$kind => c_str!($message),)*
                }
            }

            /// For a token kind, the message the Nacos server answers with; `None` for every
            /// other kind. For [`MalformedToken`](Self::MalformedToken) this is `token
            /// invalid!`; the server answers `user not found!` to a blank token, which
            /// [`Error::nacos_message`] tells apart.
            ///
            /// ```
            /// # use nacoscrypt_core::ErrorKind;
            /// assert_eq!(ErrorKind::TokenExpired.nacos_message(), Some("token expired!"));
            /// assert_eq!(ErrorKind::BadPadding.nacos_message(), None);
            /// ```
            pub const fn nacos_message(self) -> Option<&'static str> {
                match self {
                    $(Self::$kind => nacos_field!(str $($nacos)?),)*
                }
            }

            /// [`nacos_message`](Self::nacos_message) as a static C string.
            pub const fn nacos_message_cstr(self) -> Option<&'static CStr> {
                match self {
                    $(Self::$kind => nacos_field!(c_str $($nacos)?),)*
                }
            }
        }
    };
}

for_each_error_kind!(define_error_kinds);

impl ErrorKind {
    /// `true` for the five token verification kinds of SPEC 3.3 (the [`ErrorFamily::Token`]
    /// family).
    pub const fn is_token_error(self) -> bool {
        matches!(self.family(), ErrorFamily::Token)
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
    /// A ZIP archive (a console export) is malformed or uses what is not supported (ZIP64,
    /// encryption, a compression other than DEFLATE). Its kind is [`ErrorKind::InvalidArgument`].
    InvalidArchive {
        /// What was wrong.
        reason: &'static str,
    },
    /// A line of an export's metadata (`.meta.yml`, `.metadata.yml`) or of an
    /// `encryptedDataKey` sidecar is malformed. Its kind is [`ErrorKind::InvalidArgument`].
    InvalidExportMetadata {
        /// Which file: `.meta.yml`, `.metadata.yml` or `the encryptedDataKey sidecar`.
        file: &'static str,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
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
    /// The token keeper's login failed: the callback's own message (it must not hold secrets).
    LoginFailed {
        /// Why, in the login callback's words.
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
            Self::InvalidArgument { .. }
            | Self::InvalidArchive { .. }
            | Self::InvalidExportMetadata { .. } => ErrorKind::InvalidArgument,
            Self::Random => ErrorKind::Random,
            Self::KeyringSyntax { .. } => ErrorKind::KeyringSyntax,
            Self::DuplicateKeyVersion { .. } => ErrorKind::DuplicateKeyVersion,
            Self::KeyringKeyLength { .. } => ErrorKind::KeyringKeyLength,
            Self::LoosePermissions { .. } => ErrorKind::LoosePermissions,
            Self::Io { .. } => ErrorKind::Io,
            Self::LoginFailed { .. } => ErrorKind::LoginFailed,
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
        match self.nacos_message_cstr() {
            Some(message) => match message.to_str() {
                Ok(message) => Some(message),
                Err(_) => None,
            },
            None => None,
        }
    }

    /// [`nacos_message`](Self::nacos_message) as a static C string: the kind's
    /// ([`ErrorKind::nacos_message`]), except `user not found!` for a blank token.
    pub const fn nacos_message_cstr(&self) -> Option<&'static CStr> {
        match self {
            Self::MalformedToken(Malformed::Blank) => Some(c"user not found!"),
            _ => self.kind().nacos_message_cstr(),
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
            Self::InvalidArchive { reason } => write!(f, "invalid ZIP archive: {reason}"),
            Self::InvalidExportMetadata { file, line, reason } => {
                write!(f, "{file} line {line}: {reason}")
            }
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
            Self::LoginFailed { message } => write!(f, "logging in: {message}"),
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

    #[test]
    fn the_server_message_is_the_kinds_except_for_a_blank_token() {
        let samples = [
            Error::MalformedToken(Malformed::Shape),
            Error::MalformedToken(Malformed::TooLong),
            Error::UnsupportedAlgorithm,
            Error::InvalidSignature,
            Error::InvalidClaims { reason: "x" },
            Error::TokenExpired,
            Error::BadPadding,
            Error::Random,
        ];
        for e in samples {
            assert_eq!(e.nacos_message(), e.kind().nacos_message(), "{e:?}");
        }
        let blank = Error::MalformedToken(Malformed::Blank);
        assert_eq!(blank.nacos_message_cstr(), Some(c"user not found!"));
    }

    #[test]
    fn the_table_is_consistent() {
        let mut descriptions = alloc::vec::Vec::new();
        for &kind in ErrorKind::ALL {
            // Only the token kinds have a server message.
            assert_eq!(
                kind.nacos_message().is_some(),
                kind.is_token_error(),
                "{kind:?}"
            );
            // The C forms are the same text.
            assert_eq!(kind.description_cstr().to_str(), Ok(kind.description()));
            assert_eq!(
                kind.nacos_message_cstr().map(|m| m.to_str().unwrap()),
                kind.nacos_message()
            );
            assert!(!kind.description().is_empty());
            assert!(!descriptions.contains(&kind.description()), "{kind:?}");
            descriptions.push(kind.description());
        }
    }
}
