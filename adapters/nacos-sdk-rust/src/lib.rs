//! nacoscrypt inside the Rust Nacos client: a [`ConfigFilter`] for [`nacos-sdk`](nacos_sdk).
//!
//! The `nacos-sdk` crate runs every published config ([`ConfigReq`]) and every received one
//! ([`ConfigResp`]: `get_config` and config listeners) through its config filters. Its own
//! encryption filter, `ConfigEncryptionFilter`, drives `EncryptionPlugin`s that cannot fail and
//! that the crate does not implement for any key service. [`NacosCryptFilter`] does the job with
//! any [`nacoscrypt_core` KMS](Kms) (the local [`Keyring`](nacoscrypt_core::kms::Keyring),
//! Alibaba Cloud KMS from `nacoscrypt-kms-aliyun`, AWS KMS, PKCS#11, or your own `impl Kms`),
//! and writes what every Nacos client (Java, Go, Python) reads.
//!
//! One line installs it, on the builder of the config service:
//!
//! ```no_run
//! use nacos_sdk::api::config::ConfigServiceBuilder;
//! use nacos_sdk::api::props::ClientProps;
//! use nacoscrypt_core::kms::Keyring;
//! use nacoscrypt_nacos_sdk::NacosCryptFilter;
//!
//! # async fn run(keyring: Keyring) -> nacos_sdk::api::error::Result<()> {
//! let config_service = ConfigServiceBuilder::new(ClientProps::new().server_addr("127.0.0.1:8848"))
//!     .add_config_filter(Box::new(NacosCryptFilter::new(keyring)))
//!     .build()
//!     .await?;
//! // Encrypted on the way out (content and encryptedDataKey), plaintext on the way back.
//! config_service
//!     .publish_config("cipher-kms-aes-256-db.properties".into(), "DEFAULT_GROUP".into(),
//!                     "password=secret".into(), None)
//!     .await?;
//! let config = config_service
//!     .get_config("cipher-kms-aes-256-db.properties".into(), "DEFAULT_GROUP".into())
//!     .await?;
//! assert_eq!(config.content(), "password=secret");
//! # Ok(()) }
//! ```
//!
//! # What it does
//!
//! - A data ID starting with `cipher-` and non-blank content is encrypted on publish and decrypted
//!   on receive; the scheme comes from the prefix (SPEC 2.1): `cipher-kms-aes-256-` and
//!   `cipher-kms-aes-128-` (envelope: a data key from the KMS, stored as `encryptedDataKey`) and
//!   `cipher-` (direct: the KMS encrypts the content itself). Every other data ID, and blank
//!   content, passes through unchanged, as in the Java SDK and as the SDK's own filter does.
//! - The master key is the filter's [`key_id`](NacosCryptFilter::with_key_id) (default
//!   [`DEFAULT_KEY_ID`], `alias/acs/mse`, as in the Nacos SDKs): `ConfigReq` carries no key id.
//! - Writes the [`Format::Nacos`] format (what every Nacos client reads) unless
//!   [`with_format`](NacosCryptFilter::with_format) picks [`Format::V1`] (AES-GCM bound to data ID,
//!   group, namespace and the wrapped data key; only nacoscrypt reads it). Reading detects it.
//!   The namespace bound into `v1` is the request's own (`ConfigReq::namespace`; empty means
//!   `public`).
//! - The KMS runs on tokio's blocking pool (`spawn_blocking`), so a KMS round trip never stalls
//!   the SDK's runtime, which has one worker thread by default.
//! - The plaintext the SDK handed over on publish is wiped once encrypted. The SDK caches (in
//!   memory and in its disk cache) what the server sent, before the filters run: ciphertext.
//!
//! # Errors
//!
//! The SDK gives a filter no way to fail: [`ConfigFilter::filter`] returns `()`, the SDK's own
//! `ConfigEncryptionFilter` stores whatever its infallible `EncryptionPlugin` returns, and its
//! only failure path is a panic (`parse_algorithm_name`'s `expect`). A panic in a filter on the
//! receive side also stops the SDK's background task that notifies every listener. So by default
//! ([`OnError::Clear`]) a failure:
//!
//! - on **publish** empties `content` and `encryptedDataKey`: the plaintext never leaves the
//!   process, and the Nacos server refuses a blank config (its publish handler's
//!   `ParamUtils.checkParam`: "content is blank"), so `publish_config` returns `Err` and nothing
//!   is stored;
//! - on **receive** empties `content`: `get_config` and listeners get `""`, never ciphertext taken
//!   for configuration;
//! - is logged with `tracing::error!` (target `nacoscrypt_nacos_sdk`) and handed to the
//!   [error hook](NacosCryptFilter::with_error_hook) if one is set. Messages name what went wrong
//!   and never contain key material or plaintext.
//!
//! [`OnError::Panic`] panics instead, as the SDK's own filter does on a malformed data ID.
//!
//! # The filter chain
//!
//! The SDK runs its filters in the order they were added, in both directions (it does not reverse
//! them for responses). A filter added before this one sees plaintext on publish and ciphertext
//! on receive; one added after it sees ciphertext on publish and plaintext on receive. Do not
//! also install the SDK's `with_encryption_plugins` for the same data IDs: configs would be
//! encrypted twice.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
pub use nacos_sdk::api::plugin::{ConfigFilter, ConfigReq, ConfigResp};
pub use nacoscrypt_core::config::Format;
use nacoscrypt_core::config::{self, ConfigId, EncryptedConfig, Limits};
pub use nacoscrypt_core::kms::Kms;
use nacoscrypt_core::{Error, SecretString};

