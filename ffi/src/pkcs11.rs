//! PKCS#11 tokens (HSMs, SoftHSM2; SPEC 5.3) as an ordinary `nacoscrypt_kms` handle.

use crate::boundary::{arg_str, arg_struct, check_out, out_handle};
use crate::error::{FfiError, FfiResult, ffi_call};
use crate::kms::{KmsImpl, nacoscrypt_kms};
use crate::result::nacoscrypt_result;
use core::ffi::c_char;
use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
use std::path::Path;

/// Options of `nacoscrypt_kms_pkcs11_new()`. Zero-initialise it (`= {0}`), set `struct_size`
/// to `sizeof(nacoscrypt_kms_pkcs11_options)`, then the fields you need: NULL strings and zero
/// numbers mean "not set". The library copies what it needs; the strings may be freed after
/// the call.
///
/// The token is `token_label`, or with `use_slot` the token in slot `slot`. The user PIN is read
/// from the file `pin_file` (one trailing newline ignored), else from the environment variable
/// named `pin_env` (for example `"NACOSCRYPT_PKCS11_PIN"`); with neither the KMS does not log in
/// and sees only the token's public objects. The PIN is wiped from memory when the KMS is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nacoscrypt_kms_pkcs11_options {
    /// `sizeof(nacoscrypt_kms_pkcs11_options)`: lets later versions add fields.
    pub struct_size: usize,
    /// The PKCS#11 module (shared library), for example `/usr/lib/softhsm/libsofthsm2.so`.
    /// Required. It is loaded and initialised once per process and shared by every KMS on it.
    pub module: *const c_char,
    /// The label of the token (`CK_TOKEN_INFO.label`), or NULL with `use_slot`.
    pub token_label: *const c_char,
    /// Find the token by `slot` instead of `token_label`.
    pub use_slot: bool,
    /// With `use_slot`: the slot id.
    pub slot: u64,
    /// The label of the AES key used when a call passes an empty key id (NULL: none, and an
    /// empty key id is then an error).
    pub default_key_label: *const c_char,
    /// A file that holds the user PIN.
    pub pin_file: *const c_char,
    /// The name of an environment variable that holds the user PIN (when `pin_file` is NULL).
    pub pin_env: *const c_char,
    /// Idle sessions kept for reuse (0: 16).
    pub max_idle_sessions: u32,
}

/// An optional string option.
///
/// # Safety
/// `ptr` NULL or a NUL-terminated string.
unsafe fn opt<'a>(ptr: *const c_char, name: &'static str) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    Ok(Some(unsafe { arg_str(ptr, name) }?))
}

/// Makes a KMS whose master keys are AES key objects of a PKCS#11 token: the key id of every
/// call is a key's label (`CKA_LABEL`). Data keys and direct configs are encrypted inside the
/// token with `CKM_AES_GCM`, the context as AAD; the blob names the key's label, so configs
/// written before a rotation (a new key under a new label) still decrypt. One pool of sessions
/// serves every thread, logged in once.
///
/// The module is loaded, the token found and the user logged in now: a missing module is
/// `NACOSCRYPT_RESULT_IO`, a missing token or a refused PIN `NACOSCRYPT_RESULT_KMS` with the
/// module's code in the last error message (`CKR_PIN_INCORRECT`, `CKR_TOKEN_NOT_PRESENT`).
/// Later, a key label not in the token is `NACOSCRYPT_RESULT_UNKNOWN_KEY`, a blob that does not
/// authenticate `NACOSCRYPT_RESULT_AUTHENTICATION_FAILED`.
///
/// - `kms_out`: receives a new KMS owned by the caller (free with `nacoscrypt_kms_free()`);
///   written only on success.
///
/// Example:
/// ```c
/// nacoscrypt_kms_pkcs11_options o = {0};
/// nacoscrypt_kms *kms = NULL;
/// o.struct_size = sizeof o;
/// o.module = "/usr/lib/softhsm/libsofthsm2.so";
/// o.token_label = "nacos";
/// o.default_key_label = "nacos-2026";
/// o.pin_env = "NACOSCRYPT_PKCS11_PIN";
/// nacoscrypt_result rc = nacoscrypt_kms_pkcs11_new(&o, &kms); // else: nacoscrypt_last_error_message()
/// ```
///
/// # Safety
/// `options` must point to a `nacoscrypt_kms_pkcs11_options` whose non-NULL strings are
/// NUL-terminated; `kms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_pkcs11_new(
    options: *const nacoscrypt_kms_pkcs11_options,
    kms_out: *mut *mut nacoscrypt_kms,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let o = unsafe { arg_struct(options, "options") }?;
        check_out(kms_out, "kms_out")?;
        if o.struct_size < size_of::<nacoscrypt_kms_pkcs11_options>() {
            return Err(FfiError::invalid(
                "options",
                "has a struct_size smaller than this library's options",
            ));
        }
        // SAFETY (for each `opt`): the options' strings are NULL or NUL-terminated by contract.
        let s = |p, n| unsafe { opt(p, n) };
        let module = s(o.module, "options.module")?
            .ok_or_else(|| FfiError::invalid("options", "sets no module"))?;
        let token = match (s(o.token_label, "options.token_label")?, o.use_slot) {
            (Some(_), true) => {
                return Err(FfiError::invalid(
                    "options",
                    "sets both token_label and use_slot",
                ));
            }
            (Some(label), false) => Token::Label(label.to_owned()),
            (None, true) => Token::Slot(o.slot),
            (None, false) => {
                return Err(FfiError::invalid(
                    "options",
                    "sets neither token_label nor use_slot",
                ));
            }
        };
        let mut b = Pkcs11Kms::builder().module(module).token(token);
        if let Some(path) = s(o.pin_file, "options.pin_file")? {
            b = b.pin(Pin::from_file(Path::new(path))?);
        } else if let Some(name) = s(o.pin_env, "options.pin_env")? {
            b = b.pin(Pin::from_env(name)?);
        }
        if let Some(label) = s(o.default_key_label, "options.default_key_label")? {
            b = b.default_key_label(label);
        }
        if o.max_idle_sessions != 0 {
            b = b.max_idle_sessions(usize::try_from(o.max_idle_sessions).unwrap_or(usize::MAX));
        }
        let kms = b.build()?;
        // SAFETY: `kms_out` was checked; writable by contract.
        unsafe { out_handle(kms_out, KmsImpl::Pkcs11(kms)) };
        Ok(())
    })
}
