//! The KMS OpenAPI client (SPEC 5.1): `GenerateDataKey`, `Encrypt`, `Decrypt`.

use crate::cache::{CacheSettings, Counters, DataKeyCache, Stats, cache_key};
use crate::credentials::{Credential, CredentialCache, Provider};
use crate::http::{Http, HttpSettings, Trust};
use crate::retry::{RetryPolicy, Stop};
use crate::sign;
use crate::time::iso8601;
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Kms};
use nacoscrypt_core::{Error, KmsServiceError, Result, SecretBytes};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The key used when none is configured (all three Nacos SDKs).
pub const DEFAULT_KEY_ID: &str = "alias/acs/mse";
/// The API version.
pub const API_VERSION: &str = "2016-01-20";
const SERVICE: &str = "Alibaba Cloud KMS";

/// How requests are signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Signature {
    /// V3, `ACS3-HMAC-SHA256` in the `Authorization` header (the default, as the Tea SDKs).
    #[default]
    V3,
    /// RPC V2, `HMAC-SHA1` in the `Signature` parameter (the older SDKs).
    RpcV2,
}

/// Parses a signature version as the bindings and the `kmsSignatureVersion` setting spell it:
/// `v3` or `v2`, lower case. An empty or absent setting means the default, [`Signature::V3`]
/// (`Signature::default()`); that is the caller's choice, not a spelling parsed here.
///
/// ```
/// use nacoscrypt_kms_aliyun::Signature;
/// use nacoscrypt_core::ErrorKind;
///
/// assert_eq!("v3".parse::<Signature>()?, Signature::V3);
/// assert_eq!("v2".parse::<Signature>()?, Signature::RpcV2);
/// let err = "V2".parse::<Signature>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
/// assert_eq!(err.to_string(), "invalid argument: signature must be \"v3\" or \"v2\"");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
impl std::str::FromStr for Signature {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "v3" => Ok(Self::V3),
            "v2" => Ok(Self::RpcV2),
            _ => Err(Error::InvalidArgument {
                reason: "signature must be \"v3\" or \"v2\"",
            }),
        }
    }
}

/// Where the KMS is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `kms.<region>.aliyuncs.com`.
    Region(String),
    /// `kms-vpc.<region>.aliyuncs.com`.
    Vpc(String),
    /// A host (`kst-….cryptoservice.kms.aliyuncs.com`, with an optional port) or an `https://`
    /// URL. `http://` is refused.
    Custom(String),
}

impl Endpoint {
    /// The `https://host[:port]` base and the host as signed.
    pub(crate) fn resolve(&self) -> Result<(String, String)> {
        let raw = match self {
            Self::Region(r) => format!("kms.{r}.aliyuncs.com"),
            Self::Vpc(r) => format!("kms-vpc.{r}.aliyuncs.com"),
            Self::Custom(c) => c.trim().trim_end_matches('/').to_owned(),
        };
        let host = if let Some(rest) = raw.strip_prefix("https://") {
            rest.to_owned()
        } else if raw.contains("://") {
            return Err(Error::InvalidArgument {
                reason: "the KMS endpoint must use https:// (plain HTTP would expose the keys)",
            });
        } else {
            raw
        };
        let host = host.strip_suffix(":443").unwrap_or(&host).to_owned();
        if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
            return Err(Error::InvalidArgument {
                reason: "the KMS endpoint must be a host name, host:port or https:// URL",
            });
        }
        Ok((format!("https://{host}"), host))
    }
}

/// Builds an [`AliyunKms`].
///
/// ```no_run
/// use nacoscrypt_kms_aliyun::{AliyunKms, Endpoint, Provider};
///
/// let kms = AliyunKms::builder()
///     .endpoint(Endpoint::Region("cn-hangzhou".into()))
///     .credentials(Provider::ecs_ram_role(Some("nacos-reader".into())))
///     .build()?;
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AliyunKmsBuilder {
    endpoint: Option<Endpoint>,
    credentials: Option<Provider>,
    http: HttpSettings,
    credentials_http: HttpSettings,
    signature: Signature,
    retry: RetryPolicy,
    cache: CacheSettings,
    default_key_id: String,
}

impl Default for AliyunKmsBuilder {
    fn default() -> Self {
        Self {
            endpoint: None,
            credentials: None,
            http: HttpSettings::default(),
            credentials_http: HttpSettings::default(),
            signature: Signature::V3,
            retry: RetryPolicy::default(),
            cache: CacheSettings::default(),
            default_key_id: DEFAULT_KEY_ID.to_owned(),
        }
    }
}

