//! Which KMS the config commands use (`--kms keyring|aliyun|aliyun-instance|aws|pkcs11`),
//! and `kms check`.

use crate::failure::{ENVIRONMENT, Failure};
use crate::io::println;
use crate::keyring::KeyringPath;
use nacoscrypt_core::kms::{Keyring, Kms};
use nacoscrypt_kms_aliyun::config::AliyunConfig;
use nacoscrypt_kms_aliyun::{AliyunInstanceKms, AliyunKms};
use serde_json::{Value, json};
use std::path::Path;

/// The largest KMS properties file read.
const MAX_KMS_PROPERTIES: usize = 1 << 20;

/// The environment variable naming a properties file for `--kms aliyun`.
pub(crate) const PROPERTIES_ENV: &str = "NACOSCRYPT_KMS_PROPERTIES";

/// Which KMS `--kms` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Keyring,
    Aliyun,
    AliyunInstance,
    /// AWS KMS (`--aws-*`, see [`AwsOptions`]).
    #[cfg(feature = "aws")]
    Aws,
    #[cfg(feature = "pkcs11")]
    Pkcs11,
}

/// The `--aws-*` options of `--kms aws`, set once by `main` before a backend is resolved (so
/// the resolvers of every command and of `migrate --from-kms` see the same ones).
#[cfg(feature = "aws")]
#[derive(Clone, Debug, Default)]
pub(crate) struct AwsOptions {
    pub(crate) region: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) ca_file: Option<std::path::PathBuf>,
}

#[cfg(feature = "aws")]
static AWS_OPTIONS: std::sync::OnceLock<AwsOptions> = std::sync::OnceLock::new();

/// Records the `--aws-*` options (the first call wins).
#[cfg(feature = "aws")]
pub(crate) fn set_aws_options(options: AwsOptions) {
    let _ = AWS_OPTIONS.set(options);
}

/// AWS KMS from the `--aws-*` options, else the AWS SDKs' variables (`AWS_REGION`,
/// `AWS_PROFILE`, `AWS_ENDPOINT_URL_KMS`, the credential chain); `$NACOSCRYPT_AWS_CA_FILE` for
/// the CA, `$NACOSCRYPT_KMS_KEY_ID` for the key.
#[cfg(feature = "aws")]
fn aws_backend() -> Result<Backend, Failure> {
    let o = AWS_OPTIONS.get().cloned().unwrap_or_default();
    let mut b = nacoscrypt_kms_aws::AwsKms::builder();
    if let Some(r) = o.region {
        b = b.region(r);
    }
    if let Some(p) = o.profile {
        b = b.profile(p);
    }
    if let Some(e) = o.endpoint {
        b = b.endpoint(e);
    }
    let ca = o
        .ca_file
        .or_else(|| std::env::var_os("NACOSCRYPT_AWS_CA_FILE").map(Into::into));
    if let Some(path) = ca {
        let pem =
            nacoscrypt_core::fs::read_text_file(&path, MAX_KMS_PROPERTIES, "reading the CA file")
                .map_err(|e| Failure {
                code: ENVIRONMENT,
                message: format!("{}: {e}", path.display()),
            })?;
        b = b.ca_pem(pem.as_str());
    }
    let key_id = std::env::var("NACOSCRYPT_KMS_KEY_ID")
        .ok()
        .filter(|k| !k.is_empty());
    if let Some(k) = &key_id {
        b = b.default_key_id(k.clone());
    }
    let client = b.build().map_err(|e| Failure::plain(&e))?;
    Ok(Backend::Aws { client, key_id })
}

/// The key service chosen on the command line.
pub(crate) enum Backend {
    /// The local keyring file.
    Keyring(KeyringPath),
    /// Alibaba Cloud KMS, and the key its settings name.
    Aliyun {
        client: AliyunKms,
        key_id: Option<String>,
    },
    /// A KMS 3.0 instance through its ClientKey API, and the key its settings name.
    AliyunInstance {
        client: AliyunInstanceKms,
        key_id: Option<String>,
    },
    /// AWS KMS, and the key `$NACOSCRYPT_KMS_KEY_ID` names.
    #[cfg(feature = "aws")]
    Aws {
        client: nacoscrypt_kms_aws::AwsKms,
        key_id: Option<String>,
    },
    /// A key in a PKCS#11 token, and the label of the default key.
    #[cfg(feature = "pkcs11")]
    Pkcs11 {
        client: nacoscrypt_kms_pkcs11::Pkcs11Kms,
        module: std::path::PathBuf,
    },
}

