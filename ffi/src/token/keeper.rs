//! The client-side token keeper: the current token, refreshed with jitter before the SDKs'
//! refresh point, one login for any number of threads, one re-login after a 403 (then a
//! backoff). The login is a C callback.

use crate::boundary::{
    Castable, OwnershipBox, OwnershipRef, arg_message, arg_mut, arg_ref, arg_str, arg_struct,
    arg_text, check_out, free_handle, lend_mut, out_handle, out_opt,
};
use crate::error::{FfiError, ffi_call};
use crate::getter::get;
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::{c_char, c_int, c_void};
use nacoscrypt_core::token::{KeeperState, LoginResponse, TokenKeeper};
use nacoscrypt_core::{Error, Result};

/// The login callback: performs the login (an HTTP `POST /nacos/v1/auth/login`, say) and on
/// success calls `nacoscrypt_login_output_set_token()` or
/// `nacoscrypt_login_output_set_response_json()` on `out` and returns 0. On failure it returns
/// its own non-zero code and may call `nacoscrypt_login_output_set_error_message()`; the
/// keeper's call then fails with `NACOSCRYPT_RESULT_LOGIN_FAILED` ("logging in: …").
///
/// It is called from the thread that asked for a token, never with the keeper's lock held, and
/// once for all the threads asking at the same time. `out` is valid only during the call. The
/// callback must not unwind (no C++ exception, no `longjmp`) out of the call, and should time
/// out: threads waiting for a login wait as long as it takes.
#[allow(non_camel_case_types)]
pub type nacoscrypt_login_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, out: *mut nacoscrypt_login_output) -> c_int>;

/// Releases `userdata` when the keeper is freed.
#[allow(non_camel_case_types)]
pub type nacoscrypt_login_destroy_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// How to build a token keeper (`nacoscrypt_token_keeper_new()` copies it).
///
/// Thread safety: the keeper calls `login` from whichever thread asks for a token when one is
/// due, so `login` and `userdata` must be usable from any thread.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nacoscrypt_token_keeper_options {
    /// The login callback (required).
    pub login: nacoscrypt_login_fn,
    /// Passed to `login` and `destroy`; owned by the keeper from a successful
    /// `nacoscrypt_token_keeper_new()` on (see `destroy`).
    pub userdata: *mut c_void,
    /// Called once with `userdata` when the keeper is freed (may be NULL). Not called if
    /// `nacoscrypt_token_keeper_new()` fails: `userdata` then stays the caller's.
    pub destroy: nacoscrypt_login_destroy_fn,
    /// Refreshes spread uniformly over this many seconds before the SDKs' refresh point
    /// (`ttl − ttl/10` after the login); negative: the default, `ttl/10`; 0: no jitter.
    pub jitter_window_secs: i64,
    /// The first backoff after a forced re-login or a failed login, in milliseconds (0: the
    /// default, 1,000); it doubles each time up to `max_backoff_ms` (0: the default, 60,000).
    pub min_backoff_ms: i64,
    /// The longest backoff in milliseconds (0: the default).
    pub max_backoff_ms: i64,
}

/// Where the login callback puts the token, through the `nacoscrypt_login_output_set_*()`
/// functions. Owned by the library; valid only during the callback.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct nacoscrypt_login_output {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_login_output {
    type Ownership = OwnershipRef;
    type RustType = LoginOutput;
}

/// What the login callback reported.
#[derive(Debug, Default)]
pub(crate) struct LoginOutput {
    response: Option<LoginResponse>,
    message: Option<String>,
}

/// Sets the login's result: `token` (NUL-terminated) valid for `token_ttl` seconds (the
/// response's `tokenTtl`). `NACOSCRYPT_RESULT_INVALID_ARGUMENT` for an empty token or a TTL
/// under 1.
///
/// # Safety
/// `out` must be the output lent to the running login callback; `token` a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_output_set_token(
    out: *mut nacoscrypt_login_output,
    token: *const c_char,
    token_ttl: i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (both blocks).
        let output = unsafe { arg_mut(out, "out") }?;
        let token = unsafe { arg_str(token, "token") }?;
        if token.is_empty() || token_ttl < 1 {
            return Err(FfiError::invalid(
                "token",
                "must be non-empty with a token_ttl of at least 1 second",
            ));
        }
        output.response = Some(LoginResponse {
            access_token: token.to_owned(),
            token_ttl,
            global_admin: false,
            username: String::new(),
        });
        Ok(())
    })
}

