//! Retries shared by every key-service call: bounded in attempts and in total time, exponential
//! backoff with full jitter. Each service names the error codes it retries
//! ([`Stop::service`]).
//!
//! ```
//! use nacoscrypt_core::KmsServiceError;
//! use nacoscrypt_kms_common::cache::Counters;
//! use nacoscrypt_kms_common::retry::{self, RetryPolicy, Stop};
//! use std::time::Duration;
//!
//! const RETRYABLE: &[&str] = &["Throttling"];
//! let policy = RetryPolicy { base_delay: Duration::from_millis(1), ..RetryPolicy::default() };
//! let counters = Counters::default();
//! let throttled = || KmsServiceError {
//!     service: "Example KMS",
//!     operation: "Decrypt",
//!     code: "Throttling".into(),
//!     message: "slow down".into(),
//!     request_id: None,
//!     http_status: Some(429),
//!     attempts: 1,
//! };
//! let v = retry::run(&policy, &counters, |n| {
//!     if n < 3 {
//!         Err(Stop::service(throttled(), RETRYABLE))
//!     } else {
//!         Ok(n)
//!     }
//! })?;
//! assert_eq!(v, 3);
//! assert_eq!(counters.snapshot().retries, 2);
//! # Ok::<(), nacoscrypt_core::Error>(())
//! ```

use crate::cache::Counters;
use nacoscrypt_core::{Error, KmsServiceError, Result};
use std::time::{Duration, Instant};

/// Retries of retryable failures: the service's retryable codes (Alibaba:
/// `Rejected.Throttling`, `ServiceUnavailableTemporary`, `InternalFailure`; AWS:
/// `ThrottlingException`, `KMSInternalException`, 5xx) and network failures (refused, reset,
/// timed out). Others are not retried. Between attempts: exponential backoff with full jitter (a random pause between
/// zero and `base_delay · 2^n`, at most `max_delay`), never past `max_total` since the call
/// began.
///
/// ```
/// use nacoscrypt_kms_common::RetryPolicy;
/// use std::time::Duration;
///
/// let p = RetryPolicy { max_total: Duration::from_secs(5), ..RetryPolicy::default() };
/// assert_eq!(p.max_attempts, 4);
/// assert_eq!(RetryPolicy::none().max_attempts, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 4; 1 = no retry).
    pub max_attempts: u32,
    /// First backoff ceiling (default 100 ms).
    pub base_delay: Duration,
    /// Largest backoff ceiling (default 2 s).
    pub max_delay: Duration,
    /// No new attempt starts after this much time since the call began (default 20 s).
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_total: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retries (see [`RetryPolicy`]).
    ///
    /// ```
    /// use nacoscrypt_kms_common::RetryPolicy;
    ///
    /// let p = RetryPolicy::none();
    /// assert_eq!(p.max_attempts, 1);
    /// assert_eq!(p.max_total, RetryPolicy::default().max_total);
    /// ```
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The pause before retry number `n` (0-based): uniform in `[0, min(max, base·2^n)]`.
    ///
    /// ```
    /// use nacoscrypt_kms_common::RetryPolicy;
    ///
    /// let p = RetryPolicy::default();
    /// assert!(p.backoff(0) <= p.base_delay);
    /// assert!(p.backoff(30) <= p.max_delay);
    /// ```
    pub fn backoff(&self, n: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << n.min(16))
            .min(self.max_delay);
        let mut r = [0u8; 8];
        let _ = getrandom::fill(&mut r);
        let fraction = u64::from_le_bytes(r) as f64 / u64::MAX as f64;
        ceiling.mul_f64(fraction)
    }
}

/// Why an attempt did not succeed, and what to do next; see the [module](self) example.
///
/// ```
/// use nacoscrypt_core::Error;
/// use nacoscrypt_kms_common::RetryPolicy;
/// use nacoscrypt_kms_common::cache::Counters;
/// use nacoscrypt_kms_common::retry::{self, Stop};
///
/// let counters = Counters::default();
/// let bad = Error::InvalidArgument { reason: "no key id" };
/// let r: Result<(), _> = retry::run(&RetryPolicy::default(), &counters, |_| Err(Stop::Error(bad.clone())));
/// assert_eq!(r.unwrap_err(), bad, "not retried");
/// assert_eq!(counters.snapshot().kms_calls, 1);
/// ```
#[derive(Debug)]
pub enum Stop {
    /// A retryable failure: back off and try again while the policy allows.
    Retry(KmsServiceError),
    /// Try again at once (counts as an attempt), for example with renewed credentials.
    RetryNow(KmsServiceError),
    /// Not retryable: fail with this error.
    Fail(KmsServiceError),
    /// Not retryable: fail with this error of another kind (credentials, arguments). A service
    /// error reports the attempts of this run, or its own count if larger.
    Error(Error),
}

