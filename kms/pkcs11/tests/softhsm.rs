//! `Pkcs11Kms` against a real PKCS#11 module, SoftHSM2: round trips through the config
//! functions, 8 threads on one pool, wrong PIN, missing key, key rotation, the token removed
//! while threads use it (and one that comes back, used again by the same KMS), garbage blobs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{USER_PIN, env, generate_aes_key, pin_file, raw_module};
use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::{Context, DataKey, KeySpec, Kms};
use nacoscrypt_core::{Error, ErrorKind, SecretString};
use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn pin() -> Pin {
    Pin::new(SecretString::from(USER_PIN.to_owned())).unwrap()
}

fn kms(token: &str, default_label: &str) -> Pkcs11Kms {
    let env = env().unwrap();
    Pkcs11Kms::builder()
        .module(&env.module)
        .token(Token::Label(token.into()))
        .pin(pin())
        .default_key_label(default_label)
        .build()
        .unwrap()
}

/// The code of a module error (`CKR_…`), or the error's text.
fn code(e: &Error) -> String {
    match e {
        Error::KmsService(s) => s.code.clone(),
        other => other.to_string(),
    }
}

#[test]
fn round_trips_through_the_config_functions() {
    let _tokens = common::shared();
    let Some(env) = env() else { return };
    let m = raw_module(&env.module);
    generate_aes_key(&m, "main", "master-256", 32);
    generate_aes_key(&m, "main", "master-128", 16);
    let kms = kms("main", "master-256");

    for (data_id, format) in [
        ("cipher-kms-aes-256-db.properties", Format::V1),
        ("cipher-kms-aes-128-db.properties", Format::V1),
        ("cipher-db.properties", Format::V1),
        ("cipher-kms-aes-256-db.properties", Format::Nacos),
        ("cipher-db.properties", Format::Nacos),
    ] {
        for key in ["", "master-128"] {
            let id = ConfigId::new(data_id, "DEFAULT_GROUP", "dev");
            let stored = config::encrypt(&kms, &id, "password=s3cret", key, format).unwrap();
            let plain =
                config::decrypt(&kms, &id, &stored.content, &stored.encrypted_data_key).unwrap();
            assert_eq!(
                plain.as_str(),
                "password=s3cret",
                "{data_id} {format:?} {key:?}"
            );
            if format == Format::V1 {
                let moved = ConfigId::new(data_id, "DEFAULT_GROUP", "prod");
                let err =
                    config::decrypt(&kms, &moved, &stored.content, &stored.encrypted_data_key)
                        .unwrap_err();
                assert_eq!(
                    err.kind(),
                    ErrorKind::AuthenticationFailed,
                    "{data_id}: {err}"
                );
            }
        }
    }

    // The trait directly: data keys of both sizes, the context bound as AAD.
    let mut ctx = Context::new();
    ctx.insert("dataId", "cipher-kms-aes-256-x");
    for spec in [KeySpec::Aes256, KeySpec::Aes128] {
        let key = kms.generate_data_key("", spec, &ctx).unwrap();
        assert_eq!(key.plaintext.len(), spec.key_len());
        let again = kms
            .decrypt_data_key(&key.ciphertext_blob, spec, &ctx)
            .unwrap();
        assert_eq!(again.as_bytes(), key.plaintext.as_bytes());
        let err = kms
            .decrypt(&key.ciphertext_blob, &Context::new())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    }
    // Two encryptions of the same text differ (fresh IV), and both decrypt.
    let a = kms.encrypt("", b"same", &ctx).unwrap();
    let b = kms.encrypt("", b"same", &ctx).unwrap();
    assert_ne!(a, b);
    assert_eq!(kms.decrypt(&b, &ctx).unwrap().as_bytes(), b"same");

    // The blob is the documented layout: format 1, the label, then IV, ciphertext and tag.
    let raw = base64_decode(&a);
    assert_eq!(raw[0], 0x01);
    assert_eq!(usize::from(raw[1]), "master-256".len());
    assert_eq!(&raw[2..12], b"master-256");
    assert_eq!(raw.len(), 2 + 10 + 12 + 4 + 16);

    // `check` reports the token and round-trips a probe.
    let report = kms.check("").unwrap();
    assert_eq!(report.token_label, "main");
    assert_eq!(report.key_label, "master-256");
    assert!(report.library.contains("SoftHSM"), "{}", report.library);

    // The PIN never shows.
    assert!(!format!("{kms:?}").contains(USER_PIN));
}

