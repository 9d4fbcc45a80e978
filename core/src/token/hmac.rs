//! The keyed MACs of tokens: HMAC-SHA-256/384/512 keyed once per secret key. HS256, the
//! algorithm of every Nacos key of 32 to 47 bytes, is written here over SHA-256's compression
//! function ([`Hs256`]); HS384 and HS512 use the `hmac` crate.

use super::Algorithm;
use crate::{Error, Result};
use hmac::{Hmac, KeyInit, Mac};
use sha2::block_api::compress256;
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A MAC keyed once; cloned for every operation so the key schedule is never recomputed.
#[derive(Clone)]
pub(crate) enum KeyedMac {
    Hs256(Hs256),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

/// A MAC value on the stack, of its algorithm's exact length.
pub(crate) enum MacOutput {
    Hs256([u8; 32]),
    Hs384([u8; 48]),
    Hs512([u8; 64]),
}

impl MacOutput {
    /// The MAC's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Hs256(b) => b,
            Self::Hs384(b) => b,
            Self::Hs512(b) => b,
        }
    }
}

impl KeyedMac {
    /// HMAC of `algorithm` keyed with `key` (any length: the length policy is the caller's).
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self> {
        let invalid = |_| Error::InvalidArgument {
            reason: "HMAC key rejected",
        };
        Ok(match algorithm {
            Algorithm::Hs256 => Self::Hs256(Hs256::new(key)),
            Algorithm::Hs384 => {
                Self::Hs384(<Hmac<Sha384> as KeyInit>::new_from_slice(key).map_err(invalid)?)
            }
            Algorithm::Hs512 => {
                Self::Hs512(<Hmac<Sha512> as KeyInit>::new_from_slice(key).map_err(invalid)?)
            }
        })
    }

    /// The MAC of the concatenation of `parts`, from a clone of the keyed state.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> MacOutput {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]]) -> hmac::digest::Output<M> {
            let mut m = m.clone();
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes()
        }
        match self {
            Self::Hs256(m) => MacOutput::Hs256(m.mac(parts)),
            Self::Hs384(m) => MacOutput::Hs384(run(m, parts).into()),
            Self::Hs512(m) => MacOutput::Hs512(run(m, parts).into()),
        }
    }
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
const SHA256_BLOCK: usize = 64;

/// HMAC-SHA-256 (RFC 2104) keyed once: the SHA-256 states after the key's ipad and opad blocks,
/// wiped on drop. A MAC runs the SHA-256 compression function (`sha2`'s, with SHA-NI where the
/// CPU has it) straight over the input's whole blocks and copies only the last partial block
/// (a token's whole signing input, up to 119 bytes, goes to one compression call with its
/// padding): no hasher object is cloned or moved per call, which on a token-sized input is a
/// large part of what a generic `Hmac<Sha256>` costs beyond the compressions themselves.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Hs256 {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Hs256 {
    fn new(key: &[u8]) -> Self {
        let mut block = Zeroizing::new([0u8; SHA256_BLOCK]);
        if key.len() > SHA256_BLOCK {
            let digest = Zeroizing::new(<[u8; 32]>::from(Sha256::digest(key)));
            block[..32].copy_from_slice(&*digest);
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let state_after = |pad: u8| {
            let mut padded = Zeroizing::new([0u8; SHA256_BLOCK]);
            for (p, k) in padded.iter_mut().zip(block.iter()) {
                *p = k ^ pad;
            }
            let mut state = SHA256_IV;
            compress256(&mut state, core::slice::from_ref(&*padded));
            state
        };
        Self {
            inner: state_after(0x36),
            outer: state_after(0x5c),
        }
    }

    /// The MAC of the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        if let [data] = parts
            && data.len() + 9 <= 2 * SHA256_BLOCK
        {
            // A token's signing input: its blocks and padding in one compression call.
            let mut tail = [[0u8; SHA256_BLOCK]; 2];
            tail.as_flattened_mut()[..data.len()].copy_from_slice(data);
            let total = SHA256_BLOCK as u64 + u64::try_from(data.len()).unwrap_or(u64::MAX);
            let inner_hash = sha256_finish(self.inner, &mut tail, data.len(), total);
            return self.outer_hash(&inner_hash);
        }
        let mut state = self.inner;
        let mut tail = [[0u8; SHA256_BLOCK]; 2];
        let mut used = 0;
        let mut total = SHA256_BLOCK as u64;
        for part in parts {
            total = total.saturating_add(u64::try_from(part.len()).unwrap_or(u64::MAX));
            let mut data = *part;
            if used > 0 {
                let take = (SHA256_BLOCK - used).min(data.len());
                tail[0][used..used + take].copy_from_slice(&data[..take]);
                used += take;
                data = &data[take..];
                if used < SHA256_BLOCK {
                    continue;
                }
                compress256(&mut state, &tail[..1]);
            }
            let mut blocks = data.chunks_exact(SHA256_BLOCK);
            for block in &mut blocks {
                if let Ok(block) = <&[u8; SHA256_BLOCK]>::try_from(block) {
                    compress256(&mut state, core::slice::from_ref(block));
                }
            }
            let rest = blocks.remainder();
            tail[0][..rest.len()].copy_from_slice(rest);
            used = rest.len();
        }
        let inner_hash = sha256_finish(state, &mut tail, used, total);
        self.outer_hash(&inner_hash)
    }

    fn outer_hash(&self, inner_hash: &[u8; 32]) -> [u8; 32] {
        let mut tail = [[0u8; SHA256_BLOCK]; 2];
        tail[0][..32].copy_from_slice(inner_hash);
        sha256_finish(self.outer, &mut tail, 32, SHA256_BLOCK as u64 + 32)
    }
}

