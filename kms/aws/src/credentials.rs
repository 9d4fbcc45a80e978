//! AWS credentials: the standard chain of the AWS SDKs, each source usable on its own, cached
//! and refreshed before temporary credentials expire.
//!
//! The default chain ([`Provider::default_chain`]) tries, in order:
//! 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 2. a web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`),
//!    exchanged at STS by `AssumeRoleWithWebIdentity` (EKS service accounts);
//! 3. the shared files: profile `AWS_PROFILE` (or `default`) of `AWS_SHARED_CREDENTIALS_FILE`
//!    (`~/.aws/credentials`) and `AWS_CONFIG_FILE` (`~/.aws/config`, `[profile NAME]`): static
//!    keys, or `role_arn` + `web_identity_token_file`;
//! 4. the container endpoint: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on `169.254.170.2`;
//!    tests move it with [`AwsKmsBuilder::container_relative_base`](crate::AwsKmsBuilder::container_relative_base))
//!    or `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, or http on loopback and the ECS / EKS
//!    addresses), with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` / `_TOKEN`;
//! 5. the instance metadata service with IMDSv2 (a `PUT` for a session token, then `GET`s),
//!    at `AWS_EC2_METADATA_SERVICE_ENDPOINT` (default `http://169.254.169.254`), unless
//!    `AWS_EC2_METADATA_DISABLED=true`.
//!
//! This is botocore's default order for the sources it shares with this client (botocore also
//! has SSO, `credential_process` and `source_profile`, which this client refuses). A source that
//! is not configured is skipped; one that is configured and fails stops the chain with its
//! error (as the SDKs do), so a broken web identity never falls through to the instance's role.
//! Temporary credentials are fetched again from half their life (at most 15 minutes) before
//! they expire, by one thread while the others go on with the current ones, and are never used
//! in their last tenth (at most a minute).
//!
//! # Failures of the credential endpoints
//! A request to STS, the container endpoint or the instance metadata service is tried again,
//! under the client's [`RetryPolicy`] (its attempts per request, its backoff,
//! and its `max_total` for the whole fetch), when it gets no answer (refused, reset, timed out),
//! HTTP 429 or a 5xx, STS's `Throttling` / `ThrottlingException` / `RequestLimitExceeded` /
//! `IDPCommunicationError`, or, from the metadata endpoints, an answer that is not their JSON
//! (as botocore does). A fetch therefore ends within `max_total` plus one request's timeout
//! (STS: the client's [`timeouts`](crate::AwsKmsBuilder::timeouts); the metadata endpoints:
//! [`metadata_timeouts`](crate::AwsKmsBuilder::metadata_timeouts), 1 s to connect and 3 s in
//! all by default). Any other answer fails at once: a 4xx of the metadata endpoints
//! (`container credentials: HTTP 401`, `instance metadata (role): HTTP 404 …`), STS's own
//! errors (`AccessDenied`, `InvalidIdentityToken`, …, service `AWS STS`), or an STS answer
//! without credentials (`STS answered without …`). The error's
//! [`attempts`](nacoscrypt_core::KmsServiceError::attempts) counts the tries of the request
//! that failed.
//!
//! Variables come from an [`Env`]: the process environment when the client is built, or a
//! given set (tests, embedders that configure clients side by side).
//!
//! ```
//! use nacoscrypt_kms_aws::credentials::{Env, Provider};
//!
//! let env = Env::from_pairs([
//!     ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
//!     ("AWS_SECRET_ACCESS_KEY", "secret"),
//! ]);
//! let c = Provider::Environment.resolve_offline(&env)?.expect("configured");
//! assert_eq!(c.access_key_id, "AKIDEXAMPLE");
//! assert!(!format!("{c:?}").contains("secret\""));
//! # Ok::<(), nacoscrypt_core::Error>(())
//! ```

use nacoscrypt_core::{Error, KmsServiceError, SecretString};
use nacoscrypt_kms_common::http::Http;
use nacoscrypt_kms_common::retry::RetryPolicy;
use nacoscrypt_kms_common::time::{iso8601, parse_iso8601};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

const SERVICE: &str = "AWS credentials";

