//! The client-side token keeper: holds the current token, says when to log in again, and turns
//! a 403 into one immediate re-login, then backs off.
//!
//! - [`KeeperState`] is the pure state machine (`no_std`): time and randomness are parameters,
//!   the login is the caller's.
//! - [`TokenKeeper`] (feature `std`) wraps it for threads: the login is a closure, and however
//!   many threads ask for a token at once, one login runs; the others use the still-valid token
//!   or wait for that login.
//!
//! # When a token is refreshed
//! The SDKs' rule ([`refresh_at_ms`]) refreshes a token obtained at `t` with TTL `ttl` from
//! `t + ttl − ttl/10` on. Were every client to follow it exactly, clients that logged in
//! together (a restart, a rollout) would all log in again together. The keeper moves each
//! refresh earlier by a random amount, uniform over a window (by default `ttl/10`, so refreshes
//! spread over `[t + 0.8 ttl, t + 0.9 ttl]`): never later than the SDKs' rule.
//!
//! # A 403
//! A 403 means the server refused the token: its secret key was changed, the user's password
//! changed, or the token was revoked. [`KeeperState::forbidden`] marks the token stale and the
//! next request logs in at once. If the new token is refused too (the user lacks a permission,
//! say), each further forced re-login waits a backoff that doubles from one second to a minute;
//! meanwhile the stale token is handed out (the server's answer will not change by logging in
//! more often). Failed logins back off the same way; while they do, a still-valid token is
//! used, and without one the last login error is returned.

use super::refresh_at_ms;
use crate::{Error, Result, SecretString};
use alloc::string::String;
use subtle::ConstantTimeEq;

/// The first backoff after a forced re-login or a failed login, in milliseconds.
pub const DEFAULT_MIN_BACKOFF_MS: i64 = 1_000;
/// The longest backoff, in milliseconds.
pub const DEFAULT_MAX_BACKOFF_MS: i64 = 60_000;

/// What the caller of [`KeeperState::next`] does now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Use [`KeeperState::token`].
    Ready,
    /// Log in now, then report with [`KeeperState::login_succeeded`] or
    /// [`KeeperState::login_failed`].
    Login,
    /// Another caller is logging in and there is no usable token: wait for its report.
    Wait,
    /// No usable token and logins are backing off after a failure: this is the last error.
    Failed(Error),
}

#[derive(Clone)]
struct Held {
    token: SecretString,
    ttl_secs: i64,
    obtained_at_ms: i64,
    refresh_at_ms: i64,
    expires_at_ms: i64,
}

/// The keeper's state machine, without threads, clock or RNG ([`TokenKeeper`] wraps it for
/// threads).
///
/// # When a token is refreshed
/// The SDKs' rule ([`refresh_at_ms`]) refreshes a token obtained at `t` with TTL `ttl` from
/// `t + ttl − ttl/10` on. Were every client to follow it exactly, clients that logged in
/// together (a restart, a rollout) would all log in again together. The keeper moves each
/// refresh earlier by a random amount, uniform over a window (by default `ttl/10`, so refreshes
/// spread over `[t + 0.8 ttl, t + 0.9 ttl]`): never later than the SDKs' rule.
///
/// # A 403
/// A 403 means the server refused the token: its secret key was changed, the user's password
/// changed, or the token was revoked. [`KeeperState::forbidden`] marks the token stale and the
/// next request logs in at once. If the new token is refused too (the user lacks a permission,
/// say), each further forced re-login waits a backoff that doubles from one second to a minute;
/// meanwhile the stale token is handed out (the server's answer will not change by logging in
/// more often). Failed logins back off the same way; while they do, a still-valid token is
/// used, and without one the last login error is returned.
///
/// # Example
/// ```
/// use nacoscrypt_core::token::{KeeperState, Step};
///
/// let mut keeper = KeeperState::new();
/// assert_eq!(keeper.next(0), Step::Login);
/// assert_eq!(keeper.next(0), Step::Wait); // a login is in flight, no token yet
/// keeper.login_succeeded("a.b.c", 18_000, 0, 0)?; // random 0: refresh at the window's end
/// assert_eq!(keeper.next(1_000), Step::Ready);
/// assert_eq!(keeper.token(), Some("a.b.c"));
/// assert_eq!(keeper.refresh_at_ms(), Some(16_200_000));
///
/// // The server answers 403 for this token: one immediate re-login.
/// assert!(keeper.forbidden("a.b.c", 2_000));
/// assert_eq!(keeper.next(2_000), Step::Login);
/// keeper.login_succeeded("d.e.f", 18_000, 2_000, 0)?;
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone)]
pub struct KeeperState {
    held: Option<Held>,
    in_flight: bool,
    stale: bool,
    forced: bool,
    backoff_ms: i64,
    no_login_before_ms: i64,
    last_error: Option<Error>,
    jitter_window_secs: Option<u64>,
    min_backoff_ms: i64,
    max_backoff_ms: i64,
    generation: u64,
    logins: u64,
}