#[test]
fn eight_threads_share_one_pool_and_one_login() {
    let _tokens = common::shared();
    let Some(env) = env() else { return };
    let m = raw_module(&env.module);
    generate_aes_key(&m, "threads", "k", 32);
    let kms = kms("threads", "k");
    let before = kms.stats();
    assert_eq!(before.logins, 1, "build logs in once");
    std::thread::scope(|s| {
        for t in 0..8 {
            let kms = kms.clone();
            s.spawn(move || {
                let tenant = format!("tenant-{t}");
                for i in 0..40 {
                    let id = ConfigId::new("cipher-kms-aes-256-app", "G", &tenant);
                    let text = format!("thread {t} round {i}");
                    let stored = config::encrypt(&kms, &id, &text, "", Format::V1).unwrap();
                    let plain =
                        config::decrypt(&kms, &id, &stored.content, &stored.encrypted_data_key)
                            .unwrap();
                    assert_eq!(plain.as_str(), text);
                }
            });
        }
    });
    let after = kms.stats();
    assert_eq!(after.logins, 1, "one login for the token: {after:?}");
    assert!(
        after.sessions_opened <= 8,
        "sessions are reused, at most one per thread: {after:?}"
    );
    assert_eq!(after.sessions_discarded, 0);
    assert!(after.idle >= 1 && after.idle <= 8, "{after:?}");
}

#[test]
fn a_wrong_pin_is_a_clean_error_at_build() {
    let _tokens = common::shared();
    let Some(env) = env() else { return };
    let path = pin_file("wrong-pin", "0000-not-the-pin");
    let err = Pkcs11Kms::builder()
        .module(&env.module)
        .token(Token::Label("wrong-pin".into()))
        .pin(Pin::from_file(&path).unwrap())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Kms);
    assert_eq!(code(&err), "CKR_PIN_INCORRECT");
    assert!(err.to_string().contains("C_Login"), "{err}");
    assert!(!err.to_string().contains("0000-not-the-pin"));

    // The right PIN, from a file with a trailing newline, opens the same token.
    let path = pin_file("right-pin", USER_PIN);
    Pkcs11Kms::builder()
        .module(&env.module)
        .token(Token::Label("wrong-pin".into()))
        .pin(Pin::from_file(&path).unwrap())
        .build()
        .unwrap();
}

#[test]
fn a_missing_key_token_or_module_is_a_clean_error() {
    let _tokens = common::shared();
    let Some(env) = env() else { return };
    let kms = kms("main", "no-such-key");
    let err = kms.encrypt("", b"x", &Context::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    let err = kms.check("also-missing").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);

    // No key id and no default label.
    let bare = Pkcs11Kms::builder()
        .module(&env.module)
        .token(Token::Label("main".into()))
        .pin(pin())
        .build()
        .unwrap();
    let err = bare.encrypt("", b"x", &Context::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = bare
        .encrypt(&"x".repeat(256), b"x", &Context::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    let err = Pkcs11Kms::builder()
        .module(&env.module)
        .token(Token::Label("no-such-token".into()))
        .pin(pin())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Kms);
    assert!(err.to_string().contains("no-such-token"), "{err}");

    let err = Pkcs11Kms::builder()
        .module(&env.module)
        .token(Token::Slot(0xdead_beef))
        .pin(pin())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("slot 3735928559"), "{err}");
    assert_eq!(code(&err), "CKR_TOKEN_NOT_PRESENT");

    let err = Pkcs11Kms::builder()
        .module(env.dir.join("no-such-module.so"))
        .token(Token::Label("main".into()))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);

    let err = Pkcs11Kms::builder().build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    // A token found by slot id works like one found by label.
    let m = raw_module(&env.module);
    let slot = common::slot(&m, "main").id();
    generate_aes_key(&m, "main", "by-slot", 32);
    let by_slot = Pkcs11Kms::builder()
        .module(&env.module)
        .token(Token::Slot(slot))
        .pin(pin())
        .default_key_label("by-slot")
        .build()
        .unwrap();
    let blob = by_slot.encrypt("", b"x", &Context::new()).unwrap();
    assert_eq!(
        kms.decrypt(&blob, &Context::new()).unwrap().as_bytes(),
        b"x"
    );
}

