//! The KMS 3.0 instance API client against the loopback instance test server, with the
//! official `alibabacloud-dkms-gcs` SDK and transfer client as oracles: signatures byte for
//! byte, blobs both ways, ClientKey refusals, faults, TLS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use common::{instance_oracle, instance_server};
use nacoscrypt_core::config::doctor::KeyOrigin;
use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::{Context, KeySpec, Kms};
use nacoscrypt_core::{Error, ErrorKind, SecretString};
use nacoscrypt_kms_aliyun::config::AliyunConfig;
use nacoscrypt_kms_aliyun::{AliyunInstanceKms, ClientKey, RetryPolicy};
use serde_json::json;
use std::time::{Duration, Instant};

fn password(s: &common::Server, which: &str) -> SecretString {
    SecretString::from(
        std::fs::read_to_string(s.get(&format!("client_key_{which}_password"))).unwrap(),
    )
}

fn key(s: &common::Server, which: &str) -> ClientKey {
    ClientKey::from_file(
        s.get(&format!("client_key_{which}")).as_ref(),
        &password(s, which),
    )
    .unwrap()
}

fn kms(s: &common::Server) -> AliyunInstanceKms {
    AliyunInstanceKms::builder()
        .endpoint(s.get("instance"))
        .client_key(key(s, "good"))
        .ca_pem(s.ca_pem())
        .timeouts(Duration::from_secs(2), Duration::from_secs(3))
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

fn oracle_base(s: &common::Server) -> serde_json::Value {
    json!({
        "endpoint": s.get("instance"), "ca": s.get("ca"),
        "client_key_file": s.get("client_key_good"),
        "password": std::fs::read_to_string(s.get("client_key_good_password")).unwrap(),
    })
}

fn code(e: &Error) -> String {
    match e {
        Error::KmsService(s) => s.code.clone(),
        other => panic!("not a service error: {other:?}"),
    }
}

#[test]
fn request_signatures_are_byte_identical_to_the_official_sdk() {
    let Some((s, _g)) = instance_server() else {
        return;
    };
    let k = key(s, "good");
    for (i, extra) in [
        vec![],
        vec![(
            "x-kms-migrationkeyversionid",
            "3d1d2c0c-6a5e-4e8e-9d0f-1b2c3d4e5f60",
        )],
    ]
    .into_iter()
    .enumerate()
    {
        let mut headers = vec![
            ("x-kms-apiversion", "dkms-gcs-0.2"),
            ("x-kms-apiname", "Decrypt"),
            ("x-kms-signaturemethod", "RSA_PKCS1_SHA_256"),
            ("x-kms-acccesskeyid", k.key_id()),
        ];
        headers.extend(extra);
        let sha = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        let date = "Wed, 02 Dec 2026 13:20:00 GMT";
        let mut all: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        all.insert("content-sha256".into(), json!(sha));
        all.insert("content-type".into(), json!("application/x-protobuf"));
        all.insert("date".into(), json!(date));
        let theirs = instance_oracle(
            "sign",
            &json!({"method": "POST", "pathname": "/", "headers": all}),
        );
        let sts = theirs["string_to_sign_sdk"].as_str().unwrap();
        let mut input = oracle_base(s);
        input["string_to_sign"] = json!(sts);
        let theirs_sig = instance_oracle("sign", &input);
        // PKCS#1 v1.5 is deterministic: the same key and text give the same bytes.
        assert_eq!(
            k.authorization(sts).unwrap(),
            theirs_sig["signature"].as_str().unwrap(),
            "case {i}"
        );
    }
}

#[test]
fn blobs_travel_both_ways_with_the_official_transfer_client() {
    let Some((s, _g)) = instance_server() else {
        return;
    };
    let kms = kms(s);
    let ctx_json = json!({"dataId": "cipher-kms-aes-256-db", "group": "G", "tenant": "公共"});
    let mut ctx = Context::new();
    ctx.insert("dataId", "cipher-kms-aes-256-db");
    ctx.insert("group", "G");
    ctx.insert("tenant", "公共");
    for spec in [KeySpec::Aes256, KeySpec::Aes128] {
        // Theirs -> ours.
        let mut input = oracle_base(s);
        input["key_id"] = json!("alias/acs/mse");
        input["key_spec"] = json!(spec.as_str());
        input["context"] = ctx_json.clone();
        let g = instance_oracle("transfer_generate_data_key", &input);
        let key = kms
            .decrypt_data_key(g["CiphertextBlob"].as_str().unwrap(), spec, &ctx)
            .unwrap_or_else(|e| panic!("{e}: {g}"));
        assert_eq!(
            base64_simd::STANDARD.encode_to_string(key.as_bytes()),
            g["Plaintext"].as_str().unwrap()
        );
        // The doctor reads the official client's blob as a KMS 3.0 instance data key of this
        // size (version id, then the key's base64 text sealed), without any key.
        let origin = KeyOrigin::of_blob(g["CiphertextBlob"].as_str().unwrap());
        assert_eq!(origin.as_str(), "kms-instance", "{origin:?}");
        assert!(
            matches!(&origin, KeyOrigin::KmsInstance { spec: s, version_id } if *s == spec && version_id.len() == 36),
            "{origin:?}"
        );
        // Ours -> theirs: the blob decrypts to the key's base64 text.
        let ours = kms.generate_data_key("alias/acs/mse", spec, &ctx).unwrap();
        assert!(
            matches!(KeyOrigin::of_blob(&ours.ciphertext_blob), KeyOrigin::KmsInstance { spec: s, .. } if s == spec)
        );
        let mut input = oracle_base(s);
        input["ciphertext_blob"] = json!(ours.ciphertext_blob);
        input["context"] = ctx_json.clone();
        let d = instance_oracle("transfer_decrypt", &input);
        assert_eq!(
            d["Plaintext"].as_str().unwrap(),
            base64_simd::STANDARD.encode_to_string(ours.plaintext.as_bytes()),
            "{d}"
        );
    }
    // Direct encryption both ways, and a moved context fails.
    let blob = kms
        .encrypt("alias/test", "直接 config".as_bytes(), &ctx)
        .unwrap();
    let mut input = oracle_base(s);
    input["ciphertext_blob"] = json!(blob);
    input["context"] = ctx_json.clone();
    assert_eq!(
        instance_oracle("transfer_decrypt", &input)["Plaintext"],
        "直接 config"
    );
    let mut input = oracle_base(s);
    input["key_id"] = json!("alias/test");
    input["plaintext"] = json!("their text");
    let theirs = instance_oracle("transfer_encrypt", &input);
    assert_eq!(
        kms.decrypt(theirs["CiphertextBlob"].as_str().unwrap(), &Context::new())
            .unwrap()
            .as_bytes(),
        b"their text"
    );
    assert_eq!(
        kms.decrypt(&blob, &Context::new()).unwrap_err().kind(),
        ErrorKind::Kms
    );
}

#[test]
fn configs_round_trip_in_every_scheme_and_format() {
    let Some((s, _g)) = instance_server() else {
        return;
    };
    let kms = kms(s);
    for data_id in ["cipher-kms-aes-256-a", "cipher-kms-aes-128-b", "cipher-c"] {
        for format in [Format::Nacos, Format::V1] {
            let id = ConfigId::new(data_id, "G", "t");
            let stored = config::encrypt(&kms, &id, "pw=s3cret&<x>", "", format).unwrap();
            let plain =
                config::decrypt(&kms, &id, &stored.content, &stored.encrypted_data_key).unwrap();
            assert_eq!(plain.as_str(), "pw=s3cret&<x>");
        }
    }
}

#[test]
fn client_keys_are_refused_clearly() {
    let Some((s, _g)) = instance_server() else {
        return;
    };
    // Wrong password: fails when the ClientKey is opened, before any request.
    let e = ClientKey::from_file(
        s.get("client_key_good").as_ref(),
        &SecretString::from("wrong".to_owned()),
    )
    .unwrap_err();
    assert_eq!(code(&e), "ClientKey");
    assert!(e.to_string().contains("password"), "{e}");
    // The legacy (SHA1/3DES) PKCS#12 opens too.
    let legacy = key(s, "legacy");
    assert_eq!(legacy.key_id(), s.get("client_key_legacy_id"));
    assert!(!format!("{legacy:?}").contains("PRIVATE"));
    for which in ["expired", "foreign"] {
        let kms = AliyunInstanceKms::builder()
            .endpoint(s.get("instance"))
            .client_key(key(s, which))
            .ca_pem(s.ca_pem())
            .build()
            .unwrap();
        let e = kms
            .encrypt("alias/acs/mse", b"x", &Context::new())
            .unwrap_err();
        let c = code(&e);
        assert!(
            c == "Forbidden.ClientKeyExpired" || c == "Unauthorized",
            "{which}: {e}"
        );
    }
    // No CA, no ClientKey, plain HTTP: refused when building.
    assert!(
        AliyunInstanceKms::builder()
            .endpoint(s.get("instance"))
            .client_key(key(s, "good"))
            .build()
            .is_err()
    );
    assert!(
        AliyunInstanceKms::builder()
            .endpoint(s.get("instance"))
            .ca_pem(s.ca_pem())
            .build()
            .is_err()
    );
    assert!(
        AliyunInstanceKms::builder()
            .endpoint(format!("http://{}", s.get("instance")))
            .client_key(key(s, "good"))
            .ca_pem(s.ca_pem())
            .build()
            .is_err()
    );
    // Wrong CA: a TLS failure.
    let e = AliyunInstanceKms::builder()
        .endpoint(s.get("instance"))
        .client_key(key(s, "good"))
        .ca_pem(s.other_ca_pem())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
        .encrypt("alias/acs/mse", b"x", &Context::new())
        .unwrap_err();
    assert_eq!(code(&e), "Tls");
}

#[test]
fn faults_end_in_retries_or_documented_errors_within_bounds() {
    let Some((s, _g)) = instance_server() else {
        return;
    };
    let kms = kms(s);
    for kind in ["throttle", "unavailable", "internal", "reset"] {
        s.reset();
        s.faults(json!([{"server": "instance", "kind": kind, "count": 2}]));
        let before = kms.stats();
        kms.encrypt("alias/acs/mse", b"x", &Context::new())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(kms.stats().retries - before.retries, 2, "{kind}");
    }
    for (kind, expected) in [
        ("garbage", "MalformedResponse"),
        ("oversized", "ResponseTooLarge"),
        ("hang", "Timeout"),
    ] {
        s.reset();
        s.faults(json!([{"server": "instance", "kind": kind, "count": 10, "seconds": 5}]));
        let quick = AliyunInstanceKms::builder()
            .endpoint(s.get("instance"))
            .client_key(key(s, "good"))
            .ca_pem(s.ca_pem())
            .timeouts(Duration::from_secs(1), Duration::from_millis(500))
            .retry(RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(10),
                max_total: Duration::from_secs(2),
            })
            .build()
            .unwrap();
        let started = Instant::now();
        let e = quick
            .encrypt("alias/acs/mse", b"x", &Context::new())
            .unwrap_err();
        assert_eq!(code(&e), expected, "{kind}: {e}");
        assert!(started.elapsed() < Duration::from_secs(3), "{kind}");
    }
    s.reset();
}

