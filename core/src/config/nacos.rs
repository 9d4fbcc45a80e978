//! The `nacos` format: AES-ECB with PKCS#7 padding, standard base64 (SPEC 2.2).
//!
//! What every Nacos client reads and writes. It has no integrity protection; decryption checks
//! whole blocks and the padding strictly and fails cleanly.

use crate::kms::{DataKey, KeyBytes};
use crate::{Error, Result, SecretBytes, b64};
use aes::cipher::{Array, Block, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128Dec, Aes128Enc, Aes256, Aes256Dec, Aes256Enc};
use alloc::string::String;
use alloc::vec::Vec;
use subtle::{ConstantTimeEq, ConstantTimeLess};

const BLOCK: usize = 16;
/// The PKCS#7 padding byte for each padding length (index 1..=16).
const PAD_BYTES: [u8; 17] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/// Encrypts `plaintext` under `key`: base64(AES-ECB(key, PKCS#7(plaintext))).
pub(crate) fn encrypt(key: &DataKey, plaintext: &[u8]) -> String {
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut buf = Vec::with_capacity(plaintext.len() + pad);
    buf.extend_from_slice(plaintext);
    // `pad` is 1..=16: it fits a byte.
    buf.resize(plaintext.len() + pad, PAD_BYTES[pad]);
    let (blocks, rest) = Array::slice_as_chunks_mut(&mut buf);
    debug_assert!(rest.is_empty());
    encrypt_blocks(key, blocks);
    b64::encode_std(&buf)
}

/// Decrypts stored `content` under `key`, checking whole blocks and the padding strictly.
pub(crate) fn decrypt(key: &DataKey, content: &str) -> Result<SecretBytes> {
    let raw = b64::decode_std(content, "content")?;
    if raw.is_empty() || raw.len() % BLOCK != 0 {
        return Err(Error::NotWholeBlocks { len: raw.len() });
    }
    let mut buf = SecretBytes::from(raw);
    let (blocks, _) = Array::slice_as_chunks_mut(buf.as_mut_slice());
    decrypt_blocks(key, blocks);
    let len = unpadded_len(buf.as_bytes()).ok_or(Error::BadPadding)?;
    buf.truncate(len);
    Ok(buf)
}

/// Length without its PKCS#7 padding, if the padding is valid. Runs in time independent of the
/// padding's value (the format has no integrity, but there is no reason to leak more): the last
/// block is checked as one 128-bit word against the pattern and mask the last byte selects,
/// with shifts and masks only, and one constant-time comparison at the end.
#[allow(clippy::cast_possible_truncation)] // the 128-bit difference folded into 64 bits on purpose
fn unpadded_len(buf: &[u8]) -> Option<usize> {
    let last = *buf.last()?;
    let tail = <[u8; BLOCK]>::try_from(&buf[buf.len().checked_sub(BLOCK)?..]).ok()?;
    let tail = u128::from_le_bytes(tail);
    let valid = !last.ct_eq(&0) & last.ct_lt(&17);
    // The padding is the top `last` bytes of the little-endian word (for an invalid `last` the
    // mask is meaningless, and `valid` is false).
    let mask = u128::MAX.wrapping_shl(16u32.wrapping_sub(u32::from(last)).wrapping_mul(8));
    let pattern = u128::from(last).wrapping_mul(0x0101_0101_0101_0101_0101_0101_0101_0101) & mask;
    let diff = (tail ^ pattern) & mask;
    let folded = (diff as u64) | ((diff >> 64) as u64);
    if bool::from(valid & folded.ct_eq(&0)) {
        Some(buf.len() - usize::from(last))
    } else {
        None
    }
}

// One-direction key schedules: encryption needs no inverse round keys, decryption no
// encryption object (a fresh data key per config makes the schedule part of every call).
fn encrypt_blocks(key: &DataKey, blocks: &mut [Block<Aes256>]) {
    match key.bytes() {
        KeyBytes::Aes256(k) => Aes256Enc::new(k.into()).encrypt_blocks(blocks),
        KeyBytes::Aes128(k) => Aes128Enc::new(k.into()).encrypt_blocks(blocks),
    }
}

fn decrypt_blocks(key: &DataKey, blocks: &mut [Block<Aes256>]) {
    match key.bytes() {
        KeyBytes::Aes256(k) => Aes256Dec::new(k.into()).decrypt_blocks(blocks),
        KeyBytes::Aes128(k) => Aes128Dec::new(k.into()).decrypt_blocks(blocks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::KeySpec;

    #[test]
    fn padding_rules() {
        let mut block = [0u8; 16];
        block[15] = 1;
        assert_eq!(unpadded_len(&block), Some(15));
        block = [16; 16];
        assert_eq!(unpadded_len(&block), Some(0));
        block[15] = 0;
        assert_eq!(unpadded_len(&block), None);
        block[15] = 17;
        assert_eq!(unpadded_len(&block), None);
        block = [3; 16];
        block[13] = 2;
        assert_eq!(unpadded_len(&block), None);
    }

    /// The straightforward byte-by-byte check, for comparison.
    fn reference_unpadded_len(buf: &[u8]) -> Option<usize> {
        let last = usize::from(*buf.last()?);
        let ok = (1..=16).contains(&last)
            && buf.len() >= BLOCK
            && buf[buf.len() - last..]
                .iter()
                .all(|&b| usize::from(b) == last);
        ok.then(|| buf.len() - last)
    }

    #[test]
    fn padding_agrees_with_the_reference_for_every_last_byte() {
        for last in 0..=255u8 {
            for fill in [0u8, 1, last, last.wrapping_add(1), 16, 0xff] {
                for at in 0..16 {
                    let mut block = [last; 16];
                    block[at] = fill;
                    block[15] = last;
                    let two = [[7u8; 16], block].concat();
                    assert_eq!(unpadded_len(&block), reference_unpadded_len(&block));
                    assert_eq!(unpadded_len(&two), reference_unpadded_len(&two));
                }
            }
        }
    }

    #[test]
    fn every_length_round_trips() {
        let key = DataKey::new(KeySpec::Aes128, &[9; 16]).unwrap();
        for len in 0u8..64 {
            let pt: Vec<u8> = (0..len).collect();
            let ct = encrypt(&key, &pt);
            assert_eq!(decrypt(&key, &ct).unwrap().as_bytes(), &pt[..]);
        }
    }
}