#[test]
fn key_rotation_inside_the_token() {
    let _tokens = common::shared();
    let Some(env) = env() else { return };
    let m = raw_module(&env.module);
    generate_aes_key(&m, "rotation", "nacos-2025", 32);
    let old_kms = kms("rotation", "nacos-2025");
    let id = ConfigId::new("cipher-kms-aes-256-db", "G", "");
    let old = config::encrypt(&old_kms, &id, "old secret", "", Format::V1).unwrap();
    let old_direct = ConfigId::new("cipher-direct", "G", "");
    let old_d = config::encrypt(&old_kms, &old_direct, "old direct", "", Format::V1).unwrap();

    // Rotate: a new key under a new label becomes the default.
    generate_aes_key(&m, "rotation", "nacos-2026", 32);
    let kms = kms("rotation", "nacos-2026");
    let new = config::encrypt(&kms, &id, "new secret", "", Format::V1).unwrap();
    assert_ne!(old.encrypted_data_key, new.encrypted_data_key);
    // Old blobs name the old label and still decrypt, in the new KMS and the old one.
    for k in [&kms, &old_kms] {
        let p = config::decrypt(k, &id, &old.content, &old.encrypted_data_key).unwrap();
        assert_eq!(p.as_str(), "old secret");
        let p = config::decrypt(k, &old_direct, &old_d.content, "").unwrap();
        assert_eq!(p.as_str(), "old direct");
        let p = config::decrypt(k, &id, &new.content, &new.encrypted_data_key).unwrap();
        assert_eq!(p.as_str(), "new secret");
    }
    // `migrate --mode rewrap` in miniature: the old data key re-wrapped under the new label.
    let ctx = Context::new();
    let generated = old_kms
        .generate_data_key("", KeySpec::Aes256, &ctx)
        .unwrap();
    let data_key = DataKey::new(KeySpec::Aes256, generated.plaintext.as_bytes()).unwrap();
    let rewrapped = kms.encrypt_data_key("", &data_key, &ctx).unwrap();
    let unwrapped = kms
        .decrypt_data_key(&rewrapped, KeySpec::Aes256, &ctx)
        .unwrap();
    assert_eq!(unwrapped.as_bytes(), generated.plaintext.as_bytes());

    // Retire the old key: its blobs fail as an unknown key (the cached handle is stale, looked
    // up again, not found), the new ones are untouched.
    common::destroy_key(&m, "rotation", "nacos-2025");
    for k in [&kms, &old_kms] {
        let err = config::decrypt(k, &id, &old.content, &old.encrypted_data_key).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey, "{err}");
        let p = config::decrypt(k, &id, &new.content, &new.encrypted_data_key).unwrap();
        assert_eq!(p.as_str(), "new secret");
    }

    // A label reused for a second key names no single key: refused, not guessed.
    generate_aes_key(&m, "rotation", "twice", 32);
    generate_aes_key(&m, "rotation", "twice", 32);
    let err = kms.encrypt("twice", b"x", &Context::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("2 AES keys are labelled \"twice\""),
        "{err}"
    );
}

