//! Credentials (SPEC 5.1): the kinds Alibaba Cloud users deploy, each usable on its own, and
//! the official default chain; temporary credentials refreshed before they expire.
//!
//! | provider | where from | temporary |
//! |---|---|---|
//! | [`Provider::AccessKey`] | given | no |
//! | [`Provider::StsToken`] | given (id, secret, security token) | yes, not refreshable |
//! | [`Provider::Environment`] | `ALIBABA_CLOUD_ACCESS_KEY_ID`, `_SECRET`, optional `ALIBABA_CLOUD_SECURITY_TOKEN` | |
//! | [`Provider::OidcRole`] | STS `AssumeRoleWithOIDC` with the token file (ACK RRSA) | yes |
//! | [`Provider::CliProfile`] | `~/.aliyun/config.json` (the `aliyun` CLI) | by mode |
//! | [`Provider::ProfileFile`] | `~/.alibabacloud/credentials` (INI) | by type |
//! | [`Provider::EcsRamRole`] | the ECS metadata service (hardened mode: token first) | yes |
//! | [`Provider::RamRoleArn`] | STS `AssumeRole`, signed with a base credential | yes |
//! | [`Provider::CredentialsUri`] | `ALIBABA_CLOUD_CREDENTIALS_URI` | yes |
//!
//! [`Provider::default_chain`] tries them in the official order: environment, OIDC role (when
//! its three variables are set), CLI profile, profile file, ECS RAM role (when
//! `ALIBABA_CLOUD_ECS_METADATA` names a role), credentials URI.
//!
//! # Refresh
//! A temporary credential that expires at `E`, fetched with lifetime `L`, is refreshed by one
//! thread from `E − min(15 min, L/2)` on while the others keep using it (no one waits); from
//! `E − min(1 min, L/10)` on it is stale, and callers wait for the one refresh. Two threads never
//! refresh at once.

use crate::http::{Http, HttpSettings};
use crate::sign;
use crate::time::{iso8601, parse_iso8601};
use nacoscrypt_core::{Error, KmsServiceError, SecretString};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

/// The default ECS metadata service.
pub const ECS_METADATA_ENDPOINT: &str = "http://100.100.100.200";
/// The default STS endpoint.
pub const STS_ENDPOINT: &str = "sts.aliyuncs.com";

/// An access key (and, for temporary credentials, a security token). Secrets are wiped on
/// drop and never printed.
#[derive(Clone)]
pub struct Credential {
    /// The access key id (not secret).
    pub access_key_id: String,
    /// The access key secret.
    pub access_key_secret: SecretString,
    /// The STS security token of temporary credentials.
    pub security_token: Option<SecretString>,
    /// When temporary credentials expire.
    pub expiration: Option<SystemTime>,
    /// The provider that made it (`env`, `ecs_ram_role`, `ram_role_arn/static_ak`, …).
    pub provider: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"[REDACTED]")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("expiration", &self.expiration.map(iso8601))
            .field("provider", &self.provider)
            .finish()
    }
}

