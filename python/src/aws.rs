//! `AwsKms`: AWS KMS (the `nacoscrypt-kms-aws` crate, SPEC 5.3) as a Python object that every
//! config function accepts, like `LocalKms`.

use crate::args::{Str, invalid_argument, parse_enum};
use crate::errors::CoreResultExt;
use crate::kms::interface::{self, KmsCall};
use crate::kms::service as options;
use nacoscrypt_core::SecretString;
use nacoscrypt_core::kms::Kms;
use nacoscrypt_kms_aws::{AwsKms as Client, CacheMode, CacheSettings, Provider, RetryPolicy};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

/// The largest CA file read, in bytes.
const MAX_CA_BYTES: usize = 1 << 20;

/// AWS KMS (SPEC 5.3): `GenerateDataKey`, `Encrypt`, `Decrypt` with SigV4 and the standard
/// credential chain. Thread-safe; the interpreter is released during requests.
#[pyclass(frozen, module = "nacoscrypt")]
pub(crate) struct AwsKms {
    client: Client,
}

impl AwsKms {
    /// The client as a core KMS shared across threads (`migrate_config`).
    pub(crate) fn sync_kms(&self) -> &(dyn Kms + Sync) {
        &self.client
    }
}

/// Network calls: always with the interpreter released.
impl KmsCall for AwsKms {
    fn call<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&dyn Kms) -> T + Send) -> T {
        py.detach(|| f(&self.client))
    }
}

