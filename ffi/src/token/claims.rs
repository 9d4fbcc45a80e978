//! The claims a verification gives back to C: the subject and the expiry, each into an output
//! the caller may leave NULL (shared by the token manager's and the token cache's verify).

use crate::boundary::out_opt;
use crate::error::FfiResult;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::token::Claims;

/// The optional outputs of a verification.
pub(super) struct ClaimsOut {
    subject: *mut *mut c_char,
    subject_len: *mut usize,
    exp: *mut i64,
}

impl ClaimsOut {
    /// The outputs `subject_out`, `subject_len_out` and `exp_out` of a verify function.
    pub(super) fn new(subject: *mut *mut c_char, subject_len: *mut usize, exp: *mut i64) -> Self {
        Self {
            subject,
            subject_len,
            exp,
        }
    }

    /// Writes the claims to the outputs the caller asked for.
    ///
    /// # Safety
    /// Each pointer NULL or writable.
    pub(super) unsafe fn write(self, claims: &Claims) -> FfiResult {
        if !self.subject.is_null() {
            let target = StringOut::new(self.subject, self.subject_len, "subject_out")?;
            // SAFETY: forwarded contract.
            unsafe { target.write(claims.sub.as_bytes()) }?;
        } else {
            // SAFETY: forwarded contract.
            unsafe { out_opt(self.subject_len, claims.sub.len()) };
        }
        // SAFETY: forwarded contract.
        unsafe { out_opt(self.exp, claims.exp) };
        Ok(())
    }
}
