//! KMS handles (SPEC 2.3): the local keyring, or the caller's own KMS through C callbacks.

use crate::boundary::{
    Castable, OwnershipBox, OwnershipRef, arg_array, arg_bytes, arg_message, arg_mut, arg_ref,
    arg_str, arg_struct, arg_text, check_out, free_handle, lend_mut, out_handle,
};
use crate::error::{FfiError, FfiResult, ffi_call, set_pending_kms_code};
use crate::keyring::{KeyringSource, nacoscrypt_keyring};
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::{c_char, c_int, c_void};
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Kms};
use nacoscrypt_core::{Error, Result, SecretBytes};
use std::ffi::CString;

/// The callback that makes a data key: a fresh random key of `key_spec` (`"AES_256"`: 32
/// bytes, `"AES_128"`: 16 bytes) under the master key `key_id`, bound to the context.
///
/// On success it calls `nacoscrypt_kms_output_set_plaintext(out, key, len)` and
/// `nacoscrypt_kms_output_set_ciphertext_blob(out, blob, len)` and returns 0. On failure it
/// returns its own non-zero code and may call `nacoscrypt_kms_output_set_error_message()`;
/// the library call then fails with `NACOSCRYPT_RESULT_KMS`, and the code and the message
/// reach the caller through `nacoscrypt_last_kms_error_code()` and
/// `nacoscrypt_last_error_message()`.
///
/// The context is `context_len` pairs `context_names[i]` = `context_values[i]` (NUL-terminated
/// UTF-8, sorted by name; the arrays may be NULL when `context_len` is 0). All pointers are
/// valid only during the call. Callbacks must not unwind (no C++ exception, no `longjmp`) out
/// of the call.
#[allow(non_camel_case_types)]
pub type nacoscrypt_kms_generate_data_key_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key_id: *const c_char,
        key_spec: *const c_char,
        context_names: *const *const c_char,
        context_values: *const *const c_char,
        context_len: usize,
        out: *mut nacoscrypt_kms_output,
    ) -> c_int,
>;

/// The callback that encrypts `plaintext_len` bytes at `plaintext` under the master key
/// `key_id`, bound to the context; on success it calls
/// `nacoscrypt_kms_output_set_ciphertext_blob()` and returns 0. Errors and context as for
/// `nacoscrypt_kms_generate_data_key_fn`. The blob must be text (UTF-8, for example base64).
#[allow(non_camel_case_types)]
pub type nacoscrypt_kms_encrypt_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        key_id: *const c_char,
        plaintext: *const u8,
        plaintext_len: usize,
        context_names: *const *const c_char,
        context_values: *const *const c_char,
        context_len: usize,
        out: *mut nacoscrypt_kms_output,
    ) -> c_int,
>;

/// The callback that decrypts a blob made by the encrypt or generate_data_key callback
/// (`ciphertext_blob` is NUL-terminated and also given with its length) under the same
/// context; on success it calls `nacoscrypt_kms_output_set_plaintext()` and returns 0. Errors
/// and context as for `nacoscrypt_kms_generate_data_key_fn`.
#[allow(non_camel_case_types)]
pub type nacoscrypt_kms_decrypt_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        ciphertext_blob: *const c_char,
        ciphertext_blob_len: usize,
        context_names: *const *const c_char,
        context_values: *const *const c_char,
        context_len: usize,
        out: *mut nacoscrypt_kms_output,
    ) -> c_int,
>;