#[pymethods]
impl AwsKms {
    /// Builds a client; no request is made yet. What is not given comes from where the AWS SDKs
    /// take it: the region from `AWS_REGION` / `AWS_DEFAULT_REGION` / the profile, the endpoint
    /// from `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL` (else `kms.REGION.amazonaws.com`).
    /// Credentials: `access_key_id` + `secret_access_key` (+ `session_token`), else the source
    /// `credentials` names: `"default"` (the standard chain), `"env"`, `"profile"`,
    /// `"web_identity"`, `"container"` or `"imds"`.
    #[new]
    #[pyo3(signature = (
        *, region = None, endpoint = None, sts_endpoint = None, profile = None,
        credentials = Str::default(), access_key_id = None, secret_access_key = None,
        session_token = None, ca_pem = None, ca_file = None, key_id = None,
        cache = Str::default(), connect_timeout = 5.0, request_timeout = 10.0, max_attempts = 4,
        max_total = 20.0
    ),
    text_signature = "(*, region=None, endpoint=None, sts_endpoint=None, profile=None, \
        credentials='default', access_key_id=None, secret_access_key=None, session_token=None, \
        ca_pem=None, ca_file=None, key_id=None, cache='off', connect_timeout=5.0, \
        request_timeout=10.0, max_attempts=4, max_total=20.0)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        region: Option<Str>,
        endpoint: Option<Str>,
        sts_endpoint: Option<Str>,
        profile: Option<Str>,
        credentials: Str,
        access_key_id: Option<Str>,
        secret_access_key: Option<Str>,
        session_token: Option<Str>,
        ca_pem: Option<Str>,
        ca_file: Option<std::path::PathBuf>,
        key_id: Option<Str>,
        cache: Str,
        connect_timeout: f64,
        request_timeout: f64,
        max_attempts: u32,
        max_total: f64,
    ) -> PyResult<Self> {
        let own = |s: Option<Str>| s.map(|s| String::from(&*s));
        // "" (the Python default) is the standard chain, or the `profile`'s credentials.
        let source = if credentials.is_empty() {
            None
        } else {
            Some(parse_enum::<Provider>(py, &credentials)?)
        };
        let profile = own(profile);
        let source = match source {
            Some(Provider::Profile(None)) => Some(Provider::Profile(profile.clone())),
            other => other,
        };
        let secret = own(secret_access_key).map(SecretString::from);
        let token = own(session_token).map(SecretString::from);
        let provider = match (own(access_key_id), secret) {
            (Some(access_key_id), Some(secret_access_key)) if source.is_none() => {
                Some(Provider::Static {
                    access_key_id,
                    secret_access_key,
                    session_token: token,
                })
            }
            (Some(_), Some(_)) => {
                return Err(invalid_argument(
                    py,
                    "give access_key_id and secret_access_key, or credentials=, not both",
                ));
            }
            (None, None) if token.is_none() => source,
            (None, None) => {
                return Err(invalid_argument(
                    py,
                    "session_token needs access_key_id and secret_access_key",
                ));
            }
            _ => {
                return Err(invalid_argument(
                    py,
                    "access_key_id and secret_access_key go together",
                ));
            }
        };
        let (connect, request) = options::timeouts(py, connect_timeout, request_timeout)?;
        let mut b = Client::builder()
            .timeouts(connect, request)
            .retry(RetryPolicy {
                max_total: options::seconds(
                    py,
                    max_total,
                    "max_total must be in (0, 86400) seconds",
                )?,
                ..options::retry(max_attempts)
            })
            .cache(CacheSettings {
                mode: if cache.is_empty() {
                    CacheSettings::default().mode
                } else {
                    parse_enum::<CacheMode>(py, &cache)?
                },
                ..CacheSettings::default()
            });
        if let Some(r) = own(region) {
            b = b.region(r);
        }
        if let Some(e) = own(endpoint) {
            b = b.endpoint(e);
        }
        if let Some(e) = own(sts_endpoint) {
            b = b.sts_endpoint(e);
        }
        if let Some(p) = profile {
            b = b.profile(p);
        }
        if let Some(p) = provider {
            b = b.credentials(p);
        }
        if let Some(k) = own(key_id) {
            b = b.default_key_id(k);
        }
        if let Some(pem) = own(ca_pem) {
            b = b.ca_pem(pem);
        } else if let Some(path) = ca_file {
            let pem = py
                .detach(|| {
                    nacoscrypt_core::fs::read_text_file(&path, MAX_CA_BYTES, "reading the CA file")
                })
                .or_raise(py)?;
            b = b.ca_pem(pem.as_str());
        }
        // Reads the AWS_* variables and the shared files: no request.
        let client = py.detach(|| b.build()).or_raise(py)?;
        Ok(Self { client })
    }

    /// The region used.
    #[getter]
    fn region(&self) -> &str {
        self.client.region()
    }

    /// The KMS endpoint used (`https://...`).
    #[getter]
    fn endpoint(&self) -> &str {
        self.client.endpoint()
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

    /// KMS interface: encrypts `plaintext` (1 to 4096 bytes) under `key_id`.
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
    /// `{provider, access_key_id, expires, region, key_id}`. Never a secret.
    #[pyo3(signature = (key_id = Str::default()), text_signature = "(self, /, key_id='')")]
    fn check<'py>(&self, py: Python<'py>, key_id: Str) -> PyResult<Bound<'py, PyDict>> {
        let r = py.detach(|| self.client.check(&key_id)).or_raise(py)?;
        let d = PyDict::new(py);
        d.set_item("provider", r.provider)?;
        d.set_item("access_key_id", r.access_key_id)?;
        d.set_item("expires", r.expires)?;
        d.set_item("region", r.region)?;
        d.set_item("key_id", r.key_id)?;
        Ok(d)
    }

    /// `{cache_hits, cache_misses, kms_calls, retries}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        options::stats(py, self.client.stats())
    }

    /// Region, endpoint and the credential source; never a secret (the provider's `Debug`
    /// shows a fixed key's id only).
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "AwsKms(region={}, endpoint={}, credentials={})",
            PyString::new(py, self.client.region()).repr()?,
            PyString::new(py, self.client.endpoint()).repr()?,
            PyString::new(py, &format!("{:?}", self.client.provider())).repr()?,
        ))
    }
}
