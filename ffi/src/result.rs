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
/// `5xxx` token verification; `6xxx` logging in (the token keeper). `nacoscrypt_result_message()`
/// describes a code; `nacoscrypt_last_error_message()` gives the detail of the last failure on the calling thread.
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

    // ----- 6xxx: logging in -----
    /// The token keeper's login failed (the callback reported an error, or there is none); the
    /// last error message gives the callback's message and code.
    LoginFailed = 6001,
}

/// The codes that no core error kind stands for (success and the general codes the boundary
/// returns itself), with their messages. Every other code is the code of the core's
/// [`ErrorKind`] of the same name, and its message is that kind's
/// [`description`](ErrorKind::description).
const GENERAL: [(nacoscrypt_result, &CStr); 7] = [
    (nacoscrypt_result::Ok, c"success"),
    (
        nacoscrypt_result::NullPointer,
        c"a required pointer argument is NULL",
    ),
    (
        nacoscrypt_result::InvalidLength,
        c"a length argument is impossible",
    ),
    (
        nacoscrypt_result::InvalidUtf8Input,
        c"a text argument is not valid UTF-8",
    ),
    (
        nacoscrypt_result::Panic,
        c"the library panicked (caught at the boundary); please report it",
    ),
    (
        nacoscrypt_result::BufferTooSmall,
        c"the buffer is too small",
    ),
    (
        nacoscrypt_result::Unclassified,
        c"an error this version of the library does not classify",
    ),
];

/// The mapping between the core's error kinds and the codes of the same name, generated from
/// the core's table ([`nacoscrypt_core::for_each_error_kind!`]): a core kind without a
/// variant of the same name in [`nacoscrypt_result`] does not compile.
macro_rules! kind_codes {
    ($(
        $(#[$doc:meta])*
        $kind:ident = $name:literal, family: $family:ident, message: $message:literal
        $(, nacos: $nacos:literal)?;
    )*) => {
        impl nacoscrypt_result {
            /// The code of a core error kind: one distinct code per kind.
            pub const fn from_kind(kind: ErrorKind) -> Self {
                // `ErrorKind` is `#[non_exhaustive]`: the wildcard is for the compiler only,
                // every kind of the core's table has its arm.
                match kind {
                    $(ErrorKind::$kind => Self::$kind,)*
                    _ => Self::Unclassified,
                }
            }

            /// The core error kind a code stands for; `None` for success and the general
            /// codes of the boundary (`NullPointer`, `Panic`, `BufferTooSmall`, …).
            pub const fn kind(self) -> Option<ErrorKind> {
                match self {
                    $(Self::$kind => Some(ErrorKind::$kind),)*
                    _ => None,
                }
            }
        }
    };
}

nacoscrypt_core::for_each_error_kind!(kind_codes);

/// Every code, in numeric order: the general ones and those of the core's kinds.
const ALL_RESULTS: [nacoscrypt_result; GENERAL.len() + ErrorKind::ALL.len()] = {
    let mut all = [nacoscrypt_result::Ok; GENERAL.len() + ErrorKind::ALL.len()];
    let mut i = 0;
    while i < GENERAL.len() {
        all[i] = GENERAL[i].0;
        i += 1;
    }
    let mut j = 0;
    while j < ErrorKind::ALL.len() {
        all[i + j] = nacoscrypt_result::from_kind(ErrorKind::ALL[j]);
        j += 1;
    }
    // Insertion sort by number.
    let mut k = 1;
    while k < all.len() {
        let mut m = k;
        while m > 0 && all[m - 1] as u32 > all[m] as u32 {
            all.swap(m - 1, m);
            m -= 1;
        }
        k += 1;
    }
    all
};

impl nacoscrypt_result {
    /// Every code, in numeric order (for tables and their tests).
    pub const fn all() -> &'static [nacoscrypt_result] {
        &ALL_RESULTS
    }

    /// The code with number `code`, if there is one.
    pub fn from_u32(code: u32) -> Option<Self> {
        ALL_RESULTS.iter().copied().find(|c| *c as u32 == code)
    }

    /// A short static description of the code (what the header documents): the core kind's
    /// description, or for a general code its own.
    pub const fn message(self) -> &'static CStr {
        if let Some(kind) = self.kind() {
            return kind.description_cstr();
        }
        let mut i = 0;
        while i < GENERAL.len() {
            if GENERAL[i].0 as u32 == self as u32 {
                return GENERAL[i].1;
            }
            i += 1;
        }
        c"unknown result code"
    }

    /// The Nacos server's message for a token verification code (`None` for other codes).
    /// For `MalformedToken` the server answers `user not found!` to a blank token and
    /// `token invalid!` otherwise; this gives the latter (the last error gives the exact one).
    pub const fn nacos_message(self) -> Option<&'static CStr> {
        match self.kind() {
            Some(kind) => kind.nacos_message_cstr(),
            None => None,
        }
    }

    /// `true` for the five token verification codes (`5xxx`).
    pub const fn is_token_error(self) -> bool {
        match self.kind() {
            Some(kind) => kind.is_token_error(),
            None => false,
        }
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
            assert!(matches!(*code as u32, 0 | 1001..=1999 | 2001..=6999));
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
        assert_eq!(nacoscrypt_result::LoginFailed as u32, 6001);
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
    fn the_header_has_exactly_the_codes_of_all() {
        // A variant added to the C enum but neither a core kind nor in `GENERAL` would be
        // missing from `all()` (and `nacoscrypt_result_message` would not know it).
        let header = include_str!("../../include/nacoscrypt.h");
        let in_header: Vec<(String, u32)> = header
            .lines()
            .filter_map(|line| line.trim().strip_prefix("NACOSCRYPT_RESULT_"))
            .filter_map(|rest| rest.strip_suffix(','))
            .filter_map(|rest| rest.split_once(" = "))
            .map(|(name, number)| (name.to_owned(), number.parse().unwrap()))
            .collect();
        let screaming = |code: nacoscrypt_result| {
            let mut out = String::new();
            for (i, c) in format!("{code:?}").chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            out
        };
        let ours: Vec<(String, u32)> = nacoscrypt_result::all()
            .iter()
            .map(|&c| (screaming(c), c as u32))
            .collect();
        assert_eq!(in_header, ours);
    }

    #[test]
    fn kind_codes_have_the_name_and_the_description_of_their_kind() {
        for &kind in ErrorKind::ALL {
            let code = nacoscrypt_result::from_kind(kind);
            assert_eq!(format!("{code:?}"), format!("{kind:?}"));
            assert_eq!(code.kind(), Some(kind));
            assert_eq!(code.message(), kind.description_cstr());
            assert_eq!(code.nacos_message(), kind.nacos_message_cstr());
        }
        for (code, message) in GENERAL {
            assert_eq!(code.kind(), None);
            assert_eq!(code.message(), message);
            assert_eq!(code.nacos_message(), None);
            assert!(!code.is_token_error());
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
