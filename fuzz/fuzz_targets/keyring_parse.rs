//! Keyring parsing: never panics; what parses survives a text round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::kms::{Context, Keyring, Kms};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(keyring) = Keyring::parse(text) else {
        return;
    };
    let again = Keyring::parse(&keyring.to_text()).expect("to_text output parses");
    assert_eq!(again.key_ids(), keyring.key_ids());
    for key_id in keyring.key_ids() {
        assert_eq!(again.versions(key_id), keyring.versions(key_id));
        let blob = keyring
            .encrypt(key_id, b"probe", &Context::new())
            .expect("primary key encrypts");
        assert_eq!(
            again
                .decrypt(&blob, &Context::new())
                .expect("decrypts")
                .as_bytes(),
            b"probe"
        );
    }
});
