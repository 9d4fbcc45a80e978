//! The HTTP transport shared by every call of a key-service crate (KMS, STS, instance and
//! container metadata): one keep-alive connection pool, TLS by rustls on AWS-LC, timeouts on
//! connect and on the whole exchange, and a bound on every response body.
//!
//! ```no_run
//! use nacoscrypt_kms_common::http::{Http, HttpSettings};
//!
//! let http = Http::new(&HttpSettings::default(), "example/1.0").map_err(std::io::Error::other)?;
//! let answer = http.send("GET", "https://kms.example.invalid/", &[], None);
//! if let Ok(r) = answer {
//!     println!("{} {:?}", r.status, r.header("content-type"));
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

use std::sync::Arc;
use std::time::Duration;

/// Where the server certificates' trust comes from.
///
/// ```
/// use nacoscrypt_kms_common::{HttpSettings, Trust};
///
/// let pem = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n".to_owned();
/// let s = HttpSettings { trust: Trust::CaPem(pem), ..HttpSettings::default() };
/// assert_ne!(s.trust, Trust::PublicRoots);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Trust {
    /// The Mozilla root store compiled in (`webpki-roots`): the clouds' public endpoints.
    #[default]
    PublicRoots,
    /// Only these CA certificates (PEM text): a private endpoint's CA, or a test CA.
    CaPem(String),
}

/// Timeouts and bounds of the transport.
///
/// ```
/// use nacoscrypt_kms_common::HttpSettings;
/// use std::time::Duration;
///
/// let s = HttpSettings { request_timeout: Duration::from_secs(3), ..HttpSettings::default() };
/// assert_eq!(s.connect_timeout, Duration::from_secs(5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// TCP connect (and TLS handshake) timeout. Default 5 s.
    pub connect_timeout: Duration,
    /// Timeout of one whole request, from sending to the last byte of the answer. Default 10 s.
    pub request_timeout: Duration,
    /// The largest response body read; a longer one is an error. Default 1 MiB.
    pub max_response_bytes: usize,
    /// Server trust.
    pub trust: Trust,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_response_bytes: 1 << 20,
            trust: Trust::PublicRoots,
        }
    }
}

/// A response: status and the whole (bounded) body. See the [module](self) example.
///
/// ```
/// use nacoscrypt_kms_common::http::Response;
///
/// let r = Response { status: 200, body: b"{}".to_vec(), headers: Vec::new() };
/// assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
/// ```
#[derive(Debug)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The whole body (at most [`HttpSettings::max_response_bytes`]).
    pub body: Vec<u8>,
    /// Response headers, names lower-case.
    pub headers: Vec<(String, String)>,
}

impl Response {
    /// The first value of header `name` (lower-case); see the [module](self) example.
    ///
    /// ```
    /// use nacoscrypt_kms_common::http::Response;
    ///
    /// let headers = vec![("x-request-id".to_owned(), "req-1".to_owned())];
    /// let r = Response { status: 200, body: Vec::new(), headers };
    /// assert_eq!(r.header("x-request-id"), Some("req-1"));
    /// assert_eq!(r.header("content-type"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no answer.
///
/// ```
/// use nacoscrypt_kms_common::http::FailureKind;
///
/// assert!(FailureKind::Timeout.retryable());
/// assert!(!FailureKind::Tls.retryable());
/// assert_eq!(FailureKind::TooLarge.code(), "ResponseTooLarge");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Connection refused or reset, DNS failure, broken pipe: retryable.
    Network,
    /// A timeout: retryable.
    Timeout,
    /// TLS: an untrusted or invalid certificate, a plain-HTTP server: not retryable.
    Tls,
    /// The body was larger than allowed.
    TooLarge,
    /// The answer was not HTTP, or the URL was refused.
    Malformed,
}

impl FailureKind {
    /// The code [`nacoscrypt_core::KmsServiceError`] reports (see [`FailureKind`]).
    ///
    /// ```
    /// use nacoscrypt_kms_common::http::FailureKind;
    ///
    /// assert_eq!(FailureKind::Network.code(), "Network");
    /// assert_eq!(FailureKind::Malformed.code(), "MalformedResponse");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            Self::Network => "Network",
            Self::Timeout => "Timeout",
            Self::Tls => "Tls",
            Self::TooLarge => "ResponseTooLarge",
            Self::Malformed => "MalformedResponse",
        }
    }

    /// Whether another attempt may succeed: network failures and timeouts (see [`FailureKind`]).
    ///
    /// ```
    /// use nacoscrypt_kms_common::http::FailureKind;
    ///
    /// assert!(FailureKind::Network.retryable());
    /// assert!(!FailureKind::TooLarge.retryable());
    /// ```
    pub fn retryable(self) -> bool {
        matches!(self, Self::Network | Self::Timeout)
    }
}

