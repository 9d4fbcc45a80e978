//! Why a stored config will not decrypt: a static reading of the stored pair, and, given the
//! keys, each decryption step tried in turn with the first failure named.
//!
//! Nothing here prints key material or plaintext: findings name sizes, shapes, schemes, key
//! version ids and error kinds only.
//!
//! ```
//! use nacoscrypt_core::config::{self, doctor, ConfigId, Format};
//! use nacoscrypt_core::kms::Keyring;
//!
//! # fn main() -> Result<(), nacoscrypt_core::Error> {
//! let mut keyring = Keyring::new();
//! keyring.add_new_key("alias/nacos")?;
//! let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
//! let stored = config::encrypt(&keyring, &id, "password=s3cret", "alias/nacos", Format::Nacos)?;
//!
//! // Published without its encryptedDataKey: found without any key.
//! let report = doctor::diagnose(&id, &stored.content, "");
//! assert_eq!(report.format, doctor::StoredFormat::Nacos);
//! assert!(report.findings.iter().any(|f| f.code == "missing-encrypted-data-key"));
//! assert!(!report.is_healthy());
//!
//! // With the keyring every step is tried.
//! let keys = doctor::Keys { kms: Some(&keyring), plugin_server_secret: None };
//! let report = doctor::diagnose_with_keys(&keys, &id, &stored.content, &stored.encrypted_data_key);
//! assert!(report.is_healthy());
//! assert_eq!(report.check.as_ref().map(|c| c.failed_step), Some(None));
//! # Ok(()) }
//! ```

use super::plugin::{self, Plugin};
use super::{ConfigId, Limits, MAX_ENCRYPTED_DATA_KEY_LEN, Scheme};
use crate::json::push_json_string;
use crate::kms::{DataKey, KeySpec, Kms, VERSION_ID_LEN};
use crate::{Error, ErrorKind, SecretString, b64};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// How one SDK reads a data ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemeView {
    /// Not encrypted: the SDK passes the content through.
    NotEncrypted,
    /// Envelope encryption with a data key of this size.
    Envelope(KeySpec),
    /// Direct: the KMS encrypted the content itself.
    Direct,
    /// The Nacos server's own plugin (SPEC 6), not a client-side scheme.
    ServerPlugin(Plugin),
}

impl SchemeView {
    /// `not-encrypted`, `kms-aes-256`, `kms-aes-128`, `direct`, `server-aes` or
    /// `server-doubleAes`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotEncrypted => "not-encrypted",
            Self::Envelope(KeySpec::Aes256) => "kms-aes-256",
            Self::Envelope(KeySpec::Aes128) => "kms-aes-128",
            Self::Direct => "direct",
            Self::ServerPlugin(Plugin::Aes) => "server-aes",
            Self::ServerPlugin(Plugin::DoubleAes) => "server-doubleAes",
        }
    }
}

/// The scheme each SDK family selects for a data ID.
///
/// - Java (and this library when writing): exact prefixes, hyphen included, in SPEC 2.1 order.
/// - Go: a data ID starting with `cipher-` goes to the plugin whose name
///   (`cipher-kms-aes-256`, `cipher-kms-aes-128`, `cipher`) is the longest one the data ID
///   contains anywhere.
/// - Python: prefixes without the trailing hyphen (`cipher-kms-aes-256`, `cipher-kms-aes-128`,
///   then `cipher-`).
///
/// ```
/// use nacoscrypt_core::config::doctor::{SchemeView, SchemeViews};
/// use nacoscrypt_core::kms::KeySpec;
///
/// let v = SchemeViews::of("cipher-app-cipher-kms-aes-128-x");
/// assert_eq!(v.java, SchemeView::Direct);
/// assert_eq!(v.go, SchemeView::Envelope(KeySpec::Aes128));
/// assert!(!v.agree());
/// assert!(SchemeViews::of("cipher-kms-aes-256-db").agree());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchemeViews {
    /// The Java SDK (and the MSE extension).
    pub java: SchemeView,
    /// The Go SDK.
    pub go: SchemeView,
    /// The Python SDK.
    pub python: SchemeView,
}

const AES_256: &str = "cipher-kms-aes-256";
const AES_128: &str = "cipher-kms-aes-128";

impl SchemeViews {
    /// The three readings of `data_id` as each SDK selects its scheme when writing (and when
    /// reading with an `encryptedDataKey`); [`SchemeViews::of_stored`] reads a stored pair.
    pub fn of(data_id: &str) -> Self {
        if let Some(p) = plugin::plugin_of(data_id) {
            let v = SchemeView::ServerPlugin(p);
            return Self {
                java: v,
                go: v,
                python: v,
            };
        }
        let java = match Scheme::for_encrypt(data_id) {
            Ok(Scheme::Envelope(spec)) => SchemeView::Envelope(spec),
            Ok(Scheme::Direct) => SchemeView::Direct,
            Err(_) => SchemeView::NotEncrypted,
        };
        let encrypted = data_id.starts_with("cipher-");
        let go = if !encrypted {
            SchemeView::NotEncrypted
        } else if data_id.contains(AES_256) {
            SchemeView::Envelope(KeySpec::Aes256)
        } else if data_id.contains(AES_128) {
            SchemeView::Envelope(KeySpec::Aes128)
        } else {
            SchemeView::Direct
        };
        let python = if data_id.starts_with(AES_256) {
            SchemeView::Envelope(KeySpec::Aes256)
        } else if data_id.starts_with(AES_128) {
            SchemeView::Envelope(KeySpec::Aes128)
        } else if encrypted {
            SchemeView::Direct
        } else {
            SchemeView::NotEncrypted
        };
        Self { java, go, python }
    }

