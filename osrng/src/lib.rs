//! The operating system's randomness, fast for the small draws of envelope encryption.
//!
//! A nonce (12 bytes) or a data key (16 or 32 bytes) drawn with one `getrandom(2)` call each
//! costs a system call, which on a virtual machine is most of the time of encrypting a small
//! config. [`fill`] hands out bytes from a per-thread buffer instead, filled by `getrandom` in
//! one call per kilobyte, so every byte still comes from the operating system, and:
//!
//! - **fork-safe by the kernel**: the buffer lives in its own page marked `MADV_WIPEONFORK`, so a
//!   forked child sees it empty (zeroed) and refills it from the OS: parent and child never hand
//!   out the same bytes, whatever called `fork` (no `pthread_atfork` handler to bypass);
//! - **each byte once**: bytes are zeroed in the buffer as they are handed out, and the page is
//!   wiped and unmapped when the thread exits; it is also kept out of core dumps
//!   (`MADV_DONTDUMP`);
//! - **per thread**: no lock, no shared counter, so threads scale.
//!
//! Where the page cannot be set up (not Linux, a kernel before 4.14, Miri, no `std` feature) or
//! for draws over [`MAX_BUFFERED`] bytes, [`fill`] is exactly `getrandom::fill`.
//!
//! ```
//! let mut nonce = [0u8; 12];
//! nacoscrypt_osrng::fill(&mut nonce)?;
//! let mut key = [0u8; 32];
//! nacoscrypt_osrng::fill(&mut key)?;
//! assert_ne!(&key[..12], &nonce[..]);
//! # Ok::<(), getrandom::Error>(())
//! ```
#![no_std]
// The page is set up with mmap/madvise and read through a raw pointer (module `pool`).
#![allow(unsafe_code)]

#[cfg(all(feature = "std", target_os = "linux", not(miri)))]
extern crate std;

/// The error of the operating system's RNG (re-exported from `getrandom`).
pub use getrandom::Error;

/// Draws of at most this many bytes come from the per-thread buffer; larger ones are one
/// `getrandom` call of their own.
pub const MAX_BUFFERED: usize = 64;

/// Fills `dest` with random bytes from the operating system (see the crate documentation for
/// the per-thread buffer small draws come from).
///
/// # Errors
/// The operating system's RNG failed (`getrandom`'s error).
///
/// ```
/// let mut a = [0u8; 16];
/// let mut b = [0u8; 16];
/// nacoscrypt_osrng::fill(&mut a)?;
/// nacoscrypt_osrng::fill(&mut b)?;
/// assert_ne!(a, b);
/// # Ok::<(), getrandom::Error>(())
/// ```
#[inline]
pub fn fill(dest: &mut [u8]) -> Result<(), Error> {
    #[cfg(all(feature = "std", target_os = "linux", not(miri)))]
    if dest.len() <= MAX_BUFFERED
        && let Some(result) = pool::fill(dest)
    {
        return result;
    }
    getrandom::fill(dest)
}

/// Whether this thread's draws come from the fork-wiped buffer (false where it is unavailable:
/// see the crate documentation). For diagnostics and tests; [`fill`] is correct either way.
///
/// ```
/// let buffered = nacoscrypt_osrng::buffered();
/// # let _ = buffered;
/// ```
pub fn buffered() -> bool {
    #[cfg(all(feature = "std", target_os = "linux", not(miri)))]
    {
        let mut probe = [0u8; 1];
        pool::fill(&mut probe).is_some_and(|r| r.is_ok())
    }
    #[cfg(not(all(feature = "std", target_os = "linux", not(miri))))]
    {
        false
    }
}

#[cfg(all(feature = "std", target_os = "linux", not(miri)))]
mod pool {
    use core::cell::RefCell;
    use core::ptr::NonNull;
    use zeroize::Zeroize;

    /// Bytes drawn from the OS per refill: one system call per 1 KiB (about 85 nonces).
    const BUFFER: usize = 1024;

    /// The page's contents. All zero is a valid, empty state: what a forked child sees.
    #[repr(C)]
    struct Page {
        /// Unread bytes, at the end of `bytes`.
        available: usize,
        bytes: [u8; BUFFER],
    }

    /// The length mapped: whole pages.
    const MAP_LEN: usize = size_of::<Page>().next_multiple_of(4096);

    /// One thread's page, wiped and unmapped on drop (thread exit).
    struct Pool {
        page: NonNull<Page>,
    }

