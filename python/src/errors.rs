//! The exception classes, declared once in the table below (`exceptions!`), and the mapping
//! of each core [`ErrorKind`] onto one of them through the kind's [`ErrorFamily`]:
//!
//! ```text
//! NacosCryptError                      family General (random), and every error's base (.kind)
//! ├── InvalidArgument                  family Argument
//! ├── InvalidKey                       family Key
//! ├── InvalidToken (.nacos_message)
//! │   ├── MalformedToken               kind MalformedToken     (family Token: a class per kind)
//! │   ├── UnsupportedAlgorithm         kind UnsupportedAlgorithm
//! │   ├── InvalidSignature             kind InvalidSignature
//! │   ├── InvalidClaims                kind InvalidClaims
//! │   └── TokenExpired                 kind TokenExpired
//! ├── ConfigError
//! │   ├── NotEncryptedDataId           kind NotEncryptedDataId (family Config: a class per kind)
//! │   ├── EmptyContent                 kind EmptyContent
//! │   ├── ContentTooLarge              kind ContentTooLarge
//! │   ├── DecryptionError              family Decryption
//! │   └── KmsError                     family Kms
//! ├── KeyringError                     family Keyring
//! │   └── KeyringPermissionError       family KeyringPermission
//! ├── SettingsError                    family Settings
//! ├── FileError                        family File (a keyring or properties file could not be
//! │                                    read or written; the message names the operation)
//! └── LoginError                       family Login (a TokenKeeper's login failed)
//! ```
//!
//! The core's table (`nacoscrypt_core::for_each_error_kind!`) gives each kind's family; a new
//! kind of a family with a shared class needs no edit here. A kind the table does not cover
//! (a new token or config kind before its class is added) raises `NacosCryptError` (never a bare
//! `Exception`); the unit tests below fail until the table names it. The stubs
//! (`nacoscrypt/_native.pyi`) and `nacoscrypt/__init__.py` list the classes as static text;
//! `python/tests/test_errors.py` checks that they list exactly the registered classes.

use nacoscrypt_core::error::ErrorFamily;
use nacoscrypt_core::{Error, ErrorKind};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

/// What a class is raised for: the kinds of a family, one kind, or nothing itself (a base class
/// whose subclasses are raised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RaisedFor {
    /// Every kind of the family.
    Family(ErrorFamily),
    /// This one kind.
    Kind(ErrorKind),
    /// No kind (only its subclasses are raised).
    Nothing,
}

impl RaisedFor {
    fn covers(self, kind: ErrorKind) -> bool {
        match self {
            Self::Family(family) => kind.family() == family,
            Self::Kind(k) => kind == k,
            Self::Nothing => false,
        }
    }
}

/// `RaisedFor` of a table entry.
macro_rules! raised_for {
    (family $family:ident) => {
        RaisedFor::Family(ErrorFamily::$family)
    };
    (kind $kind:ident) => {
        RaisedFor::Kind(ErrorKind::$kind)
    };
    (nothing) => {
        RaisedFor::Nothing
    };
}

/// Declares the exception classes from one table: the `create_exception!` classes, [`Class`]
/// with its type objects, what each class is raised for, and the registration in the module
/// (in table order). Entry: `Name(Base) for family F | kind K | nothing, "docstring";`.
macro_rules! exceptions {
    ($(
        $name:ident($base:ident) for $how:ident $($what:ident)?, $doc:literal;
    )*) => {
        $(create_exception!(nacoscrypt, $name, $base, $doc);)*

        /// The Python exception classes, one per variant, in registration order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Class {
            $($name,)*
        }

        impl Class {
            /// Every class, in registration order (the root class first).
            pub(crate) const ALL: &'static [Class] = &[$(Class::$name),*];

            /// The class's Python name.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)*
                }
            }

            /// The Python name of the class's base.
            #[cfg_attr(not(test), allow(dead_code))]
            pub(crate) const fn base_name(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($base),)*
                }
            }

            /// What the class is raised for.
            pub(crate) const fn raised_for(self) -> RaisedFor {
                match self {
                    $(Self::$name => raised_for!($how $($what)?),)*
                }
            }

            fn type_object(self, py: Python<'_>) -> Bound<'_, PyType> {
                match self {
                    $(Self::$name => py.get_type::<$name>(),)*
                }
            }
        }
    };
}

