//! The result codes: one stable number per outcome, in blocks per area.

use crate::boundary::ffi_value;
use core::ffi::CStr;
use core::ffi::c_char;
use nacoscrypt_core::ErrorKind;

/// The result of every fallible function of the library.
///
/// Numbers are stable: a code keeps its meaning forever, and a retired number is never reused.
/// Blocks: `0` success; `1xxx` general (arguments, panics, buffers); `2xxx` configuration
/// encryption; `3xxx` KMS and keyring; `4xxx` secret keys, server identity and settings;
/// `5xxx` token verification. `nacoscrypt_result_message()` describes a code;
/// `nacoscrypt_last_error_message()` gives the detail of the last failure on the calling thread.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum nacoscrypt_result {
    /// Success.
    Ok = 0,

    // ----- 1xxx: general -----
    /// A required pointer argument is NULL.
    NullPointer = 1001,
    /// A length argument is impossible (larger than `PTRDIFF_MAX`, or the buffer would wrap
    /// around the address space).
    InvalidLength = 1002,
    /// A text argument is not valid UTF-8 (or holds a NUL byte where none is allowed).
    InvalidUtf8Input = 1003,
    /// The library panicked; the panic was caught at the boundary. Please report it.
    Panic = 1004,
    /// The caller's buffer is too small; the needed size was reported.
    BufferTooSmall = 1005,
    /// An argument is out of its domain (an unknown format, an invalid key id, an index out of
    /// range, …).
    InvalidArgument = 1006,
    /// The random number generator of the operating system failed.
    Random = 1007,
    /// An error that this version of the library does not classify (never returned by a library
    /// built from a consistent source tree).
    Unclassified = 1999,

    // ----- 2xxx: configuration encryption -----
    /// The data ID does not start with `cipher-`: it names no encryption scheme.
    NotEncryptedDataId = 2001,
    /// The content is empty (Nacos refuses blank configs).
    EmptyContent = 2002,
    /// The plaintext or the stored content is larger than the limit allows.
    ContentTooLarge = 2003,
    /// Stored content or a blob is not valid standard base64.
    InvalidBase64 = 2004,
    /// `nacos` format: bad PKCS#7 padding after decryption (wrong key?).
    BadPadding = 2005,
    /// `nacos` format: the ciphertext is not a whole number of 16-byte blocks.
    NotWholeBlocks = 2006,
    /// AES-GCM authentication failed: tampered, moved or decrypted with the wrong key.
    AuthenticationFailed = 2007,
    /// The decrypted content is not valid UTF-8.
    InvalidUtf8 = 2008,
    /// A data key has the wrong length for the scheme.
    DataKeyLength = 2009,
    /// The `encryptedDataKey` is missing for an envelope scheme, or longer than Nacos stores.
    InvalidEncryptedDataKey = 2010,

    // ----- 3xxx: KMS and keyring -----
    /// The key id or key version is not known to the KMS.
    UnknownKey = 3001,
    /// The KMS failed; for a callback KMS, `nacoscrypt_last_kms_error_code()` gives the
    /// callback's own code and the last error message its message.
    Kms = 3002,
    /// A keyring text has a malformed line (the message names the line).
    KeyringSyntax = 3003,
    /// A keyring has the same version id twice.
    DuplicateKeyVersion = 3004,
    /// A keyring key is not 32 bytes.
    KeyringKeyLength = 3005,
    /// A keyring file can be read by its group or by others (run `chmod 600` on it).
    LoosePermissions = 3006,
    /// Reading or writing a file failed.
    Io = 3007,

    // ----- 4xxx: secret keys, server identity, settings -----
    /// A token secret key is not valid base64 for the Nacos server's decoder.
    InvalidSecretKey = 4001,
    /// A token secret key decodes to fewer than 32 bytes.
    SecretKeyTooShort = 4002,
    /// A publicly known key or identity was refused (opt in explicitly to use it).
    PubliclyKnownKey = 4003,
    /// A server identity key or value is empty.
    InvalidIdentity = 4004,
    /// An `application.properties` or environment setting is invalid.
    InvalidSettings = 4005,

    // ----- 5xxx: token verification -----
    /// The token is blank or not three non-empty parts.
    MalformedToken = 5001,
    /// The token header is not the constant of the key's algorithm.
    UnsupportedAlgorithm = 5002,
    /// The signature does not verify (or is not canonically encoded).
    InvalidSignature = 5003,
    /// The payload is not a JSON object with a string `sub` and an integer `exp`.
    InvalidClaims = 5004,
    /// The token has expired.
    TokenExpired = 5005,
}

