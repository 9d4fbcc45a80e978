//! Alibaba Cloud KMS (SPEC 5.1) as an ordinary `nacoscrypt_kms` handle.

use crate::boundary::{arg_struct, arg_text, check_out, out_handle};
use crate::error::{FfiError, FfiResult, ffi_call};
use crate::kms::{KmsImpl, nacoscrypt_kms};
use crate::result::nacoscrypt_result;
use crate::service::{cache_settings, ms, nacoscrypt_kms_cache_mode, opt, retry};
use core::ffi::c_char;
use nacoscrypt_core::SecretString;
use nacoscrypt_kms_aliyun::config::AliyunConfig;
use nacoscrypt_kms_aliyun::{AliyunKmsBuilder, Endpoint, Provider, Signature};

/// How Alibaba Cloud KMS requests are signed.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nacoscrypt_aliyun_signature {
    /// V3 `ACS3-HMAC-SHA256` (the default).
    NACOSCRYPT_ALIYUN_SIGNATURE_V3 = 0,
    /// RPC V2 `HMAC-SHA1` (the older SDKs).
    NACOSCRYPT_ALIYUN_SIGNATURE_RPC_V2 = 1,
}

/// Options of `nacoscrypt_kms_aliyun_new()`. Zero-initialise it (`= {0}`), set `struct_size`
/// to `sizeof(nacoscrypt_kms_aliyun_options)`, then the fields you need: NULL strings and zero
/// numbers mean "not set". The library copies what it needs; the strings may be freed after
/// the call.
///
/// Endpoint: `endpoint` (a host, `host:port` or `https://` URL; `http://` is refused) or
/// `region_id` (`kms.<region>.aliyuncs.com`, or `kms-vpc.` with `vpc`).
///
/// Credentials: `access_key_id` and `access_key_secret` (with `security_token` for STS
/// credentials, and `ram_role_arn` to assume that role with them), else `ram_role_name` (the
/// ECS instance's RAM role), else the official default chain (environment variables, OIDC
/// role, profile files, `ALIBABA_CLOUD_ECS_METADATA`, `ALIBABA_CLOUD_CREDENTIALS_URI`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nacoscrypt_kms_aliyun_options {
    /// `sizeof(nacoscrypt_kms_aliyun_options)`: lets later versions add fields.
    pub struct_size: usize,
    /// KMS endpoint, or NULL to use `region_id`.
    pub endpoint: *const c_char,
    /// Region, for example `cn-hangzhou`.
    pub region_id: *const c_char,
    /// With `region_id`: the VPC endpoint.
    pub vpc: bool,
    /// Access key id.
    pub access_key_id: *const c_char,
    /// Access key secret.
    pub access_key_secret: *const c_char,
    /// STS security token (with temporary access keys).
    pub security_token: *const c_char,
    /// RAM role to assume with the access key (`acs:ram::<account>:role/<name>`).
    pub ram_role_arn: *const c_char,
    /// STS endpoint host for `ram_role_arn` (default `sts.aliyuncs.com`).
    pub sts_endpoint: *const c_char,
    /// The ECS instance's RAM role.
    pub ram_role_name: *const c_char,
    /// The ECS metadata service (default `http://100.100.100.200`; for tests).
    pub metadata_endpoint: *const c_char,
    /// Trust only this CA (PEM text) for the KMS endpoint (a KMS instance's CA).
    pub ca_pem: *const c_char,
    /// Trust only this CA (PEM text) for STS (default: the public roots; for tests).
    pub credentials_ca_pem: *const c_char,
    /// The key used when a call passes an empty key id (default `alias/acs/mse`).
    pub default_key_id: *const c_char,
    /// Signature version.
    pub signature: nacoscrypt_aliyun_signature,
    /// Data-key cache.
    pub cache: nacoscrypt_kms_cache_mode,
    /// Connect timeout in milliseconds (0: 5,000).
    pub connect_timeout_ms: u32,
    /// Timeout of one request in milliseconds (0: 10,000).
    pub request_timeout_ms: u32,
    /// Attempts in all, retries of throttling, 5xx and network failures included (0: 4).
    pub max_attempts: u32,
    /// No retry starts after this many milliseconds since the call began (0: 20,000).
    pub max_total_ms: u32,
}