    /// The three readings of a stored pair: [`SchemeViews::of`], except that the Python SDK
    /// reads a hyphenless `cipher-kms-aes-256` / `cipher-kms-aes-128` data ID as envelope only
    /// when a non-empty `encryptedDataKey` comes with it, and as direct otherwise (SPEC 2.1).
    /// The Go SDK picks its plugin from the data ID alone.
    ///
    /// ```
    /// use nacoscrypt_core::config::doctor::{SchemeView, SchemeViews};
    /// use nacoscrypt_core::kms::KeySpec;
    ///
    /// let with_key = SchemeViews::of_stored("cipher-kms-aes-256db", "AAAA");
    /// assert_eq!(with_key.python, SchemeView::Envelope(KeySpec::Aes256));
    /// let without = SchemeViews::of_stored("cipher-kms-aes-256db", "");
    /// assert_eq!(without.python, SchemeView::Direct);
    /// assert_eq!(without.go, SchemeView::Envelope(KeySpec::Aes256));
    /// // The exact prefix does not depend on the key.
    /// let exact = SchemeViews::of_stored("cipher-kms-aes-256-db", "");
    /// assert_eq!(exact.python, SchemeView::Envelope(KeySpec::Aes256));
    /// ```
    pub fn of_stored(data_id: &str, encrypted_data_key: &str) -> Self {
        let mut v = Self::of(data_id);
        let hyphenless = matches!(v.python, SchemeView::Envelope(_))
            && !data_id.starts_with("cipher-kms-aes-256-")
            && !data_id.starts_with("cipher-kms-aes-128-");
        if hyphenless && encrypted_data_key.is_empty() {
            v.python = SchemeView::Direct;
        }
        v
    }

    /// `true` if all three SDKs read the data ID the same way.
    pub fn agree(&self) -> bool {
        self.java == self.go && self.go == self.python
    }
}

/// The stored format, as far as the stored pair shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoredFormat {
    /// The `nacos` format (base64 AES-ECB, or a direct KMS blob).
    Nacos,
    /// The `v1` format (`nc1:` marker).
    V1,
    /// The Nacos server plugin's hex AES-CBC (SPEC 6).
    ServerPlugin,
    /// Plain text: not encrypted, or published without encryption under a `cipher-` data ID.
    PlainText,
}

impl StoredFormat {
    /// `nacos`, `v1`, `server-plugin` or `plain-text`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Nacos => "nacos",
            Self::V1 => "v1",
            Self::ServerPlugin => "server-plugin",
            Self::PlainText => "plain-text",
        }
    }
}

/// What the `encryptedDataKey` (or a direct blob) says about where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyOrigin {
    /// No blob to read.
    None,
    /// A version-id blob (SPEC 2.4 / 5.2) wrapping a raw data key of this size: the local
    /// keyring's layout.
    LocalKeyring {
        /// The key version id at the start of the blob.
        version_id: String,
        /// The wrapped data key's size.
        spec: KeySpec,
    },
    /// A version-id blob wrapping a base64 data key of this size: a KMS 3.0 instance.
    KmsInstance {
        /// The key version id at the start of the blob.
        version_id: String,
        /// The wrapped data key's size.
        spec: KeySpec,
    },
    /// A version-id blob of another length (a direct config, or an unknown payload).
    VersionIdBlob {
        /// The key version id at the start of the blob.
        version_id: String,
    },
    /// An AWS KMS ciphertext blob (its fixed header).
    AwsKms,
    /// Base64 with no version id: an Alibaba Cloud KMS OpenAPI (Shared KMS) blob or another
    /// service's.
    OpenApiOrOther,
    /// A server plugin secret key (base64 of hex), stored in the clear (`aes`) or wrapped
    /// (`doubleAes`).
    ServerPluginKey,
    /// Not base64: no key service made it.
    Unreadable,
}

impl KeyOrigin {
    /// A short label: `none`, `local-keyring`, `kms-instance`, `version-id-blob`, `aws-kms`,
    /// `openapi-or-other`, `server-plugin-key`, `unreadable`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::LocalKeyring { .. } => "local-keyring",
            Self::KmsInstance { .. } => "kms-instance",
            Self::VersionIdBlob { .. } => "version-id-blob",
            Self::AwsKms => "aws-kms",
            Self::OpenApiOrOther => "openapi-or-other",
            Self::ServerPluginKey => "server-plugin-key",
            Self::Unreadable => "unreadable",
        }
    }

    /// Reads a blob's origin from its shape.
    pub fn of_blob(blob: &str) -> Self {
        if blob.is_empty() {
            return Self::None;
        }
        let Ok(raw) = b64::decode_std(blob, "encryptedDataKey") else {
            return Self::Unreadable;
        };
        if raw.len() == 32 && raw.iter().all(u8::is_ascii_hexdigit) {
            return Self::ServerPluginKey;
        }
        if raw.starts_with(&[1, 2, 2, 0]) {
            return Self::AwsKms;
        }
        let is_version_id = raw.len() > VERSION_ID_LEN
            && raw[..VERSION_ID_LEN].iter().all(u8::is_ascii_graphic)
            && raw[..VERSION_ID_LEN].iter().filter(|&&b| b == b'-').count() == 4;
        if !is_version_id {
            return Self::OpenApiOrOther;
        }
        let version_id = String::from_utf8_lossy(&raw[..VERSION_ID_LEN]).into_owned();
        // version id ‖ iv[12] ‖ ciphertext ‖ tag[16]
        match raw.len() - VERSION_ID_LEN - 28 {
            32 => Self::LocalKeyring {
                version_id,
                spec: KeySpec::Aes256,
            },
            16 => Self::LocalKeyring {
                version_id,
                spec: KeySpec::Aes128,
            },
            44 => Self::KmsInstance {
                version_id,
                spec: KeySpec::Aes256,
            },
            24 => Self::KmsInstance {
                version_id,
                spec: KeySpec::Aes128,
            },
            _ => Self::VersionIdBlob { version_id },
        }
    }

    fn data_key_spec(&self) -> Option<KeySpec> {
        match self {
            Self::LocalKeyring { spec, .. } | Self::KmsInstance { spec, .. } => Some(*spec),
            _ => None,
        }
    }

    fn version_id(&self) -> Option<&str> {
        match self {
            Self::LocalKeyring { version_id, .. }
            | Self::KmsInstance { version_id, .. }
            | Self::VersionIdBlob { version_id } => Some(version_id),
            _ => None,
        }
    }
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// For information.
    Info,
    /// Works here, but some reader or a later step may fail.
    Warning,
    /// The config cannot decrypt as stored.
    Error,
}

impl Severity {
    /// `info`, `warning` or `error`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One observation: a stable `code` for scripts and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A stable kebab-case code (for example `missing-encrypted-data-key`).
    pub code: &'static str,
    /// What was found and what to do; never key material or plaintext.
    pub message: String,
}

