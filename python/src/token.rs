//! Access tokens (SPEC 3): `SecretKey`, `TokenManager`, `AccessToken`, `Claims`, `TokenCache`,
//! `ServerIdentity`, `AuthSettings` and the client refresh timing.

use crate::args::{Int, Str, str_pairs};
use crate::config::DETACH_AT;
use crate::errors::{CoreResultExt, to_py_err};
use nacoscrypt_core::Error;
use nacoscrypt_core::token::{self, ServerIdentity, TokenCache, TokenManager};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

fn invalid_argument(py: Python<'_>, reason: &'static str) -> PyErr {
    to_py_err(py, &Error::InvalidArgument { reason })
}

fn repr_of(py: Python<'_>, text: &str) -> PyResult<String> {
    Ok(PyString::new(py, text).repr()?.to_string())
}

/// A token secret key: `nacos.core.auth.plugin.nacos.token.secret.key`, decoded as the Nacos
/// server decodes it; its length selects HS256, HS384 or HS512. Never printed.
#[pyclass(name = "SecretKey", frozen, module = "nacoscrypt")]
pub(crate) struct PySecretKey(token::SecretKey);

#[pymethods]
impl PySecretKey {
    /// Decodes the server setting; publicly known keys are refused unless
    /// `allow_publicly_known` (tests and migrations only).
    #[staticmethod]
    #[pyo3(signature = (text, *, allow_publicly_known = false))]
    fn from_base64(py: Python<'_>, text: Str, allow_publicly_known: bool) -> PyResult<Self> {
        let key = if allow_publicly_known {
            token::SecretKey::from_base64_allowing_publicly_known(&text)
        } else {
            token::SecretKey::from_base64(&text)
        };
        key.map(Self).or_raise(py)
    }

    /// A key from raw bytes (at least 32).
    #[staticmethod]
    #[pyo3(signature = (data, *, allow_publicly_known = false))]
    fn from_bytes(py: Python<'_>, data: &[u8], allow_publicly_known: bool) -> PyResult<Self> {
        let key = if allow_publicly_known {
            token::SecretKey::from_bytes_allowing_publicly_known(data)
        } else {
            token::SecretKey::from_bytes(data)
        };
        key.map(Self).or_raise(py)
    }

    /// A new random 256-bit key (HS256).
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        token::SecretKey::generate().map(Self).or_raise(py)
    }

    /// "HS256", "HS384" or "HS512".
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.0.algorithm().name()
    }

    /// The key length in bits.
    #[getter]
    fn bits(&self) -> usize {
        self.0.bits()
    }

    /// The key as padded standard base64: the text for `application.properties`.
    fn to_base64<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::new(py, self.0.to_base64().as_str())
    }

    fn __repr__(&self) -> String {
        format!(
            "SecretKey(algorithm='{}', bits={})",
            self.algorithm(),
            self.bits()
        )
    }
}

/// A `SecretKey`, or a str decoded with `SecretKey.from_base64` (publicly known keys refused).
fn secret_key_of(
    py: Python<'_>,
    what: &str,
    object: &Bound<'_, PyAny>,
) -> PyResult<token::SecretKey> {
    if let Ok(key) = object.cast::<PySecretKey>() {
        return Ok(key.get().0.clone());
    }
    if object.is_instance_of::<PyString>() {
        let text = object.extract::<Str>()?;
        return token::SecretKey::from_base64(&text).or_raise(py);
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a SecretKey or a base64 str"
    )))
}

/// Issues and verifies Nacos access tokens, with older keys still accepted during a rotation.
/// Immutable: share one between threads freely.
#[pyclass(name = "TokenManager", frozen, module = "nacoscrypt")]
pub(crate) struct PyTokenManager(TokenManager);

