//! Issued access tokens: the text, subject, TTL and expiry of a token the manager or the cache
//! handed out, and the login response for it.

use crate::boundary::{Castable, OwnershipBox, arg_ref, free_handle};
use crate::error::ffi_call;
use crate::getter::{CText, get, get_text};
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::token::AccessToken;
use zeroize::Zeroizing;

/// An issued token: its text, time to live, expiry and subject. Immutable.
///
/// Made by `nacoscrypt_token_manager_issue()` and `nacoscrypt_token_cache_login()`; free it
/// with `nacoscrypt_access_token_free()` (the token text is wiped).
///
/// Thread safety: immutable; safe to read from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_access_token {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_access_token {
    type Ownership = OwnershipBox;
    type RustType = IssuedToken;
}

/// What an access token handle holds: the core's token, and its text and subject with a NUL
/// after them for the borrowed views.
#[derive(Debug)]
pub(crate) struct IssuedToken {
    inner: AccessToken,
    token_c: CText,
    subject_c: CText,
}

impl IssuedToken {
    /// Keeps `inner` with the NUL-terminated copies of its text and subject.
    pub(super) fn new(inner: AccessToken) -> Self {
        Self {
            token_c: CText::new(&inner.token),
            subject_c: CText::new(&inner.subject),
            inner,
        }
    }
}

impl Drop for IssuedToken {
    fn drop(&mut self) {
        // The token is a bearer credential: wipe the core's copy too.
        use zeroize::Zeroize;
        self.inner.token.zeroize();
    }
}

/// The token text (`header.payload.signature`), NUL-terminated; `*len_out` (may be NULL)
/// receives its length. Borrowed: valid until `token` is freed; never free it. NULL if `token`
/// is NULL.
///
/// # Safety
/// `token` must be NULL or a live access token; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_text(
    token: *const nacoscrypt_access_token,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { get_text(token, len_out, |t| &t.token_c) }
}

/// The subject (user name) the token was issued to, NUL-terminated; `*len_out` (may be NULL)
/// receives its length. Borrowed: valid until `token` is freed. NULL if `token` is NULL.
///
/// # Safety
/// `token` must be NULL or a live access token; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_subject(
    token: *const nacoscrypt_access_token,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { get_text(token, len_out, |t| &t.subject_c) }
}

/// Seconds the token remains valid from the moment it was handed out (the login response's
/// `tokenTtl`); 0 if `token` is NULL.
///
/// # Safety
/// `token` must be NULL or a live access token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_ttl(token: *const nacoscrypt_access_token) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { get(token, 0, |t| t.inner.ttl) }
}

/// The token's expiry (`exp`), Unix seconds; 0 if `token` is NULL.
///
/// # Safety
/// `token` must be NULL or a live access token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_expires_at(
    token: *const nacoscrypt_access_token,
) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { get(token, 0, |t| t.inner.expires_at) }
}

/// The login response the server answers with for this token and its subject:
/// `{"accessToken":"…","tokenTtl":18000,"globalAdmin":false,"username":"nacos"}`.
///
/// - `json_out`: receives a library string (free with `nacoscrypt_string_free()`);
///   `json_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// `token` must be a live access token; `json_out` writable; `json_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_login_json(
    token: *const nacoscrypt_access_token,
    global_admin: bool,
    json_out: *mut *mut c_char,
    json_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let token = unsafe { arg_ref(token, "token") }?;
        let target = StringOut::new(json_out, json_len_out, "json_out")?;
        let json = Zeroizing::new(
            token
                .inner
                .to_login_json(&token.inner.subject, global_admin),
        );
        // SAFETY: forwarded contract.
        unsafe { target.write(json.as_bytes()) }
    })
}

/// Frees an access token (its text is wiped). NULL is ignored.
///
/// # Safety
/// `token` must be NULL or a live access token, not used after this call (borrowed views of
/// it become invalid).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_free(token: *mut nacoscrypt_access_token) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(token) }
}
