//! Proof that secrets are wiped: a global allocator that, whenever memory is freed (or moved by
//! a reallocation), searches the freed block for the bytes of known secrets. Any copy of a key or
//! of plaintext left behind in freed memory fails the test.
//!
//! Each scenario arms the allocator with the secrets it handles (keys the test chose, a
//! plaintext the test chose), runs an API end to end, drops every result, and disarms. The test's
//! own copies of the secrets live in static memory or on the stack, never on the heap, so the
//! only heap copies are the library's.

#![cfg(feature = "getrandom")]
#![allow(unsafe_code)] // a global allocator is unsafe by nature
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nacoscrypt_core::config::{self, ConfigId, Format, Limits};
use nacoscrypt_core::kms::{Context, DataKey, GeneratedDataKey, KeySpec, Keyring, Kms};
use nacoscrypt_core::{Result, SecretBytes, SecretString};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

const MAX_NEEDLES: usize = 4;
const NEEDLE_CAP: usize = 64;

struct Needles {
    bytes: [[AtomicU8; NEEDLE_CAP]; MAX_NEEDLES],
    lens: [AtomicUsize; MAX_NEEDLES],
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO_U8: AtomicU8 = AtomicU8::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_ROW: [AtomicU8; NEEDLE_CAP] = [ZERO_U8; NEEDLE_CAP];
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_LEN: AtomicUsize = AtomicUsize::new(0);

static NEEDLES: Needles = Needles {
    bytes: [ZERO_ROW; MAX_NEEDLES],
    lens: [ZERO_LEN; MAX_NEEDLES],
};
static ARMED: AtomicBool = AtomicBool::new(false);
/// Bit i set: needle i was found in freed memory.
static FOUND: AtomicUsize = AtomicUsize::new(0);
/// Size of the last block a needle was found in (for the failure message).
static FOUND_IN_SIZE: AtomicUsize = AtomicUsize::new(0);

struct Snooping;

fn contains(hay: &[u8], needle: &[AtomicU8], len: usize) -> bool {
    if len == 0 || hay.len() < len {
        return false;
    }
    let first = needle[0].load(Ordering::Relaxed);
    'outer: for start in 0..=hay.len() - len {
        if hay[start] != first {
            continue;
        }
        for i in 1..len {
            if hay[start + i] != needle[i].load(Ordering::Relaxed) {
                continue 'outer;
            }
        }
        return true;
    }
    false
}

fn inspect(ptr: *mut u8, size: usize) {
    if !ARMED.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: called with a block that is still allocated, of `size` bytes.
    let hay = unsafe { std::slice::from_raw_parts(ptr, size) };
    for n in 0..MAX_NEEDLES {
        let len = NEEDLES.lens[n].load(Ordering::Relaxed);
        if contains(hay, &NEEDLES.bytes[n], len) {
            FOUND.fetch_or(1 << n, Ordering::SeqCst);
            FOUND_IN_SIZE.store(size, Ordering::SeqCst);
        }
    }
}