/// Sets the login's result from the server's login response JSON (`json_len` bytes), read as
/// `nacoscrypt_login_response_parse()` reads it. `NACOSCRYPT_RESULT_INVALID_ARGUMENT` if it is
/// not a login response.
///
/// # Safety
/// `out` must be the output lent to the running login callback; `json` readable for
/// `json_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_output_set_response_json(
    out: *mut nacoscrypt_login_output,
    json: *const c_char,
    json_len: usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (both blocks).
        let output = unsafe { arg_mut(out, "out") }?;
        let json = unsafe { arg_text(json, json_len, "json") }?;
        output.response = Some(LoginResponse::parse(json)?);
        Ok(())
    })
}

/// Sets the message of a failing login (the callback then returns non-zero).
///
/// # Safety
/// `out` must be the output lent to the running login callback; `message` a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_output_set_error_message(
    out: *mut nacoscrypt_login_output,
    message: *const c_char,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let output = unsafe { arg_mut(out, "out") }?;
        // SAFETY: NULL or NUL-terminated by contract.
        output.message = Some(unsafe { arg_message(message, "message") }?);
        Ok(())
    })
}

/// The login callback and its userdata, with the promise that they may be shared.
#[derive(Debug)]
pub(crate) struct CallbackLogin {
    options: nacoscrypt_token_keeper_options,
}

// SAFETY: the options are plain data. The header documents that `login` and `userdata` must be
// usable from any thread; `userdata` is only ever passed back to the callbacks.
unsafe impl Send for CallbackLogin {}
// SAFETY: as above.
unsafe impl Sync for CallbackLogin {}

impl Drop for CallbackLogin {
    fn drop(&mut self) {
        if let Some(destroy) = self.options.destroy {
            // SAFETY: called once, with the options' own userdata, by their contract.
            unsafe { destroy(self.options.userdata) };
        }
    }
}

impl CallbackLogin {
    fn login(&self) -> Result<LoginResponse> {
        let failed = |message: String| Error::LoginFailed { message };
        let Some(login) = self.options.login else {
            return Err(failed("no login callback".into()));
        };
        let mut output = LoginOutput::default();
        // SAFETY: the callback's contract; the output lives through the call.
        let code = unsafe { login(self.options.userdata, lend_mut(&mut output)) };
        if code != 0 {
            let message = output.message.as_deref().unwrap_or("(no message)");
            return Err(failed(format!(
                "the login callback failed with code {code}: {message}"
            )));
        }
        output
            .response
            .take()
            .ok_or_else(|| failed("the login callback returned 0 without setting a token".into()))
    }
}

/// What a keeper handle holds.
pub(crate) type Keeper = TokenKeeper<Box<dyn Fn() -> Result<LoginResponse> + Send + Sync>>;

/// The client-side token keeper: holds the current token and its TTL, logs in through the
/// callback when no token is usable or its refresh is due (refreshes spread at random over a
/// window before the SDKs' refresh point, so that clients started together do not log in
/// together), and after `nacoscrypt_token_keeper_forbidden()` logs in once at once, then backs
/// off.
///
/// Thread safety: internally locked; safe to use from many threads at once. Threads asking
/// while a login runs use the current token if still valid, else wait for that login.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct nacoscrypt_token_keeper {
    _private: [u8; 0],
}

impl Castable for nacoscrypt_token_keeper {
    type Ownership = OwnershipBox;
    type RustType = Keeper;
}

/// Makes a token keeper from `options` (copied).
/// `NACOSCRYPT_RESULT_INVALID_ARGUMENT` without a login callback or for backoffs that are
/// negative or with `min_backoff_ms > max_backoff_ms`.
///
/// - `keeper_out`: receives a new keeper owned by the caller (free with
///   `nacoscrypt_token_keeper_free()`); written only on success.
///
/// # Safety
/// `options` must point to valid options; `keeper_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_new(
    options: *const nacoscrypt_token_keeper_options,
    keeper_out: *mut *mut nacoscrypt_token_keeper,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let options = *unsafe { arg_struct(options, "options") }?;
        check_out(keeper_out, "keeper_out")?;
        if options.login.is_none() {
            return Err(FfiError::null("options.login"));
        }
        let mut state = KeeperState::new();
        if let Ok(secs) = u64::try_from(options.jitter_window_secs) {
            state = state.with_jitter_window(secs);
        }
        if options.min_backoff_ms != 0 || options.max_backoff_ms != 0 {
            let min = match options.min_backoff_ms {
                0 => nacoscrypt_core::token::DEFAULT_MIN_BACKOFF_MS,
                v => v,
            };
            let max = match options.max_backoff_ms {
                0 => nacoscrypt_core::token::DEFAULT_MAX_BACKOFF_MS.max(min),
                v => v,
            };
            state = state.with_backoff(min, max)?;
        }
        // From here on the keeper owns userdata (its destroy runs when the keeper is dropped).
        let login = CallbackLogin { options };
        let keeper: Keeper = TokenKeeper::with_state(Box::new(move || login.login()), state);
        // SAFETY: checked, writable by contract.
        unsafe { out_handle(keeper_out, keeper) };
        Ok(())
    })
}

