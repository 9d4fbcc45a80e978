//! The module registry (one `C_Initialize` per module and process) and the session pool.

use crate::error::{Failure, module_error};
use crate::{Pin, Token};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as P11Error, RvError};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use nacoscrypt_core::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

/// Locks a mutex; a panic elsewhere while it was held leaves data that is still consistent here
/// (a list of sessions, a map of handles), so poisoning is ignored.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The modules loaded by this process, by canonical path. A PKCS#11 module is initialised once
/// per process (`C_Initialize` twice is an error, and `C_Finalize` would close the sessions of
/// every other user), so each is loaded once, shared, and never finalised.
fn modules() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    MODULES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The module at `path`, loaded and initialised (for many threads, with OS locking).
pub(crate) fn module(path: &Path) -> Result<Pkcs11> {
    let canonical = std::fs::canonicalize(path).map_err(|e| Error::Io {
        operation: "opening the PKCS#11 module",
        message: format!("{}: {e}", path.display()),
    })?;
    let mut modules = lock(modules());
    if let Some(m) = modules.get(&canonical) {
        return Ok(m.clone());
    }
    let module = Pkcs11::new(&canonical).map_err(|e| Error::Io {
        operation: "loading the PKCS#11 module",
        message: format!("{}: {e}", canonical.display()),
    })?;
    match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Another library in this process initialised it first: share its state.
        Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_error("C_Initialize", &e)),
    }
    modules.insert(canonical, module.clone());
    Ok(module)
}

/// Counters of a pool, for tests and operators ([`Pkcs11Kms::stats`](crate::Pkcs11Kms::stats)).
///
/// ```no_run
/// use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, PoolStats, Token};
///
/// let kms = Pkcs11Kms::builder()
///     .module("/usr/lib/softhsm/libsofthsm2.so")
///     .token(Token::Label("nacos".into()))
///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
///     .build()?;
/// let PoolStats { sessions_opened, logins, sessions_discarded, idle } = kms.stats();
/// assert_eq!((sessions_opened, logins, sessions_discarded, idle), (1, 1, 0, 1), "after build");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Sessions opened since the KMS was built.
    pub sessions_opened: u64,
    /// Logins performed (one per token while any session stays open).
    pub logins: u64,
    /// Sessions thrown away because the module said they were broken.
    pub sessions_discarded: u64,
    /// Sessions idle in the pool now.
    pub idle: usize,
}

/// Sessions to one token, shared by every thread: a thread takes an idle session (or opens
/// one), uses it alone, and gives it back.
pub(crate) struct Pool {
    module: Pkcs11,
    token: Token,
    pin: Option<Pin>,
    /// The slot the token was last found in (a token chosen by label is looked up again after
    /// a failure: re-inserted, it may sit in another slot).
    slot: Mutex<Option<Slot>>,
    idle: Mutex<Vec<Session>>,
    max_idle: usize,
    /// Serialises logins, so that many threads starting at once log in once.
    login: Mutex<()>,
    sessions_opened: AtomicU64,
    logins: AtomicU64,
    discarded: AtomicU64,
}

impl Pool {
    pub(crate) fn new(module: Pkcs11, token: Token, pin: Option<Pin>, max_idle: usize) -> Self {
        Self {
            module,
            token,
            pin,
            slot: Mutex::new(None),
            idle: Mutex::new(Vec::new()),
            max_idle,
            login: Mutex::new(()),
            sessions_opened: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
        }
    }

    pub(crate) fn module(&self) -> &Pkcs11 {
        &self.module
    }

    pub(crate) fn stats(&self) -> PoolStats {
        PoolStats {
            sessions_opened: self.sessions_opened.load(Ordering::Relaxed),
            logins: self.logins.load(Ordering::Relaxed),
            sessions_discarded: self.discarded.load(Ordering::Relaxed),
            idle: lock(&self.idle).len(),
        }
    }

    /// The slot of the token.
    pub(crate) fn slot(&self) -> Result<Slot> {
        if let Some(slot) = *lock(&self.slot) {
            return Ok(slot);
        }
        let slot = self.find_slot()?;
        *lock(&self.slot) = Some(slot);
        Ok(slot)
    }

    fn find_slot(&self) -> Result<Slot> {
        let slots = self
            .module
            .get_slots_with_token()
            .map_err(|e| module_error("C_GetSlotList", &e))?;
        for slot in slots {
            // A token that cannot describe itself is not usable (SoftHSM2 keeps listing the
            // slot of a deleted token, and fails C_GetTokenInfo on it).
            let Ok(info) = self.module.get_token_info(slot) else {
                continue;
            };
            let matches = match &self.token {
                Token::Slot(id) => slot.id() == *id,
                Token::Label(label) => info.label().trim_end() == label,
            };
            if matches {
                return Ok(slot);
            }
        }
        Err(self.token_gone())
    }