fn new_kms(kms_out: *mut *mut nacoscrypt_kms, builder: AliyunKmsBuilder) -> FfiResult {
    let client = builder.build()?;
    // SAFETY: the caller checked `kms_out`; writable by contract.
    unsafe { out_handle(kms_out, KmsImpl::Aliyun(client)) };
    Ok(())
}

/// Makes a KMS of Alibaba Cloud KMS (the OpenAPI, SPEC 5.1) with `options`. No request is made
/// yet: credentials and the endpoint are first used by the first call. Requests are retried on
/// throttling, 5xx and network failures (bounded in count and time); a failure's last error
/// names the service's code, message, HTTP status and request id (never a secret).
///
/// - `kms_out`: receives a new KMS owned by the caller (free with `nacoscrypt_kms_free()`);
///   written only on success.
///
/// # Safety
/// `options` must point to a `nacoscrypt_kms_aliyun_options` whose non-NULL strings are
/// NUL-terminated; `kms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_aliyun_new(
    options: *const nacoscrypt_kms_aliyun_options,
    kms_out: *mut *mut nacoscrypt_kms,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let o = unsafe { arg_struct(options, "options") }?;
        check_out(kms_out, "kms_out")?;
        if o.struct_size < size_of::<nacoscrypt_kms_aliyun_options>() {
            return Err(FfiError::invalid(
                "options",
                "has a struct_size smaller than this library's options",
            ));
        }
        // SAFETY (for each `opt`): the options' strings are NULL or NUL-terminated by contract.
        let s = |p, n| unsafe { opt(p, n) };
        let endpoint = match (
            s(o.endpoint, "options.endpoint")?,
            s(o.region_id, "options.region_id")?,
        ) {
            (Some(e), _) => Endpoint::Custom(e),
            (None, Some(r)) if o.vpc => Endpoint::Vpc(r),
            (None, Some(r)) => Endpoint::Region(r),
            (None, None) => {
                return Err(FfiError::invalid(
                    "options",
                    "sets neither endpoint nor region_id",
                ));
            }
        };
        let id = s(o.access_key_id, "options.access_key_id")?;
        let secret = s(o.access_key_secret, "options.access_key_secret")?.map(SecretString::from);
        let provider = match (id, secret) {
            (Some(id), Some(secret)) => {
                let base = match s(o.security_token, "options.security_token")? {
                    Some(token) => Provider::StsToken {
                        id,
                        secret,
                        token: SecretString::from(token),
                    },
                    None => Provider::AccessKey { id, secret },
                };
                match s(o.ram_role_arn, "options.ram_role_arn")? {
                    Some(role_arn) => Provider::RamRoleArn {
                        base: Box::new(base),
                        role_arn,
                        session_name: None,
                        duration_seconds: 3600,
                        policy: None,
                        external_id: None,
                        sts_endpoint: s(o.sts_endpoint, "options.sts_endpoint")?.unwrap_or_else(
                            || nacoscrypt_kms_aliyun::credentials::STS_ENDPOINT.to_owned(),
                        ),
                    },
                    None => base,
                }
            }
            (None, None) => {
                let role = s(o.ram_role_name, "options.ram_role_name")?;
                match s(o.metadata_endpoint, "options.metadata_endpoint")? {
                    Some(endpoint) => Provider::EcsRamRole {
                        role_name: role,
                        endpoint,
                        disable_imds_v1: false,
                    },
                    None if role.is_some() => Provider::ecs_ram_role(role),
                    None => Provider::default_chain(),
                }
            }
            _ => {
                return Err(FfiError::invalid(
                    "options",
                    "sets only one of access_key_id and access_key_secret",
                ));
            }
        };
        let mut b = AliyunKmsBuilder::default()
            .endpoint(endpoint)
            .credentials(provider)
            .timeouts(
                ms(o.connect_timeout_ms, 5_000),
                ms(o.request_timeout_ms, 10_000),
            )
            .retry(retry(o.max_attempts, o.max_total_ms))
            .signature(match o.signature {
                nacoscrypt_aliyun_signature::NACOSCRYPT_ALIYUN_SIGNATURE_V3 => Signature::V3,
                nacoscrypt_aliyun_signature::NACOSCRYPT_ALIYUN_SIGNATURE_RPC_V2 => Signature::RpcV2,
            })
            .cache(cache_settings(o.cache));
        if let Some(pem) = s(o.ca_pem, "options.ca_pem")? {
            b = b.ca_pem(pem);
        }
        if let Some(pem) = s(o.credentials_ca_pem, "options.credentials_ca_pem")? {
            b = b.credentials_ca_pem(pem);
        }
        if let Some(key) = s(o.default_key_id, "options.default_key_id")? {
            b = b.default_key_id(key);
        }
        new_kms(kms_out, b)
    })
}

