//! # nacoscrypt-kms-aliyun
//!
//! Alibaba Cloud KMS behind libnacoscrypt's [`Kms`](nacoscrypt_core::kms::Kms) trait: the key
//! service that the `cipher-kms-aes-*` and `cipher-` configs of real MSE / Nacos deployments are
//! encrypted with (SPEC 5.1).
//!
//! - [`AliyunKms`]: the KMS OpenAPI (`GenerateDataKey`, `Encrypt`, `Decrypt`, version
//!   2016-01-20), signed with V3 `ACS3-HMAC-SHA256` (default) or RPC V2 `HMAC-SHA1`; data keys
//!   travel as base64 text and are decoded here, so configs written by the Java, Go and Python
//!   SDKs decrypt, and ours decrypt in theirs.
//! - [`Provider`]: the credentials users deploy (access key, STS token, environment, ECS RAM
//!   role, RAM role ARN, OIDC role, the two profile files, a credentials URI) and the official
//!   default chain; temporary credentials refreshed before they expire.
//! - Retries with exponential backoff and full jitter, bounded in count and time
//!   ([`RetryPolicy`]); a decrypt-side data-key cache ([`CacheSettings`], off by default).
//! - [`config`]: configuration from the property names Nacos users already write (Java /
//!   Spring, Go).
//!
//! # Transport
//! Blocking HTTP/1.1 with keep-alive by `ureq` (small, maintained, no async runtime) over
//! rustls with the AWS-LC provider that the core already builds for AES-GCM: one crypto library
//! in the binary. Server certificates are checked against the Mozilla roots compiled in, or
//! only against a configured CA (a KMS instance's); there is no insecure mode, and `http://`
//! endpoints are refused. Responses are read up to a bound (1 MiB by default).
//!
//! # Example
//! ```no_run
//! use nacoscrypt_core::config::{self, ConfigId};
//! use nacoscrypt_kms_aliyun::{AliyunKms, Endpoint, Provider};
//!
//! let kms = AliyunKms::builder()
//!     .endpoint(Endpoint::Region("cn-hangzhou".into()))
//!     .credentials(Provider::ecs_ram_role(Some("nacos-reader".into())))
//!     .build()?;
//! let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
//! # let (content, encrypted_data_key) = ("", "");
//! let plain = config::decrypt(&kms, &id, content, encrypted_data_key)?;
//! # Ok::<(), nacoscrypt_core::Error>(())
//! ```

/// The builder setters both Alibaba Cloud clients share, for builders with the fields `retry`,
/// `cache` and `default_key_id`; `$default_key` names the default key id in the docs.
macro_rules! shared_setters {
    ($default_key:literal) => {
        /// Retries (default [`RetryPolicy::default`]).
        #[must_use]
        pub fn retry(mut self, retry: RetryPolicy) -> Self {
            self.retry = retry;
            self
        }

        /// The decrypt-side data-key cache (default off).
        #[must_use]
        pub fn cache(mut self, cache: CacheSettings) -> Self {
            self.cache = cache;
            self
        }

        #[doc = concat!("The key used when a caller passes an empty key id (default ", $default_key, ").")]
        #[must_use]
        pub fn default_key_id(mut self, key_id: impl Into<String>) -> Self {
            self.default_key_id = key_id.into();
            self
        }
    };
}

pub mod config;
pub mod credentials;
mod instance;
mod openapi;
mod proto;
pub mod sign;

// The service-independent plumbing lives in `nacoscrypt-kms-common` (shared with the other
// key-service crates); these paths stay as they were.
use nacoscrypt_kms_common::{cache, http, time};

/// Retries of this crate's calls (`nacoscrypt-kms-common`'s, with Alibaba Cloud's retryable
/// codes).
mod retry {
    pub(crate) use nacoscrypt_kms_common::retry::{RetryPolicy, Stop, run};

    /// The codes Alibaba Cloud asks to retry: `Rejected.Throttling` (429),
    /// `ServiceUnavailableTemporary` (503), `InternalFailure` (500).
    pub(crate) const RETRYABLE: &[&str] = &[
        "Rejected.Throttling",
        "ServiceUnavailableTemporary",
        "InternalFailure",
    ];
}

/// The `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("nacoscrypt-kms-aliyun/", env!("CARGO_PKG_VERSION"));

pub use credentials::{Credential, Provider};
pub use instance::{AliyunInstanceKms, AliyunInstanceKmsBuilder, ClientKey};
pub use nacoscrypt_kms_common::HttpSettings;
pub use nacoscrypt_kms_common::RetryPolicy;
pub use nacoscrypt_kms_common::{CacheMode, CacheSettings, Stats};
pub use openapi::{
    API_VERSION, AliyunKms, AliyunKmsBuilder, CheckReport, DEFAULT_KEY_ID, Endpoint, Signature,
};

/// Entry points for the fuzz targets (`fuzz/`): the parsers of untrusted input, as the client
/// runs them. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Interprets a KMS answer of `status` and `body` as `Decrypt` does, down to the data key.
    pub fn kms_answer(status: u16, body: &[u8]) {
        if let Ok(crate::openapi::Answer::Ok(v)) =
            crate::openapi::interpret("Decrypt", status, body)
            && let Ok(text) = crate::openapi::field(&v, "Plaintext", "Decrypt")
        {
            let _ = crate::openapi::decode_key(&text);
        }
    }

    /// Reads an answer of the instance API (protobuf) as its actions do.
    pub fn instance_answer(body: &[u8]) {
        crate::instance::fuzzing::answer(body);
    }

    /// Reads a ClientKey JSON text with a password.
    pub fn client_key(json: &str) {
        let _ = crate::ClientKey::from_json(
            json,
            &nacoscrypt_core::SecretString::from("fuzz".to_owned()),
        );
    }

    /// Reads credentials as STS, the ECS metadata service and a credentials URI answer them.
    pub fn credentials_answer(body: &[u8]) {
        let _ = crate::credentials::credential_json(body, "fuzz", true);
        let _ = crate::credentials::credential_json(body, "fuzz", false);
    }

    /// Reads `text` as an INI credentials file, an `aliyun` CLI config.json and a properties
    /// text of Nacos KMS settings.
    pub fn settings_text(text: &str) {
        let _ = crate::credentials::profile_text(text, Some("default"), "fuzz");
        let _ = crate::credentials::cli_profile_text(text, None, "fuzz");
        if let Ok(c) = crate::config::AliyunConfig::from_properties(text) {
            let _ = c.provider();
            let _ = c.into_builder();
        }
    }
}
