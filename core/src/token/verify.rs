//! Verification (SPEC 3.3), in the server's order and stricter than it: nothing of the payload
//! is read before the signature has been checked, and nothing is allocated but the returned
//! subject.

use super::claims::{self, Claims};
use super::{Algorithm, SecretKey};
use crate::error::Malformed;
use crate::{Error, Result, b64, json};
use core::mem::MaybeUninit;
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

/// Length of every header constant (`{"alg":"HS256"}` in base64url, and 384/512).
const HEADER_LEN: usize = 20;

/// Words of the longest MAC (64 bytes for HS512).
const MAC_WORDS: usize = 8;

/// A MAC as zero-padded 64-bit words, so that the constant-time comparison is word by word
/// (at most 8 masked compares) rather than byte by byte; callers compare MACs of equal length.
struct MacWords([u64; MAC_WORDS]);

impl MacWords {
    /// Packs `mac` word by word straight from the slice (no byte copy into a buffer first,
    /// which would make the word loads wait on the byte stores).
    fn new(mac: &[u8]) -> Self {
        let mut words = [0u64; MAC_WORDS];
        for (w, chunk) in words.iter_mut().zip(mac.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        Self(words)
    }

    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0[..].ct_eq(&other.0[..])
    }
}

/// `true` for the characters Java's `String.trim`/`isBlank` treat as blank.
fn blank(token: &str) -> bool {
    token.chars().all(char::is_whitespace)
}

/// Checks that a token for `subject` could be read back before it is signed: `subject` has no
/// NUL character, and is not so long that the token must be longer than [`MAX_TOKEN_LEN`].
/// The errors are those [`verify`] gives for such a token.
pub(crate) fn check_subject(subject: &str) -> Result<()> {
    if subject.contains('\0') {
        return Err(Error::InvalidClaims {
            reason: "sub contains a NUL character",
        });
    }
    if subject.len() > MAX_TOKEN_LEN {
        return Err(Error::MalformedToken(Malformed::TooLong));
    }
    Ok(())
}

/// Checks that a signed `token` is within the bounds [`verify`] applies, with its errors.
pub(crate) fn check_signed(token: &str, algorithm: Algorithm) -> Result<()> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Error::MalformedToken(Malformed::TooLong));
    }
    let signature_chars = (algorithm.signature_len() * 4).div_ceil(3);
    if token.len() - HEADER_LEN - 2 - signature_chars > MAX_PAYLOAD_LEN {
        return Err(Error::InvalidClaims {
            reason: "payload too large",
        });
    }
    Ok(())
}

/// Verifies `token` against `keys` (the signing key first, then older ones).
pub(crate) fn verify(keys: &[SecretKey], token: &str, now: i64, leeway: u64) -> Result<Claims> {
    // 1. shape
    if blank(token) {
        return Err(Error::MalformedToken(Malformed::Blank));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(Error::MalformedToken(Malformed::TooLong));
    }
    // The header is one of three constants of HEADER_LEN characters without a '.': a token
    // that starts with one and a '.' has it as its first part (what the general split finds).
    let known_header = token.as_bytes().get(HEADER_LEN) == Some(&b'.')
        && token
            .get(..HEADER_LEN)
            .and_then(Algorithm::from_header)
            .is_some();
    let split = if known_header {
        token.get(..HEADER_LEN).zip(token.get(HEADER_LEN + 1..))
    } else {
        token.split_once('.')
    };
    let Some((header, rest)) = split else {
        return Err(Error::MalformedToken(Malformed::Shape));
    };
    let Some((payload, signature)) = rest.split_once('.') else {
        return Err(Error::MalformedToken(Malformed::Shape));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(Error::MalformedToken(Malformed::Shape));
    }
    // A fourth part (a '.' in the signature) is a shape error, which comes before every later
    // error; it is looked for only on the way to one, since a signature that decodes as
    // base64url has no '.'.
    let or_shape = |later: Error| {
        if signature.contains('.') {
            Error::MalformedToken(Malformed::Shape)
        } else {
            later
        }
    };

    // 2. header: the exact constant of a key's algorithm
    let algorithm =
        Algorithm::from_header(header).ok_or_else(|| or_shape(Error::UnsupportedAlgorithm))?;
    if !keys.iter().any(|k| k.algorithm() == algorithm) {
        return Err(or_shape(Error::UnsupportedAlgorithm));
    }

    // 3. signature: the canonical base64url of the MAC, compared in constant time. The
    // signature text (public) is decoded strictly once: unpadded, zero trailing bits, so exactly
    // one text decodes to each MAC and "decodes to the MAC" is "is the MAC's canonical text".
    // The MAC itself (secret until it matches) is compared as bytes and never encoded.
    let signed = &token.as_bytes()[..header.len() + 1 + payload.len()];
    let mut valid = subtle::Choice::from(0);
    let mut decoded = [MaybeUninit::<u8>::uninit(); MAC_WORDS * 8];
    // The MAC's text is unpadded base64url: 43, 64 or 86 characters.
    if signature.len() == (algorithm.signature_len() * 4).div_ceil(3)
        && let Some(given) = b64::decode_url_into_uninit(signature.as_bytes(), &mut decoded)
    {
        let given = MacWords::new(given);
        for key in keys.iter().filter(|k| k.algorithm() == algorithm) {
            valid |= MacWords::new(key.mac(&[signed]).as_bytes()).ct_eq(&given);
        }
    }
    if !bool::from(valid) {
        return Err(or_shape(Error::InvalidSignature));
    }

    // 4. claims
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::InvalidClaims {
            reason: "payload too large",
        });
    }
    // Uninitialised: the decoder writes what it returns (no 6 KiB memset per call).
    let mut buf = [const { MaybeUninit::<u8>::uninit() }; MAX_DECODED];
    let json =
        b64::decode_url_into_uninit(payload.as_bytes(), &mut buf).ok_or(Error::InvalidClaims {
            reason: "payload is not base64url",
        })?;
    // The shape the server writes, recognised exactly; anything else takes the full parser.
    let (sub, exp) = match claims::canonical_claims(json) {
        Some((sub, exp)) => (
            sub,
            json::number_to_i64(exp).ok_or(Error::InvalidClaims {
                reason: "exp out of the 64-bit range",
            })?,
        ),
        None => claims::read_claims(json)?,
    };
    // A C caller reads the subject as a NUL-terminated string: a NUL would cut it short, so a
    // subject holding one is refused here (and never issued, see `check_subject`).
    if sub.has_nul() {
        return Err(Error::InvalidClaims {
            reason: "sub contains a NUL character",
        });
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_header_has_the_fast_path_length() {
        for algorithm in Algorithm::ALL {
            assert_eq!(algorithm.header().len(), HEADER_LEN);
            assert!(!algorithm.header().contains('.'));
        }
    }
}
