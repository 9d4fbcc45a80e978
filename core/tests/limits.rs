//! Limits against denial of service: every parsed input has a bound, refused cheaply and with a
//! clear error just past it (and accepted at it where that is meaningful).

#![cfg(feature = "getrandom")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use nacoscrypt_core::config::{self, ConfigId, Format, Scheme};
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Keyring, Kms};
use nacoscrypt_core::limits::{
    Limits, MAX_BLOB_LEN, MAX_BLOB_PLAINTEXT_LEN, MAX_ENCRYPTED_DATA_KEY_LEN, MAX_EXPANDED_LEN,
    MAX_JSON_DEPTH, MAX_KEY_ID_LEN, MAX_KEYRING_LEN, MAX_PAYLOAD_LEN, MAX_PLACEHOLDER_DEPTH,
    MAX_PLACEHOLDERS, MAX_PROPERTIES_LEN, MAX_SECRET_TEXT_LEN, MAX_TOKEN_LEN,
};
use nacoscrypt_core::token::{AuthSettings, LoginResponse, Properties, SecretKey, TokenManager};
use nacoscrypt_core::{Error, ErrorKind, SecretBytes};
use std::time::{Duration, Instant};

const KEY: [u8; 32] = [0x11; 32];

fn forge(payload: &[u8]) -> String {
    common::forge_hs256(&KEY, payload)
}

fn manager() -> TokenManager {
    TokenManager::new(SecretKey::from_bytes(&KEY).unwrap())
}

#[test]
fn tokens_over_the_length_bound_are_malformed_before_any_mac() {
    let m = manager();
    let huge = format!(
        "{}.{}.{}",
        "a".repeat(10),
        "b".repeat(MAX_TOKEN_LEN),
        "c".repeat(43)
    );
    let err = m.verify(&huge, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedToken);
    assert_eq!(err.nacos_message(), Some("token invalid!"));
    // 100 MB is refused as quickly as 10 KB: the bound is checked before anything else.
    let enormous = "x".repeat(100 << 20);
    assert_eq!(
        m.verify(&enormous, 0).unwrap_err().kind(),
        ErrorKind::MalformedToken
    );
}

#[test]
fn payload_bound_is_exact() {
    let m = manager();
    // The largest payload whose base64url has at most MAX_PAYLOAD_LEN characters, padded with
    // an ignored member, verifies; one byte more does not.
    let fits = MAX_PAYLOAD_LEN / 4 * 3;
    let make = |len: usize| {
        let head = r#"{"sub":"nacos","exp":4102444800,"pad":""#;
        let mut p = head.to_owned();
        p.push_str(&"x".repeat(len - head.len() - 2));
        p.push_str("\"}");
        p
    };
    let ok = forge(make(fits).as_bytes());
    assert!(ok.len() <= MAX_TOKEN_LEN);
    assert_eq!(m.verify(&ok, 0).unwrap().sub, "nacos");
    let over = forge(make(fits + 1).as_bytes());
    assert_eq!(
        m.verify(&over, 0).unwrap_err().kind(),
        ErrorKind::InvalidClaims
    );
}

#[test]
fn json_nesting_is_bounded() {
    let m = manager();
    let nest = |depth: usize| {
        format!(
            r#"{{"sub":"nacos","exp":4102444800,"x":{}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // The object itself is level 1: MAX_JSON_DEPTH - 1 arrays inside it is the deepest accepted.
    assert!(
        m.verify(&forge(nest(MAX_JSON_DEPTH - 1).as_bytes()), 0)
            .is_ok()
    );
    let err = m
        .verify(&forge(nest(MAX_JSON_DEPTH).as_bytes()), 0)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidClaims);
    let err = m.verify(&forge(nest(2_000).as_bytes()), 0).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidClaims,
        "deep nesting is an error, not a stack overflow"
    );
}

#[test]
fn secret_key_text_is_bounded() {
    let at = "A".repeat(MAX_SECRET_TEXT_LEN);
    assert!(SecretKey::from_base64(&at).is_ok());
    let over = "A".repeat(MAX_SECRET_TEXT_LEN + 1);
    assert_eq!(
        SecretKey::from_base64(&over).unwrap_err().kind(),
        ErrorKind::InvalidSecretKey
    );
}

