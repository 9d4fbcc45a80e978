//! Base64 in the two alphabets the formats use, over `base64-simd` (SIMD on `std` targets with
//! run-time CPU detection, a portable path on `no_std`).

use crate::{Error, Result};
use alloc::string::String;
use alloc::vec::Vec;
use base64_simd::{Out, STANDARD, URL_SAFE_NO_PAD};
use core::mem::MaybeUninit;

/// Length of the padded standard encoding of `n` bytes.
pub(crate) const fn std_encoded_len(n: usize) -> usize {
    n.div_ceil(3).saturating_mul(4)
}

/// Appends the padded standard encoding of `src` to `dst`.
pub(crate) fn encode_std_append(src: &[u8], dst: &mut String) {
    STANDARD.encode_append(src, dst);
}

/// Padded standard encoding of `src`.
pub(crate) fn encode_std(src: &[u8]) -> String {
    STANDARD.encode_to_string(src)
}

/// Decodes padded standard base64, strictly (canonical padding and trailing bits).
pub(crate) fn decode_std(src: &str, field: &'static str) -> Result<Vec<u8>> {
    decode_std_bytes(src.as_bytes(), field)
}

/// [`decode_std`] on bytes.
pub(crate) fn decode_std_bytes(src: &[u8], field: &'static str) -> Result<Vec<u8>> {
    STANDARD
        .decode_to_vec(src)
        .map_err(|_| Error::InvalidBase64 { field })
}

/// Decodes standard base64 that must yield exactly `N` bytes (for fixed-size prefixes such as a
/// nonce: 12 bytes are exactly 16 characters, so a prefix decodes on its own).
pub(crate) fn decode_std_array<const N: usize>(src: &[u8], field: &'static str) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    let decoded = STANDARD
        .decode(src, Out::from_slice(&mut out[..]))
        .map_err(|_| Error::InvalidBase64 { field })?;
    if decoded.len() != N {
        return Err(Error::InvalidBase64 { field });
    }
    Ok(out)
}

/// Unpadded URL-safe encoding of `src`, appended to `dst`.
#[allow(dead_code)] // used by the token module
pub(crate) fn encode_url_append(src: &[u8], dst: &mut String) {
    URL_SAFE_NO_PAD.encode_append(src, dst);
}

/// Decodes unpadded URL-safe base64 into uninitialised `dst` (at least `src.len() * 3 / 4`
/// bytes); returns the decoded bytes, the only part of `dst` written.
#[allow(dead_code)] // used by the token module
pub(crate) fn decode_url_into_uninit<'d>(
    src: &[u8],
    dst: &'d mut [MaybeUninit<u8>],
) -> Option<&'d mut [u8]> {
    URL_SAFE_NO_PAD
        .decode(src, Out::from_uninit_slice(dst))
        .ok()
}

/// Decodes unpadded URL-safe base64 into `dst` (at least `src.len() * 3 / 4` bytes).
#[allow(dead_code)] // used by the token module
pub(crate) fn decode_url_into<'d>(src: &[u8], dst: &'d mut [u8]) -> Option<&'d mut [u8]> {
    URL_SAFE_NO_PAD.decode(src, Out::from_slice(dst)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_decoding_is_strict() {
        assert_eq!(decode_std("AAECAw==", "t").unwrap(), [0, 1, 2, 3]);
        // missing padding, non-zero trailing bits, whitespace, URL alphabet
        for bad in [
            "AAECAw",
            "AAECAx==",
            "AAEC Aw==",
            "AAEC-w==",
            "not base64!",
            "A",
        ] {
            assert!(decode_std(bad, "t").is_err(), "{bad}");
        }
        assert_eq!(std_encoded_len(16), 24);
        assert_eq!(encode_std(&[0, 1, 2, 3]), "AAECAw==");
    }

    #[test]
    fn url_decoding_is_strict() {
        let mut buf = [0u8; 8];
        assert_eq!(decode_url_into(b"AAECAw", &mut buf).unwrap(), &[0, 1, 2, 3]);
        assert!(decode_url_into(b"AAECAx", &mut buf).is_none());
        assert!(decode_url_into(b"AAECAw==", &mut buf).is_none());
        assert!(decode_url_into(b"AAEC+w", &mut buf).is_none());
    }
}