/// A decryption step, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Choosing the scheme from the data ID and the stored pair.
    Scheme,
    /// Shape checks: sizes, base64, blocks, the `encryptedDataKey` being present.
    Structure,
    /// Reaching the key service (unreachable, refusing, throttled).
    Kms,
    /// The key id or key version is not in the key service (deleted, or another keyring).
    KeyNotFound,
    /// The unwrapped data key has the wrong length for the data ID's scheme.
    DataKeyLength,
    /// The cipher: bad padding (`nacos`, plugin) or a failed tag (`v1`): the wrong key, a
    /// swapped `encryptedDataKey`, or a moved config.
    WrongKey,
    /// The plaintext is not UTF-8.
    Utf8,
    /// The plaintext exceeds the limit.
    Limits,
}

impl Step {
    /// `scheme`, `structure`, `kms`, `key-not-found`, `data-key-length`, `wrong-key`, `utf8`,
    /// `limits`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheme => "scheme",
            Self::Structure => "structure",
            Self::Kms => "kms",
            Self::KeyNotFound => "key-not-found",
            Self::DataKeyLength => "data-key-length",
            Self::WrongKey => "wrong-key",
            Self::Utf8 => "utf8",
            Self::Limits => "limits",
        }
    }

    /// The step an error of the decryption path belongs to.
    pub fn of_error(err: &Error) -> Self {
        match err.kind() {
            ErrorKind::NotEncryptedDataId => Self::Scheme,
            ErrorKind::UnknownKey => Self::KeyNotFound,
            ErrorKind::Kms | ErrorKind::Io | ErrorKind::Random => Self::Kms,
            ErrorKind::DataKeyLength => Self::DataKeyLength,
            ErrorKind::BadPadding | ErrorKind::AuthenticationFailed => Self::WrongKey,
            ErrorKind::InvalidUtf8 => Self::Utf8,
            ErrorKind::ContentTooLarge => match err {
                Error::ContentTooLarge { .. } => Self::Limits,
                _ => Self::Structure,
            },
            _ => Self::Structure,
        }
    }
}

/// The outcome of trying every step with the keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCheck {
    /// The first step that failed, `None` if the config decrypted.
    pub failed_step: Option<Step>,
    /// The failing error's kind.
    pub error_kind: Option<ErrorKind>,
    /// The error's message (never key material or plaintext), or `decrypted`.
    pub message: String,
    /// Bytes of plaintext, when it decrypted.
    pub plaintext_len: Option<usize>,
}

/// The keys a check or a migration may use: a KMS for the client-side schemes, and the
/// server-wide secret for `doubleAes` plugin configs (`aes` plugin configs carry their key).
#[derive(Clone, Copy, Default)]
pub struct Keys<'a> {
    /// The KMS of `cipher-kms-…` and `cipher-…` configs.
    pub kms: Option<&'a dyn Kms>,
    /// The Nacos server's `-Dnacos.encrypt` secret (a plugin secret key text), for
    /// `cipher-doubleAes-` configs.
    pub plugin_server_secret: Option<&'a str>,
}

impl core::fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keys")
            .field("kms", &self.kms.map(|_| "dyn Kms"))
            .field(
                "plugin_server_secret",
                &self.plugin_server_secret.map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// A doctor's report on one stored config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    /// The data ID as given.
    pub data_id: String,
    /// The group as given.
    pub group: String,
    /// The tenant as given.
    pub tenant: String,
    /// The scheme each SDK selects.
    pub schemes: SchemeViews,
    /// The stored format.
    pub format: StoredFormat,
    /// What the `encryptedDataKey` (or a direct blob) says about its origin.
    pub key_origin: KeyOrigin,
    /// Stored content length in bytes.
    pub content_len: usize,
    /// `encryptedDataKey` length in bytes.
    pub encrypted_data_key_len: usize,
    /// Everything found, in the order found.
    pub findings: Vec<Finding>,
    /// The steps tried with keys; `None` when no keys were given, or not the ones this config
    /// needs (a `not-checked` finding says which).
    pub check: Option<KeyCheck>,
}

