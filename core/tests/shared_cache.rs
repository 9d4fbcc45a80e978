//! `SharedTokenCache` answers exactly as the locked `TokenCache` it shares, whatever the order
//! of calls and times (a differential property test), across threads, and never from another
//! cache's memos.
#![cfg(feature = "std")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use nacoscrypt_core::token::{
    InMemoryRevocations, SecretKey, SharedTokenCache, TokenCache, TokenManager,
};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000;
const USERS: [&str; 3] = ["nacos", "alice", "bob"];

fn manager(key: u8) -> TokenManager {
    TokenManager::new(SecretKey::from_bytes(&[key; 32]).unwrap())
        .with_validity(100)
        .unwrap()
        .with_leeway(5)
}

#[derive(Clone, Debug)]
enum Op {
    Issue(usize, i64),
    /// Verify the n-th token issued so far (or a bad one when there is none).
    Verify(usize, i64),
    Invalidate(usize),
    Clear,
    Evict(i64),
}

fn op() -> impl Strategy<Value = Op> {
    // Each call moves the clock on by 0..40 s (times never go back, as a clock's do not across
    // one process; the cache's periodic sweep makes answers at earlier times after a sweep
    // depend on housekeeping): renewals, expiry and leeway edges are all crossed.
    let t = 0i64..40;
    prop_oneof![
        4 => (0..USERS.len(), t.clone()).prop_map(|(u, t)| Op::Issue(u, t)),
        4 => (any::<usize>(), t.clone()).prop_map(|(n, t)| Op::Verify(n, t)),
        1 => (0..USERS.len()).prop_map(Op::Invalidate),
        1 => Just(Op::Clear),
        1 => t.prop_map(Op::Evict),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn answers_equal_the_locked_cache(ops in prop::collection::vec(op(), 1..80)) {
        let mut plain = TokenCache::new(manager(1));
        let shared = SharedTokenCache::new(TokenCache::new(manager(1)));
        let mut tokens: Vec<String> = Vec::new();
        let mut clock = 0i64;
        for op in ops {
            let op = match op {
                Op::Issue(u, dt) => { clock += dt; Op::Issue(u, clock) }
                Op::Verify(n, dt) => { clock += dt; Op::Verify(n, clock) }
                Op::Evict(dt) => { clock += dt; Op::Evict(clock) }
                other => other,
            };
            match op {
                Op::Issue(u, t) => {
                    let a = plain.issue(USERS[u], T0 + t).unwrap();
                    let b = shared.issue(USERS[u], T0 + t).unwrap();
                    prop_assert_eq!(&a, &b);
                    tokens.push(a.token);
                }
                Op::Verify(n, t) => {
                    let token = if tokens.is_empty() { "a.b.c".to_owned() } else {
                        tokens[n % tokens.len()].clone()
                    };
                    let a = plain.verify(&token, T0 + t).map_err(|e| e.kind());
                    let b = shared.verify(&token, T0 + t).map_err(|e| e.kind());
                    prop_assert_eq!(a, b);
                }
                Op::Invalidate(u) => {
                    plain.invalidate_user(USERS[u]);
                    shared.with(|c| c.invalidate_user(USERS[u]));
                }
                Op::Clear => {
                    plain.clear();
                    shared.with(TokenCache::clear);
                }
                Op::Evict(t) => {
                    plain.evict_expired(T0 + t);
                    shared.with(|c| c.evict_expired(T0 + t));
                }
            }
        }
        // (The entry counts may differ: hits answered from memos skip the cache's periodic
        // sweep of expired entries, which is housekeeping, not an answer.)
    }
}

#[test]
fn memos_of_one_cache_never_answer_for_another() {
    let a = SharedTokenCache::new(TokenCache::new(manager(1)));
    let b = SharedTokenCache::new(TokenCache::new(manager(2)));
    let ta = a.issue("nacos", T0).unwrap();
    let tb = b.issue("nacos", T0).unwrap();
    assert_ne!(ta.token, tb.token);
    assert_eq!(a.issue("nacos", T0 + 1).unwrap().token, ta.token);
    assert_eq!(b.issue("nacos", T0 + 1).unwrap().token, tb.token);
    // b's key does not verify a's token, even though this thread memoised it for a.
    assert!(a.verify(&ta.token, T0).is_ok());
    assert!(b.verify(&ta.token, T0).is_err());
}

#[test]
fn a_change_made_by_one_thread_reaches_the_memos_of_the_others() {
    let cache = SharedTokenCache::new(TokenCache::new(manager(1)));
    let first = cache.issue("nacos", T0).unwrap();
    std::thread::scope(|s| {
        // Another thread: memoises the same login, then invalidates it.
        s.spawn(|| {
            assert_eq!(cache.issue("nacos", T0 + 1).unwrap().token, first.token);
            cache.with(|c| c.invalidate_user("nacos"));
        });
    });
    // This thread's memo is stale now: the next login is a new token.
    let second = cache.issue("nacos", T0 + 2).unwrap();
    assert_ne!(second.token, first.token);
    // And the other way round, with many threads hitting at once.
    let tokens: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..500)
                        .map(|i| cache.issue("nacos", T0 + 2 + i % 50).unwrap().token)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(tokens.iter().all(|t| *t == second.token));
}

#[test]
fn with_a_revocation_store_every_call_consults_it() {
    use std::sync::{Arc, RwLock};
    let store = Arc::new(RwLock::new(InMemoryRevocations::new()));
    let cache =
        SharedTokenCache::new(TokenCache::new(manager(1)).with_revocations(Arc::clone(&store)));
    let token = cache.issue("nacos", T0).unwrap().token;
    assert!(cache.verify(&token, T0 + 1).is_ok());
    assert!(cache.verify(&token, T0 + 1).is_ok());
    // Revoked behind the cache's back: the very next verify and login see it.
    store.write().unwrap().revoke_before("nacos", T0 + 10);
    assert!(cache.verify(&token, T0 + 11).is_err());
    assert_ne!(cache.issue("nacos", T0 + 11).unwrap().token, token);
}
