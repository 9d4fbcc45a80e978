//! Every bound the core puts on its inputs, in one place.
//!
//! Each input that comes from outside (a token, a properties file, a keyring, a stored config, a
//! KMS blob) has a bound, checked while it is read (before the work it would cause), refused
//! with the error kind below just past the bound and accepted at it. Every bound is re-exported
//! here from the module that enforces it (its other paths, such as
//! `nacoscrypt_core::token::MAX_TOKEN_LEN`, stay valid); `core/tests/limits.rs` imports them from
//! here only and tests each one at the bound and one past it.
//!
//! | name | value | what it bounds | where it is enforced | error kind |
//! |---|---|---|---|---|
//! | [`MAX_TOKEN_LEN`] | 8,300 bytes | a whole token | `TokenManager::verify` (first, before any MAC), `SecretKey::try_sign` and `TokenManager::issue` (the token written) | `MalformedToken` ("longer than 8300 bytes") |
//! | [`MAX_PAYLOAD_LEN`] | 8,192 characters | a token's base64url payload (6 KiB decoded, into a stack buffer) | `verify` (after the signature), `try_sign` / `issue` | `InvalidClaims` ("payload too large") |
//! | [`MAX_JSON_DEPTH`] | 64 | nesting of arrays and objects in a token payload or a login response | the JSON reader, while parsing | `InvalidClaims` / `InvalidArgument` |
//! | [`MAX_SECRET_TEXT_LEN`] | 65,536 bytes | a token secret key's base64 text | `SecretKey::from_base64`, before decoding | `InvalidSecretKey` |
//! | [`MAX_PROPERTIES_LEN`] | 4 MiB | an `application.properties` text or file | `Properties::parse`; `AuthSettings::from_properties_file` while reading (never more than the bound + 1 bytes; FIFOs and devices refused before reading) | `InvalidSettings` ("file too large"); `Io` for a FIFO or device |
//! | [`MAX_PLACEHOLDER_DEPTH`] | 8 | nesting of `${…}` placeholders | placeholder resolution, per level | `InvalidSettings` ("nested too deeply") |
//! | [`MAX_PLACEHOLDERS`] | 256 | `${…}` placeholders resolved for one setting, all levels | placeholder resolution, before each | `InvalidSettings` ("more than 256 placeholders") |
//! | [`MAX_EXPANDED_LEN`] | 64 KiB | text placeholders expand to for one setting (names and values, all levels) | placeholder resolution, before each copy | `InvalidSettings` ("expand to more than 64 KiB") |
//! | [`MAX_KEYRING_LEN`] | 1 MiB | a keyring text or file | `Keyring::parse`; keyring files while reading; adding a key or version (the keyring never grows past what `parse` reads) | `KeyringSyntax` |
//! | [`MAX_KEY_ID_LEN`] | 128 bytes | a keyring key id | keyring parsing and key creation | `KeyringSyntax` / `InvalidArgument` |
//! | [`MAX_BLOB_LEN`] | 1 MiB | a local-KMS ciphertext blob | `Keyring` decrypt, before decoding | `ContentTooLarge` ("ciphertext blob too large") |
//! | [`MAX_BLOB_PLAINTEXT_LEN`] | 786,368 bytes | a plaintext the local KMS encrypts (its blob is then at most [`MAX_BLOB_LEN`]) | `Keyring` encrypt | `ContentTooLarge` |
//! | [`MAX_ENCRYPTED_DATA_KEY_LEN`] | 1,024 characters | a config's `encryptedDataKey` (Nacos' `varchar(1024)`) | `config::encrypt` (what the KMS returned) and every decrypt, before the KMS is called | `InvalidEncryptedDataKey` |
//! | [`MAX_ENVELOPE_PLAINTEXT_LEN`] | 51,200 bytes | config plaintext, `cipher-kms-aes-*` ([`Limits::NACOS`]`.envelope`) | encrypt before any KMS call; decrypt after decryption | `ContentTooLarge` |
//! | [`MAX_DIRECT_PLAINTEXT_LEN`] | 6,144 bytes | config plaintext, `cipher-` ([`Limits::NACOS`]`.direct`) | as above | `ContentTooLarge` |
//! | [`Limits::max_stored_len`] | from the limits: 68,308 (envelope) and 9,564 (direct) characters with [`Limits::NACOS`] | stored config content | every decrypt, before decoding | `ContentTooLarge` ("stored content too large") |
//! | [`DIRECT_BLOB_OVERHEAD`] | 1,024 bytes | the framing a KMS adds to a direct-scheme blob, in [`Limits::max_stored_len`] | as above | `ContentTooLarge` |
//! | [`MAX_CACHE_ENTRIES`] | 65,536 | entries in each map of a `TokenCache` | on insertion (the entry expiring first makes room) | none: evicts |
//! | [`MAX_ZIP_LEN`] (`zip`) | 1 GiB | an export ZIP | `config::export::read_export`, first | `ContentTooLarge` |
//! | [`MAX_ZIP_ENTRIES`] (`zip`) | 65,535 | files in an export ZIP (ZIP64 is refused) | `read_export` (the end record), `write_export` | `InvalidArgument` ("ZIP64 archives are not supported") |
//! | [`MAX_ZIP_ENTRY_LEN`] (`zip`) | 64 MiB | one inflated ZIP entry | `read_export`, from the central directory before inflating; inflation stops at the stated size | `ContentTooLarge` |
//! | [`MAX_ZIP_TOTAL_LEN`] (`zip`) | 1 GiB | all entries of one ZIP, inflated | `read_export`, summed from the central directory before inflating | `ContentTooLarge` |
//! | [`MAX_SIDECAR_LEN`] (`zip`) | 256 MiB | an `encryptedDataKey` sidecar text | `config::export::parse_sidecar`, first | `ContentTooLarge` |
//! | `LOCK_TIMEOUT` (`std`) | 10 s | the wait for another writer's lock on a keyring file | `KeyringFile` writes | `Io` |
//!
//! A [`Limits`] with larger values raises the config limits for a caller that stores more than
//! Nacos does; the other bounds are fixed.

