//! Auth settings: a cluster's token settings from `application.properties` or the Docker
//! image's environment, and the token manager and server identity they make.

use super::identity::nacoscrypt_server_identity;
use super::manager::nacoscrypt_token_manager;
use crate::boundary::{
    Castable, OwnershipBox, arg_ref, arg_str, arg_text, check_out, free_handle, out_handle,
};
use crate::error::ffi_call;
use crate::getter::get;
use crate::result::nacoscrypt_result;
use core::ffi::c_char;
use nacoscrypt_core::token::AuthSettings;

/// The token settings of a Nacos cluster (secret key, token validity, cache switch, server
/// identity), from its `application.properties` or the Docker image's environment.
///
/// Thread safety: immutable; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_auth_settings {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_auth_settings {
    type Ownership = OwnershipBox;
    type RustType = AuthSettings;
}

/// Reads the settings from an `application.properties` text (`${NAME:default}` placeholders
/// resolve against the text's own properties, then their defaults; not the environment).
/// Invalid: `NACOSCRYPT_RESULT_INVALID_SETTINGS`.
///
/// - `settings_out`: receives new settings owned by the caller (free with
///   `nacoscrypt_auth_settings_free()`); written only on success.
///
/// # Safety
/// `text` readable for `text_len` bytes; `settings_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_from_properties(
    text: *const c_char,
    text_len: usize,
    settings_out: *mut *mut nacoscrypt_auth_settings,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let text = unsafe { arg_text(text, text_len, "text") }?;
        check_out(settings_out, "settings_out")?;
        let settings = AuthSettings::from_properties(text)?;
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(settings_out, settings) };
        Ok(())
    })
}

/// Reads an `application.properties` file, resolving placeholders against this process's
/// environment (as the Docker image's file, which reads `${NACOS_AUTH_TOKEN:}`, needs).
///
/// # Safety
/// `path` must be a NUL-terminated UTF-8 string; `settings_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_from_properties_file(
    path: *const c_char,
    settings_out: *mut *mut nacoscrypt_auth_settings,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { arg_str(path, "path") }?;
        check_out(settings_out, "settings_out")?;
        let settings = AuthSettings::from_properties_file(path)?;
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(settings_out, settings) };
        Ok(())
    })
}

/// Reads the settings from this process's environment, with the Docker image's names
/// (`NACOS_AUTH_TOKEN`, `NACOS_AUTH_TOKEN_EXPIRE_SECONDS`, `NACOS_AUTH_CACHE_ENABLE`,
/// `NACOS_AUTH_IDENTITY_KEY`, `NACOS_AUTH_IDENTITY_VALUE`).
///
/// # Safety
/// `settings_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_from_env(
    settings_out: *mut *mut nacoscrypt_auth_settings,
) -> nacoscrypt_result {
    ffi_call(|| {
        check_out(settings_out, "settings_out")?;
        let settings = AuthSettings::from_process_env()?;
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(settings_out, settings) };
        Ok(())
    })
}

/// The token validity setting in seconds (default 18,000; 0 if `settings` is NULL).
///
/// # Safety
/// `settings` must be NULL or live settings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_expire_seconds(
    settings: *const nacoscrypt_auth_settings,
) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { get(settings, 0, |s| s.expire_seconds) }
}

/// The token cache switch (default false; false if `settings` is NULL).
///
/// # Safety
/// `settings` must be NULL or live settings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_cache_enabled(
    settings: *const nacoscrypt_auth_settings,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { get(settings, false, |s| s.cache_enabled) }
}

/// A token manager with the settings' secret key and validity (leeway 0). Secret key not set:
/// `NACOSCRYPT_RESULT_INVALID_SETTINGS`; publicly known keys refused unless
/// `allow_publicly_known`.
///
/// - `manager_out`: receives a new manager owned by the caller; written only on success.
///
/// # Safety
/// `settings` must be live settings; `manager_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_token_manager(
    settings: *const nacoscrypt_auth_settings,
    allow_publicly_known: bool,
    manager_out: *mut *mut nacoscrypt_token_manager,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let settings = unsafe { arg_ref(settings, "settings") }?;
        check_out(manager_out, "manager_out")?;
        let manager = if allow_publicly_known {
            settings.token_manager_allowing_publicly_known()?
        } else {
            settings.token_manager()?
        };
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(manager_out, manager) };
        Ok(())
    })
}

/// The server identity of the settings. Not set: `NACOSCRYPT_RESULT_INVALID_IDENTITY`; the old
/// public default refused unless `allow_publicly_known`.
///
/// - `identity_out`: receives a new identity owned by the caller; written only on success.
///
/// # Safety
/// `settings` must be live settings; `identity_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_server_identity(
    settings: *const nacoscrypt_auth_settings,
    allow_publicly_known: bool,
    identity_out: *mut *mut nacoscrypt_server_identity,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let settings = unsafe { arg_ref(settings, "settings") }?;
        check_out(identity_out, "identity_out")?;
        let identity = if allow_publicly_known {
            settings.server_identity_allowing_publicly_known()?
        } else {
            settings.server_identity()?
        };
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(identity_out, identity) };
        Ok(())
    })
}

/// Frees settings (the secret key text and identity value are wiped). NULL is ignored.
///
/// # Safety
/// `settings` must be NULL or live settings, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_free(settings: *mut nacoscrypt_auth_settings) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(settings) }
}
