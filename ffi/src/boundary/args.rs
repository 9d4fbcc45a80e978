//! Checked arguments and outputs: NULL pointers and impossible lengths become an [`ArgError`]
//! naming the argument, never undefined behaviour of ours.

use core::ffi::{CStr, c_char};

/// What is wrong with an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgProblem {
    /// NULL where a pointer is required.
    Null,
    /// A length over `PTRDIFF_MAX`, or a buffer wrapping around memory.
    Length,
    /// Not valid UTF-8.
    Utf8,
    /// An array pointer not aligned for its elements.
    Unaligned,
}

/// A bad argument: its name and its problem. The crate's error type turns it into a result
/// code and a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArgError {
    /// The argument's name in the C signature (`"kms"`, `"id->group"`, `"names[i]"`).
    pub(crate) name: &'static str,
    /// What is wrong with it.
    pub(crate) problem: ArgProblem,
}

impl ArgError {
    /// `name` is NULL.
    pub(crate) const fn null(name: &'static str) -> Self {
        Self {
            name,
            problem: ArgProblem::Null,
        }
    }

    const fn new(name: &'static str, problem: ArgProblem) -> Self {
        Self { name, problem }
    }
}

/// Shorthand for the results of the helpers below.
pub(crate) type ArgResult<T> = Result<T, ArgError>;

/// The largest length accepted for a buffer (Rust slices cannot be longer).
pub(crate) const MAX_LEN: usize = isize::MAX as usize;

/// Checks a (pointer, length) pair: not NULL, not longer than `PTRDIFF_MAX`, not wrapping.
fn check_buffer<T>(ptr: *const T, len: usize, name: &'static str) -> ArgResult<()> {
    if ptr.is_null() {
        return Err(ArgError::null(name));
    }
    let bytes = len
        .checked_mul(size_of::<T>().max(1))
        .filter(|b| *b <= MAX_LEN)
        .ok_or(ArgError::new(name, ArgProblem::Length))?;
    if (ptr as usize).checked_add(bytes).is_none() {
        return Err(ArgError::new(name, ArgProblem::Length));
    }
    Ok(())
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn arg_str<'a>(ptr: *const c_char, name: &'static str) -> ArgResult<&'a str> {
    if ptr.is_null() {
        return Err(ArgError::null(name));
    }
    // SAFETY: non-NULL, NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str()
        .map_err(|_| ArgError::new(name, ArgProblem::Utf8))
}

/// A NUL-terminated message from a callback (an error text): invalid UTF-8 is replaced, never
/// refused, so the callback's failure is reported rather than a new one.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn arg_message(ptr: *const c_char, name: &'static str) -> ArgResult<String> {
    if ptr.is_null() {
        return Err(ArgError::null(name));
    }
    // SAFETY: non-NULL, NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(ptr) };
    Ok(c.to_string_lossy().into_owned())
}

/// A byte buffer argument of `len` bytes.
///
/// # Safety
/// `ptr` must be NULL or point to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn arg_bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> ArgResult<&'a [u8]> {
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
) -> ArgResult<&'a str> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { arg_bytes(ptr.cast::<u8>(), len, name) }?;
    core::str::from_utf8(bytes).map_err(|_| ArgError::new(name, ArgProblem::Utf8))
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
) -> ArgResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_buffer(ptr, len, name)?;
    if !ptr.is_aligned() {
        return Err(ArgError::new(name, ArgProblem::Unaligned));
    }
    // SAFETY: checked non-NULL, aligned and in range; readable by the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A plain C struct argument the caller owns (`nacoscrypt_config_id`, the options structs, …):
/// `Copy` data, never a handle (handles go through [`arg_ref`](super::arg_ref)).
///
/// # Safety
/// `ptr` must be NULL or point to a valid `T` that outlives `'a`.
pub(crate) unsafe fn arg_struct<'a, T: Copy>(
    ptr: *const T,
    name: &'static str,
) -> ArgResult<&'a T> {
    // SAFETY: valid by the caller's contract.
    unsafe { ptr.as_ref() }.ok_or(ArgError::null(name))
}

/// Checks that a required output pointer is not NULL (before any work is done).
pub(crate) fn check_out<T>(ptr: *mut T, name: &'static str) -> ArgResult<()> {
    if ptr.is_null() {
        Err(ArgError::null(name))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn problem<T: core::fmt::Debug>(r: ArgResult<T>) -> ArgProblem {
        r.unwrap_err().problem
    }

    #[test]
    fn pointer_checks() {
        unsafe {
            assert_eq!(problem(arg_str(core::ptr::null(), "x")), ArgProblem::Null);
            assert_eq!(problem(arg_str(c"\xff".as_ptr(), "x")), ArgProblem::Utf8);
            assert_eq!(arg_str(c"ok".as_ptr(), "x").unwrap(), "ok");
            let b = b"abc";
            assert_eq!(arg_bytes(b.as_ptr(), 3, "b").unwrap(), b);
            assert_eq!(
                problem(arg_bytes(core::ptr::null(), 0, "b")),
                ArgProblem::Null
            );
            assert_eq!(
                problem(arg_bytes(b.as_ptr(), usize::MAX, "b")),
                ArgProblem::Length
            );
            assert_eq!(
                problem(arg_bytes(b.as_ptr(), MAX_LEN + 1, "b")),
                ArgProblem::Length
            );
            assert_eq!(
                problem(arg_bytes(usize::MAX as *const u8, 2, "b")),
                ArgProblem::Length
            );
            assert_eq!(
                problem(arg_text(b"a\xffc".as_ptr().cast(), 3, "t")),
                ArgProblem::Utf8
            );
            assert_eq!(arg_text(b"a\0c".as_ptr().cast(), 3, "t").unwrap(), "a\0c");
            let empty: &[u32] = arg_array(core::ptr::null(), 0, "a").unwrap();
            assert!(empty.is_empty());
            assert_eq!(
                problem(arg_array::<u64>(core::ptr::null(), 2, "a")),
                ArgProblem::Null
            );
            let words = [1_u64, 2];
            assert_eq!(
                problem(arg_array(words.as_ptr(), usize::MAX / 4, "a")),
                ArgProblem::Length
            );
            assert_eq!(
                problem(arg_array(
                    words.as_ptr().cast::<u8>().add(1).cast::<u64>(),
                    1,
                    "a"
                )),
                ArgProblem::Unaligned
            );
            assert_eq!(
                problem(arg_struct::<u8>(core::ptr::null(), "s")),
                ArgProblem::Null
            );
            assert_eq!(*arg_struct(&7_u8, "s").unwrap(), 7);
            assert_eq!(
                check_out::<u8>(core::ptr::null_mut(), "o"),
                Err(ArgError::null("o"))
            );
        }
    }
}
