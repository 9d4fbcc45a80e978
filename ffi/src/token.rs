//! Nacos access tokens (SPEC 3): secret keys, the token manager (issue, verify, rotation), the
//! token cache, the server identity check, the login JSON, refresh timing and auth settings.

use crate::boundary::{
    arg_array, arg_bytes, arg_ref, arg_str, arg_text, check_out, ffi_call, ffi_value, free_handle,
    into_handle, out, out_opt,
};
use crate::error::FfiResult;
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::token::{
    AccessToken, Algorithm, AuthSettings, Claims, DEFAULT_VALIDITY_SECS, LoginResponse, SecretKey,
    ServerIdentity, TokenCache, TokenManager,
};
use std::sync::{Mutex, PoisonError};
use zeroize::Zeroizing;

// ---------------------------------------------------------------------------------------------
// Secret keys
// ---------------------------------------------------------------------------------------------

/// The HMAC algorithm of a token: `NACOSCRYPT_ALGORITHM_HS256`, `_HS384` or `_HS512`
/// (0 for a NULL key).
pub type nacoscrypt_algorithm = u32;
/// HMAC-SHA-256: keys of 32 to 47 bytes.
pub const NACOSCRYPT_ALGORITHM_HS256: nacoscrypt_algorithm = 256;
/// HMAC-SHA-384: keys of 48 to 63 bytes.
pub const NACOSCRYPT_ALGORITHM_HS384: nacoscrypt_algorithm = 384;
/// HMAC-SHA-512: keys of 64 bytes and more.
pub const NACOSCRYPT_ALGORITHM_HS512: nacoscrypt_algorithm = 512;

/// A token secret key (the server setting
/// `nacos.core.auth.plugin.nacos.token.secret.key`, decoded as the server decodes it); its
/// length selects HS256, HS384 or HS512. The key bytes are wiped when it is freed.
///
/// Thread safety: immutable; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_secret_key {
    inner: SecretKey,
}

fn new_secret_key(key_out: *mut *mut nacoscrypt_secret_key, inner: SecretKey) {
    // SAFETY: callers checked `key_out`; writable by contract.
    unsafe { out(key_out, into_handle(nacoscrypt_secret_key { inner })) }
}

/// Decodes a secret key from the server setting's text exactly as the Nacos server does
/// (lenient base64: `=` optional, characters outside the alphabet trimmed at both ends).
///
/// The two publicly known keys of the Nacos documentation are refused
/// (`NACOSCRYPT_RESULT_PUBLICLY_KNOWN_KEY`) unless `allow_publicly_known` is true — for tests
/// and migrations only. Other errors: `NACOSCRYPT_RESULT_INVALID_SECRET_KEY` ("Illegal base64
/// character"), `NACOSCRYPT_RESULT_SECRET_KEY_TOO_SHORT` (under 256 bits).
///
/// - `key_out`: receives a new key owned by the caller (free with
///   `nacoscrypt_secret_key_free()`); written only on success.
///
/// # Safety
/// `text` must be a NUL-terminated string; `key_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_from_base64(
    text: *const c_char,
    allow_publicly_known: bool,
    key_out: *mut *mut nacoscrypt_secret_key,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let text = unsafe { arg_str(text, "text") }?;
        check_out(key_out, "key_out")?;
        let key = if allow_publicly_known {
            SecretKey::from_base64_allowing_publicly_known(text)?
        } else {
            SecretKey::from_base64(text)?
        };
        new_secret_key(key_out, key);
        Ok(())
    })
}

/// A secret key from raw bytes (at least 32). Publicly known keys as for
/// `nacoscrypt_secret_key_from_base64()`.
///
/// - `key_out`: receives a new key owned by the caller; written only on success. The caller
///   keeps `bytes` (wipe it).
///
/// # Safety
/// `bytes` must point to `len` readable bytes; `key_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_from_bytes(
    bytes: *const u8,
    len: usize,
    allow_publicly_known: bool,
    key_out: *mut *mut nacoscrypt_secret_key,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let bytes = unsafe { arg_bytes(bytes, len, "bytes") }?;
        check_out(key_out, "key_out")?;
        let key = if allow_publicly_known {
            SecretKey::from_bytes_allowing_publicly_known(bytes)?
        } else {
            SecretKey::from_bytes(bytes)?
        };
        new_secret_key(key_out, key);
        Ok(())
    })
}

/// A new random 256-bit key (HS256) from the operating system's RNG. Its text for
/// `application.properties` comes from `nacoscrypt_secret_key_to_base64()`.
///
/// - `key_out`: receives a new key owned by the caller; written only on success.
///
/// # Safety
/// `key_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_generate(
    key_out: *mut *mut nacoscrypt_secret_key,
) -> nacoscrypt_result {
    ffi_call(|| {
        check_out(key_out, "key_out")?;
        new_secret_key(key_out, SecretKey::generate()?);
        Ok(())
    })
}

/// The algorithm the key's length selects (0 if `key` is NULL).
///
/// # Safety
/// `key` must be NULL or a live secret key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_algorithm(
    key: *const nacoscrypt_secret_key,
) -> nacoscrypt_algorithm {
    ffi_value(0, || {
        // SAFETY: forwarded contract.
        unsafe { key.as_ref() }.map_or(0, |k| match k.inner.algorithm() {
            Algorithm::Hs256 => NACOSCRYPT_ALGORITHM_HS256,
            Algorithm::Hs384 => NACOSCRYPT_ALGORITHM_HS384,
            Algorithm::Hs512 => NACOSCRYPT_ALGORITHM_HS512,
        })
    })
}

