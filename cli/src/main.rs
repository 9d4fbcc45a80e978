//! `nacoscrypt`: the libnacoscrypt command line for operators.
//!
//! Encrypt a config before publishing it to Nacos, decrypt one to check it, manage the local
//! keyring, mint or check a Nacos access token while debugging a 403, and generate a token
//! secret. Run `nacoscrypt --help` for the commands; `cli/README.md` is the reference.
//!
//! Output goes through explicit writers (`io::write_stdout`, `io::note`) rather than `println!`,
//! so a closed pipe is not a panic and the workspace's `print_stdout`/`print_stderr` lints hold.
//!
//! Exit codes: 0 ok, 1 verification or decryption failed, 2 usage error, 3 I/O or KMS error
//! (the table from the core's error kinds is in `failure.rs`).

mod auth;
mod completions;
mod config;
mod doctor;
mod failure;
mod io;
mod keyring;
mod kms;
mod migrate;
mod stream;
mod token;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use nacoscrypt_core::config::Format;
use std::path::PathBuf;
use std::process::ExitCode;

const ROOT_AFTER: &str = "\
Keyring: --keyring PATH, else $NACOSCRYPT_KEYRING, else $XDG_CONFIG_HOME/nacoscrypt/keyring
(or ~/.config/nacoscrypt/keyring), which is created on first use with a key alias/nacoscrypt.

Exit codes: 0 ok, 1 decryption or verification failed, 2 usage error, 3 I/O or KMS error.

Examples:
  printf 'password=s3cret' | nacoscrypt config encrypt --data-id cipher-kms-aes-256-db.properties > db.json
  nacoscrypt config decrypt db.json
  nacoscrypt keyring list
  nacoscrypt secret new
  NACOSCRYPT_SECRET=... nacoscrypt token issue --sub nacos";

/// Encrypt and decrypt Nacos configs, manage the local keyring, issue and check access tokens.
#[derive(Debug, Parser)]
#[command(
    name = "nacoscrypt",
    version,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = ROOT_AFTER
)]
struct Cli {
    /// Keyring file of the keyring and config commands [default: $NACOSCRYPT_KEYRING, else
    /// ~/.config/nacoscrypt/keyring, created on first use]
    #[arg(long, global = true, value_name = "PATH")]
    keyring: Option<PathBuf>,

    /// The KMS of the config and kms commands: the local keyring, or Alibaba Cloud KMS
    #[arg(long, global = true, value_enum, default_value_t = KmsArg::Keyring)]
    kms: KmsArg,

    /// With --kms aliyun: a properties file with the Nacos SDKs' names (kmsEndpoint or
    /// kms_region_id, keyId, accessKey/secretKey or ramRoleName, ...) [default:
    /// $NACOSCRYPT_KMS_PROPERTIES, else the environment]
    #[arg(long, global = true, value_name = "FILE")]
    kms_properties: Option<PathBuf>,

    #[cfg(feature = "aws")]
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    pkcs11: kms::Pkcs11Args,

    #[command(subcommand)]
    command: Command,
}