#[test]
fn configured_from_properties_with_the_password_from_a_file_or_the_environment() {
    let Some((s, _g)) = instance_server() else {
        return;
    };
    let props = format!(
        "kmsEndpoint={}\nclientKeyFile={}\nclientKeyPasswordFromFilePath={}\nkmsCaFile={}\nkeyId=alias/test\n",
        s.get("instance"),
        s.get("client_key_good"),
        s.get("client_key_good_password"),
        s.get("ca")
    );
    let kms = AliyunConfig::from_properties(&props)
        .unwrap()
        .into_instance_builder()
        .unwrap()
        .build()
        .unwrap();
    let blob = kms.encrypt("", b"hi", &Context::new()).unwrap();
    assert_eq!(
        kms.decrypt(&blob, &Context::new()).unwrap().as_bytes(),
        b"hi"
    );
    // Go's field names, with the ClientKey and CA as content.
    let go = AliyunConfig::from_pairs([
        ("KMSv3Config.Endpoint", s.get("instance").as_str()),
        (
            "KMSv3Config.ClientKeyContent",
            std::fs::read_to_string(s.get("client_key_good"))
                .unwrap()
                .as_str(),
        ),
        (
            "KMSv3Config.Password",
            std::fs::read_to_string(s.get("client_key_good_password"))
                .unwrap()
                .as_str(),
        ),
        ("KMSv3Config.CaContent", s.ca_pem().as_str()),
    ]);
    go.into_instance_builder().unwrap().build().unwrap();
    // Missing pieces are named.
    let e = AliyunConfig::from_pairs([("kmsEndpoint", "x:1")])
        .into_instance_builder()
        .unwrap_err();
    assert!(e.to_string().contains("password"), "{e}");
}