impl Diagnosis {
    /// The worst severity found (`Info` when nothing was found), counting a failed key check
    /// as an error.
    pub fn worst(&self) -> Severity {
        let found = self
            .findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info);
        match &self.check {
            Some(c) if c.failed_step.is_some() => Severity::Error,
            _ => found,
        }
    }

    /// `true` if nothing worse than a warning was found and any key check passed.
    pub fn is_healthy(&self) -> bool {
        self.worst() < Severity::Error
    }

    /// The report as one line of JSON (stable member names; for `--json` and the bindings).
    ///
    /// ```
    /// use nacoscrypt_core::config::{doctor, ConfigId};
    /// let id = ConfigId::new("application.yaml", "DEFAULT_GROUP", "");
    /// let json = doctor::diagnose(&id, "a: 1", "").to_json();
    /// assert!(json.starts_with("{\"dataId\":\"application.yaml\""));
    /// assert!(json.contains("\"format\":\"plain-text\""));
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        let member = |out: &mut String, name: &str, first: bool| {
            if !first {
                out.push(',');
            }
            push_json_string(out, name);
            out.push(':');
        };
        out.push('{');
        member(&mut out, "dataId", true);
        push_json_string(&mut out, &self.data_id);
        member(&mut out, "group", false);
        push_json_string(&mut out, &self.group);
        member(&mut out, "tenant", false);
        push_json_string(&mut out, &self.tenant);
        member(&mut out, "healthy", false);
        out.push_str(if self.is_healthy() { "true" } else { "false" });
        member(&mut out, "worst", false);
        push_json_string(&mut out, self.worst().as_str());
        member(&mut out, "schemes", false);
        let _ = write!(
            out,
            "{{\"java\":\"{}\",\"go\":\"{}\",\"python\":\"{}\"}}",
            self.schemes.java.as_str(),
            self.schemes.go.as_str(),
            self.schemes.python.as_str()
        );
        member(&mut out, "format", false);
        push_json_string(&mut out, self.format.as_str());
        member(&mut out, "keyOrigin", false);
        out.push('{');
        member(&mut out, "kind", true);
        push_json_string(&mut out, self.key_origin.as_str());
        if let Some(v) = self.key_origin.version_id() {
            member(&mut out, "versionId", false);
            push_json_string(&mut out, v);
        }
        if let Some(spec) = self.key_origin.data_key_spec() {
            member(&mut out, "dataKeySpec", false);
            push_json_string(&mut out, spec.as_str());
        }
        out.push('}');
        member(&mut out, "contentLength", false);
        let _ = write!(out, "{}", self.content_len);
        member(&mut out, "encryptedDataKeyLength", false);
        let _ = write!(out, "{}", self.encrypted_data_key_len);
        member(&mut out, "findings", false);
        out.push('[');
        for (i, f) in self.findings.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            member(&mut out, "severity", true);
            push_json_string(&mut out, f.severity.as_str());
            member(&mut out, "code", false);
            push_json_string(&mut out, f.code);
            member(&mut out, "message", false);
            push_json_string(&mut out, &f.message);
            out.push('}');
        }
        out.push(']');
        if let Some(c) = &self.check {
            member(&mut out, "check", false);
            out.push('{');
            member(&mut out, "ok", true);
            out.push_str(if c.failed_step.is_none() {
                "true"
            } else {
                "false"
            });
            if let Some(step) = c.failed_step {
                member(&mut out, "failedStep", false);
                push_json_string(&mut out, step.as_str());
            }
            if let Some(kind) = c.error_kind {
                member(&mut out, "errorKind", false);
                push_json_string(&mut out, kind.name());
            }
            member(&mut out, "message", false);
            push_json_string(&mut out, &c.message);
            if let Some(n) = c.plaintext_len {
                member(&mut out, "plaintextLength", false);
                let _ = write!(out, "{n}");
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}

/// Reads a stored config without any key: schemes, format, key origin, sizes, structure.
pub fn diagnose(id: &ConfigId<'_>, content: &str, encrypted_data_key: &str) -> Diagnosis {
    Reader::new(id, content, encrypted_data_key).read()
}

/// [`diagnose`], then every decryption step tried with `keys`, the first failure named in
/// [`Diagnosis::check`]. The plaintext is dropped (wiped) at once; only its length and a few
/// patterns (the HTML-escaping quirk of SPEC 6) are reported.
pub fn diagnose_with_keys(
    keys: &Keys<'_>,
    id: &ConfigId<'_>,
    content: &str,
    encrypted_data_key: &str,
) -> Diagnosis {
    let mut report = diagnose(id, content, encrypted_data_key);
    // A key the caller did not give is not a failure of the config: say it was not checked.
    let missing = match report.format {
        StoredFormat::Nacos | StoredFormat::V1 if keys.kms.is_none() => Some("no KMS was given"),
        StoredFormat::ServerPlugin
            if plugin::plugin_of(id.data_id) == Some(Plugin::DoubleAes)
                && keys.plugin_server_secret.is_none() =>
        {
            Some("a doubleAes config needs the server's nacos.encrypt secret")
        }
        _ => None,
    };
    if let Some(why) = missing {
        report.findings.push(Finding {
            severity: Severity::Info,
            code: "not-checked",
            message: format!("the decryption steps were not tried: {why}"),
        });
        return report;
    }
    let outcome = open(keys, id, content, encrypted_data_key, report.format);
    report.check = Some(match outcome {
        Ok(plain) => {
            if report.schemes.java == SchemeView::Direct
                && ["\\u0026", "\\u003c", "\\u003e"]
                    .iter()
                    .any(|p| plain.as_str().contains(p))
            {
                report.findings.push(Finding {
                    severity: Severity::Warning,
                    code: "html-escaped-plaintext",
                    message: String::from(
                        "the plaintext holds \\u0026, \\u003c or \\u003e: a writer JSON-encoded it \
                         with HTML-safe escaping (SPEC 6); `migrate --unescape-html` undoes it",
                    ),
                });
            }
            KeyCheck {
                failed_step: None,
                error_kind: None,
                message: String::from("decrypted"),
                plaintext_len: Some(plain.len()),
            }
        }
        Err((step, err)) => KeyCheck {
            failed_step: Some(step),
            error_kind: Some(err.kind()),
            message: explain(step, &err),
            plaintext_len: None,
        },
    });
    report
}

fn explain(step: Step, err: &Error) -> String {
    let advice = match step {
        Step::Scheme => "the data ID selects no decryption",
        Step::Structure => "the stored pair is malformed",
        Step::Kms => {
            "the key service failed or refused: check endpoint, credentials and permissions"
        }
        Step::KeyNotFound => {
            "the key (or key version) that wrapped this config is not in the key service: \
             deleted, or another keyring/region"
        }
        Step::DataKeyLength => {
            "the data key does not fit the data ID's scheme: the encryptedDataKey belongs to \
             another config, or the data ID was renamed"
        }
        Step::WrongKey => {
            "the content does not decrypt under this data key: a swapped encryptedDataKey, a \
             moved v1 config, or content rewritten without its key"
        }
        Step::Utf8 => "the plaintext is not UTF-8: decrypted with the wrong key, or binary content",
        Step::Limits => "the plaintext is over the Nacos limit for the scheme",
    };
    format!("{err}; {advice}")
}

/// Decrypts a stored config with whatever `keys` hold, by its stored format: the step that
/// failed and why. Used by [`diagnose_with_keys`] and the migration.
pub(crate) fn open(
    keys: &Keys<'_>,
    id: &ConfigId<'_>,
    content: &str,
    encrypted_data_key: &str,
    format: StoredFormat,
) -> Result<SecretString, (Step, Error)> {
    let fail = |err: Error| (Step::of_error(&err), err);
    match format {
        StoredFormat::PlainText => Err((
            Step::Scheme,
            if Scheme::is_encrypted_data_id(id.data_id) {
                Error::InvalidBase64 { field: "content" }
            } else {
                Error::NotEncryptedDataId
            },
        )),
        StoredFormat::ServerPlugin => {
            // The plugin keeps its (wrapped) secret key in encryptedDataKey: none is a
            // structure fault, as for the envelope schemes.
            if encrypted_data_key.is_empty() {
                return Err((Step::Structure, Error::MissingEncryptedDataKey));
            }
            let plugin = plugin::plugin_of(id.data_id).unwrap_or(Plugin::Aes);
            let key = match plugin {
                Plugin::Aes => SecretString::from(String::from(encrypted_data_key)),
                Plugin::DoubleAes => {
                    let Some(server) = keys.plugin_server_secret else {
                        return Err((
                            Step::KeyNotFound,
                            Error::InvalidArgument {
                                reason: "a doubleAes config needs the server's nacos.encrypt secret",
                            },
                        ));
                    };
                    plugin::unwrap_secret_key(server, encrypted_data_key).map_err(fail)?
                }
            };
            plugin::decrypt(key.as_str(), content).map_err(fail)
        }
        StoredFormat::Nacos | StoredFormat::V1 => {
            let Some(kms) = keys.kms else {
                return Err((
                    Step::Kms,
                    Error::InvalidArgument {
                        reason: "no KMS given",
                    },
                ));
            };
            let scheme = Scheme::for_decrypt(id.data_id, encrypted_data_key).map_err(fail)?;
            match scheme {
                Scheme::Envelope(spec) => {
                    if encrypted_data_key.is_empty() {
                        return Err((Step::Structure, Error::MissingEncryptedDataKey));
                    }
                    // Unwrap separately so a key of the wrong length is named as such.
                    let ctx = if format == StoredFormat::V1 {
                        id.v1_context()
                    } else {
                        crate::kms::Context::new()
                    };
                    if encrypted_data_key.len() > MAX_ENCRYPTED_DATA_KEY_LEN {
                        return Err(fail(Error::EncryptedDataKeyTooLong {
                            len: encrypted_data_key.len(),
                        }));
                    }
                    let raw = kms
                        .decrypt_data_key(encrypted_data_key, spec, &ctx)
                        .map_err(fail)?;
                    let key = DataKey::new(spec, raw.as_bytes()).map_err(fail)?;
                    super::decrypt_with_data_key(
                        &key,
                        id,
                        content,
                        encrypted_data_key,
                        &Limits::NACOS,
                    )
                    .map_err(fail)
                }
                Scheme::Direct => {
                    super::decrypt(kms, id, content, encrypted_data_key).map_err(fail)
                }
            }
        }
    }
}

/// The static reading of one stored pair.
struct Reader<'a> {
    id: &'a ConfigId<'a>,
    content: &'a str,
    edk: &'a str,
    findings: Vec<Finding>,
}