#[pymethods]
impl PyTokenManager {
    #[new]
    #[pyo3(
        signature = (secret, *, validity = Int(18_000), leeway = Int(0), previous = None),
        text_signature = "(secret, *, validity=18000, leeway=0, previous=())"
    )]
    fn new(
        py: Python<'_>,
        secret: &Bound<'_, PyAny>,
        validity: Int,
        leeway: Int,
        previous: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (validity, leeway) = (validity.0, leeway.0);
        let validity = u64::try_from(validity)
            .map_err(|_| invalid_argument(py, "token validity must be positive"))?;
        let leeway = u64::try_from(leeway)
            .map_err(|_| invalid_argument(py, "leeway must not be negative"))?;
        let mut manager = TokenManager::new(secret_key_of(py, "secret", secret)?)
            .with_validity(validity)
            .or_raise(py)?
            .with_leeway(leeway);
        if let Some(previous) = previous {
            if previous.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err(
                    "previous must be an iterable of keys, not a str",
                ));
            }
            for key in previous.try_iter()? {
                manager = manager.with_previous_key(secret_key_of(py, "previous keys", &key?)?);
            }
        }
        Ok(Self(manager))
    }

    /// Issues a token for `subject` at `now` (Unix seconds; default: the system clock).
    #[pyo3(signature = (subject, *, now = None))]
    fn issue(&self, py: Python<'_>, subject: Str, now: Option<Int>) -> PyResult<PyAccessToken> {
        match now {
            Some(Int(now)) => self.0.issue(&subject, now),
            None => self.0.issue_now(&subject),
        }
        .map(PyAccessToken)
        .or_raise(py)
    }

    /// Verifies `token` at `now` (Unix seconds; default: the system clock).
    #[pyo3(signature = (token, *, now = None))]
    fn verify(&self, py: Python<'_>, token: Str, now: Option<Int>) -> PyResult<PyClaims> {
        let run = || match now {
            Some(Int(now)) => self.0.verify(&token, now),
            None => self.0.verify_now(&token),
        };
        let claims = if token.len() >= DETACH_AT {
            py.detach(run)
        } else {
            run()
        };
        claims.map(PyClaims).or_raise(py)
    }

    /// "HS256", "HS384" or "HS512": the signing key's algorithm.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.0.signing_key().algorithm().name()
    }

    /// The validity of issued tokens, in seconds.
    #[getter]
    fn validity(&self) -> u64 {
        self.0.validity()
    }

    /// The leeway of verification, in seconds.
    #[getter]
    fn leeway(&self) -> u64 {
        self.0.leeway()
    }

    fn __repr__(&self) -> String {
        format!(
            "TokenManager(algorithm='{}', validity={}, leeway={}, previous_keys={})",
            self.algorithm(),
            self.0.validity(),
            self.0.leeway(),
            self.0.previous_keys().len()
        )
    }
}

/// An issued token: `token`, `ttl` (seconds), `expires_at` (Unix seconds) and `subject`.
#[pyclass(name = "AccessToken", frozen, eq, module = "nacoscrypt")]
#[derive(PartialEq)]
pub(crate) struct PyAccessToken(token::AccessToken);

#[pymethods]
impl PyAccessToken {
    /// The token text (`header.payload.signature`).
    #[getter]
    fn token(&self) -> &str {
        &self.0.token
    }

    /// Seconds the token remains valid from the moment it was handed out.
    #[getter]
    fn ttl(&self) -> u64 {
        self.0.ttl
    }

    /// Its expiry (`exp`), Unix seconds.
    #[getter]
    fn expires_at(&self) -> i64 {
        self.0.expires_at
    }

    /// The subject (user name) it was issued to.
    #[getter]
    fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The server's login response JSON:
    /// `{"accessToken":…,"tokenTtl":…,"globalAdmin":false,"username":…}`; `username` defaults
    /// to the token's subject.
    #[pyo3(signature = (*, global_admin = false, username = None))]
    fn to_login_json(&self, global_admin: bool, username: Option<Str>) -> String {
        let username = username.as_deref().unwrap_or(&self.0.subject);
        self.0.to_login_json(username, global_admin)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        // The token is a bearer credential: never printed.
        Ok(format!(
            "AccessToken(subject={}, ttl={}, expires_at={}, token=<redacted>)",
            repr_of(py, &self.0.subject)?,
            self.0.ttl,
            self.0.expires_at
        ))
    }
}

/// The verified claims of a token: `sub` and `exp` (Unix seconds).
#[pyclass(name = "Claims", frozen, eq, hash, module = "nacoscrypt")]
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct PyClaims(token::Claims);

#[pymethods]
impl PyClaims {
    #[new]
    fn new(sub: Str, exp: Int) -> Self {
        Self(token::Claims {
            sub: String::from(&*sub),
            exp: exp.0,
        })
    }

