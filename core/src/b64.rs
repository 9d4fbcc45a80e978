//! Base64 in the two alphabets the formats use, over `base64-simd` (SIMD on `std` targets with
//! run-time CPU detection, a portable path on `no_std`), and the Nacos server's lenient decoder
//! of token secret keys ([`decode_java_lenient`], a port of its Java code).

use crate::{Error, Result, SecretBytes};
use alloc::string::String;
use alloc::vec::Vec;
use base64_simd::{Out, STANDARD, URL_SAFE_NO_PAD};
use core::mem::MaybeUninit;
use zeroize::Zeroizing;

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
pub(crate) fn encode_url_append(src: &[u8], dst: &mut String) {
    URL_SAFE_NO_PAD.encode_append(src, dst);
}

/// Decodes unpadded URL-safe base64 into uninitialised `dst` (at least `src.len() * 3 / 4`
/// bytes); returns the decoded bytes, the only part of `dst` written.
pub(crate) fn decode_url_into_uninit<'d>(
    src: &[u8],
    dst: &'d mut [MaybeUninit<u8>],
) -> Option<&'d mut [u8]> {
    URL_SAFE_NO_PAD
        .decode(src, Out::from_uninit_slice(dst))
        .ok()
}

// ---- the Nacos server's lenient decoder ----

/// The server's lookup table: alphabet characters to their value, `=` to 0, anything else -1.
#[allow(clippy::cast_possible_truncation)] // i < 64
const fn inverse_alphabet() -> [i8; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [-1i8; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as i8;
        i += 1;
    }
    table[b'=' as usize] = 0;
    table
}

const IALPHABET: [i8; 256] = inverse_alphabet();

/// The server's decoder, step for step (Nacos `Base64Decode`, a MiGBase64 "decodeFast"): it
/// works on UTF-16 code units with Java `int` arithmetic. Where the Java code throws (an
/// illegal character, an index out of bounds, a negative length), this returns
/// [`Error::IllegalBase64Character`] with the byte offset of the offending character in `text`
/// (or the text's length when no character is to blame). The output is wiped on drop (it is a
/// token secret key); the caller bounds the length of `text`.
pub(crate) fn decode_java_lenient(text: &str) -> Result<SecretBytes> {
    let units: Zeroizing<Vec<u16>> = Zeroizing::new(text.encode_utf16().collect());
    java_decode(&units).map_err(|unit_index| Error::IllegalBase64Character {
        position: byte_offset(text, unit_index),
    })
}

