//! Failures: one line on stderr that says what went wrong and what to do, and an exit code.
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | success |
//! | 1    | the input was read and refused on its merits: it does not decrypt or verify |
//! | 2    | usage: a bad argument, option or input for the command (clap's own errors too) |
//! | 3    | the environment: a file, the keyring, the KMS or the random number generator |
//!
//! [`exit_code`] is the one table from the core's [`ErrorKind`] to these codes.

use nacoscrypt_core::{Error, ErrorKind};
use std::fmt;
use std::path::Path;

/// Exit code: verification or decryption failed.
pub(crate) const REFUSED: u8 = 1;
/// Exit code: usage error (the same as clap's).
pub(crate) const USAGE: u8 = 2;
/// Exit code: I/O or KMS error.
pub(crate) const ENVIRONMENT: u8 = 3;

/// The exit code of each core error kind.
pub(crate) fn exit_code(kind: ErrorKind) -> u8 {
    use ErrorKind as K;
    match kind {
        // The stored config or the token was read and does not decrypt or verify.
        K::InvalidBase64
        | K::BadPadding
        | K::NotWholeBlocks
        | K::AuthenticationFailed
        | K::InvalidUtf8
        | K::DataKeyLength
        | K::InvalidEncryptedDataKey
        | K::MalformedToken
        | K::UnsupportedAlgorithm
        | K::InvalidSignature
        | K::InvalidClaims
        | K::TokenExpired => REFUSED,
        // The command was asked something it cannot do: fix the arguments or the input.
        K::NotEncryptedDataId
        | K::EmptyContent
        | K::ContentTooLarge
        | K::InvalidArgument
        | K::InvalidSecretKey
        | K::SecretKeyTooShort
        | K::PubliclyKnownKey
        | K::InvalidIdentity
        | K::InvalidSettings => USAGE,
        // Files, the keyring (the local KMS), a KMS, the RNG.
        K::UnknownKey
        | K::Kms
        | K::Random
        | K::KeyringSyntax
        | K::DuplicateKeyVersion
        | K::KeyringKeyLength
        | K::LoosePermissions
        | K::Io => ENVIRONMENT,
        // Kinds added to the core later: treat as environment until classified here.
        _ => ENVIRONMENT,
    }
}

/// A failed command: its exit code and its one-line message.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The process exit code (1, 2 or 3).
    pub(crate) code: u8,
    /// One line: what went wrong, then what to do.
    pub(crate) message: String,
}

impl Failure {
    /// A usage error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    /// An I/O error (exit 3).
    pub(crate) fn io(what: &str, path: &Path, err: &std::io::Error) -> Self {
        Self {
            code: ENVIRONMENT,
            message: format!("{what} {}: {}", path.display(), io_text(err)),
        }
    }

    /// A core error with a message written for this context (exit code from the table).
    pub(crate) fn core(err: &Error, message: impl Into<String>) -> Self {
        Self {
            code: exit_code(err.kind()),
            message: message.into(),
        }
    }

    /// The same failure with `origin: ` in front of its message.
    pub(crate) fn prefixed(mut self, origin: &str) -> Self {
        self.message = format!("{origin}: {}", self.message);
        self
    }

    /// A core error with its own message and the generic advice for its kind.
    pub(crate) fn plain(err: &Error) -> Self {
        let message = match (err.kind(), generic_advice(err.kind())) {
            // The advice says all the core's text says, and more.
            (ErrorKind::PubliclyKnownKey, Some(advice)) => advice.to_string(),
            (_, Some(advice)) => format!("{err}: {advice}"),
            (_, None) => err.to_string(),
        };
        Self::core(err, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the parts contain.
        for c in self.message.chars() {
            if c == '\n' || c == '\r' {
                f.write_str(" ")?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// An I/O error's text without Rust's "(os error N)" suffix.
pub(crate) fn io_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// What to do about an error of `kind` when the caller has nothing more specific to say.
pub(crate) fn generic_advice(kind: ErrorKind) -> Option<&'static str> {
    use ErrorKind as K;
    Some(match kind {
        K::NotEncryptedDataId => {
            "use a data ID starting with `cipher-kms-aes-256-` (envelope, up to 50 KiB), \
             `cipher-kms-aes-128-`, or `cipher-` (encrypted by the KMS itself, up to 6 KiB)"
        }
        K::EmptyContent => "give a non-empty config",
        K::ContentTooLarge => {
            "split the config, or use a `cipher-kms-aes-256-` data ID (50 KiB) instead of `cipher-` (6 KiB)"
        }
        K::InvalidBase64 | K::NotWholeBlocks | K::BadPadding => {
            "the stored config is corrupt, truncated, or was encrypted with another keyring"
        }
        K::AuthenticationFailed => {
            "the config was tampered with, moved to another data ID, group or tenant, \
             or encrypted with another keyring"
        }
        K::InvalidUtf8 => {
            "the config does not decrypt to text: it is corrupt or was encrypted with another key"
        }
        K::DataKeyLength => {
            "the data ID's scheme (aes-128 or aes-256) does not match the stored data key: \
             was the config moved to another data ID?"
        }
        K::InvalidEncryptedDataKey => {
            "give the config's `encryptedDataKey` exactly as Nacos stores it"
        }
        K::Kms => "check the KMS and its credentials",
        K::Random => "the operating system's random number generator failed: retry",
        K::InvalidSecretKey | K::SecretKeyTooShort => {
            "generate a proper secret with `nacoscrypt secret new`"
        }
        K::PubliclyKnownKey => {
            "the secret is a publicly known default printed in the Nacos documentation: \
             generate your own with `nacoscrypt secret new` (or pass --allow-publicly-known, \
             in tests only)"
        }
        K::InvalidSettings => "fix the setting in application.properties",
        _ => return None,
    })
}
