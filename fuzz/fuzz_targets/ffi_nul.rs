//! The C entry points with inputs that hold NUL bytes: whatever the library hands to C as a
//! NUL-terminated string with a length must have no NUL inside (`strlen == len`), and whatever
//! a C caller could write (a config whose KMS blob it chose) it must be able to read back.
//!
//! Input: byte 0 picks the entry point; the rest is the text under test.
#![no_main]

use core::ffi::{c_char, c_int, c_void};
use libfuzzer_sys::fuzz_target;
use nacoscrypt::*;
use nacoscrypt_core::token::SecretKey;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::ptr::{null, null_mut};

const KEY: [u8; 32] = [0x42; 32];

/// `strlen(s) == len` for a library string, then frees it.
fn check_c_string(s: *mut c_char, len: usize) {
    assert!(!s.is_null());
    // SAFETY: a NUL-terminated library string.
    let strlen = unsafe { CStr::from_ptr(s) }.to_bytes().len();
    assert_eq!(strlen, len, "a NUL inside a string handed to C");
    // SAFETY: a live library string, freed once.
    unsafe { nacoscrypt_string_free(s) };
}

fn json_escape(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn login_response(data: &[u8]) {
    let (token, user) = data.split_at(data.len() / 2);
    let json = format!(
        r#"{{"accessToken":"{}","tokenTtl":5,"username":"{}"}}"#,
        json_escape(token),
        json_escape(user)
    );
    for text in [json.as_bytes(), data] {
        let mut response = null_mut();
        // SAFETY: valid buffers and outputs.
        let rc = unsafe {
            nacoscrypt_login_response_parse(text.as_ptr().cast(), text.len(), &mut response)
        };
        if rc != nacoscrypt_result::Ok {
            continue;
        }
        let mut len = 0usize;
        // SAFETY: a live response; its strings live as long as it.
        unsafe {
            let t = nacoscrypt_login_response_access_token(response, &mut len);
            assert_eq!(CStr::from_ptr(t).to_bytes().len(), len);
            let u = nacoscrypt_login_response_username(response, &mut len);
            assert_eq!(CStr::from_ptr(u).to_bytes().len(), len);
            nacoscrypt_login_response_free(response);
        }
    }
}

fn token_subject(data: &[u8]) {
    let subject = String::from_utf8_lossy(data);
    // Signed without the issuer's checks: what a server (or a forger with the key) could send.
    let token = SecretKey::from_bytes(&KEY)
        .unwrap()
        .sign(&subject, 4_102_444_800);
    let mut key = null_mut();
    let mut manager = null_mut();
    // SAFETY: valid buffers and outputs throughout; every handle freed once.
    unsafe {
        assert_eq!(
            nacoscrypt_secret_key_from_bytes(KEY.as_ptr(), KEY.len(), false, &mut key),
            nacoscrypt_result::Ok
        );
        assert_eq!(
            nacoscrypt_token_manager_new(key, null(), 0, 18_000, 0, &mut manager),
            nacoscrypt_result::Ok
        );
        let (mut sub, mut sub_len, mut exp) = (null_mut(), 0usize, 0i64);
        let rc = nacoscrypt_token_manager_verify(
            manager,
            token.as_ptr().cast(),
            token.len(),
            0,
            &mut sub,
            &mut sub_len,
            &mut exp,
        );
        // The checked writer refuses exactly what the C reader refuses.
        let writable = SecretKey::from_bytes(&KEY)
            .unwrap()
            .try_sign(&subject, 4_102_444_800);
        assert_eq!(writable.is_ok(), rc == nacoscrypt_result::Ok, "{rc:?}");
        if rc == nacoscrypt_result::Ok {
            check_c_string(sub, sub_len);
        }
        nacoscrypt_token_manager_free(manager);
        nacoscrypt_secret_key_free(key);
    }
}

thread_local! {
    /// The blob the callback KMS returns next, and what each blob it returned decrypts to.
    static NEXT_BLOB: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static STORE: RefCell<HashMap<Vec<u8>, Vec<u8>>> = RefCell::new(HashMap::new());
}

fn give_blob(plaintext: &[u8], out: *mut nacoscrypt_kms_output) -> c_int {
    let blob = NEXT_BLOB.with(|b| b.borrow().clone());
    STORE.with(|s| s.borrow_mut().insert(blob.clone(), plaintext.to_vec()));
    // SAFETY: the running callback's output; `blob` readable.
    let rc =
        unsafe { nacoscrypt_kms_output_set_ciphertext_blob(out, blob.as_ptr().cast(), blob.len()) };
    // A blob the library refuses to take is an error the callback reports.
    if rc == nacoscrypt_result::Ok { 0 } else { 1 }
}

unsafe extern "C" fn generate(
    _userdata: *mut c_void,
    _key_id: *const c_char,
    key_spec: *const c_char,
    _names: *const *const c_char,
    _values: *const *const c_char,
    _len: usize,
    out: *mut nacoscrypt_kms_output,
) -> c_int {
    // SAFETY: NUL-terminated by contract.
    let spec = unsafe { CStr::from_ptr(key_spec) }.to_bytes();
    let key = vec![7u8; if spec == b"AES_128" { 16 } else { 32 }];
    // SAFETY: the running callback's output.
    unsafe { nacoscrypt_kms_output_set_plaintext(out, key.as_ptr(), key.len()) };
    give_blob(&key, out)
}

unsafe extern "C" fn encrypt(
    _userdata: *mut c_void,
    _key_id: *const c_char,
    plaintext: *const u8,
    plaintext_len: usize,
    _names: *const *const c_char,
    _values: *const *const c_char,
    _len: usize,
    out: *mut nacoscrypt_kms_output,
) -> c_int {
    // SAFETY: readable by contract.
    give_blob(
        unsafe { std::slice::from_raw_parts(plaintext, plaintext_len) },
        out,
    )
}

unsafe extern "C" fn decrypt(
    _userdata: *mut c_void,
    blob: *const c_char,
    blob_len: usize,
    _names: *const *const c_char,
    _values: *const *const c_char,
    _len: usize,
    out: *mut nacoscrypt_kms_output,
) -> c_int {
    // SAFETY: readable by contract.
    let blob = unsafe { std::slice::from_raw_parts(blob.cast::<u8>(), blob_len) };
    match STORE.with(|s| s.borrow().get(blob).cloned()) {
        // SAFETY: the running callback's output.
        Some(p) => unsafe {
            nacoscrypt_kms_output_set_plaintext(out, p.as_ptr(), p.len()) as c_int
        },
        None => 1,
    }
}

/// A config whose KMS blob is the fuzzer's: written through C means readable through C.
fn kms_blob(selector: u8, blob: &[u8]) {
    NEXT_BLOB.with(|b| *b.borrow_mut() = blob.to_vec());
    let callbacks = nacoscrypt_kms_callbacks {
        userdata: null_mut(),
        generate_data_key: Some(generate),
        encrypt: Some(encrypt),
        decrypt: Some(decrypt),
        destroy: None,
    };
    let data_id: &[u8] = match selector % 3 {
        0 => b"cipher-kms-aes-256-x\0",
        1 => b"cipher-kms-aes-128-x\0",
        _ => b"cipher-x\0",
    };
    let format = if selector & 4 == 0 {
        NACOSCRYPT_FORMAT_NACOS
    } else {
        NACOSCRYPT_FORMAT_V1
    };
    let id = nacoscrypt_config_id {
        data_id: data_id.as_ptr().cast(),
        group: c"g".as_ptr(),
        tenant: c"".as_ptr(),
    };
    let plaintext = b"password=s3cret";
    let mut kms = null_mut();
    // SAFETY: valid buffers and outputs throughout; every handle and string freed once.
    unsafe {
        assert_eq!(
            nacoscrypt_kms_from_callbacks(&callbacks, &mut kms),
            nacoscrypt_result::Ok
        );
        let (mut content, mut content_len, mut edk, mut edk_len) =
            (null_mut(), 0usize, null_mut(), 0usize);
        let rc = nacoscrypt_config_encrypt(
            kms,
            &id,
            plaintext.as_ptr().cast(),
            plaintext.len(),
            c"k".as_ptr(),
            format,
            &mut content,
            &mut content_len,
            &mut edk,
            &mut edk_len,
        );
        if rc == nacoscrypt_result::Ok {
            // Both strings whole, and the pair decrypts through the NUL-terminated entry.
            let c = CStr::from_ptr(content).to_bytes().len();
            let e = CStr::from_ptr(edk).to_bytes().len();
            assert_eq!(
                (c, e),
                (content_len, edk_len),
                "a NUL inside a stored config"
            );
            let (mut out, mut out_len) = (null_mut(), 0usize);
            let rc = nacoscrypt_config_decrypt(
                kms,
                &id,
                content,
                content_len,
                edk,
                &mut out,
                &mut out_len,
            );
            assert_eq!(
                rc,
                nacoscrypt_result::Ok,
                "written through C, but not readable through C"
            );
            assert_eq!(
                std::slice::from_raw_parts(out.cast::<u8>(), out_len),
                plaintext
            );
            nacoscrypt_string_free(out);
            nacoscrypt_string_free(content);
            nacoscrypt_string_free(edk);
        }
        nacoscrypt_kms_free(kms);
    }
    STORE.with(|s| s.borrow_mut().clear());
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => login_response(rest),
        1 => token_subject(rest),
        _ => kms_blob(selector / 3, rest),
    }
});