impl Default for KeeperState {
    fn default() -> Self {
        Self::new()
    }
}

impl KeeperState {
    /// A keeper without a token, with the default jitter window (`ttl/10`) and backoff (1 s
    /// doubling to 60 s).
    pub fn new() -> Self {
        Self {
            held: None,
            in_flight: false,
            stale: false,
            forced: false,
            backoff_ms: DEFAULT_MIN_BACKOFF_MS,
            no_login_before_ms: i64::MIN,
            last_error: None,
            jitter_window_secs: None,
            min_backoff_ms: DEFAULT_MIN_BACKOFF_MS,
            max_backoff_ms: DEFAULT_MAX_BACKOFF_MS,
            generation: 0,
            logins: 0,
        }
    }

    /// Spreads refreshes over `secs` before the SDKs' refresh point instead of `ttl/10`
    /// (capped at that point: a refresh is never scheduled before the token was obtained).
    /// 0 turns the jitter off.
    pub fn with_jitter_window(mut self, secs: u64) -> Self {
        self.jitter_window_secs = Some(secs);
        self
    }

    /// Sets the backoff after a forced re-login or a failed login: `min_ms`, doubling up to
    /// `max_ms`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 < min_ms <= max_ms`.
    pub fn with_backoff(mut self, min_ms: i64, max_ms: i64) -> Result<Self> {
        if min_ms <= 0 || max_ms < min_ms {
            return Err(Error::InvalidArgument {
                reason: "backoff must satisfy 0 < min <= max (milliseconds)",
            });
        }
        self.min_backoff_ms = min_ms;
        self.max_backoff_ms = max_ms;
        self.backoff_ms = min_ms;
        Ok(self)
    }

    /// What to do at `now_ms` (Unix milliseconds). [`Step::Login`] is answered once until
    /// reported: the caller that gets it must report.
    pub fn next(&mut self, now_ms: i64) -> Step {
        let usable = self.usable(now_ms);
        let wants_login = match &self.held {
            None => true,
            Some(h) => self.stale || now_ms >= h.refresh_at_ms,
        };
        if !wants_login {
            return Step::Ready;
        }
        if self.in_flight {
            return if usable { Step::Ready } else { Step::Wait };
        }
        if now_ms < self.no_login_before_ms {
            // Backing off: a refused (stale) token that has not expired is still handed out.
            let unexpired = self.held.as_ref().is_some_and(|h| now_ms < h.expires_at_ms);
            return match (&self.last_error, unexpired) {
                (_, true) => Step::Ready,
                (Some(e), false) => Step::Failed(e.clone()),
                (None, false) => Step::Failed(Error::InvalidArgument {
                    reason: "token keeper: backing off after a refused token",
                }),
            };
        }
        self.in_flight = true;
        Step::Login
    }

