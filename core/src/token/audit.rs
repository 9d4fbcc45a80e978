//! The auth settings audit behind `nacoscrypt auth audit`: what in a cluster's
//! `application.properties` and/or the Docker image's environment (SPEC 3) weakens its auth.
//!
//! Each [`Finding`] names the setting, a stable code and a message that never holds a secret.
//! [`Severity::Error`] findings are holes (auth off, a public or short key, the user-agent white
//! list, the public identity); [`Severity::Warning`] ones are risky choices; [`Severity::Info`]
//! ones are notes.

use super::settings::{CACHE_ENABLE, ENV_NAMES, EXPIRE_SECONDS, IDENTITY_KEY, IDENTITY_VALUE};
use super::{PUBLIC_DEFAULT_IDENTITY_KEY, PUBLIC_DEFAULT_IDENTITY_VALUE, SecretKey};
use crate::json::push_json_string;
use crate::properties::{Properties, parse_bool, parse_seconds, resolve_placeholders};
use crate::{Error, Result};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use zeroize::Zeroizing;

/// `nacos.core.auth.enabled`: auth on (the server's default: off).
pub const AUTH_ENABLED: &str = "nacos.core.auth.enabled";
/// `nacos.core.auth.enable.userAgentAuthWhite`: requests with the server's user agent skip auth.
pub const USER_AGENT_WHITE: &str = "nacos.core.auth.enable.userAgentAuthWhite";

/// The Docker image's names for [`AUTH_ENABLED`] and [`USER_AGENT_WHITE`] (the others are
/// [`ENV_NAMES`]).
pub const AUDIT_ENV_NAMES: [(&str, &str); 2] = [
    ("NACOS_AUTH_ENABLE", AUTH_ENABLED),
    ("NACOS_AUTH_USER_AGENT_AUTH_WHITE_ENABLE", USER_AGENT_WHITE),
];

/// Shortest token validity not flagged, in seconds: shorter ones make every client log in often.
pub const MIN_SANE_EXPIRE_SECS: u64 = 300;
/// Longest token validity not flagged, in seconds (a day): a stolen token is good that long.
pub const MAX_SANE_EXPIRE_SECS: u64 = 86_400;

/// How much a [`Finding`] matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A note.
    Info,
    /// A risky choice.
    Warning,
    /// A hole: fix it.
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One thing the audit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// A stable snake_case code (`public_secret_key`, `auth_disabled`, …).
    pub code: &'static str,
    /// The setting concerned (its `application.properties` name).
    pub setting: &'static str,
    /// What is wrong and what to do (never a secret).
    pub message: String,
}

/// The findings of [`audit`], most severe first.
///
/// # Example
/// ```
/// use nacoscrypt_core::token::audit::{audit, Severity};
///
/// let report = audit(Some("nacos.core.auth.enabled=false\n"), [])?;
/// assert!(report.has_errors());
/// assert!(report.findings.iter().any(|f| f.code == "auth_disabled" && f.severity == Severity::Error));
/// assert!(report.to_json().starts_with(r#"{"ok":false,"#));
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Every finding, errors first.
    pub findings: Vec<Finding>,
}

impl AuditReport {
    /// The number of findings of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// `true` if any finding is an [`Severity::Error`].
    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// `true` if the report passes: no error, and with `strict` no warning either.
    pub fn passes(&self, strict: bool) -> bool {
        let warnings = self.count(Severity::Warning);
        !self.has_errors() && (!strict || warnings == 0)
    }

