//! The KMS 3.0 instance API (SPEC 5.2): a dedicated KMS instance reached at its endpoint with a
//! ClientKey, as the official `alibabacloud-dkms-gcs` SDK does it, and blobs laid out as the
//! official transfer clients (Java, Go, Python) store them.
//!
//! - Requests: `POST https://<instance>/` with a protobuf body; headers `x-kms-apiversion:
//!   dkms-gcs-0.2`, `x-kms-apiname`, `x-kms-signaturemethod: RSA_PKCS1_SHA_256`,
//!   `x-kms-acccesskeyid` (the SDK's spelling) = the ClientKey id, `content-sha256` (upper-case
//!   hex), `date`; `Authorization: Bearer base64(RSA PKCS#1 v1.5 SHA-256 of the string to
//!   sign)`, string to sign `POST\n<sha>\n<content-type>\n<date>\n` + the sorted `x-kms-*`
//!   headers as `name:value\n` + `/`.
//! - Blobs: `base64(key version id [36] ‖ IV [12] ‖ ciphertext)`, the key version id from the
//!   answer's `x-kms-migrationkeyversionid` header; `Decrypt` splits it and sends the version
//!   id in that header. A data key is `GenerateDataKey` and then `Encrypt(base64(key))`, so its
//!   blob decrypts to base64 text. The encryption context travels as `Aad`: its JSON text.
//! - The ClientKey: the JSON file `{KeyId, PrivateKeyData}` (base64 of a PKCS#12 opened with
//!   the ClientKey password); the private key is held by AWS-LC, which wipes it when freed. The
//!   instance's CA certificate is required: there is no other trust and no insecure mode.

use crate::cache::{CacheSettings, Counters, DataKeyCache, Stats, cache_key};
use crate::http::{Http, HttpSettings, Trust};
use crate::proto::{Message, Writer};
use crate::retry::{RetryPolicy, Stop};
use crate::time::http_date;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Kms};
use nacoscrypt_core::{Error, KmsServiceError, Result, SecretBytes, SecretString};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const SERVICE: &str = "Alibaba Cloud KMS instance";
const API_VERSION: &str = "dkms-gcs-0.2";
const CONTENT_TYPE: &str = "application/x-protobuf";
const VERSION_HEADER: &str = "x-kms-migrationkeyversionid";
/// Length of a key version id at the start of a blob.
pub(crate) const KEY_VERSION_ID_LEN: usize = 36;
/// Length of the GCM IV in a blob.
pub(crate) const IV_LEN: usize = 12;
/// The largest ClientKey file read.
pub(crate) const MAX_CLIENT_KEY_BYTES: usize = 64 << 10;

/// A ClientKey: the id and the RSA private key that signs requests. Never printed; the key is
/// held by AWS-LC, which wipes it when freed.
pub struct ClientKey {
    key_id: String,
    pair: RsaKeyPair,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("key_id", &self.key_id)
            .field("private_key", &"[REDACTED]")
            .finish()
    }
}

fn client_key_error(message: impl Into<String>) -> Error {
    Error::from(KmsServiceError {
        service: SERVICE,
        operation: "LoadClientKey",
        code: "ClientKey".to_owned(),
        message: message.into(),
        request_id: None,
        http_status: None,
        attempts: 1,
    })
}

