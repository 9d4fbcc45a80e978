//! Configuration encryption (SPEC 2): the data ID picks the scheme, the writer the format.

use crate::boundary::{arg_bytes, arg_ref, arg_str, arg_struct, arg_text, ffi_value};
use crate::error::{FfiError, FfiResult, ffi_call};
use crate::kms::nacoscrypt_kms;
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::config::{self, ConfigId, Format, Limits, Scheme};
use nacoscrypt_core::kms::{DataKey, KeySpec};

/// A configuration's identity in Nacos. All three strings are required (NUL-terminated UTF-8);
/// an empty `tenant` means the `public` namespace.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nacoscrypt_config_id {
    /// The data ID; its prefix selects the scheme: `cipher-kms-aes-256-` (envelope, AES-256),
    /// `cipher-kms-aes-128-` (envelope, AES-128), `cipher-` (the KMS encrypts the content).
    pub data_id: *const c_char,
    /// The group (for example `DEFAULT_GROUP`).
    pub group: *const c_char,
    /// The tenant (namespace id); `""` for `public`.
    pub tenant: *const c_char,
}

/// The stored format of an encrypted config: `NACOSCRYPT_FORMAT_NACOS` or
/// `NACOSCRYPT_FORMAT_V1`.
#[allow(non_camel_case_types)]
pub type nacoscrypt_format = u32;

/// The `nacos` format: AES-ECB, what every Nacos client reads and writes (no integrity).
pub const NACOSCRYPT_FORMAT_NACOS: nacoscrypt_format = 0;
/// The `v1` format: AES-GCM bound to data ID, group and tenant; content starts with `nc1:`.
pub const NACOSCRYPT_FORMAT_V1: nacoscrypt_format = 1;

/// Plaintext size limits for decryption, in UTF-8 bytes (`nacoscrypt_limits_nacos()` gives
/// Nacos' defaults: 51,200 envelope, 6,144 direct).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct nacoscrypt_limits {
    /// Largest plaintext for the envelope schemes.
    pub envelope: usize,
    /// Largest plaintext for the direct `cipher-` scheme.
    pub direct: usize,
}

/// Nacos' default limits: 51,200 bytes (envelope) and 6,144 bytes (direct).
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_limits_nacos() -> nacoscrypt_limits {
    let nacos = nacoscrypt_limits {
        envelope: Limits::NACOS.envelope,
        direct: Limits::NACOS.direct,
    };
    ffi_value(nacos, || nacos)
}

/// `true` if `data_id` names an encrypted config (starts with `cipher-`); `false` for NULL or
/// invalid UTF-8.
///
/// # Safety
/// `data_id` must be NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_config_is_encrypted_data_id(data_id: *const c_char) -> bool {
    ffi_value(false, || {
        // SAFETY: forwarded contract.
        unsafe { arg_str(data_id, "data_id") }.is_ok_and(Scheme::is_encrypted_data_id)
    })
}

fn format_arg(format: nacoscrypt_format) -> FfiResult<Format> {
    match format {
        NACOSCRYPT_FORMAT_NACOS => Ok(Format::Nacos),
        NACOSCRYPT_FORMAT_V1 => Ok(Format::V1),
        _ => Err(FfiError::invalid(
            "format",
            "is neither NACOSCRYPT_FORMAT_NACOS nor NACOSCRYPT_FORMAT_V1",
        )),
    }
}

/// Reads a config id.
///
/// # Safety
/// `id` must be NULL or point to a config id whose strings are NUL-terminated.
unsafe fn id_arg<'a>(id: *const nacoscrypt_config_id) -> FfiResult<ConfigId<'a>> {
    // SAFETY: forwarded contract (every block below).
    let id = unsafe { arg_struct(id, "id") }?;
    Ok(ConfigId::new(
        unsafe { arg_str(id.data_id, "id->data_id") }?,
        unsafe { arg_str(id.group, "id->group") }?,
        unsafe { arg_str(id.tenant, "id->tenant") }?,
    ))
}

/// A data key argument: its size is the data ID's scheme's, or by its length (16 or 32 bytes)
/// for a data ID without an envelope prefix.
fn data_key_arg(key: &[u8], id: &ConfigId<'_>) -> FfiResult<DataKey> {
    let spec = match Scheme::for_encrypt(id.data_id) {
        Ok(Scheme::Envelope(spec)) => spec,
        _ if key.len() == 16 => KeySpec::Aes128,
        _ => KeySpec::Aes256,
    };
    Ok(DataKey::new(spec, key)?)
}

