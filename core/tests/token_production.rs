//! Issue 17: the token keeper, revocation, identity rotation and the settings audit.

use nacoscrypt_core::ErrorKind;
use nacoscrypt_core::token::audit::{Severity, audit};
use nacoscrypt_core::token::{
    InMemoryRevocations, KeeperState, RevocationStore, SecretKey, ServerIdentity, Step, TokenCache,
    TokenManager,
};
use proptest::prelude::*;

#[test]
fn jitter_spreads_refreshes_over_the_window() {
    let mut seen = std::collections::BTreeSet::new();
    for random in [0u64, 1, 5_000, 9_999, 10_000, 10_001, u64::MAX] {
        let mut k = KeeperState::new();
        assert_eq!(k.next(0), Step::Login);
        k.login_succeeded("t", 100, 0, random).unwrap();
        let at = k.refresh_at_ms().unwrap();
        assert!((80_000..=90_000).contains(&at));
        seen.insert(at);
    }
    assert!(seen.len() > 3);
    // No jitter: the SDKs' point exactly.
    let mut k = KeeperState::new().with_jitter_window(0);
    k.next(0);
    k.login_succeeded("t", 100, 0, 12_345).unwrap();
    assert_eq!(k.refresh_at_ms(), Some(90_000));
}

#[test]
fn forbidden_forces_one_relogin_then_backs_off() {
    let mut k = KeeperState::new();
    k.next(0);
    k.login_succeeded("a", 18_000, 0, 0).unwrap();
    assert!(
        !k.forbidden("other", 10),
        "a 403 for an older token changes nothing"
    );
    assert!(k.forbidden("a", 10));
    assert!(!k.forbidden("a", 11), "one stale mark");
    assert_eq!(k.next(10), Step::Login);
    k.login_succeeded("b", 18_000, 10, 0).unwrap();
    // Refused again: backing off 1 s with the stale token still handed out.
    assert!(k.forbidden("b", 20));
    assert_eq!(k.next(500), Step::Ready);
    assert_eq!(k.token(), Some("b"));
    assert_eq!(k.next(1_010), Step::Login);
    k.login_succeeded("c", 18_000, 1_010, 0).unwrap();
    assert!(k.forbidden("c", 1_020));
    assert_eq!(k.next(2_500), Step::Ready, "the backoff doubled to 2 s");
    assert_eq!(k.next(3_010), Step::Login);
    k.login_succeeded("d", 18_000, 3_010, 0).unwrap();
    assert!(k.forbidden("d", 3_020));
    assert_eq!(k.next(3_030), Step::Ready, "backing off 4 s");
    k.clear();
    assert_eq!(k.next(3_040), Step::Login, "new credentials log in at once");
}

// ----- revocation -----

#[test]
fn revocations_move_forward_and_purge() {
    let mut s = InMemoryRevocations::new();
    s.revoke_before("a", 100);
    s.revoke_before("a", 50);
    assert_eq!(s.not_before("a"), Some(100));
    s.purge(100 + 18_000, 18_000);
    assert_eq!(s.len(), 1);
    s.purge(100 + 18_001, 18_000);
    assert!(s.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No token issued before its user's not-before time verifies, by the manager or the cache;
    /// every one issued at or after it does (while unexpired).
    #[test]
    fn nothing_issued_before_not_before_verifies(
        issued in -1_000_000i64..1_000_000,
        not_before in -1_000_000i64..1_000_000,
        validity in 1u64..100_000,
        age in 0i64..100_000,
    ) {
        let manager = TokenManager::new(SecretKey::from_bytes(&[2u8; 32]).unwrap())
            .with_validity(validity).unwrap();
        let token = manager.issue("alice", issued).unwrap();
        let mut store = InMemoryRevocations::new();
        store.revoke_before("alice", not_before);
        let now = issued + age.min(validity as i64);
        let direct = manager.verify_not_revoked(&token.token, now, &store);
        let mut cache = TokenCache::new(manager.clone()).with_revocations(store.clone());
        let cached = cache.verify(&token.token, now);
        if issued < not_before {
            prop_assert_eq!(direct.unwrap_err().kind(), ErrorKind::InvalidClaims);
            prop_assert!(cached.is_err());
        } else {
            prop_assert!(direct.is_ok());
            prop_assert!(cached.is_ok());
        }
    }
}

// ----- identity rotation -----

#[test]
fn identity_accepts_current_and_previous_values() {
    let id = ServerIdentity::new("X-Peer", "new-value")
        .unwrap()
        .with_previous_value("old-value")
        .unwrap();
    assert!(id.matches([("x-peer", "new-value")]));
    assert!(id.matches([("x-peer", "old-value")]));
    assert!(!id.matches([("x-peer", "older-value")]));
    assert!(!id.matches([("x-peer", "")]));
    assert_eq!(id.previous_value_count(), 1);
    assert!(!format!("{id:?}").contains("value\""));
    assert!(!format!("{id:?}").contains("old-value"));
    assert_eq!(
        ServerIdentity::new("X-Peer", "v")
            .unwrap()
            .with_previous_value("security")
            .unwrap_err()
            .kind(),
        ErrorKind::PubliclyKnownKey
    );
    assert_eq!(
        ServerIdentity::new("X-Peer", "v")
            .unwrap()
            .with_previous_value(" ")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidIdentity
    );
}

// ----- audit -----

fn codes(report: &nacoscrypt_core::token::audit::AuditReport) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.code).collect()
}