/// An opened backend: what the config functions take.
pub(crate) enum Opened {
    Keyring(Keyring),
    Aliyun(AliyunKms),
    AliyunInstance(AliyunInstanceKms),
    #[cfg(feature = "aws")]
    Aws(nacoscrypt_kms_aws::AwsKms),
    #[cfg(feature = "pkcs11")]
    Pkcs11(nacoscrypt_kms_pkcs11::Pkcs11Kms),
}

impl Opened {
    /// The KMS, shareable across the migration's worker threads.
    pub(crate) fn as_sync_kms(&self) -> &(dyn Kms + Sync) {
        match self {
            Self::Keyring(k) => k,
            Self::Aliyun(a) => a,
            Self::AliyunInstance(a) => a,
            #[cfg(feature = "aws")]
            Self::Aws(a) => a,
            #[cfg(feature = "pkcs11")]
            Self::Pkcs11(p) => p,
        }
    }

    pub(crate) fn as_kms(&self) -> &dyn Kms {
        match self {
            Self::Keyring(k) => k,
            Self::Aliyun(a) => a,
            Self::AliyunInstance(a) => a,
            #[cfg(feature = "aws")]
            Self::Aws(a) => a,
            #[cfg(feature = "pkcs11")]
            Self::Pkcs11(p) => p,
        }
    }
}

/// The Alibaba Cloud settings: `--kms-properties FILE`, else `$NACOSCRYPT_KMS_PROPERTIES`, else
/// the environment (`ALIBABA_CLOUD_REGION_ID` or `NACOSCRYPT_KMS_ENDPOINT`, optional
/// `NACOSCRYPT_KMS_KEY_ID` and `NACOSCRYPT_KMS_CA_FILE`; credentials by the official chain).
fn aliyun_config(properties: Option<&Path>) -> Result<AliyunConfig, Failure> {
    let path = properties
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(PROPERTIES_ENV).map(Into::into));
    if let Some(path) = path {
        let text = nacoscrypt_core::fs::read_text_file(
            &path,
            MAX_KMS_PROPERTIES,
            "reading the KMS properties",
        )
        .map_err(|e| Failure {
            code: ENVIRONMENT,
            message: format!("{}: {e}", path.display()),
        })?;
        return AliyunConfig::from_properties(&text).map_err(|e| Failure::plain(&e));
    }
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(e) = var("NACOSCRYPT_KMS_ENDPOINT") {
        pairs.push(("kmsEndpoint", e));
    }
    if let Some(r) = var("ALIBABA_CLOUD_REGION_ID") {
        pairs.push(("kms_region_id", r));
    }
    if let Some(k) = var("NACOSCRYPT_KMS_KEY_ID") {
        pairs.push(("keyId", k));
    }
    if let Some(c) = var("NACOSCRYPT_KMS_CA_FILE") {
        pairs.push(("kmsCaFile", c));
    }
    if pairs
        .iter()
        .all(|(k, _)| *k != "kmsEndpoint" && *k != "kms_region_id")
    {
        return Err(Failure::usage(format!(
            "--kms aliyun needs its settings: --kms-properties FILE (kmsEndpoint or \
             kms_region_id, keyId, credentials), ${PROPERTIES_ENV}, or $NACOSCRYPT_KMS_ENDPOINT / \
             $ALIBABA_CLOUD_REGION_ID with credentials in $ALIBABA_CLOUD_ACCESS_KEY_ID and \
             $ALIBABA_CLOUD_ACCESS_KEY_SECRET (or another source of the default chain)"
        )));
    }
    Ok(AliyunConfig::from_pairs(
        pairs.iter().map(|(k, v)| (*k, v.as_str())),
    ))
}

/// The PKCS#11 options of `--kms pkcs11`; each falls back to its environment variable. The PIN
/// is never an argument: `--pkcs11-pin-file FILE` or `$NACOSCRYPT_PKCS11_PIN`.
#[derive(Clone, Debug, Default, clap::Args)]
pub(crate) struct Pkcs11Args {
    /// With --kms pkcs11: the PKCS#11 module (shared library), for example
    /// /usr/lib/softhsm/libsofthsm2.so [default: $NACOSCRYPT_PKCS11_MODULE]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) pkcs11_module: Option<std::path::PathBuf>,
    /// With --kms pkcs11: the label of the token that holds the keys
    /// [default: $NACOSCRYPT_PKCS11_TOKEN_LABEL]
    #[arg(
        long,
        global = true,
        value_name = "LABEL",
        conflicts_with = "pkcs11_slot"
    )]
    pub(crate) pkcs11_token_label: Option<String>,
    /// With --kms pkcs11: the slot id of the token, instead of its label
    /// [default: $NACOSCRYPT_PKCS11_SLOT]
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) pkcs11_slot: Option<u64>,
    /// With --kms pkcs11: the label of the AES key for new configs (--key-id overrides it)
    /// [default: $NACOSCRYPT_PKCS11_KEY_LABEL]
    #[arg(long, global = true, value_name = "LABEL")]
    pub(crate) pkcs11_key_label: Option<String>,
    /// With --kms pkcs11: a file holding the user PIN (one trailing newline ignored)
    /// [default: $NACOSCRYPT_PKCS11_PIN_FILE, else the PIN in $NACOSCRYPT_PKCS11_PIN]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) pkcs11_pin_file: Option<std::path::PathBuf>,
}