/// Releases `userdata` when the KMS handle made from the callback table is freed.
#[allow(non_camel_case_types)]
pub type nacoscrypt_kms_destroy_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A C callback table implementing a KMS (Alibaba Cloud KMS, AWS KMS, an HSM, …).
///
/// `nacoscrypt_kms_from_callbacks()` copies the table. A NULL callback makes the matching
/// operation fail with `NACOSCRYPT_RESULT_KMS` (a decrypt-only KMS may leave `encrypt` and
/// `generate_data_key` NULL); at least one callback must be set.
///
/// Thread safety: a KMS handle may be used from many threads at once, and then the callbacks
/// are called concurrently with the same `userdata`: they must be thread-safe if the handle is
/// shared.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nacoscrypt_kms_callbacks {
    /// Passed as the first argument of every callback; owned by the KMS handle from a
    /// successful `nacoscrypt_kms_from_callbacks()` on (see `destroy`).
    pub userdata: *mut c_void,
    /// Makes a data key (envelope schemes, on encrypt).
    pub generate_data_key: nacoscrypt_kms_generate_data_key_fn,
    /// Encrypts a small plaintext (the direct `cipher-` scheme, on encrypt).
    pub encrypt: nacoscrypt_kms_encrypt_fn,
    /// Decrypts a blob (every scheme, on decrypt).
    pub decrypt: nacoscrypt_kms_decrypt_fn,
    /// Called once with `userdata` when the KMS handle is freed (may be NULL). Not called if
    /// `nacoscrypt_kms_from_callbacks()` fails: `userdata` then stays the caller's.
    pub destroy: nacoscrypt_kms_destroy_fn,
}

/// Where a KMS callback puts its results, through the `nacoscrypt_kms_output_set_*()`
/// functions. Owned by the library; valid only during the callback.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct nacoscrypt_kms_output {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_kms_output {
    type Ownership = OwnershipRef;
    type RustType = KmsOutput;
}

/// What a callback has set so far.
#[derive(Debug, Default)]
pub(crate) struct KmsOutput {
    plaintext: Option<SecretBytes>,
    blob: Option<String>,
    message: Option<String>,
}

/// Sets the plaintext result of a callback: the data key (generate_data_key) or the decrypted
/// bytes (decrypt). The library copies the bytes (and wipes its copy when done); the caller
/// keeps ownership of `bytes` (wipe it if it is secret).
///
/// # Safety
/// `out` must be the output passed to the running callback; `bytes` must point to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_output_set_plaintext(
    out: *mut nacoscrypt_kms_output,
    bytes: *const u8,
    len: usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: the output lent to the running callback, by contract.
        let output = unsafe { arg_mut(out, "out") }?;
        // SAFETY: forwarded contract.
        let bytes = unsafe { arg_bytes(bytes, len, "bytes") }?;
        output.plaintext = Some(SecretBytes::copy_from(bytes));
        Ok(())
    })
}

/// Sets the ciphertext blob result of a callback (generate_data_key, encrypt): `len` bytes of
/// UTF-8 text at `blob` (NUL-terminated or not). The library copies it. A blob with a NUL byte
/// among its `len` bytes is refused (`NACOSCRYPT_INVALID_ARGUMENT`, and the blob stays unset):
/// it would be stored as a config's `encryptedDataKey` or content, which the NUL-terminated
/// decrypt entry points could never read back.
///
/// # Safety
/// `out` must be the output passed to the running callback; `blob` must point to `len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_output_set_ciphertext_blob(
    out: *mut nacoscrypt_kms_output,
    blob: *const c_char,
    len: usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: the output lent to the running callback, by contract.
        let output = unsafe { arg_mut(out, "out") }?;
        // SAFETY: forwarded contract.
        let blob = unsafe { arg_text(blob, len, "blob") }?;
        if blob.contains('\0') {
            return Err(FfiError::invalid("blob", "contains a NUL byte"));
        }
        output.blob = Some(blob.to_owned());
        Ok(())
    })
}

/// Sets the message of a failing callback (returned with a non-zero code): it reaches the
/// caller in the last error message. NUL-terminated; invalid UTF-8 is replaced. It must not
/// contain secrets.
///
/// # Safety
/// `out` must be the output passed to the running callback; `message` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_output_set_error_message(
    out: *mut nacoscrypt_kms_output,
    message: *const c_char,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: the output lent to the running callback, by contract.
        let output = unsafe { arg_mut(out, "out") }?;
        // SAFETY: NULL or NUL-terminated by contract.
        output.message = Some(unsafe { arg_message(message, "message") }?);
        Ok(())
    })
}

/// The callback KMS: the table, and the promise that it may be shared.
#[derive(Debug)]
pub(crate) struct CallbackKms {
    callbacks: nacoscrypt_kms_callbacks,
}