impl AliyunKmsBuilder {
    /// The KMS endpoint (required).
    #[must_use]
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// The credentials (default: [`Provider::default_chain`]).
    #[must_use]
    pub fn credentials(mut self, provider: Provider) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// Trust only this CA (PEM text) for the KMS endpoint: a KMS instance's CA certificate.
    #[must_use]
    pub fn ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.http.trust = Trust::CaPem(pem.into());
        self
    }

    /// Trust only this CA (PEM text) for STS and the credentials URI (default: the public
    /// roots). For private STS endpoints and tests.
    #[must_use]
    pub fn credentials_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.credentials_http.trust = Trust::CaPem(pem.into());
        self
    }

    /// Timeouts and the response bound of KMS calls.
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.http.connect_timeout = connect;
        self.http.request_timeout = request;
        self.credentials_http.connect_timeout = connect;
        self.credentials_http.request_timeout = request;
        self
    }

    /// The largest KMS response read (default 1 MiB).
    #[must_use]
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.http.max_response_bytes = max;
        self
    }

    /// How requests are signed (default V3).
    #[must_use]
    pub fn signature(mut self, signature: Signature) -> Self {
        self.signature = signature;
        self
    }

    shared_setters!("[`DEFAULT_KEY_ID`]");

    /// Builds the client. Fails on a missing or plain-HTTP endpoint, or a CA text without a
    /// certificate. No request is made yet.
    pub fn build(self) -> Result<AliyunKms> {
        let endpoint = self.endpoint.ok_or(Error::InvalidArgument {
            reason: "no KMS endpoint: set a region or an endpoint",
        })?;
        let (base_url, host) = endpoint.resolve()?;
        let http = Http::new(&self.http, crate::USER_AGENT)
            .map_err(|m| Error::kms(format!("TLS setup: {m}")))?;
        let credentials = CredentialCache::new(
            self.credentials.unwrap_or_else(Provider::default_chain),
            &self.credentials_http,
        )?;
        Ok(AliyunKms {
            inner: Arc::new(Inner {
                base_url,
                host,
                http,
                credentials,
                signature: self.signature,
                retry: self.retry,
                cache: DataKeyCache::new(self.cache),
                counters: Counters::default(),
                default_key_id: self.default_key_id,
            }),
        })
    }
}

/// Alibaba Cloud KMS through its OpenAPI, as a [`Kms`]: data keys travel as base64 text
/// (SPEC 5.1) and are decoded here. Cheap to clone (shares the connection pool, credentials
/// and cache); thread-safe.
#[derive(Clone, Debug)]
pub struct AliyunKms {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base_url: String,
    host: String,
    http: Http,
    credentials: CredentialCache,
    signature: Signature,
    retry: RetryPolicy,
    cache: DataKeyCache,
    counters: Counters,
    default_key_id: String,
}

/// What [`AliyunKms::check`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The credential provider that answered (`ecs_ram_role`, `ram_role_arn/static_ak`, …).
    pub provider: String,
    /// The access key id used (not secret).
    pub access_key_id: String,
    /// Whether the credentials are temporary, and until when (UTC).
    pub expires: Option<String>,
    /// The key checked.
    pub key_id: String,
    /// The key version that encrypted the test value.
    pub key_version_id: String,
}

impl AliyunKms {
    /// A builder.
    pub fn builder() -> AliyunKmsBuilder {
        AliyunKmsBuilder::default()
    }

    /// The counters: cache hits and misses, KMS requests, retries.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The credential provider configured.
    pub fn provider(&self) -> &Provider {
        self.inner.credentials.provider()
    }

    /// Checks that credentials can be had and `key_id` (empty: the default key) encrypts and
    /// decrypts: an `Encrypt` and a `Decrypt` of a fixed test text. Reports which provider
    /// answered; never a secret.
    pub fn check(&self, key_id: &str) -> Result<CheckReport> {
        let credential = self.inner.credentials.get()?;
        let key_id = self.key_id(key_id).to_owned();
        let mut p = BTreeMap::new();
        p.insert("KeyId".to_owned(), key_id.clone());
        p.insert("Plaintext".to_owned(), "nacoscrypt kms check".to_owned());
        let encrypted = self.call("Encrypt", &p)?;
        let blob = field(&encrypted, "CiphertextBlob", "Encrypt")?;
        let mut p = BTreeMap::new();
        p.insert("CiphertextBlob".to_owned(), blob);
        let decrypted = self.call("Decrypt", &p)?;
        if field(&decrypted, "Plaintext", "Decrypt")? != "nacoscrypt kms check" {
            return Err(Error::kms("Decrypt did not return what Encrypt was given"));
        }
        Ok(CheckReport {
            provider: credential.provider.clone(),
            access_key_id: credential.access_key_id.clone(),
            expires: credential.expiration.map(iso8601),
            key_id,
            key_version_id: encrypted["KeyVersionId"].as_str().unwrap_or("").to_owned(),
        })
    }

