//! What the C ABI adds to the core's token verify, measured in pairs.
//!
//! Criterion measures one benchmark after another, seconds apart; on a shared virtual machine
//! the speed of the host drifts by more than the boundary costs (±30–80 ns between runs against
//! a boundary of ~25 ns). Here the three calls — the core's `TokenManager::verify`,
//! `nacoscrypt_token_manager_verify` with NULL outputs, and with the subject returned and freed
//! — run in short interleaved blocks (a few milliseconds each, in rotating order), and each
//! round's difference is taken within the round: drift cancels out. Prints one JSON object:
//! the median difference per call of each C variant over the core, in seconds, with the
//! first and third quartiles of the rounds (`cargo bench --bench ffi_paired`; compare.py reads it).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use nacoscrypt_core::token::{SecretKey, TokenManager};
use std::hint::black_box;
use std::time::Instant;

const EXP: i64 = 4_102_444_800;
const NOW: i64 = 1_800_000_000;
const ROUNDS: usize = 101;
const CALLS: u32 = 10_000;

#[allow(unsafe_code)]
fn main() {
    use nacoscrypt::*;
    use std::ptr::{null, null_mut};
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`: nothing criterion-like to list
    }
    let secret: Vec<u8> = (0u8..32).map(|i| i ^ 0x5a).collect();
    let core = TokenManager::new(SecretKey::from_bytes(&secret).unwrap());
    let token = core.signing_key().sign("nacos", EXP);
    let (mut key, mut manager) = (null_mut(), null_mut());
    // SAFETY (every block): valid pointers and lengths; the handles live until the end.
    unsafe {
        assert_eq!(
            nacoscrypt_secret_key_from_bytes(secret.as_ptr(), secret.len(), false, &mut key),
            nacoscrypt_result::Ok
        );
        assert_eq!(
            nacoscrypt_token_manager_new(key, null(), 0, 0, 0, &mut manager),
            nacoscrypt_result::Ok
        );
    }
    let manager_ref = manager.cast_const();
    let run_core = || {
        black_box(core.verify(black_box(&token), NOW).unwrap());
    };
    let run_null = || {
        let token = black_box(&token);
        // SAFETY: as above.
        let r = unsafe {
            nacoscrypt_token_manager_verify(
                manager_ref,
                token.as_ptr().cast(),
                token.len(),
                NOW,
                null_mut(),
                null_mut(),
                null_mut(),
            )
        };
        assert_eq!(r, nacoscrypt_result::Ok);
    };
    let run_subject = || {
        let token = black_box(&token);
        let (mut sub, mut sub_len, mut exp) = (null_mut(), 0usize, 0i64);
        // SAFETY: as above; the subject is freed as a C caller frees it.
        unsafe {
            let r = nacoscrypt_token_manager_verify(
                manager_ref,
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
        }
    };
    let runs: [&dyn Fn(); 3] = [&run_core, &run_null, &run_subject];
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..CALLS {
            f();
        }
        start.elapsed().as_secs_f64() / f64::from(CALLS)
    };
    for f in runs {
        time(f); // warm-up
    }
    let mut core_times = Vec::with_capacity(ROUNDS);
    let mut diffs = [Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS)];
    for round in 0..ROUNDS {
        let mut t = [0.0f64; 3];
        for k in 0..3 {
            let i = (round + k) % 3; // rotating order: no variant always runs first
            t[i] = time(runs[i]);
        }
        core_times.push(t[0]);
        diffs[0].push(t[1] - t[0]);
        diffs[1].push(t[2] - t[0]);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() / 4], v[v.len() * 3 / 4])
    };
    let (core_median, _, _) = median(&mut core_times);
    let (null_median, null_q1, null_q3) = median(&mut diffs[0]);
    let (sub_median, sub_q1, sub_q3) = median(&mut diffs[1]);
    println!(
        "{{\"ffi_paired/core\": {core_median:e}, \
         \"ffi_paired/null_outputs_over_core\": {null_median:e}, \
         \"ffi_paired/null_outputs_over_core_q1\": {null_q1:e}, \
         \"ffi_paired/null_outputs_over_core_q3\": {null_q3:e}, \
         \"ffi_paired/subject_over_core\": {sub_median:e}, \
         \"ffi_paired/subject_over_core_q1\": {sub_q1:e}, \
         \"ffi_paired/subject_over_core_q3\": {sub_q3:e}}}"
    );
    // SAFETY: the handles made above, freed once.
    unsafe {
        nacoscrypt_token_manager_free(manager);
        nacoscrypt_secret_key_free(key);
    }
}
