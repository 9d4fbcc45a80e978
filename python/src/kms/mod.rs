//! KMSs: `LocalKms` (the core keyring) and any Python object with the three KMS methods, used as
//! a core [`Kms`](nacoscrypt_core::kms::Kms) at run time; the KMS interface methods every
//! key-service class shares, and the options the network ones share.

pub(crate) mod interface;
mod local;
mod python;
#[cfg(any(feature = "aliyun", feature = "aws"))]
pub(crate) mod service;

pub(crate) use local::LocalKms;
pub(crate) use python::PyKms;