// SAFETY: the table is plain data. The header documents that callbacks of a handle used from
// several threads must be thread-safe; `userdata` is only ever passed back to them.
unsafe impl Send for CallbackKms {}
// SAFETY: as above.
unsafe impl Sync for CallbackKms {}

impl Drop for CallbackKms {
    fn drop(&mut self) {
        if let Some(destroy) = self.callbacks.destroy {
            // SAFETY: called once, with the table's own userdata, by the table's contract.
            unsafe { destroy(self.callbacks.userdata) };
        }
    }
}

/// A context as C arrays of NUL-terminated strings.
struct CContext {
    _strings: Vec<CString>,
    names: Vec<*const c_char>,
    values: Vec<*const c_char>,
}

impl CContext {
    fn new(context: &Context<'_>) -> Result<Self> {
        let mut strings = Vec::with_capacity(context.len() * 2);
        let mut names = Vec::with_capacity(context.len());
        let mut values = Vec::with_capacity(context.len());
        for (name, value) in context.iter() {
            for (s, list) in [(name, &mut names), (value, &mut values)] {
                let c = c_string(s)?;
                list.push(c.as_ptr());
                strings.push(c);
            }
        }
        Ok(Self {
            _strings: strings,
            names,
            values,
        })
    }

    fn names(&self) -> *const *const c_char {
        if self.names.is_empty() {
            core::ptr::null()
        } else {
            self.names.as_ptr()
        }
    }

    fn values(&self) -> *const *const c_char {
        if self.values.is_empty() {
            core::ptr::null()
        } else {
            self.values.as_ptr()
        }
    }
}

fn c_string(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidArgument {
        reason: "a string for a KMS callback contains a NUL byte",
    })
}

fn missing(what: &'static str) -> Error {
    Error::kms(format!("the callback KMS has no {what} callback"))
}

impl CallbackKms {
    /// Runs one callback with a fresh output; a non-zero code becomes a KMS error.
    fn run(
        op: &'static str,
        call: impl FnOnce(*mut nacoscrypt_kms_output) -> c_int,
    ) -> Result<KmsOutput> {
        let mut output = KmsOutput::default();
        let code = call(lend_mut(&mut output));
        if code != 0 {
            set_pending_kms_code(code);
            let message = output.message.take();
            let message = message.as_deref().unwrap_or("(no message)");
            return Err(Error::kms(format!(
                "{op} callback failed with code {code}: {message}"
            )));
        }
        Ok(output)
    }
}

impl Kms for CallbackKms {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        let f = self
            .callbacks
            .generate_data_key
            .ok_or_else(|| missing("generate_data_key"))?;
        let key_id = c_string(key_id)?;
        let spec = match spec {
            KeySpec::Aes128 => c"AES_128",
            KeySpec::Aes256 => c"AES_256",
        };
        let ctx = CContext::new(context)?;
        let mut output = Self::run("generate_data_key", |out| {
            // SAFETY: the callback's contract; every pointer lives through the call.
            unsafe {
                f(
                    self.callbacks.userdata,
                    key_id.as_ptr(),
                    spec.as_ptr(),
                    ctx.names(),
                    ctx.values(),
                    context.len(),
                    out,
                )
            }
        })?;
        let (Some(plaintext), Some(ciphertext_blob)) =
            (output.plaintext.take(), output.blob.take())
        else {
            return Err(Error::kms(
                "generate_data_key callback returned 0 without setting both the plaintext key and the ciphertext blob",
            ));
        };
        Ok(GeneratedDataKey {
            plaintext,
            ciphertext_blob,
        })
    }

    fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
        let f = self.callbacks.encrypt.ok_or_else(|| missing("encrypt"))?;
        let key_id = c_string(key_id)?;
        let ctx = CContext::new(context)?;
        let mut output = Self::run("encrypt", |out| {
            // SAFETY: the callback's contract; every pointer lives through the call.
            unsafe {
                f(
                    self.callbacks.userdata,
                    key_id.as_ptr(),
                    plaintext.as_ptr(),
                    plaintext.len(),
                    ctx.names(),
                    ctx.values(),
                    context.len(),
                    out,
                )
            }
        })?;
        output.blob.take().ok_or_else(|| {
            Error::kms("encrypt callback returned 0 without setting the ciphertext blob")
        })
    }

    fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        let f = self.callbacks.decrypt.ok_or_else(|| missing("decrypt"))?;
        let blob = c_string(ciphertext_blob)?;
        let ctx = CContext::new(context)?;
        let mut output = Self::run("decrypt", |out| {
            // SAFETY: the callback's contract; every pointer lives through the call.
            unsafe {
                f(
                    self.callbacks.userdata,
                    blob.as_ptr(),
                    ciphertext_blob.len(),
                    ctx.names(),
                    ctx.values(),
                    context.len(),
                    out,
                )
            }
        })?;
        output
            .plaintext
            .take()
            .ok_or_else(|| Error::kms("decrypt callback returned 0 without setting the plaintext"))
    }
}

