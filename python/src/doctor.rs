//! `diagnose_config` and `migrate_config` (issue 16).

use crate::args::Str;
use crate::errors::to_py_err;
use crate::kms::{LocalKms, PyKms};
use nacoscrypt_core::Error;
use nacoscrypt_core::config::ConfigId;
use nacoscrypt_core::config::Format;
use nacoscrypt_core::config::doctor::{self, Keys};
use nacoscrypt_core::config::migrate::{self, Mode, Outcome, Plan, StoredConfig, TargetScheme};
use nacoscrypt_core::kms::{KeySpec, Kms};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A Python KMS argument resolved to something the core can share across threads.
enum Holder<'py> {
    Local(Bound<'py, LocalKms>),
    Python(PyKms),
    #[cfg(feature = "aliyun")]
    Aliyun(Bound<'py, crate::aliyun::AliyunKms>),
    #[cfg(feature = "aliyun")]
    Instance(Bound<'py, crate::aliyun::AliyunInstanceKms>),
    #[cfg(feature = "aws")]
    Aws(Bound<'py, crate::aws::AwsKms>),
    #[cfg(feature = "pkcs11")]
    Pkcs11(Bound<'py, crate::pkcs11::Pkcs11Kms>),
}

impl<'py> Holder<'py> {
    fn of(kms: &Bound<'py, PyAny>) -> Self {
        if let Ok(local) = kms.cast::<LocalKms>() {
            return Self::Local(local.clone());
        }
        #[cfg(feature = "aliyun")]
        if let Ok(a) = kms.cast::<crate::aliyun::AliyunKms>() {
            return Self::Aliyun(a.clone());
        }
        #[cfg(feature = "aliyun")]
        if let Ok(a) = kms.cast::<crate::aliyun::AliyunInstanceKms>() {
            return Self::Instance(a.clone());
        }
        #[cfg(feature = "aws")]
        if let Ok(a) = kms.cast::<crate::aws::AwsKms>() {
            return Self::Aws(a.clone());
        }
        #[cfg(feature = "pkcs11")]
        if let Ok(p) = kms.cast::<crate::pkcs11::Pkcs11Kms>() {
            return Self::Pkcs11(p.clone());
        }
        Self::Python(PyKms::new(kms))
    }

    fn with<T>(&self, f: impl FnOnce(&(dyn Kms + Sync)) -> T) -> T {
        match self {
            Self::Local(l) => l.get().with_sync_kms(f),
            Self::Python(p) => f(p),
            #[cfg(feature = "aliyun")]
            Self::Aliyun(a) => f(a.get().sync_kms()),
            #[cfg(feature = "aliyun")]
            Self::Instance(a) => f(a.get().sync_kms()),
            #[cfg(feature = "aws")]
            Self::Aws(a) => f(a.get().sync_kms()),
            #[cfg(feature = "pkcs11")]
            Self::Pkcs11(p) => f(p.get().sync_kms()),
        }
    }

    /// The key service behind a native network or HSM class (which the core may call without
    /// the interpreter), or `None` for `LocalKms` and Python objects.
    fn native(&self) -> Option<&(dyn Kms + Sync)> {
        match self {
            Self::Local(_) | Self::Python(_) => None,
            #[cfg(feature = "aliyun")]
            Self::Aliyun(a) => Some(a.get().sync_kms()),
            #[cfg(feature = "aliyun")]
            Self::Instance(a) => Some(a.get().sync_kms()),
            #[cfg(feature = "aws")]
            Self::Aws(a) => Some(a.get().sync_kms()),
            #[cfg(feature = "pkcs11")]
            Self::Pkcs11(p) => Some(p.get().sync_kms()),
        }
    }

    /// The Python exception for `err`, the KMS object's own exception chained if it raised.
    fn raise(&self, py: Python<'_>, err: &Error) -> PyErr {
        match self {
            Self::Python(p) => p.raise(py, err),
            _ => to_py_err(py, err),
        }
    }
}

/// Diagnoses one stored config: a dict with the report (never key material or plaintext).
///
/// Without `kms` (and `plugin_server_secret`) only the stored pair is read; with them every
/// decryption step is tried and `report["check"]["failedStep"]` names the first that failed.
#[pyfunction]
#[pyo3(
    signature = (*, data_id, group, content, encrypted_data_key = Str::default(), tenant = Str::default(), kms = None, plugin_server_secret = None),
    text_signature = "(*, data_id, group, content, encrypted_data_key='', tenant='', kms=None, plugin_server_secret=None)"
)]
#[allow(
    clippy::too_many_arguments,
    reason = "keyword-only Python API of the issue"
)]
pub(crate) fn diagnose_config<'py>(
    py: Python<'py>,
    data_id: Str,
    group: Str,
    content: Str,
    encrypted_data_key: Str,
    tenant: Str,
    kms: Option<&Bound<'py, PyAny>>,
    plugin_server_secret: Option<Str>,
) -> PyResult<Bound<'py, PyAny>> {
    let id = ConfigId::new(&data_id, &group, &tenant);
    let secret = plugin_server_secret.as_deref();
    let report = match kms {
        None if secret.is_none() => doctor::diagnose(&id, &content, &encrypted_data_key),
        None => doctor::diagnose_with_keys(
            &Keys {
                kms: None,
                plugin_server_secret: secret,
            },
            &id,
            &content,
            &encrypted_data_key,
        ),
        Some(kms) => {
            let check = |k: &(dyn Kms + Sync)| {
                doctor::diagnose_with_keys(
                    &Keys {
                        kms: Some(k),
                        plugin_server_secret: secret,
                    },
                    &id,
                    &content,
                    &encrypted_data_key,
                )
            };
            let holder = Holder::of(kms);
            // A network or HSM key service is asked without the interpreter.
            match holder.native() {
                Some(k) => py.detach(|| check(k)),
                None => holder.with(check),
            }
        }
    };
    py.import("json")?
        .call_method1("loads", (report.to_json(),))
}

