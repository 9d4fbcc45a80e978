//! Config encryption: both formats at 64 B, 1 KiB, 6 KiB and 50 KiB, through the local keyring
//! (the data key step included) and with the data key given (the cipher alone), beside the
//! peers in the same groups: AES-256-GCM with `ring` + `base64-simd` and with `aes-gcm` +
//! `base64` (for `v1`), pipelined AES-256-ECB with the `aes` crate + `base64-simd` (for `nacos`).
//!
//! The peers do the same envelope steps (nonce ‖ ciphertext ‖ tag, standard base64; PKCS#7 and
//! base64 for ECB) with a key set up once; they do not validate UTF-8 nor wipe anything.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit as _};
use aes_gcm::aead::AeadInOut;
use base64::Engine as _;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use nacoscrypt_core::config::{self, ConfigId, Format, Limits};
use nacoscrypt_core::kms::{DataKey, KeySpec, Keyring};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 4] = [64, 1024, 6 * 1024, 50 * 1024];
const KEY: [u8; 32] = [0x42; 32];
const NONCE: [u8; 12] = [7; 12];
const ID: ConfigId<'static> =
    ConfigId::new("cipher-kms-aes-256-bench.properties", "DEFAULT_GROUP", "");

fn content(size: usize) -> String {
    "spring.datasource.password=s3cret\n"
        .chars()
        .cycle()
        .take(size)
        .collect()
}

/// The `v1` AAD of [`ID`] with an empty data key blob (as the "key given" benches use), so the
/// GCM peers authenticate as many bytes as the library does.
fn v1_aad() -> Vec<u8> {
    let mut aad = b"nacoscrypt:v1".to_vec();
    for field in ["public", ID.group, ID.data_id, ""] {
        aad.extend_from_slice(&u32::try_from(field.len()).unwrap().to_be_bytes());
        aad.extend_from_slice(field.as_bytes());
    }
    aad
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

// ----- peers -----

struct Peers {
    ring: ring::aead::LessSafeKey,
    aes_gcm: aes_gcm::Aes256Gcm,
    ecb: aes::Aes256,
    aad: Vec<u8>,
}

impl Peers {
    fn new() -> Self {
        Self {
            ring: ring::aead::LessSafeKey::new(
                ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &KEY).unwrap(),
            ),
            aes_gcm: <aes_gcm::Aes256Gcm as aes_gcm::KeyInit>::new(&KEY.into()),
            ecb: aes::Aes256::new(&KEY.into()),
            aad: v1_aad(),
        }
    }

    fn ring_seal_b64(&self, text: &str) -> String {
        let mut buf = Vec::with_capacity(12 + text.len() + 16);
        buf.extend_from_slice(&NONCE);
        buf.extend_from_slice(text.as_bytes());
        let nonce = ring::aead::Nonce::assume_unique_for_key(NONCE);
        let tag = self
            .ring
            .seal_in_place_separate_tag(nonce, ring::aead::Aad::from(&self.aad), &mut buf[12..])
            .unwrap();
        buf.extend_from_slice(tag.as_ref());
        base64_simd::STANDARD.encode_to_string(&buf)
    }

    fn ring_open_b64(&self, stored: &str) -> Vec<u8> {
        let mut buf = base64_simd::STANDARD.decode_to_vec(stored).unwrap();
        let nonce = ring::aead::Nonce::try_assume_unique_for_key(&buf[..12]).unwrap();
        let len = self
            .ring
            .open_in_place(nonce, ring::aead::Aad::from(&self.aad), &mut buf[12..])
            .unwrap()
            .len();
        buf.truncate(12 + len);
        buf
    }

    fn aes_gcm_seal_b64(&self, text: &str) -> String {
        let mut buf = Vec::with_capacity(12 + text.len() + 16);
        buf.extend_from_slice(&NONCE);
        buf.extend_from_slice(text.as_bytes());
        let tag = self
            .aes_gcm
            .encrypt_inout_detached(&NONCE.into(), &self.aad, (&mut buf[12..]).into())
            .unwrap();
        buf.extend_from_slice(&tag);
        base64::engine::general_purpose::STANDARD.encode(&buf)
    }

    fn aes_gcm_open_b64(&self, stored: &str) -> Vec<u8> {
        let mut buf = base64::engine::general_purpose::STANDARD
            .decode(stored)
            .unwrap();
        let body_len = buf.len() - 12 - 16;
        let (nonce, rest) = buf.split_at_mut(12);
        let (body, tag) = rest.split_at_mut(body_len);
        let tag = aes_gcm::Tag::try_from(&*tag).unwrap();
        let nonce = aes_gcm::Nonce::try_from(&*nonce).unwrap();
        self.aes_gcm
            .decrypt_inout_detached(&nonce, &self.aad, body.into(), &tag)
            .unwrap();
        buf.truncate(12 + body_len);
        buf
    }

    fn ecb_encrypt_b64(&self, text: &str) -> String {
        let pad = 16 - text.len() % 16;
        let mut buf = Vec::with_capacity(text.len() + pad);
        buf.extend_from_slice(text.as_bytes());
        buf.resize(text.len() + pad, u8::try_from(pad).unwrap());
        let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
        self.ecb.encrypt_blocks(blocks);
        base64_simd::STANDARD.encode_to_string(&buf)
    }

    fn ecb_decrypt_b64(&self, stored: &str) -> Vec<u8> {
        let mut buf = base64_simd::STANDARD.decode_to_vec(stored).unwrap();
        let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
        self.ecb.decrypt_blocks(blocks);
        let len = buf.len() - usize::from(buf[buf.len() - 1]);
        buf.truncate(len);
        buf
    }
}

