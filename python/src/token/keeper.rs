//! `TokenKeeper`: the client's token, refreshed with jitter, one login for many threads, one
//! re-login after a 403 (`core::token::keeper`).

use crate::args::{Int, Str, invalid_argument};
use crate::errors::to_py_err;
use nacoscrypt_core::token::{KeeperState, LoginResponse, TokenKeeper};
use nacoscrypt_core::{Error, Result};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use std::sync::{Arc, Mutex, PoisonError};

type Login = Box<dyn Fn() -> Result<LoginResponse> + Send + Sync>;

/// The last exception the login callable raised, kept to be raised again by every thread the
/// failed login answers (the one that ran it and those that waited for it).
type Failure = Arc<Mutex<Option<PyErr>>>;

/// Keeps a client's access token: logs in through `login` (a callable taking no argument and
/// returning the server's login response: its JSON text, a mapping with `accessToken` and
/// `tokenTtl`, or a `(token, ttl)` tuple) when no token is usable or its refresh is due.
/// Refreshes are spread at random over a window before the SDKs' refresh point; after
/// `forbidden()` the next `token()` logs in at once, then further forced logins back off.
///
/// Thread-safe: threads asking at the same time cause one login; the others use the current
/// token while it is valid, else wait for that login without holding the GIL.
#[pyclass(name = "TokenKeeper", frozen, module = "nacoscrypt")]
pub(crate) struct PyTokenKeeper {
    keeper: TokenKeeper<Login>,
    failure: Failure,
}

/// A login response returned by the callable.
fn response_of(returned: &Bound<'_, PyAny>) -> PyResult<LoginResponse> {
    let py = returned.py();
    if returned.is_instance_of::<PyString>() {
        let text = returned.extract::<Str>()?;
        return LoginResponse::parse(&text).map_err(|e| to_py_err(py, &e));
    }
    let (token, ttl) = if let Ok(pair) = returned.cast::<PyTuple>() {
        if pair.len() != 2 {
            return Err(PyTypeError::new_err(
                "the login callable returned a tuple that is not (token, ttl)",
            ));
        }
        (pair.get_item(0)?, pair.get_item(1)?)
    } else if returned.hasattr("get")? {
        (
            returned.call_method1("get", ("accessToken",))?,
            returned.call_method1("get", ("tokenTtl",))?,
        )
    } else {
        return Err(PyTypeError::new_err(format!(
            "the login callable returned {}, expected the login response (str, mapping or \
             (token, ttl))",
            returned.get_type().name()?
        )));
    };
    let token = token
        .extract::<Str>()
        .map_err(|_| PyTypeError::new_err("the login response's accessToken must be a str"))?;
    let Int(ttl) = ttl
        .extract::<Int>()
        .map_err(|_| PyTypeError::new_err("the login response's tokenTtl must be an int"))?;
    Ok(LoginResponse {
        access_token: token.to_owned(),
        token_ttl: ttl,
        global_admin: false,
        username: String::new(),
    })
}

/// Runs the callable with the GIL; an exception is kept in `failure` and becomes a core error.
fn call_login(login: &Py<PyAny>, failure: &Failure) -> Result<LoginResponse> {
    Python::attach(|py| {
        let outcome = login.call0(py).and_then(|r| response_of(r.bind(py)));
        let mut slot = failure.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(response) => {
                *slot = None;
                Ok(response)
            }
            Err(err) => {
                let message = err
                    .value(py)
                    .str()
                    .map_or_else(|_| String::new(), |s| s.to_string());
                *slot = Some(err);
                Err(Error::LoginFailed { message })
            }
        }
    })
}

impl PyTokenKeeper {
    /// The exception for `err`: the login callable's own exception if it raised one, else the
    /// core error's class.
    fn raise(&self, py: Python<'_>, err: &Error) -> PyErr {
        let slot = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.as_ref() {
            Some(original) => original.clone_ref(py),
            None => to_py_err(py, err),
        }
    }
}

