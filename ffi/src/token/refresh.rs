//! Client refresh timing: when a client asks for a new token.

use crate::boundary::ffi_value;

/// When a client refreshes a token obtained at `obtained_at_ms` (Unix milliseconds) with a TTL
/// of `ttl_secs`: `obtained_at_ms + (ttl − ttl/10) × 1000`, saturating (as the Nacos clients).
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_token_refresh_at_ms(obtained_at_ms: i64, ttl_secs: i64) -> i64 {
    ffi_value(0, || {
        nacoscrypt_core::token::refresh_at_ms(obtained_at_ms, ttl_secs)
    })
}

/// `true` once `now_ms` has reached `nacoscrypt_token_refresh_at_ms()`.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_token_needs_refresh(
    obtained_at_ms: i64,
    ttl_secs: i64,
    now_ms: i64,
) -> bool {
    ffi_value(true, || {
        nacoscrypt_core::token::needs_refresh(obtained_at_ms, ttl_secs, now_ms)
    })
}
