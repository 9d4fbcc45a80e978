//! Errors at the boundary and the per-thread detail of the last failure, and [`ffi_call`],
//! which runs a fallible export inside the boundary and records its error.

use crate::boundary::{ArgError, ArgProblem, Panicked, catch, ffi_value, out_opt};
use crate::result::nacoscrypt_result;
use core::ffi::{CStr, c_char, c_int};
use core::fmt;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};

/// What went wrong in a call: its result code and the detail behind it.
#[derive(Debug)]
pub(crate) struct FfiError {
    code: nacoscrypt_result,
    detail: Detail,
}

#[derive(Debug)]
enum Detail {
    /// An error of the core: its `Display` text, formatted only when asked for.
    Core(nacoscrypt_core::Error),
    /// A problem with an argument, named.
    Arg {
        name: &'static str,
        problem: &'static str,
    },
    /// Any other text.
    Text(Cow<'static, str>),
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Core(e) => fmt::Display::fmt(e, f),
            Self::Arg { name, problem } => write!(f, "argument `{name}` {problem}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

impl FfiError {
    /// `name` is NULL.
    pub(crate) const fn null(name: &'static str) -> Self {
        Self::arg(nacoscrypt_result::NullPointer, name, "is NULL")
    }

    /// `name`'s length is impossible.
    pub(crate) const fn length(name: &'static str) -> Self {
        Self::arg(
            nacoscrypt_result::InvalidLength,
            name,
            "has an impossible length (over PTRDIFF_MAX or wrapping around memory)",
        )
    }

    /// `name` is not UTF-8.
    pub(crate) const fn utf8(name: &'static str) -> Self {
        Self::arg(
            nacoscrypt_result::InvalidUtf8Input,
            name,
            "is not valid UTF-8",
        )
    }

    /// `name` is out of its domain because of `problem` (a phrase after the argument's name).
    pub(crate) const fn invalid(name: &'static str, problem: &'static str) -> Self {
        Self::arg(nacoscrypt_result::InvalidArgument, name, problem)
    }

    const fn arg(code: nacoscrypt_result, name: &'static str, problem: &'static str) -> Self {
        Self {
            code,
            detail: Detail::Arg { name, problem },
        }
    }

    /// An error with a code and a text.
    pub(crate) fn text(code: nacoscrypt_result, text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            detail: Detail::Text(text.into()),
        }
    }

    /// A caught panic, with its message when it has one.
    fn panic(panicked: &Panicked) -> Self {
        Self::text(
            nacoscrypt_result::Panic,
            format!(
                "the library panicked (caught at the boundary; please report it): {}",
                panicked.message
            ),
        )
    }

    /// The result code.
    pub(crate) const fn code(&self) -> nacoscrypt_result {
        self.code
    }
}

impl From<nacoscrypt_core::Error> for FfiError {
    fn from(e: nacoscrypt_core::Error) -> Self {
        Self {
            code: nacoscrypt_result::from_kind(e.kind()),
            detail: Detail::Core(e),
        }
    }
}

impl From<ArgError> for FfiError {
    fn from(e: ArgError) -> Self {
        match e.problem {
            ArgProblem::Null => Self::null(e.name),
            ArgProblem::Length => Self::length(e.name),
            ArgProblem::Utf8 => Self::utf8(e.name),
            ArgProblem::Unaligned => Self::invalid(e.name, "is not aligned"),
        }
    }
}

/// Shorthand for results at the boundary.
pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

/// The last failure on a thread.
struct LastError {
    error: FfiError,
    /// A KMS callback's own code (0 when the failure did not come from a callback).
    kms_code: c_int,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
    /// Set by the callback KMS when a callback fails, read when the call's error is stored.
    static PENDING_KMS_CODE: Cell<c_int> = const { Cell::new(0) };
}

/// Runs a fallible export body: clears the thread's last error, catches any panic
/// (`NACOSCRYPT_RESULT_PANIC`), and records the error of a failure.
pub(crate) fn ffi_call(f: impl FnOnce() -> FfiResult) -> nacoscrypt_result {
    clear_last_error();
    match catch(f) {
        Ok(Ok(())) => nacoscrypt_result::Ok,
        Ok(Err(e)) => store_last_error(e),
        Err(panicked) => store_last_error(FfiError::panic(&panicked)),
    }
}

/// Forgets the last error of this thread (on entry of every fallible function).
fn clear_last_error() {
    let _ = PENDING_KMS_CODE.try_with(|c| c.set(0));
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut()
            && l.is_some()
        {
            *l = None;
        }
    });
}

