//! The auth settings of a Nacos cluster, read from the very `application.properties` it uses
//! (Java properties syntax) or from the Docker image's environment names.

use super::{SecretKey, ServerIdentity, TokenManager};
use crate::properties::{parse_bool, parse_seconds, resolve_placeholders};
use crate::{Error, Result, SecretString};
use alloc::string::String;
use alloc::vec::Vec;
use zeroize::Zeroizing;

/// Kept at this path for compatibility: the reader and its bounds live in
/// [`crate::properties`].
#[doc(hidden)]
pub use crate::properties::{
    MAX_EXPANDED_LEN, MAX_PLACEHOLDER_DEPTH, MAX_PLACEHOLDERS, MAX_PROPERTIES_LEN, Properties,
};

/// `nacos.core.auth.plugin.nacos.token.secret.key`: the base64 token secret.
pub const SECRET_KEY: &str = "nacos.core.auth.plugin.nacos.token.secret.key";
/// `nacos.core.auth.plugin.nacos.token.expire.seconds`: token validity (default 18000).
pub const EXPIRE_SECONDS: &str = "nacos.core.auth.plugin.nacos.token.expire.seconds";
/// `nacos.core.auth.plugin.nacos.token.cache.enable`: the token cache (default false).
pub const CACHE_ENABLE: &str = "nacos.core.auth.plugin.nacos.token.cache.enable";
/// `nacos.core.auth.server.identity.key`: the peer-server header name.
pub const IDENTITY_KEY: &str = "nacos.core.auth.server.identity.key";
/// `nacos.core.auth.server.identity.value`: the peer-server header value.
pub const IDENTITY_VALUE: &str = "nacos.core.auth.server.identity.value";

/// The Docker image's environment names and the settings they feed, in the order above.
pub const ENV_NAMES: [(&str, &str); 5] = [
    ("NACOS_AUTH_TOKEN", SECRET_KEY),
    ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", EXPIRE_SECONDS),
    ("NACOS_AUTH_CACHE_ENABLE", CACHE_ENABLE),
    ("NACOS_AUTH_IDENTITY_KEY", IDENTITY_KEY),
    ("NACOS_AUTH_IDENTITY_VALUE", IDENTITY_VALUE),
];

/// The token-related settings of a Nacos server, with the server's defaults.
///
/// Empty values count as unset, as the server's conversion does. `Debug` never prints the
/// secret key or the identity value.
///
/// # Example
/// ```
/// use nacoscrypt_core::token::AuthSettings;
///
/// let text = "\
/// # Nacos application.properties
/// nacos.core.auth.enabled=true
/// nacos.core.auth.plugin.nacos.token.secret.key=${NACOS_AUTH_TOKEN:}
/// nacos.core.auth.plugin.nacos.token.expire.seconds = 3600
/// nacos.core.auth.server.identity.key: X-Peer
/// nacos.core.auth.server.identity.value  d2f8c0e7a1b9
/// ";
/// let env = [("NACOS_AUTH_TOKEN", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")];
/// let settings = AuthSettings::from_properties_with_env(text, env)?;
/// assert_eq!(settings.expire_seconds, 3600);
/// assert!(!settings.cache_enabled);
///
/// let manager = settings.token_manager()?;
/// assert_eq!(manager.validity(), 3600);
/// let identity = settings.server_identity()?;
/// assert!(identity.matches([("x-peer", "d2f8c0e7a1b9")]));
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    /// [`SECRET_KEY`], as written (base64).
    pub secret_key: Option<SecretString>,
    /// [`EXPIRE_SECONDS`] (default 18,000).
    pub expire_seconds: u64,
    /// [`CACHE_ENABLE`] (default `false`).
    pub cache_enabled: bool,
    /// [`IDENTITY_KEY`].
    pub identity_key: Option<String>,
    /// [`IDENTITY_VALUE`].
    pub identity_value: Option<SecretString>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            secret_key: None,
            expire_seconds: super::DEFAULT_VALIDITY_SECS,
            cache_enabled: false,
            identity_key: None,
            identity_value: None,
        }
    }
}

impl AuthSettings {
    /// Reads the settings from an `application.properties` text; `${NAME:default}`
    /// placeholders resolve against the file's own properties, then their defaults.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for a malformed file, an invalid number or boolean, or an
    /// unresolvable placeholder.
    pub fn from_properties(text: &str) -> Result<Self> {
        Self::from_properties_with_env(text, core::iter::empty())
    }

