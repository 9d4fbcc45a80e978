//! AWS KMS (SPEC 5.3) as an ordinary `nacoscrypt_kms` handle.

use crate::boundary::{arg_struct, check_out, out_handle};
use crate::error::{FfiError, ffi_call};
use crate::kms::{KmsImpl, nacoscrypt_kms};
use crate::result::nacoscrypt_result;
use crate::service::{cache_settings, ms, nacoscrypt_kms_cache_mode, opt, retry};
use core::ffi::c_char;
use nacoscrypt_core::SecretString;
use nacoscrypt_kms_aws::{AwsKms, Provider};

/// Where `nacoscrypt_kms_aws_new()` takes its credentials from when the options hold no
/// access key (the values of `nacoscrypt_kms_aws_options.credentials`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nacoscrypt_aws_credentials {
    /// The standard chain of the AWS SDKs (the default): the environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), web identity (`AWS_ROLE_ARN` with
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`, through STS), the shared files' profile (`profile`, else
    /// `AWS_PROFILE`, else `default`), the container endpoint (ECS, EKS Pod Identity), the
    /// instance metadata service (IMDSv2). With `profile` set: that profile only.
    DefaultChain = 0,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` only.
    Environment = 1,
    /// A profile of the shared files only (`profile`, else `AWS_PROFILE`, else `default`).
    Profile = 2,
    /// `AssumeRoleWithWebIdentity` with `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` only.
    WebIdentity = 3,
    /// The container credentials endpoint only.
    Container = 4,
    /// The instance metadata service (IMDSv2) only.
    InstanceMetadata = 5,
}

/// Options of `nacoscrypt_kms_aws_new()`. Zero-initialise it (`= {0}`), set `struct_size` to
/// `sizeof(nacoscrypt_kms_aws_options)`, then the fields you need: NULL strings and zero
/// numbers mean "not set". The library copies what it needs; the strings may be freed after
/// the call.
///
/// What is not set comes from where the AWS SDKs take it: the region from `AWS_REGION`, else
/// `AWS_DEFAULT_REGION`, else the profile's `region`; the endpoint from `AWS_ENDPOINT_URL_KMS`,
/// else `AWS_ENDPOINT_URL`, else `https://kms.<region>.amazonaws.com`; the credentials from
/// the standard chain (see `nacoscrypt_aws_credentials`). The environment is read when the KMS
/// is made.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nacoscrypt_kms_aws_options {
    /// `sizeof(nacoscrypt_kms_aws_options)`: lets later versions add fields.
    pub struct_size: usize,
    /// The region, for example `eu-west-1`.
    pub region: *const c_char,
    /// The KMS endpoint: a host, `host:port` or `https://` URL without a path (a VPC endpoint,
    /// a loopback test server); `http://` is refused.
    pub endpoint: *const c_char,
    /// The STS endpoint of web-identity credentials (default `https://sts.<region>.amazonaws.com`).
    pub sts_endpoint: *const c_char,
    /// The profile of the shared files (`~/.aws/config`, `~/.aws/credentials`): its credentials
    /// and its region.
    pub profile: *const c_char,
    /// The credential source, one of `nacoscrypt_aws_credentials` (0: the standard chain).
    /// Another value is `NACOSCRYPT_RESULT_INVALID_ARGUMENT`.
    pub credentials: u32,
    /// A fixed access key id (with `secret_access_key`; instead of `credentials`).
    pub access_key_id: *const c_char,
    /// The fixed secret access key (wiped when the KMS is freed).
    pub secret_access_key: *const c_char,
    /// The session token of fixed temporary keys.
    pub session_token: *const c_char,
    /// Trust only this CA (PEM text) for KMS and STS (a private endpoint, tests); default: the
    /// public roots.
    pub ca_pem: *const c_char,
    /// The key used when a call passes an empty key id: a key id, key ARN or `alias/...`
    /// (default none: an empty key id is then `NACOSCRYPT_RESULT_INVALID_ARGUMENT`).
    pub default_key_id: *const c_char,
    /// The data-key cache, one of `nacoscrypt_kms_cache_mode` (0: off). Another value is
    /// `NACOSCRYPT_RESULT_INVALID_ARGUMENT`.
    pub cache: u32,
    /// Connect timeout in milliseconds (0: 5,000).
    pub connect_timeout_ms: u32,
    /// Timeout of one request in milliseconds (0: 10,000).
    pub request_timeout_ms: u32,
    /// Attempts in all, retries of throttling, 5xx and network failures included (0: 4).
    pub max_attempts: u32,
    /// No retry starts after this many milliseconds since the call began (0: 20,000).
    pub max_total_ms: u32,
}

