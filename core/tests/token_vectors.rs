//! Every case of `vectors/tokens.json` (SPEC 4): secret keys decode or fail as the server's own
//! decoder does, `sign` reproduces the server's tokens byte for byte, `verify` gives `expect`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use nacoscrypt_core::ErrorKind;
use nacoscrypt_core::token::{Algorithm, SecretKey, TokenManager};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/tokens.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn kind(name: &str) -> Option<ErrorKind> {
    Some(match name {
        "ok" => return None,
        "malformed" => ErrorKind::MalformedToken,
        "unsupported_algorithm" => ErrorKind::UnsupportedAlgorithm,
        "invalid_signature" => ErrorKind::InvalidSignature,
        "invalid_claims" => ErrorKind::InvalidClaims,
        "expired" => ErrorKind::TokenExpired,
        "invalid_base64" => ErrorKind::InvalidSecretKey,
        "too_short" => ErrorKind::SecretKeyTooShort,
        other => panic!("unknown expect {other}"),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key(secret: &str) -> SecretKey {
    SecretKey::from_base64_allowing_publicly_known(secret).unwrap()
}

#[test]
fn secret_keys() {
    let v = vectors();
    let cases = v["secret_keys"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let secret = case["secret"].as_str().unwrap();
        let result = SecretKey::from_base64_allowing_publicly_known(secret);
        match kind(case["expect"].as_str().unwrap()) {
            None => {
                let key = result.unwrap_or_else(|e| panic!("{secret:?}: {e}"));
                assert_eq!(
                    hex(key.as_bytes()),
                    case["decoded_hex"].as_str().unwrap(),
                    "{secret:?}"
                );
                assert_eq!(key.algorithm().name(), case["algorithm"].as_str().unwrap());
                // round trip through the application.properties text
                let again =
                    SecretKey::from_base64_allowing_publicly_known(&key.to_base64()).unwrap();
                assert_eq!(again.as_bytes(), key.as_bytes());
            }
            Some(k) => {
                let err = result.expect_err(secret);
                assert_eq!(err.kind(), k, "{secret:?}: {err}");
                // never echoes the secret
                assert!(!err.to_string().contains(secret));
            }
        }
    }
}

#[test]
fn publicly_known_keys_need_the_opt_in() {
    for known in [
        "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=",
        "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg",
        "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=\n",
        "SecretKey012345678901234567890123456789012345678901234567890123456789",
    ] {
        let err = SecretKey::from_base64(known).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PubliclyKnownKey, "{known:?}");
        assert!(SecretKey::from_base64_allowing_publicly_known(known).is_ok());
        let bytes = key(known).as_bytes().to_vec();
        assert_eq!(
            SecretKey::from_bytes(&bytes).unwrap_err().kind(),
            ErrorKind::PubliclyKnownKey
        );
        assert!(SecretKey::from_bytes_allowing_publicly_known(&bytes).is_ok());
    }
}

#[test]
fn sign() {
    let v = vectors();
    let cases = v["sign"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let key = key(case["secret"].as_str().unwrap());
        assert_eq!(key.algorithm().name(), case["alg"].as_str().unwrap());
        let sub = case["sub"].as_str().unwrap();
        let exp = case["exp"].as_i64().unwrap();
        let expected = case["token"].as_str().unwrap();
        assert_eq!(key.sign(sub, exp), expected, "sub {sub:?}");
        // and the manager issues the same bytes
        let validity = 18_000;
        let issued = TokenManager::new(key.clone())
            .issue(sub, exp - validity)
            .unwrap();
        assert_eq!(issued.token, expected);
        assert_eq!(issued.expires_at, exp);
        // which verify back to the claims
        let claims = key.verify(expected, exp, 0).unwrap();
        assert_eq!((claims.sub.as_str(), claims.exp), (sub, exp));
    }
}

#[test]
fn verify() {
    let v = vectors();
    let cases = v["verify"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let manager = TokenManager::new(key(case["secret"].as_str().unwrap()));
        let token = case["token"].as_str().unwrap();
        let now = case["now"].as_i64().unwrap();
        let result = manager.verify(token, now);
        match kind(case["expect"].as_str().unwrap()) {
            None => {
                let claims = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(claims.sub, "nacos", "{name}");
                assert_eq!(claims.exp, 4_102_444_800, "{name}");
            }
            Some(k) => {
                let err = result.expect_err(name);
                assert_eq!(err.kind(), k, "{name}: {err}");
                let says = case["nacos_server_says"].as_str().unwrap();
                let message = err.nacos_message().unwrap();
                if !says.starts_with("ok") && !says.starts_with("valid while") {
                    assert_eq!(message, says, "{name}");
                }
            }
        }
    }
}

#[test]
fn algorithm_headers_are_the_server_constants() {
    for alg in Algorithm::ALL {
        let json = format!(r#"{{"alg":"{}"}}"#, alg.name());
        let decoded = base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(alg.header())
            .unwrap();
        assert_eq!(decoded, json.as_bytes());
        assert_eq!(Algorithm::from_header(alg.header()), Some(alg));
    }
}
