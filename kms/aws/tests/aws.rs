//! AWS KMS against moto on loopback (behind a TLS front that checks every signature with
//! botocore and injects faults), cross-checked with boto3; the credential chain against
//! loopback IMDS, container and STS endpoints. See tests/common for how the servers start.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{oracle, server};
use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::{Context, KeySpec, Kms};
use nacoscrypt_core::{Error, ErrorKind, KmsServiceError};
use nacoscrypt_kms_aws::sigv4::{self, Request};
use nacoscrypt_kms_aws::{CacheSettings, Env, Provider, RetryPolicy};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn service_error(e: &Error) -> &KmsServiceError {
    match e {
        Error::KmsService(s) => s,
        other => panic!("not a service error: {other:?}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(bytes)
}

fn ctx<'a>(pairs: &[(&'a str, &'a str)]) -> Context<'a> {
    pairs.iter().copied().collect()
}

#[test]
fn signatures_are_byte_identical_to_botocore() {
    let Some((_s, _g)) = server() else { return };
    let bodies: [&[u8]; 4] = [
        b"",
        b"{}",
        br#"{"KeyId":"alias/nacos","KeySpec":"AES_256"}"#,
        "ünïcode ∑ body".as_bytes(),
    ];
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        for (j, (region, service)) in [
            ("us-east-1", "kms"),
            ("eu-central-1", "kms"),
            ("ap-southeast-2", "sts"),
        ]
        .iter()
        .enumerate()
        {
            for token in [None, Some("FwoGZXIvYXdzEJr//////////wEaDH+token/=")] {
                let date = format!("2026120{}T1{}30{:02}Z", 1 + i, j, i * 7 + j);
                let host = if j == 0 {
                    "kms.us-east-1.amazonaws.com".to_owned()
                } else {
                    format!("127.0.0.1:{}", 4000 + i)
                };
                let target = format!("TrentService.Op{i}");
                let mut headers: Vec<(&str, &str)> = vec![
                    ("Host", &host),
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("X-Amz-Date", &date),
                    ("X-Amz-Target", &target),
                    ("X-Custom", "  spaced   value  "),
                ];
                if let Some(t) = token {
                    headers.push(("X-Amz-Security-Token", t));
                }
                let query: &[(&str, &str)] = if i == 3 {
                    &[("b", "2 2"), ("a", "1/1")]
                } else {
                    &[]
                };
                let secret = format!("wJalrXUtnFEMI/K7MDENG+bPxRfiCY{i}{j}KEY");
                let r = Request {
                    method: "POST",
                    path: "/",
                    query,
                    headers: &headers,
                    body,
                };
                ours.push(sigv4::authorization(
                    &r,
                    "AKIDEXAMPLE",
                    secret.as_bytes(),
                    region,
                    service,
                ));
                let qs = if query.is_empty() {
                    String::new()
                } else {
                    "?b=2%202&a=1%2F1".to_owned()
                };
                cases.push(json!({
                    "method": "POST",
                    "url": format!("https://{host}/{qs}"),
                    "headers": headers.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect::<serde_json::Map<_, _>>(),
                    "body_b64": b64(body),
                    "access_key_id": "AKIDEXAMPLE",
                    "secret": secret,
                    "token": token,
                    "region": region,
                    "service": service,
                    "amz_date": date,
                }));
            }
        }
    }
    let theirs = oracle("sign", &json!({ "cases": cases }));
    let theirs: Vec<String> = serde_json::from_value(theirs["authorizations"].clone()).unwrap();
    assert_eq!(ours.len(), 24);
    assert_eq!(ours, theirs);
}

#[test]
fn round_trips_with_the_context_as_encryption_context() {
    let Some((s, _g)) = server() else { return };
    let kms = s.builder().build().unwrap();
    let c = ctx(&[("dataId", "cipher-kms-aes-256-db"), ("tenant", "公共")]);
    for spec in [KeySpec::Aes256, KeySpec::Aes128] {
        let g = kms.generate_data_key("alias/nacos", spec, &c).unwrap();
        assert_eq!(g.plaintext.len(), spec.key_len());
        let back = kms.decrypt_data_key(&g.ciphertext_blob, spec, &c).unwrap();
        assert_eq!(back.as_bytes(), g.plaintext.as_bytes());
        // Another context: AWS refuses, reported as an authentication failure.
        let e = kms
            .decrypt_data_key(&g.ciphertext_blob, spec, &ctx(&[("dataId", "other")]))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    }
    let blob = kms.encrypt("", b"password=s3cret & <x>", &c).unwrap();
    assert_eq!(
        kms.decrypt(&blob, &c).unwrap().as_bytes(),
        b"password=s3cret & <x>"
    );
    let e = kms.encrypt("alias/missing", b"x", &c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownKey, "{e}");
    // The wire: JSON 1.1, the TrentService target, the context as a native map.
    let reqs = s.requests();
    let gdk = reqs
        .iter()
        .find(|r| r["action"] == "GenerateDataKey")
        .unwrap();
    assert_eq!(gdk["content_type"], "application/x-amz-json-1.1");
    assert_eq!(
        gdk["encryption_context"],
        json!({"dataId": "cipher-kms-aes-256-db", "tenant": "公共"})
    );
    assert!(
        gdk["user_agent"]
            .as_str()
            .unwrap()
            .starts_with("nacoscrypt-kms-aws/")
    );
    assert!(
        reqs.iter()
            .all(|r| r["signed"] == true && r["access_key_id"].is_string() || r["status"] != 200)
    );
    // Configs in both formats, envelope scheme.
    for format in [Format::V1, Format::Nacos] {
        let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "dev");
        let stored = config::encrypt(&kms, &id, "password=s3cret", "alias/other", format).unwrap();
        let plain =
            config::decrypt(&kms, &id, &stored.content, &stored.encrypted_data_key).unwrap();
        assert_eq!(plain.as_str(), "password=s3cret");
    }
}

