//! The AWS KMS client: `GenerateDataKey`, `Encrypt`, `Decrypt` over the JSON 1.1 protocol.

use crate::credentials::{Credential, CredentialCache, Env, Provider, profile_settings};
use crate::sigv4;
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Kms};
use nacoscrypt_core::{Error, KmsServiceError, Result, SecretBytes};
use nacoscrypt_kms_common::cache::{CacheSettings, Counters, DataKeyCache, Stats, cache_key};
use nacoscrypt_kms_common::http::{Http, HttpSettings, Trust};
use nacoscrypt_kms_common::retry::{RetryPolicy, Stop};
use nacoscrypt_kms_common::time::{amz_date, iso8601};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const SERVICE: &str = "AWS KMS";
const USER_AGENT: &str = concat!("nacoscrypt-kms-aws/", env!("CARGO_PKG_VERSION"));

/// The largest plaintext `Encrypt` takes (AWS KMS's limit): a longer one is
/// [`Error::InvalidArgument`] before any request.
///
/// ```
/// use nacoscrypt_core::kms::{Context, Kms};
/// use nacoscrypt_kms_aws::{AwsKms, MAX_ENCRYPT_PLAINTEXT};
///
/// let kms = AwsKms::builder().region("eu-west-1").build()?;
/// let too_long = vec![b'x'; MAX_ENCRYPT_PLAINTEXT + 1];
/// let err = kms.encrypt("alias/nacos", &too_long, &Context::new()).unwrap_err();
/// assert_eq!(err.kind(), nacoscrypt_core::ErrorKind::InvalidArgument);
/// assert_eq!(kms.stats().kms_calls, 0, "refused before any request");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
pub const MAX_ENCRYPT_PLAINTEXT: usize = 4096;

/// The codes AWS KMS asks to retry (any 5xx answer is retried too), within the
/// [`RetryPolicy`].
///
/// ```
/// use nacoscrypt_kms_aws::RETRYABLE_CODES;
///
/// assert!(RETRYABLE_CODES.contains(&"ThrottlingException"));
/// assert!(!RETRYABLE_CODES.contains(&"AccessDeniedException"));
/// ```
pub const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "KMSInternalException",
    "ServiceUnavailableException",
    "InternalFailure",
    "RequestLimitExceeded",
];

/// Builds an [`AwsKms`].
///
/// The region comes from [`region`](Self::region), else `AWS_REGION` / `AWS_DEFAULT_REGION`,
/// else the profile's `region`; the endpoint from [`endpoint`](Self::endpoint), else
/// `AWS_ENDPOINT_URL_KMS` / `AWS_ENDPOINT_URL`, else `https://kms.REGION.amazonaws.com`
/// (STS likewise with `AWS_ENDPOINT_URL_STS`).
///
/// ```no_run
/// use nacoscrypt_kms_aws::AwsKms;
///
/// let kms = AwsKms::builder()
///     .region("eu-west-1")
///     .default_key_id("alias/nacos")
///     .build()?;
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct AwsKmsBuilder {
    region: Option<String>,
    endpoint: Option<String>,
    sts_endpoint: Option<String>,
    profile: Option<String>,
    credentials: Option<Provider>,
    env: Option<Env>,
    http: HttpSettings,
    metadata_timeouts: Option<(Duration, Duration)>,
    container_relative_base: Option<String>,
    retry: RetryPolicy,
    cache: CacheSettings,
    default_key_id: String,
}

fn https_base(raw: &str, what: &'static str) -> Result<String> {
    let raw = raw.trim().trim_end_matches('/');
    let host = if let Some(rest) = raw.strip_prefix("https://") {
        rest
    } else if raw.contains("://") {
        return Err(Error::InvalidArgument { reason: what });
    } else {
        raw
    };
    if host.is_empty() || host.contains(['/', '?', '#', '@', ' ']) {
        return Err(Error::InvalidArgument {
            reason: "an AWS endpoint must be a host, host:port or https:// URL without a path",
        });
    }
    Ok(format!(
        "https://{}",
        host.strip_suffix(":443").unwrap_or(host)
    ))
}