/// The master key used when none is configured: `alias/acs/mse`, as in the Nacos SDKs (SPEC 5.1).
///
/// ```
/// assert_eq!(nacoscrypt_nacos_sdk::DEFAULT_KEY_ID, "alias/acs/mse");
/// ```
pub const DEFAULT_KEY_ID: &str = "alias/acs/mse";

/// The data ID prefix of every encrypted config (SPEC 2.1), the SDK's `DEFAULT_CIPHER_PREFIX`.
///
/// ```
/// assert!("cipher-kms-aes-128-app.yaml".starts_with(nacoscrypt_nacos_sdk::CIPHER_PREFIX));
/// ```
pub const CIPHER_PREFIX: &str = "cipher-";

/// The group the SDK and the server use when a config names none.
const DEFAULT_GROUP: &str = "DEFAULT_GROUP";

/// What [`NacosCryptFilter`] does when encryption or decryption fails (see the
/// [crate docs](crate#errors)).
///
/// ```
/// use nacoscrypt_nacos_sdk::OnError;
/// assert_eq!(OnError::default(), OnError::Clear);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnError {
    /// Empty the content (and, on publish, the `encryptedDataKey`): the server refuses the
    /// publish, a reader gets `""`. The failure is logged and handed to the error hook.
    #[default]
    Clear,
    /// Log, call the error hook, then panic with the error's message (no secrets in it). A panic
    /// while the SDK notifies a listener stops the SDK's notification task.
    Panic,
}

/// Which way a config was travelling when a [`FilterError`] happened.
///
/// ```
/// use nacoscrypt_nacos_sdk::Direction;
/// assert_eq!(Direction::Publish.to_string(), "publish");
/// assert_eq!(Direction::Receive.to_string(), "receive");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// A [`ConfigReq`]: `publish_config` and its variants; the filter encrypts.
    Publish,
    /// A [`ConfigResp`]: `get_config` and listeners; the filter decrypts.
    Receive,
}