/// Records `error` as this thread's last error and returns its code.
fn store_last_error(error: FfiError) -> nacoscrypt_result {
    let code = error.code();
    let kms_code = PENDING_KMS_CODE
        .try_with(|c| c.replace(0))
        .unwrap_or_default();
    let kms_code = if code == nacoscrypt_result::Kms {
        kms_code
    } else {
        0
    };
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = Some(LastError { error, kms_code });
        }
    });
    code
}

/// Remembers a failing KMS callback's code for the error the current call will store.
pub(crate) fn set_pending_kms_code(code: c_int) {
    let _ = PENDING_KMS_CODE.try_with(|c| c.set(code));
}

/// Applies `f` to this thread's last error, if there is one.
fn last_error<T>(f: impl FnOnce(&LastError) -> T) -> Option<T> {
    LAST_ERROR
        .try_with(|l| l.try_borrow().ok().and_then(|l| l.as_ref().map(f)))
        .ok()
        .flatten()
}

/// The result code of the last failed call on the calling thread, or `NACOSCRYPT_RESULT_OK`
/// if the last fallible call succeeded (every fallible function clears it on entry).
///
/// Thread safety: the detail is per thread; safe from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_last_error_code() -> nacoscrypt_result {
    ffi_value(nacoscrypt_result::Ok, || {
        last_error(|l| l.error.code()).unwrap_or(nacoscrypt_result::Ok)
    })
}

/// Copies the detail of the last failure on the calling thread (the core's message, for
/// example `keyring line 3: duplicate version id`, or for a KMS callback its code and its
/// message) into `buf` as NUL-terminated UTF-8. An empty string if the last call succeeded.
///
/// - `buf` may be NULL only if `len` is 0 (to ask for the size).
/// - `out_n` (may be NULL) receives the full length of the message in bytes, without the NUL.
///
/// Returns `NACOSCRYPT_RESULT_OK`, or `NACOSCRYPT_RESULT_BUFFER_TOO_SMALL` if `len` is not at
/// least `*out_n + 1`: then `buf` (if `len > 0`) holds a NUL-terminated prefix, cut at a
/// character boundary. Does not change the last error. Messages never contain key material or
/// plaintext.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes; `out_n` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> nacoscrypt_result {
    ffi_value(nacoscrypt_result::Panic, || {
        if buf.is_null() && len > 0 {
            return nacoscrypt_result::NullPointer;
        }
        if len > isize::MAX as usize {
            return nacoscrypt_result::InvalidLength;
        }
        let message = last_error(|l| l.error.detail.to_string()).unwrap_or_default();
        // SAFETY: the caller passes NULL or a writable `size_t`.
        unsafe { out_opt(out_n, message.len()) };
        let fits = message.len() < len;
        if len > 0 {
            let mut n = message.len().min(len - 1);
            while !message.is_char_boundary(n) {
                n -= 1;
            }
            // SAFETY: `buf` holds `len` writable bytes and `n < len`.
            unsafe {
                core::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), n);
                buf.add(n).write(0);
            }
        }
        if fits {
            nacoscrypt_result::Ok
        } else {
            nacoscrypt_result::BufferTooSmall
        }
    })
}

/// The code a KMS callback returned when the last failure on the calling thread came from it
/// (the last call returned `NACOSCRYPT_RESULT_KMS`); 0 otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_last_kms_error_code() -> c_int {
    ffi_value(0, || last_error(|l| l.kms_code).unwrap_or(0))
}