impl AwsKmsBuilder {
    /// The region (`eu-west-1`); see [`AwsKmsBuilder`] for the defaults.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::{AwsKms, Env};
    ///
    /// let env = Env::from_pairs([("AWS_REGION", "us-east-1")]);
    /// let kms = AwsKms::builder().environment(env).region("eu-west-1").build()?;
    /// assert_eq!(kms.region(), "eu-west-1", "the builder's region wins over AWS_REGION");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The KMS endpoint: a host, `host:port` or `https://` URL (`http://` is refused).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let kms = AwsKms::builder().region("eu-west-1").endpoint("kms.internal:8443").build()?;
    /// assert_eq!(kms.endpoint(), "https://kms.internal:8443");
    /// let plain = AwsKms::builder().region("eu-west-1").endpoint("http://kms.internal").build();
    /// assert!(plain.is_err());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The STS endpoint of web-identity credentials (default `https://sts.REGION.amazonaws.com`).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let kms = AwsKms::builder()
    ///     .region("eu-west-1")
    ///     .sts_endpoint("https://sts.eu-west-1.amazonaws.com")
    ///     .build()?;
    /// # drop(kms);
    /// assert!(AwsKms::builder().region("eu-west-1").sts_endpoint("http://sts").build().is_err());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn sts_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.sts_endpoint = Some(endpoint.into());
        self
    }

    /// Use this profile of the shared files: its credentials (unless
    /// [`credentials`](Self::credentials) is set) and its region.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::{AwsKms, Env, Provider};
    ///
    /// # let dir = std::env::temp_dir().join(format!("aws-doc-profile-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let config = dir.join("config");
    /// std::fs::write(&config, "[profile prod]\nregion = ap-southeast-2\n")?;
    /// let env = Env::from_pairs([("AWS_CONFIG_FILE", config.display().to_string())]);
    /// let kms = AwsKms::builder().environment(env).profile("prod").build()?;
    /// assert_eq!(kms.region(), "ap-southeast-2");
    /// assert!(matches!(kms.provider(), Provider::Profile(Some(p)) if p == "prod"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// The credentials (default [`Provider::default_chain`], or the [`profile`](Self::profile)).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::{AwsKms, Provider};
    ///
    /// let kms = AwsKms::builder()
    ///     .region("eu-west-1")
    ///     .credentials(Provider::InstanceMetadata)
    ///     .build()?;
    /// assert!(matches!(kms.provider(), Provider::InstanceMetadata));
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn credentials(mut self, provider: Provider) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// The variables read (default [`Env::process`] at [`build`](Self::build)).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::{AwsKms, Env};
    ///
    /// let env = Env::from_pairs([
    ///     ("AWS_REGION", "eu-central-1"),
    ///     ("AWS_ENDPOINT_URL_KMS", "https://kms.example.internal"),
    /// ]);
    /// let kms = AwsKms::builder().environment(env).build()?;
    /// assert_eq!((kms.region(), kms.endpoint()), ("eu-central-1", "https://kms.example.internal"));
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn environment(mut self, env: Env) -> Self {
        self.env = Some(env);
        self
    }

    /// Trust only this CA (PEM text) for KMS and STS (a private endpoint, tests).
    ///
    /// ```no_run
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let pem = std::fs::read_to_string("/etc/pki/kms-proxy-ca.pem")?;
    /// let kms = AwsKms::builder()
    ///     .region("eu-west-1")
    ///     .endpoint("kms-proxy.internal:8443")
    ///     .ca_pem(pem)
    ///     .build()?;
    /// # drop(kms);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.http.trust = Trust::CaPem(pem.into());
        self
    }

    /// Connect and whole-request timeouts of KMS and STS requests (default 5 s and 10 s).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    /// use std::time::Duration;
    ///
    /// let kms = AwsKms::builder()
    ///     .region("eu-west-1")
    ///     .timeouts(Duration::from_secs(2), Duration::from_secs(5))
    ///     .build()?;
    /// # drop(kms);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.http.connect_timeout = connect;
        self.http.request_timeout = request;
        self
    }

    /// Connect and whole-request timeouts of the instance metadata service and the plain-http
    /// container endpoint (default 1 s and 3 s: they answer at once on their link-local
    /// address, or not at all).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    /// use std::time::Duration;
    ///
    /// let kms = AwsKms::builder()
    ///     .region("eu-west-1")
    ///     .metadata_timeouts(Duration::from_millis(500), Duration::from_secs(2))
    ///     .build()?;
    /// # drop(kms);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn metadata_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.metadata_timeouts = Some((connect, request));
        self
    }

    /// Where `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is resolved: by default
    /// `http://169.254.170.2`, the ECS agent, as every AWS SDK does. For tests and local
    /// stand-ins of the ECS agent only; [`build`](Self::build) accepts nothing but `http://`
    /// to a loopback address or the ECS / EKS addresses, without a path, so this can never send
    /// the container's credentials request elsewhere. The process environment cannot set it.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let ok = AwsKms::builder().region("eu-west-1").container_relative_base("http://127.0.0.1:8080");
    /// assert!(ok.build().is_ok());
    /// let far = AwsKms::builder().region("eu-west-1").container_relative_base("http://10.0.0.1");
    /// assert!(far.build().is_err());
    /// ```
    #[must_use]
    pub fn container_relative_base(mut self, base: impl Into<String>) -> Self {
        self.container_relative_base = Some(base.into());
        self
    }

    /// Retries (default [`RetryPolicy::default`]), of the KMS calls and of each request that
    /// fetches credentials (see [`credentials`](crate::credentials#failures-of-the-credential-endpoints)).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::{AwsKms, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let kms = AwsKms::builder()
    ///     .region("eu-west-1")
    ///     .retry(RetryPolicy { max_total: Duration::from_secs(5), ..RetryPolicy::default() })
    ///     .build()?;
    /// # drop(kms);
    /// let once = AwsKms::builder().region("eu-west-1").retry(RetryPolicy::none()).build()?;
    /// # drop(once);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The decrypt-side data-key cache (default off).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::{AwsKms, CacheSettings};
    ///
    /// // Keep unwrapped data keys to ride out a KMS outage, as the Java MSE extension does.
    /// let kms = AwsKms::builder().region("eu-west-1").cache(CacheSettings::fallback()).build()?;
    /// assert_eq!(kms.stats().cache_hits, 0);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn cache(mut self, cache: CacheSettings) -> Self {
        self.cache = cache;
        self
    }

    /// The key used when a caller passes an empty key id (a key id, ARN or `alias/…`; default
    /// none: an empty key id is an error).
    ///
    /// ```
    /// use nacoscrypt_core::kms::{Context, Kms};
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let bare = AwsKms::builder().region("eu-west-1").build()?;
    /// let err = bare.encrypt("", b"x", &Context::new()).unwrap_err();
    /// assert_eq!(err.kind(), nacoscrypt_core::ErrorKind::InvalidArgument, "no key, no request");
    /// let kms = AwsKms::builder().region("eu-west-1").default_key_id("alias/nacos").build()?;
    /// # drop(kms);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    #[must_use]
    pub fn default_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.default_key_id = key_id.into();
        self
    }

    /// Builds the client. Fails without a region, on a plain-HTTP endpoint or a CA text without
    /// a certificate. No request is made yet.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::{AwsKms, Env};
    ///
    /// let no_region = AwsKms::builder().environment(Env::default()).build().unwrap_err();
    /// assert!(no_region.to_string().contains("no AWS region"));
    /// let kms = AwsKms::builder().environment(Env::default()).region("eu-west-1").build()?;
    /// assert_eq!(kms.stats().kms_calls, 0, "no request at build");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn build(self) -> Result<AwsKms> {
        let env = self.env.unwrap_or_else(Env::process);
        let profile_name = self.profile.clone().unwrap_or_else(|| env.profile());
        let profile = profile_settings(&env, &profile_name)?;
        let region = self
            .region
            .clone()
            .or_else(|| env.get("AWS_REGION").map(str::to_owned))
            .or_else(|| env.get("AWS_DEFAULT_REGION").map(str::to_owned))
            .or_else(|| profile.as_ref().and_then(|p| p.get("region").cloned()))
            .filter(|r| !r.is_empty())
            .ok_or(Error::InvalidArgument {
                reason: "no AWS region: set one, or AWS_REGION, or a profile's region",
            })?;
        if !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::InvalidArgument {
                reason: "an AWS region is letters, digits and '-'",
            });
        }
        let endpoint = match self
            .endpoint
            .clone()
            .or_else(|| env.get("AWS_ENDPOINT_URL_KMS").map(str::to_owned))
            .or_else(|| env.get("AWS_ENDPOINT_URL").map(str::to_owned))
        {
            Some(e) => https_base(
                &e,
                "the KMS endpoint must use https:// (plain HTTP would expose the keys)",
            )?,
            None => format!("https://kms.{region}.amazonaws.com"),
        };
        let sts_url = match self
            .sts_endpoint
            .clone()
            .or_else(|| env.get("AWS_ENDPOINT_URL_STS").map(str::to_owned))
            .or_else(|| env.get("AWS_ENDPOINT_URL").map(str::to_owned))
        {
            Some(e) => https_base(&e, "the STS endpoint must use https://")?,
            None => format!("https://sts.{region}.amazonaws.com"),
        };
        let host = endpoint.trim_start_matches("https://").to_owned();
        let http =
            Http::new(&self.http, USER_AGENT).map_err(|m| Error::kms(format!("TLS setup: {m}")))?;
        let container_base = match &self.container_relative_base {
            Some(b) => crate::credentials::container_relative_base(b)?,
            None => crate::credentials::CONTAINER_RELATIVE_BASE.to_owned(),
        };
        // The metadata endpoints answer at once on their link-local address or not at all.
        let (metadata_connect, metadata_request) = self
            .metadata_timeouts
            .unwrap_or((Duration::from_secs(1), Duration::from_secs(3)));
        let metadata = Http::new(
            &HttpSettings {
                connect_timeout: metadata_connect,
                request_timeout: metadata_request,
                max_response_bytes: 64 << 10,
                trust: Trust::PublicRoots,
            },
            USER_AGENT,
        )
        .map_err(|m| Error::kms(format!("TLS setup: {m}")))?;
        let provider = match (self.credentials, self.profile) {
            (Some(p), _) => p,
            (None, Some(name)) => Provider::Profile(Some(name)),
            (None, None) => Provider::default_chain(),
        };
        let credentials = CredentialCache::new(
            provider,
            env,
            (http.clone(), metadata),
            sts_url,
            container_base,
            self.retry,
        );
        Ok(AwsKms {
            inner: Arc::new(Inner {
                endpoint,
                host,
                region,
                http,
                credentials,
                retry: self.retry,
                cache: DataKeyCache::new(self.cache),
                counters: Counters::default(),
                default_key_id: self.default_key_id,
            }),
        })
    }
}