/// The key length in bits (0 if `key` is NULL).
///
/// # Safety
/// `key` must be NULL or a live secret key.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_bits(key: *const nacoscrypt_secret_key) -> usize {
    // SAFETY: forwarded contract.
    ffi_value(0, || unsafe { key.as_ref() }.map_or(0, |k| k.inner.bits()))
}

/// The key as padded standard base64: the text for
/// `nacos.core.auth.plugin.nacos.token.secret.key`.
///
/// - `text_out`: receives a library string (secret: free it with `nacoscrypt_string_free()`,
///   which wipes it); `text_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// `key` must be a live secret key; `text_out` writable; `text_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_to_base64(
    key: *const nacoscrypt_secret_key,
    text_out: *mut *mut c_char,
    text_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let key = unsafe { arg_ref(key, "key") }?;
        let target = StringOut::new(text_out, text_len_out, "text_out")?;
        let text = key.inner.to_base64();
        // SAFETY: forwarded contract.
        unsafe { target.write(text.as_bytes()) }
    })
}

/// Signs a token for `subject` expiring at `exp` (Unix seconds) with this key alone: the
/// exact bytes the Nacos server produces. Most callers use `nacoscrypt_token_manager_issue()`.
/// A subject whose token verification would refuse (longer than 8,300 bytes in all) is
/// refused with the error verification gives (`NACOSCRYPT_RESULT_MALFORMED_TOKEN` or
/// `_INVALID_CLAIMS`).
///
/// - `token_out`: receives the token (free with `nacoscrypt_string_free()`); `token_len_out`
///   (may be NULL) its length. Written only on success.
///
/// # Safety
/// `key` must be a live secret key, `subject` a NUL-terminated string; `token_out` writable;
/// `token_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_sign(
    key: *const nacoscrypt_secret_key,
    subject: *const c_char,
    exp: i64,
    token_out: *mut *mut c_char,
    token_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let key = unsafe { arg_ref(key, "key") }?;
        let subject = unsafe { arg_str(subject, "subject") }?;
        let target = StringOut::new(token_out, token_len_out, "token_out")?;
        let token = Zeroizing::new(key.inner.try_sign(subject, exp)?);
        unsafe { target.write(token.as_bytes()) }
    })
}

/// Frees a secret key (its bytes are wiped). NULL is ignored.
///
/// # Safety
/// `key` must be NULL or a live secret key, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_secret_key_free(key: *mut nacoscrypt_secret_key) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(key) }
}

// ---------------------------------------------------------------------------------------------
// Access tokens
// ---------------------------------------------------------------------------------------------

/// An issued token: its text, time to live, expiry and subject. Immutable.
///
/// Made by `nacoscrypt_token_manager_issue()` and `nacoscrypt_token_cache_login()`; free it
/// with `nacoscrypt_access_token_free()` (the token text is wiped).
///
/// Thread safety: immutable; safe to read from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_access_token {
    inner: AccessToken,
    /// The token text with a NUL after it, for the borrowed view.
    token_c: Zeroizing<Vec<u8>>,
    /// The subject with a NUL after it.
    subject_c: Vec<u8>,
}

fn with_nul(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

fn new_access_token(token_out: *mut *mut nacoscrypt_access_token, inner: AccessToken) {
    let handle = nacoscrypt_access_token {
        token_c: Zeroizing::new(with_nul(&inner.token)),
        subject_c: with_nul(&inner.subject),
        inner,
    };
    // SAFETY: callers checked `token_out`; writable by contract.
    unsafe { out(token_out, into_handle(handle)) }
}

impl Drop for nacoscrypt_access_token {
    fn drop(&mut self) {
        // The token is a bearer credential: wipe the core's copy too.
        use zeroize::Zeroize;
        self.inner.token.zeroize();
    }
}

/// The token text (`header.payload.signature`), NUL-terminated; `*len_out` (may be NULL)
/// receives its length. Borrowed: valid until `token` is freed; never free it. NULL if `token`
/// is NULL.
///
/// # Safety
/// `token` must be NULL or a live access token; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_text(
    token: *const nacoscrypt_access_token,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value(core::ptr::null(), || {
        // SAFETY: forwarded contract.
        let Some(t) = (unsafe { token.as_ref() }) else {
            return core::ptr::null();
        };
        // SAFETY: forwarded contract.
        unsafe { out_opt(len_out, t.inner.token.len()) };
        t.token_c.as_ptr().cast::<c_char>()
    })
}

/// The subject (user name) the token was issued to, NUL-terminated; `*len_out` (may be NULL)
/// receives its length. Borrowed: valid until `token` is freed. NULL if `token` is NULL.
///
/// # Safety
/// `token` must be NULL or a live access token; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_subject(
    token: *const nacoscrypt_access_token,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value(core::ptr::null(), || {
        // SAFETY: forwarded contract.
        let Some(t) = (unsafe { token.as_ref() }) else {
            return core::ptr::null();
        };
        // SAFETY: forwarded contract.
        unsafe { out_opt(len_out, t.inner.subject.len()) };
        t.subject_c.as_ptr().cast::<c_char>()
    })
}

/// Seconds the token remains valid from the moment it was handed out (the login response's
/// `tokenTtl`); 0 if `token` is NULL.
///
/// # Safety
/// `token` must be NULL or a live access token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_ttl(token: *const nacoscrypt_access_token) -> u64 {
    // SAFETY: forwarded contract.
    ffi_value(0, || unsafe { token.as_ref() }.map_or(0, |t| t.inner.ttl))
}

/// The token's expiry (`exp`), Unix seconds; 0 if `token` is NULL.
///
/// # Safety
/// `token` must be NULL or a live access token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_expires_at(
    token: *const nacoscrypt_access_token,
) -> i64 {
    // SAFETY: forwarded contract.
    ffi_value(0, || {
        unsafe { token.as_ref() }.map_or(0, |t| t.inner.expires_at)
    })
}

