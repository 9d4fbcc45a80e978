//! The OpenAPI client against the loopback test KMS, with the official SDKs as oracles:
//! signatures byte for byte, blobs both ways, nacos-sdk-python's own encryption plugins,
//! credentials providers, injected faults, TLS refusals, the data-key cache.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use common::{AK, SECRET, oracle, server};
use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::{Context, KeySpec, Kms};
use nacoscrypt_core::{Error, ErrorKind, SecretString};
use nacoscrypt_kms_aliyun::{
    AliyunKms, AliyunKmsBuilder, CacheMode, CacheSettings, Endpoint, Provider, RetryPolicy,
    Signature, sign,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn access_key() -> Provider {
    Provider::AccessKey {
        id: AK.to_owned(),
        secret: SecretString::from(SECRET.to_owned()),
    }
}

fn builder(s: &common::Server) -> AliyunKmsBuilder {
    AliyunKms::builder()
        .endpoint(Endpoint::Custom(s.kms()))
        .ca_pem(s.ca_pem())
        .credentials_ca_pem(s.ca_pem())
        .credentials(access_key())
        .timeouts(Duration::from_secs(2), Duration::from_secs(3))
        .retry(RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
}

fn service_error(e: &Error) -> &nacoscrypt_core::KmsServiceError {
    match e {
        Error::KmsService(s) => s,
        other => panic!("not a service error: {other:?}"),
    }
}

fn sdk(s: &common::Server, extra: Value) -> Value {
    let mut input = json!({
        "endpoint": s.kms(), "ca": s.get("ca"), "access_key_id": AK,
        "access_key_secret": SECRET, "signature": "v3"
    });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    input
}

// ---------------------------------------------------------------------------------------------
// Signatures: the official signing code on the same inputs

#[test]
fn v3_signature_matches_alibabacloud_openapi_util() {
    let Some(_s) = server() else { return };
    let cases = [
        (
            json!({"KeyId": "alias/acs/mse", "KeySpec": "AES_256"}),
            false,
        ),
        (
            json!({"Plaintext": "a b+c&d=e/f~g*h%i", "KeyId": "k"}),
            false,
        ),
        (
            json!({"Plaintext": "配置 ünïcödé 🚀", "EncryptionContext": "{\"dataId\":\"cipher-x\",\"tenant\":\"公共\"}"}),
            true,
        ),
        (json!({"CiphertextBlob": "AAAA+/==", "Empty": ""}), true),
    ];
    for (i, (query, sts)) in cases.into_iter().enumerate() {
        let q: BTreeMap<String, String> = query
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let mut headers = vec![
            ("host", "kms.cn-hangzhou.aliyuncs.com".to_owned()),
            ("x-acs-action", "Encrypt".to_owned()),
            ("x-acs-version", "2016-01-20".to_owned()),
            ("x-acs-date", "2026-12-02T13:20:00Z".to_owned()),
            ("x-acs-signature-nonce", format!("nonce-{i}")),
            ("x-acs-content-sha256", sign::sha256_hex(b"")),
        ];
        if sts {
            headers.push(("x-acs-accesskey-id", "STS.abc".to_owned()));
            headers.push(("x-acs-security-token", "token with spaces/+=".to_owned()));
        }
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let ours = sign::v3_authorization(
            "POST",
            "/",
            &q,
            &refs,
            &sign::sha256_hex(b""),
            AK,
            SECRET.as_bytes(),
        );
        let theirs = oracle(
            "sign_v3",
            &json!({
                "method": "POST", "pathname": "/", "query": query,
                "headers": headers.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "payload_hash": sign::sha256_hex(b""), "access_key_id": AK,
                "access_key_secret": SECRET
            }),
        );
        assert_eq!(ours, theirs["authorization"].as_str().unwrap(), "case {i}");
        assert_eq!(
            sign::canonical_query(&q),
            theirs["canonical_query"].as_str().unwrap()
        );
    }
}

#[test]
fn rpc_signature_matches_both_official_signers() {
    let Some(_s) = server() else { return };
    for (i, extra) in [
        json!({}),
        json!({"Plaintext": "a b+c*d~e", "EncryptionContext": "{\"k\":\"值\"}"}),
        json!({"CiphertextBlob": "x/y+z==", "SecurityToken": "CAIS//tok+en"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut params: BTreeMap<String, String> = [
            ("Action", "Decrypt"),
            ("Version", "2016-01-20"),
            ("Format", "JSON"),
            ("AccessKeyId", AK),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "3c1f9d0e-6a1b-4b0e-9f0a-2c6d1e7f8a90"),
            ("Timestamp", "2026-12-02T13:20:00Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra.as_object().unwrap() {
            params.insert(k.clone(), v.as_str().unwrap().to_owned());
        }
        for method in ["POST", "GET"] {
            let ours = sign::rpc_signature(method, &params, SECRET.as_bytes());
            let theirs = oracle(
                "sign_rpc",
                &json!({"method": method, "params": params, "access_key_secret": SECRET}),
            );
            assert_eq!(
                ours,
                theirs["signature_openapi_util"].as_str().unwrap(),
                "case {i} {method}"
            );
            assert_eq!(
                ours,
                theirs["signature_sdkcore"].as_str().unwrap(),
                "case {i} {method}"
            );
            assert_eq!(
                sign::rpc_string_to_sign(method, &params),
                theirs["string_to_sign"].as_str().unwrap()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips, both signatures; and the official SDK reading what we write and the other way

#[test]
fn round_trips_with_both_signatures() {
    let Some((s, _g)) = server() else { return };
    for signature in [Signature::V3, Signature::RpcV2] {
        let kms = builder(s).signature(signature).build().unwrap();
        let mut ctx = Context::new();
        ctx.insert("dataId", "cipher-kms-aes-256-db");
        ctx.insert("tenant", "公共");
        for spec in [KeySpec::Aes256, KeySpec::Aes128] {
            let g = kms.generate_data_key("alias/acs/mse", spec, &ctx).unwrap();
            assert_eq!(g.plaintext.len(), spec.key_len());
            let back = kms
                .decrypt_data_key(&g.ciphertext_blob, spec, &ctx)
                .unwrap();
            assert_eq!(back.as_bytes(), g.plaintext.as_bytes());
            // The raw Decrypt gives the base64 text the service keeps (SPEC 5.1).
            let raw = kms.decrypt(&g.ciphertext_blob, &ctx).unwrap();
            assert_eq!(
                base64_simd::STANDARD.decode_to_vec(raw.as_bytes()).unwrap(),
                g.plaintext.as_bytes()
            );
        }
        let blob = kms
            .encrypt("", "password=s3cret & <x>".as_bytes(), &ctx)
            .unwrap();
        assert_eq!(
            kms.decrypt(&blob, &ctx).unwrap().as_bytes(),
            b"password=s3cret & <x>"
        );
        let e = kms.decrypt(&blob, &Context::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Kms);
        let se = service_error(&e);
        assert_eq!(se.http_status, Some(400), "{se:?}");
        assert!(se.request_id.is_some());
    }
    let methods: Vec<String> = s
        .requests()
        .iter()
        .map(|r| r["signature"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        methods.iter().any(|m| m.contains("V3")) && methods.iter().any(|m| m.contains("V2")),
        "{methods:?}"
    );
}

#[test]
fn the_official_sdk_reads_what_we_write_and_we_read_what_it_writes() {
    let Some((s, _g)) = server() else { return };
    let kms = builder(s).build().unwrap();
    let ctx_json = json!({"dataId": "cipher-x", "group": "G"});
    let mut ctx = Context::new();
    ctx.insert("group", "G");
    ctx.insert("dataId", "cipher-x");
    for signature in ["v3", "v2"] {
        // Theirs -> ours: a data key.
        let g = oracle(
            "sdk_generate_data_key",
            &sdk(
                s,
                json!({"signature": signature, "key_id": "alias/acs/mse", "key_spec": "AES_256", "context": ctx_json}),
            ),
        );
        let key = kms
            .decrypt_data_key(g["CiphertextBlob"].as_str().unwrap(), KeySpec::Aes256, &ctx)
            .unwrap();
        assert_eq!(
            base64_simd::STANDARD.encode_to_string(key.as_bytes()),
            g["Plaintext"].as_str().unwrap()
        );
        // Ours -> theirs.
        let ours = kms
            .generate_data_key("alias/acs/mse", KeySpec::Aes128, &ctx)
            .unwrap();
        let d = oracle(
            "sdk_decrypt",
            &sdk(
                s,
                json!({"signature": signature, "ciphertext_blob": ours.ciphertext_blob, "context": ctx_json}),
            ),
        );
        assert_eq!(
            d["Plaintext"].as_str().unwrap(),
            base64_simd::STANDARD.encode_to_string(ours.plaintext.as_bytes())
        );
        // Direct encryption both ways.
        let blob = kms
            .encrypt("alias/test", "直接 config".as_bytes(), &ctx)
            .unwrap();
        let d = oracle(
            "sdk_decrypt",
            &sdk(
                s,
                json!({"signature": signature, "ciphertext_blob": blob, "context": ctx_json}),
            ),
        );
        assert_eq!(d["Plaintext"].as_str().unwrap(), "直接 config");
        let e = oracle(
            "sdk_encrypt",
            &sdk(
                s,
                json!({"signature": signature, "key_id": "alias/test", "plaintext": "their text", "context": ctx_json}),
            ),
        );
        assert_eq!(
            kms.decrypt(e["CiphertextBlob"].as_str().unwrap(), &ctx)
                .unwrap()
                .as_bytes(),
            b"their text"
        );
    }
}

#[test]
fn configs_round_trip_with_nacos_sdk_python_plugins() {
    let Some((s, _g)) = server() else { return };
    let kms = builder(s).build().unwrap();
    let base = json!({"endpoint": s.kms(), "ca": s.get("ca"), "access_key_id": AK, "access_key_secret": SECRET, "key_id": "alias/acs/mse"});
    for data_id in [
        "cipher-kms-aes-256-db.properties",
        "cipher-kms-aes-128-app.yaml",
        "cipher-token.json",
    ] {
        let id = ConfigId::new(data_id, "DEFAULT_GROUP", "");
        let content = "spring.datasource.password=s3cret&x<y>\n中文";
        // Theirs -> ours.
        let mut input = base.clone();
        input["data_id"] = json!(data_id);
        input["content"] = json!(content);
        let theirs = oracle("nacos_encrypt", &input);
        let plain = config::decrypt(
            &kms,
            &id,
            theirs["content"].as_str().unwrap(),
            theirs["encrypted_data_key"].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(plain.as_str(), content, "{data_id}: theirs -> ours");
        // Ours -> theirs.
        let stored = config::encrypt(&kms, &id, content, "alias/acs/mse", Format::Nacos).unwrap();
        let mut input = base.clone();
        input["data_id"] = json!(data_id);
        input["content"] = json!(stored.content);
        input["encrypted_data_key"] = json!(stored.encrypted_data_key);
        let back = oracle("nacos_decrypt", &input);
        assert_eq!(
            back["content"].as_str().unwrap(),
            content,
            "{data_id}: ours -> theirs"
        );
        // And our authenticated format with this KMS.
        let v1 = config::encrypt(&kms, &id, content, "", Format::V1).unwrap();
        assert_eq!(
            config::decrypt(&kms, &id, &v1.content, &v1.encrypted_data_key)
                .unwrap()
                .as_str(),
            content
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials

#[test]
fn sts_credentials_send_their_security_token() {
    let Some((s, _g)) = server() else { return };
    // Get temporary credentials from the test STS with the official credentials library's
    // request shape (our RamRoleArn provider), then use them as a given STS token.
    let assumed = builder(s)
        .credentials(Provider::RamRoleArn {
            base: Box::new(access_key()),
            role_arn: "acs:ram::1234567890:role/nacos".into(),
            session_name: Some("test".into()),
            duration_seconds: 3600,
            policy: None,
            external_id: None,
            sts_endpoint: s.get("sts"),
        })
        .build()
        .unwrap();
    let report = assumed.check("alias/acs/mse").unwrap();
    assert!(report.provider.starts_with("ram_role_arn/"), "{report:?}");
    assert!(report.access_key_id.starts_with("STS."), "{report:?}");
    assert!(report.expires.is_some());
    let log = s.requests();
    assert!(log.iter().any(|r| r["server"] == "sts"), "{log:?}");
    assert!(
        log.iter()
            .filter(|r| r["server"] == "kms")
            .all(|r| r["security_token"] == json!(true)),
        "{log:?}"
    );
    // A wrong secret is refused by the service's signature check, with its code.
    let wrong = builder(s)
        .credentials(Provider::AccessKey {
            id: AK.into(),
            secret: SecretString::from("wrong".to_owned()),
        })
        .build()
        .unwrap();
    let e = wrong
        .encrypt("alias/acs/mse", b"x", &Context::new())
        .unwrap_err();
    assert_eq!(service_error(&e).code, "SignatureDoesNotMatch");
    assert!(!format!("{e} {e:?} {wrong:?}").contains("wrong\""));
}

#[test]
fn ecs_ram_role_oidc_and_credentials_uri() {
    let Some((s, _g)) = server() else { return };
    let ecs = builder(s)
        .credentials(Provider::EcsRamRole {
            role_name: None,
            endpoint: s.get("metadata"),
            disable_imds_v1: true,
        })
        .build()
        .unwrap();
    let r = ecs.check("").unwrap();
    assert_eq!(r.provider, "ecs_ram_role");
    let log = s.requests();
    assert!(
        log.iter()
            .any(|r| r["server"] == "metadata" && r["http_method"] == "PUT"),
        "hardened mode asks for a token first: {log:?}"
    );

    let uri = builder(s)
        .credentials(Provider::CredentialsUri(format!(
            "{}/credentials-uri",
            s.get("metadata")
        )))
        .build()
        .unwrap();
    assert_eq!(uri.check("").unwrap().provider, "credential_uri");

    let dir = std::env::temp_dir().join(format!("nacoscrypt-oidc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, "oidc-test-token\n").unwrap();
    s.control(
        "POST",
        "/oidc",
        &json!({"token": "oidc-test-token", "provider_arn": "acs:ram::1:oidc-provider/ack", "role_arn": "acs:ram::1:role/app"}),
    );
    let oidc = builder(s)
        .credentials(Provider::OidcRole {
            role_arn: "acs:ram::1:role/app".into(),
            provider_arn: "acs:ram::1:oidc-provider/ack".into(),
            token_file: token_file.clone(),
            session_name: None,
            duration_seconds: 3600,
            sts_endpoint: s.get("sts"),
        })
        .build()
        .unwrap();
    assert_eq!(oidc.check("").unwrap().provider, "oidc_role_arn");
    std::fs::write(&token_file, "someone-else's token").unwrap();
    let refused = builder(s)
        .credentials(Provider::OidcRole {
            role_arn: "acs:ram::1:role/app".into(),
            provider_arn: "acs:ram::1:oidc-provider/ack".into(),
            token_file,
            session_name: None,
            duration_seconds: 3600,
            sts_endpoint: s.get("sts"),
        })
        .build()
        .unwrap();
    assert!(refused.check("").is_err());

    // Profile files: the INI file and the aliyun CLI's config.json.
    let ini = dir.join("credentials");
    std::fs::write(
        &ini,
        format!("[default]\ntype = access_key\naccess_key_id = {AK}\naccess_key_secret = {SECRET}\n\n[broken]\ntype = sts\n"),
    )
    .unwrap();
    let from_ini = builder(s)
        .credentials(Provider::ProfileFile {
            path: Some(ini.clone()),
            profile: None,
        })
        .build()
        .unwrap();
    assert_eq!(from_ini.check("").unwrap().provider, "static_ak");
    let broken = builder(s)
        .credentials(Provider::ProfileFile {
            path: Some(ini),
            profile: Some("broken".into()),
        })
        .build()
        .unwrap();
    let e = broken.check("").unwrap_err();
    assert!(e.to_string().contains("access_key_id"), "{e}");
    let cli = dir.join("config.json");
    std::fs::write(
        &cli,
        json!({"current": "p", "profiles": [{"name": "p", "mode": "AK", "access_key_id": AK, "access_key_secret": SECRET}]}).to_string(),
    )
    .unwrap();
    let from_cli = builder(s)
        .credentials(Provider::CliProfile {
            path: Some(cli),
            profile: None,
        })
        .build()
        .unwrap();
    assert_eq!(from_cli.check("").unwrap().provider, "static_ak");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn temporary_credentials_refresh_before_expiry_once_for_many_threads() {
    let Some((s, _g)) = server() else { return };
    s.control("POST", "/sts", &json!({"lifetime_seconds": 4}));
    let kms = builder(s)
        .credentials(Provider::RamRoleArn {
            base: Box::new(access_key()),
            role_arn: "acs:ram::1:role/r".into(),
            session_name: None,
            duration_seconds: 3600,
            policy: None,
            external_id: None,
            sts_endpoint: s.get("sts"),
        })
        .build()
        .unwrap();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                while started.elapsed() < Duration::from_secs(7) {
                    kms.encrypt("alias/acs/mse", b"x", &Context::new()).unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        }
    });
    s.control("POST", "/sts", &json!({"lifetime_seconds": 3600}));
    let assumes = s.requests().iter().filter(|r| r["server"] == "sts").count();
    // 4 s credentials over 7 s, refreshed from half-life on: a few refreshes, never one per
    // call or per thread, and no call failed with expired credentials.
    assert!((2..=6).contains(&assumes), "{assumes} AssumeRole calls");
}

#[test]
fn expired_credentials_are_renewed_once() {
    let Some((s, _g)) = server() else { return };
    let kms = builder(s)
        .credentials(Provider::RamRoleArn {
            base: Box::new(access_key()),
            role_arn: "acs:ram::1:role/r".into(),
            session_name: None,
            duration_seconds: 3600,
            policy: None,
            external_id: None,
            sts_endpoint: s.get("sts"),
        })
        .build()
        .unwrap();
    kms.encrypt("alias/acs/mse", b"x", &Context::new()).unwrap();
    // The service says the token expired (revoked early): one new AssumeRole, then success.
    s.control("POST", "/sts", &json!({"expire_all": true}));
    kms.encrypt("alias/acs/mse", b"x", &Context::new()).unwrap();
    assert_eq!(
        s.requests().iter().filter(|r| r["server"] == "sts").count(),
        2
    );
}

// ---------------------------------------------------------------------------------------------
// Faults: each ends in success after retries or in the documented error, within a bound

#[test]
fn retryable_faults_are_retried_and_succeed() {
    let Some((s, _g)) = server() else { return };
    let kms = builder(s).build().unwrap();
    for kind in ["throttle", "unavailable", "internal", "reset"] {
        s.faults(json!([{"server": "kms", "kind": kind, "count": 2}]));
        let before = kms.stats();
        kms.encrypt("alias/acs/mse", b"x", &Context::new())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let after = kms.stats();
        assert_eq!(after.retries - before.retries, 2, "{kind}");
        assert_eq!(after.kms_calls - before.kms_calls, 3, "{kind}");
    }
}

#[test]
fn persistent_faults_end_in_the_documented_error_within_the_bound() {
    let Some((s, _g)) = server() else { return };
    let kms = builder(s).build().unwrap();
    let cases = [
        ("throttle", "Rejected.Throttling", 4),
        ("unavailable", "ServiceUnavailableTemporary", 4),
        ("internal", "InternalFailure", 4),
        ("garbage", "MalformedResponse", 1),
        ("oversized", "ResponseTooLarge", 1),
        ("truncated", "Network", 4),
    ];
    for (kind, code, attempts) in cases {
        s.reset();
        s.faults(json!([{"server": "kms", "kind": kind, "count": 10}]));
        let started = Instant::now();
        let e = kms
            .encrypt("alias/acs/mse", b"x", &Context::new())
            .unwrap_err();
        let took = started.elapsed();
        let se = service_error(&e);
        assert_eq!(se.code, code, "{kind}: {e}");
        assert_eq!(se.attempts, attempts, "{kind}: {e}");
        assert!(took < Duration::from_secs(5), "{kind} took {took:?}");
        // The message names the service and the action, never a secret.
        assert!(e.to_string().contains("Alibaba Cloud KMS Encrypt"), "{e}");
        assert!(!e.to_string().contains(SECRET));
    }
    // A hung or slow server: the request timeout, retried within the total bound.
    let kms = builder(s)
        .timeouts(Duration::from_secs(1), Duration::from_millis(600))
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_total: Duration::from_secs(3),
        })
        .build()
        .unwrap();
    for kind in ["hang", "slow"] {
        s.reset();
        s.faults(json!([{"server": "kms", "kind": kind, "count": 10, "seconds": 5}]));
        let started = Instant::now();
        let e = kms
            .encrypt("alias/acs/mse", b"x", &Context::new())
            .unwrap_err();
        assert_eq!(service_error(&e).code, "Timeout", "{kind}: {e}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{kind}: {:?}",
            started.elapsed()
        );
    }
    s.reset();
}

#[test]
fn tls_is_never_optional() {
    let Some((s, _g)) = server() else { return };
    let e = builder(s)
        .ca_pem(s.other_ca_pem())
        .build()
        .unwrap()
        .encrypt("alias/acs/mse", b"x", &Context::new())
        .unwrap_err();
    assert_eq!(service_error(&e).code, "Tls", "wrong CA: {e}");
    let e = AliyunKms::builder()
        .endpoint(Endpoint::Custom(s.get("kms_selfsigned")))
        .ca_pem(s.ca_pem())
        .credentials(access_key())
        .build()
        .unwrap()
        .encrypt("alias/acs/mse", b"x", &Context::new())
        .unwrap_err();
    assert_eq!(service_error(&e).code, "Tls", "self-signed: {e}");
    let e = builder(s)
        .endpoint(Endpoint::Custom(s.get("kms_plain")))
        .build()
        .unwrap()
        .encrypt("alias/acs/mse", b"x", &Context::new())
        .unwrap_err();
    assert_eq!(service_error(&e).code, "Tls", "plain HTTP server: {e}");
    let e = builder(s)
        .endpoint(Endpoint::Custom(format!("http://{}", s.get("kms_plain"))))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(builder(s).ca_pem("not a certificate").build().is_err());
}

// ---------------------------------------------------------------------------------------------
// The data-key cache

#[test]
fn the_fallback_cache_serves_keys_during_an_outage_and_only_those() {
    let Some((s, _g)) = server() else { return };
    let kms = builder(s)
        .cache(CacheSettings::fallback())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let id = ConfigId::new("cipher-kms-aes-256-a", "G", "");
    let seen = config::encrypt(&kms, &id, "seen", "", Format::Nacos).unwrap();
    let unseen = config::encrypt(&kms, &id, "unseen", "", Format::Nacos).unwrap();
    assert_eq!(
        config::decrypt(&kms, &id, &seen.content, &seen.encrypted_data_key)
            .unwrap()
            .as_str(),
        "seen"
    );
    s.faults(json!([{"server": "kms", "kind": "unavailable", "count": 100}]));
    assert_eq!(
        config::decrypt(&kms, &id, &seen.content, &seen.encrypted_data_key)
            .unwrap()
            .as_str(),
        "seen"
    );
    let e = config::decrypt(&kms, &id, &unseen.content, &unseen.encrypted_data_key).unwrap_err();
    assert_eq!(service_error(&e).code, "ServiceUnavailableTemporary");
    s.reset();
    let stats = kms.stats();
    assert_eq!((stats.cache_hits, stats.cache_misses), (1, 2), "{stats:?}");

    // "first": a fresh cached key skips the KMS; with a short idle bound it expires.
    let first = builder(s)
        .cache(CacheSettings {
            mode: CacheMode::First,
            max_entries: 10,
            idle: Duration::from_millis(300),
            max_age: Duration::from_secs(60),
        })
        .build()
        .unwrap();
    config::decrypt(&first, &id, &seen.content, &seen.encrypted_data_key).unwrap();
    let calls = first.stats().kms_calls;
    config::decrypt(&first, &id, &seen.content, &seen.encrypted_data_key).unwrap();
    assert_eq!(first.stats().kms_calls, calls, "served from the cache");
    std::thread::sleep(Duration::from_millis(350));
    config::decrypt(&first, &id, &seen.content, &seen.encrypted_data_key).unwrap();
    assert_eq!(
        first.stats().kms_calls,
        calls + 1,
        "expired after the idle bound"
    );
}

#[test]
fn debug_output_never_shows_a_secret() {
    let Some((s, _g)) = server() else { return };
    let kms = builder(s).build().unwrap();
    let text = format!("{kms:?} {:?}", kms.provider());
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains(AK));
}