exceptions! {
    NacosCryptError(PyException) for family General,
        "Base class of every error raised by nacoscrypt; `.kind` is the core's stable error name.";
    InvalidArgument(NacosCryptError) for family Argument,
        "An argument is out of its domain (an invalid key id, an unknown format, ...).";
    InvalidKey(NacosCryptError) for family Key,
        "A token secret key or server identity is unusable: not base64 as the server decodes it, \
         shorter than 256 bits, empty, or publicly known without the explicit opt-in.";
    InvalidToken(NacosCryptError) for nothing,
        "A token was refused; `.nacos_message` is what the Nacos server answers in that case.";
    MalformedToken(InvalidToken) for kind MalformedToken,
        "The token is blank or not three non-empty parts.";
    UnsupportedAlgorithm(InvalidToken) for kind UnsupportedAlgorithm,
        "The token header is not the constant of the key's algorithm.";
    InvalidSignature(InvalidToken) for kind InvalidSignature,
        "The token signature does not verify (or is not canonically encoded).";
    InvalidClaims(InvalidToken) for kind InvalidClaims,
        "The token payload is not a JSON object with a string `sub` and an integer `exp`.";
    TokenExpired(InvalidToken) for kind TokenExpired,
        "The token has expired.";
    ConfigError(NacosCryptError) for nothing,
        "Base class of the configuration encryption errors.";
    NotEncryptedDataId(ConfigError) for kind NotEncryptedDataId,
        "The data ID does not start with `cipher-`: it names no encryption scheme.";
    EmptyContent(ConfigError) for kind EmptyContent,
        "The content is empty (Nacos refuses blank configs).";
    ContentTooLarge(ConfigError) for kind ContentTooLarge,
        "The plaintext or the stored content is larger than the limit allows.";
    DecryptionError(ConfigError) for family Decryption,
        "Stored content or a blob does not decrypt: invalid base64, bad padding, not whole blocks, \
         authentication failed (tampered, moved, wrong key), not UTF-8, a missing or oversized \
         encryptedDataKey.";
    KmsError(ConfigError) for family Kms,
        "The KMS failed or does not know the key; an exception raised by a Python KMS object is \
         chained as `__cause__`.";
    KeyringError(NacosCryptError) for family Keyring,
        "A keyring file or text is malformed, or could not be read or written.";
    KeyringPermissionError(KeyringError) for family KeyringPermission,
        "A keyring file is accessible to its group or to others (run `chmod 600` on it).";
    SettingsError(NacosCryptError) for family Settings,
        "An `application.properties` file or environment setting is invalid.";
    FileError(NacosCryptError) for family File,
        "A file (a keyring, application.properties) could not be read or written; the message names \
         the operation and the operating system's error.";
    LoginError(NacosCryptError) for family Login,
        "A TokenKeeper's login failed without an exception of its own (the login callable's \
         exception is raised as it is).";
}

/// THE mapping: the exception class of each core error kind (its own class, else its family's).
/// `None` only for a kind the table does not cover yet (raised as `NacosCryptError`; the test
/// below refuses it).
pub(crate) fn class_of(kind: ErrorKind) -> Option<Class> {
    Class::ALL
        .iter()
        .copied()
        .find(|class| class.raised_for().covers(kind))
}

