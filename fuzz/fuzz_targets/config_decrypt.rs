//! Config decrypt of arbitrary content / encryptedDataKey / identity with a local keyring.
//! Input: `dataId\ngroup\ntenant\nencryptedDataKey\ncontent`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::config::{self, ConfigId, Limits};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some([data_id, group, tenant, edk, content]) = common::fields::<5>(data) else {
        return;
    };
    let id = ConfigId::new(data_id, group, tenant);
    if let Ok(plain) = config::decrypt(common::keyring(), &id, content, edk) {
        // Whatever decrypts is non-empty UTF-8 within the limits.
        assert!(!plain.is_empty());
        assert!(plain.len() <= Limits::NACOS.envelope);
    }
});