fn now_ms_or_clock(now_ms: Option<Int>) -> i64 {
    now_ms.map_or_else(
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        },
        |Int(ms)| ms,
    )
}

#[pymethods]
impl PyTokenKeeper {
    #[new]
    #[pyo3(signature = (login, *, jitter_window = None, min_backoff_ms = None, max_backoff_ms = None))]
    fn new(
        py: Python<'_>,
        login: Bound<'_, PyAny>,
        jitter_window: Option<Int>,
        min_backoff_ms: Option<Int>,
        max_backoff_ms: Option<Int>,
    ) -> PyResult<Self> {
        if !login.is_callable() {
            return Err(PyTypeError::new_err("login must be callable"));
        }
        let mut state = KeeperState::new();
        if let Some(Int(secs)) = jitter_window {
            let secs = u64::try_from(secs)
                .map_err(|_| invalid_argument(py, "jitter_window must not be negative"))?;
            state = state.with_jitter_window(secs);
        }
        if min_backoff_ms.is_some() || max_backoff_ms.is_some() {
            let min =
                min_backoff_ms.map_or(nacoscrypt_core::token::DEFAULT_MIN_BACKOFF_MS, |i| i.0);
            let max = max_backoff_ms.map_or(
                nacoscrypt_core::token::DEFAULT_MAX_BACKOFF_MS.max(min),
                |i| i.0,
            );
            state = state
                .with_backoff(min, max)
                .map_err(|e| to_py_err(py, &e))?;
        }
        let failure: Failure = Arc::default();
        let login = login.unbind();
        let slot = Arc::clone(&failure);
        let callback: Login = Box::new(move || call_login(&login, &slot));
        Ok(Self {
            keeper: TokenKeeper::with_state(callback, state),
            failure,
        })
    }

    /// The token to send at `now_ms` (Unix milliseconds; default: the system clock): the
    /// current one, or a new one from the login callable when it is due. Raises what the
    /// login callable raised (for every thread that failed login answers); while failed logins
    /// back off without a usable token, the last login's exception again.
    #[pyo3(signature = (*, now_ms = None))]
    fn token(&self, py: Python<'_>, now_ms: Option<Int>) -> PyResult<String> {
        let now = now_ms_or_clock(now_ms);
        // The login callable takes the GIL back; threads waiting for it must not hold it.
        let result = py.detach(|| self.keeper.token(now));
        result.map_err(|e| self.raise(py, &e))
    }

    /// Reports that the server answered 403 to a request carrying `token` at `now_ms` (default:
    /// the clock). `True` if it was the current token: the next `token()` logs in (at once the
    /// first time, then after a backoff doubling from 1 s to 60 s). A 403 for an older token
    /// changes nothing (`False`).
    #[pyo3(signature = (token, *, now_ms = None))]
    fn forbidden(&self, token: Str, now_ms: Option<Int>) -> bool {
        self.keeper.forbidden(&token, now_ms_or_clock(now_ms))
    }

    /// Drops the current token and forgets any backoff (a logout, or new credentials): the
    /// next `token()` logs in at once.
    fn clear(&self) {
        self.keeper.clear();
    }

    /// Logins run so far (successful or failed).
    #[getter]
    fn login_count(&self) -> u64 {
        self.keeper.login_count()
    }

    /// When the current token is to be refreshed (Unix milliseconds, jitter applied), or
    /// `None` without a token.
    #[getter]
    fn refresh_at_ms(&self) -> Option<i64> {
        self.keeper.refresh_at_ms()
    }

    /// The current token's TTL in seconds as the login reported it, or `None`.
    #[getter]
    fn ttl(&self) -> Option<i64> {
        self.keeper.ttl_secs()
    }

    fn __repr__(&self) -> String {
        format!(
            "TokenKeeper(login_count={}, token=<redacted>)",
            self.keeper.login_count()
        )
    }
}
