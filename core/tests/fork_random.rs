//! After a fork, parent and child never produce the same `v1` nonce or data key, though the
//! child inherits the parent's warmed-up randomness buffer (issue 18: small draws come from a
//! per-thread buffer of OS bytes, which the kernel wipes in the child). One test in its own
//! binary, so the process forks while no other test thread runs.

#![cfg(all(unix, feature = "std", feature = "getrandom"))]
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::{Context, KeySpec, Keyring, Kms};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;

const KEY: &str = "alias/fork";
const ROUNDS: usize = 300;

/// Every nonce (the first 12 bytes of the `v1` payload) and data key of `ROUNDS` envelopes,
/// plus the data keys of `ROUNDS` direct `generate_data_key` calls, as 12- and 32-byte records.
fn draw(kms: &Keyring) -> (Vec<[u8; 12]>, Vec<[u8; 32]>) {
    let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
    let mut nonces = Vec::new();
    let mut keys = Vec::new();
    for _ in 0..ROUNDS {
        let sealed = config::encrypt(kms, &id, "password=s3cret", KEY, Format::V1).unwrap();
        let payload = sealed.content.strip_prefix("nc1:").unwrap();
        let raw = base64_simd::STANDARD.decode_to_vec(payload).unwrap();
        nonces.push(raw[..12].try_into().unwrap());
        let key = kms
            .generate_data_key(KEY, KeySpec::Aes256, &Context::new())
            .unwrap();
        keys.push(key.plaintext.as_bytes().try_into().unwrap());
    }
    (nonces, keys)
}

fn flatten(nonces: &[[u8; 12]], keys: &[[u8; 32]]) -> Vec<u8> {
    let mut out = nonces.concat();
    out.extend(keys.concat());
    out
}

#[test]
fn parent_and_child_never_share_a_nonce_or_a_data_key() {
    let mut kms = Keyring::new();
    kms.add_new_key(KEY).unwrap();
    // Warm up: the thread's buffer is filled and partly used before the fork.
    let (warm_nonces, warm_keys) = draw(&kms);

    let mut fds = [0; 2];
    // SAFETY: a two-element array for pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child draws, writes to the pipe and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: the pipe's write end, owned by the child.
        let mut out = unsafe { std::fs::File::from_raw_fd(fds[1]) };
        let (n, k) = draw(&kms);
        let ok = out.write_all(&flatten(&n, &k)).is_ok();
        // SAFETY: leaves the child without running the test harness again.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    // SAFETY: the child's write end; closing ours lets read_to_end finish.
    unsafe { libc::close(fds[1]) };
    let (parent_nonces, parent_keys) = draw(&kms);
    let mut child = Vec::new();
    // SAFETY: the pipe's read end, owned here.
    let mut input = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    input.read_to_end(&mut child).unwrap();
    let mut status = 0;
    // SAFETY: the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    assert_eq!(child.len(), ROUNDS * (12 + 32));

    let (child_nonces, child_keys) = child.split_at(ROUNDS * 12);
    let mut nonces: HashSet<[u8; 12]> = warm_nonces.into_iter().collect();
    nonces.extend(parent_nonces);
    assert_eq!(nonces.len(), 2 * ROUNDS, "a nonce repeated in the parent");
    let mut keys: HashSet<[u8; 32]> = warm_keys.into_iter().collect();
    keys.extend(parent_keys);
    assert_eq!(keys.len(), 2 * ROUNDS, "a data key repeated in the parent");
    for n in child_nonces.chunks_exact(12) {
        assert!(
            nonces.insert(n.try_into().unwrap()),
            "parent and child share a nonce"
        );
    }
    for k in child_keys.chunks_exact(32) {
        assert!(
            keys.insert(k.try_into().unwrap()),
            "parent and child share a data key"
        );
    }
}
