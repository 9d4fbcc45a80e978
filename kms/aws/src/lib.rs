//! # nacoscrypt-kms-aws
//!
//! AWS KMS behind libnacoscrypt's [`Kms`](nacoscrypt_core::kms::Kms) trait (issue 19), for
//! self-hosted Nacos clusters on AWS.
//!
//! - [`AwsKms`]: `GenerateDataKey`, `Encrypt`, `Decrypt` over the JSON 1.1 protocol
//!   (`X-Amz-Target: TrentService.*`, `application/x-amz-json-1.1`), the v1 context carried
//!   natively as the `EncryptionContext`; blobs are the base64 of AWS's `CiphertextBlob`, so data
//!   keys wrapped by boto3 or any AWS SDK unwrap here and back.
//! - [`sigv4`]: a small Signature Version 4 signer (HMAC-SHA256), checked against botocore's
//!   `SigV4Auth` on the same inputs.
//! - [`credentials`]: the standard AWS chain (environment, shared files with profiles, web
//!   identity through STS, container endpoint, instance metadata with IMDSv2), temporary
//!   credentials refreshed before they expire.
//! - Retries of `ThrottlingException`, `KMSInternalException`, 5xx and network failures,
//!   bounded in count and time ([`RetryPolicy`]); a decrypt-side data-key cache
//!   ([`CacheSettings`], off by default). Transport, retries and cache are
//!   `nacoscrypt-kms-common`'s, shared with the Alibaba Cloud crate.
//!
//! `https://` only for KMS and STS (a CA option for private endpoints and tests); the metadata
//! endpoints are plain http on their link-local or loopback addresses, as AWS serves them.
//!
//! # Example
//! ```no_run
//! use nacoscrypt_core::config::{self, ConfigId, Format};
//! use nacoscrypt_kms_aws::AwsKms;
//!
//! let kms = AwsKms::builder()
//!     .region("eu-west-1")
//!     .default_key_id("alias/nacos")
//!     .build()?;
//! let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
//! let stored = config::encrypt(&kms, &id, "password=s3cret", "", Format::V1)?;
//! let plain = config::decrypt(&kms, &id, &stored.content, &stored.encrypted_data_key)?;
//! # Ok::<(), nacoscrypt_core::Error>(())
//! ```

mod client;
pub mod credentials;
pub mod sigv4;

pub use client::{AwsKms, AwsKmsBuilder, CheckReport, MAX_ENCRYPT_PLAINTEXT, RETRYABLE_CODES};
pub use credentials::{Credential, Env, Provider};
pub use nacoscrypt_kms_common::{CacheMode, CacheSettings, HttpSettings, RetryPolicy, Stats};

/// Entry points for the fuzz targets (`fuzz/`): the parsers of untrusted input, as the client
/// runs them. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Interprets a KMS answer of `status` and `body` as `Decrypt` does, down to the key.
    pub fn kms_answer(status: u16, body: &[u8]) {
        if let Ok(crate::client::Answer::Ok(v)) =
            crate::client::interpret("Decrypt", status, body, None)
        {
            let _ = crate::client::b64_field(&v, "Plaintext", "Decrypt");
        }
    }

    /// Reads credentials as STS (XML) and the container / instance metadata (JSON) answer them,
    /// and `text` as an AWS shared file.
    pub fn credentials_answer(status: u16, body: &[u8]) {
        let _ = crate::credentials::sts_answer(status, body, "fuzz");
        let _ = crate::credentials::metadata_json(body, "fuzz");
        let _ = crate::credentials::ini(&String::from_utf8_lossy(body));
    }
}
