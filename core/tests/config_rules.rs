//! The rules of SPEC 2, one test each: schemes, limits, formats, binding, keyring files.

#![cfg(feature = "getrandom")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod common;

use nacoscrypt_core::config::{self, ConfigId, Format, Limits, Scheme};
use nacoscrypt_core::kms::{Context, DataKey, GeneratedDataKey, KeySpec, Keyring, Kms};
use nacoscrypt_core::{Error, ErrorKind, Result, SecretBytes};

const KEY: &str = "alias/test";
const ENVELOPE_256: &str = "cipher-kms-aes-256-db.properties";
const ENVELOPE_128: &str = "cipher-kms-aes-128-app.yaml";
const DIRECT: &str = "cipher-token.json";

fn keyring() -> Keyring {
    let mut k = Keyring::new();
    k.add_new_key(KEY).unwrap();
    k
}

fn id(data_id: &str) -> ConfigId<'_> {
    ConfigId::new(data_id, "DEFAULT_GROUP", "")
}

fn kind<T: std::fmt::Debug>(r: Result<T>) -> ErrorKind {
    r.unwrap_err().kind()
}

#[test]
fn limits_are_exact_at_the_boundary_for_every_scheme_and_format() {
    let kms = keyring();
    for (data_id, limit) in [
        (ENVELOPE_256, 51_200),
        (ENVELOPE_128, 51_200),
        (DIRECT, 6_144),
    ] {
        for format in [Format::Nacos, Format::V1] {
            let at = "x".repeat(limit);
            let stored = config::encrypt(&kms, &id(data_id), &at, KEY, format).unwrap();
            let back = config::decrypt(
                &kms,
                &id(data_id),
                &stored.content,
                &stored.encrypted_data_key,
            )
            .unwrap();
            assert_eq!(back.len(), limit);

            let over = "x".repeat(limit + 1);
            let err = config::encrypt(&kms, &id(data_id), &over, KEY, format).unwrap_err();
            assert_eq!(
                err,
                Error::ContentTooLarge {
                    size: limit + 1,
                    limit
                }
            );
            assert!(err.to_string().contains(&(limit + 1).to_string()));
            assert!(err.to_string().contains(&limit.to_string()));
        }
    }
}

#[test]
fn limits_count_utf8_bytes_not_characters() {
    let kms = keyring();
    let three_byte_chars = "中".repeat(2_048); // 6,144 bytes
    assert!(config::encrypt(&kms, &id(DIRECT), &three_byte_chars, KEY, Format::Nacos).is_ok());
    let one_more = format!("{three_byte_chars}a");
    assert_eq!(
        config::encrypt(&kms, &id(DIRECT), &one_more, KEY, Format::Nacos).unwrap_err(),
        Error::ContentTooLarge {
            size: 6_145,
            limit: 6_144
        }
    );
}

#[test]
fn stored_content_over_the_maximal_encoding_is_refused_before_decoding() {
    let kms = keyring();
    let limit = Limits::NACOS.max_stored_len(Scheme::Envelope(KeySpec::Aes256));
    // Not even base64: the size check must come first.
    let huge = "!".repeat(limit + 1);
    let err = config::decrypt(&kms, &id(ENVELOPE_256), &huge, "edk").unwrap_err();
    assert_eq!(
        err,
        Error::StoredContentTooLarge {
            size: limit + 1,
            limit
        }
    );
    // A maximal plaintext's encodings fit, in both formats.
    for format in [Format::Nacos, Format::V1] {
        let stored =
            config::encrypt(&kms, &id(ENVELOPE_256), &"y".repeat(51_200), KEY, format).unwrap();
        assert!(stored.content.len() <= limit);
    }
    // Raised limits for reading.
    let raised = Limits {
        envelope: 1 << 20,
        ..Limits::NACOS
    };
    let big = "!".repeat(limit + 1);
    // Past the size check now, it fails where decoding starts (the wrapped key is not base64).
    assert_eq!(
        kind(config::decrypt_with_limits(
            &kms,
            &id(ENVELOPE_256),
            &big,
            "edk",
            &raised
        )),
        ErrorKind::InvalidBase64
    );
}

#[test]
fn a_reader_can_raise_the_limits() {
    let kms = keyring();
    let key = DataKey::new(KeySpec::Aes256, &[4; 32]).unwrap();
    // Another writer produced a 60 KiB config: refused by default, read with raised limits.
    let big = "z".repeat(60 * 1024);
    let content = big_content(&key, &big);
    let err = config::decrypt_with_data_key(&key, &id(ENVELOPE_256), &content, "", &Limits::NACOS)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContentTooLarge);
    let raised = Limits {
        envelope: 64 * 1024,
        ..Limits::NACOS
    };
    let back =
        config::decrypt_with_data_key(&key, &id(ENVELOPE_256), &content, "", &raised).unwrap();
    assert_eq!(back.as_str(), big);
    let _ = kms;
}