/// Makes a KMS of Alibaba Cloud KMS configured by a `.properties` text with the names Nacos
/// users already write (Java / Spring: `kmsEndpoint`, `kms_region_id`, `accessKey`,
/// `secretKey`, `ramRoleName`, `keyId`, `spring.cloud.nacos.config.*`; Go: `RegionId`,
/// `AccessKey`, `SecretKey`, `KMSConfig.Endpoint`, `KmsKeyId`, `OpenKMS`; and `kmsCaFile` /
/// `CaContent`, `kmsSignatureVersion`, `kmsCache`).
///
/// - `text`, `text_len`: the UTF-8 text.
/// - `kms_out`: receives a new KMS owned by the caller; written only on success.
///
/// # Safety
/// `text` must point to `text_len` readable bytes; `kms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_aliyun_from_properties(
    text: *const c_char,
    text_len: usize,
    kms_out: *mut *mut nacoscrypt_kms,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let text = unsafe { arg_text(text, text_len, "text") }?;
        check_out(kms_out, "kms_out")?;
        let builder = AliyunConfig::from_properties(text)?.into_builder()?;
        new_kms(kms_out, builder)
    })
}

/// Options of `nacoscrypt_kms_aliyun_instance_new()`: a KMS 3.0 instance reached with a
/// ClientKey (SPEC 5.2). Zero-initialise it, set `struct_size` to
/// `sizeof(nacoscrypt_kms_aliyun_instance_options)`, then the fields you need (NULL / 0 = not
/// set). The library copies what it needs.
///
/// Required: `endpoint`; the ClientKey as `client_key_file` (path of the JSON file) or
/// `client_key_json` (its text); its password as `client_key_password_file`,
/// `client_key_password_env` (the name of an environment variable) or
/// `client_key_password`; and the instance's CA certificate as `ca_pem`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nacoscrypt_kms_aliyun_instance_options {
    /// `sizeof(nacoscrypt_kms_aliyun_instance_options)`.
    pub struct_size: usize,
    /// The instance endpoint (`kst-….cryptoservice.kms.aliyuncs.com`, `host:port` or
    /// `https://` URL).
    pub endpoint: *const c_char,
    /// Path of the ClientKey JSON file.
    pub client_key_file: *const c_char,
    /// The ClientKey JSON text (instead of the file).
    pub client_key_json: *const c_char,
    /// Path of a file holding the ClientKey password.
    pub client_key_password_file: *const c_char,
    /// Name of an environment variable holding the ClientKey password.
    pub client_key_password_env: *const c_char,
    /// The ClientKey password itself.
    pub client_key_password: *const c_char,
    /// The instance's CA certificate, PEM text (required).
    pub ca_pem: *const c_char,
    /// The key used when a call passes an empty key id (default `alias/acs/mse`).
    pub default_key_id: *const c_char,
    /// Data-key cache.
    pub cache: nacoscrypt_kms_cache_mode,
    /// Connect timeout in milliseconds (0: 5,000).
    pub connect_timeout_ms: u32,
    /// Timeout of one request in milliseconds (0: 10,000).
    pub request_timeout_ms: u32,
    /// Attempts in all (0: 4).
    pub max_attempts: u32,
    /// No retry starts after this many milliseconds since the call began (0: 20,000).
    pub max_total_ms: u32,
}

