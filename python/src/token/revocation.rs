//! `Revocations`: per-user "not before" times (`core::token::revocation`).

use crate::args::{Int, Str};
use nacoscrypt_core::token::{InMemoryRevocations, RevocationStore};
use pyo3::prelude::*;
use std::sync::{Arc, PoisonError, RwLock};

/// The store shared by a `Revocations` object and the caches given it.
pub(crate) type SharedRevocations = Arc<RwLock<InMemoryRevocations>>;

/// Per-user "not before" times: a password change or a user's deletion revokes every token the
/// user got earlier. A token is revoked when it was issued (its `exp` minus the verifying
/// manager's validity) before its subject's time; verification then raises `InvalidClaims`
/// ("token revoked: …", `nacos_message` "token invalid!"). Consulted by
/// `TokenManager.verify_not_revoked` and by a `TokenCache` given it with `set_revocations`
/// (which sees later revocations at once). Thread-safe.
#[pyclass(name = "Revocations", frozen, module = "nacoscrypt")]
pub(crate) struct PyRevocations(pub(super) SharedRevocations);

impl PyRevocations {
    fn write(&self, f: impl FnOnce(&mut InMemoryRevocations)) {
        f(&mut self.0.write().unwrap_or_else(PoisonError::into_inner));
    }
}

#[pymethods]
impl PyRevocations {
    #[new]
    fn new() -> Self {
        Self(Arc::default())
    }

    /// Revokes every token of `username` issued before `not_before` (Unix seconds; a token
    /// issued in that very second still verifies). A later time already recorded is kept.
    fn revoke_before(&self, username: Str, not_before: Int) {
        self.write(|s| s.revoke_before(&username, not_before.0));
    }

    /// Revokes every token of `username` issued before now (the system clock).
    fn revoke_now(&self, username: Str) {
        self.write(|s| s.revoke_now(&username));
    }

    /// Drops `username`'s time (its unexpired tokens verify again).
    fn forget(&self, username: Str) {
        self.write(|s| s.forget(&username));
    }

    /// `username`'s not-before time (Unix seconds), or `None`.
    fn not_before(&self, username: Str) -> Option<i64> {
        self.0.not_before(&username)
    }

    /// Drops the times that can no longer refuse an unexpired token of `validity` seconds.
    #[pyo3(signature = (validity, *, now = None))]
    fn purge(&self, validity: Int, now: Option<Int>) {
        let now = now.map_or_else(
            || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            },
            |n| n.0,
        );
        let validity = u64::try_from(validity.0).unwrap_or(0);
        self.write(|s| s.purge(now, validity));
    }

    fn __len__(&self) -> usize {
        self.0.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn __repr__(&self) -> String {
        format!("Revocations(users={})", self.__len__())
    }
}