/// A key management service: the local keyring, the caller's callbacks, or a key service
/// (Alibaba Cloud KMS, AWS KMS, a PKCS#11 token).
///
/// Make one with `nacoscrypt_kms_from_keyring()`, `nacoscrypt_kms_from_callbacks()`,
/// `nacoscrypt_kms_aliyun_new()` / `nacoscrypt_kms_aliyun_from_properties()`,
/// `nacoscrypt_kms_aliyun_instance_new()`, `nacoscrypt_kms_aws_new()` or
/// `nacoscrypt_kms_pkcs11_new()`; free it with `nacoscrypt_kms_free()`. Used by the `nacoscrypt_config_*` functions.
///
/// Thread safety: safe to use from many threads at once (a callback KMS then calls its
/// callbacks concurrently: they must be thread-safe).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct nacoscrypt_kms {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_kms {
    type Ownership = OwnershipBox;
    type RustType = KmsImpl;
}

/// What a KMS handle holds.
#[derive(Debug)]
pub(crate) enum KmsImpl {
    Keyring(KeyringSource),
    Callbacks(CallbackKms),
    #[cfg(feature = "aliyun")]
    Aliyun(nacoscrypt_kms_aliyun::AliyunKms),
    #[cfg(feature = "aliyun")]
    AliyunInstance(nacoscrypt_kms_aliyun::AliyunInstanceKms),
    #[cfg(feature = "aws")]
    Aws(nacoscrypt_kms_aws::AwsKms),
    #[cfg(feature = "pkcs11")]
    Pkcs11(nacoscrypt_kms_pkcs11::Pkcs11Kms),
}

impl KmsImpl {
    /// The KMS as the core's trait object.
    pub(crate) fn as_dyn(&self) -> &(dyn Kms + Sync) {
        match self {
            KmsImpl::Keyring(k) => k.as_kms(),
            KmsImpl::Callbacks(c) => c,
            #[cfg(feature = "aliyun")]
            KmsImpl::Aliyun(a) => a,
            #[cfg(feature = "aliyun")]
            KmsImpl::AliyunInstance(a) => a,
            #[cfg(feature = "aws")]
            KmsImpl::Aws(a) => a,
            #[cfg(feature = "pkcs11")]
            KmsImpl::Pkcs11(p) => p,
        }
    }
}

/// Makes a KMS of the local keyring `keyring`. The KMS shares the keyring: freeing either
/// handle first is fine.
///
/// - `kms_out`: receives a new KMS owned by the caller (free with `nacoscrypt_kms_free()`);
///   written only on success.
///
/// # Safety
/// `keyring` must be a live keyring; `kms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_from_keyring(
    keyring: *const nacoscrypt_keyring,
    kms_out: *mut *mut nacoscrypt_kms,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let keyring = unsafe { arg_ref(keyring, "keyring") }?;
        check_out(kms_out, "kms_out")?;
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(kms_out, KmsImpl::Keyring(keyring.clone())) };
        Ok(())
    })
}