fn peers_encrypt(g: &mut Group<'_>, p: &Peers, format: Format, size: usize, text: &str) {
    match format {
        Format::V1 => {
            g.bench_with_input(BenchmarkId::new("ring_b64simd", size), text, |b, t| {
                b.iter(|| p.ring_seal_b64(black_box(t)))
            });
            g.bench_with_input(BenchmarkId::new("aesgcm_base64", size), text, |b, t| {
                b.iter(|| p.aes_gcm_seal_b64(black_box(t)))
            });
        }
        Format::Nacos => {
            g.bench_with_input(BenchmarkId::new("ecb_b64simd", size), text, |b, t| {
                b.iter(|| p.ecb_encrypt_b64(black_box(t)))
            });
        }
    }
}

fn peers_decrypt(g: &mut Group<'_>, p: &Peers, format: Format, size: usize, text: &str) {
    match format {
        Format::V1 => {
            let stored = p.ring_seal_b64(text);
            assert_eq!(&p.ring_open_b64(&stored)[12..], text.as_bytes());
            g.bench_with_input(BenchmarkId::new("ring_b64simd", size), &stored, |b, s| {
                b.iter(|| p.ring_open_b64(black_box(s)))
            });
            let stored = p.aes_gcm_seal_b64(text);
            assert_eq!(&p.aes_gcm_open_b64(&stored)[12..], text.as_bytes());
            g.bench_with_input(BenchmarkId::new("aesgcm_base64", size), &stored, |b, s| {
                b.iter(|| p.aes_gcm_open_b64(black_box(s)))
            });
        }
        Format::Nacos => {
            let stored = p.ecb_encrypt_b64(text);
            assert_eq!(p.ecb_decrypt_b64(&stored), text.as_bytes());
            g.bench_with_input(BenchmarkId::new("ecb_b64simd", size), &stored, |b, s| {
                b.iter(|| p.ecb_decrypt_b64(black_box(s)))
            });
        }
    }
}

/// The whole local envelope written with `ring`, as an application would without this library:
/// a fresh data key and nonce from the OS (`SystemRandom`: one `getrandom` call per draw), the
/// data key wrapped under the master key (AES-256-GCM, nonce ‖ ciphertext ‖ tag, base64: the
/// `encryptedDataKey`), then the content sealed under the data key with the `v1` AAD binding
/// that blob, and base64. The library's `config::encrypt` with a `Keyring` does these steps
/// (its blob also names the key version), so this is the peer of its "local keyring" row.
struct RingEnvelope {
    master: ring::aead::LessSafeKey,
    rng: ring::rand::SystemRandom,
}