/// Where credentials come from. See the [module docs](self).
#[derive(Clone)]
#[non_exhaustive]
pub enum Provider {
    /// A long-term access key pair.
    AccessKey {
        /// Access key id.
        id: String,
        /// Access key secret.
        secret: SecretString,
    },
    /// Temporary STS credentials given as they are (not refreshed).
    StsToken {
        /// Access key id (`STS.…`).
        id: String,
        /// Access key secret.
        secret: SecretString,
        /// Security token.
        token: SecretString,
    },
    /// `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, optional
    /// `ALIBABA_CLOUD_SECURITY_TOKEN`.
    Environment,
    /// The ECS instance's RAM role, from the metadata service.
    EcsRamRole {
        /// The role; `None` asks the metadata service for it.
        role_name: Option<String>,
        /// The metadata service (default [`ECS_METADATA_ENDPOINT`]; overridable for tests).
        endpoint: String,
        /// Refuse the old mode without a metadata token (`ALIBABA_CLOUD_IMDSV1_DISABLED`).
        disable_imds_v1: bool,
    },
    /// STS `AssumeRole` signed with `base`.
    RamRoleArn {
        /// The credentials that assume the role.
        base: Box<Provider>,
        /// `acs:ram::<account>:role/<name>`.
        role_arn: String,
        /// Session name (default `nacoscrypt-<time>`).
        session_name: Option<String>,
        /// Lifetime asked for, seconds (default 3600).
        duration_seconds: u32,
        /// An optional policy (JSON).
        policy: Option<String>,
        /// An optional external id.
        external_id: Option<String>,
        /// STS endpoint host (default [`STS_ENDPOINT`]).
        sts_endpoint: String,
    },
    /// STS `AssumeRoleWithOIDC` (ACK RRSA).
    OidcRole {
        /// Role ARN.
        role_arn: String,
        /// OIDC provider ARN.
        provider_arn: String,
        /// The file holding the OIDC token (read at every refresh: the token rotates).
        token_file: PathBuf,
        /// Session name.
        session_name: Option<String>,
        /// Lifetime asked for, seconds (default 3600).
        duration_seconds: u32,
        /// STS endpoint host (default [`STS_ENDPOINT`]).
        sts_endpoint: String,
    },
    /// A URL answering `{Code, AccessKeyId, AccessKeySecret, SecurityToken, Expiration}`.
    CredentialsUri(String),
    /// A profile of the `aliyun` CLI's `config.json`.
    CliProfile {
        /// The file (default `~/.aliyun/config.json`).
        path: Option<PathBuf>,
        /// The profile (default: the file's `current`, or `ALIBABA_CLOUD_PROFILE`).
        profile: Option<String>,
    },
    /// A section of the INI credentials file.
    ProfileFile {
        /// The file (default `ALIBABA_CLOUD_CREDENTIALS_FILE` or `~/.alibabacloud/credentials`).
        path: Option<PathBuf>,
        /// The section (default `ALIBABA_CLOUD_PROFILE` or `default`).
        profile: Option<String>,
    },
    /// The first of these that yields credentials.
    Chain(Vec<Provider>),
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home() -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

impl Provider {
    /// The official default chain, from this process's environment (see the module docs).
    pub fn default_chain() -> Self {
        let mut chain = vec![Self::Environment];
        if let (Some(role_arn), Some(provider_arn), Some(token_file)) = (
            env("ALIBABA_CLOUD_ROLE_ARN"),
            env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"),
            env("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
        ) {
            chain.push(Self::OidcRole {
                role_arn,
                provider_arn,
                token_file: PathBuf::from(token_file),
                session_name: env("ALIBABA_CLOUD_ROLE_SESSION_NAME"),
                duration_seconds: 3600,
                sts_endpoint: sts_endpoint_from_env(),
            });
        }
        if env("ALIBABA_CLOUD_CLI_PROFILE_DISABLED").as_deref() != Some("true") {
            chain.push(Self::CliProfile {
                path: None,
                profile: None,
            });
        }
        chain.push(Self::ProfileFile {
            path: None,
            profile: None,
        });
        if env("ALIBABA_CLOUD_ECS_METADATA_DISABLED").as_deref() != Some("true")
            && let Some(role) = env("ALIBABA_CLOUD_ECS_METADATA")
        {
            chain.push(Self::ecs_ram_role(Some(role)));
        }
        if let Some(uri) = env("ALIBABA_CLOUD_CREDENTIALS_URI") {
            chain.push(Self::CredentialsUri(uri));
        }
        Self::Chain(chain)
    }

    /// The ECS RAM role provider with the real metadata service.
    pub fn ecs_ram_role(role_name: Option<String>) -> Self {
        Self::EcsRamRole {
            role_name,
            endpoint: ECS_METADATA_ENDPOINT.to_owned(),
            disable_imds_v1: env("ALIBABA_CLOUD_IMDSV1_DISABLED").as_deref() == Some("true"),
        }
    }

    /// A short description for `kms check` and errors: the kind and non-secret identifiers.
    pub fn describe(&self) -> String {
        match self {
            Self::AccessKey { id, .. } => format!("access key {id}"),
            Self::StsToken { id, .. } => format!("STS token of {id}"),
            Self::Environment => "environment variables".to_owned(),
            Self::EcsRamRole { role_name, .. } => match role_name {
                Some(r) => format!("ECS RAM role {r}"),
                None => "ECS RAM role".to_owned(),
            },
            Self::RamRoleArn { role_arn, base, .. } => {
                format!("RAM role {role_arn} assumed with {}", base.describe())
            }
            Self::OidcRole { role_arn, .. } => format!("OIDC role {role_arn}"),
            Self::CredentialsUri(_) => "credentials URI".to_owned(),
            Self::CliProfile { .. } => "aliyun CLI profile".to_owned(),
            Self::ProfileFile { .. } => "credentials profile file".to_owned(),
            Self::Chain(_) => "the default credential chain".to_owned(),
        }
    }

    /// Fetches a credential now (no caching: see [`CredentialCache`]).
    pub(crate) fn fetch(&self, http: &Http) -> Result<Credential, Error> {
        match self {
            Self::AccessKey { id, secret } => Ok(Credential {
                access_key_id: id.clone(),
                access_key_secret: secret.clone(),
                security_token: None,
                expiration: None,
                provider: "static_ak".to_owned(),
            }),
            Self::StsToken { id, secret, token } => Ok(Credential {
                access_key_id: id.clone(),
                access_key_secret: secret.clone(),
                security_token: Some(token.clone()),
                expiration: None,
                provider: "static_sts".to_owned(),
            }),
            Self::Environment => {
                let (Some(id), Some(secret)) = (
                    env("ALIBABA_CLOUD_ACCESS_KEY_ID"),
                    env("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
                ) else {
                    return Err(credential_error(
                        "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are not set",
                    ));
                };
                Ok(Credential {
                    access_key_id: id,
                    access_key_secret: SecretString::from(secret),
                    security_token: env("ALIBABA_CLOUD_SECURITY_TOKEN").map(SecretString::from),
                    expiration: None,
                    provider: "env".to_owned(),
                })
            }
            Self::EcsRamRole {
                role_name,
                endpoint,
                disable_imds_v1,
            } => ecs_ram_role(http, endpoint, role_name.as_deref(), *disable_imds_v1),
            Self::RamRoleArn {
                base,
                role_arn,
                session_name,
                duration_seconds,
                policy,
                external_id,
                sts_endpoint,
            } => {
                let base = base.fetch(http)?;
                let mut q = sts_query("AssumeRole", role_arn, session_name, *duration_seconds);
                if let Some(p) = policy {
                    q.insert("Policy".into(), p.clone());
                }
                if let Some(e) = external_id {
                    q.insert("ExternalId".into(), e.clone());
                }
                q.insert("SignatureMethod".into(), "HMAC-SHA1".into());
                q.insert("SignatureVersion".into(), "1.0".into());
                q.insert("SignatureNonce".into(), sign::nonce());
                q.insert("AccessKeyId".into(), base.access_key_id.clone());
                if let Some(t) = &base.security_token {
                    q.insert("SecurityToken".into(), t.as_str().to_owned());
                }
                let signature =
                    sign::rpc_signature("GET", &q, base.access_key_secret.as_str().as_bytes());
                q.insert("Signature".into(), signature);
                let mut cred = sts_call(http, sts_endpoint, &q, "AssumeRole")?;
                cred.provider = format!("ram_role_arn/{}", base.provider);
                Ok(cred)
            }
            Self::OidcRole {
                role_arn,
                provider_arn,
                token_file,
                session_name,
                duration_seconds,
                sts_endpoint,
            } => {
                let token = nacoscrypt_core::fs::read_text_file(
                    token_file,
                    64 << 10,
                    "reading the OIDC token file",
                )
                .map_err(|e| credential_error(e.to_string()))?;
                let mut q = sts_query(
                    "AssumeRoleWithOIDC",
                    role_arn,
                    session_name,
                    *duration_seconds,
                );
                q.insert("OIDCProviderArn".into(), provider_arn.clone());
                q.insert("OIDCToken".into(), token.trim().to_owned());
                let mut cred = sts_call(http, sts_endpoint, &q, "AssumeRoleWithOIDC")?;
                cred.provider = "oidc_role_arn".to_owned();
                Ok(cred)
            }
            Self::CredentialsUri(uri) => {
                let r = http
                    .send("GET", uri, &[], None)
                    .map_err(|f| credential_error(format!("credentials URI: {}", f.message)))?;
                if r.status != 200 {
                    return Err(credential_error(format!(
                        "credentials URI answered HTTP {}",
                        r.status
                    )));
                }
                let mut cred = credential_json(&r.body, "credentials URI", true)?;
                cred.provider = "credential_uri".to_owned();
                Ok(cred)
            }
            Self::CliProfile { path, profile } => {
                cli_profile(path.as_ref(), profile.as_deref())?.fetch(http)
            }
            Self::ProfileFile { path, profile } => {
                profile_file(path.as_ref(), profile.as_deref())?.fetch(http)
            }
            Self::Chain(chain) => {
                let mut errors = Vec::new();
                for p in chain {
                    match p.fetch(http) {
                        Ok(c) => return Ok(c),
                        Err(e) => errors.push(format!("{}: {}", p.describe(), message_of(&e))),
                    }
                }
                Err(credential_error(format!(
                    "no credentials found: {}",
                    errors.join("; ")
                )))
            }
        }
    }
}

fn message_of(e: &Error) -> String {
    match e {
        Error::KmsService(s) => s.message.clone(),
        other => other.to_string(),
    }
}

fn sts_endpoint_from_env() -> String {
    match env("ALIBABA_CLOUD_STS_REGION") {
        Some(region) => {
            let prefix = if env("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED").as_deref() == Some("true") {
                "sts-vpc"
            } else {
                "sts"
            };
            format!("{prefix}.{region}.aliyuncs.com")
        }
        None => STS_ENDPOINT.to_owned(),
    }
}

/// A credentials error (code `Credentials`).
pub(crate) fn credential_error(message: impl Into<String>) -> Error {
    Error::from(KmsServiceError {
        service: "Alibaba Cloud credentials",
        operation: "GetCredential",
        code: "Credentials".to_owned(),
        message: message.into(),
        request_id: None,
        http_status: None,
        attempts: 1,
    })
}

fn sts_query(
    action: &str,
    role_arn: &str,
    session_name: &Option<String>,
    duration_seconds: u32,
) -> BTreeMap<String, String> {
    let mut q = BTreeMap::new();
    q.insert("Action".into(), action.to_owned());
    q.insert("Format".into(), "JSON".into());
    q.insert("Version".into(), "2015-04-01".into());
    q.insert("DurationSeconds".into(), duration_seconds.to_string());
    q.insert("RoleArn".into(), role_arn.to_owned());
    q.insert(
        "RoleSessionName".into(),
        session_name.clone().unwrap_or_else(|| {
            format!(
                "nacoscrypt-{}",
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            )
        }),
    );
    q.insert("Timestamp".into(), iso8601(SystemTime::now()));
    q
}

/// The URL of an endpoint given as a host (`sts.aliyuncs.com`) or a URL.
pub(crate) fn https_url(endpoint: &str) -> String {
    if endpoint.contains("://") {
        endpoint.trim_end_matches('/').to_owned()
    } else {
        format!("https://{}", endpoint.trim_end_matches('/'))
    }
}

fn sts_call(
    http: &Http,
    endpoint: &str,
    q: &BTreeMap<String, String>,
    action: &str,
) -> Result<Credential, Error> {
    let url = format!("{}/?{}", https_url(endpoint), sign::canonical_query(q));
    let r = http
        .send("GET", &url, &[], None)
        .map_err(|f| credential_error(format!("STS {action}: {}", f.message)))?;
    let json: serde_json::Value = serde_json::from_slice(&r.body)
        .map_err(|_| credential_error(format!("STS {action}: HTTP {}, not JSON", r.status)))?;
    if r.status != 200 {
        return Err(Error::from(KmsServiceError {
            service: "Alibaba Cloud STS",
            operation: if action == "AssumeRole" {
                "AssumeRole"
            } else {
                "AssumeRoleWithOIDC"
            },
            code: json["Code"].as_str().unwrap_or("Unknown").to_owned(),
            message: json["Message"].as_str().unwrap_or("").to_owned(),
            request_id: json["RequestId"].as_str().map(str::to_owned),
            http_status: Some(r.status),
            attempts: 1,
        }));
    }
    let creds = serde_json::to_vec(&json["Credentials"]).unwrap_or_default();
    credential_json(&creds, "STS", false)
}

/// Reads `{AccessKeyId, AccessKeySecret, SecurityToken, Expiration}` (and `Code`, if asked).
pub(crate) fn credential_json(
    body: &[u8],
    source: &str,
    check_code: bool,
) -> Result<Credential, Error> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| credential_error(format!("{source}: the answer is not JSON")))?;
    if check_code && v["Code"].as_str() != Some("Success") {
        return Err(credential_error(format!(
            "{source}: Code is {}",
            v["Code"].as_str().unwrap_or("missing")
        )));
    }
    let field = |name: &str| {
        v[name]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| credential_error(format!("{source}: {name} is missing")))
    };
    let expiration = parse_iso8601(&field("Expiration")?)
        .ok_or_else(|| credential_error(format!("{source}: Expiration is not a UTC time")))?;
    Ok(Credential {
        access_key_id: field("AccessKeyId")?,
        access_key_secret: SecretString::from(field("AccessKeySecret")?),
        security_token: Some(SecretString::from(field("SecurityToken")?)),
        expiration: Some(expiration),
        provider: String::new(),
    })
}