/// The login response the server answers with for this token and its subject:
/// `{"accessToken":"…","tokenTtl":18000,"globalAdmin":false,"username":"nacos"}`.
///
/// - `json_out`: receives a library string (free with `nacoscrypt_string_free()`);
///   `json_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// `token` must be a live access token; `json_out` writable; `json_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_login_json(
    token: *const nacoscrypt_access_token,
    global_admin: bool,
    json_out: *mut *mut c_char,
    json_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let token = unsafe { arg_ref(token, "token") }?;
        let target = StringOut::new(json_out, json_len_out, "json_out")?;
        let json = Zeroizing::new(
            token
                .inner
                .to_login_json(&token.inner.subject, global_admin),
        );
        // SAFETY: forwarded contract.
        unsafe { target.write(json.as_bytes()) }
    })
}

/// Frees an access token (its text is wiped). NULL is ignored.
///
/// # Safety
/// `token` must be NULL or a live access token, not used after this call (borrowed views of
/// it become invalid).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_access_token_free(token: *mut nacoscrypt_access_token) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(token) }
}

// ---------------------------------------------------------------------------------------------
// Token manager
// ---------------------------------------------------------------------------------------------

/// Issues and verifies Nacos access tokens: a signing key, older keys still accepted (for a
/// rolling change of the secret), the validity of issued tokens and the leeway of verification.
///
/// Thread safety: immutable; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_token_manager {
    inner: TokenManager,
}

fn new_manager(manager_out: *mut *mut nacoscrypt_token_manager, inner: TokenManager) {
    // SAFETY: callers checked `manager_out`; writable by contract.
    unsafe { out(manager_out, into_handle(nacoscrypt_token_manager { inner })) }
}

/// Makes a token manager. The keys are copied: the caller keeps (and frees) its handles.
///
/// - `signing_key`: signs new tokens and verifies.
/// - `previous_keys`, `previous_keys_len`: older keys that still verify, tried in order after
///   the signing key (the array may be NULL when the length is 0; no element may be NULL).
/// - `validity_secs`: validity of issued tokens; 0 means the server default, 18,000 s.
/// - `leeway_secs`: a token stays valid while `exp + leeway >= now` (the server's is 0).
/// - `manager_out`: receives a new manager owned by the caller (free with
///   `nacoscrypt_token_manager_free()`); written only on success.
///
/// # Safety
/// Pointers as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_new(
    signing_key: *const nacoscrypt_secret_key,
    previous_keys: *const *const nacoscrypt_secret_key,
    previous_keys_len: usize,
    validity_secs: u64,
    leeway_secs: u64,
    manager_out: *mut *mut nacoscrypt_token_manager,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let signing = unsafe { arg_ref(signing_key, "signing_key") }?;
        let previous = unsafe { arg_array(previous_keys, previous_keys_len, "previous_keys") }?;
        let previous = previous
            .iter()
            .map(|&k| unsafe { arg_ref(k, "previous_keys[i]") }.map(|k| k.inner.clone()))
            .collect::<FfiResult<Vec<_>>>()?;
        check_out(manager_out, "manager_out")?;
        let validity = if validity_secs == 0 {
            DEFAULT_VALIDITY_SECS
        } else {
            validity_secs
        };
        let manager = TokenManager::new(signing.inner.clone())
            .with_previous_keys(previous)
            .with_validity(validity)?
            .with_leeway(leeway_secs);
        new_manager(manager_out, manager);
        Ok(())
    })
}

/// The validity of issued tokens in seconds (0 if `manager` is NULL).
///
/// # Safety
/// `manager` must be NULL or a live token manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_validity(
    manager: *const nacoscrypt_token_manager,
) -> u64 {
    // SAFETY: forwarded contract.
    ffi_value(0, || {
        unsafe { manager.as_ref() }.map_or(0, |m| m.inner.validity())
    })
}

/// The leeway of verification in seconds (0 if `manager` is NULL).
///
/// # Safety
/// `manager` must be NULL or a live token manager.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_leeway(
    manager: *const nacoscrypt_token_manager,
) -> u64 {
    // SAFETY: forwarded contract.
    ffi_value(0, || {
        unsafe { manager.as_ref() }.map_or(0, |m| m.inner.leeway())
    })
}

/// Issues a token for `subject` at `now` (Unix seconds): `exp = now + validity`. A subject
/// whose token would be longer than `nacoscrypt_token_manager_verify()` accepts (8,300 bytes)
/// is refused with the error verify would give that token (`NACOSCRYPT_RESULT_MALFORMED_TOKEN`
/// or `_INVALID_CLAIMS`).
///
/// - `token_out`: receives a new access token owned by the caller (free with
///   `nacoscrypt_access_token_free()`); written only on success.
///
/// # Safety
/// `manager` must be a live token manager, `subject` a NUL-terminated string; `token_out`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_issue(
    manager: *const nacoscrypt_token_manager,
    subject: *const c_char,
    now: i64,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let manager = unsafe { arg_ref(manager, "manager") }?;
        let subject = unsafe { arg_str(subject, "subject") }?;
        check_out(token_out, "token_out")?;
        new_access_token(token_out, manager.inner.issue(subject, now)?);
        Ok(())
    })
}

/// `nacoscrypt_token_manager_issue()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_manager_issue()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_issue_now(
    manager: *const nacoscrypt_token_manager,
    subject: *const c_char,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let manager = unsafe { arg_ref(manager, "manager") }?;
        let subject = unsafe { arg_str(subject, "subject") }?;
        check_out(token_out, "token_out")?;
        new_access_token(token_out, manager.inner.issue_now(subject)?);
        Ok(())
    })
}

