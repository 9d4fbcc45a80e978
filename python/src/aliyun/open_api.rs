//! `AliyunKms`: the OpenAPI of Alibaba Cloud KMS (SPEC 5.1), a region or custom endpoint with
//! RAM credentials.

use crate::args::{Str, invalid_argument, parse_enum};
use crate::errors::CoreResultExt;
use crate::kms::interface::{self, KmsCall, context_of};
use crate::kms::service as options;
use nacoscrypt_core::SecretString;
use nacoscrypt_core::kms::Kms;
use nacoscrypt_kms_aliyun::config::AliyunConfig;
use nacoscrypt_kms_aliyun::{
    AliyunKms as Client, AliyunKmsBuilder, CacheSettings, Endpoint, Provider, RetryPolicy,
    Signature,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// Alibaba Cloud KMS (SPEC 5.1). Thread-safe; the interpreter is released during requests.
#[pyclass(frozen, module = "nacoscrypt")]
pub(crate) struct AliyunKms {
    client: Client,
}

impl AliyunKms {
    /// The client as a core KMS shared across threads (`migrate_config`).
    pub(crate) fn sync_kms(&self) -> &(dyn Kms + Sync) {
        &self.client
    }
}

/// Network calls: always with the interpreter released.
impl KmsCall for AliyunKms {
    fn call<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&dyn Kms) -> T + Send) -> T {
        py.detach(|| f(&self.client))
    }
}