    /// Reports a successful login at `now_ms`: `token` with a TTL of `ttl_secs` seconds.
    /// `random` (any value, uniformly random) places the refresh within the jitter window.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty token or a TTL under one second; the login then
    /// counts as failed (and backs off).
    pub fn login_succeeded(
        &mut self,
        token: &str,
        ttl_secs: i64,
        now_ms: i64,
        random: u64,
    ) -> Result<()> {
        if token.is_empty() || ttl_secs < 1 {
            let err = Error::InvalidArgument {
                reason: "login returned an empty token or a tokenTtl under 1 second",
            };
            self.login_failed(err.clone(), now_ms);
            return Err(err);
        }
        let sdk_at = refresh_at_ms(now_ms, ttl_secs);
        let offset_ms = sdk_at.saturating_sub(now_ms).max(0);
        let window_secs = self
            .jitter_window_secs
            .unwrap_or(u64::try_from(ttl_secs / 10).unwrap_or(0));
        let window_ms = i64::try_from(window_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000)
            .min(offset_ms);
        let jitter = if window_ms > 0 {
            // window_ms > 0, so the cast and the modulus are in range.
            i64::try_from(random % (window_ms as u64 + 1)).unwrap_or(0)
        } else {
            0
        };
        self.held = Some(Held {
            token: SecretString::from(String::from(token)),
            ttl_secs,
            obtained_at_ms: now_ms,
            refresh_at_ms: sdk_at - jitter,
            expires_at_ms: now_ms.saturating_add(ttl_secs.saturating_mul(1000)),
        });
        self.stale = false;
        self.last_error = None;
        if self.forced {
            // A forced re-login: the next one waits, longer each time.
            self.no_login_before_ms = now_ms.saturating_add(self.backoff_ms);
            self.backoff_ms = self.backoff_ms.saturating_mul(2).min(self.max_backoff_ms);
        } else {
            self.no_login_before_ms = i64::MIN;
            self.backoff_ms = self.min_backoff_ms;
        }
        self.forced = false;
        self.finish();
        Ok(())
    }

    /// Reports a failed login at `now_ms`: callers without a usable token get `error` until
    /// the backoff has passed.
    pub fn login_failed(&mut self, error: Error, now_ms: i64) {
        self.last_error = Some(error);
        self.no_login_before_ms = now_ms.saturating_add(self.backoff_ms);
        self.backoff_ms = self.backoff_ms.saturating_mul(2).min(self.max_backoff_ms);
        self.finish();
    }

    fn finish(&mut self) {
        self.in_flight = false;
        self.generation = self.generation.wrapping_add(1);
        self.logins = self.logins.wrapping_add(1);
    }

    /// Reports that the server answered 403 to a request carrying `token` at `now_ms`. If it is
    /// the current token (compared in constant time), the token is marked stale and `true` is
    /// returned: the next [`next`](Self::next) asks for a login, at once the first time, then
    /// after the backoff. A 403 for an older token changes nothing (`false`).
    pub fn forbidden(&mut self, token: &str, now_ms: i64) -> bool {
        let Some(held) = &self.held else { return false };
        if self.stale || !bool::from(token.as_bytes().ct_eq(held.token.as_bytes())) {
            return false;
        }
        // A token that served longer than the longest backoff before its 403 was good: start
        // the backoff over.
        if now_ms.saturating_sub(held.obtained_at_ms) > self.max_backoff_ms {
            self.backoff_ms = self.min_backoff_ms;
            self.no_login_before_ms = i64::MIN;
        }
        self.stale = true;
        self.forced = true;
        true
    }

    /// Drops the current token (a logout, or new credentials): the next request logs in, at
    /// once (the backoff and the last error are forgotten too).
    pub fn clear(&mut self) {
        self.held = None;
        self.stale = false;
        self.forced = false;
        self.last_error = None;
        self.no_login_before_ms = i64::MIN;
        self.backoff_ms = self.min_backoff_ms;
    }

    /// The current token, if any (it may be stale or expired: [`next`](Self::next) says).
    pub fn token(&self) -> Option<&str> {
        self.held.as_ref().map(|h| h.token.as_str())
    }

    /// The current token's TTL as the login reported it, in seconds.
    pub fn ttl_secs(&self) -> Option<i64> {
        self.held.as_ref().map(|h| h.ttl_secs)
    }

    /// When the current token is to be refreshed (Unix milliseconds, jitter applied).
    pub fn refresh_at_ms(&self) -> Option<i64> {
        self.held.as_ref().map(|h| h.refresh_at_ms)
    }

    /// When the current token expires (Unix milliseconds).
    pub fn expires_at_ms(&self) -> Option<i64> {
        self.held.as_ref().map(|h| h.expires_at_ms)
    }

    /// `true` if a login is in flight.
    pub fn login_in_flight(&self) -> bool {
        self.in_flight
    }

    /// Logins reported so far (successful or failed).
    pub fn login_count(&self) -> u64 {
        self.logins
    }