fn ecs_ram_role(
    http: &Http,
    endpoint: &str,
    role_name: Option<&str>,
    disable_imds_v1: bool,
) -> Result<Credential, Error> {
    let base = endpoint.trim_end_matches('/');
    // Hardened mode first: a session token for the metadata requests.
    let token = match http.send(
        "PUT",
        &format!("{base}/latest/api/token"),
        &[("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")],
        Some(b""),
    ) {
        Ok(r) if r.status == 200 => Some(String::from_utf8_lossy(&r.body).into_owned()),
        Ok(r) if disable_imds_v1 => {
            return Err(credential_error(format!(
                "ECS metadata token: HTTP {} (IMDSv1 is disabled)",
                r.status
            )));
        }
        Err(f) if disable_imds_v1 => {
            return Err(credential_error(format!(
                "ECS metadata token: {}",
                f.message
            )));
        }
        _ => None,
    };
    let headers: Vec<(&str, &str)> = token
        .as_deref()
        .map(|t| vec![("X-aliyun-ecs-metadata-token", t)])
        .unwrap_or_default();
    let get = |path: &str| -> Result<Vec<u8>, Error> {
        let r = http
            .send("GET", &format!("{base}{path}"), &headers, None)
            .map_err(|f| credential_error(format!("ECS metadata: {}", f.message)))?;
        if r.status != 200 {
            return Err(credential_error(format!(
                "ECS metadata {path}: HTTP {}",
                r.status
            )));
        }
        Ok(r.body)
    };
    let role = match role_name {
        Some(r) => r.to_owned(),
        None => String::from_utf8_lossy(&get("/latest/meta-data/ram/security-credentials/")?)
            .trim()
            .to_owned(),
    };
    if role.is_empty() || role.contains('/') {
        return Err(credential_error("ECS metadata: no RAM role attached"));
    }
    let body = get(&format!(
        "/latest/meta-data/ram/security-credentials/{role}"
    ))?;
    let mut cred = credential_json(&body, "ECS metadata", true)?;
    cred.provider = "ecs_ram_role".to_owned();
    Ok(cred)
}