/// Makes a KMS of the caller's callback table (copied). On success the KMS owns
/// `callbacks->userdata` and calls `callbacks->destroy` (if set) when freed; on failure nothing
/// is called and `userdata` stays the caller's.
///
/// - `kms_out`: receives a new KMS owned by the caller (free with `nacoscrypt_kms_free()`);
///   written only on success.
///
/// # Safety
/// `callbacks` must point to a valid table whose functions follow the callback contracts;
/// `kms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_from_callbacks(
    callbacks: *const nacoscrypt_kms_callbacks,
    kms_out: *mut *mut nacoscrypt_kms,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let callbacks = *unsafe { arg_struct(callbacks, "callbacks") }?;
        check_out(kms_out, "kms_out")?;
        if callbacks.generate_data_key.is_none()
            && callbacks.encrypt.is_none()
            && callbacks.decrypt.is_none()
        {
            return Err(FfiError::invalid("callbacks", "has no callback set"));
        }
        let kms = KmsImpl::Callbacks(CallbackKms { callbacks });
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(kms_out, kms) };
        Ok(())
    })
}

/// Frees a KMS (a callback KMS calls its `destroy` callback). NULL is ignored.
///
/// # Safety
/// `kms` must be NULL or a live KMS, not used after this call (and not in use by another
/// thread).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_free(kms: *mut nacoscrypt_kms) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(kms) }
}

/// Reads the context arrays of a KMS call.
///
/// # Safety
/// The arrays must hold `len` NUL-terminated strings each (or be NULL with `len` 0).
unsafe fn arg_context<'a>(
    names: *const *const c_char,
    values: *const *const c_char,
    len: usize,
) -> FfiResult<Context<'a>> {
    // SAFETY: forwarded contract.
    let names = unsafe { arg_array(names, len, "context_names") }?;
    // SAFETY: forwarded contract.
    let values = unsafe { arg_array(values, len, "context_values") }?;
    let mut context = Context::new();
    for (&n, &v) in names.iter().zip(values) {
        // SAFETY: forwarded contract.
        let (n, v) = unsafe {
            (
                arg_str(n, "context_names[i]")?,
                arg_str(v, "context_values[i]")?,
            )
        };
        context.insert(n, v);
    }
    Ok(context)
}

/// Asks `kms` for a data key of `key_spec` (`"AES_256"` or `"AES_128"`) under the master key
/// `key_id`, bound to the context (`context_len` pairs; the arrays may be NULL if it is 0).
///
/// - `plaintext_out`, `plaintext_len_out`: receive the key bytes (a library buffer: free it
///   with `nacoscrypt_bytes_free()`, which wipes it); both required.
/// - `blob_out`: receives the ciphertext blob (free with `nacoscrypt_string_free()`);
///   `blob_len_out` (may be NULL) its length.
///
/// Outputs are written only on success.
///
/// # Safety
/// Pointers as documented; string arguments NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_generate_data_key(
    kms: *const nacoscrypt_kms,
    key_id: *const c_char,
    key_spec: *const c_char,
    context_names: *const *const c_char,
    context_values: *const *const c_char,
    context_len: usize,
    plaintext_out: *mut *mut u8,
    plaintext_len_out: *mut usize,
    blob_out: *mut *mut c_char,
    blob_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let kms = unsafe { arg_ref(kms, "kms") }?;
        let key_id = unsafe { arg_str(key_id, "key_id") }?;
        let spec = unsafe { arg_str(key_spec, "key_spec") }?;
        let spec: KeySpec = spec.parse()?;
        let context = unsafe { arg_context(context_names, context_values, context_len) }?;
        check_out(plaintext_len_out, "plaintext_len_out")?;
        let key_target = StringOut::new(
            plaintext_out.cast::<*mut c_char>(),
            plaintext_len_out,
            "plaintext_out",
        )?;
        let blob_target = StringOut::new(blob_out, blob_len_out, "blob_out")?;
        let generated = kms.as_dyn().generate_data_key(key_id, spec, &context)?;
        let key = key_target.prepare(generated.plaintext.as_bytes())?;
        let blob = blob_target.prepare(generated.ciphertext_blob.as_bytes())?;
        unsafe {
            key.commit();
            blob.commit();
        }
        Ok(())
    })
}