/// The options of `--kms aws` (each defaults to what the AWS SDKs read).
#[cfg(feature = "aws")]
#[derive(Debug, clap::Args)]
struct AwsArgs {
    /// With --kms aws: the region [default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's]
    #[arg(long, global = true, value_name = "REGION")]
    aws_region: Option<String>,
    /// With --kms aws: the profile of ~/.aws/config and ~/.aws/credentials [default:
    /// $AWS_PROFILE, else the standard credential chain]
    #[arg(long, global = true, value_name = "NAME")]
    aws_profile: Option<String>,
    /// With --kms aws: the KMS endpoint, https:// only [default: $AWS_ENDPOINT_URL_KMS, else
    /// https://kms.REGION.amazonaws.com]
    #[arg(long, global = true, value_name = "URL")]
    aws_endpoint: Option<String>,
    /// With --kms aws: trust only this CA (PEM) for KMS and STS [default:
    /// $NACOSCRYPT_AWS_CA_FILE, else the public roots]
    #[arg(long, global = true, value_name = "FILE")]
    aws_ca_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, rotate and list the keys of the local keyring (the embedded KMS)
    #[command(subcommand, after_help = KEYRING_AFTER)]
    Keyring(KeyringCommand),
    /// Encrypt a config for Nacos, or decrypt one
    #[command(subcommand, after_help = CONFIG_AFTER)]
    Config(ConfigCommand),
    /// Issue or verify a Nacos access token (the server's default auth plugin)
    Token(TokenArgs),
    /// Check the KMS: credentials, reachability, and that the key encrypts and decrypts
    #[command(subcommand, after_help = KMS_AFTER)]
    Kms(KmsCommand),
    /// Audit a Nacos server's auth settings (application.properties and/or Docker environment)
    #[command(subcommand, after_help = AUTH_AFTER)]
    Auth(AuthCommand),
    /// Generate a token secret for the Nacos server
    #[command(
        subcommand,
        after_help = "Examples:\n  nacoscrypt secret new\n  (umask 077; nacoscrypt secret new | head -n 1 > secret.txt)"
    )]
    Secret(SecretCommand),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Examples:\n  nacoscrypt completions bash > /usr/share/bash-completion/completions/nacoscrypt\n  nacoscrypt completions zsh > \"${fpath[1]}/_nacoscrypt\"\n  nacoscrypt completions fish > ~/.config/fish/completions/nacoscrypt.fish"
    )]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page nacoscrypt(1), or write one page per command into a directory
    #[command(
        after_help = "Examples:\n  nacoscrypt man | man -l -\n  nacoscrypt man --dir /usr/local/share/man/man1"
    )]
    Man {
        /// Write nacoscrypt.1 and a page per subcommand (nacoscrypt-config-encrypt.1, ...) here
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

const KEYRING_AFTER: &str = "\
A keyring is a text file, mode 0600, one key version a line:
  key <key-id> <version-id> <base64 of 32 random bytes>
The last version of a key id is its primary, used for new configs; older ones still decrypt.
A keyring readable by group or others is refused (run `chmod 600 PATH`).

Examples:
  nacoscrypt keyring create --keyring ./keyring
  nacoscrypt keyring create --key-id alias/payments
  nacoscrypt keyring rotate --key-id alias/payments
  nacoscrypt keyring list";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KmsArg {
    /// The local keyring file (--keyring)
    Keyring,
    /// Alibaba Cloud KMS (--kms-properties, $NACOSCRYPT_KMS_PROPERTIES or the environment)
    Aliyun,
    /// A KMS 3.0 instance with a ClientKey (--kms-properties: kmsEndpoint, clientKeyFile,
    /// clientKeyPasswordFromFilePath or clientKeyPasswordFromEnvVariable, kmsCaFile)
    AliyunInstance,
    /// AWS KMS (--aws-region, --aws-profile, --aws-endpoint, --aws-ca-file; the AWS SDKs'
    /// variables and credential chain; the key from --key-id or $NACOSCRYPT_KMS_KEY_ID)
    #[cfg(feature = "aws")]
    Aws,
    /// An AES key in a PKCS#11 token, an HSM (--pkcs11-module, --pkcs11-token-label or
    /// --pkcs11-slot, --pkcs11-key-label, --pkcs11-pin-file or $NACOSCRYPT_PKCS11_PIN)
    #[cfg(feature = "pkcs11")]
    Pkcs11,
}

impl From<KmsArg> for kms::Kind {
    fn from(k: KmsArg) -> Self {
        match k {
            KmsArg::Keyring => Self::Keyring,
            KmsArg::Aliyun => Self::Aliyun,
            KmsArg::AliyunInstance => Self::AliyunInstance,
            #[cfg(feature = "aws")]
            KmsArg::Aws => Self::Aws,
            #[cfg(feature = "pkcs11")]
            KmsArg::Pkcs11 => Self::Pkcs11,
        }
    }
}

const KMS_AFTER: &str = "\
Alibaba Cloud KMS settings use the Nacos SDKs' names (Java/Spring and Go):
  kmsEndpoint=kst-hzz65f1.cryptoservice.kms.aliyuncs.com   (or kms_region_id=cn-hangzhou)
  keyId=alias/acs/mse
  ramRoleName=nacos-reader                                 (or accessKey=... secretKey=...)
Without --kms-properties or $NACOSCRYPT_KMS_PROPERTIES: $NACOSCRYPT_KMS_ENDPOINT or
$ALIBABA_CLOUD_REGION_ID, $NACOSCRYPT_KMS_KEY_ID, and credentials from the official chain
($ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, OIDC, ~/.aliyun/config.json, ECS RAM role, ...).

