//! [`TokenManager`]: a signing key, older keys that still verify, validity and leeway; the
//! [`AccessToken`] it issues and the login response JSON the server answers with.

use super::{Claims, SecretKey};
use crate::json::{self, Value, push_json_string};
use crate::{Error, Result};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// The server's default token validity: 18,000 seconds (5 hours).
pub const DEFAULT_VALIDITY_SECS: u64 = 18_000;

/// Issues and verifies Nacos access tokens (SPEC 3.2–3.4).
///
/// It holds the signing key and, for a rolling change of the secret across a cluster, older
/// keys that are still accepted: [`verify`](Self::verify) tries the keys whose algorithm the
/// token's header names, the signing key first.
///
/// # Example
/// ```
/// use nacoscrypt_core::token::{SecretKey, TokenManager};
/// use nacoscrypt_core::ErrorKind;
///
/// let old = SecretKey::from_bytes(&[1u8; 32])?;
/// let new = SecretKey::from_bytes(&[2u8; 48])?;
/// let old_token = TokenManager::new(old.clone()).issue("alice", 1_000)?;
///
/// let manager = TokenManager::new(new).with_previous_key(old).with_leeway(30);
/// let token = manager.issue("nacos", 1_000)?;
/// assert_eq!(token.ttl, 18_000);
/// assert_eq!(token.expires_at, 19_000);
/// assert_eq!(manager.verify(&token.token, 19_030)?.sub, "nacos"); // within the leeway
/// assert_eq!(manager.verify(&token.token, 19_031).unwrap_err().kind(), ErrorKind::TokenExpired);
/// assert_eq!(manager.verify(&old_token.token, 2_000)?.sub, "alice"); // rotation
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TokenManager {
    keys: Vec<SecretKey>,
    validity: u64,
    leeway: u64,
}

impl TokenManager {
    /// A manager signing with `key`, with the server's defaults: validity 18,000 s, leeway 0.
    pub fn new(key: SecretKey) -> Self {
        Self {
            keys: alloc::vec![key],
            validity: DEFAULT_VALIDITY_SECS,
            leeway: 0,
        }
    }

    /// Sets how long issued tokens are valid, in seconds.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for 0 or more than `i64::MAX`.
    pub fn with_validity(mut self, secs: u64) -> Result<Self> {
        if secs == 0 || i64::try_from(secs).is_err() {
            return Err(Error::InvalidArgument {
                reason: "token validity must be between 1 second and i64::MAX seconds",
            });
        }
        self.validity = secs;
        Ok(self)
    }

