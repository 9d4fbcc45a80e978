//! One `DataKey` (and one keyring version) used for many configs, from several threads at once:
//! with the `aws-lc` backend it keeps its expanded AES-GCM key after the first use, and every
//! result must be what a key expanded per call gives: opened by a fresh key of the same bytes,
//! by a clone (which expands again), and refused by another key.
#![cfg(all(feature = "std", feature = "getrandom"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nacoscrypt_core::Error;
use nacoscrypt_core::config::{self, ConfigId, Format, Limits};
use nacoscrypt_core::kms::{Context, DataKey, KeySpec, Keyring, Kms};

const ID: ConfigId<'static> = ConfigId {
    data_id: "cipher-kms-aes-256-reuse.properties",
    group: "DEFAULT_GROUP",
    tenant: "prod",
};

fn fresh(key: &DataKey) -> DataKey {
    DataKey::new(key.spec(), key.as_bytes()).unwrap()
}

#[test]
fn one_data_key_from_four_threads_matches_fresh_keys() {
    for spec in [KeySpec::Aes128, KeySpec::Aes256] {
        let bytes: Vec<u8> = (1u8..)
            .take(spec.key_len())
            .map(|i| i.wrapping_mul(7))
            .collect();
        let shared = DataKey::new(spec, &bytes).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let shared = &shared;
                s.spawn(move || {
                    for i in 0..200 {
                        let text = format!("thread {t} config {i}: password=s3cret");
                        let stored =
                            config::encrypt_with_data_key(shared, &ID, &text, "", Format::V1)
                                .unwrap();
                        // A key expanded per call opens it, and the shared one opens its own.
                        for key in [&fresh(shared), shared] {
                            let plain = config::decrypt_with_data_key(
                                key,
                                &ID,
                                &stored,
                                "",
                                &Limits::NACOS,
                            )
                            .unwrap();
                            assert_eq!(plain.as_str(), text);
                        }
                    }
                });
            }
        });
        // A clone starts without the expansion and agrees with the original.
        let clone = shared.clone();
        let stored = config::encrypt_with_data_key(&clone, &ID, "x=1", "", Format::V1).unwrap();
        let plain =
            config::decrypt_with_data_key(&shared, &ID, &stored, "", &Limits::NACOS).unwrap();
        assert_eq!(plain.as_str(), "x=1");
        // Another key (its own expansion) is refused, as is the right key after a bit flip.
        let mut other_bytes = bytes.clone();
        other_bytes[0] ^= 1;
        let other = DataKey::new(spec, &other_bytes).unwrap();
        for _ in 0..2 {
            assert_eq!(
                config::decrypt_with_data_key(&other, &ID, &stored, "", &Limits::NACOS)
                    .unwrap_err(),
                Error::AuthenticationFailed
            );
        }
    }
}

#[test]
fn a_keyring_version_serves_wraps_and_unwraps_from_threads_and_clones() {
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/reuse").unwrap();
    let ctx = Context::new();
    let blobs: Vec<(String, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let keyring = &keyring;
                let ctx = &ctx;
                s.spawn(move || {
                    (0..100)
                        .map(|i| {
                            let plain = format!("{t}-{i}").into_bytes();
                            let blob = keyring.encrypt("alias/reuse", &plain, ctx).unwrap();
                            assert_eq!(keyring.decrypt(&blob, ctx).unwrap().as_bytes(), plain);
                            (blob, plain)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    // A clone and a keyring parsed from the same text (both expand anew) open every blob.
    let clone = keyring.clone();
    let reparsed = Keyring::parse(&keyring.to_text()).unwrap();
    for (blob, plain) in &blobs {
        assert_eq!(clone.decrypt(blob, &ctx).unwrap().as_bytes(), &plain[..]);
        assert_eq!(reparsed.decrypt(blob, &ctx).unwrap().as_bytes(), &plain[..]);
    }
}