#[test]
fn properties_text_is_bounded() {
    let over = "#".repeat(MAX_PROPERTIES_LEN + 1);
    assert_eq!(
        Properties::parse(&over).unwrap_err().kind(),
        ErrorKind::InvalidSettings
    );
    assert_eq!(
        AuthSettings::from_properties(&over).unwrap_err().kind(),
        ErrorKind::InvalidSettings
    );
    assert!(Properties::parse(&"#".repeat(MAX_PROPERTIES_LEN)).is_ok());
}

#[test]
fn keyring_blob_and_text_are_bounded() {
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/k").unwrap();
    let blob = "A".repeat((1 << 20) + 4);
    let err = keyring.decrypt(&blob, &Context::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContentTooLarge);
    let err = Keyring::parse(&"#".repeat(MAX_KEYRING_LEN + 1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyringSyntax);
    assert!(Keyring::parse(&"#".repeat(MAX_KEYRING_LEN)).is_ok());
}

#[test]
fn stored_config_and_encrypted_data_key_are_bounded() {
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/k").unwrap();
    let id = ConfigId::new("cipher-kms-aes-256-x", "g", "");
    let stored = config::encrypt(&keyring, &id, "a=b", "alias/k", Format::V1).unwrap();
    let limit = Limits::NACOS.max_stored_len(Scheme::Envelope(KeySpec::Aes256));
    let long = "A".repeat(limit + 1);
    assert!(matches!(
        config::decrypt(&keyring, &id, &long, &stored.encrypted_data_key).unwrap_err(),
        Error::StoredContentTooLarge { .. }
    ));
    let edk = "A".repeat(MAX_ENCRYPTED_DATA_KEY_LEN + 1);
    assert_eq!(
        config::decrypt(&keyring, &id, &stored.content, &edk).unwrap_err(),
        Error::EncryptedDataKeyTooLong {
            len: MAX_ENCRYPTED_DATA_KEY_LEN + 1
        }
    );
    let direct = ConfigId::new("cipher-x", "g", "");
    let limit = Limits::NACOS.max_stored_len(Scheme::Direct);
    assert_eq!(
        config::decrypt(&keyring, &direct, &"A".repeat(limit + 1), "")
            .unwrap_err()
            .kind(),
        ErrorKind::ContentTooLarge
    );
}

/// `SECRET_KEY=${p0}`, `p0` .. `p{depth-1}` each `${p(i+1)}` `width` times, `p{depth}` = 44
/// characters: the expansion is `44 * width^depth` bytes.
fn exponential_properties(depth: usize, width: usize) -> String {
    let mut text = String::from("nacos.core.auth.plugin.nacos.token.secret.key=${p0}\n");
    for i in 0..depth {
        text.push_str(&format!(
            "p{i}={}\n",
            format!("${{p{}}}", i + 1).repeat(width)
        ));
    }
    text.push_str(&format!("p{depth}={}\n", "A".repeat(44)));
    text
}

fn assert_fast_settings_error(text: &str, reason: &str) {
    let start = Instant::now();
    let err = AuthSettings::from_properties(text).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::InvalidSettings);
    assert!(err.to_string().contains(reason), "{err}");
}

#[test]
fn exponential_placeholder_expansion_is_refused_at_once() {
    // The issue's two files: 477 bytes (4 s, 1.1 GB before) and 2 KB (54 s, 9.5 GB before).
    let small = exponential_properties(7, 10);
    let large = exponential_properties(4, 100);
    assert!(small.len() < 600 && large.len() < 2_200);
    assert_fast_settings_error(&small, "placeholders");
    assert_fast_settings_error(&large, "placeholders");
}

#[test]
fn placeholder_count_is_bounded_exactly() {
    // `n` placeholders that each expand to one character: the count bound, not the size one.
    let text = |n: usize| {
        format!(
            "nacos.core.auth.server.identity.key={}\nx=a\n",
            "${x}".repeat(n)
        )
    };
    let at = AuthSettings::from_properties(&text(MAX_PLACEHOLDERS)).unwrap();
    assert_eq!(at.identity_key.unwrap(), "a".repeat(MAX_PLACEHOLDERS));
    assert_fast_settings_error(&text(MAX_PLACEHOLDERS + 1), "more than 256 placeholders");
}

