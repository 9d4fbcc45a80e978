//! The exception classes and the one table that maps each core [`ErrorKind`] onto one of them.
//!
//! ```text
//! NacosCryptError                      every error raised by nacoscrypt (.kind: the core name)
//! ├── InvalidArgument                  invalid_argument
//! ├── InvalidKey                       invalid_base64_secret, too_short, publicly_known,
//! │                                    invalid_identity
//! ├── InvalidToken (.nacos_message)
//! │   ├── MalformedToken               malformed
//! │   ├── UnsupportedAlgorithm         unsupported_algorithm
//! │   ├── InvalidSignature             invalid_signature
//! │   ├── InvalidClaims                invalid_claims
//! │   └── TokenExpired                 expired
//! ├── ConfigError
//! │   ├── NotEncryptedDataId           not_encrypted_data_id
//! │   ├── EmptyContent                 empty_content
//! │   ├── ContentTooLarge              content_too_large
//! │   ├── DecryptionError              invalid_base64, bad_padding, not_whole_blocks,
//! │   │                                authentication_failed, invalid_utf8,
//! │   │                                invalid_encrypted_data_key
//! │   └── KmsError                     kms, unknown_key, data_key_length
//! ├── KeyringError                     keyring_syntax, duplicate_key_version,
//! │   │                                keyring_key_length
//! │   └── KeyringPermissionError       loose_permissions
//! ├── SettingsError                    invalid_settings
//! └── FileError                        io (a keyring or properties file could not be read or
//!                                      written; the message names the operation)
//! ```
//!
//! `random` (the operating system's RNG failed) raises `NacosCryptError` itself. A kind added to
//! the core later, before this table learns it, also raises `NacosCryptError` (never a bare
//! `Exception`); the unit test below fails until the table names it.

use nacoscrypt_core::{Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

create_exception!(
    nacoscrypt,
    NacosCryptError,
    PyException,
    "Base class of every error raised by nacoscrypt; `.kind` is the core's stable error name."
);
create_exception!(
    nacoscrypt,
    InvalidArgument,
    NacosCryptError,
    "An argument is out of its domain (an invalid key id, an unknown format, ...)."
);
create_exception!(
    nacoscrypt,
    InvalidKey,
    NacosCryptError,
    "A token secret key or server identity is unusable: not base64 as the server decodes it, \
     shorter than 256 bits, empty, or publicly known without the explicit opt-in."
);
create_exception!(
    nacoscrypt,
    InvalidToken,
    NacosCryptError,
    "A token was refused; `.nacos_message` is what the Nacos server answers in that case."
);
create_exception!(
    nacoscrypt,
    MalformedToken,
    InvalidToken,
    "The token is blank or not three non-empty parts."
);
create_exception!(
    nacoscrypt,
    UnsupportedAlgorithm,
    InvalidToken,
    "The token header is not the constant of the key's algorithm."
);
create_exception!(
    nacoscrypt,
    InvalidSignature,
    InvalidToken,
    "The token signature does not verify (or is not canonically encoded)."
);
create_exception!(
    nacoscrypt,
    InvalidClaims,
    InvalidToken,
    "The token payload is not a JSON object with a string `sub` and an integer `exp`."
);
create_exception!(
    nacoscrypt,
    TokenExpired,
    InvalidToken,
    "The token has expired."
);
create_exception!(
    nacoscrypt,
    ConfigError,
    NacosCryptError,
    "Base class of the configuration encryption errors."
);
create_exception!(
    nacoscrypt,
    NotEncryptedDataId,
    ConfigError,
    "The data ID does not start with `cipher-`: it names no encryption scheme."
);
create_exception!(
    nacoscrypt,
    EmptyContent,
    ConfigError,
    "The content is empty (Nacos refuses blank configs)."
);
create_exception!(
    nacoscrypt,
    ContentTooLarge,
    ConfigError,
    "The plaintext or the stored content is larger than the limit allows."
);
create_exception!(
    nacoscrypt,
    DecryptionError,
    ConfigError,
    "Stored content or a blob does not decrypt: invalid base64, bad padding, not whole blocks, \
     authentication failed (tampered, moved, wrong key), not UTF-8, a missing or oversized \
     encryptedDataKey."
);
create_exception!(
    nacoscrypt,
    KmsError,
    ConfigError,
    "The KMS failed or does not know the key; an exception raised by a Python KMS object is \
     chained as `__cause__`."
);
create_exception!(
    nacoscrypt,
    KeyringError,
    NacosCryptError,
    "A keyring file or text is malformed, or could not be read or written."
);
create_exception!(
    nacoscrypt,
    KeyringPermissionError,
    KeyringError,
    "A keyring file is accessible to its group or to others (run `chmod 600` on it)."
);
create_exception!(
    nacoscrypt,
    FileError,
    NacosCryptError,
    "A file (a keyring, application.properties) could not be read or written; the message names \
     the operation and the operating system's error."
);
create_exception!(
    nacoscrypt,
    SettingsError,
    NacosCryptError,
    "An `application.properties` file or environment setting is invalid."
);

/// The Python exception classes, one per variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Base,
    InvalidArgument,
    InvalidKey,
    MalformedToken,
    UnsupportedAlgorithm,
    InvalidSignature,
    InvalidClaims,
    TokenExpired,
    NotEncryptedDataId,
    EmptyContent,
    ContentTooLarge,
    DecryptionError,
    KmsError,
    KeyringError,
    KeyringPermissionError,
    SettingsError,
    FileError,
}

