//! KMSs: `LocalKms` (the core keyring) and any Python object with the three KMS methods, used as
//! a core [`Kms`](nacoscrypt_core::kms::Kms) at run time; the KMS interface methods every
//! key-service class shares.

pub(crate) mod interface;
mod local;
mod python;

pub(crate) use local::LocalKms;
pub(crate) use python::PyKms;
