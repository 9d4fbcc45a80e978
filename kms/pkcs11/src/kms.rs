//! [`Pkcs11Kms`]: the `Kms` trait on an AES key object of a PKCS#11 token.

use crate::Pin;
use crate::blob::{self, IV_LEN};
use crate::error::Failure;
use crate::pool::{Pool, PoolStats, lock};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Kms};
use nacoscrypt_core::{Error, Result, SecretBytes};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Idle sessions kept per token by default (see
/// [`Pkcs11KmsBuilder::max_idle_sessions`]).
///
/// ```
/// use nacoscrypt_kms_pkcs11::DEFAULT_MAX_IDLE_SESSIONS;
///
/// assert_eq!(DEFAULT_MAX_IDLE_SESSIONS, 16);
/// ```
pub const DEFAULT_MAX_IDLE_SESSIONS: usize = 16;

/// The AES-GCM tag length, in bits.
const TAG_BITS: u64 = 128;

/// Which token of the module holds the keys.
///
/// ```
/// use nacoscrypt_kms_pkcs11::Token;
///
/// let by_label = Token::Label("nacos".into()); // found again if it moves to another slot
/// let by_slot = Token::Slot(0);
/// assert_ne!(by_label, by_slot);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// The token whose label (`CK_TOKEN_INFO.label`, trailing blanks ignored) is this one; it
    /// is looked up again if it moves to another slot.
    Label(String),
    /// The token in the slot with this id.
    Slot(u64),
}

/// A KMS whose master keys are AES key objects of a PKCS#11 token (an HSM, SoftHSM2, a cloud
/// HSM's PKCS#11 library). The key id of the [`Kms`] calls is the key object's label
/// (`CKA_LABEL`); the empty key id means the default label.
///
/// Cheap to clone (clones share the session pool) and safe to share between threads. See the
/// crate docs for the blob layout.
///
/// ```no_run
/// use nacoscrypt_core::kms::{Context, KeySpec, Kms};
/// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
///
/// let kms = Pkcs11Kms::builder()
///     .module("/usr/lib/softhsm/libsofthsm2.so")
///     .token(Token::Label("nacos".into()))
///     .pin(Pin::from_file("/run/secrets/hsm-pin".as_ref())?)
///     .default_key_label("nacos-2026")
///     .build()?;
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let kms = kms.clone(); // the same session pool
///         std::thread::spawn(move || kms.generate_data_key("", KeySpec::Aes256, &Context::new()))
///     })
///     .collect();
/// for t in threads {
///     let key = t.join().expect("no panic")?;
///     assert_eq!(kms.decrypt(&key.ciphertext_blob, &Context::new())?.as_bytes(), key.plaintext.as_bytes());
/// }
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Pkcs11Kms {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    module_path: PathBuf,
    default_label: Option<String>,
    /// Key handles by label: token object handles stay valid across the sessions of one
    /// application; a stale one is looked up again.
    keys: Mutex<HashMap<String, ObjectHandle>>,
}

impl fmt::Debug for Pkcs11Kms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Kms")
            .field("module", &self.inner.module_path)
            .field("token", &self.inner.pool_token())
            .field("default_label", &self.inner.default_label)
            .field("pin", &"[REDACTED]")
            .finish()
    }
}

impl Inner {
    fn pool_token(&self) -> String {
        match self.pool.slot() {
            Ok(slot) => format!("slot {}", slot.id()),
            Err(_) => "not present".to_owned(),
        }
    }
}

/// Builds a [`Pkcs11Kms`]; see [`Pkcs11Kms::builder`]. Nothing is loaded until
/// [`build`](Self::build); the builder's `Debug` never shows the PIN.
///
/// ```
/// use nacoscrypt_core::SecretString;
/// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
///
/// let builder = Pkcs11Kms::builder()
///     .module("/usr/lib/softhsm/libsofthsm2.so")
///     .token(Token::Label("nacos".into()))
///     .pin(Pin::new(SecretString::from("4321".to_owned()))?);
/// assert!(!format!("{builder:?}").contains("4321"));
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pkcs11KmsBuilder {
    module: Option<PathBuf>,
    token: Option<Token>,
    pin: Option<Pin>,
    default_label: Option<String>,
    max_idle: usize,
}