/// THE table: the exception class of each core error kind. `None` only for a kind this table
/// does not know yet (raised as `NacosCryptError`; the test below refuses it).
pub(crate) fn class_of(kind: ErrorKind) -> Option<Class> {
    use ErrorKind as K;
    Some(match kind {
        K::NotEncryptedDataId => Class::NotEncryptedDataId,
        K::EmptyContent => Class::EmptyContent,
        K::ContentTooLarge => Class::ContentTooLarge,
        K::InvalidBase64
        | K::BadPadding
        | K::NotWholeBlocks
        | K::AuthenticationFailed
        | K::InvalidUtf8
        | K::InvalidEncryptedDataKey => Class::DecryptionError,
        K::UnknownKey | K::Kms | K::DataKeyLength => Class::KmsError,
        K::InvalidArgument => Class::InvalidArgument,
        K::Random => Class::Base,
        K::KeyringSyntax | K::DuplicateKeyVersion | K::KeyringKeyLength => Class::KeyringError,
        K::Io => Class::FileError,
        K::LoosePermissions => Class::KeyringPermissionError,
        K::InvalidSecretKey | K::SecretKeyTooShort | K::PubliclyKnownKey | K::InvalidIdentity => {
            Class::InvalidKey
        }
        K::InvalidSettings => Class::SettingsError,
        K::MalformedToken => Class::MalformedToken,
        K::UnsupportedAlgorithm => Class::UnsupportedAlgorithm,
        K::InvalidSignature => Class::InvalidSignature,
        K::InvalidClaims => Class::InvalidClaims,
        K::TokenExpired => Class::TokenExpired,
        _ => return None,
    })
}