    /// The report as one line of JSON:
    /// `{"ok":…,"errors":n,"warnings":n,"findings":[{"severity":…,"code":…,"setting":…,"message":…}]}`
    /// (`ok` is [`passes(false)`](Self::passes)).
    pub fn to_json(&self) -> String {
        let mut out = format!(
            "{{\"ok\":{},\"errors\":{},\"warnings\":{},\"findings\":[",
            self.passes(false),
            self.count(Severity::Error),
            self.count(Severity::Warning)
        );
        for (i, f) in self.findings.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"severity\":");
            push_json_string(&mut out, f.severity.name());
            out.push_str(",\"code\":");
            push_json_string(&mut out, f.code);
            out.push_str(",\"setting\":");
            push_json_string(&mut out, f.setting);
            out.push_str(",\"message\":");
            push_json_string(&mut out, &f.message);
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

/// Audits a server's auth settings: from its `application.properties` text (placeholders
/// resolved against `env` first, as the Docker image's file needs), or, without one, from the
/// Docker image's environment names alone ([`ENV_NAMES`] and
/// [`AUDIT_ENV_NAMES`]), unset ones taking the server's defaults.
///
/// Flags: auth disabled; the user-agent white list; the secret key missing, not base64 for the
/// server, under 256 bits or publicly known; the identity key or value missing or the old
/// public default; a token validity outside [`MIN_SANE_EXPIRE_SECS`]..=[`MAX_SANE_EXPIRE_SECS`];
/// the token cache (a password change does not end cached tokens early); and any setting the
/// server could not read.
///
/// ```
/// use nacoscrypt_core::token::audit::audit;
///
/// let env = [
///     ("NACOS_AUTH_ENABLE", "true"),
///     ("NACOS_AUTH_TOKEN", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
///     ("NACOS_AUTH_IDENTITY_KEY", "X-Peer"),
///     ("NACOS_AUTH_IDENTITY_VALUE", "d2f8c0e7a1b9"),
/// ];
/// let report = audit(None, env)?;
/// assert!(report.passes(true), "{:?}", report.findings);
///
/// let report = audit(None, [("NACOS_AUTH_ENABLE", "true"), ("NACOS_AUTH_TOKEN", "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=")])?;
/// let codes: Vec<_> = report.findings.iter().map(|f| f.code).collect();
/// assert!(codes.contains(&"public_secret_key") && codes.contains(&"identity_missing"));
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidSettings`] if the properties text is not a readable file at all (over
/// [`MAX_PROPERTIES_LEN`](crate::properties::MAX_PROPERTIES_LEN), say). A single unreadable
/// setting is a finding, not an error.
pub fn audit<'e>(
    properties: Option<&str>,
    env: impl IntoIterator<Item = (&'e str, &'e str)>,
) -> Result<AuditReport> {
    let env: Vec<(&str, &str)> = env.into_iter().collect();
    let props = properties.map(Properties::parse).transpose()?;
    let mut a = Auditor {
        props: props.as_ref(),
        env: &env,
        findings: Vec::new(),
    };
    a.auth_enabled();
    a.user_agent_white();
    a.secret_key();
    a.identity();
    a.expiry();
    a.cache();
    let mut findings = a.findings;
    findings.sort_by_key(|f| core::cmp::Reverse(f.severity));
    Ok(AuditReport { findings })
}

struct Auditor<'a> {
    props: Option<&'a Properties>,
    env: &'a [(&'a str, &'a str)],
    findings: Vec<Finding>,
}

impl Auditor<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        setting: &'static str,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            code,
            setting,
            message,
        });
    }

    /// The value of `setting` (blank = unset); an unreadable one is reported and unset.
    fn value(&mut self, setting: &'static str) -> Option<Zeroizing<String>> {
        let value = match self.props {
            Some(props) => match props.get(setting) {
                None => None,
                Some(v) => match resolve_placeholders(v, setting, props, self.env) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        self.invalid(setting, &e);
                        None
                    }
                },
            },
            None => {
                let env_name = ENV_NAMES
                    .iter()
                    .chain(AUDIT_ENV_NAMES.iter())
                    .find(|(_, s)| *s == setting)
                    .map(|(n, _)| *n);
                env_name.and_then(|n| {
                    self.env
                        .iter()
                        .rev()
                        .find(|(k, _)| *k == n)
                        .map(|(_, v)| Zeroizing::new(String::from(*v)))
                })
            }
        };
        value.filter(|v| !v.trim().is_empty())
    }

    fn invalid(&mut self, setting: &'static str, e: &Error) {
        self.push(
            Severity::Error,
            "invalid_setting",
            setting,
            format!("the server cannot read this setting: {e}"),
        );
    }

    fn flag(&mut self, setting: &'static str) -> Option<bool> {
        let v = self.value(setting)?;
        match parse_bool(&v, setting) {
            Ok(b) => Some(b),
            Err(e) => {
                self.invalid(setting, &e);
                None
            }
        }
    }

    fn auth_enabled(&mut self) {
        if self.flag(AUTH_ENABLED) != Some(true) {
            self.push(
                Severity::Error,
                "auth_disabled",
                AUTH_ENABLED,
                "auth is disabled (the server's default): anyone who reaches the server reads \
                 and writes every config; set it to true"
                    .to_string(),
            );
        }
    }

    fn user_agent_white(&mut self) {
        if self.flag(USER_AGENT_WHITE) == Some(true) {
            self.push(
                Severity::Error,
                "user_agent_white_list",
                USER_AGENT_WHITE,
                "requests whose User-Agent starts with Nacos-Server skip auth, and anyone can \
                 send that header: set it to false and let peers use the server identity"
                    .to_string(),
            );
        }
    }

    fn secret_key(&mut self) {
        const SETTING: &str = super::settings::SECRET_KEY;
        let Some(text) = self.value(SETTING) else {
            self.push(
                Severity::Error,
                "secret_key_missing",
                SETTING,
                "no token secret key: the server cannot sign tokens; generate one with \
                 `nacoscrypt secret new`"
                    .to_string(),
            );
            return;
        };
        let (code, message) = match SecretKey::from_base64(&text) {
            Ok(_) => return,
            Err(Error::PubliclyKnownKey) => (
                "public_secret_key",
                "the secret key is printed in the Nacos documentation: anyone can sign tokens \
                 for any user; generate one with `nacoscrypt secret new`"
                    .to_string(),
            ),
            Err(Error::SecretKeyTooShort { bits }) => (
                "short_secret_key",
                format!(
                    "the secret key has {bits} bits, under 256: the server refuses it; \
                     generate one with `nacoscrypt secret new`"
                ),
            ),
            Err(e) => (
                "invalid_secret_key",
                format!("the server cannot decode the secret key: {e}"),
            ),
        };
        self.push(Severity::Error, code, SETTING, message);
    }

    fn identity(&mut self) {
        let key = self.value(IDENTITY_KEY);
        let value = self.value(IDENTITY_VALUE);
        for (setting, missing) in [
            (IDENTITY_KEY, key.is_none()),
            (IDENTITY_VALUE, value.is_none()),
        ] {
            if missing {
                self.push(
                    Severity::Error,
                    "identity_missing",
                    setting,
                    "the server identity is not set: peer servers cannot be told from \
                     clients; set a random key and value"
                        .to_string(),
                );
            }
        }
        if value.as_deref().map(String::as_str) == Some(PUBLIC_DEFAULT_IDENTITY_VALUE) {
            self.push(
                Severity::Error,
                "identity_default",
                IDENTITY_VALUE,
                "the identity value is the old public default `security`: anyone can pass as a \
                 peer server; set a random value"
                    .to_string(),
            );
        }
        if key.as_deref().map(String::as_str) == Some(PUBLIC_DEFAULT_IDENTITY_KEY) {
            self.push(
                Severity::Warning,
                "identity_default",
                IDENTITY_KEY,
                "the identity key is the old public default `serverIdentity`: choose your own \
                 header name"
                    .to_string(),
            );
        }
    }

    fn expiry(&mut self) {
        let Some(text) = self.value(EXPIRE_SECONDS) else {
            return;
        };
        let secs = match parse_seconds(&text, EXPIRE_SECONDS) {
            Ok(s) => s,
            Err(e) => return self.invalid(EXPIRE_SECONDS, &e),
        };
        if secs < MIN_SANE_EXPIRE_SECS {
            self.push(
                Severity::Warning,
                "token_expiry_short",
                EXPIRE_SECONDS,
                format!(
                    "tokens last {secs} s, under {MIN_SANE_EXPIRE_SECS} s: every client logs in \
                     that often"
                ),
            );
        } else if secs > MAX_SANE_EXPIRE_SECS {
            self.push(
                Severity::Warning,
                "token_expiry_long",
                EXPIRE_SECONDS,
                format!(
                    "tokens last {secs} s, over a day ({MAX_SANE_EXPIRE_SECS} s): a leaked token \
                     stays good that long; the default is 18000"
                ),
            );
        }
    }

    fn cache(&mut self) {
        if self.flag(CACHE_ENABLE) == Some(true) {
            self.push(
                Severity::Info,
                "token_cache_enabled",
                CACHE_ENABLE,
                "the token cache is on: a user's logins share one token for 90% of its validity, \
                 and a password change or deletion does not end it early unless tokens are \
                 revoked"
                    .to_string(),
            );
        }
    }
}
