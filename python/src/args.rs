//! Argument conversions in the library's vocabulary: a value out of range or a string that is
//! not Unicode raises `InvalidArgument` (a `NacosCryptError`), a value of the wrong type
//! `TypeError`; never pyo3's bare `OverflowError`, `UnicodeEncodeError`, `AttributeError` or
//! `ValueError`.

use crate::errors::{CoreResultExt, to_py_err};
use crate::utf8::Utf8;
use core::str::FromStr;
use nacoscrypt_core::Error;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

/// The `InvalidArgument` exception for `reason`.
pub(crate) fn invalid_argument(py: Python<'_>, reason: &'static str) -> PyErr {
    to_py_err(py, &Error::InvalidArgument { reason })
}

/// `err` as `InvalidArgument` if it is an overflow or a Unicode encoding error; else itself.
fn classify(py: Python<'_>, err: PyErr, reason: &'static str) -> PyErr {
    if err.is_instance_of::<PyOverflowError>(py) || err.is_instance_of::<PyUnicodeEncodeError>(py) {
        invalid_argument(py, reason)
    } else {
        err
    }
}

/// A Python `int` in the signed 64-bit range (`InvalidArgument` outside it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Int(pub(crate) i64);

impl<'a, 'py> FromPyObject<'a, 'py> for Int {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        obj.extract::<i64>()
            .map(Int)
            .map_err(|e| classify(obj.py(), e, "integer outside the signed 64-bit range"))
    }
}

/// A Python `str` that is valid Unicode (`InvalidArgument` for a lone surrogate), borrowed
/// from the interpreter without a copy (see `utf8.rs`); the default is `""`. Its `Debug` shows
/// the length only: a `Str` may be a token or a secret.
#[derive(Default)]
pub(crate) struct Str(Option<Utf8>);

impl core::fmt::Debug for Str {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Str(<{} bytes>)", self.len())
    }
}

impl core::ops::Deref for Str {
    type Target = str;

    fn deref(&self) -> &str {
        self.0.as_ref().map_or("", Utf8::as_str)
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Str {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let Ok(text) = obj.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!(
                "expected str, not {}",
                obj.get_type().name()?
            )));
        };
        Utf8::of(&text).map(|s| Str(Some(s))).map_err(|e| {
            classify(
                obj.py(),
                e,
                "a str holds a lone surrogate, which is not Unicode text",
            )
        })
    }
}

/// The `(name, value)` str pairs of a mapping (anything with `.items()`), in its order.
/// `TypeError` if `mapping` has no `items`, or an item is not a pair of str.
pub(crate) fn str_pairs(what: &str, mapping: &Bound<'_, PyAny>) -> PyResult<Vec<(Str, Str)>> {
    let not_pairs = || PyTypeError::new_err(format!("{what} must map str to str"));
    if !mapping.hasattr("items")? {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a mapping (with .items()), not {}",
            mapping.get_type().name()?
        )));
    }
    let mut pairs = Vec::new();
    for item in mapping.call_method0("items")?.try_iter()? {
        let item = item?;
        let pair = item.cast::<PyTuple>().ok().filter(|t| t.len() == 2);
        let Some(pair) = pair else {
            return Err(not_pairs());
        };
        let (name, value) = (pair.get_item(0)?, pair.get_item(1)?);
        if !name.is_instance_of::<PyString>() || !value.is_instance_of::<PyString>() {
            return Err(not_pairs());
        }
        pairs.push((name.extract::<Str>()?, value.extract::<Str>()?));
    }
    Ok(pairs)
}

/// A str argument as one of the library's enums (a format, a key spec, ...), or
/// `InvalidArgument`: the one way the binding parses them, through the enum's `FromStr` in the
/// core (or the key-service crate), which holds the accepted spellings and the message.
pub(crate) fn parse_enum<T: FromStr<Err = Error>>(py: Python<'_>, text: &str) -> PyResult<T> {
    text.parse::<T>().or_raise(py)
}