    fn key_id<'a>(&'a self, key_id: &'a str) -> &'a str {
        if key_id.is_empty() {
            &self.inner.default_key_id
        } else {
            key_id
        }
    }

    /// One API call with signing, retries and error mapping; the parsed JSON answer.
    fn call(
        &self,
        action: &'static str,
        params: &BTreeMap<String, String>,
    ) -> Result<serde_json::Value> {
        let inner = &self.inner;
        let mut renewed_credentials = false;
        crate::retry::run(&inner.retry, &inner.counters, |attempt| {
            let credential = inner.credentials.get().map_err(Stop::Error)?;
            match self.send_once(action, params, &credential) {
                Ok(Answer::Ok(v)) => Ok(v),
                // Expired temporary credentials: fetch new ones once and try again.
                Ok(Answer::Service(e))
                    if e.code.starts_with("InvalidSecurityToken") && !renewed_credentials =>
                {
                    renewed_credentials = true;
                    inner.credentials.invalidate();
                    if attempt < inner.retry.max_attempts.max(2) {
                        Err(Stop::RetryNow(e))
                    } else {
                        Err(Stop::Fail(e))
                    }
                }
                Ok(Answer::Service(e)) => Err(Stop::service(e, crate::retry::RETRYABLE)),
                Err(f) if f.retryable => Err(Stop::Retry(f.error)),
                Err(f) => Err(Stop::Fail(f.error)),
            }
        })
    }

    fn send_once(
        &self,
        action: &'static str,
        params: &BTreeMap<String, String>,
        credential: &Credential,
    ) -> std::result::Result<Answer, Failed> {
        let inner = &self.inner;
        let secret = credential.access_key_secret.as_str().as_bytes();
        let (url, headers) = match inner.signature {
            Signature::V3 => {
                let query = params.clone();
                let date = iso8601(SystemTime::now());
                let nonce = sign::nonce();
                let payload_hash = sign::sha256_hex(b"");
                let mut headers: Vec<(&str, String)> = vec![
                    ("host", inner.host.clone()),
                    ("x-acs-action", action.to_owned()),
                    ("x-acs-version", API_VERSION.to_owned()),
                    ("x-acs-date", date),
                    ("x-acs-signature-nonce", nonce),
                    ("x-acs-content-sha256", payload_hash.clone()),
                ];
                if let Some(token) = &credential.security_token {
                    headers.push(("x-acs-accesskey-id", credential.access_key_id.clone()));
                    headers.push(("x-acs-security-token", token.as_str().to_owned()));
                }
                let signed: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let authorization = sign::v3_authorization(
                    "POST",
                    "/",
                    &query,
                    &signed,
                    &payload_hash,
                    &credential.access_key_id,
                    secret,
                );
                headers.push(("Authorization", authorization));
                // ureq writes Host itself, from the URL: the value signed above.
                headers.retain(|(k, _)| *k != "host");
                let url = format!("{}/?{}", inner.base_url, sign::canonical_query(&query));
                (url, headers)
            }
            Signature::RpcV2 => {
                let mut q = params.clone();
                q.insert("Action".into(), action.to_owned());
                q.insert("Version".into(), API_VERSION.to_owned());
                q.insert("Format".into(), "JSON".into());
                q.insert("AccessKeyId".into(), credential.access_key_id.clone());
                q.insert("SignatureMethod".into(), "HMAC-SHA1".into());
                q.insert("SignatureVersion".into(), "1.0".into());
                q.insert("SignatureNonce".into(), sign::nonce());
                q.insert("Timestamp".into(), iso8601(SystemTime::now()));
                if let Some(token) = &credential.security_token {
                    q.insert("SecurityToken".into(), token.as_str().to_owned());
                }
                let signature = sign::rpc_signature("POST", &q, secret);
                q.insert("Signature".into(), signature);
                (
                    format!("{}/?{}", inner.base_url, sign::canonical_query(&q)),
                    Vec::new(),
                )
            }
        };
        let header_refs: Vec<(&str, &str)> =
            headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = inner
            .http
            .send("POST", &url, &header_refs, Some(b""))
            .map_err(|f| Failed {
                retryable: f.kind.retryable(),
                error: service_error(action, f.kind.code(), f.message, None, None),
            })?;
        interpret(action, response.status, &response.body)
    }