#[test]
fn placeholder_expansion_size_is_bounded_exactly() {
    // Two placeholders whose names and values together are exactly the bound, then one byte
    // more.
    let text = |extra: usize| {
        let half = MAX_EXPANDED_LEN / 2 - 1;
        format!(
            "nacos.core.auth.server.identity.key=${{a}}${{b}}\na={}\nb={}\n",
            "a".repeat(half),
            "b".repeat(MAX_EXPANDED_LEN - 2 - half + extra)
        )
    };
    let at = AuthSettings::from_properties(&text(0)).unwrap();
    assert_eq!(at.identity_key.unwrap().len(), MAX_EXPANDED_LEN - 2);
    assert_fast_settings_error(&text(1), "more than 64 KiB");
    // A long value without placeholders is bounded by the file alone, not by expansion.
    let plain = format!(
        "nacos.core.auth.server.identity.key={}\n",
        "k".repeat(MAX_EXPANDED_LEN * 2)
    );
    assert_eq!(
        AuthSettings::from_properties(&plain)
            .unwrap()
            .identity_key
            .unwrap()
            .len(),
        MAX_EXPANDED_LEN * 2
    );
}

#[test]
fn placeholder_depth_is_bounded_exactly() {
    // A chain p0 -> p1 -> ... : `links` resolutions of a value, each one level deeper.
    let chain = |links: usize| {
        let mut text = String::from("nacos.core.auth.server.identity.key=${p0}\n");
        for i in 0..links {
            text.push_str(&format!("p{i}=${{p{}}}\n", i + 1));
        }
        text.push_str(&format!("p{links}=end\n"));
        text
    };
    // The setting's value is level 0, the value of p(i) level i + 1.
    let deepest = MAX_PLACEHOLDER_DEPTH - 1;
    assert_eq!(
        AuthSettings::from_properties(&chain(deepest))
            .unwrap()
            .identity_key
            .unwrap(),
        "end"
    );
    assert_fast_settings_error(&chain(deepest + 1), "nested too deeply");
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("nacoscrypt-limits-{}-{name}", std::process::id()))
}

#[test]
fn properties_file_is_read_with_a_bound() {
    let at = temp_path("at.properties");
    let mut text = String::from("nacos.core.auth.server.identity.key=k\n");
    text.push_str(&"#".repeat(MAX_PROPERTIES_LEN - text.len()));
    std::fs::write(&at, &text).unwrap();
    assert_eq!(
        AuthSettings::from_properties_file(&at)
            .unwrap()
            .identity_key
            .as_deref(),
        Some("k")
    );
    let over = temp_path("over.properties");
    text.push('#');
    std::fs::write(&over, &text).unwrap();
    let err = AuthSettings::from_properties_file(&over).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSettings);
    assert!(err.to_string().contains("too large"), "{err}");
    std::fs::remove_file(&at).unwrap();
    std::fs::remove_file(&over).unwrap();
}

