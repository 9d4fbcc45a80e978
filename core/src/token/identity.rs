//! [`ServerIdentity`]: the header that marks a request from a peer server (SPEC 3.4).

use crate::{Error, Result, SecretString};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use subtle::ConstantTimeEq;

/// The old public default key (`nacos.core.auth.server.identity.key`).
pub const PUBLIC_DEFAULT_IDENTITY_KEY: &str = "serverIdentity";
/// The old public default value (`nacos.core.auth.server.identity.value`).
pub const PUBLIC_DEFAULT_IDENTITY_VALUE: &str = "security";

/// The server identity check: a request whose header named by the key (case-insensitive)
/// carries exactly the value (compared in constant time) comes from a peer server.
///
/// Empty (or blank) keys and values are refused, and so are the old public defaults
/// `serverIdentity` / `security` unless explicitly allowed. `Debug` never prints the value.
///
/// For a rolling change of the value across a cluster, older values can be accepted too
/// ([`with_previous_value`](Self::with_previous_value)): a header is compared with every
/// accepted value, each in constant time, and with all of them whatever matches (so the time
/// taken does not tell which value, if any, matched).
///
/// # Example
/// ```
/// use nacoscrypt_core::token::ServerIdentity;
/// use nacoscrypt_core::ErrorKind;
///
/// let id = ServerIdentity::new("X-Nacos-Peer", "d2f8c0e7a1b9")?;
/// assert!(id.matches([("accept", "*/*"), ("x-nacos-peer", "d2f8c0e7a1b9")]));
/// assert!(!id.matches([("X-Nacos-Peer", "D2F8C0E7A1B9")]));
/// assert!(id.matches_value("d2f8c0e7a1b9"));
///
/// let err = ServerIdentity::new("serverIdentity", "security").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::PubliclyKnownKey);
/// assert!(ServerIdentity::new_allowing_publicly_known("serverIdentity", "security").is_ok());
///
/// // Rotation: the new value first, the previous one still accepted during the rollout.
/// let id = ServerIdentity::new("X-Nacos-Peer", "new-5f1c")?.with_previous_value("d2f8c0e7a1b9")?;
/// assert!(id.matches_value("new-5f1c") && id.matches_value("d2f8c0e7a1b9"));
/// assert_eq!(id.value(), "new-5f1c");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone)]
pub struct ServerIdentity {
    key: String,
    value: SecretString,
    previous: Vec<SecretString>,
    allow_publicly_known: bool,
}

impl ServerIdentity {
    /// A check for header `key` carrying `value`.
    ///
    /// # Errors
    /// [`Error::EmptyIdentity`] for an empty or blank key or value; [`Error::PubliclyKnownKey`]
    /// for the old public default value `security` (whatever the key).
    pub fn new(key: &str, value: &str) -> Result<Self> {
        Self::build(key, value, false)
    }

    /// Like [`new`](Self::new) but accepts the old public defaults (tests and migrations only).
    ///
    /// # Errors
    /// [`Error::EmptyIdentity`] for an empty or blank key or value.
    pub fn new_allowing_publicly_known(key: &str, value: &str) -> Result<Self> {
        Self::build(key, value, true)
    }

    fn build(key: &str, value: &str, allow_publicly_known: bool) -> Result<Self> {
        if key.trim().is_empty() || value.trim().is_empty() {
            return Err(Error::EmptyIdentity);
        }
        if !allow_publicly_known && value == PUBLIC_DEFAULT_IDENTITY_VALUE {
            return Err(Error::PubliclyKnownKey);
        }
        Ok(Self {
            key: String::from(key),
            value: SecretString::from(String::from(value)),
            previous: Vec::new(),
            allow_publicly_known,
        })
    }

    /// Also accepts `value`, an older identity value (tried after the current one and those
    /// added before it), checked as [`new`](Self::new) checks a value.
    ///
    /// # Errors
    /// [`Error::EmptyIdentity`] for an empty or blank value; [`Error::PubliclyKnownKey`] for the
    /// old public default `security`, unless this identity was built with
    /// [`new_allowing_publicly_known`](Self::new_allowing_publicly_known).
    pub fn with_previous_value(mut self, value: &str) -> Result<Self> {
        if value.trim().is_empty() {
            return Err(Error::EmptyIdentity);
        }
        if !self.allow_publicly_known && value == PUBLIC_DEFAULT_IDENTITY_VALUE {
            return Err(Error::PubliclyKnownKey);
        }
        self.previous.push(SecretString::from(String::from(value)));
        Ok(self)
    }

    /// The number of older values still accepted.
    pub fn previous_value_count(&self) -> usize {
        self.previous.len()
    }

    /// The header name.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The expected header value (a shared secret: handle with care).
    pub fn value(&self) -> &str {
        self.value.as_str()
    }

    /// `true` if the first header named like the key (ASCII case-insensitive, as HTTP header
    /// names are) carries exactly the value. Absent header: `false`.
    pub fn matches<'h>(&self, headers: impl IntoIterator<Item = (&'h str, &'h str)>) -> bool {
        headers
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&self.key))
            .is_some_and(|(_, value)| self.matches_value(value))
    }

    /// `true` if `value` is exactly the identity value or one of the previous values. Each is
    /// compared in constant time (for equal lengths), and every one is compared.
    pub fn matches_value(&self, value: &str) -> bool {
        let given = value.as_bytes();
        let mut found = given.ct_eq(self.value.as_bytes());
        for previous in &self.previous {
            found |= given.ct_eq(previous.as_bytes());
        }
        bool::from(found)
    }
}

impl fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("key", &self.key)
            .field("value", &"[REDACTED]")
            .field("previous_values", &self.previous.len())
            .finish()
    }
}
