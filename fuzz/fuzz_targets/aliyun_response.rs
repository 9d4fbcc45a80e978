//! Alibaba Cloud KMS answers (any status, any body), read as the client reads a `Decrypt`
//! answer down to the data key; and STS / ECS metadata / credentials-URI answers: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_kms_aliyun::fuzzing;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_le_bytes([*a, *b]) % 600, rest),
        _ => (200, data),
    };
    fuzzing::kms_answer(status, body);
    fuzzing::credentials_answer(body);
});