#[test]
fn audit_flags_every_hole() {
    let text = "\
nacos.core.auth.enabled=false
nacos.core.auth.enable.userAgentAuthWhite=true
nacos.core.auth.plugin.nacos.token.secret.key=SecretKey012345678901234567890123456789012345678901234567890123456789
nacos.core.auth.plugin.nacos.token.expire.seconds=60
nacos.core.auth.plugin.nacos.token.cache.enable=true
nacos.core.auth.server.identity.key=serverIdentity
nacos.core.auth.server.identity.value=security
";
    let report = audit(Some(text), []).unwrap();
    let c = codes(&report);
    for code in [
        "auth_disabled",
        "user_agent_white_list",
        "public_secret_key",
        "token_expiry_short",
        "token_cache_enabled",
        "identity_default",
    ] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
    assert!(!report.to_json().contains("SecretKey0123"));
    assert!(!report.to_json().contains("\"security\""));
    // Errors come first.
    assert_eq!(report.findings[0].severity, Severity::Error);
    assert!(!report.passes(false));
}

#[test]
fn audit_short_and_invalid_keys_and_bounds() {
    let env = [
        ("NACOS_AUTH_ENABLE", "true"),
        (
            "NACOS_AUTH_TOKEN",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
        ),
        ("NACOS_AUTH_IDENTITY_KEY", "X-Peer"),
        ("NACOS_AUTH_IDENTITY_VALUE", "f00d"),
        ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "604800"),
    ];
    let report = audit(None, env).unwrap();
    assert_eq!(codes(&report), ["short_secret_key", "token_expiry_long"]);
    assert!(report.findings[0].message.contains("240 bits"));

    let report = audit(None, [("NACOS_AUTH_TOKEN", "not-base64!")]).unwrap();
    assert!(codes(&report).contains(&"invalid_secret_key"));
    assert!(!codes(&report).contains(&"secret_key_missing"));

    let report = audit(Some("nacos.core.auth.enabled=maybe\n"), []).unwrap();
    assert!(codes(&report).contains(&"invalid_setting"));
    assert!(codes(&report).contains(&"secret_key_missing"));
    assert_eq!(
        codes(&report)
            .iter()
            .filter(|c| **c == "identity_missing")
            .count(),
        2
    );
}