/// The provider a profile of the `aliyun` CLI's `config.json` describes.
fn cli_profile(path: Option<&PathBuf>, profile: Option<&str>) -> Result<Provider, Error> {
    let path = path
        .cloned()
        .or_else(|| home().map(|h| h.join(".aliyun/config.json")))
        .ok_or_else(|| credential_error("no HOME for ~/.aliyun/config.json"))?;
    let text = read_small(&path)?;
    cli_profile_text(&text, profile, &path.display().to_string())
}

/// The provider a profile of a `config.json` text describes; `source` names it in errors.
pub(crate) fn cli_profile_text(
    text: &str,
    profile: Option<&str>,
    source: &str,
) -> Result<Provider, Error> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| credential_error(format!("{source} is not JSON")))?;
    let name = profile
        .map(str::to_owned)
        .or_else(|| env("ALIBABA_CLOUD_PROFILE"))
        .or_else(|| v["current"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "default".to_owned());
    let p = v["profiles"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["name"].as_str() == Some(name.as_str()))
        })
        .ok_or_else(|| credential_error(format!("{}: no profile {name}", source)))?;
    let s = |k: &str| p[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    let need = |k: &str| {
        s(k).ok_or_else(|| credential_error(format!("{}: profile {name} has no {k}", source)))
    };
    let ak = || -> Result<Provider, Error> {
        Ok(Provider::AccessKey {
            id: need("access_key_id")?,
            secret: SecretString::from(need("access_key_secret")?),
        })
    };
    Ok(match p["mode"].as_str().unwrap_or("AK") {
        "AK" => ak()?,
        "StsToken" => Provider::StsToken {
            id: need("access_key_id")?,
            secret: SecretString::from(need("access_key_secret")?),
            token: SecretString::from(need("sts_token")?),
        },
        "RamRoleArn" => Provider::RamRoleArn {
            base: Box::new(ak()?),
            role_arn: need("ram_role_arn")?,
            session_name: s("ram_session_name"),
            duration_seconds: p["expired_seconds"]
                .as_u64()
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(3600),
            policy: None,
            external_id: s("external_id"),
            sts_endpoint: s("sts_region").map_or_else(
                || STS_ENDPOINT.to_owned(),
                |r| format!("sts.{r}.aliyuncs.com"),
            ),
        },
        "EcsRamRole" => Provider::ecs_ram_role(s("ram_role_name")),
        "OIDC" => Provider::OidcRole {
            role_arn: need("ram_role_arn")?,
            provider_arn: need("oidc_provider_arn")?,
            token_file: PathBuf::from(need("oidc_token_file")?),
            session_name: s("ram_session_name"),
            duration_seconds: 3600,
            sts_endpoint: s("sts_region").map_or_else(
                || STS_ENDPOINT.to_owned(),
                |r| format!("sts.{r}.aliyuncs.com"),
            ),
        },
        other => {
            return Err(credential_error(format!(
                "{}: profile {name} has the unsupported mode {other}",
                source
            )));
        }
    })
}

