//! Signing (SPEC 3.2): the header constant, the payload `{"sub":…,"exp":…}` with the server's
//! JSON escaping, base64url without padding, HMAC over `header.payload`.

use super::SecretKey;
use crate::b64;
use alloc::string::String;
use core::fmt::{self, Write};

/// Appends `s` as a JSON string (with quotes), escaped as the Nacos server's JSON writer does:
/// `\"` `\\` `\b` `\f` `\n` `\r` `\t`, other characters below U+0020 as `\u00XX` (upper-case hex),
/// everything else (U+007F, non-ASCII, U+2028, `/`) as it is.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    // Writing to a String cannot fail.
    let _ = write_json_string(out, s);
}

/// [`push_json_string`] into any writer; fails only if the writer does.
fn write_json_string<W: Write>(out: &mut W, s: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| c < ' ' || c == '"' || c == '\\') {
        out.write_str(&rest[..i])?;
        let c = rest.as_bytes()[i];
        match c {
            b'"' => out.write_str("\\\"")?,
            b'\\' => out.write_str("\\\\")?,
            0x08 => out.write_str("\\b")?,
            0x0C => out.write_str("\\f")?,
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            b'\t' => out.write_str("\\t")?,
            _ => write!(out, "\\u{:04X}", c)?,
        }
        rest = &rest[i + 1..];
    }
    out.write_str(rest)?;
    out.write_char('"')
}

/// Writes the decimal form of `n` (what `{n}` formats) without the formatting machinery.
fn write_i64<W: Write>(out: &mut W, n: i64) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        // `v % 10` is below 10: it always fits a byte.
        digits[at] = b'0' + u8::try_from(v % 10).unwrap_or(0);
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.write_char('-')?;
    }
    // ASCII digits only: always UTF-8.
    out.write_str(core::str::from_utf8(&digits[at..]).map_err(|_| fmt::Error)?)
}

/// Writes the payload `{"sub":…,"exp":…}`.
fn write_payload<W: Write>(out: &mut W, subject: &str, exp: i64) -> fmt::Result {
    out.write_str("{\"sub\":")?;
    write_json_string(out, subject)?;
    out.write_str(",\"exp\":")?;
    write_i64(out, exp)?;
    out.write_char('}')
}

/// A fixed buffer on the stack for the payload of ordinary subjects (no allocation); a write
/// that does not fit fails, and the caller falls back to a `String`.
struct StackText {
    bytes: [u8; 192],
    len: usize,
}

impl Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The token for `subject` expiring at `exp`, byte for byte as the server signs it.
pub(crate) fn sign(key: &SecretKey, subject: &str, exp: i64) -> String {
    let mut stack = StackText {
        bytes: [0u8; 192],
        len: 0,
    };
    let heap;
    let payload: &[u8] = if write_payload(&mut stack, subject, exp).is_ok() {
        &stack.bytes[..stack.len]
    } else {
        let mut text = String::with_capacity(subject.len() + 40);
        // Writing to a String cannot fail.
        let _ = write_payload(&mut text, subject, exp);
        heap = text;
        heap.as_bytes()
    };

    let header = key.algorithm().header();
    let sig_chars = (key.algorithm().signature_len() * 4).div_ceil(3);
    let payload_chars = (payload.len() * 4).div_ceil(3);
    let mut token = String::with_capacity(header.len() + payload_chars + sig_chars + 2);
    token.push_str(header);
    token.push('.');
    b64::encode_url_append(payload, &mut token);
    let mac = key.mac(&[token.as_bytes()]);
    token.push('.');
    b64::encode_url_append(mac.as_bytes(), &mut token);
    token
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn integers_format_as_display() {
        for n in [
            0,
            1,
            -1,
            9,
            10,
            4_102_444_800,
            i64::MAX,
            i64::MIN,
            -1_000_000,
        ] {
            let mut s = String::new();
            write_i64(&mut s, n).unwrap();
            assert_eq!(s, format!("{n}"));
        }
    }

    #[test]
    fn long_subjects_fall_back_to_the_heap() {
        let key = SecretKey::from_bytes(&[7u8; 32]).unwrap();
        let long = "x".repeat(500);
        let token = sign(&key, &long, 5);
        assert!(
            key.verify(&token, 0, 0)
                .is_ok_and(|c| c.sub == long && c.exp == 5)
        );
        let mut text = StackText {
            bytes: [0u8; 192],
            len: 0,
        };
        assert!(write_payload(&mut text, &long, 5).is_err());
    }
}
