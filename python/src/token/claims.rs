//! `AccessToken` and `Claims`: an issued token and the verified claims of one
//! (`core::token::claims`).

use super::repr_of;
use crate::args::{Int, Str};
use nacoscrypt_core::token;
use pyo3::prelude::*;

/// An issued token: `token`, `ttl` (seconds), `expires_at` (Unix seconds) and `subject`.
#[pyclass(name = "AccessToken", frozen, eq, module = "nacoscrypt")]
#[derive(PartialEq)]
pub(crate) struct PyAccessToken(pub(super) token::AccessToken);

#[pymethods]
impl PyAccessToken {
    /// The token text (`header.payload.signature`).
    #[getter]
    fn token(&self) -> &str {
        &self.0.token
    }

    /// Seconds the token remains valid from the moment it was handed out.
    #[getter]
    fn ttl(&self) -> u64 {
        self.0.ttl
    }

    /// Its expiry (`exp`), Unix seconds.
    #[getter]
    fn expires_at(&self) -> i64 {
        self.0.expires_at
    }

    /// The subject (user name) it was issued to.
    #[getter]
    fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The server's login response JSON:
    /// `{"accessToken":…,"tokenTtl":…,"globalAdmin":false,"username":…}`; `username` defaults
    /// to the token's subject.
    #[pyo3(signature = (*, global_admin = false, username = None))]
    fn to_login_json(&self, global_admin: bool, username: Option<Str>) -> String {
        let username = username.as_deref().unwrap_or(&self.0.subject);
        self.0.to_login_json(username, global_admin)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        // The token is a bearer credential: never printed.
        Ok(format!(
            "AccessToken(subject={}, ttl={}, expires_at={}, token=<redacted>)",
            repr_of(py, &self.0.subject)?,
            self.0.ttl,
            self.0.expires_at
        ))
    }
}

/// The verified claims of a token: `sub` and `exp` (Unix seconds).
#[pyclass(name = "Claims", frozen, eq, hash, module = "nacoscrypt")]
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct PyClaims(pub(super) token::Claims);

#[pymethods]
impl PyClaims {
    #[new]
    fn new(sub: Str, exp: Int) -> Self {
        Self(token::Claims {
            sub: String::from(&*sub),
            exp: exp.0,
        })
    }

    /// The subject (user name).
    #[getter]
    fn sub(&self) -> &str {
        &self.0.sub
    }

    /// The expiry, Unix seconds.
    #[getter]
    fn exp(&self) -> i64 {
        self.0.exp
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Claims(sub={}, exp={})",
            repr_of(py, &self.0.sub)?,
            self.0.exp
        ))
    }
}
