//! `${…}` placeholder expansion in application.properties, under an allocation budget: a
//! counting global allocator aborts (a fuzzer crash) if one input makes the library allocate
//! more than 64 MiB in total, so an exponential expansion is a finding, not a slow run.
//!
//! Input: byte 0 picks the shape. Even: the rest is the properties text as is. Odd: a
//! generator of placeholder-dense files — each following byte pair adds a property `pN` whose
//! value is a run of placeholders naming later properties (with defaults and nesting), so that
//! small inputs reach wide and deep expansions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::token::AuthSettings;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Total bytes one input may allocate (the core's bounds allow at most a few MiB).
const BUDGET: usize = 64 << 20;

struct Counting;
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

fn count(size: usize) {
    if ALLOCATED.fetch_add(size, Ordering::Relaxed) + size > BUDGET {
        // Not a panic (which would allocate): a crash libFuzzer reports with the input.
        std::process::abort();
    }
}

// SAFETY: forwards every call to the system allocator unchanged, after counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A placeholder-dense properties text from `data` (see the module comment).
fn generate(data: &[u8]) -> String {
    let mut text = String::from("nacos.core.auth.server.identity.key=${p0}\n");
    let props = data.len() / 2;
    for (i, pair) in data.chunks_exact(2).enumerate() {
        let (width, shape) = (usize::from(pair[0] % 32) + 1, pair[1]);
        let mut value = String::new();
        for w in 0..width {
            let target = (i + 1 + (w + usize::from(shape)) % 3).min(props);
            match shape % 4 {
                0 => value.push_str(&format!("${{p{target}}}")),
                1 => value.push_str(&format!("${{missing{w}:${{p{target}}}}}")),
                2 => value.push_str(&format!("${{p${{n{}}}}}", target % 10)),
                _ => value.push_str(&format!("x${{p{target}:d}}y")),
            }
        }
        text.push_str(&format!("p{i}={value}\n"));
    }
    text.push_str(&format!("p{props}={}\n", "A".repeat(44)));
    for n in 0..10 {
        text.push_str(&format!("n{n}={n}\n"));
    }
    text
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = if mode % 2 == 0 {
        match std::str::from_utf8(rest) {
            Ok(t) => t.to_owned(),
            Err(_) => return,
        }
    } else {
        generate(&rest[..rest.len().min(64)])
    };
    ALLOCATED.store(0, Ordering::Relaxed);
    let result = AuthSettings::from_properties_with_env(&text, [("NACOS_AUTH_TOKEN", "${p0}")]);
    if let Ok(settings) = result {
        // What resolved is within the bound on expansion (plus the value's own text).
        if let Some(key) = settings.identity_key.as_deref() {
            assert!(key.len() <= nacoscrypt_core::limits::MAX_EXPANDED_LEN + text.len());
        }
    }
});