/// The credential source of `value`, or `None` for a value outside the enum.
fn credentials(value: u32, profile: Option<&str>) -> Option<Option<Provider>> {
    use nacoscrypt_aws_credentials as C;
    let is = |c: C| value == c as u32;
    Some(if is(C::DefaultChain) {
        None
    } else if is(C::Environment) {
        Some(Provider::Environment)
    } else if is(C::Profile) {
        Some(Provider::Profile(profile.map(str::to_owned)))
    } else if is(C::WebIdentity) {
        Some(Provider::WebIdentity)
    } else if is(C::Container) {
        Some(Provider::Container)
    } else if is(C::InstanceMetadata) {
        Some(Provider::InstanceMetadata)
    } else {
        return None;
    })
}

/// The cache mode of `value`, or `None` for a value outside the enum.
fn cache_mode(value: u32) -> Option<nacoscrypt_kms_cache_mode> {
    use nacoscrypt_kms_cache_mode as M;
    [
        M::NACOSCRYPT_KMS_CACHE_OFF,
        M::NACOSCRYPT_KMS_CACHE_FALLBACK,
        M::NACOSCRYPT_KMS_CACHE_FIRST,
    ]
    .into_iter()
    .find(|m| *m as u32 == value)
}

/// Makes a KMS of AWS KMS with `options`: `GenerateDataKey`, `Encrypt` and `Decrypt` over the
/// JSON 1.1 protocol, signed with SigV4; the v1 context travels as AWS's `EncryptionContext`.
/// Blobs are the base64 of AWS's `CiphertextBlob`, so a data key wrapped by boto3 or any AWS SDK
/// (base64-encoded) unwraps here, and back.
///
/// No request is made yet: credentials are fetched (and temporary ones refreshed before they
/// expire) by the calls. Requests are retried on `ThrottlingException`, `KMSInternalException`,
/// 5xx and network failures, bounded in count and time. Later errors: a key AWS does not know is
/// `NACOSCRYPT_RESULT_UNKNOWN_KEY`, a blob under another context or key
/// `NACOSCRYPT_RESULT_AUTHENTICATION_FAILED`, other refusals and network failures
/// `NACOSCRYPT_RESULT_KMS` with AWS's code (`AccessDeniedException`, ...), the HTTP status and
/// the request id in the last error message (never a secret).
///
/// Fails now (nothing written) for: no region anywhere, a plain-HTTP endpoint, a CA text without
/// a certificate, only one of `access_key_id` / `secret_access_key`, an access key together with
/// a `credentials` source, a value outside its enum.
///
/// - `kms_out`: receives a new KMS owned by the caller (free with `nacoscrypt_kms_free()`);
///   written only on success.
///
/// Example:
/// ```c
/// nacoscrypt_kms_aws_options o = {0};
/// nacoscrypt_kms *kms = NULL;
/// o.struct_size = sizeof o;
/// o.region = "eu-west-1";
/// o.default_key_id = "alias/nacos";
/// nacoscrypt_result rc = nacoscrypt_kms_aws_new(&o, &kms); // else: nacoscrypt_last_error_message()
/// ```
///
/// Thread safety: the KMS may be used from many threads at once (one connection pool).
///
/// # Safety
/// `options` must point to a `nacoscrypt_kms_aws_options` whose non-NULL strings are
/// NUL-terminated; `kms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_aws_new(
    options: *const nacoscrypt_kms_aws_options,
    kms_out: *mut *mut nacoscrypt_kms,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let o = unsafe { arg_struct(options, "options") }?;
        check_out(kms_out, "kms_out")?;
        if o.struct_size < size_of::<nacoscrypt_kms_aws_options>() {
            return Err(FfiError::invalid(
                "options",
                "has a struct_size smaller than this library's options",
            ));
        }
        // SAFETY (for each `opt`): the options' strings are NULL or NUL-terminated by contract.
        let s = |p, n| unsafe { opt(p, n) };
        let profile = s(o.profile, "options.profile")?;
        let source = credentials(o.credentials, profile.as_deref()).ok_or_else(|| {
            FfiError::invalid(
                "options",
                "has a credentials value that is not a nacoscrypt_aws_credentials",
            )
        })?;
        let cache = cache_mode(o.cache).ok_or_else(|| {
            FfiError::invalid(
                "options",
                "has a cache value that is not a nacoscrypt_kms_cache_mode",
            )
        })?;
        let id = s(o.access_key_id, "options.access_key_id")?;
        let secret = s(o.secret_access_key, "options.secret_access_key")?.map(SecretString::from);
        let token = s(o.session_token, "options.session_token")?.map(SecretString::from);
        let provider = match (id, secret, source) {
            (Some(access_key_id), Some(secret_access_key), None) => Some(Provider::Static {
                access_key_id,
                secret_access_key,
                session_token: token,
            }),
            (Some(_), Some(_), Some(_)) => {
                return Err(FfiError::invalid(
                    "options",
                    "sets both an access key and a credentials source",
                ));
            }
            (None, None, source) if token.is_none() => source,
            (None, None, _) => {
                return Err(FfiError::invalid(
                    "options",
                    "sets a session_token without an access key",
                ));
            }
            _ => {
                return Err(FfiError::invalid(
                    "options",
                    "sets only one of access_key_id and secret_access_key",
                ));
            }
        };
        let mut b = AwsKms::builder()
            .timeouts(
                ms(o.connect_timeout_ms, 5_000),
                ms(o.request_timeout_ms, 10_000),
            )
            .retry(retry(o.max_attempts, o.max_total_ms))
            .cache(cache_settings(cache));
        if let Some(r) = s(o.region, "options.region")? {
            b = b.region(r);
        }
        if let Some(e) = s(o.endpoint, "options.endpoint")? {
            b = b.endpoint(e);
        }
        if let Some(e) = s(o.sts_endpoint, "options.sts_endpoint")? {
            b = b.sts_endpoint(e);
        }
        if let Some(p) = profile {
            b = b.profile(p);
        }
        if let Some(p) = provider {
            b = b.credentials(p);
        }
        if let Some(pem) = s(o.ca_pem, "options.ca_pem")? {
            b = b.ca_pem(pem);
        }
        if let Some(key) = s(o.default_key_id, "options.default_key_id")? {
            b = b.default_key_id(key);
        }
        let kms = b.build()?;
        // SAFETY: `kms_out` was checked; writable by contract.
        unsafe { out_handle(kms_out, KmsImpl::Aws(kms)) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr;

    fn options() -> nacoscrypt_kms_aws_options {
        nacoscrypt_kms_aws_options {
            struct_size: size_of::<nacoscrypt_kms_aws_options>(),
            region: c"us-east-1".as_ptr(),
            endpoint: ptr::null(),
            sts_endpoint: ptr::null(),
            profile: ptr::null(),
            credentials: 0,
            access_key_id: ptr::null(),
            secret_access_key: ptr::null(),
            session_token: ptr::null(),
            ca_pem: ptr::null(),
            default_key_id: ptr::null(),
            cache: 0,
            connect_timeout_ms: 0,
            request_timeout_ms: 0,
            max_attempts: 0,
            max_total_ms: 0,
        }
    }

    fn new(o: &nacoscrypt_kms_aws_options) -> nacoscrypt_result {
        let mut kms = ptr::null_mut();
        let rc = unsafe { nacoscrypt_kms_aws_new(o, &mut kms) };
        unsafe { crate::kms::nacoscrypt_kms_free(kms) };
        rc
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(new(&options()), nacoscrypt_result::Ok);
        let invalid = nacoscrypt_result::InvalidArgument;
        for change in [
            (|o: &mut nacoscrypt_kms_aws_options| o.credentials = 6)
                as fn(&mut nacoscrypt_kms_aws_options),
            |o| o.cache = 3,
            |o| o.struct_size = 8,
            |o| o.access_key_id = c"AKID".as_ptr(),
            |o| o.session_token = c"t".as_ptr(),
            |o| {
                o.access_key_id = c"AKID".as_ptr();
                o.secret_access_key = c"s".as_ptr();
                o.credentials = 1;
            },
            |o| o.endpoint = c"http://127.0.0.1:1".as_ptr(),
            |o| o.region = c"us east".as_ptr(),
        ] {
            let mut o = options();
            change(&mut o);
            assert_eq!(new(&o), invalid);
        }
        let mut o = options();
        o.access_key_id = c"AKID".as_ptr();
        o.secret_access_key = c"s".as_ptr();
        o.credentials = 0;
        assert_eq!(new(&o), nacoscrypt_result::Ok);
        let mut out = ptr::null_mut();
        assert_eq!(
            unsafe { nacoscrypt_kms_aws_new(ptr::null(), &mut out) },
            nacoscrypt_result::NullPointer
        );
        assert!(out.is_null());
    }
}