impl Direction {
    /// `publish` or `receive`.
    ///
    /// ```
    /// assert_eq!(nacoscrypt_nacos_sdk::Direction::Publish.as_str(), "publish");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Receive => "receive",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of [`NacosCryptFilter`], as logged and handed to its error hook: which config, which
/// way, and the core's error (whose message never holds key material or plaintext).
///
/// ```
/// use nacoscrypt_core::ErrorKind;
/// use nacoscrypt_core::kms::Keyring;
/// use nacoscrypt_nacos_sdk::{ConfigResp, Direction, NacosCryptFilter};
///
/// let filter = NacosCryptFilter::new(Keyring::new());
/// let mut resp = ConfigResp::new("cipher-app.yaml".into(), "DEFAULT_GROUP".into(), "".into(),
///                                "not a blob".into(), "".into());
/// let err = filter.decrypt_resp(&mut resp).unwrap_err();
/// assert_eq!(err.direction, Direction::Receive);
/// assert_eq!(err.data_id, "cipher-app.yaml");
/// assert_eq!(err.error.kind(), ErrorKind::InvalidBase64);
/// assert!(err.to_string().starts_with("nacoscrypt could not decrypt cipher-app.yaml"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FilterError {
    /// Publish (encrypting) or receive (decrypting).
    pub direction: Direction,
    /// The config's data ID.
    pub data_id: String,
    /// The config's group.
    pub group: String,
    /// The config's namespace (`""` is `public`).
    pub namespace: String,
    /// What went wrong.
    pub error: Error,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.direction {
            Direction::Publish => "encrypt",
            Direction::Receive => "decrypt",
        };
        write!(
            f,
            "nacoscrypt could not {verb} {} (group {}, namespace {:?}): {}",
            self.data_id, self.group, self.namespace, self.error
        )
    }
}

impl std::error::Error for FilterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

type ErrorHook = Arc<dyn Fn(&FilterError) + Send + Sync>;

/// A `nacos-sdk` [`ConfigFilter`] that encrypts `cipher-` configs on publish and decrypts them on
/// receive with any nacoscrypt [`Kms`]. See the [crate docs](crate) for its behaviour.
///
/// Cheap to clone: the KMS and the hook are shared.
///
/// ```
/// use nacoscrypt_core::kms::Keyring;
/// use nacoscrypt_nacos_sdk::{Format, NacosCryptFilter, OnError};
///
/// let mut keyring = Keyring::new();
/// keyring.add_new_key("alias/nacos")?;
/// let filter = NacosCryptFilter::new(keyring)
///     .with_key_id("alias/nacos")
///     .with_format(Format::V1)
///     .with_on_error(OnError::Clear)
///     .with_error_hook(|e| eprintln!("{e}"));
/// assert_eq!(filter.key_id(), "alias/nacos");
/// assert_eq!(filter.format(), Format::V1);
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone)]
pub struct NacosCryptFilter {
    kms: Arc<dyn Kms + Send + Sync>,
    key_id: Arc<str>,
    format: Format,
    limits: Limits,
    on_error: OnError,
    error_hook: Option<ErrorHook>,
    kms_inline: bool,
}

impl fmt::Debug for NacosCryptFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NacosCryptFilter")
            .field("key_id", &self.key_id)
            .field("format", &self.format)
            .field("limits", &self.limits)
            .field("on_error", &self.on_error)
            .field("error_hook", &self.error_hook.is_some())
            .field("kms_inline", &self.kms_inline)
            .finish_non_exhaustive()
    }
}