/// The environment variable that holds the PKCS#11 user PIN.
#[cfg(feature = "pkcs11")]
pub(crate) const PKCS11_PIN_ENV: &str = "NACOSCRYPT_PKCS11_PIN";

impl Pkcs11Args {
    fn given(&self) -> bool {
        self.pkcs11_module.is_some()
            || self.pkcs11_token_label.is_some()
            || self.pkcs11_slot.is_some()
            || self.pkcs11_key_label.is_some()
            || self.pkcs11_pin_file.is_some()
    }
}

/// The PKCS#11 settings read from the options and the environment, not built yet: a usage
/// error (no module, token or PIN) fails here, before anything is loaded.
#[cfg(feature = "pkcs11")]
fn pkcs11_settings(
    args: &Pkcs11Args,
) -> Result<(nacoscrypt_kms_pkcs11::Pkcs11KmsBuilder, std::path::PathBuf), Failure> {
    use nacoscrypt_kms_pkcs11::{Pin, Pkcs11Kms, Token};
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let module = args
        .pkcs11_module
        .clone()
        .or_else(|| var("NACOSCRYPT_PKCS11_MODULE").map(Into::into))
        .ok_or_else(|| {
            Failure::usage(
                "--kms pkcs11 needs the module: --pkcs11-module PATH or $NACOSCRYPT_PKCS11_MODULE"
                    .to_owned(),
            )
        })?;
    let token = if let Some(label) = args.pkcs11_token_label.clone() {
        Token::Label(label)
    } else if let Some(slot) = args.pkcs11_slot {
        Token::Slot(slot)
    } else if let Some(label) = var("NACOSCRYPT_PKCS11_TOKEN_LABEL") {
        Token::Label(label)
    } else if let Some(slot) = var("NACOSCRYPT_PKCS11_SLOT") {
        Token::Slot(slot.parse().map_err(|_| {
            Failure::usage("$NACOSCRYPT_PKCS11_SLOT is not a slot id (a number)".to_owned())
        })?)
    } else {
        return Err(Failure::usage(
            "--kms pkcs11 needs the token: --pkcs11-token-label LABEL or --pkcs11-slot ID \
             (or $NACOSCRYPT_PKCS11_TOKEN_LABEL / $NACOSCRYPT_PKCS11_SLOT)"
                .to_owned(),
        ));
    };
    let pin_file = args
        .pkcs11_pin_file
        .clone()
        .or_else(|| var("NACOSCRYPT_PKCS11_PIN_FILE").map(Into::into));
    let pin = match pin_file {
        Some(path) => Pin::from_file(&path).map_err(|e| Failure {
            code: ENVIRONMENT,
            message: format!("{}: {e}", path.display()),
        })?,
        None if std::env::var_os(PKCS11_PIN_ENV).is_some() => {
            Pin::from_env(PKCS11_PIN_ENV).map_err(|e| Failure::plain(&e))?
        }
        None => {
            return Err(Failure::usage(format!(
                "--kms pkcs11 needs the user PIN: --pkcs11-pin-file FILE or ${PKCS11_PIN_ENV} \
                 (never on the command line)"
            )));
        }
    };
    let mut builder = Pkcs11Kms::builder().module(&module).token(token).pin(pin);
    if let Some(label) = args
        .pkcs11_key_label
        .clone()
        .or_else(|| var("NACOSCRYPT_PKCS11_KEY_LABEL"))
    {
        builder = builder.default_key_label(label);
    }
    Ok((builder, module))
}

/// Why a PKCS#11 KMS could not be built (the module, the token, the login), as the command
/// reports it: the exit code of the error's kind.
#[cfg(feature = "pkcs11")]
fn pkcs11_build_failure(module: &Path, e: &nacoscrypt_core::Error) -> Failure {
    Failure {
        code: crate::failure::exit_code(e.kind()),
        message: format!("PKCS#11 module {}: {e}", module.display()),
    }
}