#[pymethods]
impl AliyunKms {
    /// Builds a client. `endpoint` (a host, host:port or https URL) or `region` is required.
    /// Credentials: `access_key_id` + `access_key_secret` (+ `security_token` for STS; +
    /// `role_arn` to assume a RAM role with them), else `ram_role_name` (the ECS RAM role),
    /// else the official default chain.
    #[new]
    #[pyo3(signature = (
        *, endpoint = None, region = None, vpc = false, access_key_id = None,
        access_key_secret = None, security_token = None, role_arn = None,
        role_session_name = None, sts_endpoint = None, ram_role_name = None,
        metadata_endpoint = None, ca_pem = None, ca_file = None, credentials_ca_pem = None,
        key_id = None, signature = Str::default(), cache = Str::default(), connect_timeout = 5.0,
        request_timeout = 10.0, max_attempts = 4, max_total = 20.0
    ),
    text_signature = "(*, endpoint=None, region=None, vpc=False, access_key_id=None, \
        access_key_secret=None, security_token=None, role_arn=None, role_session_name=None, \
        sts_endpoint=None, ram_role_name=None, metadata_endpoint=None, ca_pem=None, ca_file=None, \
        credentials_ca_pem=None, key_id=None, signature='v3', cache='off', connect_timeout=5.0, \
        request_timeout=10.0, max_attempts=4, max_total=20.0)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        endpoint: Option<Str>,
        region: Option<Str>,
        vpc: bool,
        access_key_id: Option<Str>,
        access_key_secret: Option<Str>,
        security_token: Option<Str>,
        role_arn: Option<Str>,
        role_session_name: Option<Str>,
        sts_endpoint: Option<Str>,
        ram_role_name: Option<Str>,
        metadata_endpoint: Option<Str>,
        ca_pem: Option<Str>,
        ca_file: Option<std::path::PathBuf>,
        credentials_ca_pem: Option<Str>,
        key_id: Option<Str>,
        signature: Str,
        cache: Str,
        connect_timeout: f64,
        request_timeout: f64,
        max_attempts: u32,
        max_total: f64,
    ) -> PyResult<Self> {
        let own = |s: Option<Str>| s.map(|s| String::from(&*s));
        let (endpoint, region, access_key_id, access_key_secret) = (
            own(endpoint),
            own(region),
            own(access_key_id),
            own(access_key_secret),
        );
        let (security_token, role_arn, role_session_name, sts_endpoint) = (
            own(security_token),
            own(role_arn),
            own(role_session_name),
            own(sts_endpoint),
        );
        let (ram_role_name, metadata_endpoint, ca_pem, credentials_ca_pem, key_id) = (
            own(ram_role_name),
            own(metadata_endpoint),
            own(ca_pem),
            own(credentials_ca_pem),
            own(key_id),
        );
        let endpoint = match (endpoint, region) {
            (Some(e), _) => Endpoint::Custom(e),
            (None, Some(r)) if vpc => Endpoint::Vpc(r),
            (None, Some(r)) => Endpoint::Region(r),
            (None, None) => return Err(invalid_argument(py, "give endpoint= or region=")),
        };
        let provider = match (access_key_id, access_key_secret) {
            (Some(id), Some(secret)) => {
                let base = match security_token {
                    Some(token) => Provider::StsToken {
                        id,
                        secret: SecretString::from(secret),
                        token: SecretString::from(token),
                    },
                    None => Provider::AccessKey {
                        id,
                        secret: SecretString::from(secret),
                    },
                };
                match role_arn {
                    Some(role_arn) => Provider::RamRoleArn {
                        base: Box::new(base),
                        role_arn,
                        session_name: role_session_name,
                        duration_seconds: 3600,
                        policy: None,
                        external_id: None,
                        sts_endpoint: sts_endpoint.unwrap_or_else(|| {
                            nacoscrypt_kms_aliyun::credentials::STS_ENDPOINT.to_owned()
                        }),
                    },
                    None => base,
                }
            }
            (None, None) => match (ram_role_name, metadata_endpoint) {
                (role, Some(m)) => Provider::EcsRamRole {
                    role_name: role,
                    endpoint: m,
                    disable_imds_v1: false,
                },
                (Some(role), None) => Provider::ecs_ram_role(Some(role)),
                (None, None) => Provider::default_chain(),
            },
            _ => {
                return Err(invalid_argument(
                    py,
                    "access_key_id and access_key_secret go together",
                ));
            }
        };
        let (connect, request) = options::timeouts(py, connect_timeout, request_timeout)?;
        let mut b = AliyunKmsBuilder::default()
            .endpoint(endpoint)
            .credentials(provider)
            .timeouts(connect, request)
            .retry(RetryPolicy {
                max_total: options::seconds(
                    py,
                    max_total,
                    "max_total must be in (0, 86400) seconds",
                )?,
                ..options::retry(max_attempts)
            });
        if let Some(k) = key_id {
            b = b.default_key_id(k);
        }
        if let Some(pem) = ca_pem {
            b = b.ca_pem(pem);
        } else if let Some(path) = ca_file {
            let pem = py
                .detach(|| {
                    nacoscrypt_core::fs::read_text_file(
                        &path,
                        nacoscrypt_kms_aliyun::config::MAX_CA_BYTES,
                        "reading the CA file",
                    )
                })
                .or_raise(py)?;
            b = b.ca_pem(pem.as_str());
        }
        if let Some(pem) = credentials_ca_pem {
            b = b.credentials_ca_pem(pem);
        }
        // "" (the Python default) is the builder's default.
        b = b.signature(if signature.is_empty() {
            Signature::default()
        } else {
            parse_enum::<Signature>(py, &signature)?
        });
        b = b.cache(CacheSettings {
            mode: if cache.is_empty() {
                CacheSettings::default().mode
            } else {
                parse_enum::<nacoscrypt_kms_aliyun::CacheMode>(py, &cache)?
            },
            ..CacheSettings::default()
        });
        Ok(Self {
            client: b.build().or_raise(py)?,
        })
    }

    /// From a `.properties` text with the Java / Spring / Go names (see the crate docs).
    #[staticmethod]
    fn from_properties(py: Python<'_>, text: Str) -> PyResult<Self> {
        let client = AliyunConfig::from_properties(&text)
            .and_then(AliyunConfig::into_builder)
            .and_then(AliyunKmsBuilder::build)
            .or_raise(py)?;
        Ok(Self { client })
    }

    /// From a mapping of the same names (for example Go's field names).
    #[staticmethod]
    fn from_mapping(py: Python<'_>, mapping: &Bound<'_, PyAny>) -> PyResult<Self> {
        let pairs = context_of(Some(mapping))?;
        let client = AliyunConfig::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .into_builder()
            .and_then(AliyunKmsBuilder::build)
            .or_raise(py)?;
        Ok(Self { client })
    }

    /// KMS interface: a fresh data key of `spec` (`"AES_256"` / `"AES_128"`) and its blob.
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

    /// KMS interface: encrypts `plaintext` (UTF-8 text) under `key_id`.
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

    /// Checks credentials and the key (an `Encrypt` and `Decrypt` of a test text); returns
    /// `{provider, access_key_id, expires, key_id, key_version_id}`. Never a secret.
    #[pyo3(signature = (key_id = Str::default()), text_signature = "(self, /, key_id='')")]
    fn check<'py>(&self, py: Python<'py>, key_id: Str) -> PyResult<Bound<'py, PyDict>> {
        let r = py.detach(|| self.client.check(&key_id)).or_raise(py)?;
        let d = PyDict::new(py);
        d.set_item("provider", r.provider)?;
        d.set_item("access_key_id", r.access_key_id)?;
        d.set_item("expires", r.expires)?;
        d.set_item("key_id", r.key_id)?;
        d.set_item("key_version_id", r.key_version_id)?;
        Ok(d)
    }

    /// `{cache_hits, cache_misses, kms_calls, retries}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        options::stats(py, self.client.stats())
    }

    fn __repr__(&self) -> String {
        format!(
            "AliyunKms(credentials={:?})",
            self.client.provider().describe()
        )
    }
}