impl<'a> Reader<'a> {
    fn new(id: &'a ConfigId<'a>, content: &'a str, edk: &'a str) -> Self {
        Self {
            id,
            content,
            edk,
            findings: Vec::new(),
        }
    }

    fn add(&mut self, severity: Severity, code: &'static str, message: String) {
        self.findings.push(Finding {
            severity,
            code,
            message,
        });
    }

    fn read(mut self) -> Diagnosis {
        let schemes = SchemeViews::of_stored(self.id.data_id, self.edk);
        let format = self.format(schemes);
        // A direct config's blob is its content (after the v1 marker).
        let direct = schemes.java == SchemeView::Direct && self.edk.is_empty();
        let key_origin = KeyOrigin::of_blob(match format {
            StoredFormat::Nacos if direct => self.content,
            StoredFormat::V1 if direct => &self.content[4..],
            _ => self.edk,
        });
        self.schemes(schemes);
        self.sizes(schemes);
        match format {
            StoredFormat::ServerPlugin => self.plugin(schemes),
            StoredFormat::PlainText => self.plain(schemes),
            StoredFormat::Nacos | StoredFormat::V1 => self.client_side(format, &key_origin),
        }
        if let Some(v) = key_origin.version_id() {
            self.add(
                Severity::Info,
                "key-version",
                format!(
                    "the blob names key version {v} ({}): the key service must still hold it",
                    key_origin.as_str()
                ),
            );
        } else if key_origin != KeyOrigin::None {
            self.add(
                Severity::Info,
                "key-origin",
                format!("key blob origin: {}", key_origin.as_str()),
            );
        }
        Diagnosis {
            data_id: String::from(self.id.data_id),
            group: String::from(self.id.group),
            tenant: String::from(self.id.tenant),
            schemes,
            format,
            key_origin,
            content_len: self.content.len(),
            encrypted_data_key_len: self.edk.len(),
            findings: self.findings,
            check: None,
        }
    }

    fn format(&self, schemes: SchemeViews) -> StoredFormat {
        if matches!(schemes.java, SchemeView::ServerPlugin(_))
            || (plugin::looks_like_content(self.content)
                && KeyOrigin::of_blob(self.edk) == KeyOrigin::ServerPluginKey)
        {
            StoredFormat::ServerPlugin
        } else if self.content.starts_with("nc1:") {
            StoredFormat::V1
        } else if schemes.java == SchemeView::NotEncrypted
            || self.content.is_empty()
            || b64::decode_std(self.content, "content").is_err()
        {
            StoredFormat::PlainText
        } else {
            StoredFormat::Nacos
        }
    }

    fn schemes(&mut self, s: SchemeViews) {
        if !s.agree() {
            self.add(
                Severity::Warning,
                "sdks-disagree",
                format!(
                    "the SDKs read this data ID differently: Java {}, Go {}, Python {}; \
                     rename it to an exact prefix (cipher-kms-aes-256-, cipher-kms-aes-128-, cipher-)",
                    s.java.as_str(),
                    s.go.as_str(),
                    s.python.as_str()
                ),
            );
        }
    }

    fn sizes(&mut self, s: SchemeViews) {
        if self.content.is_empty() {
            self.add(
                Severity::Error,
                "empty-content",
                String::from("the content is empty (Nacos refuses blank configs)"),
            );
        }
        if self.edk.len() > MAX_ENCRYPTED_DATA_KEY_LEN {
            self.add(
                Severity::Error,
                "encrypted-data-key-too-long",
                format!(
                    "encryptedDataKey is {} characters; Nacos stores at most {MAX_ENCRYPTED_DATA_KEY_LEN}",
                    self.edk.len()
                ),
            );
        }
        let scheme = match s.java {
            SchemeView::Envelope(spec) => Some(Scheme::Envelope(spec)),
            SchemeView::Direct => Some(Scheme::Direct),
            _ => None,
        };
        if let Some(scheme) = scheme {
            let limit = Limits::NACOS.max_stored_len(scheme);
            if self.content.len() > limit {
                self.add(
                    Severity::Error,
                    "content-too-large",
                    format!(
                        "stored content is {} characters; a maximal {} config stores in {limit}",
                        self.content.len(),
                        s.java.as_str()
                    ),
                );
            }
        }
    }

