//! Configuration the way Nacos users already write it (SPEC 5.1): the Java / Spring property
//! names and the Go client's field names, from a `.properties` text or any name/value pairs.
//!
//! | setting | accepted names (first found wins) |
//! |---|---|
//! | endpoint | `kmsEndpoint`, `KMSConfig.Endpoint`, `spring.cloud.nacos.config.kmsEndpoint`, `spring.cloud.nacos.config.kms-endpoint` |
//! | region (when no endpoint) | `kms_region_id`, `kmsRegionId`, `RegionId`, `regionId`, `spring.cloud.nacos.config.kms_region_id`, `spring.cloud.nacos.config.kms-region-id` |
//! | VPC endpoint of the region | `kmsVpc` = `true` |
//! | access key id | `accessKey`, `AccessKey`, `spring.cloud.nacos.config.accessKey`, `spring.cloud.nacos.config.access-key` |
//! | access key secret | `secretKey`, `SecretKey`, `spring.cloud.nacos.config.secretKey`, `spring.cloud.nacos.config.secret-key` |
//! | STS security token | `securityToken`, `SecurityToken` |
//! | ECS RAM role | `ramRoleName`, `RamRoleName`, `spring.cloud.nacos.config.ramRoleName`, `spring.cloud.nacos.config.ram-role-name` |
//! | RAM role to assume (with the access key) | `ramRoleArn`, `RamRoleArn` (+ `roleSessionName`) |
//! | default key | `keyId`, `KmsKeyId`, `kmsKeyId`, `spring.cloud.nacos.config.keyId`, `spring.cloud.nacos.config.kms-key-id` |
//! | CA certificate of an instance endpoint | `kmsCaFile` (a path), `CaContent`, `KMSv3Config.CaContent`, `kmsCaContent` (PEM text) |
//! | signature | `kmsSignatureVersion` = `v3` (default) or `v2` |
//! | data-key cache | `kmsCache` = `off` (default), `fallback` or `first` |
//! | Go's switch | `OpenKMS`: `false` refuses to build a KMS |
//!
//!
//! The KMS instance API ([`into_instance_builder`](AliyunConfig::into_instance_builder)) reads
//! the endpoint and CA as above, and the ClientKey:
//!
//! | setting | accepted names |
//! |---|---|
//! | endpoint | as above, and `KMSv3Config.Endpoint` |
//! | ClientKey JSON file | `clientKeyFile`, `ClientKeyFile`, `clientKeyFilePath` |
//! | ClientKey JSON text | `clientKeyContent`, `ClientKeyContent`, `KMSv3Config.ClientKeyContent` |
//! | its password, from a file | `clientKeyPasswordFromFilePath`, `ClientKeyPasswordFromFilePath` |
//! | its password, from an environment variable | `clientKeyPasswordFromEnvVariable`, `ClientKeyPasswordFromEnvVariable` |
//! | its password, as text (Go's field) | `KMSv3Config.Password`, `Password`, `clientKeyPassword` |
//!
//! Credentials: an access key pair (with a security token: STS) or, with `ramRoleArn`, the role
//! it assumes; else the ECS RAM role; else [`Provider::default_chain`].

use crate::{AliyunKmsBuilder, CacheSettings, Endpoint, Provider, Signature};
use nacoscrypt_core::{Error, Result, SecretString};

