//! Tokens: sign and verify (HS256/384/512), verify with a rotation key, cache login hits, the C
//! ABI's verify beside the core's, and the peers: a pre-keyed HMAC of the same signing input
//! (the floor) and `jsonwebtoken` on the same claims; verify with and without a revocation
//! lookup among 10,000 revoked users.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use nacoscrypt_core::token::{InMemoryRevocations, SecretKey, TokenCache, TokenManager};
use sha2::{Sha256, Sha384, Sha512};
use std::hint::black_box;
use std::time::Duration;

/// Expiry of the benchmark tokens (2100-01-01) and the time they are verified at.
const EXP: i64 = 4_102_444_800;
const NOW: i64 = 1_800_000_000;
const SUBJECT: &str = "nacos";

fn secret(len: u8) -> Vec<u8> {
    (0..len).map(|i| i ^ 0x5a).collect()
}

fn key(len: u8) -> SecretKey {
    SecretKey::from_bytes(&secret(len)).unwrap()
}

/// A pre-keyed HMAC of `input` (the state cloned per call, as a server keeps it): the floor.
fn bench_hmac<M: Mac + Clone>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    prekeyed: &M,
    input: &[u8],
) {
    g.bench_function("hmac_prekeyed", |b| {
        b.iter(|| {
            let mut m = prekeyed.clone();
            m.update(black_box(input));
            black_box(m.finalize().into_bytes())
        })
    });
}

