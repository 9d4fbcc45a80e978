//! The application.properties reader and the auth settings built from it: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::properties::Properties;
use nacoscrypt_core::token::AuthSettings;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(props) = Properties::parse(text) {
        for (k, _) in props.iter() {
            assert!(props.get(k).is_some());
        }
    }
    if let Ok(settings) = AuthSettings::from_properties(text) {
        let _ = settings.token_manager_allowing_publicly_known();
        let _ = settings.server_identity_allowing_publicly_known();
    }
});