/// Byte offset in `text` of the UTF-16 code unit `unit_index` (or `text.len()` past the end).
fn byte_offset(text: &str, unit_index: usize) -> usize {
    let mut units = 0;
    for (offset, c) in text.char_indices() {
        if units >= unit_index {
            return offset;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// The Java algorithm; `Err` carries the UTF-16 index where Java would throw.
fn java_decode(s: &[u16]) -> core::result::Result<SecretBytes, usize> {
    // Indices are i64 so that every Java int expression below is computed without overflow
    // (inputs are bounded by the caller, `MAX_SECRET_TEXT_LEN` for a secret key).
    let s_len = i64::try_from(s.len()).map_err(|_| 0usize)?;
    let idx = |i: i64| usize::try_from(i).unwrap_or(0);
    if s_len == 0 {
        return Ok(SecretBytes::default());
    }
    let unit = |i: i64| -> core::result::Result<u16, usize> {
        usize::try_from(i)
            .ok()
            .and_then(|i| s.get(i).copied())
            .ok_or_else(|| usize::try_from(i.max(0)).unwrap_or(0).min(s.len()))
    };
    // The trimming loops index the 256-entry table directly: a unit above 255 is an
    // ArrayIndexOutOfBoundsException in Java.
    let table = |i: i64| -> core::result::Result<i32, usize> {
        let c = unit(i)?;
        IALPHABET
            .get(usize::from(c))
            .map(|&v| i32::from(v))
            .ok_or(idx(i))
    };
    // ctoi: units above 255 and characters outside the alphabet are illegal.
    let ctoi = |i: i64| -> core::result::Result<i32, usize> {
        let v = table(i)?;
        if v < 0 { Err(idx(i)) } else { Ok(v) }
    };

    let mut s_ix: i64 = 0;
    let mut e_ix: i64 = s_len - 1;
    while s_ix < e_ix && table(s_ix)? < 0 {
        s_ix += 1;
    }
    while e_ix > 0 && table(e_ix)? < 0 {
        e_ix -= 1;
    }
    let pad: i64 = if unit(e_ix)? == u16::from(b'=') {
        if unit(e_ix - 1)? == u16::from(b'=') {
            2
        } else {
            1
        }
    } else {
        0
    };
    let c_cnt = e_ix - s_ix + 1;
    let sep_cnt = if s_len > 76 {
        (if unit(76)? == u16::from(b'\r') {
            c_cnt / 78
        } else {
            0
        }) << 1
    } else {
        0
    };
    let len = (((c_cnt - sep_cnt) * 6) >> 3) - pad;
    let Ok(len) = usize::try_from(len) else {
        // NegativeArraySizeException
        return Err(s.len());
    };
    let mut out = SecretBytes::from(alloc::vec![0u8; len]);
    let d_arr = out.as_mut_slice();
    let mut d = 0usize;
    let e_len = (len / 3) * 3;
    let mut cc = 0;
    while d < e_len {
        let i = ctoi(s_ix)? << 18 | ctoi(s_ix + 1)? << 12 | ctoi(s_ix + 2)? << 6 | ctoi(s_ix + 3)?;
        s_ix += 4;
        let [_, b0, b1, b2] = i.to_be_bytes();
        d_arr[d] = b0;
        d_arr[d + 1] = b1;
        d_arr[d + 2] = b2;
        d += 3;
        if sep_cnt > 0 {
            cc += 1;
            if cc == 19 {
                s_ix += 2;
                cc = 0;
            }
        }
    }
    if d < len {
        let mut i: i32 = 0;
        let mut j: i32 = 0;
        while s_ix <= e_ix - pad {
            // Java masks shift distances to five bits, as wrapping_shl does.
            i |= ctoi(s_ix)?.wrapping_shl((18 - j * 6) as u32);
            s_ix += 1;
            j = j.wrapping_add(1);
        }
        let mut r: i32 = 16;
        while d < len {
            d_arr[d] = i.wrapping_shr(r.unsigned_abs()).to_le_bytes()[0];
            d += 1;
            r -= 8;
        }
    }
    Ok(out)
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
        let mut buf = [MaybeUninit::<u8>::uninit(); 8];
        assert_eq!(
            decode_url_into_uninit(b"AAECAw", &mut buf).unwrap(),
            &[0, 1, 2, 3]
        );
        assert!(decode_url_into_uninit(b"AAECAx", &mut buf).is_none());
        assert!(decode_url_into_uninit(b"AAECAw==", &mut buf).is_none());
        assert!(decode_url_into_uninit(b"AAEC+w", &mut buf).is_none());
    }

    fn dec(s: &str) -> Result<Vec<u8>> {
        decode_java_lenient(s).map(|b| b.as_bytes().to_vec())
    }

    #[test]
    fn lenient_decoding_matches_the_server() {
        assert_eq!(dec("").unwrap(), b"");
        assert_eq!(dec("QQ").unwrap(), b"A");
        assert_eq!(dec("QQ==").unwrap(), b"A");
        assert_eq!(dec("  QUJD\n").unwrap(), b"ABC");
        // '=' inside is read as 'A' (zero bits) by the server's table
        assert_eq!(dec("QU=D").unwrap(), dec("QUAD").unwrap());
        // leftover bits dropped: "QR" decodes like "QQ"
        assert_eq!(dec("QR").unwrap(), b"A");
        // Latin-1 characters at the ends are trimmed, others refused
        assert_eq!(dec("\u{a0}QUJD\u{e9}").unwrap(), b"ABC");
        assert_eq!(
            dec("\u{2028}QUJD").unwrap_err(),
            Error::IllegalBase64Character { position: 0 }
        );
        assert_eq!(
            dec("QU JD").unwrap_err(),
            Error::IllegalBase64Character { position: 2 }
        );
        assert_eq!(
            dec("QUéJD").unwrap_err(),
            Error::IllegalBase64Character { position: 2 }
        );
        assert!(dec("=").is_err());
        assert!(dec("   ").is_err());
        assert_eq!(dec("A").unwrap(), b"");
    }

    #[test]
    fn mime_lines_are_read() {
        let bytes: Vec<u8> = (0u8..=200).collect();
        let plain = encode_std(&bytes);
        let mut mime = String::new();
        for (n, chunk) in plain.as_bytes().chunks(76).enumerate() {
            if n > 0 {
                mime.push_str("\r\n");
            }
            mime.push_str(core::str::from_utf8(chunk).unwrap());
        }
        assert_eq!(dec(&mime).unwrap(), bytes);
        assert_eq!(dec(&plain).unwrap(), bytes);
    }
}