    /// Counts reports: it changes whenever a login is reported (to wait for one).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The error of the last login, if it failed.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    fn usable(&self, now_ms: i64) -> bool {
        !self.stale && self.held.as_ref().is_some_and(|h| now_ms < h.expires_at_ms)
    }
}

impl core::fmt::Debug for KeeperState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let held = self.held.as_ref();
        f.debug_struct("KeeperState")
            .field("token", &held.map(|_| "[REDACTED]"))
            .field("ttl_secs", &held.map(|h| h.ttl_secs))
            .field("refresh_at_ms", &held.map(|h| h.refresh_at_ms))
            .field("stale", &self.stale)
            .field("login_in_flight", &self.in_flight)
            .field("backoff_ms", &self.backoff_ms)
            .field("last_error", &self.last_error)
            .finish()
    }
}

#[cfg(feature = "std")]
pub use threaded::TokenKeeper;

#[cfg(feature = "std")]
mod threaded {
    use super::{KeeperState, Step};
    use crate::rng::RandomSource;
    use crate::token::LoginResponse;
    use crate::{Error, Result};
    use alloc::boxed::Box;
    use alloc::string::String;
    use rand_core::CryptoRng;
    use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

    type Rng = Box<dyn CryptoRng + Send>;

    /// A thread-safe token keeper around a login closure (see [`KeeperState`] for
    /// the rules). The closure performs the login (an HTTP `POST /nacos/v1/auth/login`, say) and
    /// returns the server's [`LoginResponse`]; it runs without the keeper's lock held, once
    /// for any number of threads asking at the same time.
    ///
    /// Randomness for the jitter comes from the operating system (feature `getrandom`) unless
    /// an RNG is given with [`with_rng`](Self::with_rng); without either, there is no jitter.
    ///
    /// A login that never returns holds up the threads waiting for it: give the HTTP client a
    /// timeout. A login that panics counts as a failed login (the waiting threads get an
    /// [`Error::LoginFailed`] "logging in: the login callback panicked") and the panic goes on in the
    /// thread that ran it.
    ///
    /// # Example
    /// ```
    /// use nacoscrypt_core::token::{LoginResponse, TokenKeeper};
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// let logins = AtomicU32::new(0);
    /// let keeper = TokenKeeper::new(|| {
    ///     let n = logins.fetch_add(1, Ordering::SeqCst);
    ///     LoginResponse::parse(&format!(r#"{{"accessToken":"token-{n}","tokenTtl":18000}}"#))
    /// });
    /// std::thread::scope(|s| {
    ///     for _ in 0..8 {
    ///         s.spawn(|| assert_eq!(keeper.token(1_000).unwrap(), "token-0"));
    ///     }
    /// });
    /// assert_eq!(logins.load(Ordering::SeqCst), 1);
    ///
    /// // A 403 for the current token: one re-login.
    /// assert!(keeper.forbidden("token-0", 2_000));
    /// assert_eq!(keeper.token(2_000)?, "token-1");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub struct TokenKeeper<F> {
        login: F,
        state: Mutex<KeeperState>,
        reported: Condvar,
        rng: Mutex<Option<Rng>>,
    }

    impl<F> core::fmt::Debug for TokenKeeper<F> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("TokenKeeper")
                .field("state", &*lock(&self.state))
                .finish_non_exhaustive()
        }
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reports a login that unwound (panicked) as failed, so that waiting threads wake up.
    struct InFlight<'k> {
        state: &'k Mutex<KeeperState>,
        reported: &'k Condvar,
        now_ms: i64,
        armed: bool,
    }

    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            if self.armed {
                lock(self.state).login_failed(
                    Error::LoginFailed {
                        message: String::from("the login callback panicked"),
                    },
                    self.now_ms,
                );
                self.reported.notify_all();
            }
        }
    }

    impl<F> TokenKeeper<F>
    where
        F: Fn() -> Result<LoginResponse>,
    {
        /// A keeper logging in with `login`, with the defaults of [`KeeperState::new`].
        pub fn new(login: F) -> Self {
            Self::with_state(login, KeeperState::new())
        }

        /// A keeper logging in with `login`, from `state` (built with its jitter window and
        /// backoff).
        pub fn with_state(login: F, state: KeeperState) -> Self {
            Self {
                login,
                state: Mutex::new(state),
                reported: Condvar::new(),
                rng: Mutex::new(None),
            }
        }

        /// Draws the jitter from `rng` instead of the operating system.
        pub fn with_rng(self, rng: impl CryptoRng + Send + 'static) -> Self {
            *lock(&self.rng) = Some(Box::new(rng));
            self
        }

        /// The token to send at `now_ms` (Unix milliseconds): the current one, or a new one
        /// from the login closure when it is due. Threads asking while another logs in use the
        /// current token if it is still valid, else wait for that login.
        ///
        /// # Errors
        /// The login closure's error (for the thread that ran it and those that waited for
        /// it); while logins back off without a usable token, the last login error;
        /// [`Error::InvalidArgument`] for a login response with an empty token or a TTL under
        /// one second.
        pub fn token(&self, now_ms: i64) -> Result<String> {
            let mut state = lock(&self.state);
            loop {
                match state.next(now_ms) {
                    Step::Ready => {
                        return Ok(String::from(state.token().unwrap_or_default()));
                    }
                    Step::Failed(e) => return Err(e),
                    Step::Wait => {
                        let generation = state.generation();
                        while state.generation() == generation {
                            state = self
                                .reported
                                .wait(state)
                                .unwrap_or_else(PoisonError::into_inner);
                        }
                        if let Some(e) = state.last_error() {
                            return Err(e.clone());
                        }
                    }
                    Step::Login => {
                        drop(state);
                        return self.log_in(now_ms);
                    }
                }
            }
        }

        fn log_in(&self, now_ms: i64) -> Result<String> {
            let mut guard = InFlight {
                state: &self.state,
                reported: &self.reported,
                now_ms,
                armed: true,
            };
            let outcome = (self.login)();
            let random = self.random();
            guard.armed = false;
            let mut state = lock(&self.state);
            let result = match outcome {
                Ok(response) => state
                    .login_succeeded(&response.access_token, response.token_ttl, now_ms, random)
                    .map(|()| response.access_token),
                Err(e) => {
                    state.login_failed(e.clone(), now_ms);
                    Err(e)
                }
            };
            drop(state);
            self.reported.notify_all();
            result
        }

        fn random(&self) -> u64 {
            let mut bytes = [0u8; 8];
            let mut rng = lock(&self.rng);
            let filled = match rng.as_mut() {
                Some(r) => RandomSource::Caller(&mut **r).fill(&mut bytes).is_ok(),
                #[cfg(feature = "getrandom")]
                None => RandomSource::Os.fill(&mut bytes).is_ok(),
                #[cfg(not(feature = "getrandom"))]
                None => false,
            };
            // Without randomness the refresh is at the SDKs' point: no jitter, still correct.
            if filled { u64::from_le_bytes(bytes) } else { 0 }
        }

        /// Reports a 403 for `token` at `now_ms` (see [`KeeperState::forbidden`]): `true` if it
        /// was the current token, which the next [`token`](Self::token) replaces.
        pub fn forbidden(&self, token: &str, now_ms: i64) -> bool {
            lock(&self.state).forbidden(token, now_ms)
        }

        /// Drops the current token and forgets any backoff (see [`KeeperState::clear`]): the
        /// next [`token`](Self::token) logs in at once.
        pub fn clear(&self) {
            lock(&self.state).clear();
        }

        /// Logins run so far (successful or failed).
        pub fn login_count(&self) -> u64 {
            lock(&self.state).login_count()
        }

        /// When the current token is to be refreshed (Unix milliseconds, jitter applied).
        pub fn refresh_at_ms(&self) -> Option<i64> {
            lock(&self.state).refresh_at_ms()
        }

        /// The current token's TTL as the login reported it, in seconds.
        pub fn ttl_secs(&self) -> Option<i64> {
            lock(&self.state).ttl_secs()
        }

        /// [`token`](Self::token) at the system clock's time.
        ///
        /// # Errors
        /// As [`token`](Self::token).
        pub fn token_now(&self) -> Result<String> {
            self.token(crate::token::unix_now_millis())
        }

        /// [`forbidden`](Self::forbidden) at the system clock's time.
        pub fn forbidden_now(&self, token: &str) -> bool {
            self.forbidden(token, crate::token::unix_now_millis())
        }
    }
}
