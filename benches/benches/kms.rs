//! Key services: a data-key decrypt through the Alibaba Cloud KMS client against the loopback
//! test KMS (`NACOSCRYPT_BENCH_ALIYUN` = the test server's ready line, set by compare.py),
//! beside a bare keep-alive HTTPS request of the same size to the same server (the floor: the
//! server answers it without any KMS work); and cache-hit decrypts beside the local keyring.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use criterion::{Criterion, criterion_group, criterion_main};
use nacoscrypt_core::SecretString;
use nacoscrypt_core::kms::{Context, KeySpec, Keyring, Kms};
use nacoscrypt_kms_aliyun::{AliyunKms, CacheMode, CacheSettings, Endpoint, Provider};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn server() -> Option<serde_json::Value> {
    let line = std::env::var("NACOSCRYPT_BENCH_ALIYUN").ok()?;
    serde_json::from_str(&line).ok()
}

fn client(s: &serde_json::Value, cache: CacheSettings) -> AliyunKms {
    let ca = std::fs::read_to_string(s["ca"].as_str().unwrap()).unwrap();
    AliyunKms::builder()
        .endpoint(Endpoint::Custom(s["kms"].as_str().unwrap().to_owned()))
        .ca_pem(ca)
        .credentials(Provider::AccessKey {
            id: "LTAI5tTestAccessKeyId".into(),
            secret: SecretString::from("TestAccessKeySecret0123456789abc".to_owned()),
        })
        .cache(cache)
        .build()
        .unwrap()
}

fn kms(c: &mut Criterion) {
    let mut g = c.benchmark_group("kms_decrypt_data_key");
    g.measurement_time(Duration::from_secs(3));
    let ctx = Context::new();

    // The local keyring: the baseline for cache hits.
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/acs/mse").unwrap();
    let local = keyring
        .generate_data_key("alias/acs/mse", KeySpec::Aes256, &ctx)
        .unwrap();
    g.bench_function("local_keyring", |b| {
        b.iter(|| {
            keyring
                .decrypt_data_key(black_box(&local.ciphertext_blob), KeySpec::Aes256, &ctx)
                .unwrap()
        })
    });

    let Some(s) = server() else {
        eprintln!("kms benches: NACOSCRYPT_BENCH_ALIYUN is not set (run benches/compare.py)");
        g.finish();
        return;
    };
    let remote = client(&s, CacheSettings::default());
    let blob = remote
        .generate_data_key("alias/acs/mse", KeySpec::Aes256, &ctx)
        .unwrap()
        .ciphertext_blob;
    g.sample_size(30);
    g.bench_function("aliyun_openapi", |b| {
        b.iter(|| {
            remote
                .decrypt_data_key(black_box(&blob), KeySpec::Aes256, &ctx)
                .unwrap()
        })
    });

    // The floor: the same request line size over a kept-alive TLS connection, which the
    // server refuses at once (no signature), so only transport and HTTP remain.
    let ca = std::fs::read_to_string(s["ca"].as_str().unwrap()).unwrap();
    let certs: Vec<_> = ureq::tls::parse_pem(ca.as_bytes())
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
                .unversioned_rustls_crypto_provider(Arc::new(
                    rustls::crypto::aws_lc_rs::default_provider(),
                ))
                .build(),
        )
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!(
        "https://{}/?CiphertextBlob={}",
        s["kms"].as_str().unwrap(),
        nacoscrypt_kms_aliyun::sign::percent_encode(&blob)
    );
    g.bench_function("bare_https_keepalive", |b| {
        b.iter(|| {
            let mut r = agent
                .post(&url)
                .header("x-acs-action", "Decrypt")
                .send_empty()
                .unwrap();
            black_box(r.body_mut().read_to_vec().unwrap())
        })
    });

    // Cache hits ("first" mode): no request at all.
    let cached = client(
        &s,
        CacheSettings {
            mode: CacheMode::First,
            ..CacheSettings::default()
        },
    );
    cached
        .decrypt_data_key(&blob, KeySpec::Aes256, &ctx)
        .unwrap();
    g.sample_size(100);
    g.bench_function("aliyun_cache_hit", |b| {
        b.iter(|| {
            cached
                .decrypt_data_key(black_box(&blob), KeySpec::Aes256, &ctx)
                .unwrap()
        })
    });
    g.finish();
}

/// The KMS instance API (`NACOSCRYPT_BENCH_ALIYUN_INSTANCE` = its test server's ready line).
fn instance(c: &mut Criterion) {
    let Some(s) = std::env::var("NACOSCRYPT_BENCH_ALIYUN_INSTANCE")
        .ok()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
    else {
        eprintln!(
            "kms benches: NACOSCRYPT_BENCH_ALIYUN_INSTANCE is not set (run benches/compare.py)"
        );
        return;
    };
    let field = |k: &str| s[k].as_str().unwrap().to_owned();
    let password =
        SecretString::from(std::fs::read_to_string(field("client_key_good_password")).unwrap());
    let kms = nacoscrypt_kms_aliyun::AliyunInstanceKms::builder()
        .endpoint(field("instance"))
        .client_key(
            nacoscrypt_kms_aliyun::ClientKey::from_file(
                field("client_key_good").as_ref(),
                &password,
            )
            .unwrap(),
        )
        .ca_pem(std::fs::read_to_string(field("ca")).unwrap())
        .build()
        .unwrap();
    let ctx = Context::new();
    let blob = kms
        .generate_data_key("alias/acs/mse", KeySpec::Aes256, &ctx)
        .unwrap()
        .ciphertext_blob;
    let mut g = c.benchmark_group("kms_decrypt_data_key");
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(30);
    g.bench_function("aliyun_instance", |b| {
        b.iter(|| {
            kms.decrypt_data_key(black_box(&blob), KeySpec::Aes256, &ctx)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, kms, instance);
criterion_main!(benches);
