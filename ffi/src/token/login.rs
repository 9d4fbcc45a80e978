//! The login JSON: writing a login response as the server does, and reading one as a client.

use crate::boundary::{
    Castable, OwnershipBox, arg_str, arg_text, check_out, free_handle, out_handle,
};
use crate::error::ffi_call;
use crate::getter::{CText, get, get_text};
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::token::LoginResponse;
use zeroize::Zeroizing;

/// Writes a login response as the server does:
/// `{"accessToken":"…","tokenTtl":18000,"globalAdmin":false,"username":"nacos"}`.
///
/// - `json_out`: receives a library string (free with `nacoscrypt_string_free()`);
///   `json_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// `access_token` and `username` must be NUL-terminated strings; `json_out` writable;
/// `json_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_json_write(
    access_token: *const c_char,
    token_ttl: i64,
    global_admin: bool,
    username: *const c_char,
    json_out: *mut *mut c_char,
    json_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let access_token = unsafe { arg_str(access_token, "access_token") }?;
        let username = unsafe { arg_str(username, "username") }?;
        let target = StringOut::new(json_out, json_len_out, "json_out")?;
        let response = LoginResponse {
            access_token: access_token.to_owned(),
            token_ttl,
            global_admin,
            username: username.to_owned(),
        };
        let json = Zeroizing::new(response.to_json());
        let mut response = response;
        zeroize::Zeroize::zeroize(&mut response.access_token);
        unsafe { target.write(json.as_bytes()) }
    })
}

/// A login response as a client reads it (`nacoscrypt_login_response_parse()`).
///
/// Thread safety: immutable; safe to read from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_login_response {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_login_response {
    type Ownership = OwnershipBox;
    type RustType = ReadLoginResponse;
}

/// What a login response handle holds: the core's response, and its token and user name with
/// a NUL after them for the borrowed views.
#[derive(Debug)]
pub(crate) struct ReadLoginResponse {
    inner: LoginResponse,
    access_token_c: CText,
    username_c: CText,
}

impl Drop for ReadLoginResponse {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.inner.access_token);
    }
}

/// Reads a login response: a JSON object with a string `accessToken` and a number `tokenTtl`;
/// `globalAdmin` (boolean) and `username` (string) are optional; other members are ignored.
/// Anything else, and an `accessToken` or `username` holding a NUL byte (`\u0000`, which the
/// NUL-terminated accessors could not return whole): `NACOSCRYPT_RESULT_INVALID_ARGUMENT`.
///
/// - `json`, `json_len`: the response body (not necessarily NUL-terminated).
/// - `response_out`: receives a new response owned by the caller (free with
///   `nacoscrypt_login_response_free()`); written only on success.
///
/// # Safety
/// `json` readable for `json_len` bytes; `response_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_parse(
    json: *const c_char,
    json_len: usize,
    response_out: *mut *mut nacoscrypt_login_response,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let json = unsafe { arg_text(json, json_len, "json") }?;
        check_out(response_out, "response_out")?;
        let inner = LoginResponse::parse(json)?;
        let response = ReadLoginResponse {
            access_token_c: CText::new(&inner.access_token),
            username_c: CText::new(&inner.username),
            inner,
        };
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(response_out, response) };
        Ok(())
    })
}

/// The `accessToken` of a login response, NUL-terminated; `*len_out` (may be NULL) receives
/// its length. Borrowed: valid until `response` is freed. NULL if `response` is NULL.
///
/// # Safety
/// `response` must be NULL or a live login response; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_access_token(
    response: *const nacoscrypt_login_response,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { get_text(response, len_out, |r| &r.access_token_c) }
}

/// The `username` of a login response (`""` when absent), NUL-terminated; `*len_out` (may be
/// NULL) receives its length. Borrowed: valid until `response` is freed. NULL if `response` is
/// NULL.
///
/// # Safety
/// `response` must be NULL or a live login response; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_username(
    response: *const nacoscrypt_login_response,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: forwarded contract.
    unsafe { get_text(response, len_out, |r| &r.username_c) }
}

/// The `tokenTtl` of a login response in seconds (0 if `response` is NULL).
///
/// # Safety
/// `response` must be NULL or a live login response.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_token_ttl(
    response: *const nacoscrypt_login_response,
) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { get(response, 0, |r| r.inner.token_ttl) }
}

/// The `globalAdmin` of a login response (`false` when absent or if `response` is NULL).
///
/// # Safety
/// `response` must be NULL or a live login response.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_global_admin(
    response: *const nacoscrypt_login_response,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { get(response, false, |r| r.inner.global_admin) }
}

/// Frees a login response (its token is wiped). NULL is ignored.
///
/// # Safety
/// `response` must be NULL or a live login response, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_free(response: *mut nacoscrypt_login_response) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(response) }
}