#[cfg(unix)]
#[test]
fn properties_file_that_never_ends_fails_fast() {
    // /dev/zero: read whole before, until memory ran out.
    let start = Instant::now();
    let err = AuthSettings::from_properties_file("/dev/zero").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("character device"), "{err}");
    // A FIFO with no writer: refused, never waited on.
    let fifo = temp_path("fifo.properties");
    let _ = std::fs::remove_file(&fifo);
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = AuthSettings::from_properties_file(&fifo).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("FIFO"), "{err}");
    std::fs::remove_file(&fifo).unwrap();
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// The kind `issue` gives for `subject`, and the kind `verify` gives for the same token made
/// without the checks: a writer refuses exactly what its reader refuses.
#[test]
fn tokens_are_issued_only_if_they_verify() {
    for key_len in [32, 48, 64] {
        let key = SecretKey::from_bytes(&[7u8; 64][..key_len]).unwrap();
        let manager = TokenManager::new(key.clone());
        let mut last_ok = 0;
        for n in (6_000..6_300).step_by(3) {
            let subject = "u".repeat(n);
            let issued = manager.issue(&subject, 1_000);
            let unchecked = key.sign(&subject, 1_000 + 18_000);
            let verified = manager.verify(&unchecked, 1_000);
            match (&issued, &verified) {
                (Ok(t), Ok(c)) => {
                    assert_eq!(t.token, unchecked);
                    assert_eq!(c.sub, subject);
                    last_ok = n;
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a.kind(), b.kind(), "subject of {n}: {a} / {b}");
                    assert!(!a.to_string().contains("three"), "{a}");
                }
                _ => panic!("subject of {n}: issue {issued:?}, verify {verified:?}"),
            }
        }
        assert!(last_ok > 6_000, "some subjects must fit ({key_len})");
    }
    // The message names the real cause.
    let m = manager();
    let err = m.issue(&"u".repeat(7_000), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedToken);
    assert_eq!(
        err.to_string(),
        format!("malformed token: longer than {MAX_TOKEN_LEN} bytes")
    );
    assert_eq!(err.nacos_message(), Some("token invalid!"));
    let huge = "x".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(m.verify(&huge, 0).unwrap_err(), err);
    // A subject far over the bound is refused before anything is signed.
    assert_eq!(
        m.issue(&"u".repeat(50 << 20), 0).unwrap_err().kind(),
        ErrorKind::MalformedToken
    );
}

#[test]
fn token_length_bound_is_exact() {
    // HS512: the longest token is exactly MAX_TOKEN_LEN (payload of MAX_PAYLOAD_LEN).
    let key = SecretKey::from_bytes(&[9u8; 64]).unwrap();
    let manager = TokenManager::new(key.clone());
    let fits = (6_000..6_300)
        .filter(|n| manager.issue(&"u".repeat(*n), 0).is_ok())
        .max()
        .unwrap();
    let token = manager.issue(&"u".repeat(fits), 0).unwrap().token;
    assert!(token.len() <= MAX_TOKEN_LEN && token.len() > MAX_TOKEN_LEN - 4);
    let over = key.sign(&"u".repeat(fits + 1), 18_000);
    assert!(over.len() > MAX_TOKEN_LEN);
    assert_eq!(
        manager.verify(&over, 0).unwrap_err().kind(),
        ErrorKind::MalformedToken
    );
}

#[test]
fn nul_in_a_subject_is_neither_issued_nor_accepted() {
    let m = manager();
    let err = m.issue("a\0b", 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidClaims);
    assert!(err.to_string().contains("NUL"), "{err}");
    // A validly signed token whose sub is "a\u0000b" (escaped or as the server writes it).
    let key = SecretKey::from_bytes(&KEY).unwrap();
    let signed = key.sign("a\0b", 4_102_444_800);
    let err = m.verify(&signed, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidClaims);
    let forged = forge(br#"{"sub":"a\u0000b","exp":4102444800,"x":1}"#);
    assert_eq!(
        m.verify(&forged, 0).unwrap_err().kind(),
        ErrorKind::InvalidClaims
    );
    // Other control characters still round-trip.
    let ok = m.issue("a\u{1}b", 0).unwrap();
    assert_eq!(m.verify(&ok.token, 0).unwrap().sub, "a\u{1}b");
}

#[test]
fn nul_in_a_login_response_is_refused() {
    let err = LoginResponse::parse(r#"{"accessToken":"a\u0000b","tokenTtl":5}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("NUL"), "{err}");
    let err = LoginResponse::parse(r#"{"accessToken":"a.b.c","tokenTtl":5,"username":"x\u0000"}"#)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(LoginResponse::parse(r#"{"accessToken":"a.b.c","tokenTtl":5}"#).is_ok());
}

#[test]
fn keyring_writes_only_blobs_it_reads() {
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/k").unwrap();
    let ctx = Context::new();
    let at = vec![0x5a; MAX_BLOB_PLAINTEXT_LEN];
    let blob = keyring.encrypt("alias/k", &at, &ctx).unwrap();
    assert!(blob.len() <= MAX_BLOB_LEN);
    assert_eq!(keyring.decrypt(&blob, &ctx).unwrap().as_bytes(), &at[..]);
    let over = vec![0x5a; MAX_BLOB_PLAINTEXT_LEN + 1];
    let err = keyring.encrypt("alias/k", &over, &ctx).unwrap_err();
    assert_eq!(
        err,
        Error::ContentTooLarge {
            size: MAX_BLOB_PLAINTEXT_LEN + 1,
            limit: MAX_BLOB_PLAINTEXT_LEN
        }
    );
    // 10 MB: refused by the writer with the reader's kind.
    let err = keyring
        .encrypt("alias/k", &vec![0; 10 << 20], &ctx)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContentTooLarge);
    let err = keyring
        .decrypt(&"A".repeat(MAX_BLOB_LEN + 1), &ctx)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContentTooLarge);
    assert!(
        err.to_string().contains("ciphertext blob too large"),
        "{err}"
    );
}

#[test]
fn unbounded_limits_report_content_too_large() {
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/k").unwrap();
    let unbounded = Limits {
        envelope: usize::MAX,
        direct: usize::MAX,
    };
    let id = ConfigId::new("cipher-x", "g", "");
    let err = config::decrypt_with_limits(&keyring, &id, &"A".repeat(2 << 20), "", &unbounded)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContentTooLarge, "{err}");
}

