//! Signing (SPEC 3.2): the header constant, the payload `{"sub":…,"exp":…}` with the server's
//! JSON escaping, base64url without padding, HMAC over `header.payload`.

use super::SecretKey;
use crate::b64;
use alloc::string::String;
use core::fmt::Write;

/// Appends `s` as a JSON string (with quotes), escaped as the Nacos server's JSON writer does:
/// `\"` `\\` `\b` `\f` `\n` `\r` `\t`, other characters below U+0020 as `\u00XX` (upper-case hex),
/// everything else (U+007F, non-ASCII, U+2028, `/`) as it is.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| c < ' ' || c == '"' || c == '\\') {
        out.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04X}", c);
            }
        }
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

/// The token for `subject` expiring at `exp`, byte for byte as the server signs it.
pub(crate) fn sign(key: &SecretKey, subject: &str, exp: i64) -> String {
    let mut payload = String::with_capacity(subject.len() + 40);
    payload.push_str("{\"sub\":");
    push_json_string(&mut payload, subject);
    let _ = write!(payload, ",\"exp\":{exp}}}");

    let header = key.algorithm().header();
    let sig_chars = key.algorithm().signature_len().div_ceil(3) * 4;
    let mut token =
        String::with_capacity(header.len() + payload.len().div_ceil(3) * 4 + sig_chars + 2);
    token.push_str(header);
    token.push('.');
    b64::encode_url_append(payload.as_bytes(), &mut token);
    let mac = key.mac(&[token.as_bytes()]);
    token.push('.');
    b64::encode_url_append(mac.as_bytes(), &mut token);
    token
}
