//! The token manager: issues tokens and verifies them with the signing key and the previous
//! keys of a rotation.

use super::access_token::{IssuedToken, nacoscrypt_access_token};
use super::claims::ClaimsOut;
use super::secret::nacoscrypt_secret_key;
use crate::boundary::{
    Castable, OwnershipBox, arg_array, arg_ref, arg_str, arg_text, check_out, free_handle,
    out_handle,
};
use crate::error::ffi_call;
use crate::getter::get;
use crate::result::nacoscrypt_result;
use core::ffi::c_char;
use nacoscrypt_core::token::{DEFAULT_VALIDITY_SECS, TokenManager};

/// Issues and verifies Nacos access tokens: a signing key, older keys still accepted (for a
/// rolling change of the secret), the validity of issued tokens and the leeway of verification.
///
/// Thread safety: immutable; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_token_manager {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_token_manager {
    type Ownership = OwnershipBox;
    type RustType = TokenManager;
}

/// Makes a token manager. The keys are copied: the caller keeps (and frees) its handles.
///
/// - `signing_key`: signs new tokens and verifies.
/// - `previous_keys`, `previous_keys_len`: older keys that still verify, tried in order after
///   the signing key (the array may be NULL when the length is 0; no element may be NULL).
/// - `validity_secs`: validity of issued tokens; 0 means the server default, 18,000 s.
/// - `leeway_secs`: a token stays valid while `exp + leeway >= now` (the server's is 0).
/// - `manager_out`: receives a new manager owned by the caller (free with
///   `nacoscrypt_token_manager_free()`); written only on success.
///
/// # Safety
/// Pointers as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_new(
    signing_key: *const nacoscrypt_secret_key,
    previous_keys: *const *const nacoscrypt_secret_key,
    previous_keys_len: usize,
    validity_secs: u64,
    leeway_secs: u64,
    manager_out: *mut *mut nacoscrypt_token_manager,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let signing = unsafe { arg_ref(signing_key, "signing_key") }?;
        let previous = unsafe { arg_array(previous_keys, previous_keys_len, "previous_keys") }?;
        let previous = previous
            .iter()
            .map(|&k| unsafe { arg_ref(k, "previous_keys[i]") }.cloned())
            .collect::<Result<Vec<_>, _>>()?;
        check_out(manager_out, "manager_out")?;
        let validity = if validity_secs == 0 {
            DEFAULT_VALIDITY_SECS
        } else {
            validity_secs
        };
        let manager = TokenManager::new(signing.clone())
            .with_previous_keys(previous)
            .with_validity(validity)?
            .with_leeway(leeway_secs);
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(manager_out, manager) };
        Ok(())
    })
}

/// The validity of issued tokens in seconds (0 if `manager` is NULL).
///
/// # Safety
/// `manager` must be NULL or a live token manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_validity(
    manager: *const nacoscrypt_token_manager,
) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { get(manager, 0, TokenManager::validity) }
}

/// The leeway of verification in seconds (0 if `manager` is NULL).
///
/// # Safety
/// `manager` must be NULL or a live token manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_leeway(
    manager: *const nacoscrypt_token_manager,
) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { get(manager, 0, TokenManager::leeway) }
}

/// Issues a token for `subject` at `now` (Unix seconds): `exp = now + validity`. A subject
/// whose token would be longer than `nacoscrypt_token_manager_verify()` accepts (8,300 bytes)
/// is refused with the error verify would give that token (`NACOSCRYPT_RESULT_MALFORMED_TOKEN`
/// or `_INVALID_CLAIMS`).
///
/// - `token_out`: receives a new access token owned by the caller (free with
///   `nacoscrypt_access_token_free()`); written only on success.
///
/// # Safety
/// `manager` must be a live token manager, `subject` a NUL-terminated string; `token_out`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_issue(
    manager: *const nacoscrypt_token_manager,
    subject: *const c_char,
    now: i64,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let manager = unsafe { arg_ref(manager, "manager") }?;
        let subject = unsafe { arg_str(subject, "subject") }?;
        check_out(token_out, "token_out")?;
        let token = IssuedToken::new(manager.issue(subject, now)?);
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(token_out, token) };
        Ok(())
    })
}

/// `nacoscrypt_token_manager_issue()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_manager_issue()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_issue_now(
    manager: *const nacoscrypt_token_manager,
    subject: *const c_char,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let manager = unsafe { arg_ref(manager, "manager") }?;
        let subject = unsafe { arg_str(subject, "subject") }?;
        check_out(token_out, "token_out")?;
        let token = IssuedToken::new(manager.issue_now(subject)?);
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(token_out, token) };
        Ok(())
    })
}

/// Verifies `token` at `now` (Unix seconds), in the order of SPEC 3.3: shape, header, signature
/// (constant time, against the signing key and the previous keys), claims, expiry.
///
/// Returns `NACOSCRYPT_RESULT_OK` for a valid token, else `NACOSCRYPT_RESULT_MALFORMED_TOKEN`,
/// `_UNSUPPORTED_ALGORITHM`, `_INVALID_SIGNATURE`, `_INVALID_CLAIMS` or `_TOKEN_EXPIRED`;
/// `nacoscrypt_last_error_nacos_message()` then gives the Nacos server's answer.
///
/// The subject never holds a NUL byte (`strlen` equals its length): a validly signed token
/// whose `sub` has one (`\u0000`) is refused with `NACOSCRYPT_RESULT_INVALID_CLAIMS`.
///
/// - `token`, `token_len`: the token text (not necessarily NUL-terminated).
/// - `subject_out` (may be NULL): receives the subject (free with `nacoscrypt_string_free()`);
///   `subject_len_out` (may be NULL) its length; `exp_out` (may be NULL) the expiry. Written
///   only on success.
///
/// # Safety
/// `manager` must be a live token manager; `token` readable for `token_len` bytes; each output
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_verify(
    manager: *const nacoscrypt_token_manager,
    token: *const c_char,
    token_len: usize,
    now: i64,
    subject_out: *mut *mut c_char,
    subject_len_out: *mut usize,
    exp_out: *mut i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let manager = unsafe { arg_ref(manager, "manager") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let claims = manager.verify(token, now)?;
        let outputs = ClaimsOut::new(subject_out, subject_len_out, exp_out);
        unsafe { outputs.write(&claims) }
    })
}

/// `nacoscrypt_token_manager_verify()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_manager_verify()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_verify_now(
    manager: *const nacoscrypt_token_manager,
    token: *const c_char,
    token_len: usize,
    subject_out: *mut *mut c_char,
    subject_len_out: *mut usize,
    exp_out: *mut i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let manager = unsafe { arg_ref(manager, "manager") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let claims = manager.verify_now(token)?;
        let outputs = ClaimsOut::new(subject_out, subject_len_out, exp_out);
        unsafe { outputs.write(&claims) }
    })
}

/// Frees a token manager (its keys are wiped). NULL is ignored.
///
/// # Safety
/// `manager` must be NULL or a live token manager, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_free(manager: *mut nacoscrypt_token_manager) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(manager) }
}