/// Every code, in numeric order.
const ALL_RESULTS: &[nacoscrypt_result] = &[
    nacoscrypt_result::Ok,
    nacoscrypt_result::NullPointer,
    nacoscrypt_result::InvalidLength,
    nacoscrypt_result::InvalidUtf8Input,
    nacoscrypt_result::Panic,
    nacoscrypt_result::BufferTooSmall,
    nacoscrypt_result::InvalidArgument,
    nacoscrypt_result::Random,
    nacoscrypt_result::Unclassified,
    nacoscrypt_result::NotEncryptedDataId,
    nacoscrypt_result::EmptyContent,
    nacoscrypt_result::ContentTooLarge,
    nacoscrypt_result::InvalidBase64,
    nacoscrypt_result::BadPadding,
    nacoscrypt_result::NotWholeBlocks,
    nacoscrypt_result::AuthenticationFailed,
    nacoscrypt_result::InvalidUtf8,
    nacoscrypt_result::DataKeyLength,
    nacoscrypt_result::InvalidEncryptedDataKey,
    nacoscrypt_result::UnknownKey,
    nacoscrypt_result::Kms,
    nacoscrypt_result::KeyringSyntax,
    nacoscrypt_result::DuplicateKeyVersion,
    nacoscrypt_result::KeyringKeyLength,
    nacoscrypt_result::LoosePermissions,
    nacoscrypt_result::Io,
    nacoscrypt_result::InvalidSecretKey,
    nacoscrypt_result::SecretKeyTooShort,
    nacoscrypt_result::PubliclyKnownKey,
    nacoscrypt_result::InvalidIdentity,
    nacoscrypt_result::InvalidSettings,
    nacoscrypt_result::MalformedToken,
    nacoscrypt_result::UnsupportedAlgorithm,
    nacoscrypt_result::InvalidSignature,
    nacoscrypt_result::InvalidClaims,
    nacoscrypt_result::TokenExpired,
];

