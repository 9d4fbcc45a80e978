//! Request signatures of the Alibaba Cloud OpenAPI (SPEC 5.1): V3 `ACS3-HMAC-SHA256` and the
//! older RPC V2 `HMAC-SHA1`, byte for byte as the official SDKs compute them
//! (`alibabacloud_openapi_util`'s `get_authorization` and `get_rpcsignature`,
//! `aliyunsdkcore`'s RPC composer); the tests check both against those functions.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The V3 signature algorithm's name.
pub const ACS3_HMAC_SHA256: &str = "ACS3-HMAC-SHA256";

/// Percent-encodes `s` as the SDKs do (Python's `quote(s, safe='~')`): every byte but the
/// unreserved `A-Z a-z 0-9 - _ . ~` becomes `%XX` with upper-case hex.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The canonical query string: parameters sorted by name (byte order), `name=value` with the
/// value percent-encoded, joined by `&` (`get_canonical_query_string`; names are sent as they
/// are, which is safe for the API's ASCII names).
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in params {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// SHA-256 of `data`, as lower-case hex (`x-acs-content-sha256`).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// The V3 `Authorization` header value for a request.
///
/// - `headers`: every header to sign, names in any case (they are lower-cased and sorted),
///   values trimmed; the SDK signs all headers it has set at that point.
/// - `payload_hash`: [`sha256_hex`] of the body (of `""` for an empty body).
pub fn v3_authorization(
    method: &str,
    pathname: &str,
    query: &BTreeMap<String, String>,
    headers: &[(&str, &str)],
    payload_hash: &str,
    access_key_id: &str,
    access_key_secret: &[u8],
) -> String {
    let mut canon: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, value) in headers {
        canon
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.trim());
    }
    let mut canonical_headers = String::new();
    for (name, values) in &mut canon {
        values.sort_unstable();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    let signed_headers = canon
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        if pathname.is_empty() { "/" } else { pathname },
        canonical_query(query),
    );
    let string_to_sign = format!(
        "{ACS3_HMAC_SHA256}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(access_key_secret)
        .unwrap_or_else(|_| unreachable_hmac());
    mac.update(string_to_sign.as_bytes());
    let signature = hex(&mac.finalize().into_bytes());
    format!(
        "{ACS3_HMAC_SHA256} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
    )
}

/// The RPC V2 string to sign: `METHOD&%2F&` + the percent-encoded canonical query (the
/// parameters must include every `Signature*`, `Timestamp` and `AccessKeyId` parameter and not
/// `Signature` itself).
pub fn rpc_string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let mut canonical = String::new();
    for (k, v) in params {
        if !canonical.is_empty() {
            canonical.push('&');
        }
        canonical.push_str(&percent_encode(k));
        canonical.push('=');
        canonical.push_str(&percent_encode(v));
    }
    format!("{method}&%2F&{}", percent_encode(&canonical))
}

/// The RPC V2 `Signature`: base64(HMAC-SHA1(secret + `&`, string to sign)).
pub fn rpc_signature(
    method: &str,
    params: &BTreeMap<String, String>,
    access_key_secret: &[u8],
) -> String {
    let mut key = zeroize::Zeroizing::new(Vec::with_capacity(access_key_secret.len() + 1));
    key.extend_from_slice(access_key_secret);
    key.push(b'&');
    let mut mac =
        <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(&key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(rpc_string_to_sign(method, params).as_bytes());
    base64_simd::STANDARD.encode_to_string(mac.finalize().into_bytes())
}

/// HMAC takes keys of any length: this cannot happen.
#[cold]
fn unreachable_hmac() -> ! {
    #[allow(clippy::panic)]
    {
        panic!("HMAC accepts keys of every length")
    }
}

/// A fresh nonce: 16 random bytes as hex (the SDKs use a UUID-like random string).
pub fn nonce() -> String {
    let mut bytes = [0u8; 16];
    // getrandom fails only on platforms without an OS RNG; a time-derived fallback keeps the
    // nonce unique (it is not a secret).
    if getrandom::fill(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = t.to_le_bytes();
    }
    hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_matches_python_quote() {
        assert_eq!(percent_encode("a b+c*d~e/f"), "a%20b%2Bc%2Ad~e%2Ff");
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
        assert_eq!(percent_encode("{\"k\":\"v\"}"), "%7B%22k%22%3A%22v%22%7D");
    }

    #[test]
    fn rpc_string_to_sign_encodes_twice() {
        let mut p = BTreeMap::new();
        p.insert("Action".to_owned(), "Decrypt".to_owned());
        p.insert("Plaintext".to_owned(), "a b".to_owned());
        assert_eq!(
            rpc_string_to_sign("POST", &p),
            "POST&%2F&Action%3DDecrypt%26Plaintext%3Da%2520b"
        );
    }
}
