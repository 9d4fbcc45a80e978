//! `nacoscrypt._native`: the Python extension module of libnacoscrypt.
//!
//! A thin binding over `nacoscrypt-core`: every rule lives in the core; this crate converts
//! arguments, maps core errors onto exception classes ([`errors`]), lets Python objects act as a
//! core KMS ([`kms`]) and releases the interpreter while Rust works on large inputs. The Python
//! package `nacoscrypt` (python/nacoscrypt/) re-exports everything from here.

#[cfg(feature = "aliyun")]
mod aliyun;
mod args;
#[cfg(feature = "aws")]
mod aws;
mod config;
mod doctor;
mod errors;
mod export;
mod kms;
#[cfg(feature = "pkcs11")]
mod pkcs11;
mod token;
mod utf8;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_class::<kms::LocalKms>()?;
    #[cfg(feature = "aliyun")]
    m.add_class::<aliyun::AliyunKms>()?;
    #[cfg(feature = "aliyun")]
    m.add_class::<aliyun::AliyunInstanceKms>()?;
    #[cfg(feature = "aws")]
    m.add_class::<aws::AwsKms>()?;
    #[cfg(feature = "pkcs11")]
    m.add_class::<pkcs11::Pkcs11Kms>()?;
    config::register(m)?;
    doctor::register(m)?;
    export::register(m)?;
    token::register(m)?;
    Ok(())
}