impl nacoscrypt_result {
    /// Every code, in numeric order (for tables and their tests).
    pub const fn all() -> &'static [nacoscrypt_result] {
        ALL_RESULTS
    }

    /// The code of a core error kind: one distinct code per kind.
    pub const fn from_kind(kind: ErrorKind) -> Self {
        // `ErrorKind` is `#[non_exhaustive]`: a kind added to the core later falls to
        // `Unclassified` until it gets its own code here (a unit test fails meanwhile).
        match kind {
            ErrorKind::NotEncryptedDataId => Self::NotEncryptedDataId,
            ErrorKind::EmptyContent => Self::EmptyContent,
            ErrorKind::ContentTooLarge => Self::ContentTooLarge,
            ErrorKind::InvalidBase64 => Self::InvalidBase64,
            ErrorKind::BadPadding => Self::BadPadding,
            ErrorKind::NotWholeBlocks => Self::NotWholeBlocks,
            ErrorKind::AuthenticationFailed => Self::AuthenticationFailed,
            ErrorKind::InvalidUtf8 => Self::InvalidUtf8,
            ErrorKind::UnknownKey => Self::UnknownKey,
            ErrorKind::Kms => Self::Kms,
            ErrorKind::DataKeyLength => Self::DataKeyLength,
            ErrorKind::InvalidEncryptedDataKey => Self::InvalidEncryptedDataKey,
            ErrorKind::InvalidArgument => Self::InvalidArgument,
            ErrorKind::Random => Self::Random,
            ErrorKind::KeyringSyntax => Self::KeyringSyntax,
            ErrorKind::DuplicateKeyVersion => Self::DuplicateKeyVersion,
            ErrorKind::KeyringKeyLength => Self::KeyringKeyLength,
            ErrorKind::LoosePermissions => Self::LoosePermissions,
            ErrorKind::Io => Self::Io,
            ErrorKind::InvalidSecretKey => Self::InvalidSecretKey,
            ErrorKind::SecretKeyTooShort => Self::SecretKeyTooShort,
            ErrorKind::PubliclyKnownKey => Self::PubliclyKnownKey,
            ErrorKind::InvalidIdentity => Self::InvalidIdentity,
            ErrorKind::InvalidSettings => Self::InvalidSettings,
            ErrorKind::MalformedToken => Self::MalformedToken,
            ErrorKind::UnsupportedAlgorithm => Self::UnsupportedAlgorithm,
            ErrorKind::InvalidSignature => Self::InvalidSignature,
            ErrorKind::InvalidClaims => Self::InvalidClaims,
            ErrorKind::TokenExpired => Self::TokenExpired,
            _ => Self::Unclassified,
        }
    }

    /// The code with number `code`, if there is one.
    pub fn from_u32(code: u32) -> Option<Self> {
        ALL_RESULTS.iter().copied().find(|c| *c as u32 == code)
    }

    /// A short static description of the code (what the header documents).
    pub const fn message(self) -> &'static CStr {
        match self {
            Self::Ok => c"success",
            Self::NullPointer => c"a required pointer argument is NULL",
            Self::InvalidLength => c"a length argument is impossible",
            Self::InvalidUtf8Input => c"a text argument is not valid UTF-8",
            Self::Panic => c"the library panicked (caught at the boundary); please report it",
            Self::BufferTooSmall => c"the buffer is too small",
            Self::InvalidArgument => c"an argument is out of its domain",
            Self::Random => c"the random number generator failed",
            Self::Unclassified => c"an error this version of the library does not classify",
            Self::NotEncryptedDataId => c"not an encrypted data ID: it must start with `cipher-`",
            Self::EmptyContent => c"empty content: Nacos refuses blank configs",
            Self::ContentTooLarge => c"content too large",
            Self::InvalidBase64 => c"invalid base64",
            Self::BadPadding => c"bad PKCS#7 padding after decryption (wrong key?)",
            Self::NotWholeBlocks => c"ciphertext is not a whole number of 16-byte blocks",
            Self::AuthenticationFailed => c"authentication failed",
            Self::InvalidUtf8 => c"decrypted content is not valid UTF-8",
            Self::DataKeyLength => c"data key of the wrong length for the scheme",
            Self::InvalidEncryptedDataKey => {
                c"encryptedDataKey missing for an envelope scheme, or too long"
            }
            Self::UnknownKey => c"unknown key id or key version",
            Self::Kms => c"KMS failure",
            Self::KeyringSyntax => c"malformed keyring line",
            Self::DuplicateKeyVersion => c"duplicate keyring version id",
            Self::KeyringKeyLength => c"keyring key is not 32 bytes",
            Self::LoosePermissions => {
                c"keyring file is accessible to group or others: run `chmod 600` on it"
            }
            Self::Io => c"I/O error",
            Self::InvalidSecretKey => c"Illegal base64 character in the secret key",
            Self::SecretKeyTooShort => c"secret key too short: at least 256 bits are required",
            Self::PubliclyKnownKey => c"publicly known default key or identity refused",
            Self::InvalidIdentity => c"server identity key and value must not be empty",
            Self::InvalidSettings => c"invalid setting",
            Self::MalformedToken => c"malformed token",
            Self::UnsupportedAlgorithm => {
                c"unsupported algorithm: the token header does not match the key"
            }
            Self::InvalidSignature => c"invalid signature",
            Self::InvalidClaims => c"invalid claims",
            Self::TokenExpired => c"token expired",
        }
    }

    /// The Nacos server's message for a token verification code (`None` for other codes).
    /// For `MalformedToken` the server answers `user not found!` to a blank token and
    /// `token invalid!` otherwise; this gives the latter (the last error gives the exact one).
    pub const fn nacos_message(self) -> Option<&'static CStr> {
        match self {
            Self::MalformedToken | Self::InvalidClaims => Some(c"token invalid!"),
            Self::UnsupportedAlgorithm => Some(c"unsupported signature algorithm"),
            Self::InvalidSignature => Some(c"Invalid signature"),
            Self::TokenExpired => Some(c"token expired!"),
            _ => None,
        }
    }

    /// `true` for the five token verification codes (`5xxx`).
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

