//! AES-GCM as the library uses it: 96-bit nonces, 128-bit tags, AES-128 or AES-256 keys, in
//! place. The `v1` config format and the local keyring both go through here, so the Wycheproof
//! vectors below test the primitive exactly as it is called, with whichever backend is built:
//! AWS-LC with the default `aws-lc` feature, else RustCrypto `aes-gcm` with the `pure-rust`
//! feature (the backend of `no_std` targets). A build with neither does not compile.

use crate::{Error, Result, SecretBytes, b64};

/// Nonce length in bytes.
pub(crate) const NONCE_LEN: usize = 12;
/// Tag length in bytes.
pub(crate) const TAG_LEN: usize = 16;

/// A borrowed AES key of either size, with the place where its expanded form is kept, if the
/// owner of the key keeps one.
#[derive(Clone, Copy)]
pub(crate) struct GcmKey<'a> {
    bytes: KeyRef<'a>,
    /// Read by the `aws-lc` backend only: the pure-Rust one expands per call (cheaply).
    #[cfg_attr(not(feature = "aws-lc"), allow(dead_code))]
    schedule: Option<&'a Schedule>,
}

/// The raw key bytes of a [`GcmKey`].
#[derive(Clone, Copy)]
enum KeyRef<'a> {
    Aes128(&'a [u8; 16]),
    Aes256(&'a [u8; 32]),
}

impl<'a> GcmKey<'a> {
    /// An AES-128 key, expanded for each call.
    pub(crate) fn aes128(key: &'a [u8; 16]) -> Self {
        Self {
            bytes: KeyRef::Aes128(key),
            schedule: None,
        }
    }

    /// An AES-256 key, expanded for each call.
    pub(crate) fn aes256(key: &'a [u8; 32]) -> Self {
        Self {
            bytes: KeyRef::Aes256(key),
            schedule: None,
        }
    }

    /// The same key, expanded once into `schedule` (which must only ever hold this key's
    /// expansion: the owner keeps the two side by side) and reused from there.
    pub(crate) fn kept_in(self, schedule: &'a Schedule) -> Self {
        Self {
            schedule: Some(schedule),
            ..self
        }
    }
}

/// Where a long-lived key keeps its expanded form (AWS-LC's AES round keys and GHASH table,
/// made on first use), so that sealing a small config costs the sealing and not the key setup
/// (about a third of a 64-byte `v1` encrypt). Empty with the pure-Rust backend, whose key setup
/// is cheap. AWS-LC cleanses the expanded key when it is freed, with its owner; a clone starts
/// empty and expands again.
#[derive(Default)]
pub(crate) struct Schedule {
    #[cfg(feature = "aws-lc")]
    kept: std::sync::OnceLock<backend::Expanded>,
}

impl Clone for Schedule {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Encrypts `buf` in place and returns the tag.
pub(crate) fn seal(
    key: GcmKey<'_>,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    backend::seal(key, nonce, aad, buf)
}

/// Decrypts `buf` in place if `tag` authenticates it (and `aad`); on failure `buf` is left
/// unspecified and the error is the opaque [`Error::AuthenticationFailed`].
pub(crate) fn open(
    key: GcmKey<'_>,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> Result<()> {
    backend::open(key, nonce, aad, buf, tag)
}

#[cfg(not(any(feature = "aws-lc", feature = "pure-rust")))]
compile_error!(
    "nacoscrypt-core needs an AES-GCM backend: enable the `aws-lc` feature (default, std) or \
     `pure-rust` (no_std too)"
);

/// The pure-Rust backend: RustCrypto `aes-gcm` (AES-NI and CLMUL detected at run time on x86).
#[cfg(all(feature = "pure-rust", not(feature = "aws-lc")))]
mod backend {
    use super::{GcmKey, KeyRef, NONCE_LEN, TAG_LEN};
    use crate::{Error, Result};
    use aes_gcm::aead::AeadInOut;
    use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce, Tag};

    pub(super) fn seal(
        key: GcmKey<'_>,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        let nonce = Nonce::from(*nonce);
        let tag = match key.bytes {
            KeyRef::Aes128(k) => {
                Aes128Gcm::new(k.into()).encrypt_inout_detached(&nonce, aad, buf.into())
            }
            KeyRef::Aes256(k) => {
                Aes256Gcm::new(k.into()).encrypt_inout_detached(&nonce, aad, buf.into())
            }
        }
        .map_err(|_| Error::InvalidArgument {
            reason: "plaintext too long for AES-GCM",
        })?;
        Ok(tag.into())
    }

    pub(super) fn open(
        key: GcmKey<'_>,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        let nonce = Nonce::from(*nonce);
        let tag = Tag::from(*tag);
        match key.bytes {
            KeyRef::Aes128(k) => {
                Aes128Gcm::new(k.into()).decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
            }
            KeyRef::Aes256(k) => {
                Aes256Gcm::new(k.into()).decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
            }
        }
        .map_err(|_| Error::AuthenticationFailed)
    }
}

/// The accelerated backend: AWS-LC's AES-GCM (its key state is cleansed when freed).
#[cfg(feature = "aws-lc")]
mod backend {
    use super::{GcmKey, KeyRef, NONCE_LEN, TAG_LEN};
    use crate::{Error, Result};
    use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

    /// An expanded key, as a [`Schedule`](super::Schedule) keeps it.
    pub(super) type Expanded = LessSafeKey;

    fn expand(key: KeyRef<'_>) -> Result<LessSafeKey> {
        let unbound = match key {
            KeyRef::Aes128(k) => UnboundKey::new(&AES_128_GCM, k),
            KeyRef::Aes256(k) => UnboundKey::new(&AES_256_GCM, k),
        }
        .map_err(|_| Error::InvalidArgument {
            reason: "AES-GCM key rejected",
        })?;
        Ok(LessSafeKey::new(unbound))
    }

    /// Runs `f` with the expanded key: the one kept in the key's schedule (expanded there on
    /// first use), or one expanded for this call.
    fn with_key<R>(key: GcmKey<'_>, f: impl FnOnce(&LessSafeKey) -> R) -> Result<R> {
        let Some(schedule) = key.schedule else {
            return Ok(f(&expand(key.bytes)?));
        };
        let kept = match schedule.kept.get() {
            Some(kept) => kept,
            // Two threads may both expand; one expansion is kept, the other freed.
            None => {
                let fresh = expand(key.bytes)?;
                schedule.kept.get_or_init(|| fresh)
            }
        };
        Ok(f(kept))
    }

    pub(super) fn seal(
        key: GcmKey<'_>,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        let tag = with_key(key, |k| {
            k.seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
        })?
        .map_err(|_| Error::InvalidArgument {
            reason: "plaintext too long for AES-GCM",
        })?;
        <[u8; TAG_LEN]>::try_from(tag.as_ref()).map_err(|_| Error::InvalidArgument {
            reason: "AES-GCM tag of unexpected length",
        })
    }

    pub(super) fn open(
        key: GcmKey<'_>,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        with_key(key, |k| {
            k.open_in_place_separate_tag(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                tag,
                buf,
            )
        })?
        .map(|_| ())
        .map_err(|_| Error::AuthenticationFailed)
    }
}