AWS KMS (--kms aws): --aws-region, --aws-profile, --aws-endpoint, --aws-ca-file, else the
AWS SDKs' variables ($AWS_REGION, $AWS_PROFILE, $AWS_ENDPOINT_URL_KMS) and credential chain
(environment, ~/.aws files, web identity, container, instance metadata with IMDSv2); the key
from --key-id or $NACOSCRYPT_KMS_KEY_ID (an id, ARN or alias/NAME).

PKCS#11 (an HSM, SoftHSM2): the key id is the label of an AES key object in the token, and
the user PIN comes from --pkcs11-pin-file FILE or $NACOSCRYPT_PKCS11_PIN, never an argument.

Examples:
  nacoscrypt --kms aliyun --kms-properties kms.properties kms check
  nacoscrypt --kms aws --aws-region eu-west-1 kms check --key-id alias/nacos
  nacoscrypt kms check --key-id alias/nacoscrypt
  nacoscrypt --kms pkcs11 --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
    --pkcs11-token-label nacos --pkcs11-key-label nacos-2026 --pkcs11-pin-file pin kms check";

#[derive(Debug, Subcommand)]
enum KmsCommand {
    /// Report the credentials used and whether the key is usable (JSON; never a secret)
    Check {
        /// The key to check [default: the configured one]
        #[arg(long, value_name = "ID")]
        key_id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum KeyringCommand {
    /// Create the keyring file (mode 0600) with a new key, or add a new key to it
    #[command(after_help = "Examples:\n  nacoscrypt keyring create\n  \
        nacoscrypt keyring create --keyring /etc/nacoscrypt/keyring --key-id alias/nacos")]
    Create {
        /// The key id to create
        #[arg(long, value_name = "ID", default_value = keyring::DEFAULT_KEY_ID)]
        key_id: String,
    },
    /// Add a new primary version to a key; configs encrypted before still decrypt
    #[command(after_help = "Example:\n  nacoscrypt keyring rotate --key-id alias/nacoscrypt")]
    Rotate {
        /// The key id to rotate
        #[arg(long, value_name = "ID", default_value = keyring::DEFAULT_KEY_ID)]
        key_id: String,
    },
    /// List key ids and version ids, the primary marked (never key bytes)
    #[command(
        after_help = "Output: a `# keyring PATH` line, then one line per version, \
        `<key-id>  <version-id>  [primary]`.\n\nExamples:\n  nacoscrypt keyring list\n  \
        nacoscrypt keyring list --keyring /etc/nacoscrypt/keyring"
    )]
    List,
}

const CONFIG_AFTER: &str = "\
The data ID selects the scheme: cipher-kms-aes-256-… and cipher-kms-aes-128-… (a fresh data key
per config, up to 50 KiB) or cipher-… (encrypted by the KMS itself, up to 6 KiB).

Examples:
  nacoscrypt config encrypt --data-id cipher-kms-aes-256-db.properties db.properties > db.json
  nacoscrypt config decrypt db.json > db.properties
  nacoscrypt config encrypt --data-id cipher-app.yaml --group payments --tenant prod --format v1 < app.yaml";

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Encrypt a config: prints the JSON {"dataId", "group", "tenant", "content", "encryptedDataKey"}
    #[command(after_help = ENCRYPT_AFTER)]
    Encrypt(EncryptArgs),
    /// Decrypt the JSON that `config encrypt` prints: writes the plaintext exactly
    #[command(after_help = DECRYPT_AFTER)]
    Decrypt {
        /// The JSON file; `-` or absent: standard input
        #[arg(value_name = "FILE")]
        input: Option<PathBuf>,
    },
    /// Explain why stored configs will not decrypt (never prints keys or plaintext)
    #[command(after_help = DOCTOR_AFTER)]
    Doctor(DoctorArgs),
    /// Re-encrypt a stream of stored configs under another key, scheme or format
    #[command(after_help = MIGRATE_AFTER)]
    Migrate(MigrateArgs),
}