/// Re-encrypts one stored config from `source` (None: server plugin configs only) to the key
/// `key_id` of `target`: a dict with the open API's field names plus `renamedFrom` (the old data
/// ID when the scheme change renamed it, else None), or None when the config is already in the
/// target form. A failing config raises the error's exception with a `step` attribute.
#[pyfunction]
#[pyo3(
    signature = (source, target, *, key_id, data_id, group, content, encrypted_data_key = Str::default(), tenant = Str::default(), mode = None, scheme = None, format = None, plugin_server_secret = None, unescape_html = false),
    text_signature = "(source, target, *, key_id, data_id, group, content, encrypted_data_key='', tenant='', mode='rekey', scheme='keep', format=None, plugin_server_secret=None, unescape_html=False)"
)]
#[allow(
    clippy::too_many_arguments,
    reason = "keyword-only Python API of the issue"
)]
pub(crate) fn migrate_config<'py>(
    py: Python<'py>,
    source: Option<&Bound<'py, PyAny>>,
    target: &Bound<'py, PyAny>,
    key_id: Str,
    data_id: Str,
    group: Str,
    content: Str,
    encrypted_data_key: Str,
    tenant: Str,
    mode: Option<Str>,
    scheme: Option<Str>,
    format: Option<Str>,
    plugin_server_secret: Option<Str>,
    unescape_html: bool,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let mode = match mode.as_deref().unwrap_or("rekey") {
        "rekey" => Mode::Rekey,
        "rewrap" => Mode::Rewrap,
        _ => {
            return Err(PyValueError::new_err(
                "mode must be \"rekey\" or \"rewrap\"",
            ));
        }
    };
    let scheme = match scheme.as_deref().unwrap_or("keep") {
        "keep" => TargetScheme::Keep,
        "kms-aes-256" => TargetScheme::Envelope(KeySpec::Aes256),
        "kms-aes-128" => TargetScheme::Envelope(KeySpec::Aes128),
        "direct" => TargetScheme::Direct,
        _ => {
            return Err(PyValueError::new_err(
                "scheme must be \"keep\", \"kms-aes-256\", \"kms-aes-128\" or \"direct\"",
            ));
        }
    };
    let format = format
        .map(|f| f.parse::<Format>())
        .transpose()
        .map_err(|e| to_py_err(py, &e))?;
    let id = ConfigId::new(&data_id, &group, &tenant);
    let entry = StoredConfig::new(&id, &content, &encrypted_data_key);
    let source = source.map(Holder::of);
    let target = Holder::of(target);
    let plain = |s: Option<&(dyn Kms + Sync)>, t: &(dyn Kms + Sync)| {
        migrate::migrate_one(
            &Plan {
                source: s,
                plugin_server_secret: plugin_server_secret.as_deref(),
                target: t,
                key_id: &key_id,
                scheme,
                format,
                mode,
                unescape_html,
            },
            &entry,
        )
    };
    let run = |s: Option<&(dyn Kms + Sync)>| target.with(|t| plain(s, t));
    // Network and HSM key services on both sides: without the interpreter.
    let outcome = match (source.as_ref().map(Holder::native), target.native()) {
        (None, Some(t)) => py.detach(|| plain(None, t)),
        (Some(Some(s)), Some(t)) => py.detach(|| plain(Some(s), t)),
        _ => match &source {
            Some(s) => s.with(|s| run(Some(s))),
            None => run(None),
        },
    };
    match outcome {
        Outcome::AlreadyMigrated => Ok(None),
        Outcome::Migrated {
            config,
            renamed_from,
        } => {
            let d = PyDict::new(py);
            d.set_item("dataId", config.data_id)?;
            d.set_item("group", config.group)?;
            d.set_item("tenant", config.tenant)?;
            d.set_item("content", config.content)?;
            d.set_item("encryptedDataKey", config.encrypted_data_key)?;
            d.set_item("renamedFrom", renamed_from)?;
            Ok(Some(d))
        }
        Outcome::Failed { step, error } => {
            // The KMS whose exception this is: the target for wrapping steps, else the source.
            let holder = match (&source, step) {
                (Some(s), _) if kms_error(&error) => s,
                _ => &target,
            };
            let err = holder.raise(py, &error);
            err.value(py).setattr("step", step.as_str())?;
            Err(err)
        }
    }
}

fn kms_error(err: &Error) -> bool {
    matches!(
        err.kind(),
        nacoscrypt_core::ErrorKind::Kms | nacoscrypt_core::ErrorKind::UnknownKey
    )
}

/// Adds the functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(diagnose_config, m)?)?;
    m.add_function(wrap_pyfunction!(migrate_config, m)?)?;
    Ok(())
}