impl ClientKey {
    /// From the ClientKey JSON text (`{"KeyId": …, "PrivateKeyData": …}`) and its password.
    ///
    /// # Errors
    /// A KMS error with code `ClientKey` if the JSON, the base64, the PKCS#12 or the password
    /// is wrong, or the key is not an RSA key.
    pub fn from_json(json: &str, password: &SecretString) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| client_key_error("the ClientKey is not JSON"))?;
        let key_id = v["KeyId"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| client_key_error("the ClientKey has no KeyId"))?
            .to_owned();
        let data = v["PrivateKeyData"]
            .as_str()
            .ok_or_else(|| client_key_error("the ClientKey has no PrivateKeyData"))?;
        let der = zeroize::Zeroizing::new(
            base64_simd::STANDARD
                .decode_to_vec(data.trim())
                .map_err(|_| client_key_error("PrivateKeyData is not base64"))?,
        );
        let store = p12_keystore::KeyStore::from_pkcs12(
            &der,
            password.as_str(),
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| {
            client_key_error(format!(
                "cannot open the ClientKey's PKCS#12 (wrong password?): {e}"
            ))
        })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| client_key_error("the ClientKey's PKCS#12 holds no private key"))?;
        let pkcs8 = zeroize::Zeroizing::new(chain.key().as_der().to_vec());
        drop(store);
        let pair = RsaKeyPair::from_pkcs8(&pkcs8)
            .map_err(|_| client_key_error("the ClientKey's private key is not an RSA key"))?;
        Ok(Self { key_id, pair })
    }

    /// From the ClientKey file and its password (read bounded, regular files only).
    ///
    /// # Errors
    /// As [`from_json`](Self::from_json), or [`Error::Io`] if the file cannot be read.
    pub fn from_file(path: &Path, password: &SecretString) -> Result<Self> {
        let text = nacoscrypt_core::fs::read_text_file(
            path,
            MAX_CLIENT_KEY_BYTES,
            "reading the ClientKey",
        )?;
        Self::from_json(&text, password)
    }

    /// The ClientKey id (`KAAP.…`).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `Bearer base64(RSA-PKCS1-v1.5-SHA256(string_to_sign))`, as the official SDK writes it.
    pub fn authorization(&self, string_to_sign: &str) -> Result<String> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &rng, string_to_sign.as_bytes(), &mut sig)
            .map_err(|_| client_key_error("signing failed"))?;
        Ok(format!(
            "Bearer {}",
            base64_simd::STANDARD.encode_to_string(&sig)
        ))
    }
}

/// The string the instance API signs (see the module docs).
pub(crate) fn string_to_sign(
    content_sha256: &str,
    date: &str,
    kms_headers: &[(&str, &str)],
) -> String {
    let mut headers: Vec<(&str, &str)> = kms_headers.to_vec();
    headers.sort_unstable();
    let mut s = format!("POST\n{content_sha256}\n{CONTENT_TYPE}\n{date}\n");
    for (k, v) in headers {
        s.push_str(k);
        s.push(':');
        s.push_str(v.trim());
        s.push('\n');
    }
    s.push('/');
    s
}

/// Builds an [`AliyunInstanceKms`].
///
/// ```no_run
/// use nacoscrypt_core::SecretString;
/// use nacoscrypt_kms_aliyun::{AliyunInstanceKms, ClientKey};
///
/// let password = SecretString::from(std::env::var("CLIENT_KEY_PASSWORD").unwrap());
/// let kms = AliyunInstanceKms::builder()
///     .endpoint("kst-hzz65f1.cryptoservice.kms.aliyuncs.com")
///     .client_key(ClientKey::from_file("clientKey.json".as_ref(), &password)?)
///     .ca_pem(std::fs::read_to_string("PrivateKmsCA_kst-hzz65f1.pem").unwrap())
///     .build()?;
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Debug)]
pub struct AliyunInstanceKmsBuilder {
    endpoint: Option<String>,
    client_key: Option<ClientKey>,
    http: HttpSettings,
    retry: RetryPolicy,
    cache: CacheSettings,
    default_key_id: String,
}

impl Default for AliyunInstanceKmsBuilder {
    fn default() -> Self {
        Self {
            endpoint: None,
            client_key: None,
            http: HttpSettings {
                trust: Trust::PublicRoots,
                ..HttpSettings::default()
            },
            retry: RetryPolicy::default(),
            cache: CacheSettings::default(),
            default_key_id: crate::DEFAULT_KEY_ID.to_owned(),
        }
    }
}

