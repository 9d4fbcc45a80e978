//! Retries shared by every key-service call of this crate: bounded in attempts and in total
//! time, exponential backoff with full jitter.

use crate::cache::Counters;
use nacoscrypt_core::{Error, KmsServiceError, Result};
use std::time::{Duration, Instant};

/// Retries of retryable failures: `Rejected.Throttling` (429), `ServiceUnavailableTemporary`
/// (503), `InternalFailure` (500) and network failures (refused, reset, timed out). Others are
/// not retried. Between attempts: exponential backoff with full jitter (a random pause between
/// zero and `base_delay · 2^n`, at most `max_delay`), never past `max_total` since the call
/// began.
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
    /// No retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The pause before retry number `n` (0-based): uniform in `[0, min(max, base·2^n)]`.
    pub(crate) fn backoff(&self, n: u32) -> Duration {
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

/// Why an attempt did not succeed, and what to do next.
pub(crate) enum Stop {
    /// A retryable failure: back off and try again while the policy allows.
    Retry(KmsServiceError),
    /// Try again at once (counts as an attempt), for example with renewed credentials.
    RetryNow(KmsServiceError),
    /// Not retryable: fail with this error.
    Fail(KmsServiceError),
    /// Not retryable: fail with this error of another kind (credentials, arguments).
    Error(Error),
}

impl Stop {
    /// A service error: retried if its code is one the services ask to retry
    /// (`Rejected.Throttling`, `ServiceUnavailableTemporary`, `InternalFailure`).
    pub(crate) fn service(e: KmsServiceError) -> Self {
        if matches!(
            e.code.as_str(),
            "Rejected.Throttling" | "ServiceUnavailableTemporary" | "InternalFailure"
        ) {
            Self::Retry(e)
        } else {
            Self::Fail(e)
        }
    }
}

/// Runs `attempt(n)` (n = 1, 2, …) until it succeeds or `policy` says stop; the error reports
/// how many attempts were made.
pub(crate) fn run<T>(
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
                    Error::KmsService(mut s) => {
                        s.attempts = n;
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