/// One set of credentials. Its `Debug` shows the access key id, never the secret or the
/// session token.
///
/// ```
/// use nacoscrypt_kms_aws::credentials::{Env, Provider};
///
/// let env = Env::from_pairs([
///     ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
///     ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
///     ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr"),
/// ]);
/// let c = Provider::Environment.resolve_offline(&env)?.expect("configured");
/// assert_eq!((c.access_key_id.as_str(), c.provider.as_str()), ("AKIDEXAMPLE", "env"));
/// assert_eq!(c.session_token.as_ref().map(|t| t.as_str()), Some("FwoGZXIvYXdzEJr"));
/// assert!(c.expiration.is_none(), "keys from the environment do not expire");
/// let shown = format!("{c:?}");
/// assert!(!shown.contains("wJalrXUtnFEMI") && !shown.contains("FwoGZXIvYXdzEJr"));
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Credential {
    /// The access key id (not secret).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
    /// The session token of temporary credentials.
    pub session_token: Option<SecretString>,
    /// When temporary credentials expire.
    pub expiration: Option<SystemTime>,
    /// The source that made it (`env`, `profile:NAME`, `web_identity`, `container`, `imds`).
    pub provider: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[REDACTED]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("expiration", &self.expiration.map(iso8601))
            .field("provider", &self.provider)
            .finish()
    }
}

/// The variables the credential chain and the client read (see the [module](self) docs).
///
/// ```
/// use nacoscrypt_kms_aws::credentials::Env;
///
/// let env = Env::from_pairs([("AWS_REGION", "eu-west-1")]);
/// assert_eq!(env.get("AWS_REGION"), Some("eu-west-1"));
/// assert_eq!(env.get("AWS_PROFILE"), None);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values may be secrets.
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl Env {
    /// The `AWS_*` variables and `HOME` of this process, now.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::credentials::Env;
    ///
    /// let env = Env::process();
    /// assert_eq!(env.get("PATH"), None, "only AWS_* and HOME are kept");
    /// ```
    pub fn process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| k.starts_with("AWS_") || k == "HOME")
                .collect(),
        }
    }

    /// Exactly these variables (see [`Env`]); the process environment is not read.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::credentials::Env;
    ///
    /// let env = Env::from_pairs([("AWS_PROFILE", "prod"), ("AWS_REGION", "eu-west-1")]);
    /// assert_eq!(env.get("AWS_PROFILE"), Some("prod"));
    /// let owned = Env::from_pairs(vec![("AWS_REGION".to_owned(), String::from("us-east-1"))]);
    /// assert_eq!(owned.get("AWS_REGION"), Some("us-east-1"));
    /// ```
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable, if set and not empty (see [`Env`]).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::credentials::Env;
    ///
    /// let env = Env::from_pairs([("AWS_REGION", "eu-west-1"), ("AWS_PROFILE", "")]);
    /// assert_eq!(env.get("AWS_REGION"), Some("eu-west-1"));
    /// assert_eq!(env.get("AWS_PROFILE"), None, "empty is not set");
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The profile name: `AWS_PROFILE`, else `default`.
    pub(crate) fn profile(&self) -> String {
        self.get("AWS_PROFILE").unwrap_or("default").to_owned()
    }

    fn home_file(&self, var: &str, name: &str) -> Option<PathBuf> {
        if let Some(p) = self.get(var) {
            return Some(PathBuf::from(p));
        }
        self.get("HOME")
            .map(|h| PathBuf::from(h).join(".aws").join(name))
    }

    /// The shared config file (`AWS_CONFIG_FILE`, else `~/.aws/config`).
    pub(crate) fn config_file(&self) -> Option<PathBuf> {
        self.home_file("AWS_CONFIG_FILE", "config")
    }

    /// The shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`).
    pub(crate) fn credentials_file(&self) -> Option<PathBuf> {
        self.home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
    }
}

/// Where credentials come from (see the [module](self) docs for each source's variables).
///
/// ```
/// use nacoscrypt_kms_aws::credentials::Provider;
/// use nacoscrypt_core::SecretString;
///
/// let p = Provider::Static {
///     access_key_id: "AKIDEXAMPLE".into(),
///     secret_access_key: SecretString::from("secret".to_owned()),
///     session_token: None,
/// };
/// assert!(!format!("{p:?}").contains("secret\""));
/// assert!(matches!(Provider::default_chain(), Provider::Chain(_)));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum Provider {
    /// Fixed keys.
    Static {
        /// The access key id.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: SecretString,
        /// A session token (temporary keys).
        session_token: Option<SecretString>,
    },
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    Environment,
    /// A profile of the shared files; `None`: `AWS_PROFILE`, else `default`.
    Profile(Option<String>),
    /// `AssumeRoleWithWebIdentity` with the token in `AWS_WEB_IDENTITY_TOKEN_FILE` for
    /// `AWS_ROLE_ARN`.
    WebIdentity,
    /// The container credentials endpoint (ECS, EKS Pod Identity).
    Container,
    /// The instance metadata service, IMDSv2.
    InstanceMetadata,
    /// The first source that is configured.
    Chain(Vec<Provider>),
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Static { access_key_id, .. } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .finish_non_exhaustive(),
            Self::Environment => f.write_str("Environment"),
            Self::Profile(p) => f.debug_tuple("Profile").field(p).finish(),
            Self::WebIdentity => f.write_str("WebIdentity"),
            Self::Container => f.write_str("Container"),
            Self::InstanceMetadata => f.write_str("InstanceMetadata"),
            Self::Chain(c) => f.debug_tuple("Chain").field(c).finish(),
        }
    }
}

