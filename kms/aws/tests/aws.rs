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

/// The container server's base (`http://127.0.0.1:K`), for the relative-URI form.
fn container_base(s: &common::Server) -> String {
    s.get("container").trim_end_matches("/creds").to_owned()
}

/// A web identity token file for the STS tests.
fn web_identity_token(s: &common::Server) -> String {
    let token = s.dir.join("web-identity-token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.test.token\n").unwrap();
    token.display().to_string()
}

/// The variables of a web identity exchanged at the test server's STS.
fn web_identity_env(s: &common::Server) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_WEB_IDENTITY_TOKEN_FILE", web_identity_token(s)),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/nacos".to_owned(),
        ),
        ("AWS_ENDPOINT_URL_STS", format!("https://{}", s.kms())),
    ]
}

fn requests_to(s: &common::Server, server: &str) -> Vec<Value> {
    s.requests()
        .into_iter()
        .filter(|r| r["server"] == server)
        .collect()
}

#[test]
fn container_credentials_by_the_relative_uri() {
    let Some((s, _g)) = server() else { return };
    let env = Env::from_pairs([
        (
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/5f1c-nacos",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let kms = s
        .builder_with(env.clone())
        .container_relative_base(container_base(s))
        .build()
        .unwrap();
    let r = kms.check("alias/nacos").unwrap();
    assert_eq!(r.provider, "container");
    assert!(r.access_key_id.starts_with("ASIACTR"), "{r:?}");
    let asked = requests_to(s, "container");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0]["path"], "/v2/credentials/5f1c-nacos");
    assert_eq!(asked[0]["method"], "GET");
    assert_eq!(
        asked[0]["authorization"],
        Value::Null,
        "the relative form sends no token"
    );
    // Without the test base, the relative URI goes to the ECS agent's address, never to the
    // test server (nothing listens there: the request fails, and is not retried forever).
    s.reset();
    let e = s
        .builder_with(env)
        .metadata_timeouts(Duration::from_millis(200), Duration::from_millis(300))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
        .check("alias/nacos")
        .unwrap_err();
    assert!(e.to_string().contains("container credentials"), "{e}");
    assert!(requests_to(s, "container").is_empty());
    // The base is for loopback stand-ins only.
    for bad in [
        "http://10.1.2.3",
        "https://127.0.0.1",
        "http://127.0.0.1/path",
        "169.254.170.2",
    ] {
        let e = s
            .builder()
            .container_relative_base(bad)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
    }
    let e = s
        .builder_with(Env::from_pairs([(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "@evil.example/x",
        )]))
        .container_relative_base(container_base(s))
        .build()
        .unwrap()
        .check("alias/nacos")
        .unwrap_err();
    assert!(e.to_string().contains("must be a path"), "{e}");
}

#[test]
fn web_identity_from_a_profile() {
    let Some((s, _g)) = server() else { return };
    let token = web_identity_token(s);
    let cfg = s.dir.join("config-web-identity");
    std::fs::write(
        &cfg,
        format!(
            "[default]\nregion = eu-west-1\n\n[profile eks]\nregion = us-east-1\n\
             role_arn = arn:aws:iam::123456789012:role/nacos-eks\n\
             web_identity_token_file = {token}\nrole_session_name = nacos-pod\n"
        ),
    )
    .unwrap();
    let env = Env::from_pairs([
        ("AWS_CONFIG_FILE", cfg.display().to_string()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            s.dir.join("no-credentials").display().to_string(),
        ),
        ("AWS_PROFILE", "eks".to_owned()),
        ("AWS_ENDPOINT_URL_STS", format!("https://{}", s.kms())),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]);
    let kms = nacoscrypt_kms_aws::AwsKms::builder()
        .endpoint(s.kms())
        .ca_pem(s.ca_pem())
        .environment(env)
        .build()
        .unwrap();
    assert_eq!(kms.region(), "us-east-1", "the profile's region");
    let r = kms.check(&s.key("alias/nacos")).unwrap();
    assert_eq!(r.provider, "profile:eks");
    assert!(
        r.access_key_id.starts_with("ASIA") && r.expires.is_some(),
        "{r:?}"
    );
    let sts = requests_to(s, "sts");
    assert_eq!(sts.len(), 1, "{sts:?}");
    assert_eq!(sts[0]["action"], "AssumeRoleWithWebIdentity");
    assert_eq!(sts[0]["signed"], false);
    assert_eq!(
        sts[0]["role_arn"],
        "arn:aws:iam::123456789012:role/nacos-eks"
    );
    assert_eq!(sts[0]["role_session_name"], "nacos-pod");
    assert!(
        requests_to(s, "kms")
            .iter()
            .all(|k| k["access_key_id"] == json!(r.access_key_id)),
        "the KMS calls use the role's credentials"
    );
}

#[test]
fn sts_and_container_credentials_are_refreshed_before_expiry() {
    let Some((s, _g)) = server() else { return };
    // 10 s: long enough that a loaded machine finishes the first uses within the first half.
    s.control("POST", "/metadata", &json!({"lifetime": 10}));
    let mut env = web_identity_env(s);
    env.push(("AWS_EC2_METADATA_DISABLED", "true".to_owned()));
    let sts_kms = s.builder_with(Env::from_pairs(env)).build().unwrap();
    let container_kms = s
        .builder_with(Env::from_pairs([
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/refresh",
            ),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]))
        .container_relative_base(container_base(s))
        .build()
        .unwrap();
    let first_sts = sts_kms.check("alias/nacos").unwrap();
    let first_ctr = container_kms.check("alias/nacos").unwrap();
    assert_eq!(
        (first_sts.provider.as_str(), first_ctr.provider.as_str()),
        ("web_identity", "container")
    );
    // Used again within the first half of their life: the same credentials, no new request.
    sts_kms
        .encrypt("alias/nacos", b"x", &Context::new())
        .unwrap();
    container_kms
        .encrypt("alias/nacos", b"x", &Context::new())
        .unwrap();
    assert_eq!(requests_to(s, "sts").len(), 1);
    assert_eq!(requests_to(s, "container").len(), 1);
    // From half their life (5 s of 10) on, the next call fetches new ones, before expiry.
    std::thread::sleep(Duration::from_millis(5300));
    for (kms, first) in [(&sts_kms, &first_sts), (&container_kms, &first_ctr)] {
        kms.encrypt("alias/nacos", b"x", &Context::new()).unwrap();
        let second = kms.check("alias/nacos").unwrap();
        assert_ne!(
            second.access_key_id, first.access_key_id,
            "{}",
            first.provider
        );
        assert!(second.expires > first.expires, "{second:?} / {first:?}");
    }
    assert_eq!(requests_to(s, "sts").len(), 2);
    assert_eq!(requests_to(s, "container").len(), 2);
    s.control("POST", "/metadata", &json!({"lifetime": 3600}));
}