const DOCTOR_AFTER: &str = "\
Reads one stored config or JSON lines of them, with the open API's fields dataId, group,
tenant, content, encryptedDataKey (as `config encrypt` prints them). Without --check no key is
used: it reports the scheme each SDK (Java, Go, Python) selects, the stored format (nacos, v1,
server-plugin, plain-text), whether encryptedDataKey is missing or unexpected, where the key blob
comes from (local keyring / KMS instance key version, OpenAPI, AWS, server plugin key), sizes
against the limits and the base64/block structure. With --check each decryption step is tried
with --kms (and --plugin-secret-file for cipher-doubleAes- configs) and the first failing one is
named: scheme, structure, kms, key-not-found, data-key-length, wrong-key, utf8, limits.

A console export ZIP (Configuration Management > Export, v1 .meta.yml or v2 .metadata.yml) is
read too: it carries no encryptedDataKey, so give the keys with --edk-sidecar (JSON lines with
dataId, group, tenant, encryptedDataKey) and the namespace it came from with --tenant.

Exit codes: 0 every config decrypts (or shows no error), 1 some will not, 2 usage or unreadable
input, 3 the key service failed.

Examples:
  nacoscrypt config doctor db.json
  nacoscrypt config doctor --check --json configs.jsonl | jq 'select(.healthy|not)'
  nacoscrypt config doctor --check --edk-sidecar keys.jsonl --tenant prod export.zip";

const MIGRATE_AFTER: &str = "\
Reads JSON lines of stored configs (open API fields) or a console export ZIP, and writes the
migrated ones to --output as JSON lines or, for a .zip output (or --out-format zip), as an
export ZIP whose .metadata.yml carries each encryptedDataKey (the server's import ignores it;
this command reads it back), atomically (a temporary file renamed; the input is never modified).
Entries already in the target form are copied as they are, so a run can be repeated over its
own output: same data ID and format, opened by the target, and either under the current version
of the target key (what a local keyring tells from the blob; so a rotation inside one keyring
and a plugin->KMS run resume too) or, with a key service that cannot tell, not opened by the
source (a service that cannot tell and is both source and target re-encrypts them). A failing entry is reported on standard error with its reason and left out of the
output; the rest go on. A scheme change renames the data ID (cipher-aes-x -> cipher-kms-aes-256-x):
each rename is reported. Plaintext stays in memory.

