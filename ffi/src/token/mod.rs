//! Nacos access tokens (SPEC 3), one file per concern as in the core's `token` module: secret
//! keys, issued access tokens, the token manager (issue, verify, rotation), the claims a
//! verification returns, the token cache, the server identity check, the login JSON, refresh
//! timing and auth settings; the client's token keeper and revocation by user.

// Declared in the order of the header's sections, which cbindgen follows (the blank lines keep
// rustfmt from sorting them).
mod secret;

mod access_token;

mod manager;

mod claims;

mod cache;

mod identity;

mod login;

mod keeper;

mod revocation;

mod refresh;

mod settings;

mod audit;

pub use access_token::*;
pub use audit::*;
pub use cache::*;
pub use identity::*;
pub use keeper::*;
pub use login::*;
pub use manager::*;
pub use refresh::*;
pub use revocation::*;
pub use secret::*;
pub use settings::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::nacoscrypt_result;
    use core::ffi::CStr;

    #[test]
    fn issue_verify_and_errors() {
        let mut key = core::ptr::null_mut();
        let mut manager = core::ptr::null_mut();
        let mut token = core::ptr::null_mut();
        unsafe {
            assert_eq!(
                nacoscrypt_secret_key_from_bytes([7u8; 48].as_ptr(), 48, false, &mut key),
                nacoscrypt_result::Ok
            );
            assert_eq!(
                nacoscrypt_secret_key_algorithm(key),
                NACOSCRYPT_ALGORITHM_HS384
            );
            assert_eq!(
                nacoscrypt_token_manager_new(key, core::ptr::null(), 0, 0, 5, &mut manager),
                nacoscrypt_result::Ok
            );
            assert_eq!(nacoscrypt_token_manager_validity(manager), 18_000);
            assert_eq!(
                nacoscrypt_token_manager_issue(manager, c"nacos".as_ptr(), 1_000, &mut token),
                nacoscrypt_result::Ok
            );
            let mut len = 0;
            let text = nacoscrypt_access_token_text(token, &mut len);
            assert_eq!(CStr::from_ptr(text).to_bytes().len(), len);
            assert_eq!(nacoscrypt_access_token_expires_at(token), 19_000);
            let mut sub = core::ptr::null_mut();
            let mut exp = 0;
            assert_eq!(
                nacoscrypt_token_manager_verify(
                    manager,
                    text,
                    len,
                    19_005,
                    &mut sub,
                    core::ptr::null_mut(),
                    &mut exp
                ),
                nacoscrypt_result::Ok
            );
            assert_eq!(CStr::from_ptr(sub).to_str().unwrap(), "nacos");
            assert_eq!(exp, 19_000);
            crate::nacoscrypt_string_free(sub);
            let r = nacoscrypt_token_manager_verify(
                manager,
                text,
                len,
                19_006,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            );
            assert_eq!(r, nacoscrypt_result::TokenExpired);
            let m = CStr::from_ptr(crate::nacoscrypt_last_error_nacos_message());
            assert_eq!(m.to_str().unwrap(), "token expired!");
            let r = nacoscrypt_token_manager_verify(
                core::ptr::null(),
                text,
                len,
                0,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            );
            assert_eq!(r, nacoscrypt_result::NullPointer);
            nacoscrypt_access_token_free(token);
            nacoscrypt_token_manager_free(manager);
            nacoscrypt_secret_key_free(key);
        }
    }
}
