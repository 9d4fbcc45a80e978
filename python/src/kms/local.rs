//! `LocalKms`: the core keyring (a file it follows, or a text held in memory).

use super::interface::{self, KmsCall};
use crate::args::Str;
use crate::errors::CoreResultExt;
use nacoscrypt_core::kms::{Keyring, KeyringFile, Kms};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};

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

    /// [`LocalKms::with_kms`] with the keyring as a KMS shared across threads.
    pub(crate) fn with_sync_kms<T>(&self, f: impl FnOnce(&(dyn Kms + Sync)) -> T) -> T {
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

/// In place: a keyring call is short, the interpreter stays attached.
impl KmsCall for LocalKms {
    fn call<T: Send>(&self, _py: Python<'_>, f: impl FnOnce(&dyn Kms) -> T + Send) -> T {
        self.with_kms(f)
    }
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
    fn from_string(py: Python<'_>, text: Str) -> PyResult<Self> {
        let keyring = Keyring::parse(&text).or_raise(py)?;
        Ok(Self {
            source: Source::Text(RwLock::new(keyring)),
        })
    }

    /// Creates a keyring file (mode 0600) holding one fresh key; fails if the file exists.
    #[staticmethod]
    fn create(py: Python<'_>, path: PathBuf, key_id: Str) -> PyResult<Self> {
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
    fn rotate(&self, py: Python<'_>, key_id: Str, create: bool) -> PyResult<String> {
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
    fn versions(&self, key_id: Str) -> Vec<String> {
        self.with_keyring(|k| k.versions(&key_id).into_iter().map(str::to_owned).collect())
    }

    /// The primary (newest) version id of `key_id`, or None.
    fn primary_version(&self, key_id: Str) -> Option<String> {
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
        key_id: Str,
        spec: Str,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyBytes>, String)> {
        interface::generate_data_key(self, py, &key_id, &spec, context)
    }

    /// KMS interface: encrypts `plaintext` under `key_id`, bound to `context`.
    #[pyo3(signature = (key_id, plaintext, context = None))]
    fn encrypt(
        &self,
        py: Python<'_>,
        key_id: Str,
        plaintext: &[u8],
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        interface::encrypt(self, py, &key_id, plaintext, context)
    }

    /// KMS interface: decrypts a blob made under the same `context`.
    #[pyo3(signature = (blob, context = None))]
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        blob: Str,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        interface::decrypt(self, py, &blob, context)
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
