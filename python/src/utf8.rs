//! A `str` argument's UTF-8 bytes borrowed from the interpreter, without a copy, on CPython 3.9's
//! stable ABI too.
//!
//! pyo3's `PyBackedStr` has to copy a `str` into a new `bytes` object when built for the 3.9
//! stable ABI, which lacks `PyUnicode_AsUTF8AndSize` (stable from 3.10). The stable ABI has had
//! `PyArg_Parse` with the `s#` format since 3.3 (`_PyArg_Parse_SizeT`, the name it takes when
//! compiled with `PY_SSIZE_T_CLEAN`): it returns the string's own UTF-8 form — the data itself
//! for an ASCII string, else a UTF-8 copy that the string keeps with it — valid while the string
//! lives. A token verified per request is a `str` of ASCII: this saves a `bytes` object per call.
#![allow(unsafe_code)]

use core::ffi::{c_char, c_int};
use core::ptr::NonNull;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

unsafe extern "C" {
    /// `PyArg_Parse` as compiled with `PY_SSIZE_T_CLEAN` (lengths are `Py_ssize_t`); in the
    /// stable ABI since CPython 3.3.
    fn _PyArg_Parse_SizeT(args: *mut ffi::PyObject, format: *const c_char, ...) -> c_int;
}

/// The UTF-8 bytes of a Python `str`, kept alive by a reference to it (a `str` is immutable).
pub(crate) struct Utf8 {
    _owner: Py<PyString>,
    data: NonNull<u8>,
    len: usize,
}

// SAFETY: `data` points into the immutable `str` that `_owner` keeps alive; reading it needs no
// interpreter lock (the bytes never change or move while the object lives).
unsafe impl Send for Utf8 {}
// SAFETY: as above; shared access is read-only.
unsafe impl Sync for Utf8 {}

impl Utf8 {
    /// `text`'s UTF-8 form; a `UnicodeEncodeError` for a lone surrogate.
    pub(crate) fn of(text: &Bound<'_, PyString>) -> PyResult<Self> {
        let mut data: *const c_char = core::ptr::null();
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: `text` is a live `str`; `s#` writes a `const char *` and a `Py_ssize_t`.
        let ok = unsafe {
            _PyArg_Parse_SizeT(text.as_ptr(), c"s#".as_ptr(), &raw mut data, &raw mut len)
        };
        let data = NonNull::new(data.cast_mut().cast::<u8>());
        match (ok, data, usize::try_from(len)) {
            (1.., Some(data), Ok(len)) => Ok(Self {
                _owner: text.clone().unbind(),
                data,
                len,
            }),
            _ => Err(PyErr::fetch(text.py())),
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        // SAFETY: CPython's UTF-8 form of a `str`: `len` valid bytes of UTF-8 (a string that
        // cannot be encoded, a lone surrogate, was refused above), alive as long as `_owner`.
        unsafe {
            core::str::from_utf8_unchecked(core::slice::from_raw_parts(
                self.data.as_ptr(),
                self.len,
            ))
        }
    }
}