#[test]
fn the_token_removed_mid_run_is_a_clean_error_never_a_hang() {
    let _tokens = common::exclusive();
    let Some(env) = env() else { return };
    let m = raw_module(&env.module);
    generate_aes_key(&m, "removal", "k", 32);
    let kms = kms("removal", "k");
    let ctx = Context::new();
    let blob = kms.encrypt("", b"before", &ctx).unwrap();

    // Four threads keep using the token; it is deleted under them.
    let (done_tx, done_rx) = mpsc::channel();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let kms = kms.clone();
        let blob = blob.clone();
        let done = done_tx.clone();
        let stop = stop.clone();
        handles.push(std::thread::spawn(move || {
            let mut last = Ok(());
            let started = Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && started.elapsed() < Duration::from_secs(20)
            {
                last = kms.decrypt(&blob, &Context::new()).map(|_| ());
                if last.is_err() {
                    break;
                }
            }
            done.send(last).unwrap();
        }));
    }
    std::thread::sleep(Duration::from_millis(200));
    common::softhsm_util(&["--delete-token", "--token", "removal"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut errors = Vec::new();
    for _ in 0..4 {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = done_rx
            .recv_timeout(left)
            .expect("a thread hung after the token was removed");
        if let Err(e) = r {
            errors.push(e);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(errors.len(), 4, "every thread saw the removal: {errors:?}");
    // While the token is being deleted a call may still see it, emptied: a key not found.
    for e in &errors {
        assert!(
            matches!(e.kind(), ErrorKind::Kms | ErrorKind::UnknownKey),
            "{e}"
        );
    }
    // Once it is gone, calls fail at once, cleanly, saying so, and keep failing; the sessions
    // on it were thrown away.
    for _ in 0..3 {
        let started = Instant::now();
        let err = kms.encrypt("", b"after", &ctx).unwrap_err();
        assert_eq!(code(&err), "CKR_TOKEN_NOT_PRESENT", "{err}");
        assert!(
            err.to_string()
                .contains("no token labelled \"removal\" is present"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let err = kms.decrypt(&blob, &ctx).unwrap_err();
        assert_eq!(code(&err), "CKR_TOKEN_NOT_PRESENT", "{err}");
    }
    let stats = kms.stats();
    assert!(stats.sessions_discarded >= 1, "{stats:?}");
    assert_eq!(stats.idle, 0, "{stats:?}");
    // A KMS built now fails at build.
    let err = Pkcs11Kms::builder()
        .module(&env.module)
        .token(Token::Label("removal".into()))
        .pin(pin())
        .build()
        .unwrap_err();
    assert_eq!(code(&err), "CKR_TOKEN_NOT_PRESENT", "{err}");
}

#[test]
fn a_token_that_comes_back_is_used_again() {
    let _tokens = common::exclusive();
    let Some(env) = env() else { return };
    let m = raw_module(&env.module);
    // The key's value is known to the test only so that the "same" token can come back with it
    // (as a re-inserted HSM token, or one restored from its backup, does).
    let value: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    common::import_aes_key(&m, "comeback", "k", &value);
    let kms = kms("comeback", "k");
    let ctx = Context::new();
    let before = kms.encrypt("", b"written before", &ctx).unwrap();
    assert_eq!(kms.stats().logins, 1);

    // Taken out while two threads use it: each of them sees a clean error, soon.
    let (tx, rx) = mpsc::channel();
    for _ in 0..2 {
        let (kms, blob, tx) = (kms.clone(), before.clone(), tx.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let r = loop {
                match kms.decrypt(&blob, &Context::new()) {
                    Ok(_) if started.elapsed() < Duration::from_secs(20) => {}
                    other => break other.map(|_| ()),
                }
            };
            tx.send(r).unwrap();
        });
    }
    std::thread::sleep(Duration::from_millis(100));
    common::softhsm_util(&["--delete-token", "--token", "comeback"]);
    for _ in 0..2 {
        let r = rx
            .recv_timeout(Duration::from_secs(15))
            .expect("a thread hung after the token was removed");
        let e = r.expect_err("every thread saw the removal");
        assert!(
            matches!(e.kind(), ErrorKind::Kms | ErrorKind::UnknownKey),
            "{e}"
        );
    }
    for _ in 0..3 {
        let started = Instant::now();
        let err = kms.decrypt(&before, &ctx).unwrap_err();
        assert_eq!(code(&err), "CKR_TOKEN_NOT_PRESENT", "{err}");
        let err = kms.encrypt("", b"x", &ctx).unwrap_err();
        assert_eq!(code(&err), "CKR_TOKEN_NOT_PRESENT", "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    let gone = kms.stats();
    assert_eq!(
        gone.idle, 0,
        "no session kept on a token that is gone: {gone:?}"
    );

    // Back, with the same label and key (in another slot: it is found by its label again).
    let slot = common::insert_token(&m, "comeback");
    common::import_aes_key(&m, "comeback", "k", &value);
    let started = Instant::now();
    let plain = kms.decrypt(&before, &ctx).unwrap();
    assert_eq!(plain.as_bytes(), b"written before");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The same KMS, not a new one: new blobs round-trip, it logged in to the new token, and
    // `check` reports the slot the token is in now.
    let after = kms.encrypt("", b"written after", &ctx).unwrap();
    assert_eq!(
        kms.decrypt(&after, &ctx).unwrap().as_bytes(),
        b"written after"
    );
    let stats = kms.stats();
    assert_eq!(
        stats.logins, 2,
        "logged in again after the token came back: {stats:?}"
    );
    assert!(stats.sessions_discarded >= 1, "{stats:?}");
    assert_eq!(kms.check("").unwrap().slot, slot.id());
}

#[test]
fn garbage_blobs_are_clean_errors() {
    let _tokens = common::shared();
    let Some(env) = env() else { return };
    let m = raw_module(&env.module);
    generate_aes_key(&m, "garbage", "k", 32);
    let kms = kms("garbage", "k");
    let ctx = Context::new();
    let good = kms.encrypt("", b"a config text", &ctx).unwrap();
    let raw = base64_decode(&good);

    let b64 = |bytes: &[u8]| base64_encode(bytes);
    let mut cases: Vec<(String, ErrorKind)> = vec![
        (String::new(), ErrorKind::InvalidBase64),
        ("not base64 at all!".into(), ErrorKind::InvalidBase64),
        (b64(&[0x01]), ErrorKind::InvalidBase64),
        (b64(&raw[..raw.len() - 1]), ErrorKind::AuthenticationFailed),
        (b64(&raw[..20]), ErrorKind::InvalidBase64),
    ];
    // Wrong format byte.
    let mut other = raw.clone();
    other[0] = 0x02;
    cases.push((b64(&other), ErrorKind::Kms));
    // Another label: a key that does not exist.
    let mut relabelled = raw.clone();
    relabelled[2] = b'j';
    cases.push((b64(&relabelled), ErrorKind::UnknownKey));
    // Every single flipped bit after the label fails authentication.
    for i in 3..raw.len() {
        let mut flipped = raw.clone();
        flipped[i] ^= 0x01;
        cases.push((b64(&flipped), ErrorKind::AuthenticationFailed));
    }
    for (blob, kind) in &cases {
        let err = kms.decrypt(blob, &ctx).unwrap_err();
        assert_eq!(err.kind(), *kind, "{blob}: {err}");
    }
    // Pseudo-random garbage of every length up to 200 bytes: errors, never a panic.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in 0..200 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24).to_le_bytes()[0]
            })
            .collect();
        assert!(kms.decrypt(&b64(&bytes), &ctx).is_err());
        let mut framed = vec![0x01, 1, b'k'];
        framed.extend_from_slice(&bytes);
        assert!(kms.decrypt(&b64(&framed), &ctx).is_err());
    }
    // The session pool survived all of it: nothing was discarded, still one login.
    let stats = kms.stats();
    assert_eq!(stats.sessions_discarded, 0, "{stats:?}");
    assert_eq!(stats.logins, 1, "{stats:?}");
    assert_eq!(
        kms.decrypt(&good, &ctx).unwrap().as_bytes(),
        b"a config text"
    );
}

#[test]
fn the_pin_comes_from_the_environment() {
    let _tokens = common::shared();
    let Some(env) = env() else { return };
    // A variable only this test reads (set before any thread of this test starts).
    let err = Pin::from_env("NACOSCRYPT_TEST_PKCS11_PIN_UNSET").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.to_string()
            .contains("NACOSCRYPT_TEST_PKCS11_PIN_UNSET is not set")
    );
    let err = Pin::from_file(&env.dir.join("no-such-pin")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    let empty = pin_file("empty-pin", "");
    assert_eq!(
        Pin::from_file(&empty).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    base64_simd::STANDARD.decode_to_vec(s.as_bytes()).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(b)
}
