//! Getters of handles that may be NULL: a value ([`get`]), or a NUL-terminated string borrowed
//! from the handle ([`get_text`], over a [`CText`] the handle keeps). A NULL handle gives the
//! getter's default, a panic too (`ffi_value`); the last error is not touched.

use crate::boundary::{Castable, ffi_value, out_opt, try_ref};
use core::ffi::c_char;
use zeroize::Zeroizing;

/// A handle's text kept with a NUL after it, for the borrowed `const char *` getters. Wiped
/// when dropped (tokens are bearer credentials).
#[derive(Debug)]
pub(crate) struct CText(Zeroizing<Vec<u8>>);

impl CText {
    /// Copies `s` and a NUL after it.
    pub(crate) fn new(s: &str) -> Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        Self(Zeroizing::new(v))
    }

    /// The length of the text, without the NUL.
    fn len(&self) -> usize {
        self.0.len() - 1
    }

    /// The NUL-terminated text.
    fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast::<c_char>()
    }
}

/// A getter: `get` of the value behind `handle`, or `default` if `handle` is NULL (or the
/// getter panicked).
///
/// # Safety
/// `handle` must be NULL or a live handle of type `C`.
pub(crate) unsafe fn get<C: Castable, T: Copy>(
    handle: *const C,
    default: T,
    get: impl FnOnce(&C::RustType) -> T,
) -> T {
    ffi_value(default, || {
        // SAFETY: forwarded contract.
        unsafe { try_ref(handle) }.map_or(default, get)
    })
}

/// A borrowed string getter: the NUL-terminated text `text` picks from the value behind
/// `handle`, valid until the handle is freed, with its length (without the NUL) in `*len_out`
/// (which may be NULL). NULL if `handle` is NULL; `*len_out` is then not written.
///
/// # Safety
/// `handle` must be NULL or a live handle of type `C`; `len_out` NULL or writable.
pub(crate) unsafe fn get_text<C: Castable>(
    handle: *const C,
    len_out: *mut usize,
    text: impl FnOnce(&C::RustType) -> &CText,
) -> *const c_char {
    // SAFETY: forwarded contract (both blocks).
    unsafe {
        get(handle, core::ptr::null(), |value| {
            let text = text(value);
            out_opt(len_out, text.len());
            text.as_ptr()
        })
    }
}
