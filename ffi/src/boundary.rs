//! The boundary: every export runs inside [`ffi_call`] / [`ffi_value`], which catch panics, and
//! reads its arguments through the checked helpers below (NULL and impossible lengths are
//! errors, never undefined behaviour of ours).

use crate::error::{FfiError, FfiResult, clear_last_error, store_last_error};
use crate::result::nacoscrypt_result;
use core::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs a fallible export body: clears the thread's last error, catches any panic
/// (`NACOSCRYPT_RESULT_PANIC`), and records the error of a failure.
pub(crate) fn ffi_call(f: impl FnOnce() -> FfiResult) -> nacoscrypt_result {
    clear_last_error();
    // AssertUnwindSafe: after a panic nothing of the call's state is used again; shared handles
    // only hold immutable data or data behind a mutex whose poisoning is recovered from.
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => nacoscrypt_result::Ok,
        Ok(Err(e)) => store_last_error(e),
        Err(payload) => {
            let error = FfiError::panic(&*payload);
            // Dropping a payload runs foreign code: keep even that inside the boundary.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            store_last_error(error)
        }
    }
}

/// Runs an infallible export body (getters, `_free`): returns `fallback` if it panicked.
/// Does not touch the last error.
pub(crate) fn ffi_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            fallback
        }
    }
}

/// The largest length accepted for a buffer (Rust slices cannot be longer).
pub(crate) const MAX_LEN: usize = isize::MAX as usize;

/// Checks a (pointer, length) pair: not NULL, not longer than `PTRDIFF_MAX`, not wrapping.
fn check_buffer<T>(ptr: *const T, len: usize, name: &'static str) -> FfiResult {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    let bytes = len
        .checked_mul(size_of::<T>().max(1))
        .filter(|b| *b <= MAX_LEN)
        .ok_or(FfiError::length(name))?;
    if (ptr as usize).checked_add(bytes).is_none() {
        return Err(FfiError::length(name));
    }
    Ok(())
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, name: &'static str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: non-NULL, NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str().map_err(|_| FfiError::utf8(name))
}

/// A byte buffer argument of `len` bytes.
///
/// # Safety
/// `ptr` must be NULL or point to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn arg_bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> FfiResult<&'a [u8]> {
    check_buffer(ptr, len, name)?;
    // SAFETY: checked non-NULL and in range; readable by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A UTF-8 text argument of `len` bytes (not NUL-terminated; NUL bytes allowed).
///
/// # Safety
/// As [`arg_bytes`].
pub(crate) unsafe fn arg_text<'a>(
    ptr: *const c_char,
    len: usize,
    name: &'static str,
) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { arg_bytes(ptr.cast::<u8>(), len, name) }?;
    core::str::from_utf8(bytes).map_err(|_| FfiError::utf8(name))
}

/// An array argument of `len` elements.
///
/// # Safety
/// `ptr` must be NULL or point to `len` readable elements that outlive `'a`. `len == 0`
/// accepts a NULL `ptr` (an empty array).
pub(crate) unsafe fn arg_array<'a, T>(
    ptr: *const T,
    len: usize,
    name: &'static str,
) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_buffer(ptr, len, name)?;
    if !ptr.is_aligned() {
        return Err(FfiError::invalid(name, "is not aligned"));
    }
    // SAFETY: checked non-NULL, aligned and in range; readable by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A handle argument.
///
/// # Safety
/// `ptr` must be NULL or a live handle of type `T` made by this library.
pub(crate) unsafe fn arg_ref<'a, T>(ptr: *const T, name: &'static str) -> FfiResult<&'a T> {
    // SAFETY: a live handle by the caller's contract.
    unsafe { ptr.as_ref() }.ok_or(FfiError::null(name))
}

/// Checks that a required output pointer is not NULL (before any work is done).
pub(crate) fn check_out<T>(ptr: *mut T, name: &'static str) -> FfiResult {
    if ptr.is_null() {
        Err(FfiError::null(name))
    } else {
        Ok(())
    }
}

/// Writes a required output, already checked by [`check_out`].
///
/// # Safety
/// `ptr` must be non-NULL, aligned and writable.
pub(crate) unsafe fn out<T>(ptr: *mut T, value: T) {
    // SAFETY: by the caller's contract. `write` does not drop the (uninitialised) old value.
    unsafe { ptr.write(value) }
}