    /// Sets the leeway in seconds: a token stays valid while `exp + leeway >= now`.
    pub fn with_leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// Adds an older key that still verifies (tried after the signing key and the keys added
    /// before it).
    pub fn with_previous_key(mut self, key: SecretKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds several older keys, in order.
    pub fn with_previous_keys(mut self, keys: impl IntoIterator<Item = SecretKey>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// The signing key.
    pub fn signing_key(&self) -> &SecretKey {
        &self.keys[0]
    }

    /// The older keys still accepted.
    pub fn previous_keys(&self) -> &[SecretKey] {
        &self.keys[1..]
    }

    /// The validity of issued tokens, in seconds.
    pub fn validity(&self) -> u64 {
        self.validity
    }

    /// The leeway of verification, in seconds.
    pub fn leeway(&self) -> u64 {
        self.leeway
    }

    /// Issues a token for `subject` at `now` (Unix seconds): `exp = now + validity`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the expiry overflows 64 bits; the errors of
    /// [`SecretKey::try_sign`](super::SecretKey::try_sign) for a subject whose token could not
    /// be verified (a NUL character, or too long).
    pub fn issue(&self, subject: &str, now: i64) -> Result<AccessToken> {
        let expires_at = i64::try_from(self.validity)
            .ok()
            .and_then(|v| now.checked_add(v))
            .ok_or(Error::InvalidArgument {
                reason: "token expiry out of range",
            })?;
        Ok(AccessToken {
            token: self.signing_key().try_sign(subject, expires_at)?,
            ttl: self.validity,
            expires_at,
            subject: String::from(subject),
        })
    }

    /// Verifies `token` at `now` (Unix seconds) in the order of SPEC 3.3, returning its claims.
    /// Allocates nothing but the returned subject.
    ///
    /// # Errors
    /// [`Error::MalformedToken`], [`Error::UnsupportedAlgorithm`], [`Error::InvalidSignature`],
    /// [`Error::InvalidClaims`], [`Error::TokenExpired`]; [`Error::nacos_message`] gives the
    /// server's text for each.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims> {
        super::verify::verify(&self.keys, token, now, self.leeway)
    }

    /// [`verify`](Self::verify), then refuses a token issued before its subject's not-before
    /// time in `store` (see [`RevocationStore`](super::RevocationStore)); the issue time is
    /// `exp − validity`; a token issued in the very second of the not-before time still
    /// verifies.
    ///
    /// # Cost
    /// One store lookup after a successful verification (nothing of a forged token reaches the
    /// store). For [`InMemoryRevocations`](super::InMemoryRevocations) that is a `BTreeMap`
    /// search without allocation: the `token_verify_revocation_10k` bench, 10,000 users
    /// revoked, measures about 410 ns against 340 ns for plain [`verify`](Self::verify) of an
    /// HS256 token on a shared 2-core x86-64 machine (some 70 ns, a fifth of a verification).
    ///
    /// ```
    /// use nacoscrypt_core::token::{InMemoryRevocations, SecretKey, TokenManager};
    ///
    /// let manager = TokenManager::new(SecretKey::from_bytes(&[8u8; 32])?);
    /// let token = manager.issue("bob", 10)?;
    /// let mut store = InMemoryRevocations::new();
    /// assert!(manager.verify_not_revoked(&token.token, 20, &store).is_ok());
    /// store.revoke_before("bob", 11);
    /// assert!(manager.verify_not_revoked(&token.token, 20, &store).is_err());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`verify`](Self::verify); [`Error::InvalidClaims`] ("token revoked: …", the server's
    /// text `token invalid!`) for a revoked token.
    pub fn verify_not_revoked(
        &self,
        token: &str,
        now: i64,
        store: &(impl super::RevocationStore + ?Sized),
    ) -> Result<Claims> {
        let claims = self.verify(token, now)?;
        super::revocation::check(store, &claims.sub, claims.exp, self.validity)?;
        Ok(claims)
    }

    /// [`issue`](Self::issue) at the system clock's time.
    ///
    /// # Errors
    /// As [`issue`](Self::issue).
    #[cfg(feature = "std")]
    pub fn issue_now(&self, subject: &str) -> Result<AccessToken> {
        self.issue(subject, super::unix_now_secs())
    }

    /// [`verify`](Self::verify) at the system clock's time.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    #[cfg(feature = "std")]
    pub fn verify_now(&self, token: &str) -> Result<Claims> {
        self.verify(token, super::unix_now_secs())
    }
}

/// An issued token with its time to live.
///
/// ```
/// use nacoscrypt_core::token::{SecretKey, TokenManager};
///
/// let manager = TokenManager::new(SecretKey::from_bytes(&[3u8; 32])?);
/// let token = manager.issue("nacos", 1_700_000_000)?;
/// let json = token.to_login_json("nacos", true);
/// assert_eq!(
///     json,
///     format!(r#"{{"accessToken":"{}","tokenTtl":18000,"globalAdmin":true,"username":"nacos"}}"#, token.token)
/// );
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token text (`header.payload.signature`).
    pub token: String,
    /// Seconds the token remains valid from the moment it was handed out.
    pub ttl: u64,
    /// Its expiry (`exp`), Unix seconds.
    pub expires_at: i64,
    /// The subject (user name) it was issued to.
    pub subject: String,
}

impl AccessToken {
    /// The login response the server answers with:
    /// `{"accessToken":"…","tokenTtl":18000,"globalAdmin":false,"username":"nacos"}`.
    pub fn to_login_json(&self, username: &str, global_admin: bool) -> String {
        write_login_json(&self.token, self.ttl, global_admin, username)
    }

    /// The login response for the token's own subject.
    pub fn login_response(&self, global_admin: bool) -> LoginResponse {
        LoginResponse {
            access_token: self.token.clone(),
            token_ttl: i64::try_from(self.ttl).unwrap_or(i64::MAX),
            global_admin,
            username: self.subject.clone(),
        }
    }
}