    /// `Decrypt` of a data key blob: base64 text decoded.
    fn unwrap_data_key(&self, blob: &str, context_json: Option<&str>) -> Result<SecretBytes> {
        let mut p = BTreeMap::new();
        p.insert("CiphertextBlob".to_owned(), blob.to_owned());
        if let Some(c) = context_json {
            p.insert("EncryptionContext".to_owned(), c.to_owned());
        }
        let v = self.call("Decrypt", &p)?;
        let text = zeroize::Zeroizing::new(field(&v, "Plaintext", "Decrypt")?);
        decode_key(&text)
    }
}

/// What an answer of the KMS means: the JSON object of a success, a service error, or a
/// malformed answer (5xx without a KMS error body may be retried).
pub(crate) fn interpret(
    action: &'static str,
    status: u16,
    body: &[u8],
) -> std::result::Result<Answer, Failed> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    match (status, json) {
        (200, Some(v)) if v.is_object() => Ok(Answer::Ok(v)),
        (200, _) => Err(Failed {
            retryable: false,
            error: service_error(
                action,
                "MalformedResponse",
                "HTTP 200 with a body that is not a JSON object".to_owned(),
                None,
                Some(200),
            ),
        }),
        (status, Some(v)) if v["Code"].is_string() => Ok(Answer::Service(service_error(
            action,
            v["Code"].as_str().unwrap_or_default(),
            v["Message"].as_str().unwrap_or_default().to_owned(),
            v["RequestId"].as_str().map(str::to_owned),
            Some(status),
        ))),
        (status, _) => Err(Failed {
            // A gateway's own error page: 5xx may pass, the rest will not.
            retryable: matches!(status, 500 | 502 | 503 | 504),
            error: service_error(
                action,
                "MalformedResponse",
                format!("HTTP {status} without a KMS error body"),
                None,
                Some(status),
            ),
        }),
    }
}

pub(crate) enum Answer {
    Ok(serde_json::Value),
    Service(KmsServiceError),
}

pub(crate) struct Failed {
    retryable: bool,
    error: KmsServiceError,
}

fn service_error(
    action: &'static str,
    code: &str,
    message: String,
    request_id: Option<String>,
    http_status: Option<u16>,
) -> KmsServiceError {
    KmsServiceError {
        service: SERVICE,
        operation: action,
        code: code.to_owned(),
        message,
        request_id,
        http_status,
        attempts: 1,
    }
}

/// A string field of an answer, or a malformed-response error.
pub(crate) fn field(v: &serde_json::Value, name: &str, action: &'static str) -> Result<String> {
    v[name].as_str().map(str::to_owned).ok_or_else(|| {
        Error::from(service_error(
            action,
            "MalformedResponse",
            format!("the answer has no {name}"),
            v["RequestId"].as_str().map(str::to_owned),
            Some(200),
        ))
    })
}

/// A data key from its base64 text (SPEC 5.1).
pub(crate) fn decode_key(text: &str) -> Result<SecretBytes> {
    base64_simd::STANDARD
        .decode_to_vec(text.trim())
        .map(SecretBytes::from)
        .map_err(|_| Error::InvalidBase64 { field: "Plaintext" })
}

/// The `EncryptionContext` parameter: a compact JSON object, sorted, non-ASCII as is; `None`
/// for an empty context.
pub(crate) fn context_json(context: &Context<'_>) -> Option<String> {
    if context.is_empty() {
        return None;
    }
    let map: serde_json::Map<String, serde_json::Value> = context
        .iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
        .collect();
    Some(serde_json::Value::Object(map).to_string())
}