/// The optional outputs of a verification.
struct ClaimsOut {
    subject: *mut *mut c_char,
    subject_len: *mut usize,
    exp: *mut i64,
}

impl ClaimsOut {
    /// Writes the claims to the outputs the caller asked for.
    ///
    /// # Safety
    /// Each pointer NULL or writable.
    unsafe fn write(self, claims: &Claims) -> FfiResult {
        if !self.subject.is_null() {
            let target = StringOut::new(self.subject, self.subject_len, "subject_out")?;
            // SAFETY: forwarded contract.
            unsafe { target.write(claims.sub.as_bytes()) }?;
        } else {
            // SAFETY: forwarded contract.
            unsafe { out_opt(self.subject_len, claims.sub.len()) };
        }
        // SAFETY: forwarded contract.
        unsafe { out_opt(self.exp, claims.exp) };
        Ok(())
    }
}

/// Verifies `token` at `now` (Unix seconds), in the order of SPEC 3.3: shape, header, signature
/// (constant time, against the signing key and the previous keys), claims, expiry.
///
/// Returns `NACOSCRYPT_RESULT_OK` for a valid token, else `NACOSCRYPT_RESULT_MALFORMED_TOKEN`,
/// `_UNSUPPORTED_ALGORITHM`, `_INVALID_SIGNATURE`, `_INVALID_CLAIMS` or `_TOKEN_EXPIRED`;
/// `nacoscrypt_last_error_nacos_message()` then gives the Nacos server's answer.
///
/// The subject never holds a NUL byte (`strlen` equals its length): a validly signed token
/// whose `sub` has one (`\u0000`) is refused with `NACOSCRYPT_RESULT_INVALID_CLAIMS`.
///
/// - `token`, `token_len`: the token text (not necessarily NUL-terminated).
/// - `subject_out` (may be NULL): receives the subject (free with `nacoscrypt_string_free()`);
///   `subject_len_out` (may be NULL) its length; `exp_out` (may be NULL) the expiry. Written
///   only on success.
///
/// # Safety
/// `manager` must be a live token manager; `token` readable for `token_len` bytes; each output
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_verify(
    manager: *const nacoscrypt_token_manager,
    token: *const c_char,
    token_len: usize,
    now: i64,
    subject_out: *mut *mut c_char,
    subject_len_out: *mut usize,
    exp_out: *mut i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let manager = unsafe { arg_ref(manager, "manager") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let claims = manager.inner.verify(token, now)?;
        let outputs = ClaimsOut {
            subject: subject_out,
            subject_len: subject_len_out,
            exp: exp_out,
        };
        unsafe { outputs.write(&claims) }
    })
}

/// `nacoscrypt_token_manager_verify()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_manager_verify()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_verify_now(
    manager: *const nacoscrypt_token_manager,
    token: *const c_char,
    token_len: usize,
    subject_out: *mut *mut c_char,
    subject_len_out: *mut usize,
    exp_out: *mut i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let manager = unsafe { arg_ref(manager, "manager") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let claims = manager.inner.verify_now(token)?;
        let outputs = ClaimsOut {
            subject: subject_out,
            subject_len: subject_len_out,
            exp: exp_out,
        };
        unsafe { outputs.write(&claims) }
    })
}

/// Frees a token manager (its keys are wiped). NULL is ignored.
///
/// # Safety
/// `manager` must be NULL or a live token manager, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_manager_free(manager: *mut nacoscrypt_token_manager) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(manager) }
}

// ---------------------------------------------------------------------------------------------
// Token cache
// ---------------------------------------------------------------------------------------------

/// The server's token cache (`token.cache.enable`) in front of a token manager: a login
/// returns the user's cached token until 90% of its validity has passed; verified tokens are
/// remembered until they expire; expired entries are evicted.
///
/// Thread safety: internally locked; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_token_cache {
    inner: Mutex<TokenCache>,
}

impl nacoscrypt_token_cache {
    fn with<T>(&self, f: impl FnOnce(&mut TokenCache) -> T) -> T {
        // A panic while locked cannot leave the maps unsound, only stale: recover the lock.
        let mut cache = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut cache)
    }
}

/// Makes a token cache in front of a copy of `manager` (the caller keeps its handle).
///
/// - `cache_out`: receives a new cache owned by the caller (free with
///   `nacoscrypt_token_cache_free()`); written only on success.
///
/// # Safety
/// `manager` must be a live token manager; `cache_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_new(
    manager: *const nacoscrypt_token_manager,
    cache_out: *mut *mut nacoscrypt_token_cache,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let manager = unsafe { arg_ref(manager, "manager") }?;
        check_out(cache_out, "cache_out")?;
        let cache = nacoscrypt_token_cache {
            inner: Mutex::new(TokenCache::new(manager.inner.clone())),
        };
        // SAFETY: checked, writable by contract.
        unsafe { out(cache_out, into_handle(cache)) };
        Ok(())
    })
}

/// A token for `username` at `now_ms` (Unix **milliseconds**): the cached one while less than
/// 90% of its validity has passed (its TTL is then the remaining time), else a new one.
///
/// - `token_out`: receives a new access token owned by the caller (free with
///   `nacoscrypt_access_token_free()`); written only on success.
///
/// # Safety
/// `cache` must be a live cache, `username` a NUL-terminated string; `token_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_login(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
    now_ms: i64,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let username = unsafe { arg_str(username, "username") }?;
        check_out(token_out, "token_out")?;
        // Until this binding moves to TokenCache::issue (seconds).
        #[allow(deprecated)]
        let token = cache.with(|c| c.login(username, now_ms))?;
        new_access_token(token_out, token);
        Ok(())
    })
}