/// ECB-encrypts without the writer's limit, as an external client could.
fn big_content(key: &DataKey, plaintext: &str) -> String {
    let half = plaintext.len() / 2;
    // Two halves are each under the limit; ECB blocks are independent, so concatenating the
    // ciphertext of the first half without its padding block with the second half's works when
    // the first half is block aligned.
    assert_eq!(half % 16, 0);
    let a = config::encrypt_with_data_key(
        key,
        &id(ENVELOPE_256),
        &plaintext[..half],
        "",
        Format::Nacos,
    )
    .unwrap();
    let b = config::encrypt_with_data_key(
        key,
        &id(ENVELOPE_256),
        &plaintext[half..],
        "",
        Format::Nacos,
    )
    .unwrap();
    let mut raw = common::unb64(&a);
    raw.truncate(raw.len() - 16);
    raw.extend(common::unb64(&b));
    common::b64(&raw)
}

#[test]
fn empty_content_is_refused_both_ways() {
    let kms = keyring();
    for data_id in [ENVELOPE_256, ENVELOPE_128, DIRECT] {
        for format in [Format::Nacos, Format::V1] {
            assert_eq!(
                config::encrypt(&kms, &id(data_id), "", KEY, format).unwrap_err(),
                Error::EmptyContent
            );
        }
        assert_eq!(
            kind(config::decrypt(&kms, &id(data_id), "", "edk")),
            ErrorKind::EmptyContent
        );
    }
}

#[test]
fn a_data_id_without_cipher_prefix_is_never_passed_through() {
    let kms = keyring();
    for data_id in [
        "application.yaml",
        "Cipher-x",
        "cipher",
        "kms-aes-256-x",
        "",
    ] {
        assert_eq!(
            kind(config::encrypt(
                &kms,
                &id(data_id),
                "a=b",
                KEY,
                Format::Nacos
            )),
            ErrorKind::NotEncryptedDataId,
            "{data_id}"
        );
        assert_eq!(
            kind(config::decrypt(&kms, &id(data_id), "a=b", "")),
            ErrorKind::NotEncryptedDataId
        );
    }
    assert!(!Scheme::is_encrypted_data_id("application.yaml"));
}

#[test]
fn schemes_follow_prefixes_in_order() {
    assert_eq!(
        Scheme::for_encrypt("cipher-kms-aes-256-").unwrap(),
        Scheme::Envelope(KeySpec::Aes256)
    );
    assert_eq!(
        Scheme::for_encrypt("cipher-kms-aes-128-").unwrap(),
        Scheme::Envelope(KeySpec::Aes128)
    );
    // Without the trailing hyphen, writers use the direct scheme (as the Java client does).
    assert_eq!(
        Scheme::for_encrypt("cipher-kms-aes-256x").unwrap(),
        Scheme::Direct
    );
    assert_eq!(
        Scheme::for_encrypt("cipher-kms-aes-512-x").unwrap(),
        Scheme::Direct
    );
}

#[test]
fn hyphenless_ids_from_go_and_python_sdks_decrypt_as_envelope() {
    let kms = keyring();
    for (hyphenless, spec) in [
        ("cipher-kms-aes-256db", KeySpec::Aes256),
        ("cipher-kms-aes-128app", KeySpec::Aes128),
    ] {
        // What the Go SDK writes: an envelope config under a hyphenless ID.
        let generated = kms.generate_data_key(KEY, spec, &Context::new()).unwrap();
        let key = DataKey::new(spec, generated.plaintext.as_bytes()).unwrap();
        let content =
            config::encrypt_with_data_key(&key, &id(hyphenless), "k=v", "", Format::Nacos).unwrap();
        let back =
            config::decrypt(&kms, &id(hyphenless), &content, &generated.ciphertext_blob).unwrap();
        assert_eq!(back.as_str(), "k=v");
        assert_eq!(Scheme::for_decrypt(hyphenless, "").unwrap(), Scheme::Direct);
    }
}

#[test]
fn envelope_without_encrypted_data_key_is_an_error() {
    let kms = keyring();
    let stored = config::encrypt(&kms, &id(ENVELOPE_256), "a=b", KEY, Format::Nacos).unwrap();
    assert_eq!(
        config::decrypt(&kms, &id(ENVELOPE_256), &stored.content, "").unwrap_err(),
        Error::MissingEncryptedDataKey
    );
    let long = "A".repeat(1_025);
    assert_eq!(
        config::decrypt(&kms, &id(ENVELOPE_256), &stored.content, &long).unwrap_err(),
        Error::EncryptedDataKeyTooLong { len: 1_025 }
    );
}

