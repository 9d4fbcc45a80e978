//! Shared by the fuzz targets: the vectors' keyring and a line-based input splitter.
#![allow(dead_code)]

use nacoscrypt_core::kms::Keyring;
use std::sync::OnceLock;

/// The keyring of `core/tests/vectors/config-local-kms.json` (test keys only).
pub const KEYRING: &str = "key alias/nacos-test 52f22665-a60c-42d2-a918-5d950ee88136 CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\nkey alias/nacos-test 248a1e92-4e8f-40ae-ae1a-9492a3305f18 jLYQkA+eNH+uiG3GUHeV7HRcTD/LLrLHPhSTTIZ+4Fc=\nkey alias/other ba72499b-fa12-4e83-ab2a-c15726ee7d6b CvarE8OOksrg0VBXsVmYf5TMdBHXF/FFebKqEA+7s08=\n";

pub fn keyring() -> &'static Keyring {
    static K: OnceLock<Keyring> = OnceLock::new();
    K.get_or_init(|| Keyring::parse(KEYRING).expect("the vectors' keyring parses"))
}

/// Splits UTF-8 input into exactly `N` newline-separated fields (the last takes the rest).
pub fn fields<const N: usize>(data: &[u8]) -> Option<[&str; N]> {
    let text = std::str::from_utf8(data).ok()?;
    let mut out = [""; N];
    let mut rest = text;
    for slot in out.iter_mut().take(N - 1) {
        let (head, tail) = rest.split_once('\n')?;
        *slot = head;
        rest = tail;
    }
    out[N - 1] = rest;
    Some(out)
}
