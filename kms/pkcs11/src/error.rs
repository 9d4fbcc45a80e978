//! Mapping cryptoki's errors onto the core's, and telling a broken session from a refused call.

use cryptoki::error::{Error as P11Error, RvError};
use nacoscrypt_core::{Error, KmsServiceError};

/// The service name in [`KmsServiceError::service`].
pub(crate) const SERVICE: &str = "PKCS#11";

/// A failure inside a pooled call: the module's, or ours.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The module returned an error from the call `operation` (`C_Decrypt`, …).
    Module(&'static str, P11Error),
    /// Anything else, already a core error.
    Core(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl Failure {
    /// The module's return value, if it gave one.
    pub(crate) fn rv(&self) -> Option<RvError> {
        match self {
            Self::Module(_, P11Error::Pkcs11(rv, _)) => Some(*rv),
            _ => None,
        }
    }

    /// `true` if the session this happened in cannot be used again (closed, its token gone,
    /// logged out under it): it is discarded, and the call is tried once on a fresh session.
    pub(crate) fn breaks_session(&self) -> bool {
        matches!(
            self.rv(),
            Some(
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::DeviceRemoved
                    | RvError::DeviceError
                    | RvError::DeviceMemory
                    | RvError::TokenNotPresent
                    | RvError::TokenNotRecognized
                    | RvError::UserNotLoggedIn
                    | RvError::CryptokiNotInitialized
            )
        )
    }

    /// `true` if the session's handle is no longer this pool's: the module closed the session
    /// itself (its token was removed — PKCS#11 closes every session of a removed token —, the
    /// handle is invalid, the module was finalised). Such a handle may already name another
    /// session of the process, opened since by any thread, so it must never be closed again.
    pub(crate) fn session_gone(&self) -> bool {
        matches!(
            self.rv(),
            Some(
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::DeviceRemoved
                    | RvError::TokenNotPresent
                    | RvError::TokenNotRecognized
                    | RvError::CryptokiNotInitialized
            )
        )
    }

    /// `true` if the failure may mean that the token is gone: any module error, a key that is
    /// not found, a blob that does not authenticate (SoftHSM2 finds no objects and fails
    /// decryptions on a token deleted under it). The pool then checks that the token is there.
    pub(crate) fn suspect(&self) -> bool {
        matches!(
            self,
            Self::Module(..) | Self::Core(Error::UnknownKeyId | Error::AuthenticationFailed)
        )
    }

    /// `true` if the module says a key handle is stale (the object was destroyed or replaced).
    pub(crate) fn stale_key(&self) -> bool {
        matches!(
            self.rv(),
            Some(RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid)
        )
    }

    /// The core error for callers.
    pub(crate) fn into_error(self) -> Error {
        match self {
            Self::Core(e) => e,
            Self::Module(operation, e) => module_error(operation, &e),
        }
    }
}

/// `CKR_PIN_INCORRECT` from cryptoki's `PinIncorrect`: the names the PKCS#11 standard uses.
pub(crate) fn ckr_name(rv: &RvError) -> String {
    let debug = format!("{rv:?}");
    let name = debug.split('(').next().unwrap_or(&debug);
    let mut out = String::from("CKR");
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    if let RvError::VendorDefined(code) | RvError::UnknownErrorCode(code) = rv {
        out.push_str(&format!("({code:#x})"));
    }
    out
}

/// The core error for a module failure in `operation`.
pub(crate) fn module_error(operation: &'static str, e: &P11Error) -> Error {
    let (code, message) = match e {
        P11Error::Pkcs11(rv, _) => (ckr_name(rv), short_message(rv)),
        P11Error::LibraryLoading(e) => ("ModuleLoad".to_owned(), e.to_string()),
        P11Error::MissingSymbol(_) | P11Error::NullFunctionPointer => {
            ("ModuleIncomplete".to_owned(), e.to_string())
        }
        other => ("Binding".to_owned(), other.to_string()),
    };
    Error::from(KmsServiceError {
        service: SERVICE,
        operation,
        code,
        message,
        request_id: None,
        http_status: None,
        attempts: 1,
    })
}

/// What a return value means for an operator, in a line (cryptoki's texts are paragraphs).
fn short_message(rv: &RvError) -> String {
    match rv {
        RvError::PinIncorrect => "the token refused the PIN".into(),
        RvError::PinLocked => "the user PIN is locked".into(),
        RvError::PinExpired => "the user PIN has expired".into(),
        RvError::PinLenRange => "the PIN is too short or too long for this token".into(),
        RvError::UserPinNotInitialized => "the token's user PIN is not initialised".into(),
        RvError::TokenNotPresent | RvError::DeviceRemoved => {
            "the token is not present (removed?)".into()
        }
        RvError::SessionHandleInvalid | RvError::SessionClosed => {
            "the session was closed by the module (token removed?)".into()
        }
        RvError::MechanismInvalid => "the token does not support CKM_AES_GCM".into(),
        RvError::MechanismParamInvalid => {
            "the token refused the CKM_AES_GCM parameters (a 12-byte IV from the caller, \
             128-bit tag)"
                .into()
        }
        RvError::KeyFunctionNotPermitted => {
            "the key may not be used for this (CKA_ENCRYPT / CKA_DECRYPT)".into()
        }
        RvError::KeyTypeInconsistent => "the key is not an AES key".into(),
        RvError::UserNotLoggedIn => "not logged in to the token".into(),
        RvError::SessionCount => "the token has no free session".into(),
        other => {
            // cryptoki's text is the standard's paragraph; keep its first sentence.
            let text = other.to_string();
            match text.find(". ") {
                Some(i) => text[..=i].to_owned(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ckr_names_follow_the_standard() {
        assert_eq!(ckr_name(&RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(
            ckr_name(&RvError::EncryptedDataInvalid),
            "CKR_ENCRYPTED_DATA_INVALID"
        );
        assert_eq!(ckr_name(&RvError::TokenNotPresent), "CKR_TOKEN_NOT_PRESENT");
        assert_eq!(
            ckr_name(&RvError::VendorDefined(0x8000_0001)),
            "CKR_VENDOR_DEFINED(0x80000001)"
        );
    }

    #[test]
    fn a_module_error_names_call_and_code() {
        let e = module_error(
            "C_Login",
            &P11Error::Pkcs11(RvError::PinIncorrect, cryptoki::context::Function::Login),
        );
        assert_eq!(e.kind(), nacoscrypt_core::ErrorKind::Kms);
        assert_eq!(
            e.to_string(),
            "KMS failure: PKCS#11 C_Login: CKR_PIN_INCORRECT: the token refused the PIN"
        );
    }
}