/// AWS KMS as a [`Kms`]: data keys and ciphertexts travel as the base64 of AWS's
/// `CiphertextBlob` (what boto3's `base64.b64encode(blob)` gives), the context as the request's
/// `EncryptionContext`. Cheap to clone (shares the connection pool, credentials and cache);
/// thread-safe.
///
/// Errors: AWS's `__type` is the [`KmsServiceError`] code; `NotFoundException` is
/// [`Error::UnknownKeyId`] and `InvalidCiphertextException` / `IncorrectKeyException` (a blob
/// under another context or key) [`Error::AuthenticationFailed`]. `ThrottlingException`,
/// `KMSInternalException`, any 5xx and network failures are retried ([`RETRYABLE_CODES`]),
/// within the [`RetryPolicy`]'s count and time.
///
/// ```no_run
/// use nacoscrypt_core::config::{self, ConfigId};
/// use nacoscrypt_kms_aws::AwsKms;
///
/// let kms = AwsKms::builder().region("eu-west-1").default_key_id("alias/nacos").build()?;
/// let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
/// # let (content, encrypted_data_key) = ("", "");
/// let plain = config::decrypt(&kms, &id, content, encrypted_data_key)?;
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AwsKms {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: String,
    host: String,
    region: String,
    http: Http,
    credentials: CredentialCache,
    retry: RetryPolicy,
    cache: DataKeyCache,
    counters: Counters,
    default_key_id: String,
}

