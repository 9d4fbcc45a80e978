//! Client-side refresh timing (SPEC 3.4), as the Nacos clients do it: a token obtained at `t`
//! with TTL `ttl` is refreshed from `t + ttl − ttl/10` on (integer seconds).

/// When to refresh a token obtained at `obtained_at_ms` (Unix milliseconds) with a TTL of
/// `ttl_secs` seconds: `obtained_at_ms + (ttl − ttl/10) × 1000`, saturating.
///
/// ```
/// use nacoscrypt_core::token::{needs_refresh, refresh_at_ms};
///
/// assert_eq!(refresh_at_ms(1_000, 18_000), 1_000 + 16_200_000);
/// assert!(!needs_refresh(1_000, 18_000, 16_200_999));
/// assert!(needs_refresh(1_000, 18_000, 16_201_000));
/// ```
pub fn refresh_at_ms(obtained_at_ms: i64, ttl_secs: i64) -> i64 {
    let window = ttl_secs / 10;
    obtained_at_ms.saturating_add(ttl_secs.saturating_sub(window).saturating_mul(1000))
}

/// `true` once `now_ms` has reached [`refresh_at_ms`].
pub fn needs_refresh(obtained_at_ms: i64, ttl_secs: i64, now_ms: i64) -> bool {
    now_ms >= refresh_at_ms(obtained_at_ms, ttl_secs)
}