/// What fetching needs besides the provider: the variables, the transports, STS's URL, the
/// retry policy and when the fetch began.
pub(crate) struct Fetcher<'a> {
    pub(crate) env: &'a Env,
    /// For STS (https, the configured trust).
    pub(crate) https: &'a Http,
    /// For the metadata endpoints (plain http on link-local or loopback addresses).
    pub(crate) metadata: &'a Http,
    /// `https://sts.REGION.amazonaws.com` or an override.
    pub(crate) sts_url: &'a str,
    /// Where `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is resolved (`http://169.254.170.2`).
    pub(crate) container_base: &'a str,
    /// Retries of each request; `max_total` bounds the whole fetch.
    pub(crate) retry: &'a RetryPolicy,
    /// When the fetch began.
    pub(crate) started: Instant,
}

/// Why one try of a credential request failed.
enum Failed {
    /// It may succeed if tried again (no answer, 429, 5xx, throttling, an unreadable answer of
    /// a metadata endpoint).
    Transient(Error),
    /// It will not.
    Final(Error),
}

/// The codes of STS errors that are tried again (see the [module](self) docs).
const STS_RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "IDPCommunicationError",
];

/// `e`, reporting `n` attempts.
fn with_attempts(e: Error, n: u32) -> Error {
    match e {
        Error::KmsService(mut s) => {
            s.attempts = n;
            Error::KmsService(s)
        }
        other => other,
    }
}

/// Whether an HTTP status is worth another try: 429 and 5xx.
fn transient_status(status: u16) -> bool {
    status == 429 || status >= 500
}

impl Fetcher<'_> {
    /// Runs `attempt` until it succeeds or fails for good, or the retry policy ends it (see the
    /// [module](self) docs).
    fn retrying<T>(&self, mut attempt: impl FnMut() -> Result<T, Failed>) -> Result<T, Error> {
        let mut n = 0u32;
        loop {
            n += 1;
            let error = match attempt() {
                Ok(v) => return Ok(v),
                Err(Failed::Final(e)) => return Err(with_attempts(e, n)),
                Err(Failed::Transient(e)) => e,
            };
            if n >= self.retry.max_attempts {
                return Err(with_attempts(error, n));
            }
            let pause = self.retry.backoff(n - 1);
            if self.started.elapsed() + pause >= self.retry.max_total {
                return Err(with_attempts(error, n));
            }
            std::thread::sleep(pause);
        }
    }
}

/// A credentials error (code `Credentials`, or the service's code), never holding a secret.
pub(crate) fn credential_error(message: impl Into<String>) -> Error {
    Error::from(KmsServiceError {
        service: SERVICE,
        operation: "GetCredentials",
        code: "Credentials".to_owned(),
        message: message.into(),
        request_id: None,
        http_status: None,
        attempts: 1,
    })
}

fn from_env(env: &Env) -> Result<Option<Credential>, Error> {
    match (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => Ok(Some(Credential {
            access_key_id: id.to_owned(),
            secret_access_key: SecretString::from(secret.to_owned()),
            session_token: env
                .get("AWS_SESSION_TOKEN")
                .map(|t| SecretString::from(t.to_owned())),
            expiration: None,
            provider: "env".to_owned(),
        })),
        (None, None) => Ok(None),
        _ => Err(credential_error(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
        )),
    }
}

/// Reads a small text file that may hold a secret (bounded, regular files only).
fn read_small(
    path: &std::path::Path,
    what: &'static str,
) -> Result<zeroize::Zeroizing<String>, Error> {
    nacoscrypt_core::fs::read_text_file(path, 1 << 20, what)
}