#[test]
fn v1_configs_are_bound_to_identity_and_data_key() {
    let kms = keyring();
    let original = ConfigId::new(ENVELOPE_256, "payments", "prod");
    for data_id in [ENVELOPE_256, ENVELOPE_128, DIRECT] {
        let original = ConfigId {
            data_id,
            ..original
        };
        let stored = config::encrypt(&kms, &original, "secret=1", KEY, Format::V1).unwrap();
        assert_eq!(
            config::decrypt(&kms, &original, &stored.content, &stored.encrypted_data_key)
                .unwrap()
                .as_str(),
            "secret=1"
        );
        let moved_data_id = format!("{data_id}.bak");
        for moved in [
            ConfigId {
                data_id: &moved_data_id,
                ..original
            },
            ConfigId {
                group: "DEFAULT_GROUP",
                ..original
            },
            ConfigId {
                tenant: "",
                ..original
            },
            ConfigId {
                tenant: "public",
                ..original
            },
        ] {
            let err = config::decrypt(&kms, &moved, &stored.content, &stored.encrypted_data_key)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{moved:?}");
        }
    }
    // Swapped data keys: another config's encryptedDataKey under the same identity.
    let a = config::encrypt(&kms, &original, "a=1", KEY, Format::V1).unwrap();
    let b = config::encrypt(&kms, &original, "b=2", KEY, Format::V1).unwrap();
    let err = config::decrypt(&kms, &original, &a.content, &b.encrypted_data_key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
}

#[test]
fn v1_swapped_key_is_caught_even_when_the_kms_ignores_context() {
    // A KMS that does not bind the context: the v1 AAD over the encryptedDataKey still catches
    // a swap of data keys between configs.
    let kms = ContextBlind(keyring());
    let id = ConfigId::new(ENVELOPE_256, "g", "t");
    let a = config::encrypt(&kms, &id, "a=1", KEY, Format::V1).unwrap();
    let b = config::encrypt(&kms, &id, "b=2", KEY, Format::V1).unwrap();
    let err = config::decrypt(&kms, &id, &a.content, &b.encrypted_data_key).unwrap_err();
    assert_eq!(err, Error::AuthenticationFailed);
    let moved = ConfigId::new(ENVELOPE_256, "g2", "t");
    assert_eq!(
        config::decrypt(&kms, &moved, &a.content, &a.encrypted_data_key).unwrap_err(),
        Error::AuthenticationFailed
    );
}

struct ContextBlind(Keyring);

impl Kms for ContextBlind {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        _: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        self.0.generate_data_key(key_id, spec, &Context::new())
    }
    fn encrypt(&self, key_id: &str, plaintext: &[u8], _: &Context<'_>) -> Result<String> {
        self.0.encrypt(key_id, plaintext, &Context::new())
    }
    fn decrypt(&self, blob: &str, _: &Context<'_>) -> Result<SecretBytes> {
        self.0.decrypt(blob, &Context::new())
    }
}

#[test]
fn a_kms_handing_out_a_wrong_length_key_is_refused() {
    struct Short;
    impl Kms for Short {
        fn generate_data_key(
            &self,
            _: &str,
            _: KeySpec,
            _: &Context<'_>,
        ) -> Result<GeneratedDataKey> {
            Ok(GeneratedDataKey {
                plaintext: SecretBytes::from(vec![1; 16]),
                ciphertext_blob: "blob".into(),
            })
        }
        fn encrypt(&self, _: &str, _: &[u8], _: &Context<'_>) -> Result<String> {
            Err(Error::kms("provider says no"))
        }
        fn decrypt(&self, _: &str, _: &Context<'_>) -> Result<SecretBytes> {
            Ok(SecretBytes::from(vec![1; 16]))
        }
    }
    assert_eq!(
        config::encrypt(&Short, &id(ENVELOPE_256), "a", KEY, Format::Nacos).unwrap_err(),
        Error::DataKeyLength {
            expected: 32,
            len: 16
        }
    );
    let err = config::encrypt(&Short, &id(DIRECT), "a", KEY, Format::Nacos).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Kms);
    assert_eq!(err.to_string(), "KMS failure: provider says no");
    let err = config::decrypt(
        &Short,
        &id(ENVELOPE_256),
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "blob",
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::DataKeyLength {
            expected: 32,
            len: 16
        }
    );
}

