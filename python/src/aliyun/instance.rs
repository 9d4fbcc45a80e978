//! `AliyunInstanceKms`: a KMS 3.0 instance reached with a ClientKey (SPEC 5.2).

use crate::args::Str;
use crate::errors::CoreResultExt;
use crate::kms::interface::{self, KmsCall};
use crate::kms::service as options;
use nacoscrypt_core::kms::Kms;
use nacoscrypt_kms_aliyun::config::AliyunConfig;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// A KMS 3.0 instance reached with a ClientKey (the instance API, SPEC 5.2). Thread-safe; the
/// interpreter is released during requests.
#[pyclass(frozen, module = "nacoscrypt")]
pub(crate) struct AliyunInstanceKms {
    client: nacoscrypt_kms_aliyun::AliyunInstanceKms,
}

impl AliyunInstanceKms {
    /// The client as a core KMS shared across threads (`migrate_config`).
    pub(crate) fn sync_kms(&self) -> &(dyn Kms + Sync) {
        &self.client
    }
}

/// Network calls: always with the interpreter released.
impl KmsCall for AliyunInstanceKms {
    fn call<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&dyn Kms) -> T + Send) -> T {
        py.detach(|| f(&self.client))
    }
}

#[pymethods]
impl AliyunInstanceKms {
    /// `endpoint`, the ClientKey (`client_key_file` or `client_key_json`), its password
    /// (`password_file`, `password_env` — the name of an environment variable — or `password`)
    /// and the instance's CA (`ca_pem` or `ca_file`) are required.
    #[new]
    #[pyo3(signature = (
        *, endpoint, client_key_file = None, client_key_json = None, password_file = None,
        password_env = None, password = None, ca_pem = None, ca_file = None, key_id = None,
        cache = Str::default(), connect_timeout = 5.0, request_timeout = 10.0, max_attempts = 4
    ),
    text_signature = "(*, endpoint, client_key_file=None, client_key_json=None, \
        password_file=None, password_env=None, password=None, ca_pem=None, ca_file=None, \
        key_id=None, cache='off', connect_timeout=5.0, request_timeout=10.0, max_attempts=4)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        endpoint: Str,
        client_key_file: Option<std::path::PathBuf>,
        client_key_json: Option<Str>,
        password_file: Option<std::path::PathBuf>,
        password_env: Option<Str>,
        password: Option<Str>,
        ca_pem: Option<Str>,
        ca_file: Option<std::path::PathBuf>,
        key_id: Option<Str>,
        cache: Str,
        connect_timeout: f64,
        request_timeout: f64,
        max_attempts: u32,
    ) -> PyResult<Self> {
        let mut pairs: Vec<(&str, String)> = vec![("kmsEndpoint", endpoint.to_string())];
        let path = |p: Option<std::path::PathBuf>| p.map(|p| p.to_string_lossy().into_owned());
        for (name, value) in [
            ("clientKeyFile", path(client_key_file)),
            ("clientKeyContent", client_key_json.map(|s| s.to_string())),
            ("clientKeyPasswordFromFilePath", path(password_file)),
            (
                "clientKeyPasswordFromEnvVariable",
                password_env.map(|s| s.to_string()),
            ),
            ("clientKeyPassword", password.map(|s| s.to_string())),
            ("CaContent", ca_pem.map(|s| s.to_string())),
            ("kmsCaFile", path(ca_file)),
            ("keyId", key_id.map(|s| s.to_string())),
            (
                "kmsCache",
                Some(if cache.is_empty() {
                    "off".to_owned()
                } else {
                    cache.to_string()
                }),
            ),
        ] {
            if let Some(v) = value {
                pairs.push((name, v));
            }
        }
        let (connect, request) = options::timeouts(py, connect_timeout, request_timeout)?;
        let client = py
            .detach(|| {
                AliyunConfig::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
                    .into_instance_builder()
                    .and_then(|b| {
                        b.timeouts(connect, request)
                            .retry(options::retry(max_attempts))
                            .build()
                    })
            })
            .or_raise(py)?;
        Ok(Self { client })
    }

    /// From a `.properties` text (see the crate docs: `kmsEndpoint`, `clientKeyFile`,
    /// `clientKeyPasswordFromFilePath` / `clientKeyPasswordFromEnvVariable`, `kmsCaFile`, ...).
    #[staticmethod]
    fn from_properties(py: Python<'_>, text: Str) -> PyResult<Self> {
        let client = py
            .detach(|| {
                AliyunConfig::from_properties(&text)
                    .and_then(AliyunConfig::into_instance_builder)
                    .and_then(nacoscrypt_kms_aliyun::AliyunInstanceKmsBuilder::build)
            })
            .or_raise(py)?;
        Ok(Self { client })
    }

    /// KMS interface: a fresh data key of `spec` and its blob.
    #[pyo3(signature = (key_id, spec, context = None))]
    fn generate_data_key<'py>(
        &self,
        py: Python<'py>,
        key_id: Str,
        spec: Str,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyBytes>, String)> {
        interface::generate_data_key(self, py, &key_id, &spec, context)
    }

    /// KMS interface: encrypts `plaintext` under `key_id`.
    #[pyo3(signature = (key_id, plaintext, context = None))]
    fn encrypt(
        &self,
        py: Python<'_>,
        key_id: Str,
        plaintext: &[u8],
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        interface::encrypt(self, py, &key_id, plaintext, context)
    }

    /// KMS interface: decrypts a blob made under the same `context`.
    #[pyo3(signature = (blob, context = None))]
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        blob: Str,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        interface::decrypt(self, py, &blob, context)
    }

    /// `{cache_hits, cache_misses, kms_calls, retries}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        options::stats(py, self.client.stats())
    }

    fn __repr__(&self) -> String {
        format!(
            "AliyunInstanceKms(client_key_id={:?})",
            self.client.client_key_id()
        )
    }
}