Target: --kms/--keyring/--kms-properties and --key-id. Source: --from-kms/--from-keyring/
--from-kms-properties (default: the target's KMS); server plugin configs (cipher-aes-) carry
their own key; cipher-doubleAes- configs need --plugin-secret-file (the server's nacos.encrypt).

An export ZIP has no encryptedDataKey: --edk-sidecar FILE gives them (JSON lines with dataId,
group, tenant, encryptedDataKey, matched by all three; --tenant names the export's namespace).
An envelope config left without one fails at step structure; the others go on.

Exit codes: 0 all migrated or already migrated; 1 some entries failed on their own merits (a
missing, swapped or deleted key, the wrong key); 2 usage; 3 the key service failed for some entry
(step kms: unreachable, refusing, throttled; run again over the same input to resume) or a file
could not be read or written.

Examples:
  nacoscrypt config migrate --edk-sidecar keys.jsonl --tenant prod --output backup.zip export.zip
  nacoscrypt config migrate --from-keyring old.keyring --keyring new.keyring --key-id alias/nacos \\
      --mode rewrap --output moved.jsonl configs.jsonl
  nacoscrypt --kms aliyun config migrate --to-scheme kms-aes-256 --output kms.jsonl plugin.jsonl";

#[derive(Debug, Args)]
struct DoctorArgs {
    /// The stored config(s): one JSON object, JSON lines or an export ZIP; `-` or absent:
    /// standard input
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
    /// The input's form [default: zip for a .zip file, else jsonl]
    #[arg(long, value_enum, value_name = "FORMAT")]
    in_format: Option<stream::StreamFormat>,
    /// An export ZIP's encryptedDataKeys: JSON lines with dataId, group, tenant and
    /// encryptedDataKey (what `config encrypt` prints; other members ignored)
    #[arg(long, value_name = "FILE")]
    edk_sidecar: Option<PathBuf>,
    /// The namespace (tenant id) an export ZIP came from; empty is public
    #[arg(long, value_name = "TENANT", default_value = "")]
    tenant: String,
    /// One JSON report a line
    #[arg(long)]
    json: bool,
    /// Try every decryption step with --kms (read-only; the keyring is never created)
    #[arg(long)]
    check: bool,
    /// A file holding the server's nacos.encrypt secret (cipher-doubleAes- configs)
    #[arg(long, value_name = "PATH")]
    plugin_secret_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// JSON lines of stored configs, or a console export ZIP; `-` or absent: standard input
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
    /// Where the migrated configs go (written atomically)
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The output's form: jsonl, or zip (an export whose .metadata.yml keeps each
    /// encryptedDataKey) [default: zip for a .zip output, else jsonl]
    #[arg(long, value_enum, value_name = "FORMAT")]
    out_format: Option<stream::StreamFormat>,
    /// The input's form [default: zip for a .zip file, else jsonl]
    #[arg(long, value_enum, value_name = "FORMAT")]
    in_format: Option<stream::StreamFormat>,
    /// An export ZIP's encryptedDataKeys: JSON lines with dataId, group, tenant and
    /// encryptedDataKey (what `config encrypt` prints; other members ignored)
    #[arg(long, value_name = "FILE")]
    edk_sidecar: Option<PathBuf>,
    /// The namespace (tenant id) an export ZIP came from; empty is public
    #[arg(long, value_name = "TENANT", default_value = "")]
    tenant: String,
    /// Do everything but write the output
    #[arg(long)]
    dry_run: bool,
    /// rewrap: keep each data key, re-wrap it under the target key (nacos content kept);
    /// rekey: a fresh data key, the content encrypted afresh
    #[arg(long, value_enum, default_value_t = ModeArg::Rekey)]
    mode: ModeArg,
    /// The target key [default: as for `config encrypt`]
    #[arg(long, value_name = "ID")]
    key_id: Option<String>,
    /// The target scheme; a change renames the data ID (reported)
    #[arg(long, value_enum, default_value_t = SchemeArg::Keep)]
    to_scheme: SchemeArg,
    /// The target format [default: keep each config's format; nacos for server plugin configs]
    #[arg(long, value_enum)]
    to_format: Option<FormatArg>,
    /// The source KMS [default: the target's]
    #[arg(long, value_enum)]
    from_kms: Option<KmsArg>,
    /// The source keyring file (with --from-kms keyring, the default)
    #[arg(long, value_name = "PATH")]
    from_keyring: Option<PathBuf>,
    /// The source Alibaba Cloud KMS settings (with --from-kms aliyun or aliyun-instance)
    #[arg(long, value_name = "FILE")]
    from_kms_properties: Option<PathBuf>,
    /// A file holding the server's nacos.encrypt secret (cipher-doubleAes- configs)
    #[arg(long, value_name = "PATH")]
    plugin_secret_file: Option<PathBuf>,
    /// Worker threads [default: every core]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,
    /// Turn \u0026, \u003c, \u003e back into &, <, > (the direct scheme's HTML-escaping
    /// quirk; rekey only)
    #[arg(long)]
    unescape_html: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// Keep the data key, re-wrap it
    Rewrap,
    /// A fresh data key
    Rekey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemeArg {
    /// The scheme each data ID selects now
    Keep,
    /// cipher-kms-aes-256-
    #[value(name = "kms-aes-256")]
    KmsAes256,
    /// cipher-kms-aes-128-
    #[value(name = "kms-aes-128")]
    KmsAes128,
    /// cipher- (the KMS encrypts the content; up to 6 KiB)
    Direct,
}

const ENCRYPT_AFTER: &str = "\
The input is encrypted byte for byte (a final newline included). The output is one line of JSON
named as the Nacos config API's parameters: dataId, group, tenant, content and
encryptedDataKey (publish content with its encryptedDataKey).

Formats: nacos (default) is AES-ECB, what every Nacos client reads; v1 is AES-GCM bound to the
data ID, group and tenant (libnacoscrypt readers only).

Examples:
  nacoscrypt config encrypt --data-id cipher-kms-aes-256-db.properties db.properties
  printf 'password=s3cret' | nacoscrypt config encrypt --data-id cipher-db.properties -";

const DECRYPT_AFTER: &str = "\
Reads a JSON object with the string members dataId, group, tenant, content and
encryptedDataKey (other members are ignored) and writes the plaintext to standard output exactly
as it was encrypted: no newline is added. The format (nacos or v1) is detected.

Examples:
  nacoscrypt config decrypt db.json
  nacoscrypt config encrypt --data-id cipher-x < x.txt | nacoscrypt config decrypt";

#[derive(Debug, Args)]
struct EncryptArgs {
    /// The config file; `-` or absent: standard input
    #[arg(value_name = "FILE")]
    input: Option<PathBuf>,
    /// The data ID; its prefix selects the scheme (cipher-kms-aes-256-, cipher-kms-aes-128-, cipher-)
    #[arg(long, value_name = "DATA_ID")]
    data_id: String,
    /// The group
    #[arg(long, value_name = "GROUP", default_value = "DEFAULT_GROUP")]
    group: String,
    /// The tenant (namespace id); empty is the public namespace
    #[arg(long, value_name = "TENANT", default_value = "")]
    tenant: String,
    /// The key that protects the config [default: alias/nacoscrypt in the keyring; with
    /// --kms aliyun the configured keyId, else alias/acs/mse]
    #[arg(long, value_name = "ID")]
    key_id: Option<String>,
    /// The stored format
    #[arg(long, value_enum, default_value_t = FormatArg::Nacos)]
    format: FormatArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// AES-ECB: what the Nacos Java, Go and Python clients read
    Nacos,
    /// AES-GCM bound to data ID, group and tenant (tamper-evident)
    V1,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Nacos => Format::Nacos,
            FormatArg::V1 => Format::V1,
        }
    }
}

const TOKEN_AFTER: &str = "\
The secret (nacos.core.auth.plugin.nacos.token.secret.key) comes from, in order: --secret-file,
--properties, $NACOSCRYPT_SECRET, $NACOS_AUTH_TOKEN (the Docker image's name). Never from the
command line, where other users can read it.

Examples:
  nacoscrypt token --properties /home/nacos/conf/application.properties issue --sub nacos
  NACOSCRYPT_SECRET=$(cat secret) nacoscrypt token issue --sub nacos --validity 600
  nacoscrypt token verify --secret-file secret < token.txt
  nacoscrypt token issue --sub nacos | nacoscrypt token verify";

#[derive(Debug, Args)]
#[command(after_help = TOKEN_AFTER)]
struct TokenArgs {
    /// A file holding the base64 secret (`-`: standard input)
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        conflicts_with = "properties"
    )]
    secret_file: Option<PathBuf>,
    /// The Nacos server's application.properties (secret and validity are read from it;
    /// ${NAME:default} placeholders resolve against the environment)
    #[arg(long, global = true, value_name = "PATH")]
    properties: Option<PathBuf>,
    /// Accept the publicly known secrets of the Nacos documentation (tests only)
    #[arg(long, global = true)]
    allow_publicly_known: bool,

    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token: prints the login response JSON, as the server answers /v1/auth/login
    #[command(
        after_help = "Example:\n  NACOSCRYPT_SECRET=... nacoscrypt token issue --sub nacos\n  \
        {\"accessToken\":\"eyJhbGciOiJIUzI1NiJ9…\",\"tokenTtl\":18000,\"globalAdmin\":false,\"username\":\"nacos\"}"
    )]
    Issue {
        /// The user name (the token's subject)
        #[arg(long, value_name = "NAME")]
        sub: String,
        /// Seconds the token is valid (default: the settings' expire.seconds, else 18000)
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=i64::MAX as u64))]
        validity: Option<u64>,
        /// Set globalAdmin to true in the response
        #[arg(long)]
        global_admin: bool,
    },
    /// Verify a token: prints its claims {"sub", "exp"}, or the error kind and the server's
    /// message (exit 1)
    #[command(after_help = "The token may also be given as the login response JSON \
        ({\"accessToken\":…}).\n\nExamples:\n  nacoscrypt token verify < token.txt\n  \
        nacoscrypt token verify eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOi…")]
    Verify {
        /// The token; `-` or absent: standard input
        #[arg(value_name = "TOKEN")]
        token: Option<String>,
        /// Seconds a token stays valid past its expiry
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        leeway: u64,
    },
}