impl AliyunInstanceKmsBuilder {
    /// The instance endpoint: a host (`kst-….cryptoservice.kms.aliyuncs.com`), `host:port` or
    /// `https://` URL (required).
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The ClientKey (required).
    #[must_use]
    pub fn client_key(mut self, key: ClientKey) -> Self {
        self.client_key = Some(key);
        self
    }

    /// The instance's CA certificate, PEM text (required: only it is trusted).
    #[must_use]
    pub fn ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.http.trust = Trust::CaPem(pem.into());
        self
    }

    /// Connect and request timeouts (default 5 s and 10 s).
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.http.connect_timeout = connect;
        self.http.request_timeout = request;
        self
    }

    shared_setters!("`alias/acs/mse`");

    /// Builds the client; no request is made yet.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a missing endpoint, ClientKey or CA certificate, or an
    /// `http://` endpoint; a KMS error for a CA text without a certificate.
    pub fn build(self) -> Result<AliyunInstanceKms> {
        let endpoint = self.endpoint.ok_or(Error::InvalidArgument {
            reason: "no KMS instance endpoint",
        })?;
        let (base_url, _) = crate::Endpoint::Custom(endpoint).resolve()?;
        let client_key = self.client_key.ok_or(Error::InvalidArgument {
            reason: "no ClientKey: the instance API signs every request with it",
        })?;
        if self.http.trust == Trust::PublicRoots {
            return Err(Error::InvalidArgument {
                reason: "no CA certificate: a KMS instance is verified with its own CA",
            });
        }
        let http = Http::new(&self.http, crate::USER_AGENT)
            .map_err(|m| Error::kms(format!("TLS setup: {m}")))?;
        Ok(AliyunInstanceKms {
            inner: Arc::new(Inner {
                base_url,
                http,
                client_key,
                retry: self.retry,
                cache: DataKeyCache::new(self.cache),
                counters: Counters::default(),
                default_key_id: self.default_key_id,
            }),
        })
    }
}

/// A dedicated KMS instance (KMS 3.0) through its ClientKey API, as a [`Kms`]. Cheap to clone;
/// thread-safe.
#[derive(Clone, Debug)]
pub struct AliyunInstanceKms {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    base_url: String,
    http: Http,
    client_key: ClientKey,
    retry: RetryPolicy,
    cache: DataKeyCache,
    counters: Counters,
    default_key_id: String,
}

/// A successful answer: the protobuf body and the key version header.
struct Answer {
    body: Vec<u8>,
    key_version_id: Option<String>,
}

fn service_error(
    action: &'static str,
    code: &str,
    message: String,
    request_id: Option<String>,
    status: Option<u16>,
) -> KmsServiceError {
    KmsServiceError {
        service: SERVICE,
        operation: action,
        code: code.to_owned(),
        message,
        request_id,
        http_status: status,
        attempts: 1,
    }
}

fn malformed(action: &'static str, what: &str) -> Error {
    Error::from(service_error(
        action,
        "MalformedResponse",
        what.to_owned(),
        None,
        Some(200),
    ))
}

impl AliyunInstanceKms {
    /// A builder.
    pub fn builder() -> AliyunInstanceKmsBuilder {
        AliyunInstanceKmsBuilder::default()
    }

    /// The counters: cache hits and misses, requests, retries.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The ClientKey id in use.
    pub fn client_key_id(&self) -> &str {
        self.inner.client_key.key_id()
    }

    fn key_id<'a>(&'a self, key_id: &'a str) -> &'a str {
        if key_id.is_empty() {
            &self.inner.default_key_id
        } else {
            key_id
        }
    }

    /// One API call: signed, retried, errors mapped.
    fn call(
        &self,
        action: &'static str,
        body: &[u8],
        key_version_id: Option<&str>,
    ) -> Result<Answer> {
        let inner = &self.inner;
        crate::retry::run(&inner.retry, &inner.counters, |_| {
            self.send_once(action, body, key_version_id)
        })
    }

