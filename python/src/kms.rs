//! KMSs: `LocalKms` (the core keyring) and any Python object with the three KMS methods, used as
//! a core [`Kms`] at run time.

use crate::errors::{CoreResultExt, to_py_err};
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Keyring, KeyringFile, Kms};
use nacoscrypt_core::{Error, SecretBytes};
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError, RwLock};

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

/// The local KMS (SPEC 2.4): a keyring from a file or a text. Key bytes never leave it.
///
/// A keyring from a file follows the file (the core's `KeyringFile`): versions another process
/// adds are read when a blob needs them, new primaries used within a second. A keyring from
/// text lives in memory behind a read-write lock; `rotate` takes the write side. Locks are never
/// held while Python code runs.
#[pyclass(frozen, module = "nacoscrypt")]
pub(crate) struct LocalKms {
    source: Source,
}

enum Source {
    Text(RwLock<Keyring>),
    File(KeyringFile),
}

impl LocalKms {
    /// Runs `f` with the keyring as a core [`Kms`].
    pub(crate) fn with_kms<T>(&self, f: impl FnOnce(&dyn Kms) -> T) -> T {
        match &self.source {
            Source::Text(lock) => f(&*lock.read().unwrap_or_else(PoisonError::into_inner)),
            Source::File(file) => f(file),
        }
    }

    /// Runs `f` with the keyring as last read.
    fn with_keyring<T>(&self, f: impl FnOnce(&Keyring) -> T) -> T {
        match &self.source {
            Source::Text(lock) => f(&lock.read().unwrap_or_else(PoisonError::into_inner)),
            Source::File(file) => f(&file.keyring()),
        }
    }

    fn from_file_source(file: KeyringFile) -> Self {
        Self {
            source: Source::File(file),
        }
    }
}

pub(crate) fn context_of(context: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(context) = context else {
        return Ok(Vec::new());
    };
    // Mapping and types checked in the binding's one vocabulary (TypeError, InvalidArgument).
    Ok(crate::args::str_pairs("context", context)?
        .into_iter()
        .map(|(k, v)| (String::from(&*k), String::from(&*v)))
        .collect())
}

pub(crate) fn core_context(pairs: &[(String, String)]) -> Context<'_> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[pymethods]
impl LocalKms {
    /// Loads a keyring file (refused if its group or others can read it, or if it is not a
    /// regular file) and follows its changes.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let file = py.detach(|| KeyringFile::open(&path)).or_raise(py)?;
        Ok(Self::from_file_source(file))
    }

    /// Parses keyring text (not backed by a file: `rotate` changes it in memory only).
    #[staticmethod]
    fn from_string(py: Python<'_>, text: crate::args::Str) -> PyResult<Self> {
        let keyring = Keyring::parse(&text).or_raise(py)?;
        Ok(Self {
            source: Source::Text(RwLock::new(keyring)),
        })
    }

    /// Creates a keyring file (mode 0600) holding one fresh key; fails if the file exists.
    #[staticmethod]
    fn create(py: Python<'_>, path: PathBuf, key_id: crate::args::Str) -> PyResult<Self> {
        let file = py
            .detach(|| {
                Keyring::create(&path, &key_id)?;
                KeyringFile::open(&path)
            })
            .or_raise(py)?;
        Ok(Self::from_file_source(file))
    }

    /// Adds a new primary version to `key_id` (creating the key first if `create` is set and it
    /// is missing) and returns the new version id. File-backed: the file is changed under its
    /// lock and replaced atomically, and this object then holds what the file holds.
    #[pyo3(signature = (key_id, *, create = false))]
    fn rotate(&self, py: Python<'_>, key_id: crate::args::Str, create: bool) -> PyResult<String> {
        py.detach(|| match &self.source {
            Source::File(file) => file.rotate(&key_id, create),
            Source::Text(lock) => {
                let mut keyring = lock.write().unwrap_or_else(PoisonError::into_inner);
                let version = if create && keyring.primary_version(&key_id).is_none() {
                    keyring.add_new_key(&key_id)?
                } else {
                    keyring.rotate(&key_id)?
                };
                Ok(version.to_owned())
            }
        })
        .or_raise(py)
    }

    /// Reads the keyring file again if it changed (a keyring from text: nothing to do).
    /// Returns whether it did.
    fn reload(&self, py: Python<'_>) -> PyResult<bool> {
        match &self.source {
            Source::File(file) => py.detach(|| file.reload()).or_raise(py),
            Source::Text(_) => Ok(false),
        }
    }

    /// The key ids, in the order they first appear.
    fn key_ids(&self) -> Vec<String> {
        self.with_keyring(|k| k.key_ids().into_iter().map(str::to_owned).collect())
    }

    /// The version ids of `key_id`, oldest first (the last is the primary).
    fn versions(&self, key_id: crate::args::Str) -> Vec<String> {
        self.with_keyring(|k| k.versions(&key_id).into_iter().map(str::to_owned).collect())
    }

    /// The primary (newest) version id of `key_id`, or None.
    fn primary_version(&self, key_id: crate::args::Str) -> Option<String> {
        self.with_keyring(|k| k.primary_version(&key_id).map(str::to_owned))
    }

    /// The keyring file, or None for a keyring made from text.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        match &self.source {
            Source::File(file) => Some(file.path().to_path_buf()),
            Source::Text(_) => None,
        }
    }

    /// KMS interface: a fresh data key of `spec` under `key_id`, and its blob.
    #[pyo3(signature = (key_id, spec, context = None))]
    fn generate_data_key<'py>(
        &self,
        py: Python<'py>,
        key_id: crate::args::Str,
        spec: crate::args::Str,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyBytes>, String)> {
        let spec = crate::args::parse_enum(py, &spec, crate::args::from_str::key_spec)?;
        let pairs = context_of(context)?;
        let generated = self
            .with_kms(|k| k.generate_data_key(&key_id, spec, &core_context(&pairs)))
            .or_raise(py)?;
        Ok((
            PyBytes::new(py, generated.plaintext.as_bytes()),
            generated.ciphertext_blob,
        ))
    }

    /// KMS interface: encrypts `plaintext` under `key_id`, bound to `context`.
    #[pyo3(signature = (key_id, plaintext, context = None))]
    fn encrypt(
        &self,
        py: Python<'_>,
        key_id: crate::args::Str,
        plaintext: &[u8],
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let pairs = context_of(context)?;
        self.with_kms(|k| k.encrypt(&key_id, plaintext, &core_context(&pairs)))
            .or_raise(py)
    }

    /// KMS interface: decrypts a blob made under the same `context`.
    #[pyo3(signature = (blob, context = None))]
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        blob: crate::args::Str,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let pairs = context_of(context)?;
        let plaintext = self
            .with_kms(|k| k.decrypt(&blob, &core_context(&pairs)))
            .or_raise(py)?;
        Ok(PyBytes::new(py, plaintext.as_bytes()))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let ids = PyList::new(py, self.key_ids())?.repr()?;
        Ok(match self.path() {
            Some(path) => format!(
                "LocalKms(key_ids={ids}, path={})",
                PyString::new(py, &path.to_string_lossy()).repr()?
            ),
            None => format!("LocalKms(key_ids={ids})"),
        })
    }
}