/// `nacoscrypt_token_cache_login()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_cache_login()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_login_now(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
    token_out: *mut *mut nacoscrypt_access_token,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let username = unsafe { arg_str(username, "username") }?;
        check_out(token_out, "token_out")?;
        // Until this binding moves to TokenCache::issue (seconds).
        #[allow(deprecated)]
        let token = cache.with(|c| c.login_now(username))?;
        new_access_token(token_out, token);
        Ok(())
    })
}

/// Verifies `token` at `now` (Unix seconds) through the cache: a token verified before is
/// answered from the cache until it expires; otherwise as `nacoscrypt_token_manager_verify()`
/// (same results and optional outputs), remembering success.
///
/// # Safety
/// As `nacoscrypt_token_manager_verify()`, with a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_verify(
    cache: *const nacoscrypt_token_cache,
    token: *const c_char,
    token_len: usize,
    now: i64,
    subject_out: *mut *mut c_char,
    subject_len_out: *mut usize,
    exp_out: *mut i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let claims = cache.with(|c| c.verify(token, now))?;
        let outputs = ClaimsOut {
            subject: subject_out,
            subject_len: subject_len_out,
            exp: exp_out,
        };
        unsafe { outputs.write(&claims) }
    })
}

/// `nacoscrypt_token_cache_verify()` at the system clock's time.
///
/// # Safety
/// As `nacoscrypt_token_cache_verify()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_verify_now(
    cache: *const nacoscrypt_token_cache,
    token: *const c_char,
    token_len: usize,
    subject_out: *mut *mut c_char,
    subject_len_out: *mut usize,
    exp_out: *mut i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let token = unsafe { arg_text(token, token_len, "token") }?;
        let claims = cache.with(|c| c.verify_now(token))?;
        let outputs = ClaimsOut {
            subject: subject_out,
            subject_len: subject_len_out,
            exp: exp_out,
        };
        unsafe { outputs.write(&claims) }
    })
}

/// Forgets the cached login of `username` (say, after a password change).
///
/// # Safety
/// `cache` must be a live cache, `username` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_invalidate_user(
    cache: *const nacoscrypt_token_cache,
    username: *const c_char,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let cache = unsafe { arg_ref(cache, "cache") }?;
        let username = unsafe { arg_str(username, "username") }?;
        cache.with(|c| c.invalidate_user(username));
        Ok(())
    })
}

/// Forgets every cached login and verified token.
///
/// # Safety
/// `cache` must be a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_clear(
    cache: *const nacoscrypt_token_cache,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let cache = unsafe { arg_ref(cache, "cache") }?;
        cache.with(TokenCache::clear);
        Ok(())
    })
}

/// Drops every entry expired at `now` (Unix seconds); done automatically at most once a minute.
///
/// # Safety
/// `cache` must be a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_evict_expired(
    cache: *const nacoscrypt_token_cache,
    now: i64,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let cache = unsafe { arg_ref(cache, "cache") }?;
        cache.with(|c| c.evict_expired(now));
        Ok(())
    })
}

/// The number of cached logins (0 if `cache` is NULL).
///
/// # Safety
/// `cache` must be NULL or a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_login_count(
    cache: *const nacoscrypt_token_cache,
) -> usize {
    ffi_value(0, || {
        // SAFETY: forwarded contract.
        unsafe { cache.as_ref() }.map_or(0, |c| c.with(|c| c.login_count()))
    })
}

/// The number of remembered verified tokens (0 if `cache` is NULL).
///
/// # Safety
/// `cache` must be NULL or a live cache.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_verified_count(
    cache: *const nacoscrypt_token_cache,
) -> usize {
    ffi_value(0, || {
        // SAFETY: forwarded contract.
        unsafe { cache.as_ref() }.map_or(0, |c| c.with(|c| c.verified_count()))
    })
}

/// Frees a token cache. NULL is ignored.
///
/// # Safety
/// `cache` must be NULL or a live cache, not used after this call (nor by another thread).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_token_cache_free(cache: *mut nacoscrypt_token_cache) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(cache) }
}

// ---------------------------------------------------------------------------------------------
// Server identity
// ---------------------------------------------------------------------------------------------

/// The server identity check (`nacos.core.auth.server.identity.key` / `.value`): a request
/// whose header named by the key (ASCII case-insensitive) carries exactly the value (compared
/// in constant time) comes from a peer server.
///
/// Thread safety: immutable; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_server_identity {
    inner: ServerIdentity,
}

fn new_identity(identity_out: *mut *mut nacoscrypt_server_identity, inner: ServerIdentity) {
    // SAFETY: callers checked `identity_out`; writable by contract.
    unsafe {
        out(
            identity_out,
            into_handle(nacoscrypt_server_identity { inner }),
        )
    }
}

/// Makes a server identity check for header `key` carrying `value`. Empty or blank key or
/// value: `NACOSCRYPT_RESULT_INVALID_IDENTITY`; the old public default value `security`:
/// `NACOSCRYPT_RESULT_PUBLICLY_KNOWN_KEY` unless `allow_publicly_known` (tests and migrations
/// only).
///
/// - `identity_out`: receives a new identity owned by the caller (free with
///   `nacoscrypt_server_identity_free()`); written only on success.
///
/// # Safety
/// `key` and `value` must be NUL-terminated strings; `identity_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_new(
    key: *const c_char,
    value: *const c_char,
    allow_publicly_known: bool,
    identity_out: *mut *mut nacoscrypt_server_identity,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let key = unsafe { arg_str(key, "key") }?;
        let value = unsafe { arg_str(value, "value") }?;
        check_out(identity_out, "identity_out")?;
        let identity = if allow_publicly_known {
            ServerIdentity::new_allowing_publicly_known(key, value)?
        } else {
            ServerIdentity::new(key, value)?
        };
        new_identity(identity_out, identity);
        Ok(())
    })
}

