//! The credentials INI file, the `aliyun` CLI's config.json and the Nacos KMS properties
//! (Java / Spring / Go names): never panic, whatever the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_kms_aliyun::fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        fuzzing::settings_text(text);
    }
});