/// Encrypts `plaintext_len` bytes with `kms` under the master key `key_id`, bound to the
/// context (`context_len` pairs; the arrays may be NULL if it is 0).
///
/// - `blob_out`: receives the ciphertext blob (free with `nacoscrypt_string_free()`);
///   `blob_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// Pointers as documented; string arguments NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_encrypt(
    kms: *const nacoscrypt_kms,
    key_id: *const c_char,
    plaintext: *const u8,
    plaintext_len: usize,
    context_names: *const *const c_char,
    context_values: *const *const c_char,
    context_len: usize,
    blob_out: *mut *mut c_char,
    blob_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let kms = unsafe { arg_ref(kms, "kms") }?;
        let key_id = unsafe { arg_str(key_id, "key_id") }?;
        let plaintext = unsafe { arg_bytes(plaintext, plaintext_len, "plaintext") }?;
        let context = unsafe { arg_context(context_names, context_values, context_len) }?;
        let target = StringOut::new(blob_out, blob_len_out, "blob_out")?;
        let blob = kms.as_dyn().encrypt(key_id, plaintext, &context)?;
        unsafe { target.write(blob.as_bytes()) }
    })
}

/// Decrypts a blob made by `kms` under the same context.
///
/// - `ciphertext_blob`, `ciphertext_blob_len`: the blob text.
/// - `plaintext_out`, `plaintext_len_out`: receive the plaintext bytes (a library buffer: free
///   it with `nacoscrypt_bytes_free()`, which wipes it); both required. Written only on
///   success.
///
/// # Safety
/// Pointers as documented; string arguments NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_decrypt(
    kms: *const nacoscrypt_kms,
    ciphertext_blob: *const c_char,
    ciphertext_blob_len: usize,
    context_names: *const *const c_char,
    context_values: *const *const c_char,
    context_len: usize,
    plaintext_out: *mut *mut u8,
    plaintext_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let kms = unsafe { arg_ref(kms, "kms") }?;
        let blob = unsafe { arg_text(ciphertext_blob, ciphertext_blob_len, "ciphertext_blob") }?;
        let context = unsafe { arg_context(context_names, context_values, context_len) }?;
        check_out(plaintext_len_out, "plaintext_len_out")?;
        let target = StringOut::new(
            plaintext_out.cast::<*mut c_char>(),
            plaintext_len_out,
            "plaintext_out",
        )?;
        let plaintext = kms.as_dyn().decrypt(blob, &context)?;
        unsafe { target.write(plaintext.as_bytes()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        NACOSCRYPT_FORMAT_V1, nacoscrypt_config_decrypt, nacoscrypt_config_encrypt,
        nacoscrypt_config_id,
    };
    use crate::error::{nacoscrypt_last_error_code, nacoscrypt_last_kms_error_code};
    use crate::string::nacoscrypt_string_free;
    use core::ffi::CStr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The test KMS state: a fixed data key, a failure switch, a destroy counter.
    struct State {
        fail: c_int,
        destroyed: AtomicUsize,
    }

    unsafe extern "C" fn generate(
        userdata: *mut c_void,
        _key_id: *const c_char,
        key_spec: *const c_char,
        _names: *const *const c_char,
        _values: *const *const c_char,
        context_len: usize,
        out: *mut nacoscrypt_kms_output,
    ) -> c_int {
        let state = unsafe { &*userdata.cast::<State>() };
        if state.fail != 0 {
            unsafe { nacoscrypt_kms_output_set_error_message(out, c"throttled".as_ptr()) };
            return state.fail;
        }
        assert_eq!(unsafe { CStr::from_ptr(key_spec) }, c"AES_256");
        assert_eq!(context_len, 3);
        let blob = b"blob";
        unsafe {
            assert_eq!(
                nacoscrypt_kms_output_set_plaintext(out, [9u8; 32].as_ptr(), 32),
                nacoscrypt_result::Ok
            );
            nacoscrypt_kms_output_set_ciphertext_blob(out, blob.as_ptr().cast(), blob.len());
        }
        0
    }

    unsafe extern "C" fn decrypt(
        _userdata: *mut c_void,
        blob: *const c_char,
        blob_len: usize,
        _names: *const *const c_char,
        _values: *const *const c_char,
        _context_len: usize,
        out: *mut nacoscrypt_kms_output,
    ) -> c_int {
        assert_eq!(unsafe { CStr::from_ptr(blob) }.to_bytes().len(), blob_len);
        unsafe { nacoscrypt_kms_output_set_plaintext(out, [9u8; 32].as_ptr(), 32) };
        0
    }

    unsafe extern "C" fn destroy(userdata: *mut c_void) {
        let state = unsafe { &*userdata.cast::<State>() };
        state.destroyed.fetch_add(1, Ordering::Relaxed);
    }

    #[test]
    fn callback_kms_round_trip_failure_and_destroy() {
        let mut state = State {
            fail: 0,
            destroyed: AtomicUsize::new(0),
        };
        let callbacks = nacoscrypt_kms_callbacks {
            userdata: (&raw mut state).cast(),
            generate_data_key: Some(generate),
            encrypt: None,
            decrypt: Some(decrypt),
            destroy: Some(destroy),
        };
        let mut kms = core::ptr::null_mut();
        let id = nacoscrypt_config_id {
            data_id: c"cipher-kms-aes-256-x".as_ptr(),
            group: c"g".as_ptr(),
            tenant: c"".as_ptr(),
        };
        let plain = b"s3cret";
        let (mut content, mut content_len, mut edk) =
            (core::ptr::null_mut(), 0, core::ptr::null_mut());
        unsafe {
            assert_eq!(
                nacoscrypt_kms_from_callbacks(&callbacks, &mut kms),
                nacoscrypt_result::Ok
            );
            let r = nacoscrypt_config_encrypt(
                kms,
                &id,
                plain.as_ptr().cast(),
                plain.len(),
                c"k".as_ptr(),
                NACOSCRYPT_FORMAT_V1,
                &mut content,
                &mut content_len,
                &mut edk,
                core::ptr::null_mut(),
            );
            assert_eq!(r, nacoscrypt_result::Ok);
            let mut out = core::ptr::null_mut();
            let mut out_len = 0;
            let r = nacoscrypt_config_decrypt(
                kms,
                &id,
                content,
                content_len,
                edk,
                &mut out,
                &mut out_len,
            );
            assert_eq!(r, nacoscrypt_result::Ok);
            assert_eq!(
                core::slice::from_raw_parts(out.cast::<u8>(), out_len),
                plain
            );
            nacoscrypt_string_free(out);
            nacoscrypt_string_free(content);
            nacoscrypt_string_free(edk);

            (*callbacks.userdata.cast::<State>()).fail = 7;
            let r = nacoscrypt_config_encrypt(
                kms,
                &id,
                plain.as_ptr().cast(),
                plain.len(),
                c"k".as_ptr(),
                NACOSCRYPT_FORMAT_V1,
                &mut content,
                &mut content_len,
                &mut edk,
                core::ptr::null_mut(),
            );
            assert_eq!(r, nacoscrypt_result::Kms);
            assert_eq!(nacoscrypt_last_error_code(), nacoscrypt_result::Kms);
            assert_eq!(nacoscrypt_last_kms_error_code(), 7);
            nacoscrypt_kms_free(kms);
        }
        assert_eq!(state.destroyed.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_table_without_callbacks_is_refused_and_not_destroyed() {
        let state = State {
            fail: 0,
            destroyed: AtomicUsize::new(0),
        };
        let callbacks = nacoscrypt_kms_callbacks {
            userdata: (&raw const state).cast_mut().cast(),
            generate_data_key: None,
            encrypt: None,
            decrypt: None,
            destroy: Some(destroy),
        };
        let mut kms = core::ptr::null_mut();
        let r = unsafe { nacoscrypt_kms_from_callbacks(&callbacks, &mut kms) };
        assert_eq!(r, nacoscrypt_result::InvalidArgument);
        assert!(kms.is_null());
        assert_eq!(state.destroyed.load(Ordering::Relaxed), 0);
    }
}
