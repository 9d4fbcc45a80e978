//! Property tests: sign→verify round trips over all of Unicode and every control character for
//! the three algorithms, the server's payload escaping, and a differential test of the payload
//! parser against `serde_json` on generated (and mutated) JSON.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use base64_simd::URL_SAFE_NO_PAD;
use nacoscrypt_core::ErrorKind;
use nacoscrypt_core::token::{Algorithm, SecretKey, TokenManager};
use proptest::prelude::*;
use serde_core::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

const KEY32: [u8; 32] = [0x5a; 32];

/// Characters with every control character, JSON specials and the rest of Unicode.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        prop::sample::select(vec![
            '"', '\\', '/', '\u{7f}', '\u{2028}', '\u{2029}', '\u{feff}', 'é', '😀'
        ]),
        any::<char>(),
    ]
}

/// A subject a token can carry: any characters but NUL (refused by issue and verify, since a C
/// caller could not read it).
fn subject() -> impl Strategy<Value = String> {
    prop::collection::vec(any_char().prop_filter("no NUL", |c| *c != '\0'), 0..40)
        .prop_map(|v| v.into_iter().collect())
}

/// The escaping of SPEC 3.2, written independently of the library.
fn reference_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A token over an arbitrary payload, signed with HS256 and `KEY32`.
fn forge(payload: &[u8]) -> String {
    common::forge_hs256(&KEY32, payload)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_verify_round_trips(sub in subject(), now in -10_000_000_000i64..10_000_000_000, alg in 0usize..3) {
        let len = [32, 48, 64][alg];
        let key = SecretKey::from_bytes(&vec![alg as u8 + 1; len]).unwrap();
        let manager = TokenManager::new(key);
        let token = manager.issue(&sub, now).unwrap();
        prop_assert!(token.token.starts_with(Algorithm::ALL[alg].header()));
        let claims = manager.verify(&token.token, now).unwrap();
        prop_assert_eq!(&claims.sub, &sub);
        prop_assert_eq!(claims.exp, now + 18_000);
        // the payload is exactly the server's bytes
        let payload = token.token.split('.').nth(1).unwrap();
        let json = URL_SAFE_NO_PAD.decode_to_vec(payload).unwrap();
        let expected = format!("{{\"sub\":{},\"exp\":{}}}", reference_json_string(&sub), now + 18_000);
        prop_assert_eq!(String::from_utf8(json.clone()).unwrap(), expected);
        // and standard JSON
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(v["sub"].as_str().unwrap(), sub.as_str());
        // a second later it has expired
        prop_assert_eq!(manager.verify(&token.token, now + 18_001).unwrap_err().kind(), ErrorKind::TokenExpired);
    }

    #[test]
    fn tampering_is_detected(sub in subject(), pos in any::<prop::sample::Index>(), byte in 0x21u8..0x7f) {
        let manager = TokenManager::new(SecretKey::from_bytes(&KEY32).unwrap());
        let token = manager.issue(&sub, 0).unwrap().token;
        let mut bytes = token.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let tampered = String::from_utf8(bytes).unwrap();
        let err = manager.verify(&tampered, 0).unwrap_err();
        prop_assert!(matches!(
            err.kind(),
            ErrorKind::MalformedToken | ErrorKind::UnsupportedAlgorithm | ErrorKind::InvalidSignature
        ), "{err}");
    }
}

// ----- differential test of the payload parser against serde_json -----