const AUTH_AFTER: &str = "\
Flags auth disabled, the user-agent white list, a missing, undecodable, short (< 256 bits) or
publicly known token secret, a missing or default server identity, a token validity outside
300..=86400 s, and the token cache. Secrets are never printed.

Exit codes: 0 no error (with --strict: no warning either), 1 findings, 2 usage, 3 I/O.

Examples:
  nacoscrypt auth audit --properties /home/nacos/conf/application.properties
  nacoscrypt auth audit --env --json
  nacoscrypt auth audit --properties application.properties --env-file nacos.env --strict";

#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Report what weakens the server's auth (text, or --json); exit 1 on an error finding
    Audit {
        /// The server's application.properties (${NAME:default} placeholders resolve against
        /// the environment read with --env / --env-file)
        #[arg(long, value_name = "PATH")]
        properties: Option<PathBuf>,
        /// A Docker env file (NAME=value lines: NACOS_AUTH_ENABLE, NACOS_AUTH_TOKEN, ...)
        #[arg(long, value_name = "PATH")]
        env_file: Option<PathBuf>,
        /// Read the Docker image's variables (NACOS_AUTH_*) from this environment
        #[arg(long)]
        env: bool,
        /// Print the report as one line of JSON
        #[arg(long)]
        json: bool,
        /// Fail (exit 1) on warnings too
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SecretCommand {
    /// A fresh random secret (base64) and the application.properties line to paste
    #[command(
        after_help = "The length selects the algorithm, as the server does: 32-47 bytes \
        HS256, 48-63 HS384, 64 HS512.\n\nExamples:\n  nacoscrypt secret new\n  \
        nacoscrypt secret new --bytes 64\n  (umask 077; nacoscrypt secret new | head -n 1 > secret.txt)"
    )]
    New {
        /// The secret's length in bytes
        #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(32..=64))]
        bytes: u16,
    },
}