impl NacosCryptFilter {
    /// A filter over `kms` with the master key [`DEFAULT_KEY_ID`], the [`Format::Nacos`] format,
    /// the default [`Limits`] and [`OnError::Clear`].
    ///
    /// ```
    /// use nacoscrypt_core::kms::Keyring;
    /// use nacoscrypt_nacos_sdk::{Format, NacosCryptFilter, DEFAULT_KEY_ID};
    ///
    /// let filter = NacosCryptFilter::new(Keyring::new());
    /// assert_eq!((filter.key_id(), filter.format()), (DEFAULT_KEY_ID, Format::Nacos));
    /// ```
    pub fn new<K: Kms + Send + Sync + 'static>(kms: K) -> Self {
        Self::from_arc(Arc::new(kms))
    }

    /// A filter over a KMS that is shared with the rest of the program.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use nacoscrypt_core::kms::{Keyring, Kms};
    /// use nacoscrypt_nacos_sdk::NacosCryptFilter;
    ///
    /// let kms: Arc<dyn Kms + Send + Sync> = Arc::new(Keyring::new());
    /// let filter = NacosCryptFilter::from_arc(Arc::clone(&kms));
    /// # let _ = filter;
    /// ```
    pub fn from_arc(kms: Arc<dyn Kms + Send + Sync>) -> Self {
        Self {
            kms,
            key_id: Arc::from(DEFAULT_KEY_ID),
            format: Format::Nacos,
            limits: Limits::NACOS,
            on_error: OnError::Clear,
            error_hook: None,
            kms_inline: false,
        }
    }

    /// The master key that encrypts published configs.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// # use nacoscrypt_nacos_sdk::NacosCryptFilter;
    /// let filter = NacosCryptFilter::new(Keyring::new()).with_key_id("alias/nacos");
    /// assert_eq!(filter.key_id(), "alias/nacos");
    /// ```
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Arc::from(key_id.into());
        self
    }

    /// The stored format of published configs; received ones are read in either.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// use nacoscrypt_nacos_sdk::{Format, NacosCryptFilter};
    /// let filter = NacosCryptFilter::new(Keyring::new()).with_format("v1".parse()?);
    /// assert_eq!(filter.format(), Format::V1);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The limits received configs are checked against (raise them for a cluster configured
    /// with larger configs). Published configs are held to [`Limits::NACOS`], the limits every
    /// Nacos client reads.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// use nacoscrypt_core::config::Limits;
    /// use nacoscrypt_nacos_sdk::NacosCryptFilter;
    /// let limits = Limits { envelope: 100 * 1024, ..Limits::NACOS };
    /// let filter = NacosCryptFilter::new(Keyring::new()).with_limits(limits);
    /// assert_eq!(filter.limits().envelope, 102_400);
    /// ```
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// What a failure does to the config: see [`OnError`] and the [crate docs](crate#errors).
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// use nacoscrypt_nacos_sdk::{NacosCryptFilter, OnError};
    /// let filter = NacosCryptFilter::new(Keyring::new()).with_on_error(OnError::Panic);
    /// assert_eq!(filter.on_error(), OnError::Panic);
    /// ```
    #[must_use]
    pub fn with_on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// Called with every failure, after it is logged and before [`OnError`] applies: count it,
    /// alert, or keep the last one for a health check.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// # use nacoscrypt_core::kms::Keyring;
    /// use nacoscrypt_nacos_sdk::NacosCryptFilter;
    ///
    /// let last = Arc::new(Mutex::new(None));
    /// let sink = Arc::clone(&last);
    /// let filter = NacosCryptFilter::new(Keyring::new())
    ///     .with_error_hook(move |e| *sink.lock().unwrap() = Some(e.clone()));
    /// # let _ = filter;
    /// ```
    #[must_use]
    pub fn with_error_hook(mut self, hook: impl Fn(&FilterError) + Send + Sync + 'static) -> Self {
        self.error_hook = Some(Arc::new(hook));
        self
    }

    /// Call the KMS on the task that runs the filter instead of tokio's blocking pool. Only for
    /// a KMS that never blocks (the local keyring) or outside a tokio runtime; the filter runs
    /// inline anyway when there is no runtime.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// # use nacoscrypt_nacos_sdk::NacosCryptFilter;
    /// let filter = NacosCryptFilter::new(Keyring::new()).with_kms_inline(true);
    /// # let _ = filter;
    /// ```
    #[must_use]
    pub fn with_kms_inline(mut self, inline: bool) -> Self {
        self.kms_inline = inline;
        self
    }

    /// The master key for published configs.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// # use nacoscrypt_nacos_sdk::NacosCryptFilter;
    /// assert_eq!(NacosCryptFilter::new(Keyring::new()).key_id(), "alias/acs/mse");
    /// ```
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The format of published configs.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// # use nacoscrypt_nacos_sdk::{Format, NacosCryptFilter};
    /// assert_eq!(NacosCryptFilter::new(Keyring::new()).format(), Format::Nacos);
    /// ```
    pub fn format(&self) -> Format {
        self.format
    }

    /// The limits of received configs.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// # use nacoscrypt_nacos_sdk::NacosCryptFilter;
    /// use nacoscrypt_core::config::Limits;
    /// assert_eq!(NacosCryptFilter::new(Keyring::new()).limits(), Limits::NACOS);
    /// ```
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// What a failure does.
    ///
    /// ```
    /// # use nacoscrypt_core::kms::Keyring;
    /// # use nacoscrypt_nacos_sdk::{NacosCryptFilter, OnError};
    /// assert_eq!(NacosCryptFilter::new(Keyring::new()).on_error(), OnError::Clear);
    /// ```
    pub fn on_error(&self) -> OnError {
        self.on_error
    }

    /// Whether the filter would touch a config: a `cipher-` data ID with non-blank content.
    ///
    /// ```
    /// use nacoscrypt_nacos_sdk::NacosCryptFilter;
    /// assert!(NacosCryptFilter::applies("cipher-kms-aes-256-db.properties", "a=b"));
    /// assert!(!NacosCryptFilter::applies("db.properties", "a=b"));
    /// assert!(!NacosCryptFilter::applies("cipher-db.properties", " \n"));
    /// ```
    pub fn applies(data_id: &str, content: &str) -> bool {
        data_id.starts_with(CIPHER_PREFIX) && !content.trim().is_empty()
    }

    /// Encrypts a publish request in place, on the calling thread, and tells whether it did
    /// (`false`: not a `cipher-` data ID, or blank content; `req` is unchanged). On `Err`, `req`
    /// is unchanged too: the error is returned, not logged, and [`OnError`] does not apply.
    /// [`ConfigFilter::filter`] calls the same code.
    ///
    /// ```
    /// use nacoscrypt_core::kms::Keyring;
    /// use nacoscrypt_nacos_sdk::{ConfigReq, NacosCryptFilter};
    ///
    /// let mut keyring = Keyring::new();
    /// keyring.add_new_key("alias/acs/mse")?;
    /// let filter = NacosCryptFilter::new(keyring);
    /// let mut req = ConfigReq::new("cipher-kms-aes-128-app.yaml".into(), "DEFAULT_GROUP".into(),
    ///                              "".into(), "token: abc".into(), "".into());
    /// assert!(filter.encrypt_req(&mut req).unwrap());
    /// assert_ne!(req.content, "token: abc");
    /// assert!(!req.encrypted_data_key.is_empty());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn encrypt_req(&self, req: &mut ConfigReq) -> Result<bool, Box<FilterError>> {
        if !Self::applies(&req.data_id, &req.content) {
            return Ok(false);
        }
        let encrypted = encrypt_parts(
            &*self.kms,
            &self.key_id,
            self.format,
            &req.data_id,
            &req.group,
            &req.namespace,
            &req.content,
        )
        .map_err(|error| {
            failure(
                Direction::Publish,
                &req.data_id,
                &req.group,
                &req.namespace,
                error,
            )
        })?;
        set_encrypted(req, encrypted);
        Ok(true)
    }

    /// Decrypts a received config in place, on the calling thread, and tells whether it did
    /// (`false`: not a `cipher-` data ID, or blank content; `resp` is unchanged). On `Err`,
    /// `resp` is unchanged: the error is returned, not logged, and [`OnError`] does not apply.
    ///
    /// ```
    /// use nacoscrypt_core::kms::Keyring;
    /// use nacoscrypt_nacos_sdk::{ConfigReq, ConfigResp, NacosCryptFilter};
    ///
    /// let mut keyring = Keyring::new();
    /// keyring.add_new_key("alias/acs/mse")?;
    /// let filter = NacosCryptFilter::new(keyring);
    /// let mut req = ConfigReq::new("cipher-app.yaml".into(), "DEFAULT_GROUP".into(), "".into(),
    ///                              "token: abc".into(), "".into());
    /// filter.encrypt_req(&mut req).unwrap();
    /// let mut resp = ConfigResp::new(req.data_id, req.group, req.namespace, req.content,
    ///                                req.encrypted_data_key);
    /// assert!(filter.decrypt_resp(&mut resp).unwrap());
    /// assert_eq!(resp.content, "token: abc");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn decrypt_resp(&self, resp: &mut ConfigResp) -> Result<bool, Box<FilterError>> {
        if !Self::applies(&resp.data_id, &resp.content) {
            return Ok(false);
        }
        let plaintext = decrypt_parts(
            &*self.kms,
            &self.limits,
            &resp.data_id,
            &resp.group,
            &resp.namespace,
            &resp.content,
            &resp.encrypted_data_key,
        )
        .map_err(|error| {
            failure(
                Direction::Receive,
                &resp.data_id,
                &resp.group,
                &resp.namespace,
                error,
            )
        })?;
        resp.content = plaintext.as_str().to_owned();
        Ok(true)
    }

    async fn filter_req(&self, req: &mut ConfigReq) {
        if !Self::applies(&req.data_id, &req.content) {
            return;
        }
        let result = self
            .run_kms({
                let (data_id, group, namespace) = (
                    req.data_id.clone(),
                    req.group.clone(),
                    req.namespace.clone(),
                );
                // The only copy of the plaintext: moved out, wiped once encrypted (or not).
                let plaintext = SecretString::from(std::mem::take(&mut req.content));
                move |filter: &Self| {
                    encrypt_parts(
                        &*filter.kms,
                        &filter.key_id,
                        filter.format,
                        &data_id,
                        &group,
                        &namespace,
                        plaintext.as_str(),
                    )
                }
            })
            .await;
        match result {
            Ok(encrypted) => set_encrypted(req, encrypted),
            Err(error) => {
                req.content.clear();
                req.encrypted_data_key.clear();
                self.fail(failure(
                    Direction::Publish,
                    &req.data_id,
                    &req.group,
                    &req.namespace,
                    error,
                ));
            }
        }
    }

    async fn filter_resp(&self, resp: &mut ConfigResp) {
        if !Self::applies(&resp.data_id, &resp.content) {
            return;
        }
        let result = self
            .run_kms({
                let (data_id, group, namespace, content, encrypted_data_key) = (
                    resp.data_id.clone(),
                    resp.group.clone(),
                    resp.namespace.clone(),
                    resp.content.clone(),
                    resp.encrypted_data_key.clone(),
                );
                move |filter: &Self| {
                    decrypt_parts(
                        &*filter.kms,
                        &filter.limits,
                        &data_id,
                        &group,
                        &namespace,
                        &content,
                        &encrypted_data_key,
                    )
                }
            })
            .await;
        match result {
            Ok(plaintext) => resp.content = plaintext.as_str().to_owned(),
            Err(error) => {
                resp.content.clear();
                self.fail(failure(
                    Direction::Receive,
                    &resp.data_id,
                    &resp.group,
                    &resp.namespace,
                    error,
                ));
            }
        }
    }

    /// Runs `job` on tokio's blocking pool (or inline: no runtime, or asked for).
    async fn run_kms<T, F>(&self, job: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Self) -> Result<T, Error> + Send + 'static,
    {
        let handle = match tokio::runtime::Handle::try_current() {
            Ok(handle) if !self.kms_inline => handle,
            _ => return job(self),
        };
        let filter = self.clone();
        match handle.spawn_blocking(move || job(&filter)).await {
            Ok(result) => result,
            Err(join) if join.is_panic() => Err(Error::kms("the KMS panicked")),
            Err(_) => Err(Error::kms("the KMS call was cancelled")),
        }
    }

    #[allow(clippy::panic)] // asked for: OnError::Panic
    fn fail(&self, err: Box<FilterError>) {
        tracing::error!(
            target: "nacoscrypt_nacos_sdk",
            direction = err.direction.as_str(),
            data_id = %err.data_id,
            group = %err.group,
            namespace = %err.namespace,
            kind = err.error.kind().name(),
            "{err}"
        );
        if let Some(hook) = &self.error_hook {
            hook(&err);
        }
        if self.on_error == OnError::Panic {
            panic!("{err}");
        }
    }
}

