//! Inputs the fuzzers found, kept as tests. None crashed the library; each made a fuzz target's
//! differential oracle (serde_json) disagree, and the library's answer is the one SPEC 3.3 and
//! RFC 8259 ask for.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use nacoscrypt_core::ErrorKind;
use nacoscrypt_core::token::{SecretKey, TokenManager};

const KEY: [u8; 32] = [0x42; 32];

fn verify(payload: &str) -> Result<(String, i64), ErrorKind> {
    TokenManager::new(SecretKey::from_bytes(&KEY).unwrap())
        .verify(&common::forge_hs256(&KEY, payload), i64::MIN)
        .map(|c| (c.sub, c.exp))
        .map_err(|e| e.kind())
}

/// claims_json: an empty payload is an empty part, so the token's shape is wrong.
#[test]
fn empty_payload_is_a_malformed_token() {
    assert_eq!(verify(""), Err(ErrorKind::MalformedToken));
}

/// claims_json: a fractional `exp` is truncated from its exact decimal value. serde_json (without
/// `float_roundtrip`) rounded it to …478.0 first.
#[test]
fn fractional_exp_truncates_the_exact_decimal() {
    assert_eq!(
        verify(r#"{"sub":"a","exp":2337720203615477.5808}"#),
        Ok(("a".into(), 2_337_720_203_615_477))
    );
    assert_eq!(
        verify(r#"{"sub":"a","exp":1.99999999999999999999}"#),
        Ok(("a".into(), 1))
    );
    // CI's proptest run: serde_json reads this as the f64 …211.0.
    assert_eq!(
        verify(r#"{ "exp" : 1789759578471210.9 , "sub" : "" }"#),
        Ok(("".into(), 1_789_759_578_471_210))
    );
}

/// claims_json: a number beyond f64 in a member that is ignored is still valid JSON (RFC 8259
/// sets no range); serde_json refuses it, the library ignores the member.
#[test]
fn huge_numbers_in_ignored_members_are_valid_json() {
    assert_eq!(
        verify(r#"{"sub":"a","exp":-922337,"b":1e+320368254775808}"#),
        Ok(("a".into(), -922_337))
    );
    // …but not as `exp`, which must fit 64 bits.
    assert_eq!(
        verify(r#"{"sub":"a","exp":1e+320368254775808}"#),
        Err(ErrorKind::InvalidClaims)
    );
}