/// What [`AwsKms::check`] found.
///
/// ```no_run
/// use nacoscrypt_kms_aws::{AwsKms, CheckReport};
///
/// let kms = AwsKms::builder().region("eu-west-1").build()?;
/// let CheckReport { provider, access_key_id, expires, region, key_id } = kms.check("alias/nacos")?;
/// println!("{key_id} in {region} as {access_key_id} ({provider}, until {expires:?})");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The credential source that answered (`env`, `profile:dev`, `web_identity`, …).
    pub provider: String,
    /// The access key id used (not secret).
    pub access_key_id: String,
    /// Until when temporary credentials are valid (UTC).
    pub expires: Option<String>,
    /// The region.
    pub region: String,
    /// The key as AWS names it (its ARN).
    pub key_id: String,
}

/// What an answer meant.
pub(crate) enum Answer {
    Ok(serde_json::Value),
    Service(KmsServiceError),
}

/// A failure without a usable answer.
pub(crate) struct Failed {
    pub(crate) retryable: bool,
    pub(crate) error: KmsServiceError,
}

fn service_error(
    operation: &'static str,
    code: &str,
    message: String,
    request_id: Option<String>,
    http_status: Option<u16>,
) -> KmsServiceError {
    KmsServiceError {
        service: SERVICE,
        operation,
        code: code.to_owned(),
        message,
        request_id,
        http_status,
        attempts: 1,
    }
}