/// Checks one header: `*matches_out` is true if `name` is the identity key (ASCII
/// case-insensitive) and `value` is exactly the identity value.
///
/// # Safety
/// `identity` must be a live identity; `name` and `value` NUL-terminated strings;
/// `matches_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_matches_header(
    identity: *const nacoscrypt_server_identity,
    name: *const c_char,
    value: *const c_char,
    matches_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let identity = unsafe { arg_ref(identity, "identity") }?;
        let name = unsafe { arg_str(name, "name") }?;
        let value = unsafe { arg_str(value, "value") }?;
        check_out(matches_out, "matches_out")?;
        let matches = identity.inner.matches([(name, value)]);
        unsafe { out(matches_out, matches) };
        Ok(())
    })
}

/// Checks a request's headers (`len` pairs `names[i]: values[i]`): `*matches_out` is true if
/// the first header named like the key (ASCII case-insensitive) carries exactly the value.
/// The arrays may be NULL when `len` is 0 (then false).
///
/// # Safety
/// `identity` must be a live identity; the arrays hold `len` NUL-terminated strings each;
/// `matches_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_matches_headers(
    identity: *const nacoscrypt_server_identity,
    names: *const *const c_char,
    values: *const *const c_char,
    len: usize,
    matches_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let identity = unsafe { arg_ref(identity, "identity") }?;
        let names = unsafe { arg_array(names, len, "names") }?;
        let values = unsafe { arg_array(values, len, "values") }?;
        let headers = names
            .iter()
            .zip(values)
            .map(|(&n, &v)| unsafe { Ok((arg_str(n, "names[i]")?, arg_str(v, "values[i]")?)) })
            .collect::<FfiResult<Vec<(&str, &str)>>>()?;
        check_out(matches_out, "matches_out")?;
        let matches = identity.inner.matches(headers);
        unsafe { out(matches_out, matches) };
        Ok(())
    })
}

/// Checks a header value alone: `*matches_out` is true if `value` (`value_len` bytes) is
/// exactly the identity value (constant time for equal lengths).
///
/// # Safety
/// `identity` must be a live identity; `value` readable for `value_len` bytes; `matches_out`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_matches_value(
    identity: *const nacoscrypt_server_identity,
    value: *const c_char,
    value_len: usize,
    matches_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let identity = unsafe { arg_ref(identity, "identity") }?;
        let value = unsafe { arg_text(value, value_len, "value") }?;
        check_out(matches_out, "matches_out")?;
        let matches = identity.inner.matches_value(value);
        unsafe { out(matches_out, matches) };
        Ok(())
    })
}

/// Frees a server identity (its value is wiped). NULL is ignored.
///
/// # Safety
/// `identity` must be NULL or a live identity, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_server_identity_free(
    identity: *mut nacoscrypt_server_identity,
) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(identity) }
}

// ---------------------------------------------------------------------------------------------
// Login JSON
// ---------------------------------------------------------------------------------------------

/// Writes a login response as the server does:
/// `{"accessToken":"…","tokenTtl":18000,"globalAdmin":false,"username":"nacos"}`.
///
/// - `json_out`: receives a library string (free with `nacoscrypt_string_free()`);
///   `json_len_out` (may be NULL) its length. Written only on success.
///
/// # Safety
/// `access_token` and `username` must be NUL-terminated strings; `json_out` writable;
/// `json_len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_json_write(
    access_token: *const c_char,
    token_ttl: i64,
    global_admin: bool,
    username: *const c_char,
    json_out: *mut *mut c_char,
    json_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let access_token = unsafe { arg_str(access_token, "access_token") }?;
        let username = unsafe { arg_str(username, "username") }?;
        let target = StringOut::new(json_out, json_len_out, "json_out")?;
        let response = LoginResponse {
            access_token: access_token.to_owned(),
            token_ttl,
            global_admin,
            username: username.to_owned(),
        };
        let json = Zeroizing::new(response.to_json());
        let mut response = response;
        zeroize::Zeroize::zeroize(&mut response.access_token);
        unsafe { target.write(json.as_bytes()) }
    })
}

/// A login response as a client reads it (`nacoscrypt_login_response_parse()`).
///
/// Thread safety: immutable; safe to read from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_login_response {
    inner: LoginResponse,
    access_token_c: Zeroizing<Vec<u8>>,
    username_c: Vec<u8>,
}

impl Drop for nacoscrypt_login_response {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.inner.access_token);
    }
}

/// Reads a login response: a JSON object with a string `accessToken` and a number `tokenTtl`;
/// `globalAdmin` (boolean) and `username` (string) are optional; other members are ignored.
/// Anything else, and an `accessToken` or `username` holding a NUL byte (`\u0000`, which the
/// NUL-terminated accessors could not return whole): `NACOSCRYPT_RESULT_INVALID_ARGUMENT`.
///
/// - `json`, `json_len`: the response body (not necessarily NUL-terminated).
/// - `response_out`: receives a new response owned by the caller (free with
///   `nacoscrypt_login_response_free()`); written only on success.
///
/// # Safety
/// `json` readable for `json_len` bytes; `response_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_parse(
    json: *const c_char,
    json_len: usize,
    response_out: *mut *mut nacoscrypt_login_response,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let json = unsafe { arg_text(json, json_len, "json") }?;
        check_out(response_out, "response_out")?;
        let inner = LoginResponse::parse(json)?;
        let response = nacoscrypt_login_response {
            access_token_c: Zeroizing::new(with_nul(&inner.access_token)),
            username_c: with_nul(&inner.username),
            inner,
        };
        // SAFETY: checked, writable by contract.
        unsafe { out(response_out, into_handle(response)) };
        Ok(())
    })
}