#[cfg(feature = "zip")]
pub use crate::config::export::{
    MAX_SIDECAR_LEN, MAX_ZIP_ENTRIES, MAX_ZIP_ENTRY_LEN, MAX_ZIP_LEN, MAX_ZIP_TOTAL_LEN,
};
pub use crate::config::{
    DIRECT_BLOB_OVERHEAD, Limits, MAX_DIRECT_PLAINTEXT_LEN, MAX_ENCRYPTED_DATA_KEY_LEN,
    MAX_ENVELOPE_PLAINTEXT_LEN,
};
pub use crate::json::MAX_JSON_DEPTH;
#[cfg(feature = "std")]
pub use crate::kms::LOCK_TIMEOUT;
pub use crate::kms::keyring::{
    MAX_BLOB_LEN, MAX_BLOB_PLAINTEXT_LEN, MAX_KEY_ID_LEN, MAX_KEYRING_LEN,
};
pub use crate::properties::{
    MAX_EXPANDED_LEN, MAX_PLACEHOLDER_DEPTH, MAX_PLACEHOLDERS, MAX_PROPERTIES_LEN,
};
pub use crate::token::{MAX_CACHE_ENTRIES, MAX_PAYLOAD_LEN, MAX_SECRET_TEXT_LEN, MAX_TOKEN_LEN};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Scheme;
    use crate::kms::KeySpec;

    /// The values the table above states.
    #[test]
    fn the_table_states_the_values() {
        assert_eq!(MAX_TOKEN_LEN, 8_300);
        assert_eq!(MAX_PAYLOAD_LEN, 8_192);
        assert_eq!(MAX_JSON_DEPTH, 64);
        assert_eq!(MAX_SECRET_TEXT_LEN, 65_536);
        assert_eq!(MAX_PROPERTIES_LEN, 4 << 20);
        assert_eq!(MAX_PLACEHOLDER_DEPTH, 8);
        assert_eq!(MAX_PLACEHOLDERS, 256);
        assert_eq!(MAX_EXPANDED_LEN, 64 << 10);
        assert_eq!(MAX_KEYRING_LEN, 1 << 20);
        assert_eq!(MAX_KEY_ID_LEN, 128);
        assert_eq!(MAX_BLOB_LEN, 1 << 20);
        assert_eq!(MAX_BLOB_PLAINTEXT_LEN, 786_368);
        assert_eq!(MAX_ENCRYPTED_DATA_KEY_LEN, 1_024);
        assert_eq!(MAX_ENVELOPE_PLAINTEXT_LEN, 51_200);
        assert_eq!(MAX_DIRECT_PLAINTEXT_LEN, 6_144);
        assert_eq!(DIRECT_BLOB_OVERHEAD, 1_024);
        assert_eq!(MAX_CACHE_ENTRIES, 65_536);
        assert_eq!(
            Limits::NACOS.max_stored_len(Scheme::Envelope(KeySpec::Aes256)),
            68_308
        );
        assert_eq!(Limits::NACOS.max_stored_len(Scheme::Direct), 9_564);
        #[cfg(feature = "zip")]
        {
            assert_eq!(MAX_ZIP_LEN, 1 << 30);
            assert_eq!(MAX_ZIP_ENTRIES, 65_535);
            assert_eq!(MAX_ZIP_ENTRY_LEN, 64 << 20);
            assert_eq!(MAX_ZIP_TOTAL_LEN, 1 << 30);
            assert_eq!(MAX_SIDECAR_LEN, 256 << 20);
        }
        #[cfg(feature = "std")]
        assert_eq!(LOCK_TIMEOUT, core::time::Duration::from_secs(10));
    }
}