    fn plugin(&mut self, s: SchemeViews) {
        if !matches!(s.java, SchemeView::ServerPlugin(_)) {
            self.add(
                Severity::Warning,
                "server-plugin-content",
                String::from(
                    "hex content with a plugin secret key: a server plugin (cipher-aes-) config \
                     under a client-side data ID; the SDKs cannot read it",
                ),
            );
        }
        if self.content.len() > plugin::MAX_CONTENT_LEN {
            self.add(
                Severity::Error,
                "content-too-large",
                format!(
                    "stored content is {} characters; server plugin content is read up to {}",
                    self.content.len(),
                    plugin::MAX_CONTENT_LEN
                ),
            );
        }
        if !plugin::looks_like_content(self.content) {
            self.add(
                Severity::Error,
                "not-hex-blocks",
                String::from("server plugin content must be hex of whole 16-byte blocks"),
            );
        }
        let want = if s.java == SchemeView::ServerPlugin(Plugin::DoubleAes) {
            KeyOrigin::OpenApiOrOther
        } else {
            KeyOrigin::ServerPluginKey
        };
        if self.edk.is_empty() {
            self.add(
                Severity::Error,
                "missing-encrypted-data-key",
                String::from(
                    "a server plugin config keeps its secret key in encryptedDataKey, and it is empty",
                ),
            );
        } else if want == KeyOrigin::ServerPluginKey
            && KeyOrigin::of_blob(self.edk) != KeyOrigin::ServerPluginKey
        {
            self.add(
                Severity::Error,
                "bad-plugin-key",
                String::from(
                    "encryptedDataKey is not a plugin secret key (base64 of 32 hex digits)",
                ),
            );
        }
    }

    fn plain(&mut self, s: SchemeViews) {
        if s.java == SchemeView::NotEncrypted {
            self.add(
                Severity::Info,
                "not-encrypted-data-id",
                String::from(
                    "the data ID has no cipher- prefix: the content is stored in the clear",
                ),
            );
            if !self.edk.is_empty() {
                self.add(
                    Severity::Warning,
                    "unexpected-encrypted-data-key",
                    String::from(
                        "an encryptedDataKey on a config that is not encrypted is ignored",
                    ),
                );
            }
        } else if !self.content.is_empty() {
            self.add(
                Severity::Error,
                "plain-text-under-cipher-data-id",
                String::from(
                    "the content is not base64 under a cipher- data ID: it was probably \
                     published without encryption (a client without KMS settings); re-publish it encrypted",
                ),
            );
        }
    }

