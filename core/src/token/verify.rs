//! Verification (SPEC 3.3), in the server's order and stricter than it: nothing of the payload
//! is read before the signature has been checked, and nothing is allocated but the returned
//! subject.

use super::claims::{self, Claims, JsonStr, Value};
use super::{Algorithm, SecretKey};
use crate::error::Malformed;
use crate::{Error, Result, b64};
use subtle::ConstantTimeEq;

/// Longest payload part accepted, in base64url characters (6 KiB decoded). The payload is
/// decoded into a stack buffer of that size; a longer payload with a valid signature is
/// refused as [`Error::InvalidClaims`]. Nacos payloads are about 50 characters.
pub const MAX_PAYLOAD_LEN: usize = 8192;

const MAX_DECODED: usize = MAX_PAYLOAD_LEN / 4 * 3;

/// Longest token accepted, in bytes: the longest header (20), the longest payload
/// ([`MAX_PAYLOAD_LEN`]), the longest signature (86, HS512) and two dots. A longer token is
/// refused as [`Error::MalformedToken`] before any MAC is computed, so a huge token costs
/// nothing.
pub const MAX_TOKEN_LEN: usize = 20 + 1 + MAX_PAYLOAD_LEN + 1 + 86;

/// `true` for the characters Java's `String.trim`/`isBlank` treat as blank.
fn blank(token: &str) -> bool {
    token.chars().all(char::is_whitespace)
}

/// Verifies `token` against `keys` (the signing key first, then older ones).
pub(crate) fn verify(keys: &[SecretKey], token: &str, now: i64, leeway: u64) -> Result<Claims> {
    // 1. shape
    if blank(token) {
        return Err(Error::MalformedToken(Malformed::Blank));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(Error::MalformedToken(Malformed::Shape));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::MalformedToken(Malformed::Shape));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(Error::MalformedToken(Malformed::Shape));
    }

    // 2. header: the exact constant of a key's algorithm
    let algorithm = Algorithm::from_header(header).ok_or(Error::UnsupportedAlgorithm)?;
    if !keys.iter().any(|k| k.algorithm() == algorithm) {
        return Err(Error::UnsupportedAlgorithm);
    }

    // 3. signature: the canonical base64url of the MAC, compared in constant time
    let signed = &token.as_bytes()[..header.len() + 1 + payload.len()];
    let mut valid = subtle::Choice::from(0);
    for key in keys.iter().filter(|k| k.algorithm() == algorithm) {
        let mac = key.mac(&[signed]);
        let mut buf = [0u8; 88];
        let expected = b64::encode_url_into(mac.as_bytes(), &mut buf);
        if expected.len() == signature.len() {
            valid |= expected.as_bytes().ct_eq(signature.as_bytes());
        }
    }
    if !bool::from(valid) {
        return Err(Error::InvalidSignature);
    }

    // 4. claims
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::InvalidClaims {
            reason: "payload too large",
        });
    }
    let mut buf = [0u8; MAX_DECODED];
    let json = b64::decode_url_into(payload.as_bytes(), &mut buf).ok_or(Error::InvalidClaims {
        reason: "payload is not base64url",
    })?;
    let (sub, exp) = read_claims(json)?;

    // 5. expiry
    let leeway = i64::try_from(leeway).unwrap_or(i64::MAX);
    if exp.saturating_add(leeway) < now {
        return Err(Error::TokenExpired);
    }
    Ok(Claims {
        sub: sub.decode(),
        exp,
    })
}

/// Reads `sub` and `exp` from a payload (without allocating).
fn read_claims(json: &[u8]) -> Result<(JsonStr<'_>, i64)> {
    let mut sub = None;
    let mut exp = None;
    claims::parse_object(json, |name, value| {
        if name.eq_str("sub") {
            match value {
                Value::Str(s) => sub = Some(s),
                _ => return Err("sub is not a string"),
            }
        } else if name.eq_str("exp") {
            match value {
                Value::Num(n) => {
                    exp = Some(claims::number_to_i64(n).ok_or("exp out of the 64-bit range")?);
                }
                _ => return Err("exp is not a number"),
            }
        }
        Ok(())
    })
    .map_err(|reason| Error::InvalidClaims { reason })?;
    let sub = sub.ok_or(Error::InvalidClaims {
        reason: "missing sub",
    })?;
    let exp = exp.ok_or(Error::InvalidClaims {
        reason: "missing exp",
    })?;
    Ok((sub, exp))
}
