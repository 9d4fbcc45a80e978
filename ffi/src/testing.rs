//! Test-only exports (feature `testing`): never in installed builds.

use crate::error::ffi_call;
use crate::result::nacoscrypt_result;

/// Panics inside the library on purpose and returns what the boundary made of it:
/// `NACOSCRYPT_RESULT_PANIC`, with the panic's message as the last error. Built only with the
/// `testing` feature, for the test suites.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_test_panic() -> nacoscrypt_result {
    ffi_call(|| {
        #[allow(clippy::panic)]
        {
            panic!("nacoscrypt_test_panic: a forced panic")
        }
    })
}

/// The number of library strings and handles allocated and not freed yet, in the whole
/// process (a leak check for the test suites). Built only with the `testing` feature.
#[unsafe(no_mangle)]
pub extern "C" fn nacoscrypt_test_live_objects() -> isize {
    crate::live::objects()
}
