//! Token secret keys (the server's `nacos.core.auth.plugin.nacos.token.secret.key`): decode,
//! generate, inspect, export, and sign with a key alone.

use crate::boundary::{
    Castable, OwnershipBox, arg_bytes, arg_ref, arg_str, check_out, free_handle, out_handle,
};
use crate::error::ffi_call;
use crate::getter::get;
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::token::{Algorithm, SecretKey};
use zeroize::Zeroizing;

/// The HMAC algorithm of a token: `NACOSCRYPT_ALGORITHM_HS256`, `_HS384` or `_HS512`
/// (0 for a NULL key).
pub type nacoscrypt_algorithm = u32;
/// HMAC-SHA-256: keys of 32 to 47 bytes.
pub const NACOSCRYPT_ALGORITHM_HS256: nacoscrypt_algorithm = 256;
/// HMAC-SHA-384: keys of 48 to 63 bytes.
pub const NACOSCRYPT_ALGORITHM_HS384: nacoscrypt_algorithm = 384;
/// HMAC-SHA-512: keys of 64 bytes and more.
pub const NACOSCRYPT_ALGORITHM_HS512: nacoscrypt_algorithm = 512;

/// A token secret key (the server setting
/// `nacos.core.auth.plugin.nacos.token.secret.key`, decoded as the server decodes it); its
/// length selects HS256, HS384 or HS512. The key bytes are wiped when it is freed.
///
/// Thread safety: immutable; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_secret_key {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_secret_key {
    type Ownership = OwnershipBox;
    type RustType = SecretKey;
}

/// Decodes a secret key from the server setting's text exactly as the Nacos server does
/// (lenient base64: `=` optional, characters outside the alphabet trimmed at both ends).
///
/// The two publicly known keys of the Nacos documentation are refused
/// (`NACOSCRYPT_RESULT_PUBLICLY_KNOWN_KEY`) unless `allow_publicly_known` is true — for tests
/// and migrations only. Other errors: `NACOSCRYPT_RESULT_INVALID_SECRET_KEY` ("Illegal base64
/// character"), `NACOSCRYPT_RESULT_SECRET_KEY_TOO_SHORT` (under 256 bits).
///
/// - `key_out`: receives a new key owned by the caller (free with
///   `nacoscrypt_secret_key_free()`); written only on success.
///
/// # Safety
/// `text` must be a NUL-terminated string; `key_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_from_base64(
    text: *const c_char,
    allow_publicly_known: bool,
    key_out: *mut *mut nacoscrypt_secret_key,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let text = unsafe { arg_str(text, "text") }?;
        check_out(key_out, "key_out")?;
        let key = if allow_publicly_known {
            SecretKey::from_base64_allowing_publicly_known(text)?
        } else {
            SecretKey::from_base64(text)?
        };
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(key_out, key) };
        Ok(())
    })
}

/// A secret key from raw bytes (at least 32). Publicly known keys as for
/// `nacoscrypt_secret_key_from_base64()`.
///
/// - `key_out`: receives a new key owned by the caller; written only on success. The caller
///   keeps `bytes` (wipe it).
///
/// # Safety
/// `bytes` must point to `len` readable bytes; `key_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_from_bytes(
    bytes: *const u8,
    len: usize,
    allow_publicly_known: bool,
    key_out: *mut *mut nacoscrypt_secret_key,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let bytes = unsafe { arg_bytes(bytes, len, "bytes") }?;
        check_out(key_out, "key_out")?;
        let key = if allow_publicly_known {
            SecretKey::from_bytes_allowing_publicly_known(bytes)?
        } else {
            SecretKey::from_bytes(bytes)?
        };
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(key_out, key) };
        Ok(())
    })
}

/// A new random 256-bit key (HS256) from the operating system's RNG. Its text for
/// `application.properties` comes from `nacoscrypt_secret_key_to_base64()`.
///
/// - `key_out`: receives a new key owned by the caller; written only on success.
///
/// # Safety
/// `key_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_generate(
    key_out: *mut *mut nacoscrypt_secret_key,
) -> nacoscrypt_result {
    ffi_call(|| {
        check_out(key_out, "key_out")?;
        let key = SecretKey::generate()?;
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(key_out, key) };
        Ok(())
    })
}

/// The algorithm the key's length selects (0 if `key` is NULL).
///
/// # Safety
/// `key` must be NULL or a live secret key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_algorithm(
    key: *const nacoscrypt_secret_key,
) -> nacoscrypt_algorithm {
    // SAFETY: forwarded contract.
    unsafe {
        get(key, 0, |k| match k.algorithm() {
            Algorithm::Hs256 => NACOSCRYPT_ALGORITHM_HS256,
            Algorithm::Hs384 => NACOSCRYPT_ALGORITHM_HS384,
            Algorithm::Hs512 => NACOSCRYPT_ALGORITHM_HS512,
        })
    }
}

/// The key length in bits (0 if `key` is NULL).
///
/// # Safety
/// `key` must be NULL or a live secret key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_bits(key: *const nacoscrypt_secret_key) -> usize {
    // SAFETY: forwarded contract.
    unsafe { get(key, 0, SecretKey::bits) }
}

/// The key as padded standard base64: the text for
/// `nacos.core.auth.plugin.nacos.token.secret.key`.
///
/// - `text_out`: receives a library string (secret: free it with `nacoscrypt_string_free()`,
///   which wipes it); `text_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// `key` must be a live secret key; `text_out` writable; `text_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_to_base64(
    key: *const nacoscrypt_secret_key,
    text_out: *mut *mut c_char,
    text_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let key = unsafe { arg_ref(key, "key") }?;
        let target = StringOut::new(text_out, text_len_out, "text_out")?;
        let text = key.to_base64();
        // SAFETY: forwarded contract.
        unsafe { target.write(text.as_bytes()) }
    })
}

/// Signs a token for `subject` expiring at `exp` (Unix seconds) with this key alone: the
/// exact bytes the Nacos server produces. Most callers use `nacoscrypt_token_manager_issue()`.
/// A subject whose token verification would refuse (longer than 8,300 bytes in all) is
/// refused with the error verification gives (`NACOSCRYPT_RESULT_MALFORMED_TOKEN` or
/// `_INVALID_CLAIMS`).
///
/// - `token_out`: receives the token (free with `nacoscrypt_string_free()`); `token_len_out`
///   (may be NULL) its length. Written only on success.
///
/// # Safety
/// `key` must be a live secret key, `subject` a NUL-terminated string; `token_out` writable;
/// `token_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_sign(
    key: *const nacoscrypt_secret_key,
    subject: *const c_char,
    exp: i64,
    token_out: *mut *mut c_char,
    token_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let key = unsafe { arg_ref(key, "key") }?;
        let subject = unsafe { arg_str(subject, "subject") }?;
        let target = StringOut::new(token_out, token_len_out, "token_out")?;
        let token = Zeroizing::new(key.try_sign(subject, exp)?);
        unsafe { target.write(token.as_bytes()) }
    })
}

/// Frees a secret key (its bytes are wiped). NULL is ignored.
///
/// # Safety
/// `key` must be NULL or a live secret key, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_free(key: *mut nacoscrypt_secret_key) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(key) }
}
