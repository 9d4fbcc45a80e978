//! The options the network key-service classes (Alibaba Cloud, AWS) take alike (timeouts,
//! attempts) and the `stats` they answer.

use crate::args::invalid_argument;
use nacoscrypt_kms_common::{RetryPolicy, Stats};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::time::Duration;

/// `value` seconds, or `InvalidArgument` (`what`) unless in (0, 86400).
pub(crate) fn seconds(py: Python<'_>, value: f64, what: &'static str) -> PyResult<Duration> {
    if value.is_finite() && value > 0.0 && value < 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(invalid_argument(py, what))
    }
}

/// `connect_timeout` and `request_timeout`, in that order of checking.
pub(crate) fn timeouts(
    py: Python<'_>,
    connect_timeout: f64,
    request_timeout: f64,
) -> PyResult<(Duration, Duration)> {
    Ok((
        seconds(
            py,
            connect_timeout,
            "connect_timeout must be in (0, 86400) seconds",
        )?,
        seconds(
            py,
            request_timeout,
            "request_timeout must be in (0, 86400) seconds",
        )?,
    ))
}

/// The retry policy of `max_attempts` (at least one).
pub(crate) fn retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: max_attempts.max(1),
        ..RetryPolicy::default()
    }
}

/// `stats()`: `{cache_hits, cache_misses, kms_calls, retries}`.
pub(crate) fn stats(py: Python<'_>, s: Stats) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("cache_hits", s.cache_hits)?;
    d.set_item("cache_misses", s.cache_misses)?;
    d.set_item("kms_calls", s.kms_calls)?;
    d.set_item("retries", s.retries)?;
    Ok(d)
}
