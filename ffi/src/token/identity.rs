//! The server identity check (`nacos.core.auth.server.identity.key` / `.value`).

use crate::boundary::{
    Castable, OwnershipBox, arg_array, arg_ref, arg_str, arg_text, check_out, free_handle, out,
    out_handle,
};
use crate::error::{FfiError, FfiResult, ffi_call};
use crate::result::nacoscrypt_result;
use core::ffi::c_char;
use nacoscrypt_core::token::ServerIdentity;

/// The server identity check (`nacos.core.auth.server.identity.key` / `.value`): a request
/// whose header named by the key (ASCII case-insensitive) carries exactly the value (compared
/// in constant time) comes from a peer server.
///
/// Thread safety: immutable; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_server_identity {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_server_identity {
    type Ownership = OwnershipBox;
    type RustType = ServerIdentity;
}

/// Makes a server identity check for header `key` carrying `value`. Empty or blank key or
/// value: `NACOSCRYPT_RESULT_INVALID_IDENTITY`; the old public default value `security`:
/// `NACOSCRYPT_RESULT_PUBLICLY_KNOWN_KEY` unless `allow_publicly_known` (tests and migrations
/// only).
///
/// - `identity_out`: receives a new identity owned by the caller (free with
///   `nacoscrypt_server_identity_free()`); written only on success.
///
/// # Safety
/// `key` and `value` must be NUL-terminated strings; `identity_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_new(
    key: *const c_char,
    value: *const c_char,
    allow_publicly_known: bool,
    identity_out: *mut *mut nacoscrypt_server_identity,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let key = unsafe { arg_str(key, "key") }?;
        let value = unsafe { arg_str(value, "value") }?;
        check_out(identity_out, "identity_out")?;
        let identity = if allow_publicly_known {
            ServerIdentity::new_allowing_publicly_known(key, value)?
        } else {
            ServerIdentity::new(key, value)?
        };
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(identity_out, identity) };
        Ok(())
    })
}

/// Makes a server identity check accepting several values, for a rolling change of the value
/// across a cluster: `values[0]` is the current value, `values[1..values_len]` older ones still
/// accepted. A header is compared with every value, each in constant time. Errors as
/// `nacoscrypt_server_identity_new()` for any of the values; `values_len` 0 is
/// `NACOSCRYPT_RESULT_INVALID_ARGUMENT`.
///
/// - `identity_out`: receives a new identity owned by the caller (free with
///   `nacoscrypt_server_identity_free()`); written only on success.
///
/// # Safety
/// `key` must be a NUL-terminated string; `values` hold `values_len` NUL-terminated strings;
/// `identity_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_new_rotating(
    key: *const c_char,
    values: *const *const c_char,
    values_len: usize,
    allow_publicly_known: bool,
    identity_out: *mut *mut nacoscrypt_server_identity,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let key = unsafe { arg_str(key, "key") }?;
        let values = unsafe { arg_array(values, values_len, "values") }?;
        check_out(identity_out, "identity_out")?;
        let Some((&current, previous)) = values.split_first() else {
            return Err(FfiError::invalid("values_len", "must be at least 1"));
        };
        let current = unsafe { arg_str(current, "values[0]") }?;
        let mut identity = if allow_publicly_known {
            ServerIdentity::new_allowing_publicly_known(key, current)?
        } else {
            ServerIdentity::new(key, current)?
        };
        for &value in previous {
            identity = identity.with_previous_value(unsafe { arg_str(value, "values[i]") }?)?;
        }
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(identity_out, identity) };
        Ok(())
    })
}

/// Checks one header: `*matches_out` is true if `name` is the identity key (ASCII
/// case-insensitive) and `value` is exactly the identity value.
///
/// # Safety
/// `identity` must be a live identity; `name` and `value` NUL-terminated strings;
/// `matches_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_matches_header(
    identity: *const nacoscrypt_server_identity,
    name: *const c_char,
    value: *const c_char,
    matches_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let identity = unsafe { arg_ref(identity, "identity") }?;
        let name = unsafe { arg_str(name, "name") }?;
        let value = unsafe { arg_str(value, "value") }?;
        check_out(matches_out, "matches_out")?;
        let matches = identity.matches([(name, value)]);
        unsafe { out(matches_out, matches) };
        Ok(())
    })
}

/// Checks a request's headers (`len` pairs `names[i]: values[i]`): `*matches_out` is true if
/// the first header named like the key (ASCII case-insensitive) carries exactly the value.
/// The arrays may be NULL when `len` is 0 (then false).
///
/// # Safety
/// `identity` must be a live identity; the arrays hold `len` NUL-terminated strings each;
/// `matches_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_matches_headers(
    identity: *const nacoscrypt_server_identity,
    names: *const *const c_char,
    values: *const *const c_char,
    len: usize,
    matches_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let identity = unsafe { arg_ref(identity, "identity") }?;
        let names = unsafe { arg_array(names, len, "names") }?;
        let values = unsafe { arg_array(values, len, "values") }?;
        let headers = names
            .iter()
            .zip(values)
            .map(|(&n, &v)| unsafe { Ok((arg_str(n, "names[i]")?, arg_str(v, "values[i]")?)) })
            .collect::<FfiResult<Vec<(&str, &str)>>>()?;
        check_out(matches_out, "matches_out")?;
        let matches = identity.matches(headers);
        unsafe { out(matches_out, matches) };
        Ok(())
    })
}

/// Checks a header value alone: `*matches_out` is true if `value` (`value_len` bytes) is
/// exactly the identity value or one of the older values it accepts (each compared in
/// constant time for equal lengths).
///
/// # Safety
/// `identity` must be a live identity; `value` readable for `value_len` bytes; `matches_out`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_matches_value(
    identity: *const nacoscrypt_server_identity,
    value: *const c_char,
    value_len: usize,
    matches_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let identity = unsafe { arg_ref(identity, "identity") }?;
        let value = unsafe { arg_text(value, value_len, "value") }?;
        check_out(matches_out, "matches_out")?;
        let matches = identity.matches_value(value);
        unsafe { out(matches_out, matches) };
        Ok(())
    })
}

/// Frees a server identity (its value is wiped). NULL is ignored.
///
/// # Safety
/// `identity` must be NULL or a live identity, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_free(
    identity: *mut nacoscrypt_server_identity,
) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(identity) }
}