impl Stop {
    /// A service error: retried if its code is one of `retryable`, the codes the service asks
    /// to retry; see the [module](self) example.
    ///
    /// ```
    /// use nacoscrypt_core::KmsServiceError;
    /// use nacoscrypt_kms_common::retry::Stop;
    ///
    /// let e = |code: &str| KmsServiceError {
    ///     service: "Example KMS",
    ///     operation: "Decrypt",
    ///     code: code.into(),
    ///     message: String::new(),
    ///     request_id: None,
    ///     http_status: None,
    ///     attempts: 1,
    /// };
    /// assert!(matches!(Stop::service(e("Throttling"), &["Throttling"]), Stop::Retry(_)));
    /// assert!(matches!(Stop::service(e("AccessDenied"), &["Throttling"]), Stop::Fail(_)));
    /// ```
    pub fn service(e: KmsServiceError, retryable: &[&str]) -> Self {
        if retryable.contains(&e.code.as_str()) {
            Self::Retry(e)
        } else {
            Self::Fail(e)
        }
    }
}

/// Runs `attempt(n)` (n = 1, 2, …) until it succeeds or `policy` says stop; the error reports
/// how many attempts were made. See the [module](self) example.
///
/// ```
/// use nacoscrypt_core::{Error, KmsServiceError};
/// use nacoscrypt_kms_common::RetryPolicy;
/// use nacoscrypt_kms_common::cache::Counters;
/// use nacoscrypt_kms_common::retry::{self, Stop};
///
/// let denied = KmsServiceError {
///     service: "Example KMS",
///     operation: "Decrypt",
///     code: "AccessDenied".into(),
///     message: "not allowed".into(),
///     request_id: None,
///     http_status: Some(403),
///     attempts: 1,
/// };
/// let r: Result<(), _> = retry::run(&RetryPolicy::default(), &Counters::default(), |_| {
///     Err(Stop::Fail(denied.clone()))
/// });
/// let Err(Error::KmsService(e)) = r else { panic!("a service error") };
/// assert_eq!((e.code.as_str(), e.attempts), ("AccessDenied", 1));
/// ```
pub fn run<T>(
    policy: &RetryPolicy,
    counters: &Counters,
    mut attempt: impl FnMut(u32) -> std::result::Result<T, Stop>,
) -> Result<T> {
    let started = Instant::now();
    let mut n = 0u32;
    loop {
        n += 1;
        Counters::bump(&counters.kms_calls);
        let mut error = match attempt(n) {
            Ok(v) => return Ok(v),
            Err(Stop::Error(e)) => {
                return Err(match e {
                    // An error that counted its own tries (a credential fetch that retried)
                    // keeps that count when it is larger.
                    Error::KmsService(mut s) => {
                        s.attempts = s.attempts.max(n);
                        Error::KmsService(s)
                    }
                    other => other,
                });
            }
            Err(Stop::Fail(e)) => {
                let mut e = e;
                e.attempts = n;
                return Err(Error::from(e));
            }
            Err(Stop::RetryNow(e)) => {
                if n >= policy.max_attempts.max(2) {
                    let mut e = e;
                    e.attempts = n;
                    return Err(Error::from(e));
                }
                continue;
            }
            Err(Stop::Retry(e)) => e,
        };
        error.attempts = n;
        if n >= policy.max_attempts {
            return Err(Error::from(error));
        }
        let pause = policy.backoff(n - 1);
        if started.elapsed() + pause >= policy.max_total {
            return Err(Error::from(error));
        }
        Counters::bump(&counters.retries);
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        let r = RetryPolicy::default();
        for n in 0..40 {
            assert!(r.backoff(n) <= r.max_delay);
        }
        assert!(r.backoff(0) <= r.base_delay);
    }
}