/// Encrypts on publish ([`ConfigReq`]) and decrypts on receive ([`ConfigResp`]); see the
/// [crate docs](crate) for what passes through and what a failure does.
///
/// ```
/// use nacoscrypt_core::kms::Keyring;
/// use nacoscrypt_nacos_sdk::{ConfigFilter, ConfigReq, ConfigResp, NacosCryptFilter};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), nacoscrypt_core::Error> {
/// let mut keyring = Keyring::new();
/// keyring.add_new_key("alias/acs/mse")?;
/// let filter = NacosCryptFilter::new(keyring);
///
/// let mut req = ConfigReq::new("cipher-kms-aes-256-db.properties".into(), "DEFAULT_GROUP".into(),
///                              "".into(), "password=secret".into(), "".into());
/// filter.filter(Some(&mut req), None).await;
/// let mut resp = ConfigResp::new(req.data_id, req.group, req.namespace, req.content,
///                                req.encrypted_data_key);
/// filter.filter(None, Some(&mut resp)).await;
/// assert_eq!(resp.content, "password=secret");
/// # Ok(()) }
/// ```
#[async_trait]
impl ConfigFilter for NacosCryptFilter {
    async fn filter(
        &self,
        config_req: Option<&mut ConfigReq>,
        config_resp: Option<&mut ConfigResp>,
    ) {
        if let Some(req) = config_req {
            self.filter_req(req).await;
        }
        if let Some(resp) = config_resp {
            self.filter_resp(resp).await;
        }
    }
}