/// The provider a section of the INI credentials file describes.
fn profile_file(path: Option<&PathBuf>, profile: Option<&str>) -> Result<Provider, Error> {
    let path = path
        .cloned()
        .or_else(|| env("ALIBABA_CLOUD_CREDENTIALS_FILE").map(PathBuf::from))
        .or_else(|| home().map(|h| h.join(".alibabacloud/credentials")))
        .ok_or_else(|| credential_error("no HOME for ~/.alibabacloud/credentials"))?;
    let text = read_small(&path)?;
    profile_text(&text, profile, &path.display().to_string())
}

/// The provider a section of an INI credentials text describes; `source` names it in errors.
pub(crate) fn profile_text(
    text: &str,
    profile: Option<&str>,
    source: &str,
) -> Result<Provider, Error> {
    let name = profile
        .map(str::to_owned)
        .or_else(|| env("ALIBABA_CLOUD_PROFILE"))
        .unwrap_or_else(|| "default".to_owned());
    let section = ini_section(text, &name)
        .ok_or_else(|| credential_error(format!("{}: no section [{name}]", source)))?;
    let s = |k: &str| section.get(k).filter(|v| !v.is_empty()).cloned();
    let need =
        |k: &str| s(k).ok_or_else(|| credential_error(format!("{}: [{name}] has no {k}", source)));
    let ak = || -> Result<Provider, Error> {
        Ok(Provider::AccessKey {
            id: need("access_key_id")?,
            secret: SecretString::from(need("access_key_secret")?),
        })
    };
    Ok(match s("type").as_deref().unwrap_or("access_key") {
        "access_key" => ak()?,
        "sts" => Provider::StsToken {
            id: need("access_key_id")?,
            secret: SecretString::from(need("access_key_secret")?),
            token: SecretString::from(need("security_token")?),
        },
        "ecs_ram_role" => Provider::ecs_ram_role(s("role_name")),
        "ram_role_arn" => Provider::RamRoleArn {
            base: Box::new(ak()?),
            role_arn: need("role_arn")?,
            session_name: s("role_session_name"),
            duration_seconds: 3600,
            policy: s("policy"),
            external_id: None,
            sts_endpoint: STS_ENDPOINT.to_owned(),
        },
        "oidc_role_arn" => Provider::OidcRole {
            role_arn: need("role_arn")?,
            provider_arn: need("oidc_provider_arn")?,
            token_file: PathBuf::from(need("oidc_token_file_path")?),
            session_name: s("role_session_name"),
            duration_seconds: 3600,
            sts_endpoint: STS_ENDPOINT.to_owned(),
        },
        other => {
            return Err(credential_error(format!(
                "{}: [{name}] has the unsupported type {other}",
                source
            )));
        }
    })
}