    /// The subject (user name).
    #[getter]
    fn sub(&self) -> &str {
        &self.0.sub
    }

    /// The expiry, Unix seconds.
    #[getter]
    fn exp(&self) -> i64 {
        self.0.exp
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Claims(sub={}, exp={})",
            repr_of(py, &self.0.sub)?,
            self.0.exp
        ))
    }
}

/// The server's token cache (`token.cache.enable`) in front of a `TokenManager`. Thread-safe:
/// the cache sits behind a lock.
#[pyclass(name = "TokenCache", frozen, module = "nacoscrypt")]
pub(crate) struct PyTokenCache {
    manager: Py<PyTokenManager>,
    cache: Mutex<TokenCache>,
}

impl PyTokenCache {
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

    /// A token for `username` at `now_ms` (Unix milliseconds; default: the system clock): the
    /// cached one until 90% of its validity has passed (with the remaining TTL), then a new one.
    #[pyo3(signature = (username, *, now_ms = None))]
    fn login(&self, py: Python<'_>, username: Str, now_ms: Option<Int>) -> PyResult<PyAccessToken> {
        self.with_cache(|cache| match now_ms {
            // Until this binding moves to TokenCache::issue (seconds).
            #[allow(deprecated)]
            Some(Int(now_ms)) => cache.login(&username, now_ms),
            #[allow(deprecated)]
            None => cache.login_now(&username),
        })
        .map(PyAccessToken)
        .or_raise(py)
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

fn unix_now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The peer-server check (`nacos.core.auth.server.identity.key` / `.value`). The value is a
/// shared secret: never printed.
#[pyclass(name = "ServerIdentity", frozen, module = "nacoscrypt")]
pub(crate) struct PyServerIdentity(ServerIdentity);

#[pymethods]
impl PyServerIdentity {
    #[new]
    #[pyo3(signature = (key, value, *, allow_publicly_known = false))]
    fn new(py: Python<'_>, key: Str, value: Str, allow_publicly_known: bool) -> PyResult<Self> {
        let identity = if allow_publicly_known {
            ServerIdentity::new_allowing_publicly_known(&key, &value)
        } else {
            ServerIdentity::new(&key, &value)
        };
        identity.map(Self).or_raise(py)
    }

    /// The header name.
    #[getter]
    fn key(&self) -> &str {
        self.0.key()
    }

    /// `True` if the first header named like the key (case-insensitive) carries exactly the
    /// value (constant-time). `headers` is any mapping of header names to values (a dict, an
    /// `email.message.Message`, a framework's headers object: anything with `.items()`).
    fn matches(&self, headers: &Bound<'_, PyAny>) -> PyResult<bool> {
        let pairs = str_pairs("headers", headers)?;
        Ok(self.0.matches(pairs.iter().map(|(n, v)| (&**n, &**v))))
    }

    /// `True` if `value` is exactly the identity value (constant-time).
    fn matches_value(&self, value: Str) -> bool {
        self.0.matches_value(&value)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ServerIdentity(key={}, value=<redacted>)",
            repr_of(py, self.0.key())?
        ))
    }
}

/// The token settings of a Nacos cluster, from `application.properties` or the Docker image's
/// environment. The secret key and the identity value are never exposed.
#[pyclass(name = "AuthSettings", frozen, module = "nacoscrypt")]
pub(crate) struct PyAuthSettings(token::AuthSettings);

#[pymethods]
impl PyAuthSettings {
    /// Reads an `application.properties` text; `${NAME:default}` placeholders resolve against
    /// `env` (if given), then the file's own properties, then their defaults.
    #[staticmethod]
    #[pyo3(signature = (text, *, env = None))]
    fn from_properties(
        py: Python<'_>,
        text: Str,
        env: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let env = env
            .map(|e| str_pairs("env", e))
            .transpose()?
            .unwrap_or_default();
        token::AuthSettings::from_properties_with_env(&text, env.iter().map(|(k, v)| (&**k, &**v)))
            .map(Self)
            .or_raise(py)
    }