    fn client_side(&mut self, format: StoredFormat, origin: &KeyOrigin) {
        let scheme = Scheme::for_decrypt(self.id.data_id, self.edk).ok();
        let body = if format == StoredFormat::V1 {
            &self.content[4..]
        } else {
            self.content
        };
        match scheme {
            Some(Scheme::Envelope(spec)) => {
                if self.edk.is_empty() {
                    self.add(
                        Severity::Error,
                        "missing-encrypted-data-key",
                        format!(
                            "the {} scheme needs the encryptedDataKey published with the content, \
                             and it is empty: find it (Encrypted-Data-Key header, a backup) or re-publish",
                            SchemeView::Envelope(spec).as_str()
                        ),
                    );
                } else if *origin == KeyOrigin::Unreadable {
                    self.add(
                        Severity::Error,
                        "encrypted-data-key-not-base64",
                        String::from("encryptedDataKey is not base64: no key service made it"),
                    );
                }
                if let Some(wrapped) = origin.data_key_spec()
                    && wrapped != spec
                {
                    self.add(
                        Severity::Error,
                        "data-key-size-mismatch",
                        format!(
                            "the blob wraps a {}-byte data key but the data ID needs {}: the \
                             encryptedDataKey belongs to another config",
                            wrapped.key_len(),
                            spec.key_len()
                        ),
                    );
                }
                if self.id.data_id.starts_with(AES_256)
                    && !self.id.data_id.starts_with("cipher-kms-aes-256-")
                    || self.id.data_id.starts_with(AES_128)
                        && !self.id.data_id.starts_with("cipher-kms-aes-128-")
                {
                    self.add(
                        Severity::Warning,
                        "hyphenless-prefix",
                        String::from(
                            "hyphenless cipher-kms-aes- prefix: Go and Python read it as envelope, \
                             the Java SDK as direct (and fails)",
                        ),
                    );
                }
                match b64::decode_std(body, "content") {
                    Err(_) => self.add(
                        Severity::Error,
                        "content-not-base64",
                        String::from("the content is not standard base64"),
                    ),
                    Ok(raw) if format == StoredFormat::Nacos && raw.len() % 16 != 0 => self.add(
                        Severity::Error,
                        "not-whole-blocks",
                        format!(
                            "the content decodes to {} bytes, not whole AES blocks",
                            raw.len()
                        ),
                    ),
                    Ok(raw) if format == StoredFormat::V1 && raw.len() < 29 => self.add(
                        Severity::Error,
                        "v1-too-short",
                        format!(
                            "v1 content decodes to {} bytes, under nonce + tag + 1",
                            raw.len()
                        ),
                    ),
                    Ok(_) => {}
                }
            }
            Some(Scheme::Direct) => {
                if !self.edk.is_empty() {
                    self.add(
                        Severity::Warning,
                        "unexpected-encrypted-data-key",
                        String::from(
                            "the direct cipher- scheme stores no encryptedDataKey; this one is \
                             ignored (or the data ID lost its cipher-kms-aes- prefix)",
                        ),
                    );
                }
                if b64::decode_std(body, "content").is_err() {
                    self.add(
                        Severity::Error,
                        "content-not-base64",
                        String::from("the content is not a base64 KMS blob"),
                    );
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
#[cfg(feature = "getrandom")]
pub(crate) mod tests {
    use super::*;
    use crate::config::{self, Format};
    use crate::kms::Keyring;
    use alloc::borrow::ToOwned;
    use alloc::string::ToString;

    fn keyring() -> Keyring {
        let mut k = Keyring::new();
        k.add_new_key("k").unwrap();
        k
    }

    #[test]
    fn every_scheme_and_format_is_healthy_with_its_key() {
        let k = keyring();
        let keys = Keys {
            kms: Some(&k),
            plugin_server_secret: None,
        };
        for data_id in ["cipher-kms-aes-256-a", "cipher-kms-aes-128-a", "cipher-a"] {
            for format in [Format::Nacos, Format::V1] {
                let id = ConfigId::new(data_id, "g", "t");
                let s = config::encrypt(&k, &id, "x=1", "k", format).unwrap();
                let r = diagnose_with_keys(&keys, &id, &s.content, &s.encrypted_data_key);
                assert!(r.is_healthy(), "{}", r.to_json());
                assert_eq!(r.format.as_str(), format.as_str());
            }
        }
    }

    #[test]
    fn failures_name_their_step() {
        let k = keyring();
        let other = keyring();
        let keys = Keys {
            kms: Some(&k),
            plugin_server_secret: None,
        };
        let id = ConfigId::new("cipher-kms-aes-256-a", "g", "");
        let a = config::encrypt(&k, &id, "x=1", "k", Format::Nacos).unwrap();
        let b = config::encrypt(&k, &id, "y=2", "k", Format::Nacos).unwrap();
        let step = |keys: &Keys<'_>, id: &ConfigId<'_>, c: &str, e: &str| {
            diagnose_with_keys(keys, id, c, e)
                .check
                .unwrap()
                .failed_step
        };
        // swapped encryptedDataKey: wrong key (padding), or garbage that is not UTF-8
        let swapped = step(&keys, &id, &a.content, &b.encrypted_data_key);
        assert!(matches!(swapped, Some(Step::WrongKey | Step::Utf8)));
        // deleted key
        let other_keys = Keys {
            kms: Some(&other),
            plugin_server_secret: None,
        };
        assert_eq!(
            step(&other_keys, &id, &a.content, &a.encrypted_data_key),
            Some(Step::KeyNotFound)
        );
        // 128-bit blob under a 256 data ID
        let id128 = ConfigId::new("cipher-kms-aes-128-a", "g", "");
        let c = config::encrypt(&k, &id128, "x=1", "k", Format::Nacos).unwrap();
        let r = diagnose_with_keys(&keys, &id, &c.content, &c.encrypted_data_key);
        assert_eq!(
            r.check.as_ref().unwrap().failed_step,
            Some(Step::DataKeyLength)
        );
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "data-key-size-mismatch")
        );
        // missing
        assert_eq!(step(&keys, &id, &a.content, ""), Some(Step::Structure));
    }

    #[test]
    fn server_plugin_configs_are_recognised_and_opened() {
        let key = "MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=";
        let id = ConfigId::new("cipher-aes-db", "g", "");
        let content = plugin::encrypt(key, "a=b").unwrap();
        let r = diagnose_with_keys(&Keys::default(), &id, &content, key);
        assert_eq!(r.format, StoredFormat::ServerPlugin);
        assert_eq!(r.key_origin, KeyOrigin::ServerPluginKey);
        assert!(r.is_healthy(), "{}", r.to_json());
        assert!(!r.to_json().contains("a=b"));
        // Published without its key: the structure step, as for envelope configs.
        let r = diagnose_with_keys(&Keys::default(), &id, &content, "");
        assert_eq!(r.check.unwrap().failed_step, Some(Step::Structure));
        // doubleAes without the server secret: not checked, not a failure.
        let id = ConfigId::new("cipher-doubleAes-db", "g", "");
        let r = diagnose_with_keys(&Keys::default(), &id, &content, key);
        assert!(r.check.is_none() && r.findings.iter().any(|f| f.code == "not-checked"));
    }

    /// A key service that fails: every call, or (with `only`) the calls on one blob, as a
    /// throttled or unreachable service does.
    pub(crate) struct FaultyKms<'a> {
        pub(crate) inner: &'a Keyring,
        pub(crate) only: Option<String>,
    }

    impl Kms for FaultyKms<'_> {
        fn generate_data_key(
            &self,
            key_id: &str,
            spec: KeySpec,
            context: &crate::kms::Context<'_>,
        ) -> crate::Result<crate::kms::GeneratedDataKey> {
            if self.only.is_none() {
                return Err(Error::kms("Rejected.Throttling: QPS Limit Exceeded"));
            }
            self.inner.generate_data_key(key_id, spec, context)
        }
        fn encrypt(
            &self,
            key_id: &str,
            plaintext: &[u8],
            context: &crate::kms::Context<'_>,
        ) -> crate::Result<String> {
            if self.only.is_none() {
                return Err(Error::kms("Rejected.Throttling: QPS Limit Exceeded"));
            }
            Kms::encrypt(self.inner, key_id, plaintext, context)
        }
        fn decrypt(
            &self,
            blob: &str,
            context: &crate::kms::Context<'_>,
        ) -> crate::Result<crate::SecretBytes> {
            if self.only.as_deref().is_none_or(|b| b == blob) {
                return Err(Error::kms("connection refused (127.0.0.1:1)"));
            }
            self.inner.decrypt(blob, context)
        }
    }

    #[test]
    fn injected_kms_faults_name_the_kms_step() {
        let k = keyring();
        let faulty = FaultyKms {
            inner: &k,
            only: None,
        };
        let keys = Keys {
            kms: Some(&faulty),
            plugin_server_secret: None,
        };
        for data_id in ["cipher-kms-aes-256-a", "cipher-kms-aes-128-a", "cipher-a"] {
            for format in [Format::Nacos, Format::V1] {
                let id = ConfigId::new(data_id, "g", "t");
                let s = config::encrypt(&k, &id, "x=1", "k", format).unwrap();
                let r = diagnose_with_keys(&keys, &id, &s.content, &s.encrypted_data_key);
                let check = r.check.as_ref().unwrap();
                assert_eq!(check.failed_step, Some(Step::Kms), "{}", r.to_json());
                assert_eq!(check.error_kind, Some(ErrorKind::Kms));
                assert!(
                    check.message.contains("connection refused"),
                    "{}",
                    check.message
                );
                assert!(check.message.contains("check endpoint, credentials"));
                assert!(!r.is_healthy());
                // The static reading is untouched by the fault.
                assert_eq!(r.format.as_str(), format.as_str());
                let json = r.to_json();
                assert!(json.contains("\"failedStep\":\"kms\""), "{json}");
                assert!(!json.contains("x=1"));
            }
        }
    }

    #[test]
    fn key_origin_kinds_from_the_key_services_blob_layouts() {
        let k = keyring();
        let version = k.primary_version("k").unwrap().to_owned();
        let raw = |blob: &str| b64::decode_std(blob, "blob").unwrap();
        // The local keyring's own data keys: version id ‖ iv ‖ raw key ‖ tag.
        for (data_id, spec) in [
            ("cipher-kms-aes-256-a", KeySpec::Aes256),
            ("cipher-kms-aes-128-a", KeySpec::Aes128),
        ] {
            let id = ConfigId::new(data_id, "g", "");
            let s = config::encrypt(&k, &id, "x=1", "k", Format::Nacos).unwrap();
            let r = diagnose(&id, &s.content, &s.encrypted_data_key);
            assert_eq!(
                r.key_origin,
                KeyOrigin::LocalKeyring {
                    version_id: version.clone(),
                    spec
                }
            );
            assert!(r.to_json().contains(&format!(
                "\"keyOrigin\":{{\"kind\":\"local-keyring\",\"versionId\":\"{version}\",\"dataKeySpec\":\"{spec}\"}}"
            )));
        }
        // A KMS 3.0 instance (SPEC 5.2: GenerateDataKey is Encrypt(base64(fresh key)) in the
        // same version id ‖ IV ‖ ciphertext ‖ tag layout): the wrapped data key is base64 text,
        // 44 characters for AES-256, 24 for AES-128. Sealed for real under a key version.
        for (len, spec) in [(32usize, KeySpec::Aes256), (16, KeySpec::Aes128)] {
            let text = b64::encode_std(&[0x5a; 32][..len]);
            let blob = Kms::encrypt(&k, "k", text.as_bytes(), &Default::default()).unwrap();
            assert_eq!(raw(&blob).len(), 36 + 12 + text.len() + 16);
            let origin = KeyOrigin::of_blob(&blob);
            assert_eq!(
                origin,
                KeyOrigin::KmsInstance {
                    version_id: version.clone(),
                    spec
                }
            );
            assert_eq!(origin.as_str(), "kms-instance");
            // Under a data ID of the other size: the mismatch is found without a key.
            let other = if spec == KeySpec::Aes256 {
                "cipher-kms-aes-128-a"
            } else {
                "cipher-kms-aes-256-a"
            };
            let id = ConfigId::new(other, "g", "");
            let content = b64::encode_std(&[0u8; 16]);
            let r = diagnose(&id, &content, &blob);
            assert!(
                r.findings
                    .iter()
                    .any(|f| f.code == "data-key-size-mismatch")
            );
        }
        // A direct config's blob: a version id over a payload that is no data key.
        let id = ConfigId::new("cipher-a", "g", "");
        let s = config::encrypt(&k, &id, "password=s3cret", "k", Format::Nacos).unwrap();
        let r = diagnose(&id, &s.content, "");
        assert_eq!(
            r.key_origin,
            KeyOrigin::VersionIdBlob {
                version_id: version.clone()
            }
        );
        assert_eq!(r.key_origin.as_str(), "version-id-blob");
        assert!(r.findings.iter().any(|f| f.code == "key-version"
            && f.message.contains(&version)
            && f.message.contains("version-id-blob")));
        // The same in v1: the blob after the marker.
        let s = config::encrypt(&k, &id, "password=s3cret", "k", Format::V1).unwrap();
        assert_eq!(
            diagnose(&id, &s.content, "").key_origin.as_str(),
            "version-id-blob"
        );
        // AWS KMS: a ciphertext blob starts with its fixed header (version 1, 0x02 0x02 0x00,
        // "AQICAH..." in base64) before the key ARN reference and the wrapped key.
        let mut aws = alloc::vec![1u8, 2, 2, 0, 0x78];
        aws.extend((0u8..179).map(|i| i.wrapping_mul(37)));
        let aws = b64::encode_std(&aws);
        assert!(aws.starts_with("AQICAH"));
        let id = ConfigId::new("cipher-kms-aes-256-a", "g", "");
        let r = diagnose(&id, &b64::encode_std(&[0u8; 16]), &aws);
        assert_eq!(r.key_origin, KeyOrigin::AwsKms);
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "key-origin" && f.message.contains("aws-kms"))
        );
        assert!(r.to_json().contains("\"keyOrigin\":{\"kind\":\"aws-kms\"}"));
        // Base64 with no version id at its start: the OpenAPI (Shared KMS) or another service.
        let other: Vec<u8> = (0u8..96).map(|i| 0x80 | i).collect();
        let other = b64::encode_std(&other);
        let r = diagnose(&id, &b64::encode_std(&[0u8; 16]), &other);
        assert_eq!(r.key_origin, KeyOrigin::OpenApiOrOther);
        assert_eq!(r.key_origin.as_str(), "openapi-or-other");
        // Not base64 at all, and none.
        assert_eq!(KeyOrigin::of_blob("not base64!").as_str(), "unreadable");
        assert_eq!(KeyOrigin::of_blob("").as_str(), "none");
    }

    #[test]
    fn python_reads_a_hyphenless_data_id_as_envelope_only_with_a_key() {
        let k = keyring();
        let id = ConfigId::new("cipher-kms-aes-256-a", "g", "");
        let s = config::encrypt(&k, &id, "x=1", "k", Format::Nacos).unwrap();
        let id = ConfigId::new("cipher-kms-aes-256a", "g", "");
        let with_key = diagnose(&id, &s.content, &s.encrypted_data_key);
        assert_eq!(
            with_key.schemes.python,
            SchemeView::Envelope(KeySpec::Aes256)
        );
        assert_eq!(with_key.schemes.java, SchemeView::Direct);
        let without = diagnose(&id, &s.content, "");
        assert_eq!(without.schemes.python, SchemeView::Direct);
        assert_eq!(without.schemes.go, SchemeView::Envelope(KeySpec::Aes256));
        assert!(without.to_json().contains("\"python\":\"direct\""));
    }

    #[test]
    fn server_plugin_content_over_the_limit_is_found_without_a_key() {
        let key = "MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=";
        let id = ConfigId::new("cipher-aes-db", "g", "");
        let at_limit = "0".repeat(plugin::MAX_CONTENT_LEN);
        let r = diagnose(&id, &at_limit, key);
        assert!(!r.findings.iter().any(|f| f.code == "content-too-large"));
        let over = "0".repeat(plugin::MAX_CONTENT_LEN + 32);
        let r = diagnose(&id, &over, key);
        let f = r
            .findings
            .iter()
            .find(|f| f.code == "content-too-large")
            .unwrap();
        assert_eq!(f.severity, Severity::Error);
        assert!(f.message.contains(&plugin::MAX_CONTENT_LEN.to_string()));
        assert!(!r.is_healthy());
        // With the key the structure step refuses it too.
        let r = diagnose_with_keys(&Keys::default(), &id, &over, key);
        assert_eq!(r.check.unwrap().failed_step, Some(Step::Structure));
    }
}