fn run(cli: Cli) -> Result<(), failure::Failure> {
    #[cfg(feature = "aws")]
    kms::set_aws_options(kms::AwsOptions {
        region: cli.aws.aws_region.clone(),
        profile: cli.aws.aws_profile.clone(),
        endpoint: cli.aws.aws_endpoint.clone(),
        ca_file: cli.aws.aws_ca_file.clone(),
    });
    match cli.command {
        Command::Keyring(cmd) => {
            let kp = keyring::KeyringPath::resolve(cli.keyring.as_deref())?;
            match cmd {
                KeyringCommand::Create { key_id } => keyring::create(&kp, &key_id),
                KeyringCommand::Rotate { key_id } => keyring::rotate(&kp, &key_id),
                KeyringCommand::List => keyring::list(&kp),
            }
        }
        Command::Config(cmd) => {
            let backend = kms::Backend::resolve(
                cli.kms.into(),
                cli.keyring.as_deref(),
                cli.kms_properties.as_deref(),
                &cli.pkcs11,
            )?;
            match cmd {
                ConfigCommand::Encrypt(args) => config::encrypt(
                    &backend,
                    args.input.as_deref(),
                    &config::EncryptRequest {
                        data_id: &args.data_id,
                        group: &args.group,
                        tenant: &args.tenant,
                        key_id: args
                            .key_id
                            .as_deref()
                            .unwrap_or_else(|| backend.default_key_id()),
                        format: args.format.into(),
                    },
                ),
                ConfigCommand::Decrypt { input } => config::decrypt(&backend, input.as_deref()),
                ConfigCommand::Doctor(args) => {
                    let opened = if args.check {
                        Some(config::open_existing(&backend)?)
                    } else {
                        None
                    };
                    let secret = plugin_secret(args.plugin_secret_file.as_deref())?;
                    doctor::run(
                        &doctor::DoctorRequest {
                            input: stream::InputSpec {
                                path: args.input.as_deref(),
                                format: args.in_format,
                                sidecar: args.edk_sidecar.as_deref(),
                                tenant: &args.tenant,
                            },
                            json: args.json,
                        },
                        opened.as_ref(),
                        secret.as_deref().map(|s| s.as_str()),
                    )
                }
                ConfigCommand::Migrate(args) => run_migrate(&backend, args, &cli.pkcs11),
            }
        }
        Command::Kms(KmsCommand::Check { key_id }) => kms::check_command(
            cli.kms.into(),
            cli.keyring.as_deref(),
            cli.kms_properties.as_deref(),
            &cli.pkcs11,
            key_id.as_deref(),
        ),
        Command::Token(args) => {
            let src = token::SecretSource {
                secret_file: args.secret_file.as_deref(),
                properties: args.properties.as_deref(),
                allow_publicly_known: args.allow_publicly_known,
            };
            match args.command {
                TokenCommand::Issue {
                    sub,
                    validity,
                    global_admin,
                } => token::issue(&src, &sub, validity, global_admin),
                TokenCommand::Verify { token, leeway } => {
                    token::verify(&src, token.as_deref(), leeway)
                }
            }
        }
        Command::Auth(AuthCommand::Audit {
            properties,
            env_file,
            env,
            json,
            strict,
        }) => auth::audit(
            &auth::AuditSources {
                properties: properties.as_deref(),
                env_file: env_file.as_deref(),
                process_env: env,
            },
            json,
            strict,
        ),
        Command::Secret(SecretCommand::New { bytes }) => token::new_secret(usize::from(bytes)),
        Command::Completions { shell } => completions::completions(Cli::command(), shell),
        Command::Man { dir } => completions::man(Cli::command(), dir.as_deref()),
    }
}

