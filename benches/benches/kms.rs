//! Key services: a data-key decrypt through the Alibaba Cloud KMS client against the loopback
//! test KMS (`NACOSCRYPT_BENCH_ALIYUN` = the test server's ready line, set by compare.py),
//! beside a bare keep-alive HTTPS request of the same size to the same server (the floor: the
//! server answers it without any KMS work); and cache-hit decrypts beside the local keyring.
//! The same for AWS KMS (`NACOSCRYPT_BENCH_AWS`: moto behind the signature-checking TLS front)
//! and for PKCS#11 (`NACOSCRYPT_BENCH_PKCS11`: a SoftHSM2 token), whose floor is one bare
//! `C_Decrypt` of the same size on the same key.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use criterion::{Criterion, criterion_group, criterion_main};
use nacoscrypt_core::SecretString;
use nacoscrypt_core::kms::{Context, KeySpec, Keyring, Kms};
use nacoscrypt_kms_aliyun::{AliyunKms, CacheMode, CacheSettings, Endpoint, Provider};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

/// A keep-alive HTTPS agent trusting the test CA at `ca_path` (the floor rows' client: the
/// same TLS stack as the KMS clients, nothing above HTTP).
fn bare_agent(ca_path: &str) -> ureq::Agent {
    let ca = std::fs::read_to_string(ca_path).unwrap();
    let certs: Vec<_> = ureq::tls::parse_pem(ca.as_bytes())
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    ureq::Agent::config_builder()
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
        .into()
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

    let Some(s) = ready_line("NACOSCRYPT_BENCH_ALIYUN") else {
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
    let agent = bare_agent(s["ca"].as_str().unwrap());
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
    let Some(s) = ready_line("NACOSCRYPT_BENCH_ALIYUN_INSTANCE") else {
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

/// A test server's ready line from `var` (set by compare.py), or a note and `None`.
fn ready_line(var: &str) -> Option<serde_json::Value> {
    let line = std::env::var(var).ok();
    let parsed = line.as_deref().and_then(|l| serde_json::from_str(l).ok());
    if parsed.is_none() {
        eprintln!("kms benches: {var} is not set (run benches/compare.py)");
    }
    parsed
}

/// AWS KMS (`NACOSCRYPT_BENCH_AWS` = the ready line of kms/aws/tests/server/aws_test_server.py):
/// a data-key `Decrypt` through `AwsKms` (SigV4, keep-alive TLS) against moto behind the front
/// that checks every signature with botocore, and the floor: the same request unsigned over a
/// kept-alive connection, which the front refuses before any signature check or KMS work.
fn aws(c: &mut Criterion) {
    let Some(s) = ready_line("NACOSCRYPT_BENCH_AWS") else {
        return;
    };
    let field = |k: &str| s[k].as_str().unwrap().to_owned();
    let kms = nacoscrypt_kms_aws::AwsKms::builder()
        .region("us-east-1")
        .endpoint(field("kms"))
        .ca_pem(std::fs::read_to_string(field("ca")).unwrap())
        .environment(nacoscrypt_kms_aws::Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", field("access_key_id")),
            ("AWS_SECRET_ACCESS_KEY", field("secret")),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]))
        .build()
        .unwrap();
    let ctx = Context::new();
    let blob = kms
        .generate_data_key("alias/nacos", KeySpec::Aes256, &ctx)
        .unwrap()
        .ciphertext_blob;
    let mut g = c.benchmark_group("kms_decrypt_data_key");
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(30);
    g.bench_function("aws_kms", |b| {
        b.iter(|| {
            kms.decrypt_data_key(black_box(&blob), KeySpec::Aes256, &ctx)
                .unwrap()
        })
    });

    let agent = bare_agent(&field("ca"));
    let url = format!("https://{}/", field("kms"));
    let body = serde_json::json!({ "CiphertextBlob": blob }).to_string();
    g.bench_function("aws_bare_https_keepalive", |b| {
        b.iter(|| {
            let mut r = agent
                .post(&url)
                .header("x-amz-target", "TrentService.Decrypt")
                .header("content-type", "application/x-amz-json-1.1")
                .send(black_box(body.as_bytes()))
                .unwrap();
            assert_eq!(r.status(), 400, "the front refuses an unsigned request");
            black_box(r.body_mut().read_to_vec().unwrap())
        })
    });
    g.finish();
}

/// PKCS#11 (`NACOSCRYPT_BENCH_PKCS11` = `{"module", "token", "pin_file", "key"}` of a SoftHSM2
/// token that compare.py made with scripts/softhsm-token.sh; `SOFTHSM2_CONF` set): a data-key
/// decrypt through `Pkcs11Kms` (session pool, blob parsing, AAD) beside the floor, one bare
/// `C_Decrypt` (`CKM_AES_GCM`) of the same 48 bytes with the same key on a session held open.
fn pkcs11(c: &mut Criterion) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::error::{Error as P11Error, RvError};
    use cryptoki::mechanism::{Mechanism, aead::GcmParams};
    use cryptoki::object::Attribute;
    use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};

    let Some(s) = ready_line("NACOSCRYPT_BENCH_PKCS11") else {
        return;
    };
    let field = |k: &str| s[k].as_str().unwrap().to_owned();
    let kms = Pkcs11Kms::builder()
        .module(field("module"))
        .token(Token::Label(field("token")))
        .pin(Pin::from_file(field("pin_file").as_ref()).unwrap())
        .default_key_label(field("key"))
        .build()
        .unwrap();
    let ctx = Context::new();
    let blob = kms
        .generate_data_key("", KeySpec::Aes256, &ctx)
        .unwrap()
        .ciphertext_blob;
    let mut g = c.benchmark_group("kms_decrypt_data_key");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("pkcs11", |b| {
        b.iter(|| {
            kms.decrypt_data_key(black_box(&blob), KeySpec::Aes256, &ctx)
                .unwrap()
        })
    });

    // The floor: the module's own cost for the same operation. This handle shares the loaded
    // module (and its login) with the KMS; it is never dropped, because dropping the last clone
    // of a cryptoki context calls C_Finalize, which would close the KMS's sessions too.
    let module = Pkcs11::new(field("module")).unwrap();
    match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = module
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|sl| {
            module
                .get_token_info(*sl)
                .is_ok_and(|i| i.label().trim_end() == field("token"))
        })
        .unwrap();
    let session = module.open_ro_session(slot).unwrap();
    let key = session
        .find_objects(&[Attribute::Label(field("key").into_bytes())])
        .unwrap()[0];
    // The AAD a blob of this label has without context pairs (see the kms/pkcs11 crate docs).
    let label = field("key");
    let mut aad = b"nacoscrypt:pkcs11:v1".to_vec();
    aad.extend(u32::try_from(label.len()).unwrap().to_be_bytes());
    aad.extend(label.as_bytes());
    let mut iv = [7u8; 12];
    let sealed = session
        .encrypt(
            &Mechanism::AesGcm(GcmParams::new(&mut iv, &aad, 128.into()).unwrap()),
            key,
            &[0u8; 32],
        )
        .unwrap();
    g.bench_function("pkcs11_bare_c_decrypt", |b| {
        b.iter(|| {
            let mut iv = [7u8; 12];
            let params = GcmParams::new(&mut iv, &aad, 128.into()).unwrap();
            black_box(
                session
                    .decrypt(&Mechanism::AesGcm(params), key, black_box(&sealed))
                    .unwrap(),
            )
        })
    });
    g.finish();
    drop(session);
    std::mem::forget(module);
}

criterion_group!(benches, kms, instance, aws, pkcs11);
criterion_main!(benches);