const ENDPOINT: &[&str] = &[
    "kmsEndpoint",
    "KMSConfig.Endpoint",
    "spring.cloud.nacos.config.kmsEndpoint",
    "spring.cloud.nacos.config.kms-endpoint",
];
const REGION: &[&str] = &[
    "kms_region_id",
    "kmsRegionId",
    "RegionId",
    "regionId",
    "spring.cloud.nacos.config.kms_region_id",
    "spring.cloud.nacos.config.kms-region-id",
];
const ACCESS_KEY: &[&str] = &[
    "accessKey",
    "AccessKey",
    "spring.cloud.nacos.config.accessKey",
    "spring.cloud.nacos.config.access-key",
];
const SECRET_KEY: &[&str] = &[
    "secretKey",
    "SecretKey",
    "spring.cloud.nacos.config.secretKey",
    "spring.cloud.nacos.config.secret-key",
];
const SECURITY_TOKEN: &[&str] = &["securityToken", "SecurityToken"];
const RAM_ROLE_NAME: &[&str] = &[
    "ramRoleName",
    "RamRoleName",
    "spring.cloud.nacos.config.ramRoleName",
    "spring.cloud.nacos.config.ram-role-name",
];
const RAM_ROLE_ARN: &[&str] = &["ramRoleArn", "RamRoleArn"];
const KEY_ID: &[&str] = &[
    "keyId",
    "KmsKeyId",
    "kmsKeyId",
    "spring.cloud.nacos.config.keyId",
    "spring.cloud.nacos.config.kms-key-id",
];
const CA_CONTENT: &[&str] = &["CaContent", "KMSv3Config.CaContent", "kmsCaContent"];
const CLIENT_KEY_FILE: &[&str] = &["clientKeyFile", "ClientKeyFile", "clientKeyFilePath"];
const CLIENT_KEY_CONTENT: &[&str] = &[
    "clientKeyContent",
    "ClientKeyContent",
    "KMSv3Config.ClientKeyContent",
];
const PASSWORD_FILE: &[&str] = &[
    "clientKeyPasswordFromFilePath",
    "ClientKeyPasswordFromFilePath",
];
const PASSWORD_ENV: &[&str] = &[
    "clientKeyPasswordFromEnvVariable",
    "ClientKeyPasswordFromEnvVariable",
];
const PASSWORD: &[&str] = &["KMSv3Config.Password", "Password", "clientKeyPassword"];
const INSTANCE_ENDPOINT: &[&str] = &[
    "KMSv3Config.Endpoint",
    "kmsEndpoint",
    "KMSConfig.Endpoint",
    "spring.cloud.nacos.config.kmsEndpoint",
    "spring.cloud.nacos.config.kms-endpoint",
];

/// The largest CA certificate file read (`kmsCaFile`).
pub const MAX_CA_BYTES: usize = 1 << 20;

/// Settings read from names and values; [`into_builder`](Self::into_builder) makes the client.
#[derive(Debug, Clone, Default)]
pub struct AliyunConfig {
    values: Vec<(String, SecretString)>,
}