#[test]
fn short_v1_content_is_classified_by_its_cause() {
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/k").unwrap();
    let id = ConfigId::new("cipher-kms-aes-256-x", "g", "");
    let stored = config::encrypt(&keyring, &id, "a=b", "alias/k", Format::V1).unwrap();
    let edk = &stored.encrypted_data_key;
    // Valid base64, too short for a nonce and a tag: the same kind at every length.
    for n in [0usize, 3, 11, 12, 27] {
        let content = format!("nc1:{}", common::b64(&vec![0u8; n]));
        let err = config::decrypt(&keyring, &id, &content, edk).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed, "{n} bytes");
    }
    for bad in ["nc1:A", "nc1:AAAAAAAAAAAAAAA*", "nc1:AAAAAAAAAAAAAAAAAAAA!"] {
        let err = config::decrypt(&keyring, &id, bad, edk).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidBase64, "{bad}");
    }
}

/// A KMS whose blobs hold a NUL character.
struct NulKms;

impl Kms for NulKms {
    fn generate_data_key(
        &self,
        _key_id: &str,
        spec: KeySpec,
        _context: &Context<'_>,
    ) -> nacoscrypt_core::Result<GeneratedDataKey> {
        Ok(GeneratedDataKey {
            plaintext: SecretBytes::copy_from(&vec![1u8; spec.key_len()]),
            ciphertext_blob: "blob\0tail".to_owned(),
        })
    }
    fn encrypt(
        &self,
        _key_id: &str,
        _plaintext: &[u8],
        _context: &Context<'_>,
    ) -> nacoscrypt_core::Result<String> {
        Ok("blob\0tail".to_owned())
    }
    fn decrypt(&self, _blob: &str, _context: &Context<'_>) -> nacoscrypt_core::Result<SecretBytes> {
        Err(Error::kms("unused"))
    }
}

#[test]
fn a_kms_blob_holding_nul_is_never_stored() {
    for data_id in ["cipher-kms-aes-256-x", "cipher-kms-aes-128-x", "cipher-x"] {
        let id = ConfigId::new(data_id, "g", "");
        for format in [Format::Nacos, Format::V1] {
            let err = config::encrypt(&NulKms, &id, "a=b", "k", format).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Kms, "{data_id}");
            assert!(err.to_string().contains("NUL"), "{err}");
        }
    }
}

#[test]
fn a_keyring_never_grows_past_what_parse_reads() {
    let mut keyring = Keyring::new();
    let id = "k".repeat(MAX_KEY_ID_LEN);
    keyring.add_new_key(&id).unwrap();
    let err = loop {
        if let Err(e) = keyring.rotate(&id) {
            break e;
        }
    };
    assert_eq!(err.kind(), ErrorKind::KeyringSyntax);
    assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
    let text = keyring.to_text();
    // At the bound (within one line of it), and read back whole.
    assert!(text.len() <= MAX_KEYRING_LEN && text.len() > MAX_KEYRING_LEN - 256);
    let back = Keyring::parse(&text).unwrap();
    assert_eq!(back.to_text().as_str(), text.as_str());
}
