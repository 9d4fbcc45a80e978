//! Token behaviour beyond the vectors: every error kind, the expiry boundary, leeway, rotation,
//! the cache, server identity, refresh timing, login JSON and settings files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use base64_simd::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use nacoscrypt_core::error::Malformed;
use nacoscrypt_core::token::{
    AccessToken, Algorithm, AuthSettings, LoginResponse, MAX_CACHE_ENTRIES, MAX_PAYLOAD_LEN,
    Properties, SecretKey, ServerIdentity, TokenCache, TokenManager, needs_refresh, refresh_at_ms,
};
use nacoscrypt_core::{Error, ErrorKind};
use sha2::Sha256;

const KEY32: [u8; 32] = [0x11; 32];

fn manager() -> TokenManager {
    TokenManager::new(SecretKey::from_bytes(&KEY32).unwrap())
}

/// A token over an arbitrary payload, signed with HS256 and `KEY32`.
fn forge(payload: &str) -> String {
    common::forge_hs256(&KEY32, payload)
}

fn kind(r: Result<impl std::fmt::Debug, Error>) -> ErrorKind {
    r.unwrap_err().kind()
}

#[test]
fn malformed_tokens() {
    let m = manager();
    for blank in ["", " ", "\t\r\n"] {
        assert_eq!(
            m.verify(blank, 0).unwrap_err(),
            Error::MalformedToken(Malformed::Blank)
        );
    }
    let good = m.issue("nacos", 0).unwrap().token;
    let parts: Vec<&str> = good.split('.').collect();
    for bad in [
        "abc".to_string(),
        "a.b".into(),
        "a.b.c.d".into(),
        format!("{}.{}.", parts[0], parts[1]),
        format!(".{}.{}", parts[1], parts[2]),
        format!("{}..{}", parts[0], parts[2]),
        format!("{good}."),
    ] {
        assert_eq!(
            m.verify(&bad, 0).unwrap_err(),
            Error::MalformedToken(Malformed::Shape),
            "{bad}"
        );
    }
    assert_eq!(
        Error::MalformedToken(Malformed::Blank).nacos_message(),
        Some("user not found!")
    );
}

#[test]
fn headers_must_be_the_constant_of_the_key() {
    let m = manager();
    let good = m.issue("nacos", 0).unwrap().token;
    let rest = good.split_once('.').unwrap().1;
    for header in [
        Algorithm::Hs384.header(),
        Algorithm::Hs512.header(),
        "eyJhbGciOiJub25lIn0",                  // {"alg":"none"}
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", // with typ
        "eyJhbGciOiJIUzI1NiJ9x",
    ] {
        assert_eq!(
            kind(m.verify(&format!("{header}.{rest}"), 0)),
            ErrorKind::UnsupportedAlgorithm
        );
    }
}

