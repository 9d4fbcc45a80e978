//! The `v1` format: AES-GCM bound to the config's identity (SPEC 2.2).
//!
//! `nc1:` + base64std(nonce[12] ‖ ciphertext ‖ tag[16]), AAD = `nacoscrypt:v1` ‖ lp(tenant) ‖
//! lp(group) ‖ lp(dataId) ‖ lp(encryptedDataKey), tenant normalised (`""` → `public`).

use super::ConfigId;
use crate::gcm::{self, NONCE_LEN, TAG_LEN};
use crate::kms::{DataKey, push_lp};
use crate::rng::RandomSource;
use crate::{Result, SecretBytes, b64};
use alloc::string::String;
use alloc::vec::Vec;

/// The marker that starts every `v1` content.
pub(crate) const MARKER: &str = "nc1:";
const AAD_LABEL: &[u8] = b"nacoscrypt:v1";

/// The AAD binding a `v1` envelope to its config and its wrapped data key.
pub(crate) fn aad(id: &ConfigId<'_>, encrypted_data_key: &str) -> Vec<u8> {
    let tenant = id.normalized_tenant();
    let mut aad = Vec::with_capacity(
        AAD_LABEL.len()
            + 16
            + tenant.len()
            + id.group.len()
            + id.data_id.len()
            + encrypted_data_key.len(),
    );
    aad.extend_from_slice(AAD_LABEL);
    push_lp(&mut aad, tenant.as_bytes());
    push_lp(&mut aad, id.group.as_bytes());
    push_lp(&mut aad, id.data_id.as_bytes());
    push_lp(&mut aad, encrypted_data_key.as_bytes());
    aad
}

/// Seals `plaintext`: returns `nc1:` + base64(nonce ‖ ciphertext ‖ tag).
pub(crate) fn encrypt(
    key: &DataKey,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut RandomSource<'_>,
) -> Result<String> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)?;
    let mut raw = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(plaintext);
    let tag = gcm::seal(key.gcm_key(), &nonce, aad, &mut raw[NONCE_LEN..])?;
    raw.extend_from_slice(&tag);
    let mut out = String::with_capacity(MARKER.len() + b64::std_encoded_len(raw.len()));
    out.push_str(MARKER);
    b64::encode_std_append(&raw, &mut out);
    Ok(out)
}

/// Opens `body` (the content after `nc1:`), returning the plaintext bytes.
pub(crate) fn decrypt(key: &DataKey, aad: &[u8], body: &str) -> Result<SecretBytes> {
    gcm::open_base64(key.gcm_key(), aad, body.as_bytes(), "content")
}