impl Kms for AliyunKms {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        let mut p = BTreeMap::new();
        p.insert("KeyId".to_owned(), self.key_id(key_id).to_owned());
        p.insert("KeySpec".to_owned(), spec.as_str().to_owned());
        if let Some(c) = context_json(context) {
            p.insert("EncryptionContext".to_owned(), c);
        }
        let v = self.call("GenerateDataKey", &p)?;
        let text = zeroize::Zeroizing::new(field(&v, "Plaintext", "GenerateDataKey")?);
        let plaintext = decode_key(&text)?;
        if plaintext.len() != spec.key_len() {
            return Err(Error::DataKeyLength {
                expected: spec.key_len(),
                len: plaintext.len(),
            });
        }
        Ok(GeneratedDataKey {
            plaintext,
            ciphertext_blob: field(&v, "CiphertextBlob", "GenerateDataKey")?,
        })
    }

    fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
        let text = std::str::from_utf8(plaintext).map_err(|_| Error::InvalidArgument {
            reason: "Alibaba Cloud KMS encrypts text: the plaintext must be UTF-8",
        })?;
        let mut p = BTreeMap::new();
        p.insert("KeyId".to_owned(), self.key_id(key_id).to_owned());
        p.insert("Plaintext".to_owned(), text.to_owned());
        if let Some(c) = context_json(context) {
            p.insert("EncryptionContext".to_owned(), c);
        }
        let v = self.call("Encrypt", &p)?;
        field(&v, "CiphertextBlob", "Encrypt")
    }

    fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        let mut p = BTreeMap::new();
        p.insert("CiphertextBlob".to_owned(), ciphertext_blob.to_owned());
        if let Some(c) = context_json(context) {
            p.insert("EncryptionContext".to_owned(), c);
        }
        let v = self.call("Decrypt", &p)?;
        Ok(SecretBytes::from(
            field(&v, "Plaintext", "Decrypt")?.into_bytes(),
        ))
    }

    /// Data keys travel as base64 text (SPEC 5.1): the key's base64 is what gets encrypted.
    fn encrypt_data_key(
        &self,
        key_id: &str,
        key: &nacoscrypt_core::kms::DataKey,
        context: &Context<'_>,
    ) -> Result<String> {
        let text = zeroize::Zeroizing::new(base64_simd::STANDARD.encode_to_string(key.as_bytes()));
        self.encrypt(key_id, text.as_bytes(), context)
    }

    fn decrypt_data_key(
        &self,
        ciphertext_blob: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<SecretBytes> {
        let _ = spec;
        let context = context_json(context);
        let key = cache_key(ciphertext_blob, context.as_deref().unwrap_or(""));
        crate::cache::through(&self.inner.cache, &self.inner.counters, key, || {
            self.unwrap_data_key(ciphertext_blob, context.as_deref())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spelling the Python binding (`signature=`) and `kmsSignatureVersion` accept today
    /// ("" / absent is the default, handled by the caller), and nothing else.
    #[test]
    fn signature_from_str() {
        assert_eq!("v3".parse::<Signature>().unwrap(), Signature::V3);
        assert_eq!("v2".parse::<Signature>().unwrap(), Signature::RpcV2);
        assert_eq!(Signature::default(), Signature::V3);
        for bad in ["", "V3", "v1", "3", " v2", "rpc"] {
            let err = bad.parse::<Signature>().unwrap_err();
            assert_eq!(
                err.kind(),
                nacoscrypt_core::ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::Region("cn-hangzhou".into()).resolve().unwrap().1,
            "kms.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            Endpoint::Vpc("cn-hangzhou".into()).resolve().unwrap().0,
            "https://kms-vpc.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            Endpoint::Custom("https://kst-1.cryptoservice.kms.aliyuncs.com:443/".into())
                .resolve()
                .unwrap()
                .1,
            "kst-1.cryptoservice.kms.aliyuncs.com"
        );
        assert_eq!(
            Endpoint::Custom("127.0.0.1:8443".into())
                .resolve()
                .unwrap()
                .1,
            "127.0.0.1:8443"
        );
        assert!(
            Endpoint::Custom("http://kms.cn-hangzhou.aliyuncs.com".into())
                .resolve()
                .is_err()
        );
        assert!(Endpoint::Custom("a/b".into()).resolve().is_err());
    }

    #[test]
    fn context_is_compact_sorted_json_with_raw_unicode() {
        let mut c = Context::new();
        c.insert("tenant", "公共");
        c.insert("dataId", "cipher-x\"y");
        assert_eq!(
            context_json(&c).unwrap(),
            r#"{"dataId":"cipher-x\"y","tenant":"公共"}"#
        );
        assert_eq!(context_json(&Context::new()), None);
    }
}