impl AliyunConfig {
    /// From name/value pairs (a map, the environment, Go field names).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.trim().to_owned(), SecretString::from(v.trim().to_owned())))
                .collect(),
        }
    }

    /// From a Java `.properties` text.
    ///
    /// ```
    /// use nacoscrypt_kms_aliyun::config::AliyunConfig;
    ///
    /// let c = AliyunConfig::from_properties("kmsEndpoint=kms.cn-hangzhou.aliyuncs.com\nramRoleName=nacos\n")?;
    /// let builder = c.into_builder()?;
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn from_properties(text: &str) -> Result<Self> {
        let props = nacoscrypt_core::properties::Properties::parse(text)?;
        Ok(Self::from_pairs(props.iter()))
    }

    fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            self.values
                .iter()
                .find(|(k, v)| k == n && !v.is_empty())
                .map(|(_, v)| v.as_str())
        })
    }

    /// The default key id configured, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.get(KEY_ID)
    }

    /// The credentials these settings describe.
    pub fn provider(&self) -> Provider {
        let access_key = self.get(ACCESS_KEY);
        let secret = self.get(SECRET_KEY);
        if let (Some(id), Some(secret)) = (access_key, secret) {
            let base = match self.get(SECURITY_TOKEN) {
                Some(token) => Provider::StsToken {
                    id: id.to_owned(),
                    secret: SecretString::from(secret.to_owned()),
                    token: SecretString::from(token.to_owned()),
                },
                None => Provider::AccessKey {
                    id: id.to_owned(),
                    secret: SecretString::from(secret.to_owned()),
                },
            };
            return match self.get(RAM_ROLE_ARN) {
                Some(arn) => Provider::RamRoleArn {
                    base: Box::new(base),
                    role_arn: arn.to_owned(),
                    session_name: self.get(&["roleSessionName"]).map(str::to_owned),
                    duration_seconds: 3600,
                    policy: None,
                    external_id: None,
                    sts_endpoint: crate::credentials::STS_ENDPOINT.to_owned(),
                },
                None => base,
            };
        }
        if let Some(role) = self.get(RAM_ROLE_NAME) {
            return Provider::ecs_ram_role(Some(role.to_owned()));
        }
        Provider::default_chain()
    }

    /// A builder with these settings (endpoint, credentials, key, CA, signature, cache).
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for `OpenKMS=false`, a missing endpoint and region, an
    /// access key without its secret, an unreadable CA file or an unknown value.
    pub fn into_builder(self) -> Result<AliyunKmsBuilder> {
        let invalid =
            |name: &'static str, reason: &'static str| Error::InvalidSettings { name, reason };
        if self
            .get(&["OpenKMS"])
            .is_some_and(|v| v.eq_ignore_ascii_case("false"))
        {
            return Err(invalid("OpenKMS", "KMS is switched off (OpenKMS=false)"));
        }
        if self.get(ACCESS_KEY).is_some() != self.get(SECRET_KEY).is_some() {
            return Err(invalid(
                "accessKey",
                "an access key id needs its secret (secretKey) and the other way round",
            ));
        }
        let vpc = self.get(&["kmsVpc"]).is_some_and(|v| v == "true");
        let endpoint = match (self.get(ENDPOINT), self.get(REGION)) {
            (Some(e), _) => Endpoint::Custom(e.to_owned()),
            (None, Some(r)) if vpc => Endpoint::Vpc(r.to_owned()),
            (None, Some(r)) => Endpoint::Region(r.to_owned()),
            (None, None) => {
                return Err(invalid(
                    "kmsEndpoint",
                    "set kmsEndpoint (or KMSConfig.Endpoint) or kms_region_id (or RegionId)",
                ));
            }
        };
        let mut builder = AliyunKmsBuilder::default()
            .endpoint(endpoint)
            .credentials(self.provider());
        if let Some(key) = self.key_id() {
            builder = builder.default_key_id(key);
        }
        if let Some(pem) = self.get(CA_CONTENT) {
            builder = builder.ca_pem(pem);
        } else if let Some(path) = self.get(&["kmsCaFile"]) {
            let pem = nacoscrypt_core::fs::read_text_file(
                std::path::Path::new(path),
                MAX_CA_BYTES,
                "reading the CA file",
            )
            .map_err(|_| invalid("kmsCaFile", "cannot read the CA certificate file"))?;
            builder = builder.ca_pem(pem.as_str());
        }
        builder = match self.get(&["kmsSignatureVersion"]) {
            None | Some("v3") => builder.signature(Signature::V3),
            Some("v2") => builder.signature(Signature::RpcV2),
            Some(_) => return Err(invalid("kmsSignatureVersion", "must be v3 or v2")),
        };
        builder = match self.get(&["kmsCache"]) {
            None | Some("off") => builder,
            Some("fallback") => builder.cache(CacheSettings::fallback()),
            Some("first") => builder.cache(CacheSettings {
                mode: crate::CacheMode::First,
                ..CacheSettings::default()
            }),
            Some(_) => return Err(invalid("kmsCache", "must be off, fallback or first")),
        };
        Ok(builder)
    }
}

impl AliyunConfig {
    /// The ClientKey's password: from a file, an environment variable or the text setting.
    fn client_key_password(&self) -> Result<SecretString> {
        let invalid =
            |name: &'static str, reason: &'static str| Error::InvalidSettings { name, reason };
        if let Some(path) = self.get(PASSWORD_FILE) {
            let text = nacoscrypt_core::fs::read_text_file(
                std::path::Path::new(path),
                4096,
                "reading the ClientKey password file",
            )?;
            return Ok(SecretString::from(
                text.trim_end_matches(['\r', '\n']).to_owned(),
            ));
        }
        if let Some(var) = self.get(PASSWORD_ENV) {
            return std::env::var(var).map(SecretString::from).map_err(|_| {
                invalid(
                    "clientKeyPasswordFromEnvVariable",
                    "the named environment variable is not set",
                )
            });
        }
        self.get(PASSWORD)
            .map(|p| SecretString::from(p.to_owned()))
            .ok_or(invalid(
                "clientKeyPasswordFromFilePath",
                "no ClientKey password: set clientKeyPasswordFromFilePath or \
                 clientKeyPasswordFromEnvVariable",
            ))
    }