fn sign_and_verify(c: &mut Criterion) {
    for (alg, len) in [("HS256", 32u8), ("HS384", 48), ("HS512", 64)] {
        let manager = TokenManager::new(key(len));
        let token = manager.signing_key().sign(SUBJECT, EXP);
        let signing_input = &token.as_bytes()[..token.rfind('.').unwrap()];
        let secret = secret(len);

        let mut g = c.benchmark_group(format!("token_sign_{alg}"));
        g.throughput(Throughput::Bytes(token.len() as u64));
        g.bench_function("nacoscrypt", |b| {
            b.iter(|| {
                manager
                    .signing_key()
                    .sign(black_box(SUBJECT), black_box(EXP))
            })
        });
        match alg {
            "HS256" => bench_hmac(
                &mut g,
                &Hmac::<Sha256>::new_from_slice(&secret).unwrap(),
                signing_input,
            ),
            "HS384" => bench_hmac(
                &mut g,
                &Hmac::<Sha384>::new_from_slice(&secret).unwrap(),
                signing_input,
            ),
            _ => bench_hmac(
                &mut g,
                &Hmac::<Sha512>::new_from_slice(&secret).unwrap(),
                signing_input,
            ),
        }
        if alg == "HS256" {
            let encoding = jsonwebtoken::EncodingKey::from_secret(&secret);
            let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            let claims = Claims {
                sub: SUBJECT.into(),
                exp: EXP,
            };
            g.bench_function("jsonwebtoken", |b| {
                b.iter(|| jsonwebtoken::encode(&header, black_box(&claims), &encoding).unwrap())
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("token_verify_{alg}"));
        g.throughput(Throughput::Bytes(token.len() as u64));
        g.bench_function("nacoscrypt", |b| {
            b.iter(|| manager.verify(black_box(&token), NOW).unwrap())
        });
        match alg {
            "HS256" => bench_hmac(
                &mut g,
                &Hmac::<Sha256>::new_from_slice(&secret).unwrap(),
                signing_input,
            ),
            "HS384" => bench_hmac(
                &mut g,
                &Hmac::<Sha384>::new_from_slice(&secret).unwrap(),
                signing_input,
            ),
            _ => bench_hmac(
                &mut g,
                &Hmac::<Sha512>::new_from_slice(&secret).unwrap(),
                signing_input,
            ),
        }
        if alg == "HS256" {
            let decoding = jsonwebtoken::DecodingKey::from_secret(&secret);
            let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
            g.bench_function("jsonwebtoken", |b| {
                b.iter(|| {
                    jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation)
                        .unwrap()
                })
            });
            ffi_verify(&mut g, &secret, &token);
        }
        g.finish();
    }
}

/// The C ABI: `nacoscrypt_token_manager_verify` called through the rlib, once with the subject
/// returned (and freed with `nacoscrypt_string_free`, as a C caller does) and once with NULL
/// outputs (validity only).
#[allow(unsafe_code)]
fn ffi_verify(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    secret: &[u8],
    token: &str,
) {
    use nacoscrypt::*;
    use std::ptr::{null, null_mut};
    let mut key = null_mut();
    let mut manager = null_mut();
    // SAFETY (whole block): valid pointers and lengths, handles freed at the end.
    unsafe {
        assert_eq!(
            nacoscrypt_secret_key_from_bytes(secret.as_ptr(), secret.len(), false, &mut key),
            nacoscrypt_result::Ok
        );
        assert_eq!(
            nacoscrypt_token_manager_new(key, null(), 0, 0, 0, &mut manager),
            nacoscrypt_result::Ok
        );
        g.bench_function("nacoscrypt_ffi", |b| {
            b.iter(|| {
                let mut sub = null_mut();
                let mut sub_len = 0usize;
                let mut exp = 0i64;
                let token = black_box(token);
                let r = nacoscrypt_token_manager_verify(
                    manager,
                    token.as_ptr().cast(),
                    token.len(),
                    NOW,
                    &mut sub,
                    &mut sub_len,
                    &mut exp,
                );
                assert_eq!(r, nacoscrypt_result::Ok);
                black_box((sub_len, exp));
                nacoscrypt_string_free(sub);
            })
        });
        g.bench_function("nacoscrypt_ffi_null_outputs", |b| {
            b.iter(|| {
                let token = black_box(token);
                let r = nacoscrypt_token_manager_verify(
                    manager,
                    token.as_ptr().cast(),
                    token.len(),
                    NOW,
                    null_mut(),
                    null_mut(),
                    null_mut(),
                );
                assert_eq!(r, nacoscrypt_result::Ok);
            })
        });
        nacoscrypt_token_manager_free(manager);
        nacoscrypt_secret_key_free(key);
    }
}

fn rotation_and_cache(c: &mut Criterion) {
    // Two keys: the token was signed with the previous one, so both MACs are computed.
    let old = key(32);
    let new = SecretKey::from_bytes(&[0x33; 32]).unwrap();
    let old_token = old.sign(SUBJECT, EXP);
    let manager = TokenManager::new(new).with_previous_key(old);
    let mut g = c.benchmark_group("token_verify_rotation");
    g.throughput(Throughput::Bytes(old_token.len() as u64));
    g.bench_function("nacoscrypt", |b| {
        b.iter(|| manager.verify(black_box(&old_token), NOW).unwrap())
    });
    g.finish();

    // Revocation: the same verification plus one lookup among 10,000 revoked users (the
    // subject is not among them, the common case: the whole search is paid).
    let manager = TokenManager::new(key(32));
    let token = manager.signing_key().sign(SUBJECT, EXP);
    let mut revoked = InMemoryRevocations::new();
    for i in 0..10_000 {
        revoked.revoke_before(&format!("user-{i:05}"), NOW);
    }
    let mut g = c.benchmark_group("token_verify_revocation_10k");
    g.throughput(Throughput::Bytes(token.len() as u64));
    g.bench_function("verify", |b| {
        b.iter(|| manager.verify(black_box(&token), NOW).unwrap())
    });
    g.bench_function("verify_not_revoked", |b| {
        b.iter(|| {
            manager
                .verify_not_revoked(black_box(&token), NOW, &revoked)
                .unwrap()
        })
    });
    g.finish();

    let mut cache = TokenCache::new(TokenManager::new(key(32)));
    cache.issue(SUBJECT, NOW).unwrap();
    let mut g = c.benchmark_group("token_cache_login_hit");
    g.bench_function("nacoscrypt", |b| {
        b.iter(|| cache.issue(black_box(SUBJECT), NOW).unwrap())
    });
    g.finish();
}

/// Raw pointers shared by the benchmark threads (the C handles are documented thread-safe).
struct Shared<T>(*const T);
impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<T> {}
impl<T> Shared<T> {
    /// The pointer (a method, so closures capture the whole `Send + Sync` wrapper).
    fn get(self) -> *const T {
        self.0
    }
}
// SAFETY: the handles behind these pointers are safe to use from many threads (nacoscrypt.h).
#[allow(unsafe_code)]
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl<T> Sync for Shared<T> {}

/// Runs `iters` calls of `op` split over `threads` threads started together and returns the
/// wall time of the whole: the time per call is then the inverse of the throughput, so
/// `1 thread ÷ 2 threads` is the scaling.
fn on_threads(threads: u64, iters: u64, op: impl Fn() + Sync) -> Duration {
    let barrier = std::sync::Barrier::new(usize::try_from(threads).unwrap() + 1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..iters / threads {
                    op();
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = std::time::Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

/// The C ABI from one and two threads on one shared handle: `nacoscrypt_token_manager_verify`
/// (NULL outputs) on one manager, and a login hit (`nacoscrypt_token_cache_issue`, the token
/// handed out and freed) on one cache.
#[allow(unsafe_code)]
fn threads(c: &mut Criterion) {
    use nacoscrypt::*;
    use std::ptr::{null, null_mut};
    let secret = secret(32);
    let mut key = null_mut();
    let mut manager = null_mut();
    let mut cache = null_mut();
    // SAFETY (whole block): valid pointers and lengths, handles freed at the end; the threads
    // are joined before the handles are freed.
    unsafe {
        assert_eq!(
            nacoscrypt_secret_key_from_bytes(secret.as_ptr(), secret.len(), false, &mut key),
            nacoscrypt_result::Ok
        );
        assert_eq!(
            nacoscrypt_token_manager_new(key, null(), 0, 0, 0, &mut manager),
            nacoscrypt_result::Ok
        );
        assert_eq!(
            nacoscrypt_token_cache_new(manager, &mut cache),
            nacoscrypt_result::Ok
        );
        let token = SecretKey::from_bytes(&secret).unwrap().sign(SUBJECT, EXP);
        let m = Shared(manager.cast_const());
        let ch = Shared(cache.cast_const());
        let verify = || {
            let r = nacoscrypt_token_manager_verify(
                m.get(),
                token.as_ptr().cast(),
                token.len(),
                NOW,
                null_mut(),
                null_mut(),
                null_mut(),
            );
            assert_eq!(r, nacoscrypt_result::Ok);
        };
        let login = || {
            let mut out = null_mut();
            let r = nacoscrypt_token_cache_issue(ch.get(), c"nacos".as_ptr(), NOW, &mut out);
            assert_eq!(r, nacoscrypt_result::Ok);
            nacoscrypt_access_token_free(out);
        };
        let mut g = c.benchmark_group("threads_ffi");
        for n in [1u64, 2] {
            g.bench_function(format!("verify_{n}t"), |b| {
                b.iter_custom(|iters| on_threads(n, iters, verify))
            });
            g.bench_function(format!("cache_login_hit_{n}t"), |b| {
                b.iter_custom(|iters| on_threads(n, iters, login))
            });
        }
        g.finish();
        nacoscrypt_token_cache_free(cache);
        nacoscrypt_token_manager_free(manager);
        nacoscrypt_secret_key_free(key);
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(100)
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = sign_and_verify, rotation_and_cache, threads
}
criterion_main!(benches);