    fn send_once(
        &self,
        action: &'static str,
        body: &[u8],
        key_version_id: Option<&str>,
    ) -> std::result::Result<Answer, Stop> {
        let inner = &self.inner;
        let sha = crate::sign::sha256_hex(body).to_ascii_uppercase();
        let date = http_date(SystemTime::now());
        let mut kms_headers: Vec<(&str, &str)> = vec![
            ("x-kms-apiversion", API_VERSION),
            ("x-kms-apiname", action),
            ("x-kms-signaturemethod", "RSA_PKCS1_SHA_256"),
            ("x-kms-acccesskeyid", inner.client_key.key_id()),
        ];
        if let Some(v) = key_version_id {
            kms_headers.push((VERSION_HEADER, v));
        }
        let authorization = inner
            .client_key
            .authorization(&string_to_sign(&sha, &date, &kms_headers))
            .map_err(Stop::Error)?;
        let mut headers = kms_headers.clone();
        headers.extend([
            ("accept", CONTENT_TYPE),
            ("content-type", CONTENT_TYPE),
            ("content-sha256", sha.as_str()),
            ("date", date.as_str()),
            ("authorization", authorization.as_str()),
        ]);
        let response = inner
            .http
            .send(
                "POST",
                &format!("{}/", inner.base_url),
                &headers,
                Some(body),
            )
            .map_err(|f| {
                let e = service_error(action, f.kind.code(), f.message, None, None);
                if f.kind.retryable() {
                    Stop::Retry(e)
                } else {
                    Stop::Fail(e)
                }
            })?;
        if response.status == 200 {
            return Ok(Answer {
                key_version_id: response.header(VERSION_HEADER).map(str::to_owned),
                body: response.body,
            });
        }
        let error = Message::parse(&response.body).ok().and_then(|m| {
            let code = m.text(2).filter(|c| !c.is_empty())?;
            Some(service_error(
                action,
                code,
                m.text(3).unwrap_or_default().to_owned(),
                m.text(4).filter(|r| !r.is_empty()).map(str::to_owned),
                Some(response.status),
            ))
        });
        match error {
            Some(e) => Err(Stop::service(e, crate::retry::RETRYABLE)),
            None => {
                let e = service_error(
                    action,
                    "MalformedResponse",
                    format!("HTTP {} without a KMS error body", response.status),
                    None,
                    Some(response.status),
                );
                if matches!(response.status, 500 | 502 | 503 | 504) {
                    Err(Stop::Retry(e))
                } else {
                    Err(Stop::Fail(e))
                }
            }
        }
    }

    /// `Encrypt`: the blob `base64(version ‖ IV ‖ ciphertext)`.
    fn encrypt_bytes(&self, key_id: &str, plaintext: &[u8], aad: &[u8]) -> Result<String> {
        let body = Writer::default()
            .bytes(1, self.key_id(key_id).as_bytes())
            .bytes(2, plaintext)
            .bytes(4, aad)
            .finish();
        let answer = self.call("Encrypt", &body, None)?;
        let m = Message::parse(&answer.body).map_err(|e| malformed("Encrypt", e.0))?;
        let version = answer
            .key_version_id
            .filter(|v| v.len() == KEY_VERSION_ID_LEN)
            .ok_or_else(|| malformed("Encrypt", "the answer has no 36-character key version id"))?;
        let (iv, ciphertext) = (m.bytes(3), m.bytes(2));
        if iv.len() != IV_LEN || ciphertext.is_empty() {
            return Err(malformed(
                "Encrypt",
                "the answer has no 12-byte IV or no ciphertext",
            ));
        }
        let mut blob = Vec::with_capacity(KEY_VERSION_ID_LEN + IV_LEN + ciphertext.len());
        blob.extend_from_slice(version.as_bytes());
        blob.extend_from_slice(iv);
        blob.extend_from_slice(ciphertext);
        Ok(base64_simd::STANDARD.encode_to_string(&blob))
    }