    /// Reads an `application.properties` file, placeholders resolved against the process
    /// environment.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| token::AuthSettings::from_properties_file(&path))
            .map(Self)
            .or_raise(py)
    }

    /// Reads the Docker image's variables (`NACOS_AUTH_TOKEN`, ...) from `env` (default: the
    /// process environment); other names are ignored.
    #[staticmethod]
    #[pyo3(signature = (env = None))]
    fn from_env(py: Python<'_>, env: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        match env {
            Some(env) => {
                let pairs = str_pairs("env", env)?;
                token::AuthSettings::from_env(pairs.iter().map(|(k, v)| (&**k, &**v)))
            }
            None => token::AuthSettings::from_process_env(),
        }
        .map(Self)
        .or_raise(py)
    }

    /// `True` if the secret key is set.
    #[getter]
    fn has_secret_key(&self) -> bool {
        self.0.secret_key.is_some()
    }

    /// The token validity in seconds (default 18,000).
    #[getter]
    fn expire_seconds(&self) -> u64 {
        self.0.expire_seconds
    }

    /// Whether the server's token cache is enabled (default False).
    #[getter]
    fn cache_enabled(&self) -> bool {
        self.0.cache_enabled
    }

    /// The server identity header name, if set.
    #[getter]
    fn identity_key(&self) -> Option<&str> {
        self.0.identity_key.as_deref()
    }

    /// A `TokenManager` with the secret key and validity of these settings.
    #[pyo3(signature = (*, allow_publicly_known = false))]
    fn token_manager(
        &self,
        py: Python<'_>,
        allow_publicly_known: bool,
    ) -> PyResult<PyTokenManager> {
        if allow_publicly_known {
            self.0.token_manager_allowing_publicly_known()
        } else {
            self.0.token_manager()
        }
        .map(PyTokenManager)
        .or_raise(py)
    }

    /// The `ServerIdentity` of these settings.
    #[pyo3(signature = (*, allow_publicly_known = false))]
    fn server_identity(
        &self,
        py: Python<'_>,
        allow_publicly_known: bool,
    ) -> PyResult<PyServerIdentity> {
        if allow_publicly_known {
            self.0.server_identity_allowing_publicly_known()
        } else {
            self.0.server_identity()
        }
        .map(PyServerIdentity)
        .or_raise(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let identity_key = match &self.0.identity_key {
            Some(key) => repr_of(py, key)?,
            None => "None".to_owned(),
        };
        Ok(format!(
            "AuthSettings(secret_key={}, expire_seconds={}, cache_enabled={}, identity_key={}, \
             identity_value={})",
            if self.0.secret_key.is_some() {
                "<redacted>"
            } else {
                "None"
            },
            self.0.expire_seconds,
            if self.0.cache_enabled {
                "True"
            } else {
                "False"
            },
            identity_key,
            if self.0.identity_value.is_some() {
                "<redacted>"
            } else {
                "None"
            },
        ))
    }
}

/// When a client that obtained a token at `obtained_at_ms` with a TTL of `ttl` seconds should
/// refresh it: `obtained_at_ms + (ttl - ttl // 10) * 1000`.
#[pyfunction]
pub(crate) fn refresh_at_ms(obtained_at_ms: Int, ttl: Int) -> i64 {
    token::refresh_at_ms(obtained_at_ms.0, ttl.0)
}

/// `True` once `now_ms` (default: the system clock) has reached `refresh_at_ms`.
#[pyfunction]
#[pyo3(signature = (obtained_at_ms, ttl, *, now_ms = None))]
pub(crate) fn needs_refresh(obtained_at_ms: Int, ttl: Int, now_ms: Option<Int>) -> bool {
    token::needs_refresh(
        obtained_at_ms.0,
        ttl.0,
        now_ms.map_or_else(unix_now_millis, |n| n.0),
    )
}

/// Adds the token classes and functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySecretKey>()?;
    m.add_class::<PyTokenManager>()?;
    m.add_class::<PyAccessToken>()?;
    m.add_class::<PyClaims>()?;
    m.add_class::<PyTokenCache>()?;
    m.add_class::<PyServerIdentity>()?;
    m.add_class::<PyAuthSettings>()?;
    m.add_function(wrap_pyfunction!(refresh_at_ms, m)?)?;
    m.add_function(wrap_pyfunction!(needs_refresh, m)?)?;
    Ok(())
}
