//! Any Python object with the three KMS methods, used as a core [`Kms`] at run time.

use crate::errors::to_py_err;
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Kms};
use nacoscrypt_core::{Error, SecretBytes};
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyTuple};
use std::sync::{Mutex, PoisonError};

/// A Python object with `generate_data_key`, `encrypt` and `decrypt`, as a core [`Kms`].
///
/// An exception raised by the object (or a return value of the wrong type) becomes a core
/// [`Error::Kms`] naming the method and the exception; the exception itself is kept aside and
/// chained as `__cause__` of the `KmsError` that [`PyKms::raise`] builds.
pub(crate) struct PyKms {
    object: Py<PyAny>,
    failure: Mutex<Option<PyErr>>,
}

impl PyKms {
    pub(crate) fn new(object: &Bound<'_, PyAny>) -> Self {
        Self {
            object: object.clone().unbind(),
            failure: Mutex::new(None),
        }
    }

    /// Records the Python exception `err` raised by `method` and returns the core error for it.
    fn fail(&self, py: Python<'_>, method: &str, err: PyErr) -> Error {
        let type_name = err
            .get_type(py)
            .name()
            .map_or_else(|_| "exception".to_owned(), |n| n.to_string());
        let text = err
            .value(py)
            .str()
            .map_or_else(|_| String::new(), |s| s.to_string());
        let message = if text.is_empty() {
            format!("{method} raised {type_name}")
        } else {
            format!("{method} raised {type_name}: {text}")
        };
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(err);
        Error::kms(message)
    }

    /// The Python exception for a core error of a call that used this KMS: the exception the
    /// object raised is chained as `__cause__`. An exception that is not an `Exception`
    /// (`KeyboardInterrupt`, `SystemExit`) is re-raised as it is.
    pub(crate) fn raise(&self, py: Python<'_>, err: &Error) -> PyErr {
        let cause = self
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match cause {
            Some(cause) if !cause.is_instance_of::<PyException>(py) => cause,
            cause => {
                let py_err = to_py_err(py, err);
                if cause.is_some() {
                    py_err.set_cause(py, cause);
                }
                py_err
            }
        }
    }
}

fn context_dict<'py>(py: Python<'py>, context: &Context<'_>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, value) in context.iter() {
        dict.set_item(name, value)?;
    }
    Ok(dict)
}

fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map_or_else(|_| "object".to_owned(), |n| n.to_string())
}

/// `bytes` or `bytearray` returned by a KMS object, copied into a wiped-on-drop buffer.
fn secret_bytes(method: &str, object: &Bound<'_, PyAny>) -> PyResult<SecretBytes> {
    if let Ok(bytes) = object.cast::<PyBytes>() {
        return Ok(SecretBytes::copy_from(bytes.as_bytes()));
    }
    if let Ok(bytes) = object.cast::<PyByteArray>() {
        return Ok(SecretBytes::from(bytes.to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "{method} returned {}, expected bytes",
        type_name(object)
    )))
}

fn blob_text(method: &str, object: &Bound<'_, PyAny>) -> PyResult<String> {
    object.extract::<String>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{method} returned {} for the ciphertext blob, expected str",
            type_name(object)
        ))
    })
}

impl Kms for PyKms {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> nacoscrypt_core::Result<GeneratedDataKey> {
        const METHOD: &str = "generate_data_key";
        Python::attach(|py| {
            let result = (|| {
                let args = (key_id, spec.as_str(), context_dict(py, context)?);
                let returned = self
                    .object
                    .bind(py)
                    .call_method1(intern!(py, "generate_data_key"), args)?;
                let pair = returned.cast::<PyTuple>().ok().filter(|t| t.len() == 2);
                let Some(pair) = pair else {
                    return Err(PyTypeError::new_err(format!(
                        "{METHOD} returned {}, expected a (bytes, str) tuple",
                        type_name(&returned)
                    )));
                };
                Ok(GeneratedDataKey {
                    plaintext: secret_bytes(METHOD, &pair.get_item(0)?)?,
                    ciphertext_blob: blob_text(METHOD, &pair.get_item(1)?)?,
                })
            })();
            result.map_err(|e| self.fail(py, METHOD, e))
        })
    }

    fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &Context<'_>,
    ) -> nacoscrypt_core::Result<String> {
        const METHOD: &str = "encrypt";
        Python::attach(|py| {
            let result = (|| {
                let args = (
                    key_id,
                    PyBytes::new(py, plaintext),
                    context_dict(py, context)?,
                );
                blob_text(
                    METHOD,
                    &self
                        .object
                        .bind(py)
                        .call_method1(intern!(py, "encrypt"), args)?,
                )
            })();
            result.map_err(|e| self.fail(py, METHOD, e))
        })
    }

    fn decrypt(
        &self,
        ciphertext_blob: &str,
        context: &Context<'_>,
    ) -> nacoscrypt_core::Result<SecretBytes> {
        const METHOD: &str = "decrypt";
        Python::attach(|py| {
            let result = (|| {
                let args = (ciphertext_blob, context_dict(py, context)?);
                secret_bytes(
                    METHOD,
                    &self
                        .object
                        .bind(py)
                        .call_method1(intern!(py, "decrypt"), args)?,
                )
            })();
            result.map_err(|e| self.fail(py, METHOD, e))
        })
    }
}