/// A client of the credential source `source` ("sts", "container" or "imds") at the test
/// server, with short metadata timeouts and fast retries.
fn source_client(
    s: &common::Server,
    source: &str,
    retry: RetryPolicy,
) -> nacoscrypt_kms_aws::AwsKms {
    let mut env = match source {
        "sts" => web_identity_env(s),
        "container" => vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", s.get("container")),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                "container-token-0123".to_owned(),
            ),
        ],
        "imds" => vec![("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.get("imds"))],
        other => panic!("{other}"),
    };
    if source != "imds" {
        env.push(("AWS_EC2_METADATA_DISABLED", "true".to_owned()));
    }
    s.builder_with(Env::from_pairs(env))
        .timeouts(Duration::from_secs(1), Duration::from_millis(600))
        .metadata_timeouts(Duration::from_millis(300), Duration::from_millis(600))
        .retry(retry)
        .build()
        .unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_total: Duration::from_secs(5),
    }
}

#[test]
fn credential_endpoints_that_fail_for_a_while_are_retried() {
    let Some((s, _g)) = server() else { return };
    const CREDS: &str = "/latest/meta-data/iam/security-credentials/nacos-reader";
    let cases: &[(&str, &str, Option<&str>, u32)] = &[
        ("imds", "throttle", Some("/latest/api/token"), 2),
        (
            "imds",
            "unavailable",
            Some("/latest/meta-data/iam/security-credentials/"),
            1,
        ),
        ("imds", "internal", Some(CREDS), 1),
        ("imds", "garbage", Some(CREDS), 2),
        ("imds", "hang", Some(CREDS), 1),
        ("imds", "reset", None, 1),
        ("container", "throttle", None, 1),
        ("container", "unavailable", None, 2),
        ("container", "garbage", None, 1),
        ("container", "truncated", None, 1),
        ("container", "hang", None, 1),
        ("sts", "throttle", None, 2),
        ("sts", "unavailable", None, 1),
        ("sts", "internal", None, 1),
        ("sts", "reset", None, 1),
        ("sts", "hang", None, 1),
    ];
    for &(source, kind, action, count) in cases {
        s.reset();
        let mut fault = json!({"server": source, "kind": kind, "count": count, "seconds": 3});
        if let Some(a) = action {
            fault["action"] = json!(a);
        }
        s.faults(json!([fault]));
        let kms = source_client(s, source, fast_retries());
        let started = Instant::now();
        let r = kms
            .check("alias/nacos")
            .unwrap_or_else(|e| panic!("{source} {kind}: {e}"));
        let took = started.elapsed();
        assert!(took < Duration::from_secs(4), "{source} {kind}: {took:?}");
        let want = if source == "sts" {
            "web_identity"
        } else {
            source
        };
        assert_eq!(r.provider, want, "{source} {kind}");
        // The failed requests were tried again, the same request each time.
        let asked = requests_to(s, source);
        let path = action.map_or_else(
            || asked.first().map(|r| r["path"].clone()).unwrap_or_default(),
            |a| json!(a),
        );
        let same = asked.iter().filter(|r| r["path"] == path).count();
        // Each failure was tried again; on a loaded machine an answer slower than the short
        // test timeouts is one more (legitimate) retry, within the policy's 4 attempts.
        assert!(
            same > count as usize && same <= 4,
            "{source} {kind}: {count} failures, {same} requests: {asked:?}"
        );
        assert!(!s.get("secret").is_empty());
    }
    s.reset();
}

