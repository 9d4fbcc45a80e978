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

/// serde_json's reading: Some((sub, exp)) if acceptable, None if refused, or skip (Err) where
/// f64 cannot say (fractions beyond 2^53).
fn oracle(payload: &[u8]) -> Result<Option<(String, i64)>, ()> {
    let Ok(text) = std::str::from_utf8(payload) else {
        return Ok(None);
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Ok(None);
    };
    if has_duplicates(text) {
        return Ok(None);
    }
    let Some(Value::String(sub)) = map.get("sub") else {
        return Ok(None);
    };
    let exp = match map.get("exp") {
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                i
            } else if n.is_u64() {
                return Ok(None);
            } else {
                let f = n.as_f64().ok_or(())?.trunc();
                if f.abs() >= 9_007_199_254_740_992.0 {
                    return Err(());
                }
                f as i64
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
            assert_eq!(claims.exp, exp);
        }
        (Ok(None), Err(e)) => assert_eq!(e.kind(), ErrorKind::InvalidClaims, "{e}"),
        (want, got) => panic!("serde_json says {want:?}, we say {got:?}"),
    }
});