#[test]
fn errors_never_contain_plaintext() {
    let kms = keyring();
    let secret = "password=hunter2-very-secret";
    let stored = config::encrypt(&kms, &id(ENVELOPE_256), secret, KEY, Format::Nacos).unwrap();
    let other = ConfigId::new(DIRECT, "g", "");
    let errors = [
        config::decrypt(&kms, &other, &stored.content, "").unwrap_err(),
        config::encrypt(&kms, &id("plain"), secret, KEY, Format::Nacos).unwrap_err(),
        config::encrypt(
            &kms,
            &id(ENVELOPE_256),
            secret,
            "alias/missing",
            Format::Nacos,
        )
        .unwrap_err(),
    ];
    for err in errors {
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    }
    let plain = config::decrypt(
        &kms,
        &id(ENVELOPE_256),
        &stored.content,
        &stored.encrypted_data_key,
    )
    .unwrap();
    assert!(!format!("{plain:?}").contains("hunter2"));
}

#[test]
fn rotation_old_versions_decrypt_new_blobs_use_the_primary() {
    let mut kms = keyring();
    let first = kms.primary_version(KEY).unwrap().to_owned();
    let old = config::encrypt(&kms, &id(ENVELOPE_256), "v=1", KEY, Format::V1).unwrap();
    let old_direct = config::encrypt(&kms, &id(DIRECT), "v=1", KEY, Format::Nacos).unwrap();
    let second = kms.rotate(KEY).unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(kms.versions(KEY), [first.as_str(), second.as_str()]);
    assert_eq!(kms.primary_version(KEY), Some(second.as_str()));

    assert_eq!(
        config::decrypt(
            &kms,
            &id(ENVELOPE_256),
            &old.content,
            &old.encrypted_data_key
        )
        .unwrap()
        .as_str(),
        "v=1"
    );
    assert_eq!(
        config::decrypt(&kms, &id(DIRECT), &old_direct.content, "")
            .unwrap()
            .as_str(),
        "v=1"
    );

    let new = config::encrypt(&kms, &id(ENVELOPE_256), "v=2", KEY, Format::Nacos).unwrap();
    assert_eq!(
        &common::unb64(&new.encrypted_data_key)[..36],
        second.as_bytes()
    );
    assert_eq!(
        &common::unb64(&old.encrypted_data_key)[..36],
        first.as_bytes()
    );

    // Survives a text round trip, order (and so the primary) preserved.
    let reparsed = Keyring::parse(&kms.to_text()).unwrap();
    assert_eq!(reparsed.versions(KEY), kms.versions(KEY));
    assert_eq!(
        config::decrypt(
            &reparsed,
            &id(ENVELOPE_256),
            &new.content,
            &new.encrypted_data_key
        )
        .unwrap()
        .as_str(),
        "v=2"
    );
    assert_eq!(kind(kms.rotate("alias/unknown")), ErrorKind::UnknownKey);
    assert_eq!(kind(kms.add_new_key(KEY)), ErrorKind::InvalidArgument);
}

#[test]
fn unknown_key_ids_and_versions() {
    let kms = keyring();
    assert_eq!(
        config::encrypt(&kms, &id(ENVELOPE_256), "a", "alias/none", Format::Nacos).unwrap_err(),
        Error::UnknownKeyId
    );
    let stored = config::encrypt(&kms, &id(ENVELOPE_256), "a", KEY, Format::Nacos).unwrap();
    let other = keyring();
    assert_eq!(
        config::decrypt(
            &other,
            &id(ENVELOPE_256),
            &stored.content,
            &stored.encrypted_data_key
        )
        .unwrap_err(),
        Error::UnknownKeyVersion
    );
}

const VERSION_A: &str = "52f22665-a60c-42d2-a918-5d950ee88136";
const VERSION_B: &str = "248a1e92-4e8f-40ae-ae1a-9492a3305f18";
const KEY_B64: &str = "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=";

