//! # nacoscrypt-kms-common
//!
//! The plumbing every key-service crate of libnacoscrypt shares (SPEC 5.3), independent of any
//! one service: the Alibaba Cloud crate (`nacoscrypt-kms-aliyun`) and the AWS one
//! (`nacoscrypt-kms-aws`) build on it and re-export its public settings.
//!
//! - [`http`]: blocking HTTP/1.1 with keep-alive by `ureq` over rustls on AWS-LC, timeouts and a
//!   bound on every response body; `https://` only, public roots or a given CA.
//! - [`retry`]: attempts bounded in count and in time, exponential backoff with full jitter; each
//!   service names the error codes it retries.
//! - [`cache`]: the decrypt-side data-key cache (off, fallback, first), its counters.
//! - [`time`]: UTC timestamps (ISO 8601, HTTP dates, SigV4's basic form) without a date crate.
//!
//! # Example
//! ```
//! use nacoscrypt_kms_common::{CacheSettings, HttpSettings, RetryPolicy};
//!
//! let http = HttpSettings::default();
//! assert_eq!(http.max_response_bytes, 1 << 20);
//! assert_eq!(RetryPolicy::default().max_attempts, 4);
//! assert_eq!(CacheSettings::fallback().max_entries, 1000);
//! ```

pub mod cache;
pub mod http;
pub mod retry;
pub mod time;

pub use cache::{CacheMode, CacheSettings, Stats};
pub use http::{HttpSettings, Trust};
pub use retry::RetryPolicy;
