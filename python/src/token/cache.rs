//! `TokenCache`: the server's token cache in front of a `TokenManager` (`core::token::cache`).

use super::claims::{PyAccessToken, PyClaims};
use super::manager::PyTokenManager;
use crate::args::{Int, Str};
use crate::config::DETACH_AT;
use crate::errors::CoreResultExt;
use nacoscrypt_core::token::TokenCache;
use pyo3::exceptions::PyDeprecationWarning;
use pyo3::prelude::*;
use std::sync::{Mutex, PoisonError};

/// The server's token cache (`token.cache.enable`) in front of a `TokenManager`. Thread-safe:
/// the cache sits behind a lock.
#[pyclass(name = "TokenCache", frozen, module = "nacoscrypt")]
pub(crate) struct PyTokenCache {
    manager: Py<PyTokenManager>,
    cache: Mutex<TokenCache>,
}

impl PyTokenCache {
    /// The core's `login` at `now_ms` (Unix milliseconds), or at the clock.
    /// A token at `now` (Unix seconds; `None`: the clock) through the core cache.
    fn issue_at(
        &self,
        py: Python<'_>,
        username: &str,
        now: Option<i64>,
    ) -> PyResult<PyAccessToken> {
        self.with_cache(|cache| match now {
            Some(now) => cache.issue(username, now),
            None => cache.issue_now(username),
        })
        .map(PyAccessToken)
        .or_raise(py)
    }

    fn with_cache<T>(&self, f: impl FnOnce(&mut TokenCache) -> T) -> T {
        f(&mut self.cache.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[pymethods]
impl PyTokenCache {
    #[new]
    fn new(manager: Bound<'_, PyTokenManager>) -> Self {
        let cache = TokenCache::new(manager.get().0.clone());
        Self {
            manager: manager.unbind(),
            cache: Mutex::new(cache),
        }
    }

    /// A token for `username` at `now` (Unix seconds; default: the system clock): the cached
    /// one until 90% of its validity has passed (with the remaining TTL), then a new one.
    #[pyo3(signature = (username, *, now = None))]
    fn issue(&self, py: Python<'_>, username: Str, now: Option<Int>) -> PyResult<PyAccessToken> {
        self.issue_at(py, &username, now.map(|Int(now)| now))
    }

    /// Deprecated: use `issue` (Unix seconds). A token for `username` at `now_ms` (Unix
    /// milliseconds; default: the system clock): the cached one until 90% of its validity has
    /// passed (with the remaining TTL), then a new one.
    #[pyo3(signature = (username, *, now_ms = None))]
    fn login(&self, py: Python<'_>, username: Str, now_ms: Option<Int>) -> PyResult<PyAccessToken> {
        PyErr::warn(
            py,
            &py.get_type::<PyDeprecationWarning>(),
            c"TokenCache.login(username, now_ms=...) is deprecated: use \
              TokenCache.issue(username, now=...) (Unix seconds)",
            1,
        )?;
        // The core's deprecated `login`: milliseconds rounded down to the second.
        self.issue_at(py, &username, now_ms.map(|Int(ms)| ms.div_euclid(1000)))
    }

    /// Verifies `token` at `now` (Unix seconds; default: the system clock), answering tokens
    /// verified before from the cache until they expire.
    #[pyo3(signature = (token, *, now = None))]
    fn verify(&self, py: Python<'_>, token: Str, now: Option<Int>) -> PyResult<PyClaims> {
        let run = || {
            self.with_cache(|cache| match now {
                Some(Int(now)) => cache.verify(&token, now),
                None => cache.verify_now(&token),
            })
        };
        let claims = if token.len() >= DETACH_AT {
            py.detach(run)
        } else {
            run()
        };
        claims.map(PyClaims).or_raise(py)
    }

    /// Consults `revocations` from now on (shared: later revocations apply at once) on every
    /// `issue` (a cached token issued before the user's not-before time is replaced) and every
    /// `verify` (cached verifications included). Replaces a store given before.
    fn set_revocations(&self, revocations: &Bound<'_, super::revocation::PyRevocations>) {
        let store = std::sync::Arc::clone(&revocations.get().0);
        self.with_cache(|cache| cache.set_revocations(store));
    }

    /// Forgets the cached login of `username` (say, after a password change).
    fn invalidate_user(&self, username: Str) {
        self.with_cache(|cache| cache.invalidate_user(&username));
    }

    /// Forgets everything.
    fn clear(&self) {
        self.with_cache(TokenCache::clear);
    }

    /// Drops every expired entry now (also done automatically, at most once a minute).
    #[pyo3(signature = (*, now = None))]
    fn evict_expired(&self, now: Option<Int>) {
        let now = now.map_or_else(unix_now_secs, |n| n.0);
        self.with_cache(|cache| cache.evict_expired(now));
    }

    /// The number of cached logins.
    #[getter]
    fn login_count(&self) -> usize {
        self.with_cache(|cache| cache.login_count())
    }

    /// The number of remembered verified tokens.
    #[getter]
    fn verified_count(&self) -> usize {
        self.with_cache(|cache| cache.verified_count())
    }

    /// The manager behind the cache.
    #[getter]
    fn manager(&self, py: Python<'_>) -> Py<PyTokenManager> {
        self.manager.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "TokenCache(logins={}, verified={})",
            self.login_count(),
            self.verified_count()
        )
    }
}

fn unix_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