#[test]
fn credential_endpoints_that_keep_failing_end_in_a_documented_error_in_time() {
    let Some((s, _g)) = server() else { return };
    const CREDS: &str = "/latest/meta-data/iam/security-credentials/nacos-reader";
    // (source, fault, action, what the error says, its code, attempts made)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, &'a str, u32);
    let cases: &[Case<'_>] = &[
        (
            "imds",
            "unavailable",
            Some("/latest/api/token"),
            "instance metadata (token): HTTP 503",
            "Credentials",
            4,
        ),
        (
            "imds",
            "throttle",
            Some(CREDS),
            "instance metadata (credentials): HTTP 429",
            "Credentials",
            4,
        ),
        (
            "imds",
            "garbage",
            Some(CREDS),
            "imds: the answer is not JSON",
            "Credentials",
            4,
        ),
        (
            "container",
            "internal",
            None,
            "container credentials: HTTP 500",
            "Credentials",
            4,
        ),
        (
            "container",
            "garbage",
            None,
            "container: the answer is not JSON",
            "Credentials",
            4,
        ),
        ("sts", "throttle", None, "Rate exceeded", "Throttling", 4),
        (
            "sts",
            "unavailable",
            None,
            "Service Unavailable",
            "ServiceUnavailable",
            4,
        ),
        // Not worth another try: STS answering 200 without credentials.
        (
            "sts",
            "garbage",
            None,
            "STS answered without",
            "Credentials",
            1,
        ),
    ];
    for &(source, kind, action, says, code, attempts) in cases {
        s.reset();
        let mut fault = json!({"server": source, "kind": kind, "count": 50});
        if let Some(a) = action {
            fault["action"] = json!(a);
        }
        s.faults(json!([fault]));
        let kms = source_client(s, source, fast_retries());
        let started = Instant::now();
        let e = kms.check("alias/nacos").unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "{source} {kind}: {took:?}");
        let se = service_error(&e);
        assert_eq!(
            (se.code.as_str(), se.attempts),
            (code, attempts),
            "{source} {kind}: {e}"
        );
        assert!(e.to_string().contains(says), "{source} {kind}: {e}");
        assert!(!e.to_string().contains(&s.get("secret")));
        assert!(!e.to_string().contains("container-token-0123"));
        assert!(!e.to_string().contains("eyJhbGciOiJSUzI1NiJ9"));
        // The KMS calls fail the same way, before any KMS request.
        s.reset();
        s.faults(json!([{"server": source, "kind": kind, "count": 50, "action": action}]));
        let e = kms
            .encrypt("alias/nacos", b"x", &Context::new())
            .unwrap_err();
        assert_eq!(service_error(&e).attempts, attempts, "{source} {kind}: {e}");
        assert!(requests_to(s, "kms").is_empty(), "{source} {kind}");
    }
    // An endpoint that hangs: each try ends at the request timeout, the fetch at the policy's
    // max_total (plus one timeout), with a Timeout.
    for source in ["imds", "container", "sts"] {
        s.reset();
        s.faults(json!([{"server": source, "kind": "hang", "count": 50, "seconds": 5}]));
        let retry = RetryPolicy {
            max_total: Duration::from_millis(1500),
            ..fast_retries()
        };
        let kms = source_client(s, source, retry);
        let started = Instant::now();
        let e = kms.check("alias/nacos").unwrap_err();
        let took = started.elapsed();
        assert!(e.to_string().contains("Timeout"), "{source}: {e}");
        assert!(service_error(&e).attempts >= 2, "{source}: {e}");
        assert!(
            took < Duration::from_millis(1500 + 600 + 500),
            "{source}: {took:?}"
        );
    }
    s.reset();
}