    /// Opens a session to the token and logs in if the token is not logged in yet.
    fn open(&self) -> Result<Session> {
        let slot = self.slot()?;
        let session = match self.module.open_ro_session(slot) {
            Ok(s) => s,
            Err(e) => {
                // The token may have moved or gone: look it up afresh next time.
                *lock(&self.slot) = None;
                return Err(module_error("C_OpenSession", &e));
            }
        };
        self.sessions_opened.fetch_add(1, Ordering::Relaxed);
        if let Some(pin) = &self.pin {
            let _serialised = lock(&self.login);
            // Login state is per token, not per session: a token logged in under another
            // session of this process shows it here, and needs no second login.
            let state = session
                .get_session_info()
                .map_err(|e| module_error("C_GetSessionInfo", &e))?
                .session_state();
            if matches!(state, SessionState::RoPublic | SessionState::RwPublic) {
                match session.login(UserType::User, Some(&pin.auth_pin())) {
                    Ok(()) => {
                        self.logins.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                    Err(e) => return Err(module_error("C_Login", &e)),
                }
            }
        }
        Ok(session)
    }

    /// Runs `f` on a session of the pool.
    ///
    /// A session the module calls broken is discarded with every idle one, and `f` runs once
    /// more on a fresh session (an idle session may have died with its token while it waited).
    /// After any other failure that may mean the token is gone ([`Failure::suspect`]), the
    /// token is looked up: if it is not there, the sessions are discarded and the error says
    /// so. A call the token refuses hands its session back.
    pub(crate) fn run<T>(&self, mut f: impl FnMut(&Session) -> Result<T, Failure>) -> Result<T> {
        let pooled = lock(&self.idle).pop();
        let retry = pooled.is_some();
        let session = match pooled {
            Some(s) => s,
            None => self.open()?,
        };
        match f(&session) {
            Ok(v) => {
                self.give_back(session);
                Ok(v)
            }
            Err(e) if e.breaks_session() && retry => {
                let gone = e.session_gone();
                self.discard(session, gone);
                self.discard_idle(gone);
                let session = self.open()?;
                match f(&session) {
                    Ok(v) => {
                        self.give_back(session);
                        Ok(v)
                    }
                    Err(e) => Err(self.failed(session, e)),
                }
            }
            Err(e) => Err(self.failed(session, e)),
        }
    }

    /// What a failure in `session` means, and what becomes of the session.
    fn failed(&self, session: Session, e: Failure) -> Error {
        if e.breaks_session() {
            let gone = e.session_gone();
            self.discard(session, gone);
            self.discard_idle(gone);
            return e.into_error();
        }
        if e.suspect() && !self.token_present() {
            // The token is gone, and with it every session to it.
            self.discard(session, true);
            self.discard_idle(true);
            return self.token_gone();
        }
        self.give_back(session);
        e.into_error()
    }

    /// Looks the token up afresh.
    fn token_present(&self) -> bool {
        *lock(&self.slot) = None;
        self.slot().is_ok()
    }

    /// The error for a token that is not (or no longer) there.
    fn token_gone(&self) -> Error {
        let token = match &self.token {
            Token::Label(label) => format!("no token labelled {label:?} is present"),
            Token::Slot(id) => format!("no token is present in slot {id}"),
        };
        Error::from(nacoscrypt_core::KmsServiceError {
            service: crate::error::SERVICE,
            operation: "C_GetSlotList",
            code: "CKR_TOKEN_NOT_PRESENT".to_owned(),
            message: format!("{token} (removed, or not initialised?)"),
            request_id: None,
            http_status: None,
            attempts: 1,
        })
    }

    /// Discards every idle session (they share the token of one that broke); `gone` as in
    /// [`discard`](Self::discard).
    fn discard_idle(&self, gone: bool) {
        let stale: Vec<Session> = std::mem::take(&mut *lock(&self.idle));
        for s in stale {
            self.discard(s, gone);
        }
        *lock(&self.slot) = None;
    }

    fn give_back(&self, session: Session) {
        let mut idle = lock(&self.idle);
        if idle.len() < self.max_idle {
            idle.push(session);
        }
        // Else the session is dropped, which closes it.
    }

    /// Takes `session` out of use. A session the module has closed itself (`gone`: its token
    /// was removed, its handle is invalid) is forgotten, never closed: its handle may already
    /// name a session another thread opened since (modules reuse handles), which `C_CloseSession`
    /// would close under it. What is forgotten is the handle's number and a reference to the
    /// module, which lives for the whole process anyway.
    fn discard(&self, session: Session, gone: bool) {
        self.discarded.fetch_add(1, Ordering::Relaxed);
        if gone {
            std::mem::forget(session);
        } else {
            // A live session that failed (logged out under it, a device error): closed.
            let _ = session.close();
        }
    }
}
