//! # nacoscrypt-kms-pkcs11
//!
//! PKCS#11 hardware keys behind libnacoscrypt's [`Kms`](nacoscrypt_core::kms::Kms) trait
//! (SPEC 5.3): an HSM, a cloud HSM's PKCS#11 library or SoftHSM2 keeps the master keys, and
//! never lets them out; data keys and direct `cipher-` configs are encrypted inside the token.
//!
//! - [`Pkcs11Kms`]: the key id of every call is the **label** (`CKA_LABEL`) of an AES secret
//!   key object in the token (`CKO_SECRET_KEY`, `CKK_AES`, 128 or 256 bits, `CKA_ENCRYPT` and
//!   `CKA_DECRYPT`); the empty key id means the configured default label.
//! - `generate_data_key` takes a fresh data key from the operating system's RNG and encrypts
//!   it in the token; `encrypt` / `decrypt` do the same for the direct scheme's config text. The
//!   data key comes back as raw bytes (no base64 text, unlike Alibaba Cloud KMS).
//! - One **session pool** per KMS, shared by every thread: a thread takes an idle session (or
//!   opens one), uses it alone, gives it back. The token is logged in once (the login of one
//!   session holds for all sessions of the process); a session the module reports broken
//!   (`CKR_SESSION_HANDLE_INVALID`, `CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`, …) is
//!   discarded with every idle one, and the call is tried once on a fresh session, so a token
//!   that comes back is used again and one that is gone is a clean error.
//! - The **PIN** comes from a file or an environment variable ([`Pin`]), is wiped on drop and
//!   never printed.
//! - A module is loaded and `C_Initialize`d once per process (with OS locking), shared by every
//!   KMS built on it, and never finalised: `C_Finalize` would close the sessions of every other
//!   user of the module in the process.
//!
//! # Blob layout (format 1)
//! The ciphertext blob (the config's `encryptedDataKey`, or the direct scheme's content) is
//! text, standard base64 with padding, of
//!
//! ```text
//! blob = format[1] = 0x01 ‖ label_len[1] ‖ label[label_len] ‖ iv[12] ‖ ciphertext ‖ tag[16]
//! aad  = "nacoscrypt:pkcs11:v1" ‖ lp(label) ‖ for each context pair sorted by name: lp(name) ‖ lp(value)
//! lp(x) = 4-byte big-endian length of x ‖ the UTF-8 bytes of x
//! ```
//!
//! encrypted with `CKM_AES_GCM` (`CK_GCM_PARAMS`: the 12-byte random IV from the operating
//! system, the aad above, 128-bit tag) under the key labelled `label`. The label is 1 to 255
//! bytes of UTF-8. Because every blob names the label of the key that made it, **key rotation
//! inside the HSM** is: create a new AES key under a new label, make it the default (or pass it
//! as the key id); old blobs still name, and decrypt with, the old label until it is destroyed.
//! Reusing a label for a second key makes both unusable (a label must find one key). The
//! format byte lets a later version change the layout; this one refuses any other format.
//! A data key blob of AES-256 with a 20-byte label is 112 characters, far below Nacos's 1024.
//!
//! # Errors
//! A missing key label is [`Error::UnknownKeyId`](nacoscrypt_core::Error::UnknownKeyId); a blob
//! that does not authenticate (tampered, another context, another key) is
//! [`Error::AuthenticationFailed`](nacoscrypt_core::Error::AuthenticationFailed); what the
//! module refuses is an [`Error::KmsService`](nacoscrypt_core::Error::KmsService) with service
//! `PKCS#11`, the call (`C_Login`, `C_Decrypt`, …) and the standard's code
//! (`CKR_PIN_INCORRECT`, …). No call retries in a loop or waits: the PKCS#11 calls are
//! synchronous, and a module that blocks inside one blocks its caller.
//!
//! # Example
//! ```no_run
//! use nacoscrypt_core::kms::{Context, KeySpec, Kms};
//! use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
//!
//! let kms = Pkcs11Kms::builder()
//!     .module("/usr/lib/softhsm/libsofthsm2.so")
//!     .token(Token::Label("nacos".into()))
//!     .pin(Pin::from_file("/run/secrets/hsm-pin".as_ref())?)
//!     .default_key_label("nacos-master-2026")
//!     .build()?;
//! let ctx = Context::new();
//! let key = kms.generate_data_key("", KeySpec::Aes256, &ctx)?;
//! let again = kms.decrypt(&key.ciphertext_blob, &ctx)?;
//! assert_eq!(again.as_bytes(), key.plaintext.as_bytes());
//! # Ok::<(), nacoscrypt_core::Error>(())
//! ```

mod blob;
mod error;
mod kms;
mod pin;
mod pool;

pub use blob::{AAD_PREFIX, FORMAT_V1, IV_LEN, MAX_BLOB_TEXT_LEN, MAX_LABEL_LEN, TAG_LEN};
pub use kms::{CheckReport, DEFAULT_MAX_IDLE_SESSIONS, Pkcs11Kms, Pkcs11KmsBuilder, Token};
pub use pin::{MAX_PIN_FILE_LEN, Pin};
pub use pool::PoolStats;

/// Entry points for the fuzz targets (`fuzz/`): the parser of untrusted blobs. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes and parses `text` as [`Pkcs11Kms`](crate::Pkcs11Kms) reads a blob, and the AAD it would use.
    pub fn blob_text(text: &str) {
        if let Ok(raw) = crate::blob::decode(text) {
            blob_bytes(&raw);
        }
    }

    /// Parses decoded blob bytes; a parsed blob encodes back to the same bytes.
    pub fn blob_bytes(raw: &[u8]) {
        if let Ok(parts) = crate::blob::parse(raw) {
            let _ = crate::blob::aad(parts.label, &nacoscrypt_core::kms::Context::new());
            let text = crate::blob::encode(parts.label, &parts.iv, parts.sealed);
            let again = text.ok().and_then(|t| crate::blob::decode(&t).ok());
            assert_eq!(again.as_deref(), Some(raw), "blob round trip");
        }
    }
}