/// The `[section]` → key → value map of an INI text as the AWS files write it (`#` and `;`
/// comments, `key = value`; nested `s3 =` blocks are read as flat keys and ignored).
pub(crate) fn ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            let name = name.trim().to_owned();
            out.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue; // a sub-property of a nested block
        }
        if let (Some(section), Some((k, v))) = (current.as_ref(), trimmed.split_once('=')) {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

/// The settings of profile `name`: the config file's `[profile NAME]` (or `[default]`), then the
/// credentials file's `[NAME]` over it.
pub(crate) fn profile_settings(
    env: &Env,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, Error> {
    let mut found: Option<BTreeMap<String, String>> = None;
    if let Some(path) = env.config_file().filter(|p| p.exists()) {
        let sections = ini(&read_small(&path, "reading the AWS config file")?);
        let section = if name == "default" {
            sections
                .get("default")
                .or_else(|| sections.get("profile default"))
        } else {
            sections.get(&format!("profile {name}"))
        };
        if let Some(s) = section {
            found = Some(s.clone());
        }
    }
    if let Some(path) = env.credentials_file().filter(|p| p.exists()) {
        let sections = ini(&read_small(&path, "reading the AWS credentials file")?);
        if let Some(s) = sections.get(name) {
            found.get_or_insert_with(BTreeMap::new).extend(s.clone());
        }
    }
    Ok(found)
}

fn from_profile(
    f: &Fetcher<'_>,
    name: Option<&str>,
    explicit: bool,
) -> Result<Option<Credential>, Error> {
    let name = name.map_or_else(|| f.env.profile(), str::to_owned);
    let Some(s) = profile_settings(f.env, &name)? else {
        return if explicit || f.env.get("AWS_PROFILE").is_some() {
            Err(credential_error(format!(
                "the AWS profile {name:?} is in neither shared file"
            )))
        } else {
            Ok(None)
        };
    };
    let provider = format!("profile:{name}");
    match (s.get("aws_access_key_id"), s.get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => {
            return Ok(Some(Credential {
                access_key_id: id.clone(),
                secret_access_key: SecretString::from(secret.clone()),
                session_token: s
                    .get("aws_session_token")
                    .map(|t| SecretString::from(t.clone())),
                expiration: None,
                provider,
            }));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(credential_error(format!(
                "the AWS profile {name:?} has only one of aws_access_key_id and aws_secret_access_key"
            )));
        }
        (None, None) => {}
    }
    if let (Some(role), Some(token_file)) = (s.get("role_arn"), s.get("web_identity_token_file")) {
        let session = s.get("role_session_name").map(String::as_str);
        return web_identity(f, role, token_file, session, &provider).map(Some);
    }
    if s.contains_key("source_profile")
        || s.contains_key("credential_source")
        || s.contains_key("credential_process")
        || s.contains_key("sso_session")
        || s.contains_key("sso_start_url")
    {
        return Err(credential_error(format!(
            "the AWS profile {name:?} uses a source this client does not support (source_profile, \
             credential_source, credential_process, SSO): give keys, a web identity, or use the \
             environment / container / instance credentials"
        )));
    }
    if explicit || f.env.get("AWS_PROFILE").is_some() {
        Err(credential_error(format!(
            "the AWS profile {name:?} holds no credentials"
        )))
    } else {
        Ok(None)
    }
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::sigv4::uri_encode(k),
                crate::sigv4::uri_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The text of the first `<tag>…</tag>` of an XML answer, entities decoded.
pub(crate) fn xml_tag(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body.get(start..)?.find(&close)?;
    let raw = body.get(start..start + len)?;
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// Reads STS's `AssumeRoleWithWebIdentity` answer (XML).
pub(crate) fn sts_answer(status: u16, body: &[u8], provider: &str) -> Result<Credential, Error> {
    let text = String::from_utf8_lossy(body);
    if status != 200 {
        let code = xml_tag(&text, "Code").unwrap_or_else(|| "MalformedResponse".to_owned());
        let message = xml_tag(&text, "Message").unwrap_or_else(|| format!("HTTP {status}"));
        return Err(Error::from(KmsServiceError {
            service: "AWS STS",
            operation: "AssumeRoleWithWebIdentity",
            code,
            message,
            request_id: xml_tag(&text, "RequestId"),
            http_status: Some(status),
            attempts: 1,
        }));
    }
    let field = |name: &str| {
        xml_tag(&text, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| credential_error(format!("STS answered without {name}")))
    };
    let expiration = field("Expiration")?;
    Ok(Credential {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: SecretString::from(field("SecretAccessKey")?),
        session_token: Some(SecretString::from(field("SessionToken")?)),
        expiration: Some(
            parse_iso8601(&expiration)
                .ok_or_else(|| credential_error("STS answered an unreadable Expiration"))?,
        ),
        provider: provider.to_owned(),
    })
}

fn web_identity(
    f: &Fetcher<'_>,
    role_arn: &str,
    token_file: &str,
    session_name: Option<&str>,
    provider: &str,
) -> Result<Credential, Error> {
    let token = read_small(
        std::path::Path::new(token_file),
        "reading the web identity token file",
    )?;
    let session = session_name.map(str::to_owned).unwrap_or_else(|| {
        format!(
            "nacoscrypt-{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        )
    });
    let body = zeroize::Zeroizing::new(form_encode(&[
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role_arn),
        ("RoleSessionName", &session),
        ("WebIdentityToken", token.trim()),
    ]));
    let url = format!("{}/", f.sts_url.trim_end_matches('/'));
    f.retrying(|| {
        let response = f
            .https
            .send(
                "POST",
                &url,
                &[(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                Some(body.as_bytes()),
            )
            .map_err(|e| {
                let error = credential_error(format!(
                    "STS AssumeRoleWithWebIdentity: {}: {}",
                    e.kind.code(),
                    e.message
                ));
                if e.kind.retryable() {
                    Failed::Transient(error)
                } else {
                    Failed::Final(error)
                }
            })?;
        match sts_answer(response.status, &response.body, provider) {
            Ok(c) => Ok(c),
            Err(Error::KmsService(e))
                if transient_status(response.status)
                    || STS_RETRYABLE_CODES.contains(&e.code.as_str()) =>
            {
                Err(Failed::Transient(Error::KmsService(e)))
            }
            Err(e) => Err(Failed::Final(e)),
        }
    })
}

/// Reads the JSON credentials of the container endpoint and of IMDS.
pub(crate) fn metadata_json(body: &[u8], provider: &str) -> Result<Credential, Error> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| credential_error(format!("{provider}: the answer is not JSON")))?;
    if let Some(code) = v["Code"].as_str()
        && code != "Success"
    {
        return Err(credential_error(format!(
            "{provider}: {code}: {}",
            v["Message"].as_str().unwrap_or("")
        )));
    }
    let field = |name: &str| {
        v[name]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| credential_error(format!("{provider}: the answer has no {name}")))
    };
    let expiration = match v["Expiration"].as_str() {
        Some(e) => Some(parse_iso8601(e).ok_or_else(|| {
            credential_error(format!("{provider}: the answer's Expiration is unreadable"))
        })?),
        None => None,
    };
    Ok(Credential {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: SecretString::from(field("SecretAccessKey")?),
        session_token: field("Token").ok().map(SecretString::from),
        expiration,
        provider: provider.to_owned(),
    })
}

/// Whether a full container URI may be plain http: loopback, and the ECS / EKS addresses.
fn container_http_allowed(host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or(host);
    let host = if host.contains("::") || host.starts_with("fd00") {
        host
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host == "localhost"
        || host.starts_with("127.")
        || host == "::1"
        || host == "169.254.170.2"
        || host == "169.254.170.23"
        || host.eq_ignore_ascii_case("fd00:ec2::23")
}

/// The default base of `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`: the ECS agent's address.
pub(crate) const CONTAINER_RELATIVE_BASE: &str = "http://169.254.170.2";

/// Checks a base for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`: `http://` to loopback or the
/// ECS / EKS addresses, no path. Returns it without a trailing `/`.
pub(crate) fn container_relative_base(base: &str) -> Result<String, Error> {
    let base = base.trim().trim_end_matches('/');
    match base.strip_prefix("http://") {
        Some(host)
            if !host.is_empty()
                && !host.contains(['/', '?', '#', '@'])
                && container_http_allowed(host) =>
        {
            Ok(base.to_owned())
        }
        _ => Err(Error::InvalidArgument {
            reason: "the container credentials base must be http:// to a loopback or the ECS / EKS address, without a path",
        }),
    }
}

/// A GET of a metadata endpoint, with its retries: the credentials of its JSON answer.
fn metadata_get(
    f: &Fetcher<'_>,
    http: &Http,
    url: &str,
    headers: &[(&str, &str)],
    what: &dyn Fn(String) -> Error,
    provider: &str,
) -> Result<Credential, Error> {
    f.retrying(|| {
        let response = http.send("GET", url, headers, None).map_err(|e| {
            let error = what(format!("{}: {}", e.kind.code(), e.message));
            if e.kind.retryable() {
                Failed::Transient(error)
            } else {
                Failed::Final(error)
            }
        })?;
        if response.status != 200 {
            let error = what(format!("HTTP {}", response.status));
            return Err(if transient_status(response.status) {
                Failed::Transient(error)
            } else {
                Failed::Final(error)
            });
        }
        // An answer that is not the endpoint's JSON is tried again, as botocore does.
        metadata_json(&response.body, provider).map_err(Failed::Transient)
    })
}

fn from_container(f: &Fetcher<'_>) -> Result<Option<Credential>, Error> {
    let url = if let Some(rel) = f.env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        if !rel.starts_with('/') || rel.contains(['?', '#', '@']) {
            return Err(credential_error(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with /",
            ));
        }
        format!("{}{rel}", f.container_base)
    } else if let Some(full) = f.env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        if let Some(rest) = full.strip_prefix("http://") {
            let host = rest.split('/').next().unwrap_or("");
            if !container_http_allowed(host) {
                return Err(credential_error(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http only to loopback or the ECS / EKS addresses",
                ));
            }
        } else if !full.starts_with("https://") {
            return Err(credential_error(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an http:// or https:// URL",
            ));
        }
        full.to_owned()
    } else {
        return Ok(None);
    };
    let token = if let Some(file) = f.env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(zeroize::Zeroizing::new(
            read_small(
                std::path::Path::new(file),
                "reading the container authorization token file",
            )?
            .trim()
            .to_owned(),
        ))
    } else {
        f.env
            .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .map(|t| zeroize::Zeroizing::new(t.to_owned()))
    };
    let headers: Vec<(&str, &str)> = token
        .as_ref()
        .map(|t| vec![("Authorization", t.as_str())])
        .unwrap_or_default();
    let http = if url.starts_with("https://") {
        f.https
    } else {
        f.metadata
    };
    let what = |m: String| credential_error(format!("container credentials: {m}"));
    metadata_get(f, http, &url, &headers, &what, "container").map(Some)
}

fn from_imds(f: &Fetcher<'_>, explicit: bool) -> Result<Option<Credential>, Error> {
    if f.env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return if explicit {
            Err(credential_error("AWS_EC2_METADATA_DISABLED=true"))
        } else {
            Ok(None)
        };
    }
    let base = f
        .env
        .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or("http://169.254.169.254")
        .trim_end_matches('/')
        .to_owned();
    let fail = |what: &str, m: String| credential_error(format!("instance metadata ({what}): {m}"));
    // One request with its retries: the answer's body, or why not.
    let request = |what: &str,
                   method: &str,
                   url: &str,
                   headers: &[(&str, &str)],
                   body: Option<&[u8]>,
                   hint: &str| {
        f.retrying(|| {
            let response = f.metadata.send(method, url, headers, body).map_err(|e| {
                let error = fail(what, format!("{}: {}", e.kind.code(), e.message));
                if e.kind.retryable() {
                    Failed::Transient(error)
                } else {
                    Failed::Final(error)
                }
            })?;
            if response.status == 200 {
                return Ok(response.body);
            }
            let error = fail(what, format!("HTTP {}{hint}", response.status));
            Err(if transient_status(response.status) {
                Failed::Transient(error)
            } else {
                Failed::Final(error)
            })
        })
    };
    let token = request(
        "token",
        "PUT",
        &format!("{base}/latest/api/token"),
        &[("x-aws-ec2-metadata-token-ttl-seconds", "21600")],
        Some(b""),
        "",
    )?;
    let token = zeroize::Zeroizing::new(String::from_utf8_lossy(&token).trim().to_owned());
    let headers = [("x-aws-ec2-metadata-token", token.as_str())];
    let path = format!("{base}/latest/meta-data/iam/security-credentials/");
    let role = request(
        "role",
        "GET",
        &path,
        &headers,
        None,
        " (no instance profile?)",
    )?;
    let role = String::from_utf8_lossy(&role);
    let role = role.lines().next().unwrap_or("").trim();
    if role.is_empty() || role.contains(['/', '?', '#']) {
        return Err(fail("role", "no role name".to_owned()));
    }
    let what = |m: String| fail("credentials", m);
    metadata_get(
        f,
        f.metadata,
        &format!("{path}{role}"),
        &headers,
        &what,
        "imds",
    )
    .map(Some)
}

