//! The count of library strings and handles currently allocated (feature `testing`): the
//! bottom of the crate, below the boundary, read by `nacoscrypt_test_live_objects()`.

use std::sync::atomic::{AtomicIsize, Ordering};

/// Library strings and handles currently allocated.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Counts an allocation (+1) or a release (-1) of a library string or handle.
pub(crate) fn count(delta: isize) {
    LIVE.fetch_add(delta, Ordering::Relaxed);
}

/// The number of library strings and handles allocated and not freed yet.
pub(crate) fn objects() -> isize {
    LIVE.load(Ordering::Relaxed)
}
