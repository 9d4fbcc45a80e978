//! `AuthSettings`: a cluster's token settings (`core::token::settings`).

use super::identity::PyServerIdentity;
use super::manager::PyTokenManager;
use super::repr_of;
use crate::args::{Str, str_pairs};
use crate::errors::CoreResultExt;
use nacoscrypt_core::token;
use pyo3::prelude::*;
use std::path::PathBuf;

/// The token settings of a Nacos cluster, from `application.properties` or the Docker image's
/// environment. The secret key and the identity value are never exposed.
#[pyclass(name = "AuthSettings", frozen, module = "nacoscrypt")]
pub(crate) struct PyAuthSettings(token::AuthSettings);

#[pymethods]
impl PyAuthSettings {
    /// Reads an `application.properties` text; `${NAME:default}` placeholders resolve against
    /// `env` (if given), then the file's own properties, then their defaults.
    #[staticmethod]
    #[pyo3(signature = (text, *, env = None))]
    fn from_properties(
        py: Python<'_>,
        text: Str,
        env: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let env = env
            .map(|e| str_pairs("env", e))
            .transpose()?
            .unwrap_or_default();
        token::AuthSettings::from_properties_with_env(&text, env.iter().map(|(k, v)| (&**k, &**v)))
            .map(Self)
            .or_raise(py)
    }

    /// Reads an `application.properties` file, placeholders resolved against the process
    /// environment.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| token::AuthSettings::from_properties_file(&path))
            .map(Self)
            .or_raise(py)
    }

    /// Reads the Docker image's variables (`NACOS_AUTH_TOKEN`, ...) from `env` (default: the
    /// process environment); other names are ignored.
    #[staticmethod]
    #[pyo3(signature = (env = None))]
    fn from_env(py: Python<'_>, env: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        match env {
            Some(env) => {
                let pairs = str_pairs("env", env)?;
                token::AuthSettings::from_env(pairs.iter().map(|(k, v)| (&**k, &**v)))
            }
            None => token::AuthSettings::from_process_env(),
        }
        .map(Self)
        .or_raise(py)
    }

    /// `True` if the secret key is set.
    #[getter]
    fn has_secret_key(&self) -> bool {
        self.0.secret_key.is_some()
    }

    /// The token validity in seconds (default 18,000).
    #[getter]
    fn expire_seconds(&self) -> u64 {
        self.0.expire_seconds
    }

    /// Whether the server's token cache is enabled (default False).
    #[getter]
    fn cache_enabled(&self) -> bool {
        self.0.cache_enabled
    }

    /// The server identity header name, if set.
    #[getter]
    fn identity_key(&self) -> Option<&str> {
        self.0.identity_key.as_deref()
    }

    /// A `TokenManager` with the secret key and validity of these settings.
    #[pyo3(signature = (*, allow_publicly_known = false))]
    fn token_manager(
        &self,
        py: Python<'_>,
        allow_publicly_known: bool,
    ) -> PyResult<PyTokenManager> {
        if allow_publicly_known {
            self.0.token_manager_allowing_publicly_known()
        } else {
            self.0.token_manager()
        }
        .map(PyTokenManager)
        .or_raise(py)
    }

    /// The `ServerIdentity` of these settings.
    #[pyo3(signature = (*, allow_publicly_known = false))]
    fn server_identity(
        &self,
        py: Python<'_>,
        allow_publicly_known: bool,
    ) -> PyResult<PyServerIdentity> {
        if allow_publicly_known {
            self.0.server_identity_allowing_publicly_known()
        } else {
            self.0.server_identity()
        }
        .map(PyServerIdentity)
        .or_raise(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let identity_key = match &self.0.identity_key {
            Some(key) => repr_of(py, key)?,
            None => "None".to_owned(),
        };
        Ok(format!(
            "AuthSettings(secret_key={}, expire_seconds={}, cache_enabled={}, identity_key={}, \
             identity_value={})",
            if self.0.secret_key.is_some() {
                "<redacted>"
            } else {
                "None"
            },
            self.0.expire_seconds,
            if self.0.cache_enabled {
                "True"
            } else {
                "False"
            },
            identity_key,
            if self.0.identity_value.is_some() {
                "<redacted>"
            } else {
                "None"
            },
        ))
    }
}