/// The largest credentials/profile file read.
pub(crate) const MAX_PROFILE_BYTES: u64 = 64 << 10;

fn read_small(path: &std::path::Path) -> Result<String, Error> {
    let max = usize::try_from(MAX_PROFILE_BYTES).unwrap_or(usize::MAX);
    nacoscrypt_core::fs::read_text_file(path, max, "reading a credentials file")
        .map(|t| t.as_str().to_owned())
        .map_err(|e| credential_error(e.to_string()))
}

/// The `key = value` lines of section `[name]` of an INI text (`#`/`;` comments; values may be
/// quoted).
pub fn ini_section(text: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let mut current: Option<&str> = None;
    let mut found = None::<BTreeMap<String, String>>;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(section.trim());
            if current == Some(name) && found.is_none() {
                found = Some(BTreeMap::new());
            }
            continue;
        }
        if current == Some(name)
            && let (Some(map), Some((k, v))) = (found.as_mut(), line.split_once('='))
        {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(v);
            map.insert(k.trim().to_owned(), v.to_owned());
        }
    }
    found
}

/// Credentials from a [`Provider`], cached and refreshed before they expire (see the module
/// docs). Thread-safe.
pub struct CredentialCache {
    provider: Provider,
    http: Http,
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
    /// A cache over `provider`, fetching with a transport of `settings` (metadata and STS).
    pub(crate) fn new(provider: Provider, settings: &HttpSettings) -> Result<Self, Error> {
        let http = Http::new(settings, crate::USER_AGENT).map_err(credential_error)?;
        Ok(Self {
            provider,
            http,
            current: RwLock::new(None),
            refreshing: Mutex::new(()),
        })
    }