/// A credential source by the name bindings and settings use: `default` (the
/// [standard chain](Provider::default_chain)), `env`, `profile` (the `AWS_PROFILE` or
/// `default` profile), `web_identity`, `container`, `imds` — the names
/// [`Credential::provider`] reports.
///
/// ```
/// use nacoscrypt_kms_aws::Provider;
///
/// assert!(matches!("imds".parse::<Provider>()?, Provider::InstanceMetadata));
/// assert!(matches!("default".parse::<Provider>()?, Provider::Chain(_)));
/// assert!("Env".parse::<Provider>().is_err());
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
impl std::str::FromStr for Provider {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "default" => Ok(Self::default_chain()),
            "env" => Ok(Self::Environment),
            "profile" => Ok(Self::Profile(None)),
            "web_identity" => Ok(Self::WebIdentity),
            "container" => Ok(Self::Container),
            "imds" => Ok(Self::InstanceMetadata),
            _ => Err(Error::InvalidArgument {
                reason: "credentials must be \"default\", \"env\", \"profile\", \"web_identity\", \"container\" or \"imds\"",
            }),
        }
    }
}

impl Provider {
    /// The standard chain: environment, web identity, shared files, container, instance
    /// metadata (see the [module](self) docs).
    ///
    /// ```
    /// use nacoscrypt_kms_aws::credentials::{Env, Provider};
    ///
    /// let chain = Provider::default_chain();
    /// assert_eq!(
    ///     format!("{chain:?}"),
    ///     "Chain([Environment, WebIdentity, Profile(None), Container, InstanceMetadata])"
    /// );
    /// // The environment comes first.
    /// let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "s")]);
    /// assert_eq!(chain.resolve_offline(&env)?.expect("set").provider, "env");
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn default_chain() -> Self {
        Self::Chain(vec![
            Self::Environment,
            Self::WebIdentity,
            Self::Profile(None),
            Self::Container,
            Self::InstanceMetadata,
        ])
    }