#[test]
fn the_chain_tries_its_sources_in_botocores_order() {
    let Some((s, _g)) = server() else { return };
    assert_eq!(
        format!("{:?}", Provider::default_chain()),
        "Chain([Environment, WebIdentity, Profile(None), Container, InstanceMetadata])"
    );
    let creds = s.dir.join("credentials-chain");
    std::fs::write(
        &creds,
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            s.get("access_key_id"),
            s.get("secret")
        ),
    )
    .unwrap();
    let container_token = s.dir.join("container-token-chain");
    // botocore refuses a token file with a newline (this client trims one).
    std::fs::write(&container_token, "container-token-0123").unwrap();
    let home = s.dir.join("home-chain");
    std::fs::create_dir_all(&home).unwrap();
    // Every source configured at once; each step takes the winner away.
    // (our provider name, botocore's method, the variables of the source)
    type Layer<'a> = (&'a str, &'a str, Vec<(&'a str, String)>);
    let mut layers: Vec<Layer<'_>> = vec![
        (
            "env",
            "env",
            vec![
                ("AWS_ACCESS_KEY_ID", s.get("access_key_id")),
                ("AWS_SECRET_ACCESS_KEY", s.get("secret")),
            ],
        ),
        (
            "web_identity",
            "assume-role-with-web-identity",
            web_identity_env(s),
        ),
        (
            "profile:default",
            "shared-credentials-file",
            vec![("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string())],
        ),
        (
            "container",
            "container-role",
            vec![
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", s.get("container")),
                (
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    container_token.display().to_string(),
                ),
            ],
        ),
        (
            "imds",
            "iam-role",
            vec![("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.get("imds"))],
        ),
    ];
    let below = ["sts", "container", "imds"];
    while !layers.is_empty() {
        let (ours, botocores) = (layers[0].0, layers[0].1);
        let mut vars: Vec<(&str, String)> = vec![
            ("HOME", home.display().to_string()),
            (
                "AWS_CONFIG_FILE",
                s.dir.join("no-config").display().to_string(),
            ),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ];
        if !layers.iter().any(|l| l.0 == "profile:default") {
            vars.push((
                "AWS_SHARED_CREDENTIALS_FILE",
                s.dir.join("no-credentials").display().to_string(),
            ));
        }
        for (_, _, v) in &layers {
            vars.extend(v.iter().cloned());
        }
        s.reset();
        let report = s
            .builder_with(Env::from_pairs(vars.clone()))
            .build()
            .unwrap()
            .check("alias/nacos")
            .unwrap();
        assert_eq!(report.provider, ours);
        // Sources after the winner are never asked.
        let asked: Vec<String> = below
            .iter()
            .filter(|b| !requests_to(s, b).is_empty())
            .map(|b| (*b).to_owned())
            .collect();
        let expected: Vec<String> = match ours {
            "web_identity" => vec!["sts".into()],
            "container" => vec!["container".into()],
            "imds" => vec!["imds".into()],
            _ => vec![],
        };
        assert_eq!(asked, expected, "{ours}");
        // botocore's default chain, given the same variables, picks the same source.
        let env: serde_json::Map<String, Value> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
            .collect();
        let theirs = oracle("credential_source", &json!({ "env": env }));
        assert_eq!(
            theirs["method"], botocores,
            "botocore with {ours}'s variables"
        );
        layers.remove(0);
    }
}
