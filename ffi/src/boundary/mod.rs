//! The boundary, at the bottom of the crate: every export runs inside [`catch`] (through
//! `ffi_call` for fallible exports, [`ffi_value`] for the others), reads its arguments through
//! the checked helpers of [`args`] (NULL and impossible lengths are errors, never undefined
//! behaviour of ours), and makes, borrows and frees handles through [`handle`], which ties each
//! opaque handle type to its Rust type.
//!
//! It imports nothing of the crate but the live-object count of the `testing` feature: the
//! result codes, the error type and the per-thread last error are built on top of it.

mod args;
mod handle;

pub(crate) use args::*;
pub(crate) use handle::*;

use std::any::Any;
use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A panic caught at the boundary: its message, when it had one. The payload itself was
/// dropped inside the boundary.
#[derive(Debug)]
pub(crate) struct Panicked {
    /// The panic's message, or `(no message)`.
    pub(crate) message: Cow<'static, str>,
}

impl Panicked {
    fn new(payload: &(dyn Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| Cow::Borrowed(*s))
            .or_else(|| {
                payload
                    .downcast_ref::<String>()
                    .map(|s| Cow::Owned(s.clone()))
            })
            .unwrap_or(Cow::Borrowed("(no message)"));
        Self { message }
    }
}

/// Runs an export body, catching any panic.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    // AssertUnwindSafe: after a panic nothing of the call's state is used again; shared handles
    // only hold immutable data or data behind a mutex whose poisoning is recovered from.
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let panicked = Panicked::new(&*payload);
        // Dropping a payload runs foreign code: keep even that inside the boundary.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        panicked
    })
}

/// Runs an infallible export body (getters, `_free`): returns `fallback` if it panicked.
/// Does not touch the last error.
pub(crate) fn ffi_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch(f).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_caught() {
        #[allow(clippy::panic)]
        let e = catch(|| panic!("boom")).unwrap_err();
        assert_eq!(e.message, "boom");
        let e = catch(|| std::panic::panic_any(String::from("owned boom"))).unwrap_err();
        assert_eq!(e.message, "owned boom");
        let e = catch(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(e.message, "(no message)");
        assert_eq!(
            ffi_value(1, || {
                #[allow(clippy::panic)]
                {
                    panic!("boom")
                }
            }),
            1
        );
        assert_eq!(ffi_value(1, || 2), 2);
    }
}
