//! What the options of the network key services (`aliyun`, `aws`) share: the data-key cache
//! mode, millisecond timeouts, the retry policy, optional strings.

#[cfg(any(feature = "aliyun", feature = "aws"))]
use crate::boundary::arg_str;
#[cfg(any(feature = "aliyun", feature = "aws"))]
use crate::error::FfiResult;
#[cfg(any(feature = "aliyun", feature = "aws"))]
use core::ffi::c_char;
#[cfg(any(feature = "aliyun", feature = "aws"))]
use nacoscrypt_kms_common::{CacheMode, CacheSettings, RetryPolicy};
#[cfg(any(feature = "aliyun", feature = "aws"))]
use std::time::Duration;

/// When the decrypt-side data-key cache is used.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nacoscrypt_kms_cache_mode {
    /// No cache (the default).
    NACOSCRYPT_KMS_CACHE_OFF = 0,
    /// Ask the KMS every time; use a cached key only when it fails (1,000 keys, 1 h idle, 24 h).
    NACOSCRYPT_KMS_CACHE_FALLBACK = 1,
    /// Use a fresh cached key without asking the KMS.
    NACOSCRYPT_KMS_CACHE_FIRST = 2,
}

/// The cache settings of `mode`.
#[cfg(any(feature = "aliyun", feature = "aws"))]
pub(crate) fn cache_settings(mode: nacoscrypt_kms_cache_mode) -> CacheSettings {
    match mode {
        nacoscrypt_kms_cache_mode::NACOSCRYPT_KMS_CACHE_OFF => CacheSettings::default(),
        nacoscrypt_kms_cache_mode::NACOSCRYPT_KMS_CACHE_FALLBACK => CacheSettings::fallback(),
        nacoscrypt_kms_cache_mode::NACOSCRYPT_KMS_CACHE_FIRST => CacheSettings {
            mode: CacheMode::First,
            ..CacheSettings::default()
        },
    }
}

/// `v` milliseconds, or `default` milliseconds for 0 ("not set").
#[cfg(any(feature = "aliyun", feature = "aws"))]
pub(crate) fn ms(v: u32, default: u64) -> Duration {
    Duration::from_millis(if v == 0 { default } else { u64::from(v) })
}

/// The retry policy of the options' `max_attempts` (0: 4) and `max_total_ms` (0: 20,000).
#[cfg(any(feature = "aliyun", feature = "aws"))]
pub(crate) fn retry(max_attempts: u32, max_total_ms: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: if max_attempts == 0 { 4 } else { max_attempts },
        max_total: ms(max_total_ms, 20_000),
        ..RetryPolicy::default()
    }
}

/// An optional string option, copied.
///
/// # Safety
/// `ptr` NULL or a NUL-terminated string.
#[cfg(any(feature = "aliyun", feature = "aws"))]
pub(crate) unsafe fn opt(ptr: *const c_char, name: &'static str) -> FfiResult<Option<String>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    Ok(Some(unsafe { arg_str(ptr, name) }?.to_owned()))
}