/// The error code of an AWS JSON error's `__type`: `com.amazonaws.kms#NotFoundException` →
/// `NotFoundException`.
pub(crate) fn error_code(t: &str) -> &str {
    let t = t.rsplit('#').next().unwrap_or(t);
    t.split(':').next().unwrap_or(t)
}

/// Interprets a KMS answer of `status` with `body`.
pub(crate) fn interpret(
    operation: &'static str,
    status: u16,
    body: &[u8],
    request_id: Option<String>,
) -> std::result::Result<Answer, Failed> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    match (status, json) {
        (200, Some(v)) if v.is_object() => Ok(Answer::Ok(v)),
        (200, _) => Err(Failed {
            retryable: false,
            error: service_error(
                operation,
                "MalformedResponse",
                "HTTP 200 with a body that is not a JSON object".to_owned(),
                request_id,
                Some(200),
            ),
        }),
        (status, Some(v)) if v["__type"].is_string() => {
            let code = error_code(v["__type"].as_str().unwrap_or_default());
            let message = v["message"]
                .as_str()
                .or_else(|| v["Message"].as_str())
                .unwrap_or_default()
                .to_owned();
            Ok(Answer::Service(service_error(
                operation,
                code,
                message,
                request_id,
                Some(status),
            )))
        }
        (status, _) => Err(Failed {
            retryable: status >= 500,
            error: service_error(
                operation,
                "MalformedResponse",
                format!("HTTP {status} without an AWS error body"),
                request_id,
                Some(status),
            ),
        }),
    }
}

/// A base64 field of an answer, decoded.
pub(crate) fn b64_field(
    v: &serde_json::Value,
    name: &str,
    operation: &'static str,
) -> Result<SecretBytes> {
    let text = v[name].as_str().ok_or_else(|| {
        Error::from(service_error(
            operation,
            "MalformedResponse",
            format!("the answer has no {name}"),
            None,
            Some(200),
        ))
    })?;
    base64_simd::STANDARD
        .decode_to_vec(text)
        .map(SecretBytes::from)
        .map_err(|_| Error::InvalidBase64 { field: "Plaintext" })
}

fn string_field(v: &serde_json::Value, name: &str, operation: &'static str) -> Result<String> {
    v[name].as_str().map(str::to_owned).ok_or_else(|| {
        Error::from(service_error(
            operation,
            "MalformedResponse",
            format!("the answer has no {name}"),
            None,
            Some(200),
        ))
    })
}

fn context_json(context: &Context<'_>) -> Option<serde_json::Value> {
    if context.is_empty() {
        return None;
    }
    Some(serde_json::Value::Object(
        context
            .iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
            .collect(),
    ))
}

/// A service error as the core's kind, where one fits.
fn classify(e: KmsServiceError) -> Stop {
    match e.code.as_str() {
        "NotFoundException" => Stop::Error(Error::UnknownKeyId),
        "InvalidCiphertextException" | "IncorrectKeyException" => {
            Stop::Error(Error::AuthenticationFailed)
        }
        _ if e.http_status.is_some_and(|s| s >= 500) => Stop::Retry(e),
        _ => Stop::service(e, RETRYABLE_CODES),
    }
}

