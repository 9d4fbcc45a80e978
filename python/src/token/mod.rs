//! Access tokens (SPEC 3): `SecretKey`, `TokenManager`, `AccessToken`, `Claims`, `TokenCache`,
//! `ServerIdentity`, `AuthSettings` and the client refresh timing; one file per concern, as in
//! `nacoscrypt_core::token`.

mod cache;
mod claims;
mod identity;
mod manager;
mod refresh;
mod secret_key;
mod settings;

use pyo3::prelude::*;
use pyo3::types::PyString;

fn repr_of(py: Python<'_>, text: &str) -> PyResult<String> {
    Ok(PyString::new(py, text).repr()?.to_string())
}

/// Adds the token classes and functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<secret_key::PySecretKey>()?;
    m.add_class::<manager::PyTokenManager>()?;
    m.add_class::<claims::PyAccessToken>()?;
    m.add_class::<claims::PyClaims>()?;
    m.add_class::<cache::PyTokenCache>()?;
    m.add_class::<identity::PyServerIdentity>()?;
    m.add_class::<settings::PyAuthSettings>()?;
    m.add_function(wrap_pyfunction!(refresh::refresh_at_ms, m)?)?;
    m.add_function(wrap_pyfunction!(refresh::needs_refresh, m)?)?;
    Ok(())
}
