//! `TokenManager`: issues and verifies tokens (`core::token::manager`, `sign`, `verify`).

use super::claims::{PyAccessToken, PyClaims};
use super::secret_key::secret_key_of;
use crate::args::{Int, Str, invalid_argument};
use crate::config::DETACH_AT;
use crate::errors::CoreResultExt;
use nacoscrypt_core::token::TokenManager;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Issues and verifies Nacos access tokens, with older keys still accepted during a rotation.
/// Immutable: share one between threads freely.
#[pyclass(name = "TokenManager", frozen, module = "nacoscrypt")]
pub(crate) struct PyTokenManager(pub(super) TokenManager);

#[pymethods]
impl PyTokenManager {
    #[new]
    #[pyo3(
        signature = (secret, *, validity = Int(18_000), leeway = Int(0), previous = None),
        text_signature = "(secret, *, validity=18000, leeway=0, previous=())"
    )]
    fn new(
        py: Python<'_>,
        secret: &Bound<'_, PyAny>,
        validity: Int,
        leeway: Int,
        previous: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (validity, leeway) = (validity.0, leeway.0);
        let validity = u64::try_from(validity)
            .map_err(|_| invalid_argument(py, "token validity must be positive"))?;
        let leeway = u64::try_from(leeway)
            .map_err(|_| invalid_argument(py, "leeway must not be negative"))?;
        let mut manager = TokenManager::new(secret_key_of(py, "secret", secret)?)
            .with_validity(validity)
            .or_raise(py)?
            .with_leeway(leeway);
        if let Some(previous) = previous {
            if previous.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err(
                    "previous must be an iterable of keys, not a str",
                ));
            }
            for key in previous.try_iter()? {
                manager = manager.with_previous_key(secret_key_of(py, "previous keys", &key?)?);
            }
        }
        Ok(Self(manager))
    }

    /// Issues a token for `subject` at `now` (Unix seconds; default: the system clock).
    #[pyo3(signature = (subject, *, now = None))]
    fn issue(&self, py: Python<'_>, subject: Str, now: Option<Int>) -> PyResult<PyAccessToken> {
        match now {
            Some(Int(now)) => self.0.issue(&subject, now),
            None => self.0.issue_now(&subject),
        }
        .map(PyAccessToken)
        .or_raise(py)
    }

    /// Verifies `token` at `now` (Unix seconds; default: the system clock).
    #[pyo3(signature = (token, *, now = None))]
    fn verify(&self, py: Python<'_>, token: Str, now: Option<Int>) -> PyResult<PyClaims> {
        let run = || match now {
            Some(Int(now)) => self.0.verify(&token, now),
            None => self.0.verify_now(&token),
        };
        let claims = if token.len() >= DETACH_AT {
            py.detach(run)
        } else {
            run()
        };
        claims.map(PyClaims).or_raise(py)
    }

    /// `verify`, then raises `InvalidClaims` ("token revoked: …") for a token issued before its
    /// subject's not-before time in `revocations` (one lookup after the signature check).
    #[pyo3(signature = (token, revocations, *, now = None))]
    fn verify_not_revoked(
        &self,
        py: Python<'_>,
        token: Str,
        revocations: &Bound<'_, super::revocation::PyRevocations>,
        now: Option<Int>,
    ) -> PyResult<PyClaims> {
        let store = &revocations.get().0;
        let now = now.map_or_else(
            || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            },
            |n| n.0,
        );
        self.0
            .verify_not_revoked(&token, now, store)
            .map(PyClaims)
            .or_raise(py)
    }

    /// "HS256", "HS384" or "HS512": the signing key's algorithm.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.0.signing_key().algorithm().name()
    }

    /// The validity of issued tokens, in seconds.
    #[getter]
    fn validity(&self) -> u64 {
        self.0.validity()
    }

    /// The leeway of verification, in seconds.
    #[getter]
    fn leeway(&self) -> u64 {
        self.0.leeway()
    }

    fn __repr__(&self) -> String {
        format!(
            "TokenManager(algorithm='{}', validity={}, leeway={}, previous_keys={})",
            self.algorithm(),
            self.0.validity(),
            self.0.leeway(),
            self.0.previous_keys().len()
        )
    }
}
