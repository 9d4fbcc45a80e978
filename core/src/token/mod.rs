//! Nacos access tokens (SPEC section 3): byte-compatible with the Nacos server's default auth
//! plugin, and stricter than it where that is safe.
//!
//! - [`SecretKey`]: the server setting `nacos.core.auth.plugin.nacos.token.secret.key`, decoded
//!   exactly as the server decodes it; the [`Algorithm`] follows from its length.
//! - [`TokenManager`]: issues [`AccessToken`]s and verifies tokens into [`Claims`], with older
//!   keys for rotation and a configurable leeway. Verification allocates nothing but the
//!   returned subject.
//! - [`TokenCache`]: the server's token cache (`token.cache.enable`).
//! - [`ServerIdentity`]: the peer-server header check.
//! - [`refresh_at_ms`] / [`needs_refresh`]: client refresh timing; [`LoginResponse`]: the login
//!   answer; [`TokenKeeper`] (std) / [`KeeperState`]: the client's token, refreshed with jitter,
//!   one login for many threads, one re-login after a 403.
//! - [`RevocationStore`] / [`InMemoryRevocations`]: per-user "not before" times (password
//!   change, deletion), consulted by [`TokenManager::verify_not_revoked`] and the cache.
//! - [`audit::audit`]: what in a cluster's settings weakens its auth (`nacoscrypt auth audit`).
//! - [`AuthSettings`]: all of the above from a cluster's `application.properties` or the Docker
//!   image's environment.
//!
//! Time comes in from the caller (`now` in Unix seconds, everywhere); with the `std` feature the
//! `*_now` functions read the system clock.
//!
//! # Example
//! ```
//! use nacoscrypt_core::token::{SecretKey, TokenManager};
//! use nacoscrypt_core::{Error, ErrorKind};
//!
//! let manager = TokenManager::new(SecretKey::from_bytes(&[42u8; 32])?);
//! let token = manager.issue("nacos", 1_700_000_000)?;
//! assert_eq!(manager.verify(&token.token, 1_700_000_000)?.sub, "nacos");
//!
//! let err = manager.verify(&token.token, 1_700_018_001).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::TokenExpired);
//! assert_eq!(err.nacos_message(), Some("token expired!"));
//! # Ok::<(), Error>(())
//! ```

pub mod audit;
mod cache;
mod claims;
mod hmac;
mod identity;
mod keeper;
mod manager;
mod refresh;
mod revocation;
mod secret;
pub mod settings;
#[cfg(feature = "std")]
mod shared_cache;
mod sign;
mod verify;

pub use crate::json::MAX_JSON_DEPTH;
/// Kept at this path for compatibility (the bindings import it from here): the `.properties`
/// reader is [`crate::properties::Properties`].
#[doc(hidden)]
pub use crate::properties::Properties;
pub use cache::{MAX_CACHE_ENTRIES, TokenCache};
pub use claims::Claims;
pub use identity::{PUBLIC_DEFAULT_IDENTITY_KEY, PUBLIC_DEFAULT_IDENTITY_VALUE, ServerIdentity};
#[cfg(feature = "std")]
pub use keeper::TokenKeeper;
pub use keeper::{DEFAULT_MAX_BACKOFF_MS, DEFAULT_MIN_BACKOFF_MS, KeeperState, Step};
pub use manager::{AccessToken, DEFAULT_VALIDITY_SECS, LoginResponse, TokenManager};
pub use refresh::{needs_refresh, refresh_at_ms};
pub use revocation::{InMemoryRevocations, RevocationStore};
pub use secret::{Algorithm, MAX_SECRET_TEXT_LEN, SecretKey};
pub use settings::AuthSettings;
#[cfg(feature = "std")]
pub use shared_cache::SharedTokenCache;
pub use verify::{MAX_PAYLOAD_LEN, MAX_TOKEN_LEN};

/// The system clock in Unix seconds (0 before the epoch).
#[cfg(feature = "std")]
pub(crate) fn unix_now_secs() -> i64 {
    unix_now_millis().div_euclid(1000)
}

/// The system clock in Unix milliseconds (0 before the epoch).
#[cfg(feature = "std")]
pub(crate) fn unix_now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
