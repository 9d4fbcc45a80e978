//! The local keyring (SPEC 2.4): a KMS in a text file.

use crate::boundary::{
    Castable, OwnershipBox, arg_ref, arg_str, arg_text, check_out, free_handle, out, out_handle,
};
use crate::error::{FfiError, FfiResult, ffi_call};
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::kms::{Keyring, KeyringFile, Kms};
use std::path::PathBuf;
use std::sync::Arc;

/// A local keyring: named master keys with versions (SPEC 2.4).
///
/// Make one with `nacoscrypt_keyring_load()` (from a file, mode 0600 or stricter),
/// `nacoscrypt_keyring_parse()` (from text) or `nacoscrypt_keyring_create_file()`; free it with
/// `nacoscrypt_keyring_free()`. Use it as a KMS through `nacoscrypt_kms_from_keyring()`.
///
/// A keyring from a file follows the file: a blob of a version it does not know makes it read
/// the file again (if the file changed) before failing, and encryption picks up a primary
/// version another process added within 1 s. A keyring from text never changes.
///
/// Thread safety: safe to use from many threads at once.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct nacoscrypt_keyring {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_keyring {
    type Ownership = OwnershipBox;
    type RustType = KeyringSource;
}

/// What a keyring handle holds: fixed keys, or a file it follows.
#[derive(Debug, Clone)]
pub(crate) enum KeyringSource {
    Text(Arc<Keyring>),
    File(Arc<KeyringFile>),
}

impl KeyringSource {
    /// The keys as last read.
    fn current(&self) -> Arc<Keyring> {
        match self {
            Self::Text(k) => Arc::clone(k),
            Self::File(f) => f.keyring(),
        }
    }

    /// The keyring as the core's KMS.
    pub(crate) fn as_kms(&self) -> &(dyn Kms + Sync) {
        match self {
            Self::Text(k) => &**k,
            Self::File(f) => &**f,
        }
    }
}

/// A path argument: bytes on Unix (any encoding), UTF-8 elsewhere.
///
/// # Safety
/// As [`arg_str`].
unsafe fn arg_path(ptr: *const c_char, name: &'static str) -> FfiResult<PathBuf> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: non-NULL and NUL-terminated by contract.
        let bytes = unsafe { core::ffi::CStr::from_ptr(ptr) }.to_bytes();
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        // SAFETY: forwarded contract.
        Ok(PathBuf::from(unsafe { arg_str(ptr, name) }?))
    }
}

fn new_keyring(out_ptr: *mut *mut nacoscrypt_keyring, keyring: KeyringSource) {
    // SAFETY: callers checked `out_ptr` with `check_out`; writable by contract.
    unsafe { out_handle(out_ptr, keyring) }
}

/// Loads the keyring file at `path` (SPEC 2.4). The file must not be accessible to its group or
/// to others (mode 0600 or stricter), else `NACOSCRYPT_RESULT_LOOSE_PERMISSIONS`; a malformed
/// line gives `NACOSCRYPT_RESULT_KEYRING_SYNTAX` and the last error names the line.
///
/// - `path`: NUL-terminated file name (bytes, as the OS takes them).
/// - `keyring_out`: receives a new keyring owned by the caller (free it with
///   `nacoscrypt_keyring_free()`); written only on success.
///
/// # Safety
/// `path` must be a NUL-terminated string; `keyring_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_load(
    path: *const c_char,
    keyring_out: *mut *mut nacoscrypt_keyring,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { arg_path(path, "path") }?;
        check_out(keyring_out, "keyring_out")?;
        new_keyring(
            keyring_out,
            KeyringSource::File(Arc::new(KeyringFile::open(path)?)),
        );
        Ok(())
    })
}

/// Parses keyring text (`key <key-id> <version-id> <base64 of 32 bytes>` lines, `#` comments).
///
/// - `text`, `text_len`: the UTF-8 text, not necessarily NUL-terminated.
/// - `keyring_out`: receives a new keyring owned by the caller; written only on success.
///
/// # Safety
/// `text` must point to `text_len` readable bytes; `keyring_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_parse(
    text: *const c_char,
    text_len: usize,
    keyring_out: *mut *mut nacoscrypt_keyring,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let text = unsafe { arg_text(text, text_len, "text") }?;
        check_out(keyring_out, "keyring_out")?;
        new_keyring(
            keyring_out,
            KeyringSource::Text(Arc::new(Keyring::parse(text)?)),
        );
        Ok(())
    })
}

/// Creates a new keyring file at `path` (mode 0600) holding one fresh random key `key_id`;
/// fails with `NACOSCRYPT_RESULT_IO` if the file exists.
///
/// - `keyring_out`: receives the new keyring, owned by the caller; written only on success.
///
/// # Safety
/// `path` and `key_id` must be NUL-terminated strings; `keyring_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_create_file(
    path: *const c_char,
    key_id: *const c_char,
    keyring_out: *mut *mut nacoscrypt_keyring,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { arg_path(path, "path") }?;
        // SAFETY: forwarded contract.
        let key_id = unsafe { arg_str(key_id, "key_id") }?;
        check_out(keyring_out, "keyring_out")?;
        Keyring::create(&path, key_id)?;
        new_keyring(
            keyring_out,
            KeyringSource::File(Arc::new(KeyringFile::open(path)?)),
        );
        Ok(())
    })
}