/// Makes a KMS of a KMS 3.0 instance reached with a ClientKey (the instance API, SPEC 5.2), with
/// `options`. The ClientKey is opened now (a wrong password fails here); no request is made yet.
/// Blobs are those the official SDKs of Java, Go and Python write on instances.
///
/// - `kms_out`: receives a new KMS owned by the caller (free with `nacoscrypt_kms_free()`);
///   written only on success.
///
/// # Safety
/// `options` must point to a `nacoscrypt_kms_aliyun_instance_options` whose non-NULL strings
/// are NUL-terminated; `kms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_aliyun_instance_new(
    options: *const nacoscrypt_kms_aliyun_instance_options,
    kms_out: *mut *mut nacoscrypt_kms,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let o = unsafe { arg_struct(options, "options") }?;
        check_out(kms_out, "kms_out")?;
        if o.struct_size < size_of::<nacoscrypt_kms_aliyun_instance_options>() {
            return Err(FfiError::invalid(
                "options",
                "has a struct_size smaller than this library's options",
            ));
        }
        // SAFETY (for each `opt`): the options' strings are NULL or NUL-terminated by contract.
        let s = |p, n| unsafe { opt(p, n) };
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let fields = [
            ("kmsEndpoint", o.endpoint, "options.endpoint"),
            (
                "clientKeyFile",
                o.client_key_file,
                "options.client_key_file",
            ),
            (
                "clientKeyContent",
                o.client_key_json,
                "options.client_key_json",
            ),
            (
                "clientKeyPasswordFromFilePath",
                o.client_key_password_file,
                "options.client_key_password_file",
            ),
            (
                "clientKeyPasswordFromEnvVariable",
                o.client_key_password_env,
                "options.client_key_password_env",
            ),
            (
                "clientKeyPassword",
                o.client_key_password,
                "options.client_key_password",
            ),
            ("CaContent", o.ca_pem, "options.ca_pem"),
            ("keyId", o.default_key_id, "options.default_key_id"),
        ];
        for (name, ptr, what) in fields {
            if let Some(v) = s(ptr, what)? {
                pairs.push((name, v));
            }
        }
        let config = AliyunConfig::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        let builder = config
            .into_instance_builder()?
            .timeouts(
                ms(o.connect_timeout_ms, 5_000),
                ms(o.request_timeout_ms, 10_000),
            )
            .retry(retry(o.max_attempts, o.max_total_ms))
            .cache(cache_settings(o.cache));
        let client = builder.build()?;
        // SAFETY: checked above; writable by contract.
        unsafe { out_handle(kms_out, KmsImpl::AliyunInstance(client)) };
        Ok(())
    })
}

/// Makes a KMS of a KMS 3.0 instance configured by a `.properties` text: `kmsEndpoint` (or
/// `KMSv3Config.Endpoint`), `clientKeyFile` (or `ClientKeyContent`), the password by
/// `clientKeyPasswordFromFilePath`, `clientKeyPasswordFromEnvVariable` or `KMSv3Config.Password`,
/// the CA by `kmsCaFile` or `CaContent`, and optionally `keyId` and `kmsCache`.
///
/// - `kms_out`: receives a new KMS owned by the caller; written only on success.
///
/// # Safety
/// `text` must point to `text_len` readable bytes; `kms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_kms_aliyun_instance_from_properties(
    text: *const c_char,
    text_len: usize,
    kms_out: *mut *mut nacoscrypt_kms,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract.
        let text = unsafe { arg_text(text, text_len, "text") }?;
        check_out(kms_out, "kms_out")?;
        let client = AliyunConfig::from_properties(text)?
            .into_instance_builder()?
            .build()?;
        // SAFETY: checked above; writable by contract.
        unsafe { out_handle(kms_out, KmsImpl::AliyunInstance(client)) };
        Ok(())
    })
}