/// The Python exception for a core error: the class from the table, the core's message (which
/// never holds key material or plaintext), `.kind` and, for token errors, `.nacos_message`.
pub(crate) fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    let kind = err.kind();
    let class = class_of(kind).unwrap_or(Class::NacosCryptError);
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
        let class = class_of(kind).unwrap_or(Class::NacosCryptError);
        table.set_item(kind.name(), class.type_object(py))?;
    }
    Ok(table)
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    for &class in Class::ALL {
        m.add(class.name(), class.type_object(py))?;
    }
    m.add_function(wrap_pyfunction!(_error_classes, m)?)?;
    set_class_defaults(py)
}

/// Class-level defaults of `.kind` and `.nacos_message`, so that an exception raised by Python
/// code (a test double, say) has them too: `kind` is the one kind a class stands for, or "" for
/// a class several kinds share (and for the root class); `nacos_message` is the server's answer
/// for the class (`token invalid!` for `InvalidToken` itself).
fn set_class_defaults(py: Python<'_>) -> PyResult<()> {
    py.get_type::<NacosCryptError>().setattr("kind", "")?;
    for &class in &Class::ALL[1..] {
        let mut kinds = ErrorKind::ALL
            .iter()
            .copied()
            .filter(|&k| class_of(k) == Some(class));
        let class_type = class.type_object(py);
        match (kinds.next(), kinds.next()) {
            (None, _) => {} // a base class: inherits
            (Some(kind), None) => {
                class_type.setattr("kind", kind.name())?;
                if let Some(message) = kind.nacos_message() {
                    class_type.setattr("nacos_message", message)?;
                }
            }
            (Some(_), Some(_)) => class_type.setattr("kind", "")?,
        }
    }
    let invalid = ErrorKind::InvalidClaims.nacos_message();
    py.get_type::<InvalidToken>()
        .setattr("nacos_message", invalid.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_kind_has_exactly_one_class() {
        for &kind in ErrorKind::ALL {
            let classes: Vec<_> = Class::ALL
                .iter()
                .filter(|c| c.raised_for().covers(kind))
                .collect();
            assert_eq!(
                classes.len(),
                1,
                "ErrorKind::{kind:?} ({}) has no class, or several: {classes:?}",
                kind.name()
            );
        }
    }

    #[test]
    fn only_the_rng_failure_raises_the_base_class() {
        let base: Vec<_> = ErrorKind::ALL
            .iter()
            .filter(|&&k| class_of(k) == Some(Class::NacosCryptError))
            .collect();
        assert_eq!(base, [&ErrorKind::Random]);
        assert_eq!(Class::ALL[0], Class::NacosCryptError);
        assert_eq!(Class::NacosCryptError.base_name(), "PyException");
    }

    #[test]
    fn token_kinds_map_to_token_classes_and_no_other_kind_does() {
        for &kind in ErrorKind::ALL {
            let class = class_of(kind).unwrap_or(Class::NacosCryptError);
            assert_eq!(
                kind.is_token_error(),
                class.base_name() == "InvalidToken",
                "{kind:?} -> {class:?}"
            );
            // A token kind or a config kind of its own family has its own class.
            if matches!(kind.family(), ErrorFamily::Token | ErrorFamily::Config) {
                assert_eq!(class.raised_for(), RaisedFor::Kind(kind));
                assert_eq!(class.name(), format!("{kind:?}"));
            }
        }
    }

    #[test]
    fn the_hierarchy_is_a_tree_declared_root_first() {
        for (i, class) in Class::ALL.iter().enumerate().skip(1) {
            let base = Class::ALL[..i]
                .iter()
                .find(|b| b.name() == class.base_name());
            assert!(base.is_some(), "{class:?}: its base is declared after it");
        }
    }

    #[test]
    fn each_class_is_raised_or_is_a_base() {
        let used: Vec<_> = ErrorKind::ALL.iter().filter_map(|&k| class_of(k)).collect();
        for &class in Class::ALL {
            let is_base = Class::ALL.iter().any(|c| c.base_name() == class.name());
            assert!(
                used.contains(&class) || is_base,
                "{class:?} is never raised"
            );
            assert_eq!(
                class.raised_for() == RaisedFor::Nothing,
                !used.contains(&class)
            );
        }
    }
}