#[cfg(feature = "pkcs11")]
fn pkcs11_backend(args: &Pkcs11Args) -> Result<Backend, Failure> {
    let (builder, module) = pkcs11_settings(args)?;
    let client = builder
        .build()
        .map_err(|e| pkcs11_build_failure(&module, &e))?;
    Ok(Backend::Pkcs11 { client, module })
}

/// `kms check` from the command line's choices: as [`check`], and a key service that cannot
/// even be opened (a PKCS#11 module that refuses the PIN, a token that is not there) still
/// prints its report line, `"usable": false` with the error (never the PIN), and exits with
/// the error's code (3). Usage errors print no report.
pub(crate) fn check_command(
    kind: Kind,
    keyring: Option<&Path>,
    properties: Option<&Path>,
    pkcs11: &Pkcs11Args,
    key_id: Option<&str>,
) -> Result<(), Failure> {
    #[cfg(feature = "pkcs11")]
    if kind == Kind::Pkcs11 && keyring.is_none() && properties.is_none() {
        let (builder, module) = pkcs11_settings(pkcs11)?;
        return match builder.build() {
            Ok(client) => check(&Backend::Pkcs11 { client, module }, key_id),
            Err(e) => {
                let report = json!({
                    "kms": "pkcs11",
                    "module": module.display().to_string(),
                    "usable": false,
                    "error": e.to_string(),
                });
                println(&report.to_string())?;
                Err(pkcs11_build_failure(&module, &e))
            }
        };
    }
    let backend = Backend::resolve(kind, keyring, properties, pkcs11)?;
    check(&backend, key_id)
}

impl Backend {
    /// The backend of `--kms`.
    pub(crate) fn resolve(
        kind: Kind,
        keyring: Option<&Path>,
        properties: Option<&Path>,
        pkcs11: &Pkcs11Args,
    ) -> Result<Self, Failure> {
        #[cfg(feature = "pkcs11")]
        if kind == Kind::Pkcs11 {
            if keyring.is_some() || properties.is_some() {
                return Err(Failure::usage(
                    "--keyring and --kms-properties do not go with --kms pkcs11".to_owned(),
                ));
            }
            return pkcs11_backend(pkcs11);
        }
        if pkcs11.given() {
            return Err(Failure::usage(
                "the --pkcs11-* options go with --kms pkcs11".to_owned(),
            ));
        }
        if kind == Kind::Keyring {
            if properties.is_some() {
                return Err(Failure::usage(
                    "--kms-properties goes with --kms aliyun".to_owned(),
                ));
            }
            return Ok(Self::Keyring(KeyringPath::resolve(keyring)?));
        }
        if keyring.is_some() {
            return Err(Failure::usage(
                "--keyring goes with --kms keyring (the default), not a key service".to_owned(),
            ));
        }
        #[cfg(feature = "aws")]
        if kind == Kind::Aws {
            if properties.is_some() {
                return Err(Failure::usage(
                    "--kms-properties goes with --kms aliyun; --kms aws takes --aws-*".to_owned(),
                ));
            }
            return aws_backend();
        }
        let config = aliyun_config(properties)?;
        if kind == Kind::AliyunInstance {
            let key_id = config.key_id().map(str::to_owned);
            let client = config
                .into_instance_builder()
                .and_then(nacoscrypt_kms_aliyun::AliyunInstanceKmsBuilder::build)
                .map_err(|e| Failure::plain(&e))?;
            return Ok(Self::AliyunInstance { client, key_id });
        }
        let key_id = config.key_id().map(str::to_owned);
        let client = config
            .into_builder()
            .and_then(nacoscrypt_kms_aliyun::AliyunKmsBuilder::build)
            .map_err(|e| Failure::plain(&e))?;
        Ok(Self::Aliyun { client, key_id })
    }

    /// The key used when `--key-id` is not given.
    pub(crate) fn default_key_id(&self) -> &str {
        match self {
            Self::Keyring(_) => crate::keyring::DEFAULT_KEY_ID,
            Self::Aliyun { key_id, .. } | Self::AliyunInstance { key_id, .. } => key_id
                .as_deref()
                .unwrap_or(nacoscrypt_kms_aliyun::DEFAULT_KEY_ID),
            // AWS has no default key: empty means "the configured one", else an error.
            #[cfg(feature = "aws")]
            Self::Aws { key_id, .. } => key_id.as_deref().unwrap_or(""),
            // Empty: the KMS's default key label (an error naming the option when unset).
            #[cfg(feature = "pkcs11")]
            Self::Pkcs11 { .. } => "",
        }
    }
}

