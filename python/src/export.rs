//! `read_export` and `write_export`: console export ZIPs (issue 16, SPEC 6).

use crate::args::{Int, Str};
use crate::errors::to_py_err;
use nacoscrypt_core::config::export::{self, ExportEntry};
use nacoscrypt_core::config::migrate::StoredConfig;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

fn entry_dict<'py>(py: Python<'py>, e: &ExportEntry) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let c = &e.config;
    d.set_item("dataId", &c.data_id)?;
    d.set_item("group", &c.group)?;
    d.set_item("tenant", &c.tenant)?;
    d.set_item("content", &c.content)?;
    d.set_item("encryptedDataKey", &c.encrypted_data_key)?;
    d.set_item("type", &e.config_type)?;
    d.set_item("appName", &e.app_name)?;
    d.set_item("desc", &e.desc)?;
    d.set_item("configTags", &e.config_tags)?;
    Ok(d)
}

/// Reads a console export ZIP (v1 `.meta.yml` or v2 `.metadata.yml`) whose configs belong to
/// `tenant`, filling each `encryptedDataKey` from `sidecar` (JSON lines with `dataId`, `group`,
/// `tenant`, `encryptedDataKey`; what `nacoscrypt config encrypt` prints) when given.
///
/// Returns `{"metadata": "none"|"v1"|"v2", "entries": [...], "unrecognized": [...],
/// "metadataOnly": [...], "sidecar": None | {"filled", "replaced", "unused", "conflicting"}}`;
/// each entry has the open API's fields plus `type`, `appName`, `desc`, `configTags`. A malformed
/// archive, metadata file or sidecar raises `InvalidArgument`.
#[pyfunction]
#[pyo3(
    signature = (data, *, tenant = Str::default(), sidecar = None),
    text_signature = "(data, *, tenant='', sidecar=None)"
)]
pub(crate) fn read_export<'py>(
    py: Python<'py>,
    data: &[u8],
    tenant: Str,
    sidecar: Option<Str>,
) -> PyResult<Bound<'py, PyDict>> {
    let (read, applied) = py
        .detach(|| {
            let mut read = export::read_export(data, &tenant)?;
            let applied = match sidecar.as_deref() {
                Some(text) => Some(export::apply_sidecar(
                    &mut read,
                    &export::parse_sidecar(text)?,
                )),
                None => None,
            };
            Ok((read, applied))
        })
        .map_err(|e| to_py_err(py, &e))?;
    let out = PyDict::new(py);
    out.set_item("metadata", read.metadata.as_str())?;
    let entries = PyList::empty(py);
    for e in &read.entries {
        entries.append(entry_dict(py, e)?)?;
    }
    out.set_item("entries", entries)?;
    out.set_item("unrecognized", &read.unrecognized)?;
    out.set_item("metadataOnly", &read.metadata_only)?;
    match applied {
        None => out.set_item("sidecar", py.None())?,
        Some(a) => {
            let d = PyDict::new(py);
            d.set_item("filled", a.filled)?;
            let replaced: Vec<String> =
                a.replaced.iter().map(|&i| read.entries[i].name()).collect();
            d.set_item("replaced", replaced)?;
            d.set_item("unused", a.unused)?;
            d.set_item("conflicting", a.conflicting)?;
            out.set_item("sidecar", d)?;
        }
    }
    Ok(out)
}

fn field(entry: &Bound<'_, PyAny>, name: &str, required: bool) -> PyResult<String> {
    match entry.get_item(name) {
        Ok(v) if v.is_none() && !required => Ok(String::new()),
        Ok(v) => Ok(String::from(&*v.extract::<Str>()?)),
        Err(_) if !required => Ok(String::new()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "an export entry needs a str `{name}`"
        ))),
    }
}

/// Writes a v2 export ZIP of `entries` (mappings with `dataId`, `group`, `content` and
/// optionally `encryptedDataKey`, `type`, `appName`, `desc`, `configTags`; `tenant` is not
/// part of an export) dated `now` (Unix seconds; default: the clock). Its `.metadata.yml`
/// carries each `encryptedDataKey`, which the Nacos server's import ignores and
/// [`read_export`] reads back.
#[pyfunction]
#[pyo3(signature = (entries, *, now = None), text_signature = "(entries, *, now=None)")]
pub(crate) fn write_export<'py>(
    py: Python<'py>,
    entries: &Bound<'py, PyAny>,
    now: Option<Int>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut list = Vec::new();
    for item in entries.try_iter()? {
        let item = item?;
        list.push(ExportEntry {
            config: StoredConfig {
                data_id: field(&item, "dataId", true)?,
                group: field(&item, "group", true)?,
                tenant: String::new(),
                content: field(&item, "content", true)?,
                encrypted_data_key: field(&item, "encryptedDataKey", false)?,
            },
            config_type: field(&item, "type", false)?,
            app_name: field(&item, "appName", false)?,
            desc: field(&item, "desc", false)?,
            config_tags: field(&item, "configTags", false)?,
        });
    }
    let zip = py
        .detach(|| match now {
            Some(Int(n)) => u64::try_from(n)
                .map_err(|_| nacoscrypt_core::Error::InvalidArgument {
                    reason: "now must not be negative",
                })
                .and_then(|n| export::write_export(&list, n)),
            None => export::write_export_now(&list),
        })
        .map_err(|e| to_py_err(py, &e))?;
    Ok(PyBytes::new(py, &zip))
}

/// Adds the functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_export, m)?)?;
    m.add_function(wrap_pyfunction!(write_export, m)?)?;
    Ok(())
}