impl core::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The token is a bearer credential: never printed.
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("ttl", &self.ttl)
            .field("expires_at", &self.expires_at)
            .field("subject", &self.subject)
            .finish()
    }
}

fn write_login_json(
    token: &str,
    ttl: impl core::fmt::Display,
    global_admin: bool,
    username: &str,
) -> String {
    let mut out = String::with_capacity(token.len() + username.len() + 72);
    out.push_str("{\"accessToken\":");
    push_json_string(&mut out, token);
    let _ = write!(
        out,
        ",\"tokenTtl\":{ttl},\"globalAdmin\":{global_admin},\"username\":"
    );
    push_json_string(&mut out, username);
    out.push('}');
    out
}

/// The server's login response, as a client reads it.
///
/// ```
/// use nacoscrypt_core::token::LoginResponse;
///
/// let r = LoginResponse::parse(r#"{"accessToken":"a.b.c","tokenTtl":18000,"globalAdmin":false,"username":"nacos"}"#)?;
/// assert_eq!(r.access_token, "a.b.c");
/// assert_eq!(r.token_ttl, 18000);
/// assert_eq!(r.to_json(), r#"{"accessToken":"a.b.c","tokenTtl":18000,"globalAdmin":false,"username":"nacos"}"#);
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LoginResponse {
    /// The token.
    pub access_token: String,
    /// Its time to live in seconds (a fraction is truncated toward zero).
    pub token_ttl: i64,
    /// `true` for a global administrator (`false` when absent).
    pub global_admin: bool,
    /// The user name (empty when absent, as from older servers).
    pub username: String,
}

impl LoginResponse {
    /// Reads a login response: a JSON object with a string `accessToken` and a number
    /// `tokenTtl`; `globalAdmin` (boolean) and `username` (string) are optional; other members
    /// are ignored.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the text is not such an object, or if `accessToken` or
    /// `username` holds a NUL character (which no token holds, and C strings cannot carry).
    pub fn parse(json: &str) -> Result<Self> {
        let mut token = None;
        let mut ttl = None;
        let mut global_admin = false;
        let mut username = None;
        json::parse_object(json.as_bytes(), |name, value| {
            match (value, name) {
                (Value::Str(s), n) if n.eq_str("accessToken") => token = Some(s),
                (Value::Num(v), n) if n.eq_str("tokenTtl") => {
                    ttl = Some(json::number_to_i64(v).ok_or("tokenTtl out of range")?);
                }
                (Value::Bool(b), n) if n.eq_str("globalAdmin") => global_admin = b,
                (Value::Str(s), n) if n.eq_str("username") => username = Some(s),
                (_, n)
                    if ["accessToken", "tokenTtl", "globalAdmin", "username"]
                        .iter()
                        .any(|k| n.eq_str(k)) =>
                {
                    return Err("a login response member has the wrong type");
                }
                _ => {}
            }
            Ok(())
        })
        .map_err(|reason| Error::InvalidArgument { reason })?;
        let token = token.ok_or(Error::InvalidArgument {
            reason: "login response without accessToken",
        })?;
        let ttl = ttl.ok_or(Error::InvalidArgument {
            reason: "login response without tokenTtl",
        })?;
        // A C caller reads these as NUL-terminated strings: a NUL would cut them short (and a
        // token, base64url text, never holds one; nor does a user name a token can carry).
        if token.has_nul() {
            return Err(Error::InvalidArgument {
                reason: "login response accessToken contains a NUL character",
            });
        }
        if username.as_ref().is_some_and(|u| u.has_nul()) {
            return Err(Error::InvalidArgument {
                reason: "login response username contains a NUL character",
            });
        }
        Ok(Self {
            access_token: token.decode(),
            token_ttl: ttl,
            global_admin,
            username: username.map(|u| u.decode()).unwrap_or_default(),
        })
    }

    /// The JSON text, as the server writes it.
    pub fn to_json(&self) -> String {
        write_login_json(
            &self.access_token,
            self.token_ttl,
            self.global_admin,
            &self.username,
        )
    }
}

impl core::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("access_token", &"[REDACTED]")
            .field("token_ttl", &self.token_ttl)
            .field("global_admin", &self.global_admin)
            .field("username", &self.username)
            .finish()
    }
}