/// A request that got no answer (see [`Http::send`] and the [module](self) example).
///
/// ```
/// use nacoscrypt_kms_common::http::{Failure, FailureKind};
///
/// let f = Failure { kind: FailureKind::Timeout, message: "timed out".into() };
/// assert!(f.kind.retryable());
/// ```
#[derive(Debug)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The transport's description (never holds a request body).
    pub message: String,
}

/// The transport: cheap to clone (shares the pool). See the [module](self) example.
///
/// ```
/// use nacoscrypt_kms_common::http::{Http, HttpSettings};
///
/// let http = Http::new(&HttpSettings::default(), "example/1.0")?;
/// let shared = http.clone(); // the same connection pool
/// # drop(shared);
/// # Ok::<(), String>(())
/// ```
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    max_response_bytes: usize,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").finish_non_exhaustive()
    }
}

impl Http {
    /// A transport with `settings`, sending `user_agent` (the service crate's name and version).
    /// Fails if the CA text holds no certificate.
    ///
    /// ```
    /// use nacoscrypt_kms_common::http::{Http, HttpSettings, Trust};
    ///
    /// assert!(Http::new(&HttpSettings::default(), "example/1.0").is_ok());
    /// let bad = HttpSettings { trust: Trust::CaPem("no PEM here".into()), ..HttpSettings::default() };
    /// assert!(Http::new(&bad, "example/1.0").is_err());
    /// ```
    pub fn new(settings: &HttpSettings, user_agent: &str) -> Result<Self, String> {
        use ureq::tls::{RootCerts, TlsConfig};
        let roots = match &settings.trust {
            Trust::PublicRoots => RootCerts::WebPki,
            Trust::CaPem(pem) => {
                let certs: Vec<_> = ureq::tls::parse_pem(pem.as_bytes())
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                if certs.is_empty() {
                    return Err("the CA text holds no PEM certificate".to_owned());
                }
                RootCerts::Specific(Arc::new(certs))
            }
        };
        let tls = TlsConfig::builder()
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .max_redirects(0)
            .user_agent(user_agent)
            .build();
        Ok(Self {
            agent: config.into(),
            max_response_bytes: settings.max_response_bytes,
        })
    }

    /// Sends a request and reads the whole answer (any status); see the [module](self) example.
    ///
    /// A connection that no one accepts is a [`FailureKind::Network`] failure:
    ///
    /// ```
    /// use nacoscrypt_kms_common::http::{FailureKind, Http, HttpSettings};
    ///
    /// let http = Http::new(&HttpSettings::default(), "example/1.0")?;
    /// let failure = http.send("GET", "https://127.0.0.1:1/", &[], None).unwrap_err();
    /// assert_eq!(failure.kind, FailureKind::Network);
    /// # Ok::<(), String>(())
    /// ```
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, Failure> {
        let mut builder = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(body.map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|e| Failure {
                kind: FailureKind::Malformed,
                message: format!("cannot build the request: {e}"),
            })?;
        let mut response = self.agent.run(request).map_err(failure)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes as u64)
            .read_to_vec()
            .map_err(failure)?;
        Ok(Response {
            status,
            body,
            headers,
        })
    }
}

fn failure(e: ureq::Error) -> Failure {
    use ureq::Error as E;
    let kind = match &e {
        E::Timeout(_) => FailureKind::Timeout,
        E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => FailureKind::Timeout,
        // rustls reports certificate and protocol failures through the I/O error.
        E::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            FailureKind::Tls
        }
        E::Io(_) | E::HostNotFound | E::ConnectionFailed => FailureKind::Network,
        E::Tls(_) | E::Rustls(_) => FailureKind::Tls,
        E::BodyExceedsLimit(_) => FailureKind::TooLarge,
        _ => FailureKind::Malformed,
    };
    Failure {
        kind,
        message: e.to_string(),
    }
}
