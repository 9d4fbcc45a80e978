//! `FromStr` of the enums the bindings parse from strings: every spelling a binding accepts
//! today parses to the same value, and nothing else does (the case rules included).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::str::FromStr;
use nacoscrypt_core::ErrorKind;
use nacoscrypt_core::config::Format;
use nacoscrypt_core::kms::KeySpec;
use nacoscrypt_core::token::Algorithm;

/// `accepted` parse to their values (and agree with the enum's `parse`, if any); `refused` fail
/// with `InvalidArgument` and a message naming `names`.
fn check<T>(accepted: &[(&str, T)], refused: &[&str], names: &[&str])
where
    T: FromStr<Err = nacoscrypt_core::Error> + PartialEq + core::fmt::Debug + Copy,
{
    for (text, value) in accepted {
        assert_eq!(text.parse::<T>().unwrap(), *value, "{text}");
    }
    for text in refused {
        let err = text.parse::<T>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{text}");
        let message = err.to_string();
        for name in names {
            assert!(message.contains(&format!("\"{name}\"")), "{message}");
        }
    }
}

/// Python `encrypt(format=…)` (via `Format::parse`) and the CLI's `--format` (clap, case
/// sensitive): `nacos`, `v1`.
#[test]
fn format() {
    check(
        &[("nacos", Format::Nacos), ("v1", Format::V1)],
        &["", "Nacos", "NACOS", "V1", " v1", "v1 ", "v2", "aes"],
        &["nacos", "v1"],
    );
    for f in [Format::Nacos, Format::V1] {
        assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
        assert_eq!(Format::parse(f.as_str()), Some(f));
    }
}

/// The C ABI's `nacoscrypt_kms_*` spec strings and Python's `generate_data_key(spec=…)` (both
/// via `KeySpec::parse`): `AES_256`, `AES_128`.
#[test]
fn key_spec() {
    check(
        &[("AES_256", KeySpec::Aes256), ("AES_128", KeySpec::Aes128)],
        &[
            "", "aes_256", "Aes_256", "AES-256", "AES256", "AES_192", " AES_128",
        ],
        &["AES_256", "AES_128"],
    );
    for s in [KeySpec::Aes128, KeySpec::Aes256] {
        assert_eq!(s.to_string().parse::<KeySpec>().unwrap(), s);
        assert_eq!(KeySpec::parse(s.as_str()), Some(s));
    }
}

/// No binding parses an algorithm today; the names are the token header's.
#[test]
fn algorithm() {
    check(
        &[
            ("HS256", Algorithm::Hs256),
            ("HS384", Algorithm::Hs384),
            ("HS512", Algorithm::Hs512),
        ],
        &["", "hs256", "Hs256", "HS-256", "RS256", "none"],
        &["HS256", "HS384", "HS512"],
    );
    for a in Algorithm::ALL {
        assert_eq!(a.to_string().parse::<Algorithm>().unwrap(), a);
    }
}