impl Pkcs11KmsBuilder {
    /// The PKCS#11 module (shared library) to load, for example
    /// `/usr/lib/softhsm/libsofthsm2.so`. Required.
    ///
    /// ```
    /// use nacoscrypt_kms_pkcs11::{Pkcs11Kms, Token};
    ///
    /// let err = Pkcs11Kms::builder()
    ///     .module("/nonexistent/libvendor-pkcs11.so")
    ///     .token(Token::Label("nacos".into()))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), nacoscrypt_core::ErrorKind::Io, "{err}");
    /// ```
    #[must_use]
    pub fn module(mut self, path: impl Into<PathBuf>) -> Self {
        self.module = Some(path.into());
        self
    }

    /// The token, by label or slot. Required.
    ///
    /// ```
    /// use nacoscrypt_kms_pkcs11::{Pkcs11Kms, Token};
    ///
    /// let err = Pkcs11Kms::builder().module("/usr/lib/softhsm/libsofthsm2.so").build().unwrap_err();
    /// assert!(err.to_string().contains("token"), "{err}");
    /// let empty = Pkcs11Kms::builder().module("libsofthsm2.so").token(Token::Label(String::new()));
    /// assert!(empty.build().is_err());
    /// ```
    #[must_use]
    pub fn token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// The user PIN (read it with [`Pin::from_file`] or [`Pin::from_env`]). Without one the
    /// KMS does not log in and sees only public objects.
    ///
    /// ```no_run
    /// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
    ///
    /// let kms = Pkcs11Kms::builder()
    ///     .module("/usr/lib/softhsm/libsofthsm2.so")
    ///     .token(Token::Slot(0))
    ///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
    ///     .build()?; // a wrong PIN fails here: CKR_PIN_INCORRECT
    /// assert_eq!(kms.stats().logins, 1);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn pin(mut self, pin: Pin) -> Self {
        self.pin = Some(pin);
        self
    }

    /// The label of the AES key used when a caller passes an empty key id (no default: an
    /// empty key id is then an error).
    ///
    /// ```
    /// use nacoscrypt_kms_pkcs11::{Pkcs11Kms, Token};
    ///
    /// // Labels are checked before the module is loaded: 1 to 255 bytes.
    /// let err = Pkcs11Kms::builder()
    ///     .module("/usr/lib/softhsm/libsofthsm2.so")
    ///     .token(Token::Label("nacos".into()))
    ///     .default_key_label("x".repeat(256))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), nacoscrypt_core::ErrorKind::InvalidArgument);
    /// ```
    #[must_use]
    pub fn default_key_label(mut self, label: impl Into<String>) -> Self {
        self.default_label = Some(label.into());
        self
    }

    /// Idle sessions kept open for reuse (default [`DEFAULT_MAX_IDLE_SESSIONS`], at least 1).
    /// More threads than this still work: their extra sessions are closed after use.
    ///
    /// ```no_run
    /// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
    ///
    /// // An HSM that allows few sessions per application.
    /// let kms = Pkcs11Kms::builder()
    ///     .module("/opt/vendor/lib/libpkcs11.so")
    ///     .token(Token::Label("nacos".into()))
    ///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
    ///     .max_idle_sessions(4)
    ///     .build()?;
    /// assert!(kms.stats().idle <= 4);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn max_idle_sessions(mut self, n: usize) -> Self {
        self.max_idle = n.max(1);
        self
    }

    /// Loads the module (once per process), finds the token and logs in: a wrong PIN, a
    /// missing token or module fail here, not at the first config.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the module or token is not set or the default label is
    /// invalid; [`Error::Io`] if the module cannot be loaded; [`Error::KmsService`] with the
    /// module's `CKR_…` code if it refuses (`CKR_PIN_INCORRECT`, …); [`Error::Kms`] if no
    /// token matches.
    ///
    /// ```
    /// use nacoscrypt_kms_pkcs11::Pkcs11Kms;
    ///
    /// let err = Pkcs11Kms::builder().build().unwrap_err();
    /// assert_eq!(err.kind(), nacoscrypt_core::ErrorKind::InvalidArgument);
    /// assert!(err.to_string().contains("module"), "{err}");
    /// ```
    pub fn build(self) -> Result<Pkcs11Kms> {
        let module_path = self.module.ok_or(Error::InvalidArgument {
            reason: "the PKCS#11 module path is not set",
        })?;
        let token = self.token.ok_or(Error::InvalidArgument {
            reason: "the PKCS#11 token (label or slot) is not set",
        })?;
        if let Token::Label(l) = &token
            && l.is_empty()
        {
            return Err(Error::InvalidArgument {
                reason: "the PKCS#11 token label is empty",
            });
        }
        if let Some(label) = &self.default_label {
            blob::check_label(label)?;
        }
        let module = crate::pool::module(&module_path)?;
        let pool = Pool::new(module, token, self.pin, self.max_idle);
        // Open (and log in) one session now; it stays in the pool.
        pool.run(|_| Ok(()))?;
        Ok(Pkcs11Kms {
            inner: Arc::new(Inner {
                pool,
                module_path,
                default_label: self.default_label,
                keys: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// What [`Pkcs11Kms::check`] found.
///
/// ```no_run
/// use nacoscrypt_kms_pkcs11::{CheckReport, Pin, Pkcs11Kms, Token};
///
/// let kms = Pkcs11Kms::builder()
///     .module("/usr/lib/softhsm/libsofthsm2.so")
///     .token(Token::Label("nacos".into()))
///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
///     .build()?;
/// let CheckReport { library, token_label, token_serial, slot, key_label, stats } =
///     kms.check("nacos-2026")?;
/// println!("{key_label} in {token_label} ({token_serial}, slot {slot}) by {library}: {stats:?}");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The module's manufacturer and description (`CK_INFO`).
    pub library: String,
    /// The token's label.
    pub token_label: String,
    /// The token's serial number.
    pub token_serial: String,
    /// The slot the token is in.
    pub slot: u64,
    /// The key label checked.
    pub key_label: String,
    /// The pool's counters after the check.
    pub stats: PoolStats,
}

impl Pkcs11Kms {
    /// A builder.
    ///
    /// ```no_run
    /// use nacoscrypt_core::config::{self, ConfigId};
    /// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
    ///
    /// let kms = Pkcs11Kms::builder()
    ///     .module("/usr/lib/softhsm/libsofthsm2.so")
    ///     .token(Token::Label("nacos".into()))
    ///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
    ///     .default_key_label("nacos-master-2026")
    ///     .build()?;
    /// let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
    /// let stored = config::encrypt(&kms, &id, "password=s3cret", "", config::Format::V1)?;
    /// let plain = config::decrypt(&kms, &id, &stored.content, &stored.encrypted_data_key)?;
    /// assert_eq!(plain.as_str(), "password=s3cret");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn builder() -> Pkcs11KmsBuilder {
        Pkcs11KmsBuilder {
            module: None,
            token: None,
            pin: None,
            default_label: None,
            max_idle: DEFAULT_MAX_IDLE_SESSIONS,
        }
    }

    /// The pool's counters: sessions opened and discarded, logins, idle sessions.
    ///
    /// ```no_run
    /// use nacoscrypt_core::kms::{Context, Kms};
    /// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
    ///
    /// let kms = Pkcs11Kms::builder()
    ///     .module("/usr/lib/softhsm/libsofthsm2.so")
    ///     .token(Token::Label("nacos".into()))
    ///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
    ///     .build()?;
    /// kms.encrypt("nacos-2026", b"x", &Context::new())?;
    /// let stats = kms.stats();
    /// assert_eq!((stats.sessions_opened, stats.logins), (1, 1), "the session of build, reused");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }

    /// The default key label, if set.
    ///
    /// ```no_run
    /// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
    ///
    /// let kms = Pkcs11Kms::builder()
    ///     .module("/usr/lib/softhsm/libsofthsm2.so")
    ///     .token(Token::Label("nacos".into()))
    ///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
    ///     .default_key_label("nacos-2026")
    ///     .build()?;
    /// assert_eq!(kms.default_key_label(), Some("nacos-2026"));
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn default_key_label(&self) -> Option<&str> {
        self.inner.default_label.as_deref()
    }

    /// Checks that the token is there, the key `key_label` (empty: the default) exists and that
    /// it encrypts and decrypts with `CKM_AES_GCM`.
    ///
    /// # Errors
    /// As the [`Kms`] calls: [`Error::UnknownKeyId`] if no AES key has the label, the module's
    /// error otherwise.
    ///
    /// ```no_run
    /// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
    ///
    /// let kms = Pkcs11Kms::builder()
    ///     .module("/usr/lib/softhsm/libsofthsm2.so")
    ///     .token(Token::Label("nacos".into()))
    ///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
    ///     .default_key_label("nacos-2026")
    ///     .build()?;
    /// let report = kms.check("")?; // the default label
    /// assert_eq!((report.token_label.as_str(), report.key_label.as_str()), ("nacos", "nacos-2026"));
    /// let missing = kms.check("no-such-key").unwrap_err();
    /// assert_eq!(missing.kind(), nacoscrypt_core::ErrorKind::UnknownKey);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn check(&self, key_label: &str) -> Result<CheckReport> {
        let label = self.label(key_label)?.to_owned();
        let probe = b"nacoscrypt kms check";
        let mut ctx = Context::new();
        ctx.insert("check", "nacoscrypt");
        let blob = self.encrypt(&label, probe, &ctx)?;
        if self.decrypt(&blob, &ctx)?.as_bytes() != probe {
            return Err(Error::kms(
                "PKCS#11: the token did not decrypt what it encrypted",
            ));
        }
        let module = self.inner.pool.module();
        let info = module
            .get_library_info()
            .map_err(|e| crate::error::module_error("C_GetInfo", &e))?;
        let slot = self.inner.pool.slot()?;
        let token = module
            .get_token_info(slot)
            .map_err(|e| crate::error::module_error("C_GetTokenInfo", &e))?;
        Ok(CheckReport {
            library: format!(
                "{} {}",
                info.manufacturer_id().trim_end(),
                info.library_description().trim_end()
            ),
            token_label: token.label().trim_end().to_owned(),
            token_serial: token.serial_number().trim_end().to_owned(),
            slot: slot.id(),
            key_label: label,
            stats: self.stats(),
        })
    }

    fn label<'a>(&'a self, key_id: &'a str) -> Result<&'a str> {
        let label = if key_id.is_empty() {
            self.inner.default_label.as_deref().unwrap_or("")
        } else {
            key_id
        };
        blob::check_label(label)?;
        Ok(label)
    }

    /// The handle of the AES key labelled `label`, from the cache or the token.
    fn key(&self, session: &Session, label: &str, refresh: bool) -> Result<ObjectHandle, Failure> {
        if !refresh && let Some(h) = lock(&self.inner.keys).get(label) {
            return Ok(*h);
        }
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let found = session
            .find_objects(&template)
            .map_err(|e| Failure::Module("C_FindObjects", e))?;
        match found.as_slice() {
            [] => {
                lock(&self.inner.keys).remove(label);
                Err(Failure::Core(Error::UnknownKeyId))
            }
            [h] => {
                lock(&self.inner.keys).insert(label.to_owned(), *h);
                Ok(*h)
            }
            more => Err(Failure::Core(Error::kms(format!(
                "PKCS#11: {} AES keys are labelled {label:?}; a label must name one key (rotate \
                 to a new label instead of reusing one)",
                more.len()
            )))),
        }
    }

    /// Runs `f` with the key `label` on a pooled session; a stale key handle is looked up again.
    fn with_key<T>(
        &self,
        label: &str,
        mut f: impl FnMut(&Session, ObjectHandle) -> Result<T, Failure>,
    ) -> Result<T> {
        self.inner.pool.run(|session| {
            let key = self.key(session, label, false)?;
            match f(session, key) {
                Err(e) if e.stale_key() => {
                    let key = self.key(session, label, true)?;
                    f(session, key)
                }
                other => other,
            }
        })
    }

    fn seal(&self, label: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
        let aad = blob::aad(label, context);
        let mut iv = [0u8; IV_LEN];
        getrandom::fill(&mut iv).map_err(|_| Error::Random)?;
        let sealed = self.with_key(label, |session, key| {
            let mut iv = iv;
            let params = GcmParams::new(&mut iv, &aad, TAG_BITS.into())
                .map_err(|e| Failure::Module("C_EncryptInit", e))?;
            session
                .encrypt(&Mechanism::AesGcm(params), key, plaintext)
                .map_err(|e| Failure::Module("C_Encrypt", e))
        })?;
        if sealed.len() != plaintext.len() + blob::TAG_LEN {
            return Err(Error::kms(format!(
                "PKCS#11: CKM_AES_GCM returned {} bytes for {} (expected a 16-byte tag)",
                sealed.len(),
                plaintext.len()
            )));
        }
        blob::encode(label, &iv, &sealed)
    }
}

impl Kms for Pkcs11Kms {
    /// A data key from the operating system's RNG, encrypted under the key labelled `key_id`.
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        let label = self.label(key_id)?;
        let mut bytes = vec![0u8; spec.key_len()];
        let filled = getrandom::fill(&mut bytes);
        let key = SecretBytes::from(bytes);
        filled.map_err(|_| Error::Random)?;
        let ciphertext_blob = self.seal(label, key.as_bytes(), context)?;
        Ok(GeneratedDataKey {
            plaintext: key,
            ciphertext_blob,
        })
    }

    fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
        let label = self.label(key_id)?;
        self.seal(label, plaintext, context)
    }

    fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        let raw = blob::decode(ciphertext_blob)?;
        let parts = blob::parse(&raw)?;
        let aad = blob::aad(parts.label, context);
        let plain = self.with_key(parts.label, |session, key| {
            let mut iv = parts.iv;
            let params = GcmParams::new(&mut iv, &aad, TAG_BITS.into())
                .map_err(|e| Failure::Module("C_DecryptInit", e))?;
            match session.decrypt(&Mechanism::AesGcm(params), key, parts.sealed) {
                Ok(p) => Ok(SecretBytes::from(p)),
                Err(e) => {
                    let failure = Failure::Module("C_Decrypt", e);
                    // The standard's answer to a wrong tag is CKR_ENCRYPTED_DATA_INVALID; SoftHSM2
                    // answers CKR_GENERAL_ERROR, other modules CKR_FUNCTION_FAILED. The pool
                    // checks that the token is still there before the caller sees this.
                    if matches!(
                        failure.rv(),
                        Some(
                            RvError::EncryptedDataInvalid
                                | RvError::EncryptedDataLenRange
                                | RvError::GeneralError
                                | RvError::FunctionFailed
                        )
                    ) {
                        Err(Failure::Core(Error::AuthenticationFailed))
                    } else {
                        Err(failure)
                    }
                }
            }
        })?;
        Ok(plain)
    }
}
