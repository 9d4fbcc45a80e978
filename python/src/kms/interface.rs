//! The KMS interface methods (`generate_data_key`, `encrypt`, `decrypt`) of every key-service
//! class, written once, and the `context` argument they share.

use crate::args::{Str, parse_enum, str_pairs};
use crate::errors::CoreResultExt;
use nacoscrypt_core::kms::{Context, Kms};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// How a key-service class runs a call of its core [`Kms`]: `LocalKms` in place, a network
/// client with the interpreter released.
pub(crate) trait KmsCall {
    /// `f` with the core KMS.
    fn call<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&dyn Kms) -> T + Send) -> T;
}

/// The `context` argument: the `(name, value)` pairs of a mapping of str to str (none for
/// `None`), checked in the binding's one vocabulary (`TypeError`, `InvalidArgument`).
pub(crate) fn context_of(context: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(context) = context else {
        return Ok(Vec::new());
    };
    Ok(str_pairs("context", context)?
        .into_iter()
        .map(|(k, v)| (String::from(&*k), String::from(&*v)))
        .collect())
}

/// The core [`Context`] of `context_of`'s pairs.
pub(crate) fn core_context(pairs: &[(String, String)]) -> Context<'_> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// `generate_data_key(key_id, spec, context=None)`: a fresh data key of `spec` and its blob.
pub(crate) fn generate_data_key<'py>(
    kms: &impl KmsCall,
    py: Python<'py>,
    key_id: &Str,
    spec: &Str,
    context: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyBytes>, String)> {
    let spec = parse_enum::<nacoscrypt_core::kms::KeySpec>(py, spec)?;
    let pairs = context_of(context)?;
    let generated = kms
        .call(py, |k| {
            k.generate_data_key(key_id, spec, &core_context(&pairs))
        })
        .or_raise(py)?;
    Ok((
        PyBytes::new(py, generated.plaintext.as_bytes()),
        generated.ciphertext_blob,
    ))
}

/// `encrypt(key_id, plaintext, context=None)`: the blob of `plaintext` under `key_id`.
pub(crate) fn encrypt(
    kms: &impl KmsCall,
    py: Python<'_>,
    key_id: &Str,
    plaintext: &[u8],
    context: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let pairs = context_of(context)?;
    kms.call(py, |k| k.encrypt(key_id, plaintext, &core_context(&pairs)))
        .or_raise(py)
}

/// `decrypt(blob, context=None)`: the plaintext of a blob made under the same `context`.
pub(crate) fn decrypt<'py>(
    kms: &impl KmsCall,
    py: Python<'py>,
    blob: &Str,
    context: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let pairs = context_of(context)?;
    let plaintext = kms
        .call(py, |k| k.decrypt(blob, &core_context(&pairs)))
        .or_raise(py)?;
    Ok(PyBytes::new(py, plaintext.as_bytes()))
}
