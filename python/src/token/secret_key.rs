//! `SecretKey`: the token secret key (`core::token::secret`).

use crate::args::Str;
use crate::errors::CoreResultExt;
use nacoscrypt_core::token;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// A token secret key: `nacos.core.auth.plugin.nacos.token.secret.key`, decoded as the Nacos
/// server decodes it; its length selects HS256, HS384 or HS512. Never printed.
#[pyclass(name = "SecretKey", frozen, module = "nacoscrypt")]
pub(crate) struct PySecretKey(token::SecretKey);

#[pymethods]
impl PySecretKey {
    /// Decodes the server setting; publicly known keys are refused unless
    /// `allow_publicly_known` (tests and migrations only).
    #[staticmethod]
    #[pyo3(signature = (text, *, allow_publicly_known = false))]
    fn from_base64(py: Python<'_>, text: Str, allow_publicly_known: bool) -> PyResult<Self> {
        let key = if allow_publicly_known {
            token::SecretKey::from_base64_allowing_publicly_known(&text)
        } else {
            token::SecretKey::from_base64(&text)
        };
        key.map(Self).or_raise(py)
    }

    /// A key from raw bytes (at least 32).
    #[staticmethod]
    #[pyo3(signature = (data, *, allow_publicly_known = false))]
    fn from_bytes(py: Python<'_>, data: &[u8], allow_publicly_known: bool) -> PyResult<Self> {
        let key = if allow_publicly_known {
            token::SecretKey::from_bytes_allowing_publicly_known(data)
        } else {
            token::SecretKey::from_bytes(data)
        };
        key.map(Self).or_raise(py)
    }

    /// A new random 256-bit key (HS256).
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        token::SecretKey::generate().map(Self).or_raise(py)
    }

    /// "HS256", "HS384" or "HS512".
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.0.algorithm().name()
    }

    /// The key length in bits.
    #[getter]
    fn bits(&self) -> usize {
        self.0.bits()
    }

    /// The key as padded standard base64: the text for `application.properties`.
    fn to_base64<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::new(py, self.0.to_base64().as_str())
    }

    fn __repr__(&self) -> String {
        format!(
            "SecretKey(algorithm='{}', bits={})",
            self.algorithm(),
            self.bits()
        )
    }
}

/// A `SecretKey`, or a str decoded with `SecretKey.from_base64` (publicly known keys refused).
pub(super) fn secret_key_of(
    py: Python<'_>,
    what: &str,
    object: &Bound<'_, PyAny>,
) -> PyResult<token::SecretKey> {
    if let Ok(key) = object.cast::<PySecretKey>() {
        return Ok(key.get().0.clone());
    }
    if object.is_instance_of::<PyString>() {
        let text = object.extract::<Str>()?;
        return token::SecretKey::from_base64(&text).or_raise(py);
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a SecretKey or a base64 str"
    )))
}