/// The `accessToken` of a login response, NUL-terminated; `*len_out` (may be NULL) receives
/// its length. Borrowed: valid until `response` is freed. NULL if `response` is NULL.
///
/// # Safety
/// `response` must be NULL or a live login response; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_access_token(
    response: *const nacoscrypt_login_response,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value(core::ptr::null(), || {
        // SAFETY: forwarded contract.
        let Some(r) = (unsafe { response.as_ref() }) else {
            return core::ptr::null();
        };
        // SAFETY: forwarded contract.
        unsafe { out_opt(len_out, r.inner.access_token.len()) };
        r.access_token_c.as_ptr().cast::<c_char>()
    })
}

/// The `username` of a login response (`""` when absent), NUL-terminated; `*len_out` (may be
/// NULL) receives its length. Borrowed: valid until `response` is freed. NULL if `response` is
/// NULL.
///
/// # Safety
/// `response` must be NULL or a live login response; `len_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_username(
    response: *const nacoscrypt_login_response,
    len_out: *mut usize,
) -> *const c_char {
    ffi_value(core::ptr::null(), || {
        // SAFETY: forwarded contract.
        let Some(r) = (unsafe { response.as_ref() }) else {
            return core::ptr::null();
        };
        // SAFETY: forwarded contract.
        unsafe { out_opt(len_out, r.inner.username.len()) };
        r.username_c.as_ptr().cast::<c_char>()
    })
}

/// The `tokenTtl` of a login response in seconds (0 if `response` is NULL).
///
/// # Safety
/// `response` must be NULL or a live login response.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_token_ttl(
    response: *const nacoscrypt_login_response,
) -> i64 {
    // SAFETY: forwarded contract.
    ffi_value(0, || {
        unsafe { response.as_ref() }.map_or(0, |r| r.inner.token_ttl)
    })
}

/// The `globalAdmin` of a login response (`false` when absent or if `response` is NULL).
///
/// # Safety
/// `response` must be NULL or a live login response.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_global_admin(
    response: *const nacoscrypt_login_response,
) -> bool {
    // SAFETY: forwarded contract.
    ffi_value(false, || {
        unsafe { response.as_ref() }.is_some_and(|r| r.inner.global_admin)
    })
}

/// Frees a login response (its token is wiped). NULL is ignored.
///
/// # Safety
/// `response` must be NULL or a live login response, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_login_response_free(response: *mut nacoscrypt_login_response) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(response) }
}

// ---------------------------------------------------------------------------------------------
// Client refresh timing
// ---------------------------------------------------------------------------------------------

/// When a client refreshes a token obtained at `obtained_at_ms` (Unix milliseconds) with a TTL
/// of `ttl_secs`: `obtained_at_ms + (ttl − ttl/10) × 1000`, saturating (as the Nacos clients).
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_token_refresh_at_ms(obtained_at_ms: i64, ttl_secs: i64) -> i64 {
    ffi_value(0, || {
        nacoscrypt_core::token::refresh_at_ms(obtained_at_ms, ttl_secs)
    })
}

/// `true` once `now_ms` has reached `nacoscrypt_token_refresh_at_ms()`.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_token_needs_refresh(
    obtained_at_ms: i64,
    ttl_secs: i64,
    now_ms: i64,
) -> bool {
    ffi_value(true, || {
        nacoscrypt_core::token::needs_refresh(obtained_at_ms, ttl_secs, now_ms)
    })
}

// ---------------------------------------------------------------------------------------------
// Auth settings
// ---------------------------------------------------------------------------------------------

/// The token settings of a Nacos cluster (secret key, token validity, cache switch, server
/// identity), from its `application.properties` or the Docker image's environment.
///
/// Thread safety: immutable; safe to use from many threads at once.
#[derive(Debug)]
pub struct nacoscrypt_auth_settings {
    inner: AuthSettings,
}

fn new_settings(settings_out: *mut *mut nacoscrypt_auth_settings, inner: AuthSettings) {
    // SAFETY: callers checked `settings_out`; writable by contract.
    unsafe {
        out(
            settings_out,
            into_handle(nacoscrypt_auth_settings { inner }),
        )
    }
}

/// Reads the settings from an `application.properties` text (`${NAME:default}` placeholders
/// resolve against the text's own properties, then their defaults; not the environment).
/// Invalid: `NACOSCRYPT_RESULT_INVALID_SETTINGS`.
///
/// - `settings_out`: receives new settings owned by the caller (free with
///   `nacoscrypt_auth_settings_free()`); written only on success.
///
/// # Safety
/// `text` readable for `text_len` bytes; `settings_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_from_properties(
    text: *const c_char,
    text_len: usize,
    settings_out: *mut *mut nacoscrypt_auth_settings,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let text = unsafe { arg_text(text, text_len, "text") }?;
        check_out(settings_out, "settings_out")?;
        new_settings(settings_out, AuthSettings::from_properties(text)?);
        Ok(())
    })
}

/// Reads an `application.properties` file, resolving placeholders against this process's
/// environment (as the Docker image's file, which reads `${NACOS_AUTH_TOKEN:}`, needs).
///
/// # Safety
/// `path` must be a NUL-terminated UTF-8 string; `settings_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_from_properties_file(
    path: *const c_char,
    settings_out: *mut *mut nacoscrypt_auth_settings,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { arg_str(path, "path") }?;
        check_out(settings_out, "settings_out")?;
        new_settings(settings_out, AuthSettings::from_properties_file(path)?);
        Ok(())
    })
}