    /// The provider.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// A usable credential: the cached one, or a fresh one (see the module docs).
    pub fn get(&self) -> Result<Arc<Credential>, Error> {
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
                    // One thread refreshes; everyone else goes on with the current one.
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
        // Another thread may have refreshed while this one waited.
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

    /// Fetches and stores a fresh credential; the caller holds `refreshing`.
    fn refresh_locked(&self) -> Result<Arc<Credential>, Error> {
        let fetched_at = SystemTime::now();
        let credential = Arc::new(self.provider.fetch(&self.http)?);
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
    fn ini_sections() {
        let text = "[default]\naccess_key_id = a\n# c\n[other]\ntype=sts\naccess_key_id=\"b\"\n";
        assert_eq!(ini_section(text, "default").unwrap()["access_key_id"], "a");
        assert_eq!(ini_section(text, "other").unwrap()["access_key_id"], "b");
        assert!(ini_section(text, "none").is_none());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credential {
            access_key_id: "LTAIid".into(),
            access_key_secret: SecretString::from("topsecret".to_owned()),
            security_token: Some(SecretString::from("tok3n".to_owned())),
            expiration: None,
            provider: "x".into(),
        };
        let d = format!("{c:?}");
        assert!(
            d.contains("LTAIid") && !d.contains("topsecret") && !d.contains("tok3n"),
            "{d}"
        );
        let p = Provider::AccessKey {
            id: "LTAIid".into(),
            secret: SecretString::from("topsecret".to_owned()),
        };
        assert!(!format!("{p:?}").contains("topsecret"));
    }
}
