//! The payload JSON reader, differentially against serde_json: arbitrary bytes are signed as a
//! token payload, and verification must accept exactly the objects serde_json accepts with a
//! string `sub`, a numeric `exp` and no duplicate members, returning the same claims.
#![no_main]

use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::ErrorKind;
use nacoscrypt_core::token::{SecretKey, TokenManager};
use serde_json::Value;
use sha2::Sha256;

const KEY: [u8; 32] = [0x42; 32];

fn forge(payload: &[u8]) -> String {
    let b64 = base64_simd::URL_SAFE_NO_PAD;
    let signing_input = format!("eyJhbGciOiJIUzI1NiJ9.{}", b64.encode_to_string(payload));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&KEY).expect("any key length");
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        b64.encode_to_string(mac.finalize().into_bytes())
    )
}

/// serde_json's reading: `Ok(Some((sub, exp)))` if acceptable (`exp` is `None` where f64 cannot
/// say exactly), `Ok(None)` if refused, `Err` to skip (exp near the edge of the 64-bit range).
fn oracle(payload: &[u8]) -> Result<Option<(String, Option<i64>)>, ()> {
    let Ok(text) = std::str::from_utf8(payload) else {
        return Ok(None);
    };
    let map = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        // serde_json refuses numbers beyond f64 (`1e999`); RFC 8259's grammar allows them and
        // the library accepts them in members it ignores: no verdict from the oracle.
        Err(e) if e.to_string().contains("number out of range") => return Err(()),
        _ => return Ok(None),
    };
    if has_duplicates(text) {
        return Ok(None);
    }
    let Some(Value::String(sub)) = map.get("sub") else {
        return Ok(None);
    };
    // The library refuses a subject holding NUL (C callers read it as a C string; issue 12).
    if sub.contains('\0') {
        return Ok(None);
    }
    let exp = match map.get("exp") {
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Some(i)
            } else if n.is_u64() {
                return Ok(None);
            } else {
                // serde_json reads a fraction or an exponent as the nearest f64; the library
                // truncates the exact decimal. Their integer parts agree where rounding cannot
                // cross an integer: moderate magnitudes not within 1e-3 of one. Elsewhere only
                // acceptance and `sub` are compared (the core's unit tests pin exact values).
                let f = n.as_f64().ok_or(())?;
                let fract = f - f.floor();
                if f.abs() >= 1e19 {
                    return Ok(None);
                } else if f.abs() >= 9.2e18 {
                    return Err(());
                } else if f.abs() < 1_099_511_627_776.0 && fract > 1e-3 && fract < 1.0 - 1e-3 {
                    Some(f.trunc() as i64)
                } else {
                    None
                }
            }
        }
        _ => return Ok(None),
    };
    Ok(Some((sub.clone(), exp)))
}

/// Whether any object in `text` repeats a member name (serde_json keeps the last silently).
fn has_duplicates(text: &str) -> bool {
    struct Dup(bool);
    impl<'de> serde::de::Visitor<'de> for &mut Dup {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("json")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = m.next_key::<String>()? {
                if !seen.insert(k) {
                    self.0 = true;
                }
                m.next_value::<serde::de::IgnoredAny>()?;
            }
            Ok(())
        }
    }
    let mut d = Dup(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = serde::Deserializer::deserialize_any(&mut de, &mut d);
    d.0
}

fuzz_target!(|payload: &[u8]| {
    if payload.len() > 6_000 {
        return;
    }
    let manager = TokenManager::new(SecretKey::from_bytes(&KEY).expect("32-byte key"));
    let got = manager.verify(&forge(payload), i64::MIN);
    if payload.is_empty() {
        // An empty payload is an empty part: the token's shape is wrong before any JSON.
        assert_eq!(
            got.map_err(|e| e.kind()).err(),
            Some(ErrorKind::MalformedToken)
        );
        return;
    }
    match (oracle(payload), got) {
        (Err(()), _) => {}
        (Ok(Some((sub, exp))), Ok(claims)) => {
            assert_eq!(claims.sub, sub);
            if let Some(exp) = exp {
                assert_eq!(claims.exp, exp);
            }
        }
        (Ok(None), Err(e)) => assert_eq!(e.kind(), ErrorKind::InvalidClaims, "{e}"),
        (want, got) => panic!("serde_json says {want:?}, we say {got:?}"),
    }
});