impl Class {
    fn type_object(self, py: Python<'_>) -> Bound<'_, PyType> {
        match self {
            Self::Base => py.get_type::<NacosCryptError>(),
            Self::InvalidArgument => py.get_type::<InvalidArgument>(),
            Self::InvalidKey => py.get_type::<InvalidKey>(),
            Self::MalformedToken => py.get_type::<MalformedToken>(),
            Self::UnsupportedAlgorithm => py.get_type::<UnsupportedAlgorithm>(),
            Self::InvalidSignature => py.get_type::<InvalidSignature>(),
            Self::InvalidClaims => py.get_type::<InvalidClaims>(),
            Self::TokenExpired => py.get_type::<TokenExpired>(),
            Self::NotEncryptedDataId => py.get_type::<NotEncryptedDataId>(),
            Self::EmptyContent => py.get_type::<EmptyContent>(),
            Self::ContentTooLarge => py.get_type::<ContentTooLarge>(),
            Self::DecryptionError => py.get_type::<DecryptionError>(),
            Self::KmsError => py.get_type::<KmsError>(),
            Self::KeyringError => py.get_type::<KeyringError>(),
            Self::KeyringPermissionError => py.get_type::<KeyringPermissionError>(),
            Self::SettingsError => py.get_type::<SettingsError>(),
            Self::FileError => py.get_type::<FileError>(),
        }
    }
}

/// The Python exception for a core error: the class from the table, the core's message (which
/// never holds key material or plaintext), `.kind` and, for token errors, `.nacos_message`.
pub(crate) fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    let kind = err.kind();
    let class = class_of(kind).unwrap_or(Class::Base);
    let py_err = PyErr::from_type(class.type_object(py), err.to_string());
    let value = py_err.value(py);
    let annotated = value
        .setattr("kind", kind.name())
        .and_then(|()| {
            err.nacos_message()
                .map_or(Ok(()), |message| value.setattr("nacos_message", message))
        })
        .and_then(|()| match err {
            // What a key service said: for logs and support tickets, never a secret.
            Error::KmsService(s) => value
                .setattr("service", s.service)
                .and_then(|()| value.setattr("operation", s.operation))
                .and_then(|()| value.setattr("code", s.code.as_str()))
                .and_then(|()| value.setattr("request_id", s.request_id.as_deref()))
                .and_then(|()| value.setattr("http_status", s.http_status))
                .and_then(|()| value.setattr("attempts", s.attempts)),
            _ => Ok(()),
        });
    match annotated {
        Ok(()) => py_err,
        Err(e) => e,
    }
}

/// `Result<T, nacoscrypt_core::Error>` → `PyResult<T>` through [`to_py_err`].
pub(crate) trait CoreResultExt<T> {
    /// Maps the core error onto its Python exception.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> CoreResultExt<T> for nacoscrypt_core::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py_err(py, &e))
    }
}

