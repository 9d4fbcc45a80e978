//! Argument conversions in the library's vocabulary: a value out of range or a string that is
//! not Unicode raises `InvalidArgument` (a `NacosCryptError`), a value of the wrong type
//! `TypeError`; never pyo3's bare `OverflowError`, `UnicodeEncodeError`, `AttributeError` or
//! `ValueError`.

use crate::errors::{CoreResultExt, to_py_err};
use nacoscrypt_core::Error;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
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
/// from the interpreter without a copy; the default is `""`.
#[derive(Debug, Default)]
pub(crate) struct Str(Option<PyBackedStr>);

impl core::ops::Deref for Str {
    type Target = str;

    fn deref(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Str {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if !obj.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(format!(
                "expected str, not {}",
                obj.get_type().name()?
            )));
        }
        obj.extract::<PyBackedStr>()
            .map(|s| Str(Some(s)))
            .map_err(|e| {
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
/// `InvalidArgument`: the one way the binding parses them. `parse` is the enum's parser with
/// the core's error (`T::from_str` once the core implements `FromStr`; until then a function of
/// [`from_str`]); its error is raised through the binding's error table.
pub(crate) fn parse_enum<T>(
    py: Python<'_>,
    text: &str,
    parse: fn(&str) -> Result<T, Error>,
) -> PyResult<T> {
    parse(text).or_raise(py)
}

/// Every spelling the binding accepts for an enum, and the error for any other: all of
/// python/'s string-to-enum knowledge, one function per enum, each shaped like
/// `FromStr::from_str` (`fn(&str) -> Result<T, nacoscrypt_core::Error>`).
// TODO(r13): replace with core FromStr — delete this module and pass `T::from_str` to
// `parse_enum` (or bound it by `FromStr<Err = Error>`) once the core's impls are merged.
pub(crate) mod from_str {
    use nacoscrypt_core::Error;
    use nacoscrypt_core::config::Format;
    use nacoscrypt_core::kms::KeySpec;

    fn invalid(reason: &'static str) -> Error {
        Error::InvalidArgument { reason }
    }

    /// A stored format: "nacos" or "v1".
    pub(crate) fn format(text: &str) -> Result<Format, Error> {
        Format::parse(text).ok_or_else(|| invalid("format must be \"nacos\" or \"v1\""))
    }

    /// A data key spec: "AES_256" or "AES_128".
    pub(crate) fn key_spec(text: &str) -> Result<KeySpec, Error> {
        KeySpec::parse(text).ok_or_else(|| invalid("spec must be \"AES_256\" or \"AES_128\""))
    }

    /// An Alibaba Cloud KMS request signature: "v3" or "v2".
    #[cfg(feature = "aliyun")]
    pub(crate) fn signature(text: &str) -> Result<nacoscrypt_kms_aliyun::Signature, Error> {
        use nacoscrypt_kms_aliyun::Signature;
        match text {
            "v3" => Ok(Signature::V3),
            "v2" => Ok(Signature::RpcV2),
            _ => Err(invalid("signature must be \"v3\" or \"v2\"")),
        }
    }

    /// An Alibaba Cloud KMS data-key cache mode: "off", "fallback" or "first".
    #[cfg(feature = "aliyun")]
    pub(crate) fn cache_mode(text: &str) -> Result<nacoscrypt_kms_aliyun::CacheMode, Error> {
        use nacoscrypt_kms_aliyun::CacheMode;
        match text {
            "off" => Ok(CacheMode::Off),
            "fallback" => Ok(CacheMode::Fallback),
            "first" => Ok(CacheMode::First),
            _ => Err(invalid("cache must be \"off\", \"fallback\" or \"first\"")),
        }
    }
}