#[test]
fn data_keys_travel_both_ways_with_boto3() {
    let Some((s, _g)) = server() else { return };
    let kms = s.builder().build().unwrap();
    let context = json!({"dataId": "cipher-kms-aes-128-x", "group": "DEFAULT_GROUP"});
    let c = ctx(&[
        ("dataId", "cipher-kms-aes-128-x"),
        ("group", "DEFAULT_GROUP"),
    ]);
    let base = json!({"endpoint": s.kms(), "ca": s.get("ca")});
    let mut input = base.clone();
    input["key_id"] = json!("alias/nacos");
    input["spec"] = json!("AES_128");
    input["context"] = context.clone();
    let theirs = oracle("generate_data_key", &input);
    let key = kms
        .decrypt_data_key(theirs["blob_b64"].as_str().unwrap(), KeySpec::Aes128, &c)
        .unwrap();
    assert_eq!(
        b64(key.as_bytes()),
        theirs["plaintext_b64"].as_str().unwrap()
    );
    let ours = kms
        .generate_data_key("alias/nacos", KeySpec::Aes256, &c)
        .unwrap();
    let mut input = base.clone();
    input["blob_b64"] = json!(ours.ciphertext_blob);
    input["context"] = context.clone();
    assert_eq!(
        oracle("decrypt", &input)["plaintext_b64"],
        json!(b64(ours.plaintext.as_bytes()))
    );
    let mut input = base;
    input["key_id"] = json!(s.key("alias/other"));
    input["plaintext_b64"] = json!(b64(b"direct scheme secret"));
    let blob = oracle("encrypt", &input)["blob_b64"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        kms.decrypt(&blob, &Context::new()).unwrap().as_bytes(),
        b"direct scheme secret"
    );
}

#[test]
fn retryable_faults_are_retried_and_succeed() {
    let Some((s, _g)) = server() else { return };
    let kms = s.builder().build().unwrap();
    for kind in ["throttle", "unavailable", "internal", "reset", "truncated"] {
        s.faults(json!([{"server": "kms", "kind": kind, "count": 2}]));
        let before = kms.stats();
        kms.encrypt("alias/nacos", b"x", &Context::new())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let after = kms.stats();
        assert_eq!(after.retries - before.retries, 2, "{kind}");
        assert_eq!(after.kms_calls - before.kms_calls, 3, "{kind}");
    }
}