    /// Like [`from_properties`](Self::from_properties), with `${NAME:default}` placeholders
    /// resolved against `env` first (as the Docker image's file, which reads
    /// `${NACOS_AUTH_TOKEN:}` and the like, needs).
    ///
    /// # Errors
    /// As [`from_properties`](Self::from_properties).
    pub fn from_properties_with_env<'e>(
        text: &str,
        env: impl IntoIterator<Item = (&'e str, &'e str)>,
    ) -> Result<Self> {
        let props = Properties::parse(text)?;
        let env: Vec<(&str, &str)> = env.into_iter().collect();
        let lookup = |name: &'static str| -> Result<Option<Zeroizing<String>>> {
            match props.get(name) {
                None => Ok(None),
                Some(v) => resolve_placeholders(v, name, &props, &env).map(Some),
            }
        };
        let mut s = Self::default();
        s.apply(SECRET_KEY, lookup(SECRET_KEY)?)?;
        s.apply(EXPIRE_SECONDS, lookup(EXPIRE_SECONDS)?)?;
        s.apply(CACHE_ENABLE, lookup(CACHE_ENABLE)?)?;
        s.apply(IDENTITY_KEY, lookup(IDENTITY_KEY)?)?;
        s.apply(IDENTITY_VALUE, lookup(IDENTITY_VALUE)?)?;
        Ok(s)
    }

    /// Reads the settings from the Docker image's environment names ([`ENV_NAMES`]);
    /// other names are ignored.
    ///
    /// ```
    /// use nacoscrypt_core::token::AuthSettings;
    ///
    /// let s = AuthSettings::from_env([
    ///     ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "600"),
    ///     ("NACOS_AUTH_CACHE_ENABLE", "true"),
    ///     ("PATH", "/usr/bin"),
    /// ])?;
    /// assert_eq!((s.expire_seconds, s.cache_enabled), (600, true));
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for an invalid number or boolean.
    pub fn from_env<'e>(env: impl IntoIterator<Item = (&'e str, &'e str)>) -> Result<Self> {
        let mut s = Self::default();
        for (name, value) in env {
            if let Some((_, setting)) = ENV_NAMES.iter().find(|(n, _)| *n == name) {
                s.apply(setting, Some(Zeroizing::new(String::from(value))))?;
            }
        }
        Ok(s)
    }

    /// [`from_env`](Self::from_env) over this process's environment (names or values that are
    /// not Unicode are skipped).
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    #[cfg(feature = "std")]
    pub fn from_process_env() -> Result<Self> {
        let vars: Vec<(String, Zeroizing<String>)> = std::env::vars_os()
            .filter_map(|(k, v)| {
                Some((k.into_string().ok()?, Zeroizing::new(v.into_string().ok()?)))
            })
            .collect();
        Self::from_env(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Reads an `application.properties` file, resolving placeholders against this process's
    /// environment.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read, is not a regular file (a FIFO or device is
    /// refused, never waited on) or is not UTF-8; [`Error::InvalidSettings`] for a file over
    /// [`MAX_PROPERTIES_LEN`], found while reading; else as
    /// [`from_properties`](Self::from_properties).
    #[cfg(feature = "std")]
    pub fn from_properties_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let text = crate::fs::read_regular_text(
            path.as_ref(),
            MAX_PROPERTIES_LEN,
            "reading application.properties",
            || Error::InvalidSettings {
                name: crate::properties::PROPS,
                reason: "file too large",
            },
        )?;
        let vars: Vec<(String, Zeroizing<String>)> = std::env::vars_os()
            .filter_map(|(k, v)| {
                Some((k.into_string().ok()?, Zeroizing::new(v.into_string().ok()?)))
            })
            .collect();
        Self::from_properties_with_env(&text, vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Sets one setting from its text (empty = unset, the default stays).
    fn apply(&mut self, name: &'static str, value: Option<Zeroizing<String>>) -> Result<()> {
        let Some(value) = value else { return Ok(()) };
        if value.trim().is_empty() {
            return Ok(());
        }
        match name {
            SECRET_KEY => self.secret_key = Some(SecretString::from(String::from(value.as_str()))),
            EXPIRE_SECONDS => self.expire_seconds = parse_seconds(&value, name)?,
            CACHE_ENABLE => self.cache_enabled = parse_bool(&value, name)?,
            IDENTITY_KEY => self.identity_key = Some(String::from(value.as_str())),
            _ => self.identity_value = Some(SecretString::from(String::from(value.as_str()))),
        }
        Ok(())
    }

    /// A [`TokenManager`] with the secret key and validity of these settings.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] if the secret key is not set; the errors of
    /// [`SecretKey::from_base64`] (which refuses publicly known keys).
    pub fn token_manager(&self) -> Result<TokenManager> {
        self.manager(false)
    }

    /// Like [`token_manager`](Self::token_manager) but accepting the publicly known keys
    /// (tests and migrations only).
    ///
    /// # Errors
    /// As [`token_manager`](Self::token_manager), less [`Error::PubliclyKnownKey`].
    pub fn token_manager_allowing_publicly_known(&self) -> Result<TokenManager> {
        self.manager(true)
    }

    fn manager(&self, allow_publicly_known: bool) -> Result<TokenManager> {
        let text = self.secret_key.as_ref().ok_or(Error::InvalidSettings {
            name: SECRET_KEY,
            reason: "not set",
        })?;
        let key = if allow_publicly_known {
            SecretKey::from_base64_allowing_publicly_known(text)?
        } else {
            SecretKey::from_base64(text)?
        };
        TokenManager::new(key).with_validity(self.expire_seconds)
    }

    /// The [`ServerIdentity`] of these settings.
    ///
    /// # Errors
    /// [`Error::EmptyIdentity`] if the key or value is not set; [`Error::PubliclyKnownKey`] for
    /// the old public default value.
    pub fn server_identity(&self) -> Result<ServerIdentity> {
        let (key, value) = self.identity_parts()?;
        ServerIdentity::new(key, value)
    }

    /// Like [`server_identity`](Self::server_identity) but accepting the old public defaults.
    ///
    /// # Errors
    /// [`Error::EmptyIdentity`] if the key or value is not set.
    pub fn server_identity_allowing_publicly_known(&self) -> Result<ServerIdentity> {
        let (key, value) = self.identity_parts()?;
        ServerIdentity::new_allowing_publicly_known(key, value)
    }

    fn identity_parts(&self) -> Result<(&str, &str)> {
        match (&self.identity_key, &self.identity_value) {
            (Some(k), Some(v)) => Ok((k.as_str(), v.as_str())),
            _ => Err(Error::EmptyIdentity),
        }
    }
}