/// Rotates `key_id` in the keyring file at `path`: loads it (with the permission check), adds a
/// new primary version (creating the key if `create_key` and it is missing) and saves the file
/// back atomically, under the keyring's lock (`<path>.lock`: concurrent rotations from any
/// number of processes all land). A symbolic link is followed: the file it points to is
/// replaced. Older versions keep decrypting. Keyring handles loaded from the file before see
/// the new version when a blob needs it, and encrypt with it within 1 s.
///
/// - `version_out`: receives the new version id (a library string: free it with
///   `nacoscrypt_string_free()`); `version_len_out` (may be NULL) its length. Written only on
///   success.
///
/// # Safety
/// `path` and `key_id` must be NUL-terminated strings; `version_out` must be writable and
/// `version_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_rotate_file(
    path: *const c_char,
    key_id: *const c_char,
    create_key: bool,
    version_out: *mut *mut c_char,
    version_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { arg_path(path, "path") }?;
        // SAFETY: forwarded contract.
        let key_id = unsafe { arg_str(key_id, "key_id") }?;
        let target = StringOut::new(version_out, version_len_out, "version_out")?;
        let version = Keyring::rotate_file(path, key_id, create_key)?;
        // SAFETY: forwarded contract.
        unsafe { target.write(version.as_bytes()) }
    })
}

/// Reads the keyring file of `keyring` again now if it changed since it was last read.
/// Not needed for decryption (a blob of an unknown version makes the keyring check the file by
/// itself) nor for new primary versions (used within 1 s); useful after a rotation elsewhere to
/// see it in `nacoscrypt_keyring_primary_version()` at once, or to surface a file that became
/// unreadable. A keyring parsed from text has no file: nothing happens.
///
/// - `changed_out` (may be NULL): receives whether the file was read again.
///
/// On failure (the file removed, readable by others, malformed) the keys loaded before stay in
/// use and the result says what is wrong.
///
/// # Safety
/// `keyring` must be a live keyring; `changed_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_reload(
    keyring: *const nacoscrypt_keyring,
    changed_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let keyring = unsafe { arg_ref(keyring, "keyring") }?;
        let changed = match keyring {
            KeyringSource::File(file) => file.reload()?,
            KeyringSource::Text(_) => false,
        };
        if !changed_out.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { out(changed_out, changed) };
        }
        Ok(())
    })
}

/// The number of distinct key ids in `keyring`, into `*count_out`.
///
/// # Safety
/// `keyring` must be a live keyring; `count_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_key_count(
    keyring: *const nacoscrypt_keyring,
    count_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let keyring = unsafe { arg_ref(keyring, "keyring") }?;
        check_out(count_out, "count_out")?;
        // SAFETY: checked, writable by contract.
        unsafe { out(count_out, keyring.current().key_ids().len()) };
        Ok(())
    })
}

/// The key id number `index` (0-based, in the order of the file) of `keyring`.
/// `NACOSCRYPT_RESULT_INVALID_ARGUMENT` if `index` is not below the key count.
///
/// - `key_id_out`: receives a library string (free with `nacoscrypt_string_free()`);
///   `key_id_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// `keyring` must be a live keyring; `key_id_out` writable; `key_id_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_key_id(
    keyring: *const nacoscrypt_keyring,
    index: usize,
    key_id_out: *mut *mut c_char,
    key_id_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let keyring = unsafe { arg_ref(keyring, "keyring") }?;
        let target = StringOut::new(key_id_out, key_id_len_out, "key_id_out")?;
        let current = keyring.current();
        let ids = current.key_ids();
        let id = ids
            .get(index)
            .ok_or(FfiError::invalid("index", "is not below the key count"))?;
        // SAFETY: forwarded contract.
        unsafe { target.write(id.as_bytes()) }
    })
}

/// The primary (newest) version id of `key_id`: the version new blobs are made with.
/// `NACOSCRYPT_RESULT_UNKNOWN_KEY` if the keyring has no such key.
///
/// - `version_out`: receives a library string (free with `nacoscrypt_string_free()`);
///   `version_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// `keyring` must be a live keyring, `key_id` a NUL-terminated string; `version_out` writable;
/// `version_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_primary_version(
    keyring: *const nacoscrypt_keyring,
    key_id: *const c_char,
    version_out: *mut *mut c_char,
    version_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let keyring = unsafe { arg_ref(keyring, "keyring") }?;
        // SAFETY: forwarded contract.
        let key_id = unsafe { arg_str(key_id, "key_id") }?;
        let target = StringOut::new(version_out, version_len_out, "version_out")?;
        let current = keyring.current();
        let version = current
            .primary_version(key_id)
            .ok_or(nacoscrypt_core::Error::UnknownKeyId)?;
        // SAFETY: forwarded contract.
        unsafe { target.write(version.as_bytes()) }
    })
}

/// Frees a keyring (its key bytes are wiped once no KMS made from it is left). NULL is ignored.
///
/// # Safety
/// `keyring` must be NULL or a live keyring, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_keyring_free(keyring: *mut nacoscrypt_keyring) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(keyring) }
}
