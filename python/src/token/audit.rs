//! `auth_audit`: what in a server's settings weakens its auth (`core::token::audit`).

use crate::args::{Str, str_pairs};
use crate::errors::CoreResultExt;
use nacoscrypt_core::token::audit::{AuditReport, Severity, audit};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The report of `auth_audit`: `findings` (dicts with `severity`, `code`, `setting`,
/// `message`, errors first), the counts, `passes(strict=False)` and `to_json()`. Never holds a
/// secret.
#[pyclass(name = "AuthAudit", frozen, module = "nacoscrypt")]
pub(crate) struct PyAuthAudit(AuditReport);

#[pymethods]
impl PyAuthAudit {
    /// The findings, errors first: dicts `{"severity", "code", "setting", "message"}`.
    #[getter]
    fn findings<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.0
            .findings
            .iter()
            .map(|f| {
                let d = PyDict::new(py);
                d.set_item("severity", f.severity.name())?;
                d.set_item("code", f.code)?;
                d.set_item("setting", f.setting)?;
                d.set_item("message", &f.message)?;
                Ok(d)
            })
            .collect()
    }

    /// The number of error findings.
    #[getter]
    fn errors(&self) -> usize {
        self.0.count(Severity::Error)
    }

    /// The number of warning findings.
    #[getter]
    fn warnings(&self) -> usize {
        self.0.count(Severity::Warning)
    }

    /// `True` without an error finding.
    #[getter]
    fn ok(&self) -> bool {
        self.0.passes(false)
    }

    /// `True` without an error finding (with `strict`, without a warning either).
    #[pyo3(signature = (*, strict = false))]
    fn passes(&self, strict: bool) -> bool {
        self.0.passes(strict)
    }

    /// The report as one line of JSON (what `nacoscrypt auth audit --json` prints).
    fn to_json(&self) -> String {
        self.0.to_json()
    }

    fn __repr__(&self) -> String {
        format!(
            "AuthAudit(ok={}, errors={}, warnings={})",
            if self.0.passes(false) {
                "True"
            } else {
                "False"
            },
            self.errors(),
            self.warnings()
        )
    }
}

/// Audits a Nacos server's auth settings: its `application.properties` text (placeholders
/// resolved against `env` first), or without one the Docker image's variables in `env`
/// (`NACOS_AUTH_ENABLE`, `NACOS_AUTH_TOKEN`, `NACOS_AUTH_IDENTITY_KEY`, ...; pass `os.environ`).
/// Raises `SettingsError` only for text that is no properties file at all.
#[pyfunction]
#[pyo3(signature = (properties = None, *, env = None))]
pub(crate) fn auth_audit(
    py: Python<'_>,
    properties: Option<Str>,
    env: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyAuthAudit> {
    let pairs = env
        .map(|e| str_pairs("env", e))
        .transpose()?
        .unwrap_or_default();
    audit(
        properties.as_deref(),
        pairs.iter().map(|(k, v)| (&**k, &**v)),
    )
    .map(PyAuthAudit)
    .or_raise(py)
}