/// Encrypts a config for Nacos: the scheme comes from `id->data_id`, the master key is
/// `key_id` of `kms`, the stored format is `format`.
///
/// - `plaintext`, `plaintext_len`: the UTF-8 content (not necessarily NUL-terminated); empty
///   is refused, over 51,200 bytes (envelope) or 6,144 (direct) too.
/// - `content_out`: receives the stored content (free with `nacoscrypt_string_free()`);
///   `content_len_out` (may be NULL) its length.
/// - `encrypted_data_key_out`: receives the `encryptedDataKey` to store beside it (`""` for
///   the direct scheme; free with `nacoscrypt_string_free()`); `encrypted_data_key_len_out`
///   (may be NULL) its length.
///
/// Outputs are written only on success. Errors: `NACOSCRYPT_RESULT_NOT_ENCRYPTED_DATA_ID`,
/// `_EMPTY_CONTENT`, `_CONTENT_TOO_LARGE`, `_UNKNOWN_KEY`, `_KMS`, …
///
/// Thread safety: safe to call concurrently with the same `kms`.
///
/// # Safety
/// Pointers as documented: `kms` live, `id` valid, `plaintext` readable for `plaintext_len`
/// bytes, `key_id` NUL-terminated, outputs writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_config_encrypt(
    kms: *const nacoscrypt_kms,
    id: *const nacoscrypt_config_id,
    plaintext: *const c_char,
    plaintext_len: usize,
    key_id: *const c_char,
    format: nacoscrypt_format,
    content_out: *mut *mut c_char,
    content_len_out: *mut usize,
    encrypted_data_key_out: *mut *mut c_char,
    encrypted_data_key_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let kms = unsafe { arg_ref(kms, "kms") }?;
        let id = unsafe { id_arg(id) }?;
        let plaintext = unsafe { arg_text(plaintext, plaintext_len, "plaintext") }?;
        let key_id = unsafe { arg_str(key_id, "key_id") }?;
        let format = format_arg(format)?;
        let content_target = StringOut::new(content_out, content_len_out, "content_out")?;
        let edk_target = StringOut::new(
            encrypted_data_key_out,
            encrypted_data_key_len_out,
            "encrypted_data_key_out",
        )?;
        let stored = config::encrypt(kms.as_dyn(), &id, plaintext, key_id, format)?;
        let content = content_target.prepare(stored.content.as_bytes())?;
        let edk = edk_target.prepare(stored.encrypted_data_key.as_bytes())?;
        unsafe {
            content.commit();
            edk.commit();
        }
        Ok(())
    })
}

/// Decrypts a stored config with Nacos' default limits; the format (`nacos` or `v1`) is
/// detected from the content.
///
/// - `content`, `content_len`: the stored content.
/// - `encrypted_data_key`: the stored `encryptedDataKey`, NUL-terminated (`""` for the direct
///   scheme).
/// - `plaintext_out`: receives the plaintext (free with `nacoscrypt_string_free()`, which
///   wipes it); `plaintext_len_out` (may be NULL) its length. Written only on success.
///
/// Errors: `NACOSCRYPT_RESULT_AUTHENTICATION_FAILED` (v1 tampered, moved or wrong key),
/// `_BAD_PADDING` / `_NOT_WHOLE_BLOCKS` (nacos format, wrong key or damaged),
/// `_INVALID_BASE64`, `_INVALID_UTF8`, `_UNKNOWN_KEY`, `_KMS`, …
///
/// Thread safety: safe to call concurrently with the same `kms`.
///
/// # Safety
/// Pointers as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_config_decrypt(
    kms: *const nacoscrypt_kms,
    id: *const nacoscrypt_config_id,
    content: *const c_char,
    content_len: usize,
    encrypted_data_key: *const c_char,
    plaintext_out: *mut *mut c_char,
    plaintext_len_out: *mut usize,
) -> nacoscrypt_result {
    let limits = nacoscrypt_limits_nacos();
    // The boundary (catch_unwind, last error) is the one of the function called.
    // SAFETY: forwarded contract; `limits` lives through the call.
    unsafe {
        nacoscrypt_config_decrypt_with_limits(
            kms,
            id,
            content,
            content_len,
            encrypted_data_key,
            &limits,
            plaintext_out,
            plaintext_len_out,
        )
    }
}