    /// The credentials of a source that needs no network (fixed keys, the environment, a
    /// profile with keys), if configured; `Ok(None)` for a source that is not configured or
    /// would need a request. See also the [module](self) example.
    ///
    /// ```
    /// use nacoscrypt_kms_aws::credentials::{Env, Provider};
    ///
    /// # let dir = std::env::temp_dir().join(format!("aws-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let file = dir.join("credentials");
    /// std::fs::write(&file, "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s\n")?;
    /// let env = Env::from_pairs([("AWS_SHARED_CREDENTIALS_FILE", file.display().to_string())]);
    /// let c = Provider::Profile(Some("dev".into())).resolve_offline(&env)?.expect("in the file");
    /// assert_eq!((c.access_key_id.as_str(), c.provider.as_str()), ("AKIDDEV", "profile:dev"));
    /// // The instance metadata service needs a request: nothing offline.
    /// assert!(Provider::InstanceMetadata.resolve_offline(&env)?.is_none());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve_offline(&self, env: &Env) -> Result<Option<Credential>, Error> {
        match self {
            Self::Static { .. } => self.fetch_static().map(Some),
            Self::Environment => from_env(env),
            Self::Profile(name) => {
                let name = name.clone().unwrap_or_else(|| env.profile());
                let Some(s) = profile_settings(env, &name)? else {
                    return Ok(None);
                };
                match (s.get("aws_access_key_id"), s.get("aws_secret_access_key")) {
                    (Some(id), Some(secret)) => Ok(Some(Credential {
                        access_key_id: id.clone(),
                        secret_access_key: SecretString::from(secret.clone()),
                        session_token: s
                            .get("aws_session_token")
                            .map(|t| SecretString::from(t.clone())),
                        expiration: None,
                        provider: format!("profile:{name}"),
                    })),
                    _ => Ok(None),
                }
            }
            Self::Chain(list) => {
                for p in list {
                    if let Some(c) = p.resolve_offline(env)? {
                        return Ok(Some(c));
                    }
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    fn fetch_static(&self) -> Result<Credential, Error> {
        match self {
            Self::Static {
                access_key_id,
                secret_access_key,
                session_token,
            } => Ok(Credential {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                session_token: session_token.clone(),
                expiration: None,
                provider: "static".to_owned(),
            }),
            _ => Err(credential_error("not static credentials")),
        }
    }

    /// Fetches: `Ok(None)` when this source is not configured (only chains skip those).
    fn try_fetch(&self, f: &Fetcher<'_>, explicit: bool) -> Result<Option<Credential>, Error> {
        match self {
            Self::Static { .. } => self.fetch_static().map(Some),
            Self::Environment => from_env(f.env),
            Self::Profile(name) => from_profile(f, name.as_deref(), explicit),
            Self::WebIdentity => {
                match (
                    f.env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
                    f.env.get("AWS_ROLE_ARN"),
                ) {
                    (Some(file), Some(role)) => web_identity(
                        f,
                        role,
                        file,
                        f.env.get("AWS_ROLE_SESSION_NAME"),
                        "web_identity",
                    )
                    .map(Some),
                    (None, None) => Ok(None),
                    _ => Err(credential_error(
                        "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must be set together",
                    )),
                }
            }
            Self::Container => from_container(f),
            Self::InstanceMetadata => from_imds(f, explicit),
            Self::Chain(list) => {
                for p in list {
                    if let Some(c) = p.try_fetch(f, false)? {
                        return Ok(Some(c));
                    }
                }
                Ok(None)
            }
        }
    }

    pub(crate) fn fetch(&self, f: &Fetcher<'_>) -> Result<Credential, Error> {
        self.try_fetch(f, true)?.ok_or_else(|| {
            credential_error(format!(
                "no AWS credentials: {self:?} found none (set AWS_ACCESS_KEY_ID / \
                 AWS_SECRET_ACCESS_KEY, a profile, a web identity, or run with a role)"
            ))
        })
    }
}

/// Credentials from a [`Provider`], cached and refreshed before they expire (see the
/// [module](self) docs). Thread-safe.
pub(crate) struct CredentialCache {
    provider: Provider,
    env: Env,
    https: Http,
    metadata: Http,
    sts_url: String,
    container_base: String,
    retry: RetryPolicy,
    current: RwLock<Option<Cached>>,
    refreshing: Mutex<()>,
}

#[derive(Clone)]
struct Cached {
    credential: Arc<Credential>,
    prefetch_at: Option<SystemTime>,
    stale_at: Option<SystemTime>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    pub(crate) fn new(
        provider: Provider,
        env: Env,
        (https, metadata): (Http, Http),
        sts_url: String,
        container_base: String,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            provider,
            env,
            https,
            metadata,
            sts_url,
            container_base,
            retry,
            current: RwLock::new(None),
            refreshing: Mutex::new(()),
        }
    }

    pub(crate) fn provider(&self) -> &Provider {
        &self.provider
    }

    /// A usable credential: the cached one, or a fresh one.
    pub(crate) fn get(&self) -> Result<Arc<Credential>, Error> {
        let now = SystemTime::now();
        let cached = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(c) = &cached {
            let stale = c.stale_at.is_some_and(|s| now >= s);
            let prefetch = c.prefetch_at.is_some_and(|p| now >= p);
            if !stale {
                if prefetch {
                    // One thread refreshes; everyone else goes on with the current one. A failed
                    // early refresh keeps the current credential until it goes stale.
                    if let Ok(_guard) = self.refreshing.try_lock() {
                        let _ = self.refresh_locked();
                    }
                }
                return Ok(Arc::clone(&c.credential));
            }
        }
        let _guard = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && c.stale_at.is_none_or(|s| SystemTime::now() < s)
            && cached
                .as_ref()
                .is_none_or(|old| !Arc::ptr_eq(&old.credential, &c.credential))
        {
            return Ok(Arc::clone(&c.credential));
        }
        self.refresh_locked()
    }

    /// Forgets the cached credential (after the service said it expired).
    pub(crate) fn invalidate(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn refresh_locked(&self) -> Result<Arc<Credential>, Error> {
        let fetched_at = SystemTime::now();
        let fetcher = Fetcher {
            env: &self.env,
            https: &self.https,
            metadata: &self.metadata,
            sts_url: &self.sts_url,
            container_base: &self.container_base,
            retry: &self.retry,
            started: Instant::now(),
        };
        let credential = Arc::new(self.provider.fetch(&fetcher)?);
        let (prefetch_at, stale_at) = match credential.expiration {
            Some(e) => {
                let life = e.duration_since(fetched_at).unwrap_or(Duration::ZERO);
                (
                    Some(e - (life / 2).min(Duration::from_secs(15 * 60))),
                    Some(e - (life / 10).min(Duration::from_secs(60))),
                )
            }
            None => (None, None),
        };
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
            credential: Arc::clone(&credential),
            prefetch_at,
            stale_at,
        });
        Ok(credential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_files() {
        let text = "[default]\naws_access_key_id = A\n# c\n[profile dev]\nregion=eu-west-1\ns3 =\n  max_concurrent_requests = 2\n";
        let s = ini(text);
        assert_eq!(s["default"]["aws_access_key_id"], "A");
        assert_eq!(s["profile dev"]["region"], "eu-west-1");
        assert!(!s["profile dev"].contains_key("max_concurrent_requests"));
    }

    #[test]
    fn sts_xml() {
        let ok = br#"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s&amp;x</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"#;
        let c = sts_answer(200, ok, "web_identity").unwrap();
        assert_eq!(c.access_key_id, "ASIA1");
        assert_eq!(c.secret_access_key.as_str(), "s&x");
        let err = sts_answer(
            403,
            b"<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>",
            "web_identity",
        )
        .unwrap_err();
        assert!(err.to_string().contains("AccessDenied"), "{err}");
        assert!(sts_answer(200, b"<x/>", "w").is_err());
    }

    #[test]
    fn container_addresses() {
        for ok in [
            "127.0.0.1:8080",
            "localhost",
            "169.254.170.2",
            "169.254.170.23",
            "[::1]:80",
        ] {
            assert!(container_http_allowed(ok), "{ok}");
        }
        for bad in ["10.0.0.1", "example.com", "169.254.169.254"] {
            assert!(!container_http_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credential {
            access_key_id: "AKID".into(),
            secret_access_key: SecretString::from("topsecret".to_owned()),
            session_token: Some(SecretString::from("tok3n".to_owned())),
            expiration: None,
            provider: "x".into(),
        };
        let d = format!("{c:?}");
        assert!(
            d.contains("AKID") && !d.contains("topsecret") && !d.contains("tok3n"),
            "{d}"
        );
        let env = Env::from_pairs([("AWS_SECRET_ACCESS_KEY", "topsecret")]);
        assert!(!format!("{env:?}").contains("topsecret"));
    }
}
