//! Encrypt then decrypt returns the input, for every scheme and format.
//! Input: one selector byte, then `dataId-suffix\ngroup\ntenant\ncontent`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::config::{self, ConfigId, Format, Limits, Scheme};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some([suffix, group, tenant, content]) = common::fields::<4>(rest) else {
        return;
    };
    let prefix =
        ["cipher-kms-aes-256-", "cipher-kms-aes-128-", "cipher-"][usize::from(selector % 3)];
    let format = if selector & 0x80 != 0 {
        Format::V1
    } else {
        Format::Nacos
    };
    let data_id = format!("{prefix}{suffix}");
    let id = ConfigId::new(&data_id, group, tenant);
    match config::encrypt(common::keyring(), &id, content, "alias/nacos-test", format) {
        Ok(stored) => {
            let back = config::decrypt(
                common::keyring(),
                &id,
                &stored.content,
                &stored.encrypted_data_key,
            )
            .expect("what was encrypted decrypts");
            assert_eq!(back.as_str(), content);
        }
        Err(err) => {
            // Only the size rules may refuse a well-formed request.
            let scheme = Scheme::for_encrypt(&data_id).expect("a cipher- data ID");
            assert!(
                Limits::NACOS
                    .check_plaintext(scheme, content.len())
                    .is_err(),
                "{err}"
            );
        }
    }
});