#[test]
fn keyring_text_errors_name_the_line() {
    let cases = [
        (
            format!("key alias/a {VERSION_A}"),
            ErrorKind::KeyringSyntax,
            "expected `key",
        ),
        (
            format!("key alias/a {VERSION_A} {KEY_B64} extra"),
            ErrorKind::KeyringSyntax,
            "expected `key",
        ),
        (
            format!("kee alias/a {VERSION_A} {KEY_B64}"),
            ErrorKind::KeyringSyntax,
            "start with `key`",
        ),
        (
            format!("key alias/a short {KEY_B64}"),
            ErrorKind::KeyringSyntax,
            "36",
        ),
        (
            format!("key {} {VERSION_A} {KEY_B64}", "k".repeat(129)),
            ErrorKind::KeyringSyntax,
            "128",
        ),
        (
            format!("key alias/ä {VERSION_A} {KEY_B64}"),
            ErrorKind::KeyringSyntax,
            "printable ASCII",
        ),
        (
            format!("key alias/a {VERSION_A} not-base64!"),
            ErrorKind::KeyringSyntax,
            "base64",
        ),
        (
            format!("key alias/a {VERSION_A} AAECAwQFBgcICQoLDA0ODw=="),
            ErrorKind::KeyringKeyLength,
            "16 bytes",
        ),
    ];
    for (bad, want, words) in cases {
        let text = format!("# comment\n\n  key alias/ok {VERSION_B} {KEY_B64}\n{bad}\n");
        let err = Keyring::parse(&text).unwrap_err();
        assert_eq!(err.kind(), want, "{bad}");
        let msg = err.to_string();
        assert!(msg.starts_with("keyring line 4: "), "{msg}");
        assert!(msg.contains(words), "{msg}");
        assert!(!msg.contains(KEY_B64), "no key material in errors");
    }
}

#[test]
fn keyring_duplicate_versions_are_refused_even_across_key_ids() {
    let text = format!("key alias/a {VERSION_A} {KEY_B64}\nkey alias/b {VERSION_A} {KEY_B64}\n");
    assert_eq!(
        Keyring::parse(&text).unwrap_err(),
        Error::DuplicateKeyVersion { line: 2 }
    );
}

#[test]
fn keyring_accepts_crlf_comments_and_blank_lines() {
    let text = format!("# a\r\n\r\n\tkey alias/a {VERSION_A} {KEY_B64}\r\n   # b\r\n");
    let k = Keyring::parse(&text).unwrap();
    assert_eq!(k.key_ids(), ["alias/a"]);
    assert!(Keyring::parse("").unwrap().is_empty());
    assert!(Keyring::parse(&"#".repeat((1 << 20) + 1)).is_err());
}

#[test]
fn keyring_debug_shows_ids_never_keys() {
    let text = format!("key alias/a {VERSION_A} {KEY_B64}\n");
    let k = Keyring::parse(&text).unwrap();
    let dbg = format!("{k:?}");
    assert!(dbg.contains("alias/a"));
    assert!(
        !dbg.contains(KEY_B64) && !dbg.contains("9, 22, 111"),
        "{dbg}"
    );
    let key = DataKey::new(KeySpec::Aes256, &[0x41; 32]).unwrap();
    assert_eq!(format!("{key:?}"), "DataKey(AES_256, [REDACTED])");
}

#[cfg(unix)]
mod files {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("nacoscrypt-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn create_load_rotate_and_permissions() {
        let dir = temp_dir("files");
        let path = dir.join("keyring");
        let created = Keyring::create(&path, KEY).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            kind(Keyring::create(&path, KEY)),
            ErrorKind::Io,
            "never overwrites"
        );

        let loaded = Keyring::load(&path).unwrap();
        assert_eq!(loaded.versions(KEY), created.versions(KEY));
        let stored =
            config::encrypt(&loaded, &id(ENVELOPE_256), "a=b", KEY, Format::Nacos).unwrap();

        let new_version = Keyring::rotate_file(&path, KEY, false).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let rotated = Keyring::load(&path).unwrap();
        assert_eq!(rotated.primary_version(KEY), Some(new_version.as_str()));
        assert_eq!(rotated.versions(KEY).len(), 2);
        assert_eq!(
            config::decrypt(
                &rotated,
                &id(ENVELOPE_256),
                &stored.content,
                &stored.encrypted_data_key
            )
            .unwrap()
            .as_str(),
            "a=b"
        );
        Keyring::rotate_file(&path, "alias/second", true).unwrap();
        assert_eq!(
            Keyring::load(&path).unwrap().key_ids(),
            [KEY, "alias/second"]
        );
        assert_eq!(
            kind(Keyring::rotate_file(&path, "alias/third", false)),
            ErrorKind::UnknownKey
        );

        for mode in [0o644, 0o640, 0o604, 0o660, 0o601] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = Keyring::load(&path).unwrap_err();
            assert_eq!(err, Error::LoosePermissions { mode });
            assert!(err.to_string().contains("chmod 600"));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(Keyring::load(&path).is_ok());
        assert_eq!(kind(Keyring::load(dir.join("missing"))), ErrorKind::Io);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn oversized_keyring_files_are_refused() {
        let dir = temp_dir("big");
        let path = dir.join("keyring");
        std::fs::write(&path, "#".repeat((1 << 20) + 1)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(kind(Keyring::load(&path)), ErrorKind::KeyringSyntax);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
