//! Property tests: random content round trips in both formats and all schemes.

#![cfg(feature = "getrandom")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::Keyring;
use proptest::prelude::*;
use std::sync::OnceLock;

fn keyring() -> &'static Keyring {
    static K: OnceLock<Keyring> = OnceLock::new();
    K.get_or_init(|| {
        let mut k = Keyring::new();
        k.add_new_key("alias/p").unwrap();
        k
    })
}

/// Random UTF-8 text of 1..=max bytes (any Unicode scalar values, cut to fit).
fn content(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 1..=max).prop_map(move |chars| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > max {
                break;
            }
            s.push(c);
        }
        if s.is_empty() { "x".to_owned() } else { s }
    })
}

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._:中-]{0,24}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn envelope_round_trips(
        text in prop_oneof![content(64), content(2_048), content(51_200)],
        aes256 in any::<bool>(),
        v1 in any::<bool>(),
        suffix in ident(), group in ident(), tenant in ident(),
    ) {
        let data_id = format!("cipher-kms-aes-{}-{suffix}", if aes256 { 256 } else { 128 });
        let id = ConfigId::new(&data_id, &group, &tenant);
        let format = if v1 { Format::V1 } else { Format::Nacos };
        let stored = config::encrypt(keyring(), &id, &text, "alias/p", format).unwrap();
        let back = config::decrypt(keyring(), &id, &stored.content, &stored.encrypted_data_key).unwrap();
        prop_assert_eq!(back.as_str(), text.as_str());
    }

    #[test]
    fn direct_round_trips(text in content(6_144), v1 in any::<bool>(), suffix in ident(), group in ident()) {
        let data_id = format!("cipher-{suffix}");
        let id = ConfigId::new(&data_id, &group, "");
        let format = if v1 { Format::V1 } else { Format::Nacos };
        let stored = config::encrypt(keyring(), &id, &text, "alias/p", format).unwrap();
        prop_assert!(stored.encrypted_data_key.is_empty());
        let back = config::decrypt(keyring(), &id, &stored.content, "").unwrap();
        prop_assert_eq!(back.as_str(), text.as_str());
        // An empty tenant and `public` are the same namespace.
        let public = ConfigId::new(&data_id, &group, "public");
        let again = config::decrypt(keyring(), &public, &stored.content, "").unwrap();
        prop_assert_eq!(again.as_str(), text.as_str());
    }

    #[test]
    fn garbage_never_panics(content in ".{0,200}", edk in ".{0,80}", data_id in prop_oneof![
        Just("cipher-kms-aes-256-x"), Just("cipher-kms-aes-128-x"), Just("cipher-x"), Just("cipher-kms-aes-256x")]) {
        let id = ConfigId::new(data_id, "g", "");
        let _ = config::decrypt(keyring(), &id, &content, &edk);
        let with_marker = format!("nc1:{content}");
        let _ = config::decrypt(keyring(), &id, &with_marker, &edk);
    }
}