/// Reads the settings from this process's environment, with the Docker image's names
/// (`NACOS_AUTH_TOKEN`, `NACOS_AUTH_TOKEN_EXPIRE_SECONDS`, `NACOS_AUTH_CACHE_ENABLE`,
/// `NACOS_AUTH_IDENTITY_KEY`, `NACOS_AUTH_IDENTITY_VALUE`).
///
/// # Safety
/// `settings_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_from_env(
    settings_out: *mut *mut nacoscrypt_auth_settings,
) -> nacoscrypt_result {
    ffi_call(|| {
        check_out(settings_out, "settings_out")?;
        new_settings(settings_out, AuthSettings::from_process_env()?);
        Ok(())
    })
}

/// The token validity setting in seconds (default 18,000; 0 if `settings` is NULL).
///
/// # Safety
/// `settings` must be NULL or live settings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_expire_seconds(
    settings: *const nacoscrypt_auth_settings,
) -> u64 {
    // SAFETY: forwarded contract.
    ffi_value(0, || {
        unsafe { settings.as_ref() }.map_or(0, |s| s.inner.expire_seconds)
    })
}

/// The token cache switch (default false; false if `settings` is NULL).
///
/// # Safety
/// `settings` must be NULL or live settings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_cache_enabled(
    settings: *const nacoscrypt_auth_settings,
) -> bool {
    // SAFETY: forwarded contract.
    ffi_value(false, || {
        unsafe { settings.as_ref() }.is_some_and(|s| s.inner.cache_enabled)
    })
}

/// A token manager with the settings' secret key and validity (leeway 0). Secret key not set:
/// `NACOSCRYPT_RESULT_INVALID_SETTINGS`; publicly known keys refused unless
/// `allow_publicly_known`.
///
/// - `manager_out`: receives a new manager owned by the caller; written only on success.
///
/// # Safety
/// `settings` must be live settings; `manager_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_token_manager(
    settings: *const nacoscrypt_auth_settings,
    allow_publicly_known: bool,
    manager_out: *mut *mut nacoscrypt_token_manager,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let settings = unsafe { arg_ref(settings, "settings") }?;
        check_out(manager_out, "manager_out")?;
        let manager = if allow_publicly_known {
            settings.inner.token_manager_allowing_publicly_known()?
        } else {
            settings.inner.token_manager()?
        };
        new_manager(manager_out, manager);
        Ok(())
    })
}

/// The server identity of the settings. Not set: `NACOSCRYPT_RESULT_INVALID_IDENTITY`; the old
/// public default refused unless `allow_publicly_known`.
///
/// - `identity_out`: receives a new identity owned by the caller; written only on success.
///
/// # Safety
/// `settings` must be live settings; `identity_out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_server_identity(
    settings: *const nacoscrypt_auth_settings,
    allow_publicly_known: bool,
    identity_out: *mut *mut nacoscrypt_server_identity,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let settings = unsafe { arg_ref(settings, "settings") }?;
        check_out(identity_out, "identity_out")?;
        let identity = if allow_publicly_known {
            settings.inner.server_identity_allowing_publicly_known()?
        } else {
            settings.inner.server_identity()?
        };
        new_identity(identity_out, identity);
        Ok(())
    })
}

/// Frees settings (the secret key text and identity value are wiped). NULL is ignored.
///
/// # Safety
/// `settings` must be NULL or live settings, not used after this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_auth_settings_free(settings: *mut nacoscrypt_auth_settings) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(settings) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn issue_verify_and_errors() {
        let mut key = core::ptr::null_mut();
        let mut manager = core::ptr::null_mut();
        let mut token = core::ptr::null_mut();
        unsafe {
            assert_eq!(
                nacoscrypt_secret_key_from_bytes([7u8; 48].as_ptr(), 48, false, &mut key),
                nacoscrypt_result::Ok
            );
            assert_eq!(
                nacoscrypt_secret_key_algorithm(key),
                NACOSCRYPT_ALGORITHM_HS384
            );
            assert_eq!(
                nacoscrypt_token_manager_new(key, core::ptr::null(), 0, 0, 5, &mut manager),
                nacoscrypt_result::Ok
            );
            assert_eq!(nacoscrypt_token_manager_validity(manager), 18_000);
            assert_eq!(
                nacoscrypt_token_manager_issue(manager, c"nacos".as_ptr(), 1_000, &mut token),
                nacoscrypt_result::Ok
            );
            let mut len = 0;
            let text = nacoscrypt_access_token_text(token, &mut len);
            assert_eq!(CStr::from_ptr(text).to_bytes().len(), len);
            assert_eq!(nacoscrypt_access_token_expires_at(token), 19_000);
            let mut sub = core::ptr::null_mut();
            let mut exp = 0;
            assert_eq!(
                nacoscrypt_token_manager_verify(
                    manager,
                    text,
                    len,
                    19_005,
                    &mut sub,
                    core::ptr::null_mut(),
                    &mut exp
                ),
                nacoscrypt_result::Ok
            );
            assert_eq!(CStr::from_ptr(sub).to_str().unwrap(), "nacos");
            assert_eq!(exp, 19_000);
            crate::nacoscrypt_string_free(sub);
            let r = nacoscrypt_token_manager_verify(
                manager,
                text,
                len,
                19_006,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            );
            assert_eq!(r, nacoscrypt_result::TokenExpired);
            let m = CStr::from_ptr(crate::nacoscrypt_last_error_nacos_message());
            assert_eq!(m.to_str().unwrap(), "token expired!");
            let r = nacoscrypt_token_manager_verify(
                core::ptr::null(),
                text,
                len,
                0,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            );
            assert_eq!(r, nacoscrypt_result::NullPointer);
            nacoscrypt_access_token_free(token);
            nacoscrypt_token_manager_free(manager);
            nacoscrypt_secret_key_free(key);
        }
    }
}