    /// `Decrypt` of a blob.
    fn decrypt_bytes(&self, blob: &str, aad: &[u8]) -> Result<SecretBytes> {
        let raw = base64_simd::STANDARD
            .decode_to_vec(blob.trim())
            .map_err(|_| Error::InvalidBase64 { field: "blob" })?;
        if raw.len() <= KEY_VERSION_ID_LEN + IV_LEN {
            return Err(Error::InvalidArgument {
                reason: "the blob is too short for key version id, IV and ciphertext",
            });
        }
        let version = std::str::from_utf8(&raw[..KEY_VERSION_ID_LEN]).map_err(|_| {
            Error::InvalidArgument {
                reason: "the blob does not start with a key version id",
            }
        })?;
        let body = Writer::default()
            .bytes(1, &raw[KEY_VERSION_ID_LEN + IV_LEN..])
            .bytes(4, aad)
            .bytes(5, &raw[KEY_VERSION_ID_LEN..KEY_VERSION_ID_LEN + IV_LEN])
            .finish();
        let answer = self.call("Decrypt", &body, Some(version))?;
        let m = Message::parse(&answer.body).map_err(|e| malformed("Decrypt", e.0))?;
        Ok(SecretBytes::copy_from(m.bytes(2)))
    }
}

fn aad(context: &Context<'_>) -> Vec<u8> {
    crate::openapi::context_json(context)
        .map(String::into_bytes)
        .unwrap_or_default()
}

impl Kms for AliyunInstanceKms {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        let aad = aad(context);
        let len = i32::try_from(spec.key_len()).unwrap_or(32);
        let body = Writer::default()
            .bytes(1, self.key_id(key_id).as_bytes())
            .int32(3, len)
            .bytes(4, &aad)
            .finish();
        let answer = self.call("GenerateDataKey", &body, None)?;
        let m = Message::parse(&answer.body).map_err(|e| malformed("GenerateDataKey", e.0))?;
        let plaintext = SecretBytes::copy_from(m.bytes(3));
        if plaintext.len() != spec.key_len() {
            return Err(Error::DataKeyLength {
                expected: spec.key_len(),
                len: plaintext.len(),
            });
        }
        // As the official transfer clients store it: the key's base64 text, encrypted.
        let text =
            zeroize::Zeroizing::new(base64_simd::STANDARD.encode_to_string(plaintext.as_bytes()));
        let ciphertext_blob = self.encrypt_bytes(key_id, text.as_bytes(), &aad)?;
        Ok(GeneratedDataKey {
            plaintext,
            ciphertext_blob,
        })
    }

    fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
        self.encrypt_bytes(key_id, plaintext, &aad(context))
    }

    fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        self.decrypt_bytes(ciphertext_blob, &aad(context))
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
        let aad = aad(context);
        let key = cache_key(ciphertext_blob, std::str::from_utf8(&aad).unwrap_or(""));
        crate::cache::through(&self.inner.cache, &self.inner.counters, key, || {
            let text = self.decrypt_bytes(ciphertext_blob, &aad)?;
            let text = std::str::from_utf8(text.as_bytes())
                .map_err(|_| Error::InvalidBase64 { field: "Plaintext" })?;
            base64_simd::STANDARD
                .decode_to_vec(text.trim())
                .map(SecretBytes::from)
                .map_err(|_| Error::InvalidBase64 { field: "Plaintext" })
        })
    }
}

/// Parsers of untrusted input, for the fuzz targets.
pub(crate) mod fuzzing {
    /// Reads an answer body as every action does.
    pub(crate) fn answer(body: &[u8]) {
        if let Ok(m) = crate::proto::Message::parse(body) {
            for f in 1..8 {
                let _ = m.bytes(f);
                let _ = m.text(f);
                let _ = m.varint(f);
            }
        }
    }
}