/// The exact Nacos server message for the last failure on the calling thread if it was a
/// token verification error (`user not found!` for a blank token, `token invalid!`,
/// `Invalid signature`, `token expired!`, …); NULL otherwise. Static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_last_error_nacos_message() -> *const c_char {
    ffi_value(core::ptr::null(), || {
        last_error(|l| match &l.error.detail {
            Detail::Core(e) => e.nacos_message_cstr(),
            _ => None,
        })
        .flatten()
        .map_or(core::ptr::null(), CStr::as_ptr)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nacoscrypt_core::Error;
    use nacoscrypt_core::error::Malformed;

    fn message() -> String {
        let mut buf = [0 as c_char; 256];
        let mut n = 0;
        let r = unsafe { nacoscrypt_last_error_message(buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(r, nacoscrypt_result::Ok);
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(s.len(), n);
        s.to_owned()
    }

    #[test]
    fn last_error_is_per_call_and_per_thread() {
        let r = ffi_call(|| Err(Error::DuplicateKeyVersion { line: 3 }.into()));
        assert_eq!(r, nacoscrypt_result::DuplicateKeyVersion);
        assert_eq!(nacoscrypt_last_error_code(), r);
        assert_eq!(message(), "keyring line 3: duplicate version id");
        std::thread::spawn(|| assert_eq!(nacoscrypt_last_error_code(), nacoscrypt_result::Ok))
            .join()
            .unwrap();
        assert_eq!(ffi_call(|| Ok(())), nacoscrypt_result::Ok);
        assert_eq!(nacoscrypt_last_error_code(), nacoscrypt_result::Ok);
        assert_eq!(message(), "");
    }

    #[test]
    fn message_truncates_at_a_character_boundary() {
        let _ = ffi_call(|| Err(FfiError::text(nacoscrypt_result::Io, "ab\u{e9}cd")));
        let mut n = 0;
        let r = unsafe { nacoscrypt_last_error_message(core::ptr::null_mut(), 0, &mut n) };
        assert_eq!((r, n), (nacoscrypt_result::BufferTooSmall, 6));
        let mut buf = [1 as c_char; 4];
        let r = unsafe { nacoscrypt_last_error_message(buf.as_mut_ptr(), 4, &mut n) };
        assert_eq!(r, nacoscrypt_result::BufferTooSmall);
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes(), b"ab");
        let r = unsafe { nacoscrypt_last_error_message(core::ptr::null_mut(), 3, &mut n) };
        assert_eq!(r, nacoscrypt_result::NullPointer);
    }

    #[test]
    fn kms_code_and_nacos_message() {
        let r = ffi_call(|| {
            set_pending_kms_code(42);
            Err(Error::kms("quota").into())
        });
        assert_eq!(r, nacoscrypt_result::Kms);
        assert_eq!(nacoscrypt_last_kms_error_code(), 42);
        assert!(nacoscrypt_last_error_nacos_message().is_null());
        let _ = ffi_call(|| Err(Error::MalformedToken(Malformed::Blank).into()));
        assert_eq!(nacoscrypt_last_kms_error_code(), 0);
        let m = unsafe { CStr::from_ptr(nacoscrypt_last_error_nacos_message()) };
        assert_eq!(m.to_str().unwrap(), "user not found!");
        for e in [
            Error::TokenExpired,
            Error::InvalidSignature,
            Error::UnsupportedAlgorithm,
        ] {
            let want = e.nacos_message();
            let _ = ffi_call(|| Err(e.into()));
            let m = unsafe { CStr::from_ptr(nacoscrypt_last_error_nacos_message()) };
            assert_eq!(m.to_str().ok(), want);
        }
    }

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
        assert_eq!(
            message(),
            "the library panicked (caught at the boundary; please report it): boom"
        );
        let r = ffi_call(|| std::panic::panic_any(String::from("owned boom")));
        assert_eq!(r, nacoscrypt_result::Panic);
        let r = ffi_call(|| std::panic::panic_any(7_u8));
        assert_eq!(r, nacoscrypt_result::Panic);
    }

    #[test]
    fn argument_errors_have_their_codes() {
        let cases = [
            (ArgProblem::Null, nacoscrypt_result::NullPointer, "is NULL"),
            (
                ArgProblem::Length,
                nacoscrypt_result::InvalidLength,
                "has an impossible length",
            ),
            (
                ArgProblem::Utf8,
                nacoscrypt_result::InvalidUtf8Input,
                "is not valid UTF-8",
            ),
            (
                ArgProblem::Unaligned,
                nacoscrypt_result::InvalidArgument,
                "is not aligned",
            ),
        ];
        for (problem, code, text) in cases {
            let r = ffi_call(|| Err(ArgError { name: "x", problem }.into()));
            assert_eq!(r, code);
            assert!(message().starts_with(&format!("argument `x` {text}")));
        }
    }
}
