//! Verification allocates nothing but the returned subject: counted with a global allocator.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use base64_simd::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use nacoscrypt_core::token::{Algorithm, SecretKey, TokenManager};
use sha2::Sha256;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (ALLOCATIONS.load(Ordering::SeqCst), out)
}

fn forge(key: &[u8], payload: &str) -> String {
    let head = format!(
        "{}.{}",
        Algorithm::Hs256.header(),
        URL_SAFE_NO_PAD.encode_to_string(payload)
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(head.as_bytes());
    format!(
        "{head}.{}",
        URL_SAFE_NO_PAD.encode_to_string(mac.finalize().into_bytes())
    )
}

#[test]
fn verify_allocates_only_the_subject() {
    let key = [0x42u8; 32];
    let old = SecretKey::from_bytes(&[0x43u8; 64]).unwrap();
    let manager =
        TokenManager::new(SecretKey::from_bytes(&key).unwrap()).with_previous_key(old.clone());
    let valid = manager
        .issue("nacos-user-with-a-long-name-é😀\n", 1_000)
        .unwrap()
        .token;
    let rotated = TokenManager::new(old).issue("old", 1_000).unwrap().token;
    let fancy = forge(
        &key,
        r#" {"x":[1,2.5e3,{"y":"\ud83d\ude00"}],"exp":19000.9,"sub":"a\u00e9\"b","z":null} "#,
    );

    for (token, sub) in [
        (&valid, "nacos-user-with-a-long-name-é😀\n"),
        (&rotated, "old"),
        (&fancy, "aé\"b"),
    ] {
        let (n, claims) = allocations(|| manager.verify(token, 1_000));
        assert_eq!(claims.unwrap().sub, sub);
        assert_eq!(n, 1, "a valid token allocates its subject only");
    }

    let (h, rest) = valid.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let rejected = [
        String::new(),
        "   ".into(),
        "a.b".into(),
        format!("{h}.{p}.{s}.x"),
        format!("{}.{p}.{s}", Algorithm::Hs384.header()),
        format!("eyJhbGciOiJub25lIn0.{p}.{s}"),
        format!("{h}.{p}.{s}="),
        format!("{h}.{p}x.{s}"),
        forge(&key, r#"{"sub":"a"}"#),
        forge(&key, r#"{"sub":"a","exp":1,"sub":"b"}"#),
        forge(&key, r#"{"sub":"a","exp":"1"}"#),
        forge(&key, r#"{"sub":"a","exp":1e30}"#),
        forge(&key, r#"{"sub":"\ud800","exp":1}"#),
        forge(
            &key,
            &format!(r#"{{"sub":"a","exp":1,"x":"{}"}}"#, "y".repeat(9000)),
        ),
        forge(&key, r#"{"sub":"a","exp":999}"#), // expired
        valid.clone(),                           // expired at 20,000
    ];
    for token in &rejected {
        let (n, result) = allocations(|| manager.verify(token, 20_000));
        assert!(result.is_err(), "{token}");
        assert_eq!(
            n,
            0,
            "a rejected token allocates nothing: {:?}",
            result.unwrap_err()
        );
    }
}
