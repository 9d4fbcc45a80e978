//! Limits against denial of service: every parsed input has a bound, refused cheaply and with a
//! clear error just past it (and accepted at it where that is meaningful).

#![cfg(feature = "getrandom")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use nacoscrypt_core::config::{self, ConfigId, Format, Limits, MAX_ENCRYPTED_DATA_KEY_LEN, Scheme};
use nacoscrypt_core::kms::{Context, KeySpec, Keyring};
use nacoscrypt_core::token::settings::MAX_PROPERTIES_LEN;
use nacoscrypt_core::token::{
    AuthSettings, MAX_JSON_DEPTH, MAX_PAYLOAD_LEN, MAX_SECRET_TEXT_LEN, MAX_TOKEN_LEN, Properties,
    SecretKey, TokenManager,
};
use nacoscrypt_core::{Error, ErrorKind};

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
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = Keyring::parse(&"#".repeat((1 << 20) + 1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyringSyntax);
    assert!(Keyring::parse(&"#".repeat(1 << 20)).is_ok());
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