/// Pads the last `used` bytes in `tail` (at most 119: Merkle–Damgård, `total` bytes hashed in
/// all), compresses them and returns the digest.
fn sha256_finish(
    mut state: [u32; 8],
    tail: &mut [[u8; SHA256_BLOCK]; 2],
    used: usize,
    total: u64,
) -> [u8; 32] {
    let blocks = if used + 9 <= SHA256_BLOCK { 1 } else { 2 };
    let end = blocks * SHA256_BLOCK;
    let flat = tail.as_flattened_mut();
    flat[used] = 0x80;
    flat[used + 1..end - 8].fill(0);
    flat[end - 8..end].copy_from_slice(&total.wrapping_mul(8).to_be_bytes());
    compress256(&mut state, &tail[..blocks]);
    // Two big-endian words at a time, as 8-byte stores: readers load the MAC 8 bytes at a
    // time, and a load spanning two narrower stores waits for both to retire.
    let mut digest = [0u8; 32];
    for (d, pair) in digest.chunks_exact_mut(8).zip(state.chunks_exact(2)) {
        let w = u64::from(pair[0].swap_bytes()) | u64::from(pair[1].swap_bytes()) << 32;
        d.copy_from_slice(&w.to_le_bytes());
    }
    digest
}

#[cfg(test)]
mod wycheproof {
    use super::*;
    use crate::test_util::hex;
    use alloc::vec::Vec;

    /// The block-level HMAC-SHA-256 equals the `hmac` crate's for every message length from 0
    /// to 199 bytes (across the one-call and the streaming paths), split into two parts at
    /// several points, for short, block-sized and long keys.
    #[test]
    #[cfg_attr(miri, ignore = "thousands of MACs: too slow interpreted")]
    fn hs256_matches_the_hmac_crate() {
        let msg: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(31)).collect();
        for key_len in [0u8, 1, 32, 47, 63, 64, 65, 100] {
            let key: Vec<u8> = (0..key_len).map(|i| i ^ 0xa5).collect();
            let ours = Hs256::new(&key);
            let theirs = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            for len in 0..msg.len() {
                let m = &msg[..len];
                let expected = theirs.clone().chain_update(m).finalize().into_bytes();
                for split in [0, len / 3, len / 2, len] {
                    let (a, b) = m.split_at(split);
                    assert_eq!(
                        ours.mac(&[a, b])[..],
                        expected[..],
                        "key {key_len} len {len} split {split}"
                    );
                }
            }
        }
    }

    /// Wycheproof HMAC-SHA256/384/512 through the keyed state exactly as tokens use it (keyed
    /// once, cloned per MAC, fed in parts). Truncated-tag groups compare the prefix.
    #[test]
    #[cfg_attr(miri, ignore = "hundreds of vectors: too slow interpreted")]
    fn hmac() {
        for (algorithm, doc) in [
            (
                Algorithm::Hs256,
                include_str!("../../tests/wycheproof/hmac_sha256_test.json"),
            ),
            (
                Algorithm::Hs384,
                include_str!("../../tests/wycheproof/hmac_sha384_test.json"),
            ),
            (
                Algorithm::Hs512,
                include_str!("../../tests/wycheproof/hmac_sha512_test.json"),
            ),
        ] {
            let doc: serde_json::Value = serde_json::from_str(doc).unwrap();
            let (mut valid, mut invalid) = (0, 0);
            for group in doc["testGroups"].as_array().unwrap() {
                for case in group["tests"].as_array().unwrap() {
                    let (key, msg, tag) = (
                        hex(case["key"].as_str().unwrap()),
                        hex(case["msg"].as_str().unwrap()),
                        hex(case["tag"].as_str().unwrap()),
                    );
                    let mac = KeyedMac::new(algorithm, &key).unwrap();
                    let (head, tail) = msg.split_at(msg.len() / 2);
                    let out = mac.mac(&[head, tail]);
                    assert_eq!(out.as_bytes().len(), algorithm.signature_len());
                    let matches = out.as_bytes().starts_with(&tag) && !tag.is_empty();
                    let id = case["tcId"].as_u64().unwrap();
                    match case["result"].as_str().unwrap() {
                        "valid" => {
                            assert!(matches, "{} tcId {id}", algorithm.name());
                            valid += 1;
                        }
                        "invalid" => {
                            assert!(!matches, "{} tcId {id}", algorithm.name());
                            invalid += 1;
                        }
                        other => panic!("tcId {id}: {other}"),
                    }
                }
            }
            assert!(
                valid > 50 && invalid > 50,
                "{valid} valid, {invalid} invalid"
            );
        }
    }
}