/// `_error_classes()`: `{kind name: exception class}` for every core error kind (for tests and
/// for callers who want to map the names the CLI prints).
#[pyfunction]
pub(crate) fn _error_classes(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let table = PyDict::new(py);
    for &kind in ErrorKind::ALL {
        let class = class_of(kind).unwrap_or(Class::Base);
        table.set_item(kind.name(), class.type_object(py))?;
    }
    Ok(table)
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("NacosCryptError", py.get_type::<NacosCryptError>())?;
    m.add("InvalidArgument", py.get_type::<InvalidArgument>())?;
    m.add("InvalidKey", py.get_type::<InvalidKey>())?;
    m.add("InvalidToken", py.get_type::<InvalidToken>())?;
    m.add("MalformedToken", py.get_type::<MalformedToken>())?;
    m.add(
        "UnsupportedAlgorithm",
        py.get_type::<UnsupportedAlgorithm>(),
    )?;
    m.add("InvalidSignature", py.get_type::<InvalidSignature>())?;
    m.add("InvalidClaims", py.get_type::<InvalidClaims>())?;
    m.add("TokenExpired", py.get_type::<TokenExpired>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("NotEncryptedDataId", py.get_type::<NotEncryptedDataId>())?;
    m.add("EmptyContent", py.get_type::<EmptyContent>())?;
    m.add("ContentTooLarge", py.get_type::<ContentTooLarge>())?;
    m.add("DecryptionError", py.get_type::<DecryptionError>())?;
    m.add("KmsError", py.get_type::<KmsError>())?;
    m.add("KeyringError", py.get_type::<KeyringError>())?;
    m.add(
        "KeyringPermissionError",
        py.get_type::<KeyringPermissionError>(),
    )?;
    m.add("SettingsError", py.get_type::<SettingsError>())?;
    m.add("FileError", py.get_type::<FileError>())?;
    m.add_function(wrap_pyfunction!(_error_classes, m)?)?;
    set_class_defaults(py)
}

/// Class-level defaults of `.kind` and `.nacos_message`, so that an exception raised by Python
/// code (a test double, say) has them too: `kind` is the one kind a class stands for, or "" for
/// a class several kinds share; `nacos_message` is the server's answer for the class.
fn set_class_defaults(py: Python<'_>) -> PyResult<()> {
    py.get_type::<NacosCryptError>().setattr("kind", "")?;
    let leaves = [
        Class::InvalidArgument,
        Class::InvalidKey,
        Class::MalformedToken,
        Class::UnsupportedAlgorithm,
        Class::InvalidSignature,
        Class::InvalidClaims,
        Class::TokenExpired,
        Class::NotEncryptedDataId,
        Class::EmptyContent,
        Class::ContentTooLarge,
        Class::DecryptionError,
        Class::KmsError,
        Class::KeyringError,
        Class::KeyringPermissionError,
        Class::SettingsError,
        Class::FileError,
    ];
    for class in leaves {
        let mut kinds = ErrorKind::ALL
            .iter()
            .filter(|&&k| class_of(k) == Some(class));
        let name = match (kinds.next(), kinds.next()) {
            (Some(kind), None) => kind.name(),
            _ => "",
        };
        class.type_object(py).setattr("kind", name)?;
    }
    let messages = [
        (
            py.get_type::<InvalidToken>(),
            Error::InvalidClaims { reason: "" },
        ),
        (
            py.get_type::<UnsupportedAlgorithm>(),
            Error::UnsupportedAlgorithm,
        ),
        (py.get_type::<InvalidSignature>(), Error::InvalidSignature),
        (py.get_type::<TokenExpired>(), Error::TokenExpired),
    ];
    for (class, err) in messages {
        class.setattr("nacos_message", err.nacos_message().unwrap_or_default())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_kind_has_a_class() {
        for &kind in ErrorKind::ALL {
            assert!(
                class_of(kind).is_some(),
                "ErrorKind::{kind:?} ({}) is missing from the exception table",
                kind.name()
            );
        }
    }

    #[test]
    fn only_the_rng_failure_raises_the_base_class() {
        let base: Vec<_> = ErrorKind::ALL
            .iter()
            .filter(|&&k| class_of(k) == Some(Class::Base))
            .collect();
        assert_eq!(base, [&ErrorKind::Random]);
    }

    #[test]
    fn token_kinds_map_to_token_classes_and_no_other_kind_does() {
        let token_classes = [
            Class::MalformedToken,
            Class::UnsupportedAlgorithm,
            Class::InvalidSignature,
            Class::InvalidClaims,
            Class::TokenExpired,
        ];
        for &kind in ErrorKind::ALL {
            let class = class_of(kind).unwrap_or(Class::Base);
            assert_eq!(
                kind.is_token_error(),
                token_classes.contains(&class),
                "{kind:?} -> {class:?}"
            );
        }
    }

    #[test]
    fn each_leaf_class_is_used() {
        let used: Vec<_> = ErrorKind::ALL.iter().filter_map(|&k| class_of(k)).collect();
        for class in [
            Class::InvalidArgument,
            Class::InvalidKey,
            Class::NotEncryptedDataId,
            Class::EmptyContent,
            Class::ContentTooLarge,
            Class::DecryptionError,
            Class::KmsError,
            Class::KeyringError,
            Class::KeyringPermissionError,
            Class::SettingsError,
            Class::FileError,
        ] {
            assert!(used.contains(&class), "{class:?} is never raised");
        }
    }
}
