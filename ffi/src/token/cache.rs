//! The token cache (the server's `token.cache.enable`) in front of a token manager.

use super::access_token::{IssuedToken, nacoscrypt_access_token};
use super::claims::ClaimsOut;
use super::manager::nacoscrypt_token_manager;
use crate::boundary::{
    Castable, OwnershipBox, arg_ref, arg_str, arg_text, check_out, free_handle, out_handle,
};
use crate::error::ffi_call;
use crate::getter::get;
use crate::result::nacoscrypt_result;
use core::ffi::c_char;
use nacoscrypt_core::token::{AccessToken, SharedTokenCache, TokenCache};

/// The server's token cache (`token.cache.enable`) in front of a token manager: a login
/// returns the user's cached token until 90% of its validity has passed; verified tokens are
/// remembered until they expire; expired entries are evicted.
///
/// Thread safety: safe to use from many threads at once. Repeated answers (a login not yet due
/// for renewal, a token verified before) come from a small per-thread memo without taking the
/// cache's lock, so threads do not contend on hits; changes (invalidate, clear, revocations)
/// reach every thread's next call.
#[derive(Debug)]
pub struct nacoscrypt_token_cache {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_token_cache {
    type Ownership = OwnershipBox;
    type RustType = SharedTokenCache;
}

/// Makes a token cache in front of a copy of `manager` (the caller keeps its handle).
///
/// - `cache_out`: receives a new cache owned by the caller (free with
///   `nacoscrypt_token_cache_free()`); written only on success.
///
/// # Safety
/// `manager` must be a live token manager; `cache_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_new(
    manager: *const nacoscrypt_token_manager,
    cache_out: *mut *mut nacoscrypt_token_cache,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let manager = unsafe { arg_ref(manager, "manager") }?;
        check_out(cache_out, "cache_out")?;
        let cache = SharedTokenCache::new(TokenCache::new(manager.clone()));
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(cache_out, cache) };
        Ok(())
    })
}

/// Issues (or reuses) a token for `username` through the cache and hands it to `token_out`.
///
/// # Safety
/// As the exports below.
unsafe fn issue_with(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
    token_out: *mut *mut nacoscrypt_access_token,
    issue: impl FnOnce(&SharedTokenCache, &str) -> nacoscrypt_core::Result<AccessToken>,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let username = unsafe { arg_str(username, "username") }?;
        check_out(token_out, "token_out")?;
        let token = issue(cache, username)?;
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(token_out, IssuedToken::new(token)) };
        Ok(())
    })
}

/// A token for `username` at `now` (Unix **seconds**, like every other time of the cache): the
/// cached one while less than 90% of its validity has passed (its TTL is then the remaining
/// time), else a new one.
///
/// - `token_out`: receives a new access token owned by the caller (free with
///   `nacoscrypt_access_token_free()`); written only on success.
///
/// # Safety
/// `cache` must be a live cache, `username` a NUL-terminated string; `token_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_issue(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
    now: i64,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    // SAFETY: forwarded contract.
    unsafe { issue_with(cache, username, token_out, |c, u| c.issue(u, now)) }
}

/// `nacoscrypt_token_cache_issue()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_cache_issue()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_issue_now(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    // SAFETY: forwarded contract.
    unsafe { issue_with(cache, username, token_out, SharedTokenCache::issue_now) }
}

/// **Deprecated**: use `nacoscrypt_token_cache_issue()`, which takes Unix seconds like every
/// other time of the cache. This is `nacoscrypt_token_cache_issue()` at `now_ms` (Unix
/// **milliseconds**) rounded down to the second.
///
/// # Safety
/// As `nacoscrypt_token_cache_issue()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_login(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
    now_ms: i64,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    // SAFETY: forwarded contract.
    unsafe {
        issue_with(cache, username, token_out, |c, u| {
            c.issue(u, now_ms.div_euclid(1000))
        })
    }
}

/// **Deprecated**: the same as `nacoscrypt_token_cache_issue_now()`.
///
/// # Safety
/// As `nacoscrypt_token_cache_issue()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_login_now(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    // SAFETY: forwarded contract.
    unsafe { issue_with(cache, username, token_out, SharedTokenCache::issue_now) }
}

/// Verifies `token` at `now` (Unix seconds) through the cache: a token verified before is
/// answered from the cache until it expires; otherwise as `nacoscrypt_token_manager_verify()`
/// (same results and optional outputs), remembering success.
///
/// # Safety
/// As `nacoscrypt_token_manager_verify()`, with a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_verify(
    cache: *const nacoscrypt_token_cache,
    token: *const c_char,
    token_len: usize,
    now: i64,
    subject_out: *mut *mut c_char,
    subject_len_out: *mut usize,
    exp_out: *mut i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let claims = cache.verify(token, now)?;
        let outputs = ClaimsOut::new(subject_out, subject_len_out, exp_out);
        unsafe { outputs.write(&claims) }
    })
}

/// `nacoscrypt_token_cache_verify()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_cache_verify()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_verify_now(
    cache: *const nacoscrypt_token_cache,
    token: *const c_char,
    token_len: usize,
    subject_out: *mut *mut c_char,
    subject_len_out: *mut usize,
    exp_out: *mut i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let claims = cache.verify_now(token)?;
        let outputs = ClaimsOut::new(subject_out, subject_len_out, exp_out);
        unsafe { outputs.write(&claims) }
    })
}

/// Forgets the cached login of `username` (say, after a password change).
///
/// # Safety
/// `cache` must be a live cache, `username` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_invalidate_user(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let username = unsafe { arg_str(username, "username") }?;
        cache.with(|c| c.invalidate_user(username));
        Ok(())
    })
}

/// Forgets every cached login and verified token.
///
/// # Safety
/// `cache` must be a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_clear(
    cache: *const nacoscrypt_token_cache,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let cache = unsafe { arg_ref(cache, "cache") }?;
        cache.with(TokenCache::clear);
        Ok(())
    })
}

/// Drops every entry expired at `now` (Unix seconds); done automatically at most once a minute.
///
/// # Safety
/// `cache` must be a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_evict_expired(
    cache: *const nacoscrypt_token_cache,
    now: i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let cache = unsafe { arg_ref(cache, "cache") }?;
        cache.with(|c| c.evict_expired(now));
        Ok(())
    })
}

/// The number of cached logins (0 if `cache` is NULL).
///
/// # Safety
/// `cache` must be NULL or a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_login_count(
    cache: *const nacoscrypt_token_cache,
) -> usize {
    // SAFETY: forwarded contract.
    unsafe { get(cache, 0, |c| c.read(TokenCache::login_count)) }
}

/// The number of remembered verified tokens (0 if `cache` is NULL).
///
/// # Safety
/// `cache` must be NULL or a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_verified_count(
    cache: *const nacoscrypt_token_cache,
) -> usize {
    // SAFETY: forwarded contract.
    unsafe { get(cache, 0, |c| c.read(TokenCache::verified_count)) }
}

/// Frees a token cache. NULL is ignored.
///
/// # Safety
/// `cache` must be NULL or a live cache, not used after this call (nor by another thread).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_free(cache: *mut nacoscrypt_token_cache) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(cache) }
}
