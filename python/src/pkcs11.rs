//! `Pkcs11Kms`: AES keys in a PKCS#11 token (an HSM, SoftHSM2; the `nacoscrypt-kms-pkcs11`
//! crate, SPEC 5.3) as a Python object that every config function accepts, like `LocalKms`.

use crate::args::{Str, invalid_argument};
use crate::errors::CoreResultExt;
use crate::kms::interface::{self, KmsCall};
use nacoscrypt_core::kms::Kms;
use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms as Client, Token};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use std::path::PathBuf;

/// A PKCS#11 token's AES keys, found by label (SPEC 5.3). Thread-safe (one session pool for
/// every thread); the interpreter is released during the module's calls.
#[pyclass(frozen, module = "nacoscrypt")]
pub(crate) struct Pkcs11Kms {
    client: Client,
    /// For `repr`: the module path and the token as given (never the PIN).
    module: PathBuf,
    token: Token,
    logged_in: bool,
}

impl Pkcs11Kms {
    /// The client as a core KMS shared across threads (`migrate_config`).
    pub(crate) fn sync_kms(&self) -> &(dyn Kms + Sync) {
        &self.client
    }
}

/// HSM calls: always with the interpreter released.
impl KmsCall for Pkcs11Kms {
    fn call<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&dyn Kms) -> T + Send) -> T {
        py.detach(|| f(&self.client))
    }
}

#[pymethods]
impl Pkcs11Kms {
    /// Loads `module` (once per process), finds the token (`token_label`, or the one in slot
    /// `slot`) and logs in with the user PIN read from the file `pin_file` (one trailing newline
    /// ignored) or from the environment variable named `pin_env`; with neither it does not log
    /// in and sees only public objects. The PIN is never an argument itself. `key_label` is the
    /// AES key used when a call passes an empty key id.
    #[new]
    #[pyo3(signature = (
        *, module, token_label = None, slot = None, pin_file = None, pin_env = None,
        key_label = None, max_idle_sessions = 16
    ),
    text_signature = "(*, module, token_label=None, slot=None, pin_file=None, pin_env=None, \
        key_label=None, max_idle_sessions=16)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        module: PathBuf,
        token_label: Option<Str>,
        slot: Option<u64>,
        pin_file: Option<PathBuf>,
        pin_env: Option<Str>,
        key_label: Option<Str>,
        max_idle_sessions: usize,
    ) -> PyResult<Self> {
        let token = match (token_label, slot) {
            (Some(label), None) => Token::Label(String::from(&*label)),
            (None, Some(slot)) => Token::Slot(slot),
            (Some(_), Some(_)) => {
                return Err(invalid_argument(py, "give token_label= or slot=, not both"));
            }
            (None, None) => return Err(invalid_argument(py, "give token_label= or slot=")),
        };
        let pin_env = pin_env.map(|s| String::from(&*s));
        let key_label = key_label.map(|s| String::from(&*s));
        if pin_file.is_some() && pin_env.is_some() {
            return Err(invalid_argument(py, "give pin_file= or pin_env=, not both"));
        }
        if max_idle_sessions == 0 {
            return Err(invalid_argument(py, "max_idle_sessions must be at least 1"));
        }
        let logged_in = pin_file.is_some() || pin_env.is_some();
        let mut b = Client::builder()
            .module(module.clone())
            .token(token.clone())
            .max_idle_sessions(max_idle_sessions);
        if let Some(label) = key_label {
            b = b.default_key_label(label);
        }
        // The PIN is read, the module loaded and the user logged in without the interpreter.
        let client = py
            .detach(|| {
                let pin = match (&pin_file, &pin_env) {
                    (Some(path), _) => Some(Pin::from_file(path)?),
                    (None, Some(name)) => Some(Pin::from_env(name)?),
                    (None, None) => None,
                };
                match pin {
                    Some(pin) => b.pin(pin).build(),
                    None => b.build(),
                }
            })
            .or_raise(py)?;
        Ok(Self {
            client,
            module,
            token,
            logged_in,
        })
    }

    /// The label of the key used for an empty key id, if set.
    #[getter]
    fn key_label(&self) -> Option<&str> {
        self.client.default_key_label()
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

    /// KMS interface: encrypts `plaintext` inside the token with the key labelled `key_id`.
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

    /// KMS interface: decrypts a blob made under the same `context` (with the key it names).
    #[pyo3(signature = (blob, context = None))]
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        blob: Str,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        interface::decrypt(self, py, &blob, context)
    }

    /// Checks the token and the key `key_label` (empty: the default) with an encryption and a
    /// decryption; returns `{library, token_label, token_serial, slot, key_label}`.
    #[pyo3(signature = (key_label = Str::default()), text_signature = "(self, /, key_label='')")]
    fn check<'py>(&self, py: Python<'py>, key_label: Str) -> PyResult<Bound<'py, PyDict>> {
        let r = py.detach(|| self.client.check(&key_label)).or_raise(py)?;
        let d = PyDict::new(py);
        d.set_item("library", r.library)?;
        d.set_item("token_label", r.token_label)?;
        d.set_item("token_serial", r.token_serial)?;
        d.set_item("slot", r.slot)?;
        d.set_item("key_label", r.key_label)?;
        Ok(d)
    }

    /// The session pool's counters: `{sessions_opened, logins, sessions_discarded, idle}`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.client.stats();
        let d = PyDict::new(py);
        d.set_item("sessions_opened", s.sessions_opened)?;
        d.set_item("logins", s.logins)?;
        d.set_item("sessions_discarded", s.sessions_discarded)?;
        d.set_item("idle", s.idle)?;
        Ok(d)
    }

    /// The module, the token and the default key label; whether it logged in, never the PIN.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let token = match &self.token {
            Token::Label(l) => format!("token_label={}", PyString::new(py, l).repr()?),
            Token::Slot(s) => format!("slot={s}"),
        };
        let key = match self.client.default_key_label() {
            Some(l) => PyString::new(py, l).repr()?.to_string(),
            None => "None".to_owned(),
        };
        Ok(format!(
            "Pkcs11Kms(module={}, {token}, key_label={key}, logged_in={})",
            PyString::new(py, &self.module.to_string_lossy()).repr()?,
            if self.logged_in { "True" } else { "False" },
        ))
    }
}
