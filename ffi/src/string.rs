//! Strings handed to C: allocated here, NUL-terminated, with their length in a hidden header,
//! and wiped and freed only by [`nacoscrypt_string_free`].

use crate::boundary::{check_out, ffi_value, out, out_opt};
use crate::error::{FfiError, FfiResult};
use crate::result::nacoscrypt_result;
use core::ffi::c_char;
use std::alloc::{Layout, alloc, dealloc};
use zeroize::Zeroize;

/// Bytes before the text: the length (`usize`) and a tag; 16 keeps the text 16-byte aligned.
const HEADER: usize = 16;
/// Marks a live string of this library (an aid against freeing foreign or freed pointers).
const TAG: u64 = 0x6e61_636f_7363_7279; // "nacoscry"

fn layout(len: usize) -> FfiResult<Layout> {
    len.checked_add(HEADER + 1)
        .and_then(|size| Layout::from_size_align(size, HEADER).ok())
        .ok_or(FfiError::text(
            nacoscrypt_result::InvalidLength,
            "string too long to allocate",
        ))
}

/// Copies `bytes` into a new library string; returns the pointer to its text.
pub(crate) fn new_string(bytes: &[u8]) -> FfiResult<*mut c_char> {
    let layout = layout(bytes.len())?;
    // SAFETY: the layout has a non-zero size.
    let base = unsafe { alloc(layout) };
    if base.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: `base` is a fresh allocation of HEADER + len + 1 bytes, aligned to 16.
    unsafe {
        base.cast::<usize>().write(bytes.len());
        base.add(8).cast::<u64>().write(TAG);
        let text = base.add(HEADER);
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), text, bytes.len());
        text.add(bytes.len()).write(0);
        #[cfg(feature = "testing")]
        crate::live::count(1);
        Ok(text.cast::<c_char>())
    }
}

/// A string output: the text in `*out` (required) and its length in `*out_len` (optional).
pub(crate) struct StringOut {
    out: *mut *mut c_char,
    out_len: *mut usize,
}

impl StringOut {
    /// Checks the output pointers (before any work is done).
    pub(crate) fn new(
        out: *mut *mut c_char,
        out_len: *mut usize,
        name: &'static str,
    ) -> FfiResult<Self> {
        check_out(out, name)?;
        Ok(Self { out, out_len })
    }

    /// Allocates the string; [`PendingString::commit`] writes the outputs.
    pub(crate) fn prepare(self, bytes: &[u8]) -> FfiResult<PendingString> {
        Ok(PendingString {
            target: self,
            text: new_string(bytes)?,
            len: bytes.len(),
        })
    }

    /// Allocates the string and writes the outputs.
    ///
    /// # Safety
    /// The pointers given to [`StringOut::new`] must be writable (or NULL for `out_len`).
    pub(crate) unsafe fn write(self, bytes: &[u8]) -> FfiResult {
        let pending = self.prepare(bytes)?;
        // SAFETY: forwarded contract.
        unsafe { pending.commit() };
        Ok(())
    }
}

/// A string allocated for an output not written yet: freed (wiped) if dropped uncommitted, so
/// that a later failure of the same call leaks nothing and writes no output.
pub(crate) struct PendingString {
    target: StringOut,
    text: *mut c_char,
    len: usize,
}

impl PendingString {
    /// Writes the outputs; the caller owns the string from now on.
    ///
    /// # Safety
    /// As [`StringOut::write`].
    pub(crate) unsafe fn commit(self) {
        let me = core::mem::ManuallyDrop::new(self);
        // SAFETY: checked non-NULL by `StringOut::new`, writable by contract.
        unsafe {
            out(me.target.out, me.text);
            out_opt(me.target.out_len, me.len);
        }
    }
}

impl Drop for PendingString {
    fn drop(&mut self) {
        // SAFETY: made by `new_string`, never handed out.
        unsafe { free_string(self.text) };
    }
}

/// Wipes and frees a library string; NULL and pointers without the tag are ignored.
///
/// # Safety
/// `text` must be NULL or a string returned by this library.
unsafe fn free_string(text: *mut c_char) {
    if text.is_null() {
        return;
    }
    // SAFETY: a library string has its header just before the text.
    unsafe {
        let base = text.cast::<u8>().sub(HEADER);
        if base.add(8).cast::<u64>().read() != TAG {
            return;
        }
        let len = base.cast::<usize>().read();
        let Ok(layout) = layout(len) else { return };
        core::slice::from_raw_parts_mut(base, layout.size()).zeroize();
        dealloc(base, layout);
        #[cfg(feature = "testing")]
        crate::live::count(-1);
    }
}

/// Wipes (overwrites with zeros) and frees a string returned by this library: decrypted
/// plaintext, stored content, tokens, messages. NULL is accepted and ignored.
///
/// Ownership: every `char *` that the library returns through an output parameter is owned by
/// the caller and must be freed with this function exactly once — never with `free()`.
/// Pointers returned as `const char *` (static messages, borrowed views) are never freed.
///
/// # Safety
/// `s` must be NULL or a string returned by this library that was not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_string_free(s: *mut c_char) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_string(s) });
}

/// Wipes and frees a byte buffer returned by this library (a data key, KMS plaintext). NULL
/// is accepted and ignored. The same as `nacoscrypt_string_free()`, typed for `uint8_t *`.
///
/// # Safety
/// `bytes` must be NULL or a buffer returned by this library that was not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_bytes_free(bytes: *mut u8) {
    // SAFETY: forwarded contract.
    ffi_value((), || unsafe { free_string(bytes.cast::<c_char>()) });
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn strings_round_trip_and_free() {
        let mut p: *mut c_char = core::ptr::null_mut();
        let mut n = 99;
        unsafe {
            StringOut::new(&mut p, &mut n, "out")
                .unwrap()
                .write(b"hello")
                .unwrap();
            assert_eq!(n, 5);
            assert_eq!(CStr::from_ptr(p).to_bytes(), b"hello");
            assert_eq!(p as usize % 16, 0);
            nacoscrypt_string_free(p);
            nacoscrypt_string_free(core::ptr::null_mut());
            // Interior NUL bytes are kept; the length tells.
            StringOut::new(&mut p, core::ptr::null_mut(), "out")
                .unwrap()
                .write(b"a\0b")
                .unwrap();
            assert_eq!(core::slice::from_raw_parts(p.cast::<u8>(), 4), b"a\0b\0");
            nacoscrypt_string_free(p);
        }
        assert!(StringOut::new(core::ptr::null_mut(), &mut n, "out").is_err());
    }

    #[test]
    fn uncommitted_strings_write_nothing() {
        let mut p: *mut c_char = core::ptr::null_mut();
        let pending = StringOut::new(&mut p, core::ptr::null_mut(), "out")
            .unwrap()
            .prepare(b"secret")
            .unwrap();
        drop(pending);
        assert!(p.is_null());
    }
}