/// `kms check`: can the configured KMS be reached, with which credentials, and does the key
/// encrypt and decrypt? Prints a JSON report; never a secret.
pub(crate) fn check(backend: &Backend, key_id: Option<&str>) -> Result<(), Failure> {
    let report: Value = match backend {
        Backend::Keyring(kp) => {
            let keyring = kp.open()?;
            let key_id = key_id.unwrap_or(crate::keyring::DEFAULT_KEY_ID);
            let Some(primary) = keyring.primary_version(key_id) else {
                return Err(crate::keyring::unknown_key_id(kp, &keyring, key_id));
            };
            json!({
                "kms": "keyring",
                "keyring": kp.path.display().to_string(),
                "key_id": key_id,
                "key_version_id": primary,
                "versions": keyring.versions(key_id).len(),
                "usable": true,
            })
        }
        Backend::Aliyun {
            client,
            key_id: configured,
        } => {
            let key_id = key_id.or(configured.as_deref()).unwrap_or("");
            match client.check(key_id) {
                Ok(r) => json!({
                    "kms": "aliyun",
                    "credentials": client.provider().describe(),
                    "provider": r.provider,
                    "access_key_id": r.access_key_id,
                    "expires": r.expires,
                    "key_id": r.key_id,
                    "key_version_id": r.key_version_id,
                    "usable": true,
                }),
                Err(e) => {
                    let report = json!({
                        "kms": "aliyun",
                        "credentials": client.provider().describe(),
                        "usable": false,
                        "error": e.to_string(),
                    });
                    println(&report.to_string())?;
                    return Err(Failure {
                        code: ENVIRONMENT,
                        message: format!("the KMS is not usable: {e}"),
                    });
                }
            }
        }
        #[cfg(feature = "aws")]
        Backend::Aws {
            client,
            key_id: configured,
        } => {
            let key_id = key_id.or(configured.as_deref()).unwrap_or("");
            match client.check(key_id) {
                Ok(r) => json!({
                    "kms": "aws",
                    "region": r.region,
                    "endpoint": client.endpoint(),
                    "provider": r.provider,
                    "access_key_id": r.access_key_id,
                    "expires": r.expires,
                    "key_id": r.key_id,
                    "usable": true,
                }),
                Err(e) => {
                    let report = json!({
                        "kms": "aws",
                        "region": client.region(),
                        "endpoint": client.endpoint(),
                        "usable": false,
                        "error": e.to_string(),
                    });
                    println(&report.to_string())?;
                    return Err(Failure {
                        code: ENVIRONMENT,
                        message: format!("the KMS is not usable: {e}"),
                    });
                }
            }
        }
        Backend::AliyunInstance {
            client,
            key_id: configured,
        } => {
            let key_id = key_id
                .or(configured.as_deref())
                .unwrap_or(nacoscrypt_kms_aliyun::DEFAULT_KEY_ID);
            let ctx = nacoscrypt_core::kms::Context::new();
            let probe = client
                .encrypt(key_id, b"nacoscrypt kms check", &ctx)
                .and_then(|blob| client.decrypt(&blob, &ctx));
            match probe {
                Ok(p) if p.as_bytes() == b"nacoscrypt kms check" => json!({
                    "kms": "aliyun-instance",
                    "client_key_id": client.client_key_id(),
                    "key_id": key_id,
                    "usable": true,
                }),
                Ok(_) => {
                    return Err(Failure {
                        code: ENVIRONMENT,
                        message: "the KMS instance did not decrypt what it encrypted".to_owned(),
                    });
                }
                Err(e) => {
                    let report = json!({
                        "kms": "aliyun-instance",
                        "client_key_id": client.client_key_id(),
                        "usable": false,
                        "error": e.to_string(),
                    });
                    println(&report.to_string())?;
                    return Err(Failure {
                        code: ENVIRONMENT,
                        message: format!("the KMS instance is not usable: {e}"),
                    });
                }
            }
        }
        #[cfg(feature = "pkcs11")]
        Backend::Pkcs11 { client, module } => match client.check(key_id.unwrap_or("")) {
            Ok(r) => json!({
                "kms": "pkcs11",
                "module": module.display().to_string(),
                "library": r.library,
                "token_label": r.token_label,
                "token_serial": r.token_serial,
                "slot": r.slot,
                "key_label": r.key_label,
                "usable": true,
            }),
            Err(e) => {
                let report = json!({
                    "kms": "pkcs11",
                    "module": module.display().to_string(),
                    "usable": false,
                    "error": e.to_string(),
                });
                println(&report.to_string())?;
                return Err(Failure {
                    code: ENVIRONMENT,
                    message: format!("the PKCS#11 key is not usable: {e}"),
                });
            }
        },
    };
    println(&report.to_string())
}