impl AwsKms {
    /// A builder (see [`AwsKmsBuilder`]).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let kms = AwsKms::builder().region("eu-west-1").default_key_id("alias/nacos").build()?;
    /// assert_eq!(kms.region(), "eu-west-1");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn builder() -> AwsKmsBuilder {
        AwsKmsBuilder::default()
    }

    /// The counters: cache hits and misses, KMS requests, retries.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let kms = AwsKms::builder().region("eu-west-1").build()?;
    /// assert_eq!(kms.stats().kms_calls, 0);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The region used.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let kms = AwsKms::builder().region("eu-west-1").build()?;
    /// assert_eq!(kms.region(), "eu-west-1");
    /// assert_eq!(kms.endpoint(), "https://kms.eu-west-1.amazonaws.com");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The KMS endpoint used (`https://…`); see also [`region`](Self::region).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let kms = AwsKms::builder().region("ap-northeast-1").build()?;
    /// assert_eq!(kms.endpoint(), "https://kms.ap-northeast-1.amazonaws.com");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The credential source configured.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::{AwsKms, Provider};
    ///
    /// let kms = AwsKms::builder().region("eu-west-1").build()?;
    /// assert!(matches!(kms.provider(), Provider::Chain(_)), "the standard chain by default");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn provider(&self) -> &Provider {
        self.inner.credentials.provider()
    }

    /// Checks that credentials can be had and `key_id` (empty: the default key) encrypts and
    /// decrypts: an `Encrypt` and a `Decrypt` of a fixed text. Reports which source answered;
    /// never a secret.
    ///
    /// ```no_run
    /// use nacoscrypt_kms_aws::AwsKms;
    ///
    /// let kms = AwsKms::builder().region("eu-west-1").build()?;
    /// let report = kms.check("alias/nacos")?;
    /// println!("{} via {}", report.key_id, report.provider);
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn check(&self, key_id: &str) -> Result<CheckReport> {
        let credential = self.inner.credentials.get()?;
        const TEXT: &[u8] = b"nacoscrypt kms check";
        let body = serde_json::json!({
            "KeyId": self.key_id(key_id)?,
            "Plaintext": base64_simd::STANDARD.encode_to_string(TEXT),
        });
        let v = self.call("Encrypt", &body)?;
        let blob = string_field(&v, "CiphertextBlob", "Encrypt")?;
        let key_arn = v["KeyId"].as_str().unwrap_or_default().to_owned();
        let d = self.call("Decrypt", &serde_json::json!({ "CiphertextBlob": blob }))?;
        if b64_field(&d, "Plaintext", "Decrypt")?.as_bytes() != TEXT {
            return Err(Error::kms("Decrypt did not return what Encrypt was given"));
        }
        Ok(CheckReport {
            provider: credential.provider.clone(),
            access_key_id: credential.access_key_id.clone(),
            expires: credential.expiration.map(iso8601),
            region: self.inner.region.clone(),
            key_id: key_arn,
        })
    }

    fn key_id<'a>(&'a self, key_id: &'a str) -> Result<&'a str> {
        let k = if key_id.is_empty() {
            self.inner.default_key_id.as_str()
        } else {
            key_id
        };
        if k.is_empty() {
            return Err(Error::InvalidArgument {
                reason: "no AWS KMS key id: pass one or set a default key id",
            });
        }
        Ok(k)
    }

    /// One call with signing, retries and error mapping; the JSON answer.
    fn call(&self, operation: &'static str, body: &serde_json::Value) -> Result<serde_json::Value> {
        let inner = &self.inner;
        let body = zeroize::Zeroizing::new(body.to_string().into_bytes());
        let mut renewed = false;
        nacoscrypt_kms_common::retry::run(&inner.retry, &inner.counters, |attempt| {
            let credential = inner.credentials.get().map_err(Stop::Error)?;
            match self.send_once(operation, &body, &credential) {
                Ok(Answer::Ok(v)) => Ok(v),
                // Expired temporary credentials: fetch new ones once and try again.
                Ok(Answer::Service(e))
                    if matches!(e.code.as_str(), "ExpiredTokenException" | "ExpiredToken")
                        && !renewed =>
                {
                    renewed = true;
                    inner.credentials.invalidate();
                    if attempt < inner.retry.max_attempts.max(2) {
                        Err(Stop::RetryNow(e))
                    } else {
                        Err(Stop::Fail(e))
                    }
                }
                Ok(Answer::Service(e)) => Err(classify(e)),
                Err(f) if f.retryable => Err(Stop::Retry(f.error)),
                Err(f) => Err(Stop::Fail(f.error)),
            }
        })
    }

    fn send_once(
        &self,
        operation: &'static str,
        body: &[u8],
        credential: &Credential,
    ) -> std::result::Result<Answer, Failed> {
        let inner = &self.inner;
        let date = amz_date(SystemTime::now());
        let target = format!("TrentService.{operation}");
        let mut headers: Vec<(&str, &str)> = vec![
            ("Host", &inner.host),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Date", &date),
            ("X-Amz-Target", &target),
        ];
        if let Some(token) = &credential.session_token {
            headers.push(("X-Amz-Security-Token", token.as_str()));
        }
        let authorization = sigv4::authorization(
            &sigv4::Request {
                method: "POST",
                path: "/",
                query: &[],
                headers: &headers,
                body,
            },
            &credential.access_key_id,
            credential.secret_access_key.as_str().as_bytes(),
            &inner.region,
            "kms",
        );
        headers.push(("Authorization", &authorization));
        // ureq writes Host itself, from the URL: the value signed above.
        headers.retain(|(k, _)| *k != "Host");
        let response = inner
            .http
            .send(
                "POST",
                &format!("{}/", inner.endpoint),
                &headers,
                Some(body),
            )
            .map_err(|f| Failed {
                retryable: f.kind.retryable(),
                error: service_error(operation, f.kind.code(), f.message, None, None),
            })?;
        let request_id = response.header("x-amzn-requestid").map(str::to_owned);
        interpret(operation, response.status, &response.body, request_id)
    }

    fn unwrap_data_key(&self, blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        let mut body = serde_json::json!({ "CiphertextBlob": blob });
        if let Some(c) = context_json(context) {
            body["EncryptionContext"] = c;
        }
        let v = self.call("Decrypt", &body)?;
        b64_field(&v, "Plaintext", "Decrypt")
    }
}

