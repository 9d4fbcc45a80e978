//! # nacoscrypt-ffi: the C ABI of libnacoscrypt
//!
//! Builds `libnacoscrypt.so` and `libnacoscrypt.a`; `include/nacoscrypt.h` is generated from
//! this crate by cbindgen (see `ffi/cbindgen.toml`, and `scripts/test-ffi.sh`, which fails if the
//! committed header is stale). Everything the core does is here: configuration encryption with
//! the local keyring or the caller's own KMS through callbacks (both formats, all schemes), and
//! Nacos access tokens (secret keys, issue and verify with rotation, the token cache, the server
//! identity check, the login JSON).
//!
//! ## Conventions (also at the top of the header and in `ffi/README.md`)
//! - Every symbol starts with `nacoscrypt_` (`NACOSCRYPT_` for constants).
//! - Fallible functions return a [`nacoscrypt_result`]: `0` is success, other codes are stable
//!   numbers in blocks per area. The thread's last error gives the detail
//!   ([`nacoscrypt_last_error_message`]).
//! - Handles are opaque; every constructor has a `_free` that accepts NULL. Outputs are the
//!   last parameters and are written only on success. Strings the library returns are freed
//!   (and wiped) with [`nacoscrypt_string_free`] only.
//! - No panic crosses the boundary: every export runs inside `catch_unwind` and a panic becomes
//!   `NACOSCRYPT_RESULT_PANIC`. NULL pointers and impossible lengths are errors.
//! - Thread safety is stated on every handle.
//!
//! ## Rust callers
//! The crate is also an `rlib`, so Rust code (benchmarks of the boundary, tests) can call the
//! exported functions directly; Rust applications should use `nacoscrypt-core` instead.

// A C ABI cannot be written without `unsafe`: raw pointers from C are read and written, and
// handles are moved through `Box::into_raw` / `Box::from_raw`. The workspace denies unsafe code;
// this crate alone allows it, keeps every unsafe operation in small documented helpers
// (`boundary`, `string`, `getter`) or behind a `// SAFETY:` comment, and wraps every export in
// `catch_unwind`.
//
// The modules form layers, each importing only from those below it:
//   live (testing only) < boundary (panics, arguments, handles) < result (codes)
//   < error (`FfiError`, the last error, `ffi_call`) < string, getter, testing
//   < keyring < kms < service (what the network key services' options share)
//   < config, aliyun, aws, pkcs11; token (its own folder, as in the core).
#![allow(unsafe_code)]
// The C names (`nacoscrypt_keyring`, …) are the public API: cbindgen copies them to the header.
#![allow(non_camel_case_types)]

#[cfg(feature = "aliyun")]
mod aliyun;
#[cfg(feature = "aws")]
mod aws;
mod boundary;
mod config;
mod doctor;
mod error;
mod export;
mod getter;
mod keyring;
mod kms;
#[cfg(feature = "testing")]
mod live;
#[cfg(feature = "pkcs11")]
mod pkcs11;
mod result;
mod service;
mod string;
#[cfg(feature = "testing")]
mod testing;
mod token;

#[cfg(feature = "aliyun")]
pub use aliyun::*;
#[cfg(feature = "aws")]
pub use aws::*;
pub use config::*;
pub use doctor::*;
pub use error::{
    nacoscrypt_last_error_code, nacoscrypt_last_error_message, nacoscrypt_last_error_nacos_message,
    nacoscrypt_last_kms_error_code,
};
pub use export::*;
pub use keyring::*;
pub use kms::*;
#[cfg(feature = "pkcs11")]
pub use pkcs11::*;
pub use result::*;
pub use service::nacoscrypt_kms_cache_mode;
pub use string::{nacoscrypt_bytes_free, nacoscrypt_string_free};
#[cfg(feature = "testing")]
pub use testing::*;
pub use token::*;

use core::ffi::{CStr, c_char};

/// The library version, `MAJOR.MINOR.PATCH`, as a C string.
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };

/// The library version, `"MAJOR.MINOR.PATCH"`. Static: never free it.
///
/// Thread safety: safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_version() -> *const c_char {
    boundary::ffi_value(VERSION.as_ptr(), || VERSION.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_the_crate() {
        let v = unsafe { CStr::from_ptr(nacoscrypt_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(v.to_str().unwrap(), nacoscrypt_core::VERSION);
    }
}
