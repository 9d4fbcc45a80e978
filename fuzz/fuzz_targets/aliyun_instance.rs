//! The KMS instance API's protobuf answers and the ClientKey JSON reader: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_kms_aliyun::fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::instance_answer(data);
    if let Ok(text) = std::str::from_utf8(data) {
        fuzzing::client_key(text);
    }
});