/// Writes an optional output: nothing if `ptr` is NULL.
///
/// # Safety
/// `ptr` must be NULL or aligned and writable.
pub(crate) unsafe fn out_opt<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: by the caller's contract.
        unsafe { ptr.write(value) }
    }
}

/// Moves `value` to the heap as a handle for C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    #[cfg(feature = "testing")]
    crate::testing::count_live(1);
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`into_handle`]; NULL is accepted and ignored.
///
/// # Safety
/// `ptr` must be NULL or a live handle of type `T` made by [`into_handle`], not used after.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    ffi_value((), || {
        if !ptr.is_null() {
            // SAFETY: made by `Box::into_raw` in `into_handle`, freed once by contract.
            drop(unsafe { Box::from_raw(ptr) });
            #[cfg(feature = "testing")]
            crate::testing::count_live(-1);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::nacoscrypt_last_error_code;

    #[test]
    fn panics_are_caught_and_reported() {
        let r = ffi_call(|| {
            #[allow(clippy::panic)]
            {
                panic!("boom")
            }
        });
        assert_eq!(r, nacoscrypt_result::Panic);
        assert_eq!(nacoscrypt_last_error_code(), nacoscrypt_result::Panic);
        let r = ffi_call(|| std::panic::panic_any(String::from("owned boom")));
        assert_eq!(r, nacoscrypt_result::Panic);
        let r = ffi_call(|| std::panic::panic_any(7_u8));
        assert_eq!(r, nacoscrypt_result::Panic);
        assert_eq!(
            ffi_value(1, || {
                #[allow(clippy::panic)]
                {
                    panic!("boom")
                }
            }),
            1
        );
    }

    #[test]
    fn pointer_checks() {
        unsafe {
            assert_eq!(
                arg_str(core::ptr::null(), "x").unwrap_err().code(),
                nacoscrypt_result::NullPointer
            );
            assert_eq!(
                arg_str(c"\xff".as_ptr(), "x").unwrap_err().code(),
                nacoscrypt_result::InvalidUtf8Input
            );
            assert_eq!(arg_str(c"ok".as_ptr(), "x").unwrap(), "ok");
            let b = b"abc";
            assert_eq!(arg_bytes(b.as_ptr(), 3, "b").unwrap(), b);
            assert_eq!(
                arg_bytes(core::ptr::null(), 0, "b").unwrap_err().code(),
                nacoscrypt_result::NullPointer
            );
            assert_eq!(
                arg_bytes(b.as_ptr(), usize::MAX, "b").unwrap_err().code(),
                nacoscrypt_result::InvalidLength
            );
            assert_eq!(
                arg_bytes(b.as_ptr(), MAX_LEN + 1, "b").unwrap_err().code(),
                nacoscrypt_result::InvalidLength
            );
            assert_eq!(
                arg_bytes(usize::MAX as *const u8, 2, "b")
                    .unwrap_err()
                    .code(),
                nacoscrypt_result::InvalidLength
            );
            assert_eq!(
                arg_text(b"a\xffc".as_ptr().cast(), 3, "t")
                    .unwrap_err()
                    .code(),
                nacoscrypt_result::InvalidUtf8Input
            );
            assert_eq!(arg_text(b"a\0c".as_ptr().cast(), 3, "t").unwrap(), "a\0c");
            let empty: &[u32] = arg_array(core::ptr::null(), 0, "a").unwrap();
            assert!(empty.is_empty());
            assert_eq!(
                arg_array::<u64>(core::ptr::null(), 2, "a")
                    .unwrap_err()
                    .code(),
                nacoscrypt_result::NullPointer
            );
            let words = [1_u64, 2];
            assert_eq!(
                arg_array(words.as_ptr(), usize::MAX / 4, "a")
                    .unwrap_err()
                    .code(),
                nacoscrypt_result::InvalidLength
            );
            assert_eq!(
                arg_ref::<u8>(core::ptr::null(), "h").unwrap_err().code(),
                nacoscrypt_result::NullPointer
            );
            assert!(check_out::<u8>(core::ptr::null_mut(), "o").is_err());
            free_handle::<u8>(core::ptr::null_mut());
            free_handle(into_handle(5_u32));
        }
    }
}