fn group_or_default(group: &str) -> &str {
    if group.is_empty() {
        DEFAULT_GROUP
    } else {
        group
    }
}

fn encrypt_parts(
    kms: &dyn Kms,
    key_id: &str,
    format: Format,
    data_id: &str,
    group: &str,
    namespace: &str,
    plaintext: &str,
) -> Result<EncryptedConfig, Error> {
    let id = ConfigId::new(data_id, group_or_default(group), namespace);
    config::encrypt(kms, &id, plaintext, key_id, format)
}

fn decrypt_parts(
    kms: &dyn Kms,
    limits: &Limits,
    data_id: &str,
    group: &str,
    namespace: &str,
    content: &str,
    encrypted_data_key: &str,
) -> Result<SecretString, Error> {
    let id = ConfigId::new(data_id, group_or_default(group), namespace);
    config::decrypt_with_limits(kms, &id, content, encrypted_data_key, limits)
}

fn set_encrypted(req: &mut ConfigReq, encrypted: EncryptedConfig) {
    let EncryptedConfig {
        content,
        encrypted_data_key,
    } = encrypted;
    let old = std::mem::replace(&mut req.content, content);
    drop(SecretString::from(old));
    req.encrypted_data_key = encrypted_data_key;
}

fn failure(
    direction: Direction,
    data_id: &str,
    group: &str,
    namespace: &str,
    error: Error,
) -> Box<FilterError> {
    Box::new(FilterError {
        direction,
        data_id: data_id.to_owned(),
        group: group.to_owned(),
        namespace: namespace.to_owned(),
        error,
    })
}