/// The server plugin secret from a file (trimmed), wiped on drop.
fn plugin_secret(
    path: Option<&std::path::Path>,
) -> Result<Option<zeroize::Zeroizing<String>>, failure::Failure> {
    let Some(path) = path else { return Ok(None) };
    let text = nacoscrypt_core::fs::read_text_file(path, 4096, "the plugin secret file")
        .map_err(|e| failure::Failure::plain(&e))?;
    Ok(Some(zeroize::Zeroizing::new(text.trim().to_owned())))
}

fn run_migrate(
    target: &kms::Backend,
    args: MigrateArgs,
    pkcs11: &kms::Pkcs11Args,
) -> Result<(), failure::Failure> {
    use nacoscrypt_core::config::migrate::{Mode, Plan, TargetScheme};
    use nacoscrypt_core::kms::KeySpec;
    let same_source = args.from_kms.is_none()
        && args.from_keyring.is_none()
        && args.from_kms_properties.is_none();
    let source_backend = if same_source {
        None
    } else {
        Some(kms::Backend::resolve(
            args.from_kms.unwrap_or(KmsArg::Keyring).into(),
            args.from_keyring.as_deref(),
            args.from_kms_properties.as_deref(),
            pkcs11,
        )?)
    };
    let target_opened = config::open(target)?;
    let source_opened = source_backend
        .as_ref()
        .map(config::open_existing)
        .transpose()?;
    let secret = plugin_secret(args.plugin_secret_file.as_deref())?;
    let key_id = args
        .key_id
        .clone()
        .unwrap_or_else(|| target.default_key_id().to_owned());
    let source = source_opened.as_ref().unwrap_or(&target_opened);
    let plan = Plan {
        source: Some(source.as_sync_kms()),
        plugin_server_secret: secret.as_deref().map(|s| s.as_str()),
        target: target_opened.as_sync_kms(),
        key_id: &key_id,
        scheme: match args.to_scheme {
            SchemeArg::Keep => TargetScheme::Keep,
            SchemeArg::KmsAes256 => TargetScheme::Envelope(KeySpec::Aes256),
            SchemeArg::KmsAes128 => TargetScheme::Envelope(KeySpec::Aes128),
            SchemeArg::Direct => TargetScheme::Direct,
        },
        format: args.to_format.map(Into::into),
        mode: match args.mode {
            ModeArg::Rewrap => Mode::Rewrap,
            ModeArg::Rekey => Mode::Rekey,
        },
        unescape_html: args.unescape_html,
    };
    if args.unescape_html && plan.mode == Mode::Rewrap {
        return Err(failure::Failure::usage(
            "--unescape-html changes the content: use it with --mode rekey",
        ));
    }
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        usize::from,
    );
    migrate::run(
        &migrate::MigrateRequest {
            input: stream::InputSpec {
                path: args.input.as_deref(),
                format: args.in_format,
                sidecar: args.edk_sidecar.as_deref(),
                tenant: &args.tenant,
            },
            output: args.output.as_deref(),
            out_format: args.out_format,
            dry_run: args.dry_run,
            threads,
        },
        &plan,
    )
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            io::note(&format!("error: {failure}"));
            ExitCode::from(failure.code)
        }
    }
}