    /// A builder of the KMS instance API client with these settings (endpoint, ClientKey and
    /// its password, CA, key, cache).
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for a missing endpoint, ClientKey, password or CA; the
    /// ClientKey's own errors (wrong password, not a PKCS#12).
    pub fn into_instance_builder(self) -> Result<crate::AliyunInstanceKmsBuilder> {
        let invalid =
            |name: &'static str, reason: &'static str| Error::InvalidSettings { name, reason };
        let endpoint = self.get(INSTANCE_ENDPOINT).ok_or(invalid(
            "kmsEndpoint",
            "set kmsEndpoint (or KMSv3Config.Endpoint): the KMS instance's endpoint",
        ))?;
        let password = self.client_key_password()?;
        let client_key = if let Some(json) = self.get(CLIENT_KEY_CONTENT) {
            crate::ClientKey::from_json(json, &password)?
        } else if let Some(path) = self.get(CLIENT_KEY_FILE) {
            crate::ClientKey::from_file(std::path::Path::new(path), &password)?
        } else {
            return Err(invalid(
                "clientKeyFile",
                "set clientKeyFile (or ClientKeyContent): the ClientKey JSON",
            ));
        };
        let ca = if let Some(pem) = self.get(CA_CONTENT) {
            pem.to_owned()
        } else if let Some(path) = self.get(&["kmsCaFile", "caFilePath"]) {
            nacoscrypt_core::fs::read_text_file(
                std::path::Path::new(path),
                MAX_CA_BYTES,
                "reading the CA file",
            )
            .map_err(|_| invalid("kmsCaFile", "cannot read the CA certificate file"))?
            .as_str()
            .to_owned()
        } else {
            return Err(invalid(
                "kmsCaFile",
                "set kmsCaFile (or CaContent): the KMS instance's CA certificate",
            ));
        };
        let mut b = crate::AliyunInstanceKms::builder()
            .endpoint(endpoint)
            .client_key(client_key)
            .ca_pem(ca);
        if let Some(key) = self.key_id() {
            b = b.default_key_id(key);
        }
        b = match self.get(&["kmsCache"]) {
            None | Some("off") => b,
            Some("fallback") => b.cache(CacheSettings::fallback()),
            Some("first") => b.cache(CacheSettings {
                mode: crate::CacheMode::First,
                ..CacheSettings::default()
            }),
            Some(_) => return Err(invalid("kmsCache", "must be off, fallback or first")),
        };
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_go_and_spring_names() {
        let java = AliyunConfig::from_properties(
            "kmsEndpoint=kms.cn-hangzhou.aliyuncs.com\naccessKey=LTAI1\nsecretKey=s\nkeyId=alias/k\n",
        )
        .unwrap();
        assert_eq!(java.key_id(), Some("alias/k"));
        assert!(matches!(java.provider(), Provider::AccessKey { .. }));
        java.into_builder().unwrap().build().unwrap();

        let go = AliyunConfig::from_pairs([
            ("OpenKMS", "true"),
            ("RegionId", "cn-shanghai"),
            ("AccessKey", "LTAI2"),
            ("SecretKey", "s"),
            ("KmsKeyId", "alias/g"),
        ]);
        assert_eq!(go.key_id(), Some("alias/g"));
        go.into_builder().unwrap().build().unwrap();

        let spring = AliyunConfig::from_properties(
            "spring.cloud.nacos.config.kms_region_id=cn-beijing\nspring.cloud.nacos.config.ram-role-name=r\n",
        )
        .unwrap();
        assert!(matches!(spring.provider(), Provider::EcsRamRole { .. }));
    }

    #[test]
    fn refusals() {
        let off = AliyunConfig::from_pairs([("OpenKMS", "false"), ("RegionId", "x")]);
        assert!(off.into_builder().is_err());
        let half = AliyunConfig::from_pairs([("RegionId", "x"), ("accessKey", "LTAI")]);
        assert!(half.into_builder().is_err());
        let nowhere = AliyunConfig::from_pairs([("accessKey", "a"), ("secretKey", "b")]);
        assert!(nowhere.into_builder().is_err());
        let plain = AliyunConfig::from_pairs([("kmsEndpoint", "http://kms.example")]);
        assert!(plain.into_builder().unwrap().build().is_err());
    }
}