/// The token to send at `now_ms` (Unix **milliseconds**): the current one, or a new one from
/// the login callback when none is usable or its refresh is due.
///
/// - `token_out`: receives the token (free with `nacoscrypt_string_free()`); `token_len_out`
///   (may be NULL) its length. Written only on success.
///
/// Fails with the login's error (`NACOSCRYPT_RESULT_LOGIN_FAILED`, the callback's code in the message)
/// for the thread that ran it and those that waited for it; while logins back off without a
/// usable token, with the last login error.
///
/// # Safety
/// `keeper` must be a live keeper; `token_out` writable; `token_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_token(
    keeper: *const nacoscrypt_token_keeper,
    now_ms: i64,
    token_out: *mut *mut c_char,
    token_len_out: *mut usize,
) -> nacoscrypt_result {
    // SAFETY: forwarded contract.
    unsafe { token_with(keeper, token_out, token_len_out, |k| k.token(now_ms)) }
}

/// `nacoscrypt_token_keeper_token()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_keeper_token()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_token_now(
    keeper: *const nacoscrypt_token_keeper,
    token_out: *mut *mut c_char,
    token_len_out: *mut usize,
) -> nacoscrypt_result {
    // SAFETY: forwarded contract.
    unsafe { token_with(keeper, token_out, token_len_out, Keeper::token_now) }
}

/// # Safety
/// As the exports above.
unsafe fn token_with(
    keeper: *const nacoscrypt_token_keeper,
    token_out: *mut *mut c_char,
    token_len_out: *mut usize,
    token: impl FnOnce(&Keeper) -> Result<String>,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (both blocks).
        let keeper = unsafe { arg_ref(keeper, "keeper") }?;
        let target = StringOut::new(token_out, token_len_out, "token_out")?;
        let token = zeroize::Zeroizing::new(token(keeper)?);
        unsafe { target.write(token.as_bytes()) }
    })
}

/// Reports that the server answered 403 to a request carrying `token` (`token_len` bytes) at
/// `now_ms` (Unix milliseconds). If it is the current token, `*stale_out` (may be NULL) is set
/// to true and the next `nacoscrypt_token_keeper_token()` logs in: at once the first time,
/// after a doubling backoff if the new token is refused too. A 403 for an older token changes
/// nothing (false).
///
/// # Safety
/// `keeper` must be a live keeper; `token` readable for `token_len` bytes; `stale_out` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_forbidden(
    keeper: *const nacoscrypt_token_keeper,
    token: *const c_char,
    token_len: usize,
    now_ms: i64,
    stale_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let keeper = unsafe { arg_ref(keeper, "keeper") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let stale = keeper.forbidden(token, now_ms);
        unsafe { out_opt(stale_out, stale) };
        Ok(())
    })
}

/// Drops the current token and forgets any backoff (a logout, or new credentials): the next
/// `nacoscrypt_token_keeper_token()` logs in at once.
///
/// # Safety
/// `keeper` must be a live keeper.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_clear(
    keeper: *const nacoscrypt_token_keeper,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        unsafe { arg_ref(keeper, "keeper") }?.clear();
        Ok(())
    })
}

/// Logins run so far, successful or failed (0 if `keeper` is NULL).
///
/// # Safety
/// `keeper` must be NULL or a live keeper.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_login_count(
    keeper: *const nacoscrypt_token_keeper,
) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { get(keeper, 0, Keeper::login_count) }
}

/// When the current token is to be refreshed, Unix milliseconds with the jitter applied
/// (`INT64_MIN` without a token or if `keeper` is NULL).
///
/// # Safety
/// `keeper` must be NULL or a live keeper.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_refresh_at_ms(
    keeper: *const nacoscrypt_token_keeper,
) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { get(keeper, i64::MIN, |k| k.refresh_at_ms().unwrap_or(i64::MIN)) }
}

/// The current token's TTL in seconds as the login reported it (0 without a token or if
/// `keeper` is NULL).
///
/// # Safety
/// `keeper` must be NULL or a live keeper.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_ttl(
    keeper: *const nacoscrypt_token_keeper,
) -> i64 {
    // SAFETY: forwarded contract.
    unsafe { get(keeper, 0, |k| k.ttl_secs().unwrap_or(0)) }
}

/// Frees a keeper (its `destroy` callback runs). NULL is ignored.
///
/// # Safety
/// `keeper` must be NULL or a live keeper, not used after this call (nor in use by another
/// thread).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_keeper_free(keeper: *mut nacoscrypt_token_keeper) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(keeper) }
}