    impl Pool {
        /// Maps a private anonymous page marked wipe-on-fork (and no-dump); None where the
        /// kernel refuses (before Linux 4.14).
        fn new() -> Option<Self> {
            // SAFETY: an anonymous private mapping; no existing memory is touched.
            let ptr = unsafe {
                libc::mmap(
                    core::ptr::null_mut(),
                    MAP_LEN,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if ptr == libc::MAP_FAILED {
                return None;
            }
            // SAFETY: `ptr` is the page-aligned mapping of MAP_LEN bytes made above.
            let wiped = unsafe { libc::madvise(ptr, MAP_LEN, libc::MADV_WIPEONFORK) } == 0;
            if !wiped {
                // SAFETY: unmapping the mapping made above, never used.
                unsafe { libc::munmap(ptr, MAP_LEN) };
                return None;
            }
            // Best effort: keep the unread bytes out of core dumps.
            // SAFETY: as above.
            let _ = unsafe { libc::madvise(ptr, MAP_LEN, libc::MADV_DONTDUMP) };
            // A fresh anonymous mapping is zeroed: `available == 0`, the empty state.
            NonNull::new(ptr.cast::<Page>()).map(|page| Self { page })
        }

        /// Copies `dest.len()` (≤ BUFFER) unread bytes out, refilling from the OS first when
        /// too few are left; the bytes handed out are zeroed in the page.
        fn fill(&mut self, dest: &mut [u8]) -> Result<(), getrandom::Error> {
            // SAFETY: the page is mapped read-write for the life of `self`, aligned for `Page`
            // (page-aligned), every bit pattern of it is a valid `Page`, and only this thread
            // reaches it (`&mut self`, thread-local).
            let page = unsafe { &mut *self.page.as_ptr() };
            if page.available < dest.len() || page.available > BUFFER {
                page.available = 0;
                getrandom::fill(&mut page.bytes)?;
                page.available = BUFFER;
            }
            let start = BUFFER - page.available;
            let taken = &mut page.bytes[start..start + dest.len()];
            dest.copy_from_slice(taken);
            taken.zeroize();
            page.available -= dest.len();
            Ok(())
        }
    }

    impl Drop for Pool {
        fn drop(&mut self) {
            // SAFETY: as in `fill`; the mapping is not used after this.
            unsafe {
                (*self.page.as_ptr()).bytes.zeroize();
                libc::munmap(self.page.as_ptr().cast(), MAP_LEN);
            }
        }
    }

    /// This thread's pool: not yet made, made, or unavailable (the kernel refused).
    enum State {
        Unset,
        Ready(Pool),
        Unavailable,
    }

    std::thread_local! {
        static POOL: RefCell<State> = const { RefCell::new(State::Unset) };
    }

    /// `Some` when the draw came from this thread's pool; `None` to fall back to `getrandom`
    /// (no pool on this kernel, the thread exiting, or a re-entrant call from a signal handler).
    pub(crate) fn fill(dest: &mut [u8]) -> Option<Result<(), getrandom::Error>> {
        POOL.try_with(|cell| {
            let mut state = cell.try_borrow_mut().ok()?;
            if let State::Unset = *state {
                *state = Pool::new().map_or(State::Unavailable, State::Ready);
            }
            match &mut *state {
                State::Ready(pool) => Some(pool.fill(dest)),
                _ => None,
            }
        })
        .ok()
        .flatten()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_are_not_zero() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let mut n = [0u8; 12];
            fill(&mut n).unwrap();
            assert!(seen.insert(n), "a nonce repeated");
        }
        assert!(!seen.contains(&[0u8; 12]));
    }

    #[test]
    fn every_size_up_to_and_past_the_buffer() {
        for len in [0, 1, 11, 12, 16, 32, 63, 64, 65, 1000, 1024, 1025, 5000] {
            let mut v = std::vec![0u8; len];
            fill(&mut v).unwrap();
            if len >= 16 {
                assert!(v.iter().any(|&b| b != 0), "{len} bytes all zero");
            }
        }
    }

    #[test]
    fn threads_draw_from_their_own_buffers() {
        let handles: std::vec::Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..2000)
                        .map(|_| {
                            let mut n = [0u8; 16];
                            fill(&mut n).unwrap();
                            n
                        })
                        .collect::<std::vec::Vec<_>>()
                })
            })
            .collect();
        let mut all = std::collections::HashSet::new();
        for h in handles {
            for n in h.join().unwrap() {
                assert!(all.insert(n), "two threads drew the same bytes");
            }
        }
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn buffered_on_linux() {
        assert!(buffered(), "MADV_WIPEONFORK refused: kernel before 4.14?");
    }
}