/// A JSON value as serde_json reads it, refusing duplicate object members at any depth.
#[derive(Debug)]
enum J {
    Null,
    Bool,
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Arr,
    Obj(Vec<(String, J)>),
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<J, E> {
        Ok(J::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<J, E> {
        Ok(J::Bool)
    }
    fn visit_i64<E>(self, v: i64) -> Result<J, E> {
        Ok(J::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<J, E> {
        Ok(J::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<J, E> {
        Ok(J::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<J, E> {
        Ok(J::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<J, E> {
        Ok(J::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
        while seq.next_element::<J>()?.is_some() {}
        Ok(J::Arr)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
        let mut members: Vec<(String, J)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            if members.iter().any(|(m, _)| *m == k) {
                return Err(de::Error::custom("duplicate member"));
            }
            let v = map.next_value::<J>()?;
            members.push((k, v));
        }
        Ok(J::Obj(members))
    }
}

/// What the library must answer for `payload`, judged by serde_json: `Some(Ok((sub, exp)))`,
/// `Some(Err(()))` for invalid claims, `None` where serde_json's limits differ from RFC 8259
/// (numbers out of f64 range) and the case says nothing.
fn oracle(payload: &[u8]) -> Option<Result<(String, Option<i64>), ()>> {
    let j: J = match serde_json::from_slice(payload) {
        Ok(j) => j,
        Err(e) if e.to_string().contains("number out of range") => return None,
        Err(e) if e.to_string().contains("recursion limit") => return None,
        Err(_) => return Some(Err(())),
    };
    let J::Obj(members) = j else {
        return Some(Err(()));
    };
    let get = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let Some(J::Str(sub)) = get("sub") else {
        return Some(Err(()));
    };
    if sub.contains('\0') {
        // The library's own rule: a subject a C caller cannot read is invalid claims.
        return Some(Err(()));
    }
    let exp = match get("exp") {
        Some(J::Int(i)) => Some(*i),
        Some(J::UInt(u)) => match i64::try_from(*u) {
            Ok(i) => Some(i),
            Err(_) => return Some(Err(())),
        },
        Some(J::Float(f)) => {
            let t = f.trunc();
            if t.abs() < 9_007_199_254_740_992.0 {
                if t == *f {
                    // serde_json rounded the decimal to the nearest f64, which is an integer:
                    // the exact decimal may lie just below it (`…210.9` reads as `…211.0`), so
                    // its truncation is `t` or one less. A non-integral f64 has no integer
                    // between it and the exact decimal, so its truncation is exact.
                    None
                } else {
                    Some(t as i64)
                }
            } else if t.abs() >= 9.3e18 {
                return Some(Err(())); // beyond i64 whatever the exact decimal is
            } else if t.abs() < 9.2e18 {
                None // within i64, but f64 rounding differs from the exact decimal
            } else {
                return None; // near ±2^63: in or out of range depends on digits f64 lost
            }
        }
        _ => return Some(Err(())),
    };
    Some(Ok((sub.clone(), exp)))
}

fn check_against_oracle(payload: &[u8]) -> Result<(), TestCaseError> {
    let Some(expected) = oracle(payload) else {
        return Ok(());
    };
    let manager = TokenManager::new(SecretKey::from_bytes(&KEY32).unwrap());
    let got = manager.verify(&forge(payload), i64::MIN);
    let text = String::from_utf8_lossy(payload);
    match (expected, got) {
        (Ok((sub, exp)), Ok(claims)) => {
            prop_assert_eq!(claims.sub, sub, "{}", text);
            if let Some(exp) = exp {
                prop_assert_eq!(claims.exp, exp, "{}", text);
            }
        }
        // An empty payload is an empty token part: malformed before any JSON is read.
        (Err(()), Err(e)) if payload.is_empty() => {
            prop_assert_eq!(e.kind(), ErrorKind::MalformedToken)
        }
        (Err(()), Err(e)) => prop_assert_eq!(e.kind(), ErrorKind::InvalidClaims, "{}", text),
        (expected, got) => prop_assert!(
            false,
            "{text}: serde_json says {expected:?}, we say {got:?}"
        ),
    }
    Ok(())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-1e15f64..1e15).prop_map(Value::from),
        subject().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["sub", "exp", "x", "iat"]).prop_map(String::from),
        subject(),
    ]
}

fn exp_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    prop_oneof![
        4 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        2 => (-1e15f64..1e15).prop_map(Value::from),
        1 => (1e19f64..1e300).prop_map(Value::from),
        1 => json_value(),
    ]
}

/// A claims object: `sub` and `exp` (each usually present, of the right type), plus extras,
/// in any order, then written with random whitespace and escapes by [`render`].
fn claims_object() -> impl Strategy<Value = Vec<(String, serde_json::Value)>> {
    (
        prop::option::weighted(0.9, subject().prop_map(serde_json::Value::String)),
        prop::option::weighted(0.9, exp_value()),
        prop::collection::vec((key(), json_value()), 0..4),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(sub, exp, extra, rot)| {
            let mut members = extra;
            if let Some(s) = sub {
                members.push(("sub".into(), s));
            }
            if let Some(e) = exp {
                members.push(("exp".into(), e));
            }
            let r = rot.index(members.len().max(1));
            members.rotate_left(r);
            members
        })
}

/// Writes a JSON string with a random mix of raw characters and escapes.
fn render_string(s: &str, style: &mut impl Iterator<Item = u8>) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        let pick = style.next().unwrap_or(0) % 4;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str(if pick == 0 { "\\u005C" } else { "\\\\" }),
            c if (c as u32) < 0x20 || pick == 3 => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    if pick == 2 {
                        out.push_str(&format!("\\u{u:04x}"));
                    } else {
                        out.push_str(&format!("\\u{u:04X}"));
                    }
                }
            }
            '/' if pick == 1 => out.push_str("\\/"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render(members: &[(String, serde_json::Value)], style: Vec<u8>) -> String {
    let mut style = style.into_iter().cycle();
    let ws = |style: &mut std::iter::Cycle<std::vec::IntoIter<u8>>| {
        [" ", "", "\n", "\t", "", "\r\n "][usize::from(style.next().unwrap_or(0) % 6)]
    };
    let mut out = String::new();
    out.push_str(ws(&mut style));
    out.push('{');
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(ws(&mut style));
        out.push_str(&render_string(k, &mut style));
        out.push_str(ws(&mut style));
        out.push(':');
        out.push_str(ws(&mut style));
        match v {
            serde_json::Value::String(s) => out.push_str(&render_string(s, &mut style)),
            other => out.push_str(&serde_json::to_string(other).unwrap()),
        }
        out.push_str(ws(&mut style));
    }
    out.push('}');
    out.push_str(ws(&mut style));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parser_agrees_with_serde_json(members in claims_object(), style in prop::collection::vec(any::<u8>(), 1..64)) {
        let text = render(&members, style);
        check_against_oracle(text.as_bytes())?;
    }

    #[test]
    fn parser_agrees_with_serde_json_on_mutations(
        members in claims_object(),
        style in prop::collection::vec(any::<u8>(), 1..16),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(
            b"\"\\{}[],:0123456789-+.eE \tnulltruefalseu\x01\x7f\xc3\xa9".to_vec())), 1..4),
    ) {
        let mut bytes = render(&members, style).into_bytes();
        for (at, op, b) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = b,
                1 if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.insert(i, b),
            }
        }
        check_against_oracle(&bytes)?;
    }

