//! The auth settings audit (`nacoscrypt auth audit`): what in a server's
//! `application.properties` and/or Docker environment weakens its auth.

use crate::boundary::{arg_array, arg_str, arg_text, out_opt};
use crate::error::{FfiResult, ffi_call};
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::token::audit::{Severity, audit};

/// Audits a server's auth settings: its `application.properties` text (`properties`,
/// `properties_len` bytes; NULL for none) with `${NAME:default}` placeholders resolved against
/// the `env_len` variables `env_names[i]=env_values[i]` first, or without a file the Docker
/// image's variables alone (`NACOS_AUTH_ENABLE`, `NACOS_AUTH_TOKEN`,
/// `NACOS_AUTH_IDENTITY_KEY`, …). The arrays may be NULL when `env_len` is 0.
///
/// Flags auth disabled, the user-agent white list, a missing, undecodable, short or publicly
/// known secret key, a missing or default server identity, a token validity outside
/// 300..=86400 s and the token cache; never prints a secret.
///
/// - `json_out`: receives the report
///   `{"ok":…,"errors":n,"warnings":n,"findings":[{"severity","code","setting","message"}…]}`
///   (free with `nacoscrypt_string_free()`); `json_len_out` (may be NULL) its length;
///   `errors_out` and `warnings_out` (may be NULL) the counts. Written only on success.
///
/// A file that is not a properties file at all (over 4 MiB, say) is
/// `NACOSCRYPT_RESULT_INVALID_SETTINGS`; a single unreadable setting is a finding.
///
/// # Safety
/// `properties` NULL or readable for `properties_len` bytes; the arrays hold `env_len`
/// NUL-terminated strings each; `json_out` writable; the other outputs NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_audit(
    properties: *const c_char,
    properties_len: usize,
    env_names: *const *const c_char,
    env_values: *const *const c_char,
    env_len: usize,
    json_out: *mut *mut c_char,
    json_len_out: *mut usize,
    errors_out: *mut usize,
    warnings_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let text = if properties.is_null() {
            None
        } else {
            Some(unsafe { arg_text(properties, properties_len, "properties") }?)
        };
        let names = unsafe { arg_array(env_names, env_len, "env_names") }?;
        let values = unsafe { arg_array(env_values, env_len, "env_values") }?;
        let env = names
            .iter()
            .zip(values)
            .map(|(&n, &v)| unsafe {
                Ok((arg_str(n, "env_names[i]")?, arg_str(v, "env_values[i]")?))
            })
            .collect::<FfiResult<Vec<(&str, &str)>>>()?;
        let target = StringOut::new(json_out, json_len_out, "json_out")?;
        let report = audit(text, env)?;
        unsafe { target.write(report.to_json().as_bytes()) }?;
        unsafe { out_opt(errors_out, report.count(Severity::Error)) };
        unsafe { out_opt(warnings_out, report.count(Severity::Warning)) };
        Ok(())
    })
}