impl RingEnvelope {
    fn new() -> Self {
        Self {
            master: ring::aead::LessSafeKey::new(
                ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &[0x24; 32]).unwrap(),
            ),
            rng: ring::rand::SystemRandom::new(),
        }
    }

    fn seal(key: &ring::aead::LessSafeKey, nonce: [u8; 12], aad: &[u8], text: &[u8]) -> String {
        let mut buf = Vec::with_capacity(12 + text.len() + 16);
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(text);
        let tag = key
            .seal_in_place_separate_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad),
                &mut buf[12..],
            )
            .unwrap();
        buf.extend_from_slice(tag.as_ref());
        base64_simd::STANDARD.encode_to_string(&buf)
    }

    /// Returns (content, encryptedDataKey).
    fn encrypt(&self, text: &str) -> (String, String) {
        use ring::rand::SecureRandom as _;
        let mut data_key = [0u8; 32];
        self.rng.fill(&mut data_key).unwrap();
        let mut wrap_nonce = [0u8; 12];
        self.rng.fill(&mut wrap_nonce).unwrap();
        let edk = Self::seal(&self.master, wrap_nonce, b"nacoscrypt:dk", &data_key);
        let key = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &data_key).unwrap(),
        );
        let mut nonce = [0u8; 12];
        self.rng.fill(&mut nonce).unwrap();
        let mut aad = b"nacoscrypt:v1".to_vec();
        for part in [
            b"public".as_slice(),
            ID.group.as_bytes(),
            ID.data_id.as_bytes(),
            edk.as_bytes(),
        ] {
            aad.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
            aad.extend_from_slice(part);
        }
        (Self::seal(&key, nonce, &aad, text.as_bytes()), edk)
    }
}

// ----- this project, with the peers in the same groups -----

fn encrypt(c: &mut Criterion) {
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/bench").unwrap();
    let data_key = DataKey::new(KeySpec::Aes256, &KEY).unwrap();
    let peers = Peers::new();
    for format in [Format::Nacos, Format::V1] {
        let mut g = c.benchmark_group(format!("config_encrypt_{format}"));
        for size in SIZES {
            let text = content(size);
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(
                BenchmarkId::new("nacoscrypt_keyring", size),
                &text,
                |b, t| {
                    b.iter(|| {
                        config::encrypt(&keyring, &ID, black_box(t), "alias/bench", format).unwrap()
                    })
                },
            );
            g.bench_with_input(
                BenchmarkId::new("nacoscrypt_key_given", size),
                &text,
                |b, t| {
                    b.iter(|| {
                        config::encrypt_with_data_key(&data_key, &ID, black_box(t), "", format)
                            .unwrap()
                    })
                },
            );
            peers_encrypt(&mut g, &peers, format, size, &text);
            if format == Format::V1 && size == 64 {
                let envelope = RingEnvelope::new();
                g.bench_with_input(BenchmarkId::new("ring_envelope_os", size), &text, |b, t| {
                    b.iter(|| envelope.encrypt(black_box(t)))
                });
            }
        }
        g.finish();
    }
}

fn decrypt(c: &mut Criterion) {
    let mut keyring = Keyring::new();
    keyring.add_new_key("alias/bench").unwrap();
    let data_key = DataKey::new(KeySpec::Aes256, &KEY).unwrap();
    let peers = Peers::new();
    for format in [Format::Nacos, Format::V1] {
        let mut g = c.benchmark_group(format!("config_decrypt_{format}"));
        for size in SIZES {
            let text = content(size);
            g.throughput(Throughput::Bytes(size as u64));
            let stored = config::encrypt(&keyring, &ID, &text, "alias/bench", format).unwrap();
            g.bench_with_input(
                BenchmarkId::new("nacoscrypt_keyring", size),
                &stored,
                |b, s| {
                    b.iter(|| {
                        config::decrypt(&keyring, &ID, black_box(&s.content), &s.encrypted_data_key)
                            .unwrap()
                    })
                },
            );
            let given = config::encrypt_with_data_key(&data_key, &ID, &text, "", format).unwrap();
            assert_eq!(
                config::decrypt_with_data_key(&data_key, &ID, &given, "", &Limits::NACOS)
                    .unwrap()
                    .as_str(),
                text
            );
            g.bench_with_input(
                BenchmarkId::new("nacoscrypt_key_given", size),
                &given,
                |b, s| {
                    b.iter(|| {
                        config::decrypt_with_data_key(
                            &data_key,
                            &ID,
                            black_box(s),
                            "",
                            &Limits::NACOS,
                        )
                        .unwrap()
                    })
                },
            );
            peers_decrypt(&mut g, &peers, format, size, &text);
        }
        g.finish();
    }
}

fn criterion_config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = encrypt, decrypt
}
criterion_main!(benches);