/// Base64 characters of a nonce: 12 bytes are exactly 16 characters, so a nonce prefix decodes
/// on its own.
pub(crate) const NONCE_CHARS: usize = NONCE_LEN / 3 * 4;

/// Opens standard-base64 `nonce ‖ ciphertext ‖ tag`: the nonce is decoded from the first 16
/// characters and the rest straight into the buffer that is decrypted in place (no copy, no
/// move), which is wiped on drop. Short input is an authentication failure; bad base64 is
/// [`Error::InvalidBase64`] naming `field`.
pub(crate) fn open_base64(
    key: GcmKey<'_>,
    aad: &[u8],
    text: &[u8],
    field: &'static str,
) -> Result<SecretBytes> {
    // Invalid base64 is that whatever its length; valid base64 too short to hold a nonce and a
    // tag cannot be authenticated (the one opaque kind), whatever its length.
    if text.len() < NONCE_CHARS + 4 {
        b64::decode_std_bytes(text, field)?;
        return Err(Error::AuthenticationFailed);
    }
    let (nonce, sealed) = text.split_at(NONCE_CHARS);
    let nonce = b64::decode_std_array::<NONCE_LEN>(nonce, field)?;
    let mut buf = SecretBytes::from(b64::decode_std_bytes(sealed, field)?);
    let len = buf
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(Error::AuthenticationFailed)?;
    let (ciphertext, tag) = buf.as_mut_slice().split_at_mut(len);
    let tag = <[u8; TAG_LEN]>::try_from(&*tag).map_err(|_| Error::AuthenticationFailed)?;
    open(key, &nonce, aad, ciphertext, &tag)?;
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod wycheproof {
    use super::*;
    use crate::test_util::hex;

    /// Wycheproof AES-GCM: every group the library can call (96-bit nonce, 128-bit tag,
    /// AES-128 or AES-256); valid cases seal and open byte for byte, invalid ones fail to open.
    #[test]
    #[cfg_attr(miri, ignore = "hundreds of vectors: too slow interpreted")]
    fn aes_gcm() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../tests/wycheproof/aes_gcm_test.json")).unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for group in doc["testGroups"].as_array().unwrap() {
            let (key_bits, iv_bits, tag_bits) = (
                group["keySize"].as_u64().unwrap(),
                group["ivSize"].as_u64().unwrap(),
                group["tagSize"].as_u64().unwrap(),
            );
            if iv_bits != 96 || tag_bits != 128 || key_bits == 192 {
                continue;
            }
            for case in group["tests"].as_array().unwrap() {
                let field = |name: &str| hex(case[name].as_str().unwrap());
                let (key, iv, aad, msg, ct, tag) = (
                    field("key"),
                    field("iv"),
                    field("aad"),
                    field("msg"),
                    field("ct"),
                    field("tag"),
                );
                let (k16, k32);
                let key = if key.len() == 16 {
                    k16 = <[u8; 16]>::try_from(key.as_slice()).unwrap();
                    GcmKey::aes128(&k16)
                } else {
                    k32 = <[u8; 32]>::try_from(key.as_slice()).unwrap();
                    GcmKey::aes256(&k32)
                };
                let iv = <[u8; 12]>::try_from(iv.as_slice()).unwrap();
                let tag = <[u8; 16]>::try_from(tag.as_slice()).unwrap();
                let id = case["tcId"].as_u64().unwrap();
                let mut buf = ct.clone();
                let opened = open(key, &iv, &aad, &mut buf, &tag);
                // The same key kept in a schedule: expanded by the first call, reused by the
                // rest, with the same results as a key expanded per call.
                let schedule = Schedule::default();
                let kept = key.kept_in(&schedule);
                match case["result"].as_str().unwrap() {
                    "valid" => {
                        opened.unwrap_or_else(|e| panic!("tcId {id}: {e}"));
                        assert_eq!(buf, msg, "tcId {id}");
                        for key in [key, kept, kept] {
                            let mut buf = msg.clone();
                            assert_eq!(seal(key, &iv, &aad, &mut buf).unwrap(), tag, "tcId {id}");
                            assert_eq!(buf, ct, "tcId {id}");
                            open(key, &iv, &aad, &mut buf, &tag).unwrap();
                            assert_eq!(buf, msg, "tcId {id}");
                        }
                        valid += 1;
                    }
                    "invalid" => {
                        assert_eq!(opened, Err(Error::AuthenticationFailed), "tcId {id}");
                        for _ in 0..2 {
                            let mut buf = ct.clone();
                            let opened = open(kept, &iv, &aad, &mut buf, &tag);
                            assert_eq!(opened, Err(Error::AuthenticationFailed), "tcId {id}");
                        }
                        invalid += 1;
                    }
                    other => panic!("tcId {id}: unexpected result {other}"),
                }
            }
        }
        assert!(
            valid >= 50 && invalid >= 20,
            "{valid} valid, {invalid} invalid"
        );
    }
}
