//! Helpers shared by the integration tests (each test file includes this module).
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use base64_simd::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A JSON vector file of `core/tests/vectors` (copies of the spec's normative vectors).
pub(crate) fn vectors(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Bytes of a hex string.
pub(crate) fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Padded standard base64.
pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode_to_string(bytes)
}

/// Decodes padded standard base64 (panics on bad input: test data only).
pub(crate) fn unb64(text: &str) -> Vec<u8> {
    STANDARD.decode_to_vec(text).unwrap()
}

/// Unpadded URL-safe base64.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// An HS256 token over an arbitrary payload, correctly signed with `key`.
pub(crate) fn forge_hs256(key: &[u8], payload: impl AsRef<[u8]>) -> String {
    let head = format!("eyJhbGciOiJIUzI1NiJ9.{}", b64url(payload.as_ref()));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(head.as_bytes());
    format!("{head}.{}", b64url(&mac.finalize().into_bytes()))
}