#[test]
fn audit_resolves_docker_placeholders() {
    let text = "\
nacos.core.auth.enabled=${NACOS_AUTH_ENABLE:false}
nacos.core.auth.plugin.nacos.token.secret.key=${NACOS_AUTH_TOKEN:}
nacos.core.auth.server.identity.key=${NACOS_AUTH_IDENTITY_KEY:}
nacos.core.auth.server.identity.value=${NACOS_AUTH_IDENTITY_VALUE:}
";
    let env = [
        ("NACOS_AUTH_ENABLE", "true"),
        (
            "NACOS_AUTH_TOKEN",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
        ("NACOS_AUTH_IDENTITY_KEY", "X-Peer"),
        ("NACOS_AUTH_IDENTITY_VALUE", "f00d"),
    ];
    let report = audit(Some(text), env).unwrap();
    assert!(report.passes(true), "{:?}", report.findings);
    assert_eq!(
        report.to_json(),
        r#"{"ok":true,"errors":0,"warnings":0,"findings":[]}"#
    );
    assert!(!audit(Some(text), []).unwrap().passes(false));
}

/// The thread-safe keeper and shared stores (feature `std`).
#[cfg(feature = "std")]
mod threaded {
    use nacoscrypt_core::token::{
        InMemoryRevocations, LoginResponse, SecretKey, TokenCache, TokenKeeper, TokenManager,
    };
    use nacoscrypt_core::{Error, ErrorKind};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Barrier, RwLock};

    fn response(token: &str, ttl: i64) -> LoginResponse {
        LoginResponse {
            access_token: token.into(),
            token_ttl: ttl,
            global_admin: false,
            username: "nacos".into(),
        }
    }

    // ----- keeper -----

    #[test]
    fn many_threads_cause_one_login() {
        let logins = AtomicU32::new(0);
        let keeper = TokenKeeper::new(|| {
            logins.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            Ok(response("the-token", 18_000))
        });
        let barrier = Barrier::new(16);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..100 {
                        assert_eq!(keeper.token(5_000).unwrap(), "the-token");
                    }
                });
            }
        });
        assert_eq!(logins.load(Ordering::SeqCst), 1);
        assert_eq!(keeper.login_count(), 1);
    }

    #[test]
    fn refresh_while_valid_is_one_login_and_nobody_waits() {
        let logins = AtomicU32::new(0);
        let keeper = TokenKeeper::new(|| {
            let n = logins.fetch_add(1, Ordering::SeqCst);
            Ok(response(&format!("t{n}"), 100))
        });
        assert_eq!(keeper.token(0).unwrap(), "t0");
        let refresh = keeper.refresh_at_ms().unwrap();
        // SDK rule: 100 − 10 = 90 s; jitter moves it at most 10 s earlier.
        assert!((80_000..=90_000).contains(&refresh), "{refresh}");
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let t = keeper.token(90_000).unwrap();
                    assert!(t == "t0" || t == "t1");
                });
            }
        });
        assert_eq!(logins.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn failed_logins_back_off_and_report_the_error() {
        let calls = AtomicU32::new(0);
        let keeper = TokenKeeper::new(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::kms("login refused"))
        });
        assert_eq!(keeper.token(0).unwrap_err().kind(), ErrorKind::Kms);
        assert_eq!(keeper.token(500).unwrap_err().kind(), ErrorKind::Kms);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "backing off");
        keeper.token(1_000).unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_bad_login_response_is_a_failed_login() {
        let keeper = TokenKeeper::new(|| Ok(response("t", 0)));
        assert_eq!(
            keeper.token(0).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn a_panicking_login_wakes_the_waiters() {
        static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let keeper = Arc::new(TokenKeeper::new(|| -> Result<LoginResponse, Error> {
            STARTED.store(true, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            panic!("login exploded")
        }));
        let k = keeper.clone();
        let first = std::thread::spawn(move || k.token(0));
        while !STARTED.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let err = keeper.token(0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LoginFailed);
        assert!(err.to_string().contains("panicked"));
        assert!(first.join().is_err());
    }

    #[test]
    fn keeper_debug_hides_the_token() {
        let keeper = TokenKeeper::new(|| Ok(response("very-secret-token", 60)));
        keeper.token(0).unwrap();
        assert!(!format!("{keeper:?}").contains("very-secret"));
    }

    #[test]
    fn cache_consults_revocations() {
        let store = Arc::new(RwLock::new(InMemoryRevocations::new()));
        let manager = TokenManager::new(SecretKey::from_bytes(&[1u8; 32]).unwrap());
        let mut cache = TokenCache::new(manager).with_revocations(store.clone());
        let old = cache.issue("alice", 1_000).unwrap();
        let bob = cache.issue("bob", 1_000).unwrap();
        cache.verify(&old.token, 1_001).unwrap();
        store.write().unwrap().revoke_before("alice", 1_010);
        let err = cache.verify(&old.token, 1_011).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidClaims);
        assert!(err.to_string().contains("revoked"));
        assert_eq!(err.nacos_message(), Some("token invalid!"));
        cache.verify(&bob.token, 1_011).unwrap();
        let new = cache.issue("alice", 1_011).unwrap();
        assert_ne!(new.token, old.token);
        assert_eq!(cache.issue("bob", 1_011).unwrap().token, bob.token);
    }
}
