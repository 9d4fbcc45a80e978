//! Access tokens (SPEC 3): `SecretKey`, `TokenManager`, `AccessToken`, `Claims`, `TokenCache`,
//! `ServerIdentity`, `AuthSettings`, the client refresh timing and `TokenKeeper`, `Revocations`,
//! `auth_audit`; one file per concern, as in
//! `nacoscrypt_core::token`.

mod audit;
mod cache;
mod claims;
mod identity;
mod keeper;
mod manager;
mod refresh;
mod revocation;
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
    m.add_class::<keeper::PyTokenKeeper>()?;
    m.add_class::<revocation::PyRevocations>()?;
    m.add_class::<audit::PyAuthAudit>()?;
    m.add_function(wrap_pyfunction!(audit::auth_audit, m)?)?;
    m.add_function(wrap_pyfunction!(refresh::refresh_at_ms, m)?)?;
    m.add_function(wrap_pyfunction!(refresh::needs_refresh, m)?)?;
    Ok(())
}
