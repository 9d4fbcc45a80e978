//! Secret key decoding (the server's lenient base64): never panics; what decodes re-encodes to a
//! text that decodes to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::token::SecretKey;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = SecretKey::from_base64_allowing_publicly_known(text) {
        assert!(key.bits() >= 256);
        let again = SecretKey::from_base64_allowing_publicly_known(&key.to_base64())
            .expect("canonical base64 of a key decodes");
        assert_eq!(again.as_bytes(), key.as_bytes());
        assert_eq!(again.algorithm(), key.algorithm());
    }
});
