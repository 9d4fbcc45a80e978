//! Parent and child of a `fork` never hand out the same bytes, though the child inherits the
//! parent's half-used buffer (the kernel wipes it: MADV_WIPEONFORK). One test in its own binary:
//! the process forks while no other test thread runs.
#![cfg(unix)]
#![allow(unsafe_code, clippy::unwrap_used)]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;

const DRAWS: usize = 500;
const LEN: usize = 12;

fn draws() -> Vec<[u8; LEN]> {
    (0..DRAWS)
        .map(|_| {
            let mut n = [0u8; LEN];
            nacoscrypt_osrng::fill(&mut n).unwrap();
            n
        })
        .collect()
}

#[test]
fn parent_and_child_never_draw_the_same_bytes() {
    // Warm up: the buffer is filled and partly used, so the child inherits unread bytes.
    let mut warm = [0u8; LEN];
    nacoscrypt_osrng::fill(&mut warm).unwrap();

    let mut fds = [0; 2];
    // SAFETY: a valid two-element array for pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only draws, writes to the pipe and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut out = unsafe { std::fs::File::from_raw_fd(fds[1]) };
        let bytes: Vec<u8> = draws().concat();
        let ok = out.write_all(&bytes).is_ok();
        // SAFETY: leaving the child without running the parent's destructors or test harness.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    // SAFETY: the write end belongs to the child; ours is closed so read_to_end ends.
    unsafe { libc::close(fds[1]) };
    let parent = draws();
    let mut child = Vec::new();
    // SAFETY: the read end of the pipe made above, owned here.
    let mut input = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    input.read_to_end(&mut child).unwrap();
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed"
    );
    assert_eq!(child.len(), DRAWS * LEN);

    let parent: HashSet<[u8; LEN]> = parent.into_iter().collect();
    for draw in child.chunks_exact(LEN) {
        let draw: [u8; LEN] = draw.try_into().unwrap();
        assert!(
            !parent.contains(&draw),
            "the child drew bytes the parent drew"
        );
        assert_ne!(draw, warm);
    }
}
