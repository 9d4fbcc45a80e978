//! # nacoscrypt-core
//!
//! The `no_std` + `alloc` core of libnacoscrypt: everything a service that is not on the Nacos
//! Java SDK needs to read and write Nacos' encrypted configuration and to issue and check Nacos
//! access tokens, byte-compatible with the Nacos server and clients.
//!
//! - [`config`]: envelope encryption of configuration content by data ID scheme
//!   (`cipher-kms-aes-256-`, `cipher-kms-aes-128-`, `cipher-`), in the Nacos-compatible `nacos`
//!   format (AES-ECB, what every Nacos client reads) or the authenticated `v1` format
//!   (AES-GCM bound to the config's data ID, group and tenant).
//! - [`kms`]: the [`Kms`](kms::Kms) trait every key service implements, and the local keyring
//!   ([`Keyring`](kms::Keyring)), the embedded default.
//! - [`properties`]: Java `.properties` files as the Nacos server reads them, with Spring's
//!   placeholders.
//! - [`limits`]: every bound the core puts on its inputs, in one table.
//! - [`token`]: Nacos access tokens (HS256/384/512 JWTs): secret keys decoded as the server does,
//!   signing, strict verification, rotation, the token cache and the server identity check.
//!
//! Time and randomness come in from the edge: functions take `now` and, without the `getrandom`
//! feature, an RNG. With the default features (`std`, `getrandom`) convenience functions read
//! the clock and the operating system's RNG.
//!
//! AES-GCM comes from one of two backends: `aws-lc` (default, std targets) or `pure-rust`
//! (RustCrypto `aes-gcm`, also on `no_std`); a `no_std` build is
//! `default-features = false, features = ["pure-rust"]`.
//!
//! ## Quick start
//! ```
//! use nacoscrypt_core::config::{self, ConfigId, Format};
//! use nacoscrypt_core::kms::Keyring;
//!
//! # fn main() -> Result<(), nacoscrypt_core::Error> {
//! let mut keyring = Keyring::new();
//! keyring.add_new_key("alias/nacos")?;
//! let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
//!
//! let stored = config::encrypt(&keyring, &id, "password=s3cret", "alias/nacos", Format::Nacos)?;
//! let plain = config::decrypt(&keyring, &id, &stored.content, &stored.encrypted_data_key)?;
//! assert_eq!(plain.as_str(), "password=s3cret");
//! # Ok(()) }
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod b64;
pub mod config;
pub mod error;
#[cfg(feature = "std")]
pub mod fs;
mod gcm;
mod json;
pub mod kms;
pub mod limits;
pub mod properties;
mod rng;
pub mod sensitive;
pub mod token;
#[cfg(feature = "zip")]
mod zip;

pub use error::{Error, ErrorFamily, ErrorKind, KmsServiceError, Result};

pub use rand_core::{self, CryptoRng};
pub use sensitive::{SecretBytes, SecretString};

/// The old name of [`sensitive`], kept for compatibility (`nacoscrypt_core::secret::SecretBytes`
/// still resolves). Not to be confused with the token secret key, [`token::SecretKey`].
#[doc(hidden)]
pub use sensitive as secret;

/// The version of this crate, as `MAJOR.MINOR.PATCH`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod test_util {
    use alloc::vec::Vec;

    /// Bytes of a hex string (test vectors).
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