#[test]
fn persistent_faults_end_in_the_documented_error_within_the_bound() {
    let Some((s, _g)) = server() else { return };
    let kms = s.builder().build().unwrap();
    let cases = [
        ("throttle", "ThrottlingException", 4),
        ("unavailable", "ServiceUnavailableException", 4),
        ("internal", "KMSInternalException", 4),
        ("garbage", "MalformedResponse", 1),
        ("oversized", "ResponseTooLarge", 1),
        ("reset", "Network", 4),
    ];
    for (kind, code, attempts) in cases {
        s.reset();
        s.faults(json!([{"server": "kms", "kind": kind, "count": 10}]));
        let started = Instant::now();
        let e = kms
            .encrypt("alias/nacos", b"x", &Context::new())
            .unwrap_err();
        let took = started.elapsed();
        let se = service_error(&e);
        assert_eq!(
            (se.code.as_str(), se.attempts),
            (code, attempts),
            "{kind}: {e}"
        );
        assert!(took < Duration::from_secs(5), "{kind} took {took:?}");
        assert!(e.to_string().contains("AWS KMS Encrypt"), "{e}");
        assert!(!e.to_string().contains(&s.get("secret")));
    }
    let kms = s
        .builder()
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
            .encrypt("alias/nacos", b"x", &Context::new())
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
fn wrong_keys_and_signatures_are_refused_by_the_front() {
    let Some((s, _g)) = server() else { return };
    let env = Env::from_pairs([
        ("AWS_ACCESS_KEY_ID", s.get("access_key_id")),
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret".to_owned()),
    ]);
    let e = s
        .builder_with(env)
        .build()
        .unwrap()
        .encrypt("alias/nacos", b"x", &Context::new())
        .unwrap_err();
    assert_eq!(service_error(&e).code, "InvalidSignatureException", "{e}");
    assert_eq!(service_error(&e).attempts, 1);
}

#[test]
fn tls_is_never_optional() {
    let Some((s, _g)) = server() else { return };
    let other = std::fs::read_to_string(s.get("other_ca")).unwrap();
    let e = s
        .builder()
        .ca_pem(other)
        .build()
        .unwrap()
        .encrypt("alias/nacos", b"x", &Context::new())
        .unwrap_err();
    assert_eq!(service_error(&e).code, "Tls", "wrong CA: {e}");
    let e = s
        .builder()
        .endpoint(format!("http://{}", s.kms()))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn web_identity_through_sts() {
    let Some((s, _g)) = server() else { return };
    let token = s.dir.join("web-identity-token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.test.token\n").unwrap();
    let env = Env::from_pairs([
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.display().to_string()),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/nacos".to_owned(),
        ),
        ("AWS_ROLE_SESSION_NAME", "nacoscrypt-test".to_owned()),
        ("AWS_ENDPOINT_URL_STS", format!("https://{}", s.kms())),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]);
    let kms = s.builder_with(env).build().unwrap();
    let report = kms.check("alias/nacos").unwrap();
    assert_eq!(report.provider, "web_identity");
    assert!(report.access_key_id.starts_with("ASIA"), "{report:?}");
    assert!(report.expires.is_some());
    let reqs = s.requests();
    assert_eq!(reqs[0]["action"], "AssumeRoleWithWebIdentity");
    assert_eq!(reqs[0]["signed"], false);
    // Every KMS call used the STS credentials and their session token (the front checked both).
    assert!(
        reqs[1..]
            .iter()
            .all(|r| r["access_key_id"] == json!(report.access_key_id)
                && r["security_token"].is_string()),
        "{reqs:?}"
    );
}

#[test]
fn instance_metadata_with_imdsv2_and_refresh_before_expiry() {
    let Some((s, _g)) = server() else { return };
    s.control("POST", "/metadata", &json!({"lifetime": 4}));
    let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.get("imds"))]);
    let kms = s.builder_with(env).build().unwrap();
    assert_eq!(kms.check("alias/nacos").unwrap().provider, "imds");
    let meta: Vec<Value> = s
        .requests()
        .into_iter()
        .filter(|r| r["server"] == "imds")
        .collect();
    assert_eq!(
        meta[0]["method"], "PUT",
        "IMDSv2 asks for a session token first: {meta:?}"
    );
    assert_eq!(meta[0]["path"], "/latest/api/token");
    assert!(
        meta[1..]
            .iter()
            .all(|r| r["method"] == "GET" && r["token"] == true),
        "{meta:?}"
    );
    // Credentials of a 4 s life are fetched again from 2 s on, while calls go on.
    let first = kms.check("alias/nacos").unwrap().access_key_id;
    std::thread::sleep(Duration::from_millis(2300));
    kms.encrypt("alias/nacos", b"x", &Context::new()).unwrap();
    let second = kms.check("alias/nacos").unwrap().access_key_id;
    assert_ne!(first, second, "refreshed before expiry");
    s.control("POST", "/metadata", &json!({"lifetime": 3600}));
}

