//! `encrypt_config` / `decrypt_config` and `EncryptedConfig` (SPEC 2).

use crate::args::{Str, parse_enum};
use crate::errors::CoreResultExt;
#[cfg(any(feature = "aliyun", feature = "aws", feature = "pkcs11"))]
use crate::kms::interface::KmsCall;
use crate::kms::{LocalKms, PyKms};
use nacoscrypt_core::Result;
use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::Kms;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Inputs at least this long (in bytes) are encrypted or decrypted with the interpreter
/// released (`py.detach`), so other Python threads run meanwhile; below it, switching costs more
/// than the work (see python/README.md, "Threads").
pub(crate) const DETACH_AT: usize = 4096;

/// An encrypted config as Nacos stores it: `content` and `encrypted_data_key`.
#[pyclass(frozen, eq, hash, module = "nacoscrypt")]
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct EncryptedConfig {
    /// The stored content.
    #[pyo3(get)]
    content: String,
    /// The KMS blob of the data key ("" for the direct `cipher-` scheme).
    #[pyo3(get)]
    encrypted_data_key: String,
}

#[pymethods]
impl EncryptedConfig {
    #[new]
    fn new(content: String, encrypted_data_key: String) -> Self {
        Self {
            content,
            encrypted_data_key,
        }
    }

    /// The stored format: "v1" if the content starts with `nc1:`, else "nacos".
    #[getter]
    fn format(&self) -> &'static str {
        Format::of_content(&self.content).as_str()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "EncryptedConfig(content={}, encrypted_data_key={})",
            PyString::new(py, &self.content).repr()?,
            PyString::new(py, &self.encrypted_data_key).repr()?
        ))
    }
}

/// Runs `f` with the core [`Kms`] behind the Python `kms` argument: a `LocalKms`, or any object
/// with the three KMS methods. With `detach` the interpreter is released meanwhile (a Python KMS
/// object re-attaches for its calls).
fn with_kms<T: Send>(
    py: Python<'_>,
    kms: &Bound<'_, PyAny>,
    detach: bool,
    f: impl FnOnce(&dyn Kms) -> Result<T> + Send,
) -> PyResult<T> {
    if let Ok(local) = kms.cast::<LocalKms>() {
        let local = local.get();
        let run = || local.with_kms(f);
        let result = if detach { py.detach(run) } else { run() };
        return result.or_raise(py);
    }
    // Network calls: always without the interpreter (`KmsCall`).
    #[cfg(feature = "aliyun")]
    if let Ok(aliyun) = kms.cast::<crate::aliyun::AliyunKms>() {
        return aliyun.get().call(py, f).or_raise(py);
    }
    #[cfg(feature = "aliyun")]
    if let Ok(instance) = kms.cast::<crate::aliyun::AliyunInstanceKms>() {
        return instance.get().call(py, f).or_raise(py);
    }
    #[cfg(feature = "aws")]
    if let Ok(aws) = kms.cast::<crate::aws::AwsKms>() {
        return aws.get().call(py, f).or_raise(py);
    }
    // HSM calls: without the interpreter too.
    #[cfg(feature = "pkcs11")]
    if let Ok(token) = kms.cast::<crate::pkcs11::Pkcs11Kms>() {
        return token.get().call(py, f).or_raise(py);
    }
    let python_kms = PyKms::new(kms);
    let run = || f(&python_kms);
    let result = if detach { py.detach(run) } else { run() };
    result.map_err(|e| python_kms.raise(py, &e))
}

/// Encrypts `content` for the config (`data_id`, `group`, `tenant`) with the master key `key_id`
/// of `kms`; the data ID's prefix selects the scheme, `format` the stored format.
#[pyfunction]
#[pyo3(
    signature = (kms, *, data_id, group, content, key_id, tenant = Str::default(), format = None),
    text_signature = "(kms, *, data_id, group, content, key_id, tenant='', format='nacos')"
)]
#[allow(
    clippy::too_many_arguments,
    reason = "keyword-only Python API of the issue"
)]
pub(crate) fn encrypt_config(
    py: Python<'_>,
    kms: &Bound<'_, PyAny>,
    data_id: Str,
    group: Str,
    content: Str,
    key_id: Str,
    tenant: Str,
    format: Option<Str>,
) -> PyResult<EncryptedConfig> {
    let format = format
        .map(|f| parse_enum::<Format>(py, &f))
        .transpose()?
        .unwrap_or_default();
    let id = ConfigId::new(&data_id, &group, &tenant);
    let stored = with_kms(py, kms, content.len() >= DETACH_AT, |kms| {
        config::encrypt(kms, &id, &content, &key_id, format)
    })?;
    Ok(EncryptedConfig {
        content: stored.content,
        encrypted_data_key: stored.encrypted_data_key,
    })
}

/// Decrypts a stored config; the format is detected from the content.
#[pyfunction]
#[pyo3(
    signature = (kms, *, data_id, group, content, encrypted_data_key, tenant = Str::default()),
    text_signature = "(kms, *, data_id, group, content, encrypted_data_key, tenant='')"
)]
pub(crate) fn decrypt_config<'py>(
    py: Python<'py>,
    kms: &Bound<'py, PyAny>,
    data_id: Str,
    group: Str,
    content: Str,
    encrypted_data_key: Str,
    tenant: Str,
) -> PyResult<Bound<'py, PyString>> {
    let id = ConfigId::new(&data_id, &group, &tenant);
    let plaintext = with_kms(py, kms, content.len() >= DETACH_AT, |kms| {
        config::decrypt(kms, &id, &content, &encrypted_data_key)
    })?;
    // The Python string is a copy the interpreter owns; the Rust one is wiped when dropped here.
    Ok(PyString::new(py, plaintext.as_str()))
}

/// Adds the config functions and classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EncryptedConfig>()?;
    m.add_function(wrap_pyfunction!(encrypt_config, m)?)?;
    m.add_function(wrap_pyfunction!(decrypt_config, m)?)?;
    Ok(())
}
