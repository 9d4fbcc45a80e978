//! Signing (SPEC 3.2): the header constant, the payload `{"sub":…,"exp":…}` with the server's
//! JSON escaping ([`crate::json`]), base64url without padding, HMAC over `header.payload`.

use super::SecretKey;
use crate::b64;
use crate::json::{write_i64, write_json_string};
use alloc::string::String;
use core::fmt::{self, Write};

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
