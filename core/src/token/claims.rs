//! The claims of a token (`sub` and `exp`), read from a verified payload with the JSON reader
//! of [`crate::json`], without allocating.

use crate::json::{self, JsonStr, Value};
use crate::{Error, Result};
use alloc::string::String;

/// The verified claims of a token.
///
/// ```
/// use nacoscrypt_core::token::{SecretKey, TokenManager};
///
/// let manager = TokenManager::new(SecretKey::from_bytes(&[9u8; 32])?);
/// let token = manager.issue("nacos", 1_700_000_000)?;
/// let claims = manager.verify(&token.token, 1_700_000_000)?;
/// assert_eq!(claims.sub, "nacos");
/// assert_eq!(claims.exp, 1_700_018_000);
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Claims {
    /// The subject: the Nacos user name.
    pub sub: String,
    /// The expiry, Unix seconds (a fractional `exp` is truncated toward zero).
    pub exp: i64,
}

/// The payload exactly as the server writes it for a plain subject:
/// `{"sub":"<printable ASCII, no quote or backslash>","exp":<integer>}`, nothing else, no
/// whitespace. For such input [`json::parse_object`] would accept it and report these two members
/// (ASCII is UTF-8; no escapes, no control characters; two distinct names; a number of the
/// grammar), so this answers the same without the general parser. `None` for anything else,
/// which then takes the general parser.
#[inline(always)]
pub(crate) fn canonical_claims(input: &[u8]) -> Option<(JsonStr<'_>, &[u8])> {
    let rest = input.strip_prefix(b"{\"sub\":\"")?;
    let end = rest.iter().position(|&c| c == b'"')?;
    let (sub, rest) = rest.split_at(end);
    if !sub.iter().all(|&c| (0x20..0x7F).contains(&c) && c != b'\\') {
        return None;
    }
    let number = rest.strip_prefix(b"\",\"exp\":")?.strip_suffix(b"}")?;
    let digits = number.strip_prefix(b"-").unwrap_or(number);
    let plain = match digits {
        [b'0'] => true,
        [b'1'..=b'9', more @ ..] => more.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    plain.then_some((JsonStr::unescaped_raw(sub), number))
}

/// Reads `sub` and `exp` from a payload (without allocating).
pub(super) fn read_claims(json: &[u8]) -> Result<(JsonStr<'_>, i64)> {
    let mut sub = None;
    let mut exp = None;
    json::parse_object(json, |name, value| {
        if name.eq_str("sub") {
            match value {
                Value::Str(s) => sub = Some(s),
                _ => return Err("sub is not a string"),
            }
        } else if name.eq_str("exp") {
            match value {
                Value::Num(n) => {
                    exp = Some(json::number_to_i64(n).ok_or("exp out of the 64-bit range")?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::tests::members;

    #[test]
    fn canonical_payloads_match_the_general_parser() {
        let fast = |json: &str| {
            canonical_claims(json.as_bytes()).map(|(sub, exp)| {
                (
                    sub.decode(),
                    String::from(core::str::from_utf8(exp).unwrap()),
                )
            })
        };
        for (json, sub, exp) in [
            (r#"{"sub":"nacos","exp":4102444800}"#, "nacos", "4102444800"),
            (r#"{"sub":"","exp":-0}"#, "", "-0"),
            (r#"{"sub":"a b/~","exp":0}"#, "a b/~", "0"),
        ] {
            assert_eq!(fast(json), Some((sub.into(), exp.into())), "{json}");
            let general = members(json).unwrap();
            assert_eq!(
                general,
                [("sub".into(), sub.into()), ("exp".into(), exp.into())]
            );
        }
        for other in [
            r#"{"sub":"na\"cos","exp":1}"#,
            r#"{"sub":"n\u0061","exp":1}"#,
            "{\"sub\":\"\u{1}\",\"exp\":1}",
            "{\"sub\":\"é\",\"exp\":1}",
            r#"{"sub":"a","exp":01}"#,
            r#"{"sub":"a","exp":1.5}"#,
            r#"{"sub":"a","exp":1e3}"#,
            r#"{"sub":"a","exp":-}"#,
            r#"{"sub":"a","exp":}"#,
            r#"{"sub":"a","exp":1} "#,
            r#"{"sub":"a","exp":1,"x":2}"#,
            r#"{"exp":1,"sub":"a"}"#,
            r#" {"sub":"a","exp":1}"#,
            r#"{"sub":"a""#,
        ] {
            assert_eq!(fast(other), None, "{other}");
        }
    }
}