fn check_blob(blob: &str) -> Result<()> {
    // AWS ciphertexts are at most 6144 bytes: base64 of at most 8192 characters.
    if blob.is_empty() || blob.len() > 8192 {
        return Err(Error::InvalidArgument {
            reason: "an AWS KMS ciphertext blob is 1 to 8192 base64 characters",
        });
    }
    if base64_simd::STANDARD.decode_to_vec(blob).is_err() {
        return Err(Error::InvalidBase64 { field: "blob" });
    }
    Ok(())
}

impl Kms for AwsKms {
    fn generate_data_key(
        &self,
        key_id: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<GeneratedDataKey> {
        let mut body = serde_json::json!({
            "KeyId": self.key_id(key_id)?,
            "KeySpec": spec.as_str(),
        });
        if let Some(c) = context_json(context) {
            body["EncryptionContext"] = c;
        }
        let v = self.call("GenerateDataKey", &body)?;
        let plaintext = b64_field(&v, "Plaintext", "GenerateDataKey")?;
        if plaintext.len() != spec.key_len() {
            return Err(Error::DataKeyLength {
                expected: spec.key_len(),
                len: plaintext.len(),
            });
        }
        Ok(GeneratedDataKey {
            plaintext,
            ciphertext_blob: string_field(&v, "CiphertextBlob", "GenerateDataKey")?,
        })
    }

    fn encrypt(&self, key_id: &str, plaintext: &[u8], context: &Context<'_>) -> Result<String> {
        if plaintext.is_empty() || plaintext.len() > MAX_ENCRYPT_PLAINTEXT {
            return Err(Error::InvalidArgument {
                reason: "AWS KMS Encrypt takes 1 to 4096 bytes of plaintext",
            });
        }
        let key_id = self.key_id(key_id)?;
        let text = zeroize::Zeroizing::new(base64_simd::STANDARD.encode_to_string(plaintext));
        let mut body = serde_json::json!({ "KeyId": key_id, "Plaintext": text.as_str() });
        if let Some(c) = context_json(context) {
            body["EncryptionContext"] = c;
        }
        let v = self.call("Encrypt", &body)?;
        string_field(&v, "CiphertextBlob", "Encrypt")
    }

    fn decrypt(&self, ciphertext_blob: &str, context: &Context<'_>) -> Result<SecretBytes> {
        check_blob(ciphertext_blob)?;
        self.unwrap_data_key(ciphertext_blob, context)
    }

    fn decrypt_data_key(
        &self,
        ciphertext_blob: &str,
        spec: KeySpec,
        context: &Context<'_>,
    ) -> Result<SecretBytes> {
        check_blob(ciphertext_blob)?;
        let context_text = context_json(context).map(|c| c.to_string());
        let key = cache_key(ciphertext_blob, context_text.as_deref().unwrap_or(""));
        let k = nacoscrypt_kms_common::cache::through(
            &self.inner.cache,
            &self.inner.counters,
            key,
            || self.unwrap_data_key(ciphertext_blob, context),
        )?;
        if k.len() != spec.key_len() {
            return Err(Error::DataKeyLength {
                expected: spec.key_len(),
                len: k.len(),
            });
        }
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes() {
        assert_eq!(
            error_code("com.amazonaws.kms#NotFoundException"),
            "NotFoundException"
        );
        assert_eq!(error_code("ThrottlingException"), "ThrottlingException");
        assert_eq!(
            error_code("ValidationException:http://x"),
            "ValidationException"
        );
    }

    #[test]
    fn answers() {
        let e = match interpret(
            "Decrypt",
            400,
            br#"{"__type":"NotFoundException","message":"gone"}"#,
            None,
        ) {
            Ok(Answer::Service(e)) => e,
            _ => unreachable!("a service error"),
        };
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("NotFoundException", "gone")
        );
        assert!(matches!(classify(e), Stop::Error(Error::UnknownKeyId)));
        assert!(matches!(
            interpret("Decrypt", 200, b"<html>", None),
            Err(Failed {
                retryable: false,
                ..
            })
        ));
        assert!(matches!(
            interpret("Decrypt", 502, b"<html>", None),
            Err(Failed {
                retryable: true,
                ..
            })
        ));
        let t = match interpret("Decrypt", 400, br#"{"__type":"ThrottlingException"}"#, None) {
            Ok(Answer::Service(e)) => e,
            _ => unreachable!("a service error"),
        };
        assert!(matches!(classify(t), Stop::Retry(_)));
    }

    #[test]
    fn endpoints_and_limits() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "s")]);
        let b = || AwsKms::builder().environment(env.clone());
        assert_eq!(
            b().build().unwrap_err().kind(),
            nacoscrypt_core::ErrorKind::InvalidArgument
        );
        let k = b()
            .region("us-east-1")
            .endpoint("127.0.0.1:4443")
            .build()
            .unwrap();
        assert_eq!(k.endpoint(), "https://127.0.0.1:4443");
        assert!(
            b().region("us-east-1")
                .endpoint("http://127.0.0.1:1")
                .build()
                .is_err()
        );
        assert!(b().region("us east").build().is_err());
        let k = b().region("us-east-1").build().unwrap();
        let err = k
            .encrypt("alias/x", &[0u8; 4097], &Context::new())
            .unwrap_err();
        assert_eq!(err.kind(), nacoscrypt_core::ErrorKind::InvalidArgument);
        assert_eq!(
            k.stats().kms_calls,
            0,
            "no request for a plaintext over the limit"
        );
        assert!(k.encrypt("", b"x", &Context::new()).is_err());
        assert!(k.decrypt("not base64!", &Context::new()).is_err());
        let env = Env::from_pairs([
            ("AWS_REGION", "eu-west-3"),
            ("AWS_ENDPOINT_URL_KMS", "https://kms.local:9"),
        ]);
        let k = AwsKms::builder().environment(env).build().unwrap();
        assert_eq!(
            (k.region(), k.endpoint()),
            ("eu-west-3", "https://kms.local:9")
        );
    }
}