#[test]
fn container_credentials_with_a_token_file() {
    let Some((s, _g)) = server() else { return };
    let token = s.dir.join("container-token");
    std::fs::write(&token, "container-token-0123\n").unwrap();
    let env = Env::from_pairs([
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", s.get("container")),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            token.display().to_string(),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]);
    let r = s
        .builder_with(env)
        .build()
        .unwrap()
        .check("alias/nacos")
        .unwrap();
    assert_eq!(r.provider, "container");
    let env = Env::from_pairs([
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", s.get("container")),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong".to_owned()),
    ]);
    let e = s
        .builder_with(env)
        .build()
        .unwrap()
        .check("alias/nacos")
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 401"), "{e}");
    // A configured source that fails stops the chain (never falls through to IMDS).
    assert!(!s.requests().iter().any(|r| r["server"] == "imds"));
}

#[test]
fn shared_files_with_profiles() {
    let Some((s, _g)) = server() else { return };
    let creds = s.dir.join("credentials");
    let cfg = s.dir.join("config");
    std::fs::write(&creds, format!(
        "[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n\n[nacos]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        s.get("access_key_id"), s.get("secret"))).unwrap();
    std::fs::write(
        &cfg,
        "[default]\nregion = eu-west-1\n[profile nacos]\nregion = us-east-1\n",
    )
    .unwrap();
    let env = Env::from_pairs([
        ("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string()),
        ("AWS_CONFIG_FILE", cfg.display().to_string()),
        ("AWS_PROFILE", "nacos".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]);
    let kms = nacoscrypt_kms_aws::AwsKms::builder()
        .endpoint(s.kms())
        .ca_pem(s.ca_pem())
        .environment(env.clone())
        .build()
        .unwrap();
    assert_eq!(kms.region(), "us-east-1", "the profile's region");
    assert_eq!(
        kms.check(&s.key("alias/nacos")).unwrap().provider,
        "profile:nacos"
    );
    // The builder's profile wins over AWS_PROFILE.
    let e = s
        .builder_with(env)
        .profile("default")
        .build()
        .unwrap()
        .check("alias/nacos")
        .unwrap_err();
    assert_eq!(service_error(&e).code, "UnrecognizedClientException", "{e}");
    let e = s
        .builder_with(Env::from_pairs([
            ("AWS_PROFILE", "none"),
            ("AWS_CONFIG_FILE", "/nonexistent"),
        ]))
        .build()
        .unwrap()
        .check("alias/nacos")
        .unwrap_err();
    assert!(e.to_string().contains("\"none\""), "{e}");
}

#[test]
fn expired_tokens_are_renewed_once_and_the_cache_serves_an_outage() {
    let Some((s, _g)) = server() else { return };
    let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.get("imds"))]);
    let kms = s
        .builder_with(env)
        .cache(CacheSettings::fallback())
        .build()
        .unwrap();
    let g = kms
        .generate_data_key("", KeySpec::Aes256, &Context::new())
        .unwrap();
    let before = kms.check("").unwrap().access_key_id;
    s.faults(json!([{"server": "kms", "kind": "expired", "count": 1}]));
    kms.decrypt_data_key(&g.ciphertext_blob, KeySpec::Aes256, &Context::new())
        .unwrap();
    assert_ne!(
        kms.check("").unwrap().access_key_id,
        before,
        "new credentials after ExpiredTokenException"
    );
    s.faults(json!([{"server": "kms", "kind": "internal", "count": 10}]));
    let k = kms
        .decrypt_data_key(&g.ciphertext_blob, KeySpec::Aes256, &Context::new())
        .unwrap();
    assert_eq!(
        k.as_bytes(),
        g.plaintext.as_bytes(),
        "served from the fallback cache"
    );
    assert!(kms.stats().cache_hits >= 1);
    s.reset();
    let _ = Provider::default_chain();
}