// SAFETY: delegates to the system allocator; only reads blocks it is about to free.
unsafe impl GlobalAlloc for Snooping {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        inspect(ptr, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Always move, so the old block is inspected like any freed block.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { System.alloc(new_layout) };
        if !new.is_null() {
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Snooping = Snooping;

/// One scenario at a time: the needles are global.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` with `secrets` armed; returns which secrets were found in freed memory.
fn leaks(secrets: &[&[u8]], f: impl FnOnce()) -> usize {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(secrets.len() <= MAX_NEEDLES);
    for (n, secret) in secrets.iter().enumerate() {
        assert!(secret.len() <= NEEDLE_CAP && secret.len() >= 8);
        for (i, b) in secret.iter().enumerate() {
            NEEDLES.bytes[n][i].store(*b, Ordering::Relaxed);
        }
        NEEDLES.lens[n].store(secret.len(), Ordering::Relaxed);
    }
    FOUND.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::Release);
    f();
    ARMED.store(false, Ordering::Release);
    for len in &NEEDLES.lens {
        len.store(0, Ordering::Relaxed);
    }
    FOUND.load(Ordering::SeqCst)
}

fn assert_no_leak(what: &str, secrets: &[&[u8]], f: impl FnOnce()) {
    let found = leaks(secrets, f);
    assert_eq!(
        found,
        0,
        "{what}: secret #{} found in a freed block of {} bytes",
        found.trailing_zeros(),
        FOUND_IN_SIZE.load(Ordering::SeqCst)
    );
}

static DATA_KEY_256: [u8; 32] = *b"DK256-0123456789abcdefghijklmnop";
static DATA_KEY_128: [u8; 16] = *b"DK128-0123456789";
static PLAINTEXT: &str = "password=THIS-IS-THE-PLAINTEXT-SECRET-42";
/// The keyring master key of KEYRING_TEXT, decoded.
static MASTER_KEY: [u8; 32] = *b"MASTER-KEY-0123456789abcdefghijk";
static KEYRING_TEXT: &str = "key alias/z 52f22665-a60c-42d2-a918-5d950ee88136 TUFTVEVSLUtFWS0wMTIzNDU2Nzg5YWJjZGVmZ2hpams=\n";

#[test]
fn the_detector_detects() {
    // Control: a plain Vec holding a secret is found when freed; a SecretBytes is not.
    let found = leaks(&[&DATA_KEY_256], || {
        let v = DATA_KEY_256.to_vec();
        drop(v);
    });
    assert_eq!(found, 1, "the allocator must see an unwiped copy");
    assert_no_leak("SecretBytes", &[&DATA_KEY_256], || {
        drop(SecretBytes::copy_from(&DATA_KEY_256));
    });
    // A grown Vec leaves its old block behind: realloc is inspected too.
    let found = leaks(&[&DATA_KEY_128], || {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&DATA_KEY_128);
        v.extend_from_slice(&[0; 4096]);
        zeroize::Zeroize::zeroize(&mut v);
    });
    assert_eq!(found, 1, "a reallocation's old block must be inspected");
}

#[test]
fn secret_containers_and_data_keys_are_wiped() {
    assert_no_leak("SecretString", &[PLAINTEXT.as_bytes()], || {
        drop(SecretString::from(PLAINTEXT.to_owned()));
    });
    assert_no_leak("DataKey", &[&DATA_KEY_256, &DATA_KEY_128], || {
        drop(Box::new(
            DataKey::new(KeySpec::Aes256, &DATA_KEY_256).unwrap(),
        ));
        drop(Box::new(
            DataKey::new(KeySpec::Aes128, &DATA_KEY_128).unwrap(),
        ));
    });
    assert_no_leak(
        "SecretBytes -> SecretString",
        &[PLAINTEXT.as_bytes()],
        || {
            let bytes = SecretBytes::copy_from(PLAINTEXT.as_bytes());
            drop(bytes.into_secret_string().unwrap());
            let mut bad = Vec::with_capacity(PLAINTEXT.len() + 1);
            bad.extend_from_slice(PLAINTEXT.as_bytes());
            bad.push(0xff);
            let bytes = SecretBytes::from(bad);
            assert!(bytes.into_secret_string().is_err());
        },
    );
}

#[test]
fn keyring_keys_are_wiped() {
    assert_no_leak("Keyring::parse / drop", &[&MASTER_KEY], || {
        let keyring = Keyring::parse(KEYRING_TEXT).unwrap();
        let text = keyring.to_text();
        assert!(text.contains("TUFTVEVS"));
        drop(text);
        let copy = keyring.clone();
        drop(keyring);
        drop(copy);
    });
    assert_no_leak("Keyring file round trip", &[&MASTER_KEY], || {
        let dir = std::env::temp_dir().join(format!("nacoscrypt-zeroize-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keyring");
        Keyring::parse(KEYRING_TEXT).unwrap().save(&path).unwrap();
        drop(Keyring::load(&path).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// A KMS that hands out the test's fixed data keys (wrapped by a real keyring).
struct FixedKeys(Keyring);

impl Kms for FixedKeys {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        ctx: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        let key: &[u8] = match spec {
            KeySpec::Aes256 => &DATA_KEY_256,
            KeySpec::Aes128 => &DATA_KEY_128,
        };
        Ok(GeneratedDataKey {
            plaintext: SecretBytes::copy_from(key),
            ciphertext_blob: self.0.encrypt(key_id, key, ctx)?,
        })
    }
    fn encrypt(&self, key_id: &str, plaintext: &[u8], ctx: &Context<'_>) -> Result<String> {
        self.0.encrypt(key_id, plaintext, ctx)
    }
    fn decrypt(&self, blob: &str, ctx: &Context<'_>) -> Result<SecretBytes> {
        Keyring::decrypt(&self.0, blob, ctx)
    }
}

#[test]
fn config_encrypt_and_decrypt_leave_no_plaintext_or_keys_behind() {
    let kms = FixedKeys(Keyring::parse(KEYRING_TEXT).unwrap());
    for data_id in ["cipher-kms-aes-256-a", "cipher-kms-aes-128-a", "cipher-a"] {
        for format in [Format::Nacos, Format::V1] {
            let what = format!("{data_id} {format}");
            assert_no_leak(
                &what,
                &[
                    PLAINTEXT.as_bytes(),
                    &DATA_KEY_256,
                    &DATA_KEY_128,
                    &MASTER_KEY,
                ],
                || {
                    let id = ConfigId::new(data_id, "g", "t");
                    let stored = config::encrypt(&kms, &id, PLAINTEXT, "alias/z", format).unwrap();
                    let back =
                        config::decrypt(&kms, &id, &stored.content, &stored.encrypted_data_key)
                            .unwrap();
                    assert_eq!(back.as_str(), PLAINTEXT);
                    drop(back);
                    // Failing decryptions wipe too (wrong identity for v1; a bad-UTF-8 path below).
                    let moved = ConfigId::new(data_id, "other", "t");
                    let _ =
                        config::decrypt(&kms, &moved, &stored.content, &stored.encrypted_data_key);
                },
            );
        }
    }
    assert_no_leak(
        "data key given",
        &[PLAINTEXT.as_bytes(), &DATA_KEY_256],
        || {
            let key = DataKey::new(KeySpec::Aes256, &DATA_KEY_256).unwrap();
            let id = ConfigId::new("cipher-kms-aes-256-a", "g", "");
            for format in [Format::Nacos, Format::V1] {
                let content =
                    config::encrypt_with_data_key(&key, &id, PLAINTEXT, "edk", format).unwrap();
                let back =
                    config::decrypt_with_data_key(&key, &id, &content, "edk", &Limits::NACOS)
                        .unwrap();
                assert_eq!(back.as_str(), PLAINTEXT);
            }
        },
    );
}

/// A token secret key (64 bytes, HS512) and its base64 text (88 characters, split for the
/// needle limit of 64 bytes: both halves are searched).
static TOKEN_KEY: [u8; 64] = *b"TOKEN-KEY-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR";
static TOKEN_KEY_B64: &str =
    "VE9LRU4tS0VZLTAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ekFCQ0RFRkdISUpLTE1OT1BRUg==";
static IDENTITY_VALUE: &str = "IDENTITY-VALUE-0123456789-secret";

#[test]
fn token_keys_are_wiped() {
    let (b64_head, b64_tail) = TOKEN_KEY_B64.as_bytes().split_at(44);
    assert_no_leak(
        "SecretKey decode / sign / verify / drop",
        &[&TOKEN_KEY[..32], &TOKEN_KEY[32..], b64_head, b64_tail],
        || {
            use nacoscrypt_core::token::{SecretKey, TokenCache, TokenManager};
            let key = SecretKey::from_base64(TOKEN_KEY_B64).unwrap();
            assert_eq!(key.as_bytes(), &TOKEN_KEY[..]);
            // The server's line-broken form goes through the lenient decoder's buffers too.
            // (the test's own copy is wiped, and sized so it is never reallocated)
            let mut wrapped =
                zeroize::Zeroizing::new(String::with_capacity(TOKEN_KEY_B64.len() + 3));
            wrapped.push_str(&TOKEN_KEY_B64[..76]);
            wrapped.push_str("\r\n");
            wrapped.push_str(&TOKEN_KEY_B64[76..]);
            wrapped.push('\n');
            let key2 = SecretKey::from_base64(&wrapped).unwrap();
            drop(wrapped);
            drop(key2.to_base64());
            let manager = TokenManager::new(key.clone()).with_previous_key(key2);
            let token = manager.issue("nacos", 1_700_000_000).unwrap();
            assert_eq!(
                manager.verify(&token.token, 1_700_000_000).unwrap().sub,
                "nacos"
            );
            let mut cache = TokenCache::new(manager);
            cache.issue("nacos", 1_700_000_000).unwrap();
            drop(cache);
            drop(token);
            drop(key);
        },
    );
    // `wrapped` above is the test's own heap copy of the key text; make sure that is the only
    // thing the detector would have seen by checking it is detected when not wiped.
    let found = leaks(&[b64_head], || drop(format!(" {TOKEN_KEY_B64} ")));
    assert_eq!(found, 1);
}

#[test]
fn settings_and_identity_secrets_are_wiped() {
    let (b64_head, b64_tail) = TOKEN_KEY_B64.as_bytes().split_at(44);
    let properties: &'static str = concat!(
        "nacos.core.auth.plugin.nacos.token.secret.key=",
        "VE9LRU4tS0VZLTAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ekFCQ0RFRkdISUpLTE1OT1BRUg==",
        "\nnacos.core.auth.server.identity.key=X-Peer\n",
        "nacos.core.auth.server.identity.value=IDENTITY-VALUE-0123456789-secret\n"
    );
    assert_no_leak(
        "AuthSettings / ServerIdentity",
        &[
            &TOKEN_KEY[..32],
            b64_head,
            b64_tail,
            IDENTITY_VALUE.as_bytes(),
        ],
        || {
            use nacoscrypt_core::token::{AuthSettings, ServerIdentity};
            let settings = AuthSettings::from_properties(properties).unwrap();
            let manager = settings.token_manager().unwrap();
            let identity = settings.server_identity().unwrap();
            assert!(identity.matches([("x-peer", IDENTITY_VALUE)]));
            drop((settings, manager, identity));
            let identity = ServerIdentity::new("X-Peer", IDENTITY_VALUE).unwrap();
            assert!(identity.matches_value(IDENTITY_VALUE));
            drop(identity);
        },
    );
}