/// `nacoscrypt_config_decrypt()` with caller-chosen `limits` (for a cluster configured with
/// larger configs).
///
/// # Safety
/// As `nacoscrypt_config_decrypt()`; `limits` must point to a valid `nacoscrypt_limits`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_config_decrypt_with_limits(
    kms: *const nacoscrypt_kms,
    id: *const nacoscrypt_config_id,
    content: *const c_char,
    content_len: usize,
    encrypted_data_key: *const c_char,
    limits: *const nacoscrypt_limits,
    plaintext_out: *mut *mut c_char,
    plaintext_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let kms = unsafe { arg_ref(kms, "kms") }?;
        let id = unsafe { id_arg(id) }?;
        let content = unsafe { arg_text(content, content_len, "content") }?;
        let edk = unsafe { arg_str(encrypted_data_key, "encrypted_data_key") }?;
        let limits = unsafe { arg_struct(limits, "limits") }?;
        let limits = Limits {
            envelope: limits.envelope,
            direct: limits.direct,
        };
        let target = StringOut::new(plaintext_out, plaintext_len_out, "plaintext_out")?;
        let plaintext = config::decrypt_with_limits(kms.as_dyn(), &id, content, edk, &limits)?;
        unsafe { target.write(plaintext.as_bytes()) }
    })
}

/// Encrypts with a data key the caller already has (the cipher step alone, no KMS): writes
/// the stored content. The key's size is the data ID's scheme's (`cipher-kms-aes-256-`: 32
/// bytes, `cipher-kms-aes-128-`: 16), or for another data ID its length (16 or 32).
///
/// - `data_key`, `data_key_len`: the raw key bytes.
/// - `encrypted_data_key`: the blob that will be stored beside the content (bound into the
///   `v1` format; unused by `nacos`), NUL-terminated.
/// - `content_out`: receives the stored content (free with `nacoscrypt_string_free()`);
///   `content_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// Pointers as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_config_encrypt_with_data_key(
    data_key: *const u8,
    data_key_len: usize,
    id: *const nacoscrypt_config_id,
    plaintext: *const c_char,
    plaintext_len: usize,
    encrypted_data_key: *const c_char,
    format: nacoscrypt_format,
    content_out: *mut *mut c_char,
    content_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let key = unsafe { arg_bytes(data_key, data_key_len, "data_key") }?;
        let id = unsafe { id_arg(id) }?;
        let plaintext = unsafe { arg_text(plaintext, plaintext_len, "plaintext") }?;
        let edk = unsafe { arg_str(encrypted_data_key, "encrypted_data_key") }?;
        let format = format_arg(format)?;
        let target = StringOut::new(content_out, content_len_out, "content_out")?;
        let key = data_key_arg(key, &id)?;
        let content = config::encrypt_with_data_key(&key, &id, plaintext, edk, format)?;
        unsafe { target.write(content.as_bytes()) }
    })
}

/// Decrypts stored content with a data key the caller already has (the cipher step alone),
/// with Nacos' default limits; the format is detected. Key size as for
/// `nacoscrypt_config_encrypt_with_data_key()`.
///
/// - `plaintext_out`: receives the plaintext (free with `nacoscrypt_string_free()`, which
///   wipes it); `plaintext_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// Pointers as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_config_decrypt_with_data_key(
    data_key: *const u8,
    data_key_len: usize,
    id: *const nacoscrypt_config_id,
    content: *const c_char,
    content_len: usize,
    encrypted_data_key: *const c_char,
    plaintext_out: *mut *mut c_char,
    plaintext_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let key = unsafe { arg_bytes(data_key, data_key_len, "data_key") }?;
        let id = unsafe { id_arg(id) }?;
        let content = unsafe { arg_text(content, content_len, "content") }?;
        let edk = unsafe { arg_str(encrypted_data_key, "encrypted_data_key") }?;
        let target = StringOut::new(plaintext_out, plaintext_len_out, "plaintext_out")?;
        let key = data_key_arg(key, &id)?;
        let plaintext = config::decrypt_with_data_key(&key, &id, content, edk, &Limits::NACOS)?;
        unsafe { target.write(plaintext.as_bytes()) }
    })
}