    #[test]
    fn arbitrary_values_agree(v in json_value()) {
        check_against_oracle(serde_json::to_string(&v).unwrap().as_bytes())?;
    }
}

#[test]
fn oracle_edge_cases() {
    for text in [
        r#"{"sub":"a","exp":1,"n":{"a":1,"a":2}}"#,
        r#"{"sub":"\ud83d\ude00","exp":-0}"#,
        r#"{"sub":"\ud83d","exp":1}"#,
        r#"{"sub":"\udE00","exp":1}"#,
        r#"{"sub":"a","exp":1.5e3}"#,
        r#"{"sub":"a","exp":-1.5E-3}"#,
        r#"{"sub":"a","exp":12345678901234567890}"#,
        r#"{"sub":"a","\u0065xp":7}"#,
        r#"{"sub":"a","exp":7,"\u0065xp":7}"#,
        "{\"sub\":\"a\",\"exp\":7}\u{0}",
        "\u{feff}{\"sub\":\"a\",\"exp\":7}",
        r#"{"sub":"a","exp":7,"x":[[[[[]]]]]}"#,
        r#"{"sub":"a","exp":7,"x":1e400}"#,
        r#"{"sub":"a" "exp":7}"#,
        r#"{"sub":"a",,"exp":7}"#,
        r#"{"sub":'a',"exp":7}"#,
    ] {
        check_against_oracle(text.as_bytes()).unwrap();
    }
}