/// A static, NUL-terminated English description of the result code `code`
/// ("unknown result code" for a number that is not a code). Never NULL; never free it.
///
/// Thread safety: safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_result_message(code: u32) -> *const c_char {
    ffi_value(c"unknown result code".as_ptr(), || {
        nacoscrypt_result::from_u32(code)
            .map_or(c"unknown result code", nacoscrypt_result::message)
            .as_ptr()
    })
}

/// For a token verification code (`5xxx`), the message the Nacos server answers with
/// (`token expired!`, `Invalid signature`, …); NULL for every other code. Static: never free it.
///
/// `NACOSCRYPT_RESULT_MALFORMED_TOKEN` gives `token invalid!`; the server says `user not
/// found!` for a blank token, which `nacoscrypt_last_error_nacos_message()` reports exactly.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_result_nacos_message(code: u32) -> *const c_char {
    ffi_value(core::ptr::null(), || {
        nacoscrypt_result::from_u32(code)
            .and_then(nacoscrypt_result::nacos_message)
            .map_or(core::ptr::null(), CStr::as_ptr)
    })
}

/// `true` if `code` is one of the five token verification codes (`5xxx`).
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_result_is_token_error(code: u32) -> bool {
    ffi_value(false, || {
        nacoscrypt_result::from_u32(code).is_some_and(nacoscrypt_result::is_token_error)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nacoscrypt_core::Error;
    use std::collections::HashSet;

    #[test]
    fn every_kind_has_its_own_code_and_message() {
        let mut codes = HashSet::new();
        let mut messages = HashSet::new();
        for &kind in ErrorKind::ALL {
            let code = nacoscrypt_result::from_kind(kind);
            assert_ne!(
                code,
                nacoscrypt_result::Unclassified,
                "{kind:?} has no code"
            );
            assert_ne!(code, nacoscrypt_result::Ok);
            assert!(codes.insert(code), "{kind:?} shares code {code:?}");
            assert!(
                messages.insert(code.message()),
                "{kind:?} shares its message"
            );
            assert_eq!(code.is_token_error(), kind.is_token_error(), "{kind:?}");
        }
    }

    #[test]
    fn codes_are_unique_sorted_and_in_their_block() {
        let numbers: Vec<u32> = nacoscrypt_result::all().iter().map(|c| *c as u32).collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(numbers, sorted);
        let messages: HashSet<_> = nacoscrypt_result::all()
            .iter()
            .map(|c| c.message())
            .collect();
        assert_eq!(messages.len(), nacoscrypt_result::all().len());
        for code in nacoscrypt_result::all() {
            assert_eq!(nacoscrypt_result::from_u32(*code as u32), Some(*code));
            assert!(matches!(*code as u32, 0 | 1001..=1999 | 2001..=5999));
            assert_eq!(
                code.is_token_error(),
                (5000..6000).contains(&(*code as u32))
            );
        }
        assert_eq!(nacoscrypt_result::from_u32(42), None);
        // Pinned numbers: a change here breaks the ABI.
        assert_eq!(nacoscrypt_result::Panic as u32, 1004);
        assert_eq!(nacoscrypt_result::Kms as u32, 3002);
        assert_eq!(nacoscrypt_result::TokenExpired as u32, 5005);
    }

    #[test]
    fn nacos_messages_agree_with_the_core() {
        use nacoscrypt_core::error::Malformed;
        let samples = [
            Error::MalformedToken(Malformed::Shape),
            Error::UnsupportedAlgorithm,
            Error::InvalidSignature,
            Error::InvalidClaims { reason: "x" },
            Error::TokenExpired,
            Error::BadPadding,
        ];
        for e in samples {
            let code = nacoscrypt_result::from_kind(e.kind());
            assert_eq!(
                code.nacos_message().map(|m| m.to_str().unwrap()),
                e.nacos_message()
            );
        }
    }

    #[test]
    fn message_exports() {
        let msg = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(msg(nacoscrypt_result_message(0)), "success");
        assert_eq!(msg(nacoscrypt_result_message(5005)), "token expired");
        assert_eq!(msg(nacoscrypt_result_message(7)), "unknown result code");
        assert_eq!(
            msg(nacoscrypt_result_nacos_message(5003)),
            "Invalid signature"
        );
        assert!(nacoscrypt_result_nacos_message(2005).is_null());
        assert!(nacoscrypt_result_is_token_error(5001));
        assert!(!nacoscrypt_result_is_token_error(3002));
    }
}
