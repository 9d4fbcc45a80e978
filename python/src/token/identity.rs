//! `ServerIdentity`: the peer-server header check (`core::token::identity`).

use super::repr_of;
use crate::args::{Str, str_pairs};
use crate::errors::CoreResultExt;
use nacoscrypt_core::token::ServerIdentity;
use pyo3::prelude::*;

/// The peer-server check (`nacos.core.auth.server.identity.key` / `.value`). The value is a
/// shared secret: never printed. `previous_values` are older values still accepted while a
/// new value rolls out across the cluster.
#[pyclass(name = "ServerIdentity", frozen, module = "nacoscrypt")]
pub(crate) struct PyServerIdentity(pub(super) ServerIdentity);

#[pymethods]
impl PyServerIdentity {
    #[new]
    #[pyo3(signature = (key, value, *, previous_values = None, allow_publicly_known = false))]
    fn new(
        py: Python<'_>,
        key: Str,
        value: Str,
        previous_values: Option<Vec<Str>>,
        allow_publicly_known: bool,
    ) -> PyResult<Self> {
        let mut identity = if allow_publicly_known {
            ServerIdentity::new_allowing_publicly_known(&key, &value)
        } else {
            ServerIdentity::new(&key, &value)
        }
        .or_raise(py)?;
        for previous in previous_values.unwrap_or_default() {
            identity = identity.with_previous_value(&previous).or_raise(py)?;
        }
        Ok(Self(identity))
    }

    /// The number of older values still accepted (a rotation in progress).
    #[getter]
    fn previous_value_count(&self) -> usize {
        self.0.previous_value_count()
    }

    /// The header name.
    #[getter]
    fn key(&self) -> &str {
        self.0.key()
    }

    /// `True` if the first header named like the key (case-insensitive) carries exactly the
    /// value (constant-time). `headers` is any mapping of header names to values (a dict, an
    /// `email.message.Message`, a framework's headers object: anything with `.items()`).
    fn matches(&self, headers: &Bound<'_, PyAny>) -> PyResult<bool> {
        let pairs = str_pairs("headers", headers)?;
        Ok(self.0.matches(pairs.iter().map(|(n, v)| (&**n, &**v))))
    }

    /// `True` if `value` is exactly the identity value or one of the previous values (each
    /// compared in constant time).
    fn matches_value(&self, value: Str) -> bool {
        self.0.matches_value(&value)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ServerIdentity(key={}, value=<redacted>)",
            repr_of(py, self.0.key())?
        ))
    }
}