#[test]
fn signatures_must_be_canonical_and_right() {
    let m = manager();
    let good = m.issue("nacos", 0).unwrap().token;
    assert!(m.verify(&good, 0).is_ok());
    let (signed, sig) = good.rsplit_once('.').unwrap();
    // HS256: 43 characters, the last carries 2 unused bits; flipping them keeps the bytes
    let last = sig.as_bytes()[42];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.iter().position(|&c| c == last).unwrap();
    let mut variants = vec![
        format!("{sig}="),
        format!("{sig}=="),
        sig[..42].to_string(),
        format!("{sig}A"),
        sig.replace('-', "+").replace('_', "/"),
    ];
    for bits in 1..4 {
        let twin = alphabet[(idx & !3) | ((idx + bits) & 3)] as char;
        variants.push(format!("{}{twin}", &sig[..42]));
    }
    for v in variants {
        if v == sig {
            continue;
        }
        assert_eq!(
            m.verify(&format!("{signed}.{v}"), 0).unwrap_err(),
            Error::InvalidSignature,
            "{v}"
        );
    }
    // a payload change breaks it
    let (h, p) = signed.split_once('.').unwrap();
    let other = URL_SAFE_NO_PAD.encode_to_string(r#"{"sub":"admin","exp":18000}"#);
    assert_ne!(p, other);
    assert_eq!(
        kind(m.verify(&format!("{h}.{other}.{sig}"), 0)),
        ErrorKind::InvalidSignature
    );
    // another key of the same algorithm
    let other_key = TokenManager::new(SecretKey::from_bytes(&[0x22; 32]).unwrap());
    assert_eq!(
        kind(other_key.verify(&good, 0)),
        ErrorKind::InvalidSignature
    );
}

#[test]
fn claims_are_checked_strictly() {
    let m = manager();
    let ok = |payload: &str| m.verify(&forge(payload), 0);
    assert_eq!(ok(r#"{"sub":"a","exp":5}"#).unwrap().exp, 5);
    assert_eq!(
        ok(r#" {"exp":5.9,"sub":"a","x":[{"y":null}]} "#)
            .unwrap()
            .exp,
        5
    );
    assert_eq!(ok(r#"{"sub":"a","exp":4.1e9}"#).unwrap().exp, 4_100_000_000);
    assert_eq!(
        ok(r#"{"sub":"\u00e9\ud83d\ude00","exp":1}"#).unwrap().sub,
        "é😀"
    );
    for bad in [
        r#"{"exp":5}"#,
        r#"{"sub":"a"}"#,
        r#"{"sub":1,"exp":5}"#,
        r#"{"sub":null,"exp":5}"#,
        r#"{"sub":"a","exp":"5"}"#,
        r#"{"sub":"a","exp":true}"#,
        r#"{"sub":"a","exp":[5]}"#,
        r#"{"sub":"a","exp":5,"sub":"b"}"#,
        r#"{"sub":"a","exp":5,"exp":6}"#,
        r#"{"sub":"a","exp":5,"x":1,"x":2}"#,
        r#"{"sub":"a","exp":9223372036854775808}"#,
        r#"{"sub":"a","exp":-9223372036854775809}"#,
        r#"{"sub":"a","exp":1e19}"#,
        r#"{"sub":"\ud800","exp":5}"#,
        "{\"sub\":\"a\u{1}\",\"exp\":5}",
        r#"{"sub":"a","exp":05}"#,
        r#"{"sub":"a","exp":5,}"#,
        r#"{"sub":"a","exp":5}x"#,
        r#"["sub","exp"]"#,
        " ",
        "null",
    ] {
        assert_eq!(kind(ok(bad)), ErrorKind::InvalidClaims, "{bad}");
    }
    // an empty payload is an empty part
    assert_eq!(kind(ok("")), ErrorKind::MalformedToken);
    // not UTF-8
    let mut raw = URL_SAFE_NO_PAD.encode_to_string(b"{\"sub\":\"\xff\",\"exp\":5}");
    let forged = {
        let head = format!("{}.{raw}", Algorithm::Hs256.header());
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&KEY32).unwrap();
        mac.update(head.as_bytes());
        format!(
            "{head}.{}",
            URL_SAFE_NO_PAD.encode_to_string(mac.finalize().into_bytes())
        )
    };
    assert_eq!(kind(m.verify(&forged, 0)), ErrorKind::InvalidClaims);
    raw.clear();
    // too deep, and the payload bound
    let deep = format!(
        r#"{{"sub":"a","exp":5,"x":{}{}}}"#,
        "[".repeat(80),
        "]".repeat(80)
    );
    assert_eq!(kind(ok(&deep)), ErrorKind::InvalidClaims);
    let big = format!(
        r#"{{"sub":"a","exp":5,"x":"{}"}}"#,
        "y".repeat(MAX_PAYLOAD_LEN)
    );
    // Over MAX_TOKEN_LEN as a whole: refused before any MAC (tests/limits.rs checks the
    // exact payload bound, which a token under MAX_TOKEN_LEN can still exceed).
    assert_eq!(
        m.verify(&forge(&big), 0).unwrap_err(),
        Error::MalformedToken(Malformed::TooLong)
    );
    let fits = format!(r#"{{"sub":"a","exp":5,"x":"{}"}}"#, "y".repeat(6000));
    assert!(ok(&fits).is_ok());
    assert_eq!(
        Error::InvalidClaims { reason: "x" }.nacos_message(),
        Some("token invalid!")
    );
}

#[test]
fn expiry_boundary_and_leeway() {
    let m = manager();
    let t = m.issue("nacos", 1_000).unwrap();
    assert_eq!((t.ttl, t.expires_at), (18_000, 19_000));
    assert_eq!(m.verify(&t.token, 19_000).unwrap().exp, 19_000);
    assert_eq!(m.verify(&t.token, 19_001).unwrap_err(), Error::TokenExpired);
    let lenient = manager().with_leeway(60);
    assert!(lenient.verify(&t.token, 19_060).is_ok());
    assert_eq!(
        kind(lenient.verify(&t.token, 19_061)),
        ErrorKind::TokenExpired
    );
    // huge leeway saturates instead of overflowing
    let forever = manager().with_leeway(u64::MAX);
    assert!(forever.verify(&t.token, i64::MAX).is_ok());
    // validity
    let short = manager().with_validity(1).unwrap();
    assert_eq!(short.issue("a", 10).unwrap().expires_at, 11);
    assert_eq!(
        manager().with_validity(0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert!(manager().with_validity(u64::MAX).is_err());
    assert_eq!(kind(m.issue("a", i64::MAX)), ErrorKind::InvalidArgument);
    // negative expiry (a token from before 1970) is simply expired
    let neg = m.issue("a", -20_000).unwrap();
    assert_eq!(m.verify(&neg.token, 0).unwrap_err(), Error::TokenExpired);
    assert_eq!(m.verify(&neg.token, -2_000).unwrap().exp, -2_000);
}

#[test]
fn rotation() {
    let k1 = SecretKey::from_bytes(&[1; 32]).unwrap();
    let k2 = SecretKey::from_bytes(&[2; 32]).unwrap();
    let k3 = SecretKey::from_bytes(&[3; 64]).unwrap();
    let t1 = TokenManager::new(k1.clone()).issue("one", 0).unwrap().token;
    let t3 = TokenManager::new(k3.clone())
        .issue("three", 0)
        .unwrap()
        .token;
    let m = TokenManager::new(k2.clone()).with_previous_keys([k1.clone(), k3.clone()]);
    assert_eq!(m.previous_keys().len(), 2);
    assert_eq!(m.signing_key().as_bytes(), k2.as_bytes());
    let t2 = m.issue("two", 0).unwrap().token;
    assert!(t2.starts_with(Algorithm::Hs256.header()));
    assert_eq!(m.verify(&t1, 0).unwrap().sub, "one");
    assert_eq!(m.verify(&t2, 0).unwrap().sub, "two");
    assert_eq!(m.verify(&t3, 0).unwrap().sub, "three");
    // once the old key is dropped, its tokens fail
    let only_new = TokenManager::new(k2);
    assert_eq!(kind(only_new.verify(&t1, 0)), ErrorKind::InvalidSignature);
    assert_eq!(
        kind(only_new.verify(&t3, 0)),
        ErrorKind::UnsupportedAlgorithm
    );
}

#[test]
fn secret_keys() {
    assert_eq!(
        SecretKey::from_base64("AAAAAAAAAAAAAAAAAAAAAA==").unwrap_err(),
        Error::SecretKeyTooShort { bits: 128 }
    );
    assert_eq!(
        SecretKey::from_bytes(&[1; 31]).unwrap_err(),
        Error::SecretKeyTooShort { bits: 248 }
    );
    assert_eq!(
        SecretKey::from_base64("").unwrap_err(),
        Error::SecretKeyTooShort { bits: 0 }
    );
    let err =
        SecretKey::from_base64("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2Bh_YmM").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSecretKey);
    assert_eq!(err, Error::IllegalBase64Character { position: 44 });
    for (len, alg) in [
        (32, Algorithm::Hs256),
        (47, Algorithm::Hs256),
        (48, Algorithm::Hs384),
        (63, Algorithm::Hs384),
        (64, Algorithm::Hs512),
        (200, Algorithm::Hs512),
    ] {
        let k = SecretKey::from_bytes(&vec![9; len]).unwrap();
        assert_eq!(k.algorithm(), alg);
        assert_eq!(k.bits(), len * 8);
        let text = k.to_base64();
        assert_eq!(
            SecretKey::from_base64(&text).unwrap().as_bytes(),
            k.as_bytes()
        );
        // never printed
        assert_eq!(
            format!("{k:?}"),
            format!("SecretKey {{ algorithm: {} }}", alg.name())
        );
    }
    #[cfg(feature = "getrandom")]
    {
        let g1 = SecretKey::generate().unwrap();
        let g2 = SecretKey::generate().unwrap();
        assert_eq!(g1.bits(), 256);
        assert_ne!(g1.as_bytes(), g2.as_bytes());
    }
    let mut rng = FixedRng(7);
    let g3 = SecretKey::generate_with_rng(&mut rng).unwrap();
    assert_eq!(g3.as_bytes(), &[7u8; 32]);
}

struct FixedRng(u8);

impl rand_core::TryRng for FixedRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from_le_bytes([self.0; 4]))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from_le_bytes([self.0; 8]))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(self.0);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for FixedRng {}

#[test]
fn cache_reuses_then_renews() {
    let mut cache = TokenCache::new(manager());
    let t0 = 1_000_000_i64; // s
    let first = cache.issue("nacos", t0).unwrap();
    assert_eq!(first.ttl, 18_000);
    assert_eq!(first.expires_at, 1_000_000 + 18_000);
    // reuse with the remaining TTL
    let a = cache.issue("nacos", t0 + 1).unwrap();
    assert_eq!(a.token, first.token);
    assert_eq!(a.ttl, 17_999);
    assert_eq!(a.expires_at, first.expires_at);
    // just before 90%
    let b = cache.issue("nacos", t0 + 16_200 - 1).unwrap();
    assert_eq!(b.token, first.token);
    assert_eq!(b.ttl, 1_801);
    // at 90%: renewed
    let c = cache.issue("nacos", t0 + 16_200).unwrap();
    assert_ne!(c.token, first.token);
    assert_eq!(c.ttl, 18_000);
    assert_eq!(c.expires_at, 1_000_000 + 16_200 + 18_000);
    // other users get their own
    let d = cache.issue("other", t0).unwrap();
    assert_ne!(d.token, c.token);
    assert_eq!(
        cache.manager().verify(&d.token, 1_000_000).unwrap().sub,
        "other"
    );
    assert_eq!(cache.login_count(), 2);
    cache.invalidate_user("other");
    assert_eq!(cache.login_count(), 1);
}

/// 90% of a validity that is not a multiple of ten seconds falls between two seconds: the
/// cached token is given up at the first whole second from there on.
#[test]
fn cache_renews_at_the_first_second_past_90_percent() {
    let m = TokenManager::new(SecretKey::from_bytes(&KEY32).unwrap())
        .with_validity(15)
        .unwrap();
    let mut cache = TokenCache::new(m);
    let first = cache.issue("nacos", 100).unwrap();
    // 90% of 15 s is 13.5 s: still cached at 113, renewed at 114
    let a = cache.issue("nacos", 113).unwrap();
    assert_eq!((a.token.as_str(), a.ttl), (first.token.as_str(), 2));
    assert_ne!(cache.issue("nacos", 114).unwrap().token, first.token);
}

/// The deprecated `login` takes milliseconds: `issue` at the second they fall in.
#[test]
#[allow(deprecated)]
fn cache_login_is_issue_in_milliseconds() {
    let mut by_ms = TokenCache::new(manager());
    let mut by_s = TokenCache::new(manager());
    for (ms, s) in [
        (1_000_000_000, 1_000_000),
        (1_000_001_500, 1_000_001),
        (1_016_199_999, 1_016_199),
        (1_016_200_000, 1_016_200),
    ] {
        let a = by_ms.login("nacos", ms).unwrap();
        let b = by_s.issue("nacos", s).unwrap();
        assert_eq!((a.ttl, a.expires_at), (b.ttl, b.expires_at), "{ms} ms");
    }
    // rounded down, also before the epoch
    let t = by_ms.login("early", -1).unwrap();
    assert_eq!(t.expires_at, -1 + 18_000);
}

#[test]
fn cache_remembers_verified_tokens_and_evicts() {
    let m = manager();
    let t = m.issue("nacos", 0).unwrap();
    let mut cache = TokenCache::new(m.clone());
    assert_eq!(cache.verify(&t.token, 0).unwrap().sub, "nacos");
    assert_eq!(cache.verified_count(), 1);
    assert_eq!(cache.verify(&t.token, 18_000).unwrap().exp, 18_000);
    // expired: refused and evicted
    assert_eq!(
        cache.verify(&t.token, 18_001).unwrap_err(),
        Error::TokenExpired
    );
    assert_eq!(cache.verified_count(), 0);
    // failures are not remembered
    assert!(cache.verify("a.b.c", 0).is_err());
    assert_eq!(cache.verified_count(), 0);
    // sweeping
    let short = TokenManager::new(SecretKey::from_bytes(&KEY32).unwrap())
        .with_validity(10)
        .unwrap();
    let mut cache = TokenCache::new(short);
    for i in 0..5 {
        let tok = cache.issue(&format!("u{i}"), 0).unwrap();
        cache.verify(&tok.token, 0).unwrap();
    }
    assert_eq!((cache.login_count(), cache.verified_count()), (5, 5));
    cache.evict_expired(10);
    assert_eq!((cache.login_count(), cache.verified_count()), (5, 5));
    cache.evict_expired(11);
    assert!(cache.is_empty());
    // automatic sweep on a later call
    for i in 0..5 {
        let tok = cache.issue(&format!("u{i}"), 100).unwrap();
        cache.verify(&tok.token, 100).unwrap();
    }
    let tok = cache.issue("late", 200).unwrap();
    assert_eq!((cache.login_count(), cache.verified_count()), (1, 0));
    cache.verify(&tok.token, 200).unwrap();
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn cache_is_bounded() {
    let m = manager();
    let mut cache = TokenCache::new(m.clone());
    // distinct expiries: token i expires at 18,000 + i
    for i in 0..=MAX_CACHE_ENTRIES {
        let now = i64::try_from(i).unwrap();
        let t = m.issue("u", now).unwrap();
        cache.verify(&t.token, 0).unwrap();
    }
    assert_eq!(cache.verified_count(), MAX_CACHE_ENTRIES);
    for i in 0..=MAX_CACHE_ENTRIES / 8 {
        cache.issue(&format!("user{i}"), 0).unwrap();
    }
    assert_eq!(cache.login_count(), MAX_CACHE_ENTRIES / 8 + 1);
}

#[test]
fn server_identity() {
    let id = ServerIdentity::new("X-Nacos-Server", "s3cr3t-value").unwrap();
    assert_eq!(id.key(), "X-Nacos-Server");
    assert!(id.matches([("x-nacos-server", "s3cr3t-value")]));
    assert!(id.matches([("X-NACOS-SERVER", "s3cr3t-value")]));
    assert!(id.matches(vec![("Host", "a"), ("x-NaCoS-sErVeR", "s3cr3t-value")]));
    assert!(!id.matches([("X-Nacos-Server", "S3CR3T-VALUE")]));
    assert!(!id.matches([("X-Nacos-Server", "s3cr3t-valu")]));
    assert!(!id.matches([("X-Nacos-Server", "s3cr3t-value ")]));
    assert!(!id.matches([("X-Nacos-Server", "")]));
    assert!(!id.matches([("X-Nacos-Serve", "s3cr3t-value")]));
    assert!(!id.matches(std::iter::empty::<(&str, &str)>()));
    // the first header of that name counts, as the server's getHeader
    assert!(!id.matches([
        ("x-nacos-server", "nope"),
        ("X-Nacos-Server", "s3cr3t-value")
    ]));
    assert!(id.matches_value("s3cr3t-value"));
    assert!(!id.matches_value("s3cr3t-valuE"));
    assert!(!format!("{id:?}").contains("s3cr3t"));

    for (k, v) in [("", "x"), ("k", ""), ("  ", "x"), ("k", " \t")] {
        assert_eq!(ServerIdentity::new(k, v).unwrap_err(), Error::EmptyIdentity);
        assert_eq!(
            ServerIdentity::new_allowing_publicly_known(k, v).unwrap_err(),
            Error::EmptyIdentity
        );
    }
    for (k, v) in [("serverIdentity", "security"), ("X-Other", "security")] {
        assert_eq!(
            ServerIdentity::new(k, v).unwrap_err().kind(),
            ErrorKind::PubliclyKnownKey
        );
        assert!(
            ServerIdentity::new_allowing_publicly_known(k, v)
                .unwrap()
                .matches([(k, v)])
        );
    }
    assert!(ServerIdentity::new("serverIdentity", "a-real-secret").is_ok());
}

#[test]
fn refresh_timing() {
    assert_eq!(refresh_at_ms(0, 18_000), 16_200_000);
    assert_eq!(refresh_at_ms(500, 10), 500 + 9_000);
    assert_eq!(refresh_at_ms(0, 9), 9_000); // ttl/10 == 0
    assert!(!needs_refresh(0, 18_000, 16_199_999));
    assert!(needs_refresh(0, 18_000, 16_200_000));
    assert_eq!(refresh_at_ms(i64::MAX - 1, 18_000), i64::MAX);
}

#[test]
fn login_json() {
    let token = AccessToken {
        token: "a.b.c".into(),
        ttl: 18_000,
        expires_at: 1,
        subject: "nacos".into(),
    };
    let json = token.to_login_json("nacos", false);
    assert_eq!(
        json,
        r#"{"accessToken":"a.b.c","tokenTtl":18000,"globalAdmin":false,"username":"nacos"}"#
    );
    assert_eq!(token.login_response(false).to_json(), json);
    assert!(!format!("{token:?}").contains("a.b.c"));
    let escaped = token.to_login_json("we\"ird\\\n\u{1}é", true);
    assert!(escaped.ends_with(r#""globalAdmin":true,"username":"we\"ird\\\n\u0001é"}"#));
    let v: serde_json::Value = serde_json::from_str(&escaped).unwrap();
    assert_eq!(v["username"], "we\"ird\\\n\u{1}é");

    let r = LoginResponse::parse(&escaped).unwrap();
    assert_eq!(r.access_token, "a.b.c");
    assert_eq!(r.token_ttl, 18_000);
    assert!(r.global_admin);
    assert_eq!(r.username, "we\"ird\\\n\u{1}é");
    assert_eq!(r.to_json(), escaped);
    // optional members and extras
    let r = LoginResponse::parse(r#"{"tokenTtl":5.5,"accessToken":"t","data":{"x":[1]}}"#).unwrap();
    assert_eq!(
        (r.token_ttl, r.global_admin, r.username.as_str()),
        (5, false, "")
    );
    for bad in [
        r#"{"tokenTtl":1}"#,
        r#"{"accessToken":"t"}"#,
        r#"{"accessToken":1,"tokenTtl":1}"#,
        r#"{"accessToken":"t","tokenTtl":"1"}"#,
        r#"{"accessToken":"t","tokenTtl":1,"globalAdmin":"yes"}"#,
        r#"{"accessToken":"t","tokenTtl":1,"accessToken":"u"}"#,
        "not json",
    ] {
        assert_eq!(
            LoginResponse::parse(bad).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "{bad}"
        );
    }
}

#[test]
fn properties_syntax() {
    let text = concat!(
        "# a comment\n",
        "! another comment \\\n",
        "   \t\n",
        "equals=1\n",
        "colon:2\n",
        "space 3\n",
        "tab\t4\n",
        "spaced  =   5   \n",
        "double==6\n",
        "colon_equals :=7\n",
        "   indented = 8\n",
        "continued = a\\\n",
        "      b\\\n",
        "\tc\n",
        "even = x\\\\\n",
        "escaped\\ key\\=\\: = v\\tw\\nx\\ry\\fz\\q\n",
        "unicode = \\u00e9\\u4E2D\\uD83D\\uDE00\n",
        "crlf = one\r\n",
        "cr = two\r",
        "empty =\n",
        "keyonly\n",
        "dup = first\n",
        "dup = second\n",
        "#not = a comment line\n",
        "comment_in_continuation = a\\\n",
        "  # b\n",
        "blank_continuation = a\\\n",
        "\n",
        "after_blank = yes\n",
        "utf8 = 中文 ✓\n",
        "eof = end\\",
    );
    let p = Properties::parse(text).unwrap();
    let expect = [
        ("equals", "1"),
        ("colon", "2"),
        ("space", "3"),
        ("tab", "4"),
        ("spaced", "5   "),
        ("double", "=6"),
        ("colon_equals", "=7"),
        ("indented", "8"),
        ("continued", "abc"),
        ("even", "x\\"),
        ("escaped key=:", "v\tw\nx\ry\u{c}zq"),
        ("unicode", "é中😀"),
        ("crlf", "one"),
        ("cr", "two"),
        ("empty", ""),
        ("keyonly", ""),
        ("dup", "second"),
        ("comment_in_continuation", "a# b"),
        ("blank_continuation", "a"),
        ("after_blank", "yes"),
        ("utf8", "中文 ✓"),
        ("eof", "end"),
    ];
    for (k, v) in expect {
        assert_eq!(p.get(k), Some(v), "{k}");
    }
    assert_eq!(p.get("#not"), None);
    assert_eq!(p.len(), expect.len() + 1); // dup twice
    assert!(!format!("{p:?}").contains("second"));
    for bad in [
        "a = \\u12",
        "a = \\u12G4",
        "a = \\uD800",
        "a = \\uDC00x",
        "a = \\uD800\\u0041",
    ] {
        assert_eq!(
            Properties::parse(bad).unwrap_err().kind(),
            ErrorKind::InvalidSettings,
            "{bad}"
        );
    }
    assert!(Properties::parse("").unwrap().is_empty());
}

#[test]
fn settings_from_properties_and_env() {
    let defaults = AuthSettings::from_properties("nacos.core.auth.enabled=true\n").unwrap();
    assert_eq!(defaults, AuthSettings::default());
    assert_eq!(defaults.expire_seconds, 18_000);
    assert!(!defaults.cache_enabled);
    assert_eq!(
        defaults.token_manager().unwrap_err(),
        Error::InvalidSettings {
            name: "nacos.core.auth.plugin.nacos.token.secret.key",
            reason: "not set"
        }
    );
    assert_eq!(
        defaults.server_identity().unwrap_err(),
        Error::EmptyIdentity
    );

    let secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v";
    let text = format!(
        "nacos.core.auth.plugin.nacos.token.secret.key = {secret}\n\
         nacos.core.auth.plugin.nacos.token.expire.seconds : 0x0E10\n\
         nacos.core.auth.plugin.nacos.token.cache.enable  ON\n\
         nacos.core.auth.server.identity.key=X-Peer\n\
         nacos.core.auth.server.identity.value=${{PEER:fallback}}\n"
    );
    let s = AuthSettings::from_properties(&text).unwrap();
    assert_eq!(s.expire_seconds, 3600);
    assert!(s.cache_enabled);
    assert!(!format!("{s:?}").contains(secret));
    assert!(!format!("{s:?}").contains("fallback"));
    let m = s.token_manager().unwrap();
    assert_eq!(
        (m.validity(), m.signing_key().algorithm()),
        (3600, Algorithm::Hs384)
    );
    assert!(
        s.server_identity()
            .unwrap()
            .matches([("x-peer", "fallback")])
    );
    let s = AuthSettings::from_properties_with_env(&text, [("PEER", "from-env")]).unwrap();
    assert!(
        s.server_identity()
            .unwrap()
            .matches([("x-peer", "from-env")])
    );

    // the Docker image's file: everything from placeholders
    let docker = "\
nacos.core.auth.plugin.nacos.token.secret.key=${NACOS_AUTH_TOKEN:}
nacos.core.auth.plugin.nacos.token.expire.seconds=${NACOS_AUTH_TOKEN_EXPIRE_SECONDS:18000}
nacos.core.auth.plugin.nacos.token.cache.enable=${NACOS_AUTH_CACHE_ENABLE:false}
nacos.core.auth.server.identity.key=${NACOS_AUTH_IDENTITY_KEY:}
nacos.core.auth.server.identity.value=${NACOS_AUTH_IDENTITY_VALUE:}
";
    assert_eq!(
        AuthSettings::from_properties(docker).unwrap(),
        AuthSettings::default()
    );
    let env = [
        ("NACOS_AUTH_TOKEN", secret),
        ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "600"),
        ("NACOS_AUTH_CACHE_ENABLE", "true"),
        ("NACOS_AUTH_IDENTITY_KEY", "k"),
        ("NACOS_AUTH_IDENTITY_VALUE", "v"),
    ];
    let from_file = AuthSettings::from_properties_with_env(docker, env).unwrap();
    let from_env = AuthSettings::from_env(env).unwrap();
    assert_eq!(from_file, from_env);
    assert_eq!(from_env.expire_seconds, 600);
    assert!(from_env.cache_enabled);
    assert_eq!(from_env.identity_key.as_deref(), Some("k"));
    assert_eq!(from_env.secret_key.as_deref(), Some(secret));

    // publicly known key: refused unless opted in
    let known = AuthSettings::from_env([(
        "NACOS_AUTH_TOKEN",
        "SecretKey012345678901234567890123456789012345678901234567890123456789",
    )])
    .unwrap();
    assert_eq!(
        known.token_manager().unwrap_err().kind(),
        ErrorKind::PubliclyKnownKey
    );
    assert!(known.token_manager_allowing_publicly_known().is_ok());
    let known_id = AuthSettings::from_env([
        ("NACOS_AUTH_IDENTITY_KEY", "serverIdentity"),
        ("NACOS_AUTH_IDENTITY_VALUE", "security"),
    ])
    .unwrap();
    assert_eq!(
        known_id.server_identity().unwrap_err().kind(),
        ErrorKind::PubliclyKnownKey
    );
    assert!(known_id.server_identity_allowing_publicly_known().is_ok());

    // invalid values name the setting, never the value
    for (name, value) in [
        ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "soon"),
        ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "0"),
        ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "-5"),
        ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "99999999999999999999"),
        ("NACOS_AUTH_CACHE_ENABLE", "maybe"),
    ] {
        let err = AuthSettings::from_env([(name, value)]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSettings, "{value}");
        assert!(!err.to_string().contains(value));
        assert!(
            err.to_string()
                .contains("nacos.core.auth.plugin.nacos.token.")
        );
    }
    for (value, expected) in [
        ("YES", true),
        ("1", true),
        ("off", false),
        (" No ", false),
        ("", false),
    ] {
        let s = AuthSettings::from_env([("NACOS_AUTH_CACHE_ENABLE", value)]).unwrap();
        assert_eq!(s.cache_enabled, expected, "{value}");
    }
    assert_eq!(
        AuthSettings::from_env([("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", " +42 ")])
            .unwrap()
            .expire_seconds,
        42
    );
    // unresolvable placeholder
    let err =
        AuthSettings::from_properties("nacos.core.auth.plugin.nacos.token.secret.key=${MISSING}\n")
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSettings);
    let err =
        AuthSettings::from_properties("nacos.core.auth.plugin.nacos.token.secret.key=${OPEN\n")
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSettings);
    // placeholders that refer to other properties, and nested defaults
    let s = AuthSettings::from_properties(
        "base=12\nnacos.core.auth.plugin.nacos.token.expire.seconds=${UNSET:${base}0}\n",
    )
    .unwrap();
    assert_eq!(s.expire_seconds, 120);
}

#[cfg(feature = "std")]
#[test]
fn settings_from_files_and_process_env() {
    let dir =
        std::env::temp_dir().join(format!("nacoscrypt-token-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("application.properties");
    std::fs::write(
        &path,
        "nacos.core.auth.plugin.nacos.token.expire.seconds=77\n",
    )
    .unwrap();
    assert_eq!(
        AuthSettings::from_properties_file(&path)
            .unwrap()
            .expire_seconds,
        77
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        AuthSettings::from_properties_file(&path)
            .unwrap_err()
            .kind(),
        ErrorKind::Io
    );
    // the test process has none of the Docker names set
    if std::env::var_os("NACOS_AUTH_TOKEN").is_none() {
        assert!(
            AuthSettings::from_process_env()
                .unwrap()
                .secret_key
                .is_none()
        );
    }
}

#[cfg(feature = "std")]
#[test]
fn now_functions_use_the_clock() {
    let m = manager();
    let t = m.issue_now("nacos").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((t.expires_at - 18_000 - now).abs() <= 2);
    assert_eq!(m.verify_now(&t.token).unwrap().sub, "nacos");
    let mut cache = TokenCache::new(m);
    let a = cache.issue_now("nacos").unwrap();
    assert_eq!(cache.verify_now(&a.token).unwrap().sub, "nacos");
}
