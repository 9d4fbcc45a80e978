//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as botocore's `SigV4Auth` computes it for
//! header-signed requests; the tests check it against botocore on the same inputs.
//!
//! ```
//! use nacoscrypt_kms_aws::sigv4::{self, Request};
//!
//! let body = br#"{"KeyId":"alias/nacos"}"#;
//! let headers = [
//!     ("Host", "kms.eu-west-1.amazonaws.com"),
//!     ("Content-Type", "application/x-amz-json-1.1"),
//!     ("X-Amz-Target", "TrentService.Encrypt"),
//!     ("X-Amz-Date", "20240501T120000Z"),
//! ];
//! let request = Request { method: "POST", path: "/", query: &[], headers: &headers, body };
//! let auth = sigv4::authorization(&request, "AKIDEXAMPLE", b"secret", "eu-west-1", "kms");
//! assert!(auth.starts_with(
//!     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/eu-west-1/kms/aws4_request, \
//!      SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
//! ));
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write;
use zeroize::Zeroizing;

/// The algorithm's name, the first word of every `Authorization` header made here.
///
/// ```
/// use nacoscrypt_kms_aws::sigv4::ALGORITHM;
///
/// assert_eq!(ALGORITHM, "AWS4-HMAC-SHA256");
/// ```
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Headers never signed (botocore's `SIGNED_HEADERS_BLACKLIST`): proxies and clients change
/// them on the way.
const UNSIGNED: &[&str] = &[
    "authorization",
    "baggage",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "traceparent",
    "tracestate",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// A request to sign. `headers` must hold `Host` and `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`) and,
/// for temporary credentials, `X-Amz-Security-Token`; see the [module](self) example.
///
/// ```
/// use nacoscrypt_kms_aws::sigv4::Request;
///
/// let headers = [("Host", "sts.amazonaws.com"), ("X-Amz-Date", "20240501T120000Z")];
/// let request = Request {
///     method: "GET",
///     path: "/",
///     query: &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
///     headers: &headers,
///     body: b"",
/// };
/// assert_eq!(request.query.len(), 2);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, already URI-encoded (`/` for KMS and STS).
    pub path: &'a str,
    /// Query parameters, not encoded (sorted and encoded here).
    pub query: &'a [(&'a str, &'a str)],
    /// Headers, names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

/// Percent-encodes as SigV4 does: every byte but `A-Z a-z 0-9 - _ . ~` becomes `%XX`
/// (upper-case hex).
///
/// ```
/// assert_eq!(nacoscrypt_kms_aws::sigv4::uri_encode("a b/c~"), "a%20b%2Fc~");
/// ```
pub fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Lower-case hex of `bytes`.
///
/// ```
/// assert_eq!(nacoscrypt_kms_aws::sigv4::hex(&[0, 255]), "00ff");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<Vec<u8>> {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(data);
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// The canonical request, and the signed-header list (`content-type;host;…`).
///
/// ```
/// use nacoscrypt_kms_aws::sigv4::{self, Request};
///
/// let headers = [("Host", "example.com"), ("X-Amz-Date", "20240501T120000Z")];
/// let r = Request { method: "GET", path: "/", query: &[("b", "2"), ("a", "1 1")], headers: &headers, body: b"" };
/// let (canonical, signed) = sigv4::canonical_request(&r);
/// assert!(canonical.starts_with("GET\n/\na=1%201&b=2\nhost:example.com\n"));
/// assert_eq!(signed, "host;x-amz-date");
/// ```
pub fn canonical_request(request: &Request<'_>) -> (String, String) {
    let mut query: Vec<(String, String)> = request
        .query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, value) in request.headers {
        let name = name.trim().to_ascii_lowercase();
        if UNSIGNED.contains(&name.as_str()) {
            continue;
        }
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    headers.sort();
    let mut canonical = format!("{}\n{}\n{query}\n", request.method, request.path);
    for (name, value) in &headers {
        let _ = writeln!(canonical, "{name}:{value}");
    }
    let signed = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    canonical.push('\n');
    canonical.push_str(&signed);
    canonical.push('\n');
    canonical.push_str(&hex(&Sha256::digest(request.body)));
    (canonical, signed)
}

/// The `Authorization` header value of `request`, signed with `secret` for `region` and
/// `service` at the request's `X-Amz-Date`; see also the [module](self) example.
///
/// The `get-vanilla` case of AWS's Signature Version 4 test suite:
///
/// ```
/// use nacoscrypt_kms_aws::sigv4::{self, Request};
///
/// let headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")];
/// let request = Request { method: "GET", path: "/", query: &[], headers: &headers, body: b"" };
/// let secret = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// assert_eq!(
///     sigv4::authorization(&request, "AKIDEXAMPLE", secret, "us-east-1", "service"),
///     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
///      SignedHeaders=host;x-amz-date, \
///      Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
/// );
/// ```
pub fn authorization(
    request: &Request<'_>,
    access_key_id: &str,
    secret: &[u8],
    region: &str,
    service: &str,
) -> String {
    let amz_date = request
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-date"))
        .map_or("", |(_, v)| *v);
    let date = amz_date.get(..8).unwrap_or("");
    let (canonical, signed) = canonical_request(request);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = Zeroizing::new(Vec::with_capacity(secret.len() + 4));
    key.extend_from_slice(b"AWS4");
    key.extend_from_slice(secret);
    let k_date = hmac(&key, date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, string_to_sign.as_bytes()));
    format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AWS documentation's example (IAM ListUsers, GET with a query), as published in the
    /// SigV4 guide ("Examples of the complete Signature Version 4 signing process").
    #[test]
    fn the_documented_example() {
        let headers = [
            ("Host", "iam.amazonaws.com"),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let r = Request {
            method: "GET",
            path: "/",
            query: &[("Action", "ListUsers"), ("Version", "2010-05-08")],
            headers: &headers,
            body: b"",
        };
        let auth = authorization(
            &r,
            "AKIDEXAMPLE",
            b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn unsigned_headers_and_whitespace() {
        let headers = [
            ("Host", "h"),
            ("User-Agent", "x"),
            ("X-Amz-Date", "20240501T120000Z"),
            ("X-Multi", "  a   b "),
            ("x-multi", "c"),
        ];
        let r = Request {
            method: "POST",
            path: "/",
            query: &[],
            headers: &headers,
            body: b"{}",
        };
        let (canonical, signed) = canonical_request(&r);
        assert_eq!(signed, "host;x-amz-date;x-multi");
        assert!(canonical.contains("x-multi:a b,c\n"), "{canonical}");
    }
}
