//! The user PIN: read from a file or an environment variable, wiped on drop, never printed.

use nacoscrypt_core::{Error, Result, SecretString};
use std::fmt;
use std::path::Path;

/// The longest PIN file read, in bytes: a longer file is refused, unread.
///
/// ```
/// use nacoscrypt_kms_pkcs11::{MAX_PIN_FILE_LEN, Pin};
///
/// # let dir = std::env::temp_dir().join(format!("pin-max-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("not-a-pin");
/// std::fs::write(&path, vec![b'1'; MAX_PIN_FILE_LEN + 1])?;
/// assert!(Pin::from_file(&path).is_err());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_PIN_FILE_LEN: usize = 4096;

/// The token's user PIN. Wiped when dropped; its `Debug` is `Pin([REDACTED])`.
///
/// Take it from a file ([`Pin::from_file`]) or an environment variable ([`Pin::from_env`]):
/// never from a command line, where every user of the machine can read it.
///
/// ```
/// use nacoscrypt_kms_pkcs11::Pin;
///
/// # let dir = std::env::temp_dir().join(format!("pin-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("pin");
/// std::fs::write(&path, "1234\n")?;
/// let pin = Pin::from_file(&path)?; // one trailing newline is not part of the PIN
/// assert_eq!(format!("{pin:?}"), "Pin([REDACTED])");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Pin(SecretString);

impl Pin {
    /// A PIN the program already holds (from a vault, say).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if it is empty.
    ///
    /// ```
    /// use nacoscrypt_core::SecretString;
    /// use nacoscrypt_kms_pkcs11::Pin;
    ///
    /// # let from_vault = || "4321".to_owned();
    /// let pin = Pin::new(SecretString::from(from_vault()))?;
    /// assert_eq!(format!("{pin:?}"), "Pin([REDACTED])");
    /// assert!(Pin::new(SecretString::from(String::new())).is_err());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn new(pin: SecretString) -> Result<Self> {
        if pin.as_str().is_empty() {
            return Err(Error::InvalidArgument {
                reason: "the PKCS#11 PIN is empty",
            });
        }
        Ok(Self(pin))
    }

    /// The PIN in the file at `path` (a regular file of at most 4 KiB, UTF-8); one trailing
    /// `\n` or `\r\n` is dropped.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::InvalidArgument`] if the PIN is empty.
    ///
    /// ```
    /// use nacoscrypt_kms_pkcs11::Pin;
    ///
    /// # let dir = std::env::temp_dir().join(format!("pin-file-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("hsm-pin");
    /// std::fs::write(&path, "1234\r\n")?; // written on Windows: \r\n is dropped too
    /// let pin = Pin::from_file(&path)?;
    /// # drop(pin);
    /// std::fs::write(&path, "\n")?;
    /// assert!(Pin::from_file(&path).is_err(), "an empty PIN");
    /// assert!(Pin::from_file(&dir.join("missing")).is_err());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = nacoscrypt_core::fs::read_text_file(
            path,
            MAX_PIN_FILE_LEN,
            "reading the PKCS#11 PIN file",
        )?;
        let pin = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(&text);
        Self::new(SecretString::from(pin.to_owned()))
    }

    /// The PIN in the environment variable `name` (for example `NACOSCRYPT_PKCS11_PIN`).
    ///
    /// # Errors
    /// [`Error::Io`] naming the variable if it is not set or not UTF-8;
    /// [`Error::InvalidArgument`] if it is empty.
    ///
    /// ```
    /// let err = nacoscrypt_kms_pkcs11::Pin::from_env("NACOSCRYPT_DOC_UNSET_PIN").unwrap_err();
    /// assert!(err.to_string().contains("NACOSCRYPT_DOC_UNSET_PIN is not set"));
    /// ```
    pub fn from_env(name: &str) -> Result<Self> {
        match std::env::var(name) {
            Ok(pin) => Self::new(SecretString::from(pin)),
            Err(e) => Err(Error::Io {
                operation: "reading the PKCS#11 PIN from the environment",
                message: match e {
                    std::env::VarError::NotPresent => format!("{name} is not set"),
                    std::env::VarError::NotUnicode(_) => format!("{name} is not UTF-8"),
                },
            }),
        }
    }

    /// The PIN as cryptoki takes it (its own wiped copy).
    pub(crate) fn auth_pin(&self) -> cryptoki::types::AuthPin {
        cryptoki::types::AuthPin::from(self.0.as_str().to_owned())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin([REDACTED])")
    }
}
