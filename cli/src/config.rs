//! `config encrypt` and `config decrypt`.

use crate::failure::{ENVIRONMENT, Failure, generic_advice};
use crate::io::{println, read_input, write_stdout};
use crate::keyring::unknown_key_id;
use crate::kms::{Backend, Opened};
use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::{Error, ErrorKind, SecretBytes};
use serde_json::Value;
use std::path::Path;

/// The JSON members of an encrypted config, in the order `config encrypt` prints them.
pub(crate) const MEMBERS: [&str; 5] = ["dataId", "group", "tenant", "content", "encryptedDataKey"];

/// What `config encrypt` needs besides the input.
#[derive(Debug)]
pub(crate) struct EncryptRequest<'a> {
    pub(crate) data_id: &'a str,
    pub(crate) group: &'a str,
    pub(crate) tenant: &'a str,
    pub(crate) key_id: &'a str,
    pub(crate) format: Format,
}

/// `config encrypt`: prints `{"dataId","group","tenant","content","encryptedDataKey"}`.
pub(crate) fn encrypt(
    backend: &Backend,
    input: Option<&Path>,
    req: &EncryptRequest<'_>,
) -> Result<(), Failure> {
    // Check the data ID before touching the keyring (which may be created on first use).
    config::Scheme::for_encrypt(req.data_id).map_err(|e| data_id_failure(&e, req.data_id))?;
    let raw = SecretBytes::from(read_input(input, "the config")?);
    let plaintext = raw.into_secret_string().map_err(|_| {
        Failure::usage(
            "the config is not UTF-8 text: Nacos configs are text; convert it (for example with iconv) first",
        )
    })?;
    let opened = open(backend)?;
    if let (Backend::Keyring(kp), Opened::Keyring(keyring)) = (backend, &opened)
        && keyring.primary_version(req.key_id).is_none()
    {
        return Err(unknown_key_id(kp, keyring, req.key_id));
    }
    let id = ConfigId::new(req.data_id, req.group, req.tenant);
    let stored = config::encrypt(
        opened.as_kms(),
        &id,
        plaintext.as_str(),
        req.key_id,
        req.format,
    )
    .map_err(|e| config_failure(&e, backend, &id))?;
    let values = [
        req.data_id,
        req.group,
        req.tenant,
        &stored.content,
        &stored.encrypted_data_key,
    ];
    let mut json = String::from("{");
    for (i, (name, value)) in MEMBERS.iter().zip(values).enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&Value::from(*name).to_string());
        json.push(':');
        json.push_str(&Value::from(value).to_string());
    }
    json.push('}');
    println(&json)
}

/// `config decrypt`: reads the JSON `config encrypt` prints and writes the plaintext exactly
/// (no newline is added).
pub(crate) fn decrypt(backend: &Backend, input: Option<&Path>) -> Result<(), Failure> {
    let raw = read_input(input, "the encrypted config (JSON)")?;
    let json: Value = serde_json::from_slice(&raw).map_err(|e| {
        Failure::usage(format!(
            "the input is not JSON ({e}): decrypt reads what `nacoscrypt config encrypt` prints, \
             an object with {}",
            MEMBERS.join(", ")
        ))
    })?;
    let Some(object) = json.as_object() else {
        return Err(Failure::usage(format!(
            "the input is not a JSON object: decrypt reads what `nacoscrypt config encrypt` prints, \
             an object with {}",
            MEMBERS.join(", ")
        )));
    };
    let mut fields = [""; 5];
    for (slot, name) in fields.iter_mut().zip(MEMBERS) {
        *slot = match object.get(name) {
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(Failure::usage(format!(
                    "the input's `{name}` is not a JSON string: give it as `config encrypt` prints it"
                )));
            }
            None => {
                return Err(Failure::usage(format!(
                    "the input JSON has no `{name}`: decrypt needs {} (as `nacoscrypt config encrypt` prints them; \
                     `tenant` is \"\" for the public namespace)",
                    MEMBERS.join(", ")
                )));
            }
        };
    }
    let [data_id, group, tenant, content, encrypted_data_key] = fields;
    let id = ConfigId::new(data_id, group, tenant);
    config::Scheme::for_decrypt(data_id, encrypted_data_key)
        .map_err(|e| data_id_failure(&e, data_id))?;
    let opened = open(backend)?;
    let plaintext = config::decrypt(opened.as_kms(), &id, content, encrypted_data_key)
        .map_err(|e| config_failure(&e, backend, &id))?;
    write_stdout(plaintext.as_bytes())
}

fn data_id_failure(err: &Error, data_id: &str) -> Failure {
    match err.kind() {
        ErrorKind::NotEncryptedDataId => Failure::core(
            err,
            format!(
                "data ID {data_id:?} is not an encrypted data ID: {}",
                generic_advice(ErrorKind::NotEncryptedDataId).unwrap_or_default()
            ),
        ),
        _ => Failure::plain(err),
    }
}

/// [`open`] for commands that only read: a missing keyring is an error, never created.
pub(crate) fn open_existing(backend: &Backend) -> Result<Opened, Failure> {
    match backend {
        Backend::Keyring(kp) => Ok(Opened::Keyring(kp.open_existing()?)),
        _ => open(backend),
    }
}

/// The KMS of `backend`, ready for the config functions.
pub(crate) fn open(backend: &Backend) -> Result<Opened, Failure> {
    Ok(match backend {
        Backend::Keyring(kp) => Opened::Keyring(kp.open()?),
        Backend::Aliyun { client, .. } => Opened::Aliyun(client.clone()),
        Backend::AliyunInstance { client, .. } => Opened::AliyunInstance(client.clone()),
        #[cfg(feature = "aws")]
        Backend::Aws { client, .. } => Opened::Aws(client.clone()),
        #[cfg(feature = "pkcs11")]
        Backend::Pkcs11 { client, .. } => Opened::Pkcs11(client.clone()),
    })
}

fn config_failure(err: &Error, backend: &Backend, id: &ConfigId<'_>) -> Failure {
    let kp = match backend {
        Backend::Keyring(kp) => kp,
        #[cfg(feature = "aws")]
        Backend::Aws { .. } => {
            return match err.kind() {
                ErrorKind::Kms | ErrorKind::UnknownKey | ErrorKind::Io => Failure {
                    code: ENVIRONMENT,
                    message: format!("AWS KMS: {err}"),
                },
                _ => config_failure_common(err, id),
            };
        }
        #[cfg(feature = "pkcs11")]
        Backend::Pkcs11 { .. } => {
            return match err.kind() {
                ErrorKind::Kms | ErrorKind::UnknownKey | ErrorKind::Io => Failure {
                    code: ENVIRONMENT,
                    message: match err {
                        Error::UnknownKeyId => format!(
                            "PKCS#11: the token has no AES key with the label the config names \
                             or --key-id / --pkcs11-key-label gives ({err})"
                        ),
                        _ => format!("PKCS#11: {err}"),
                    },
                },
                _ => config_failure_common(err, id),
            };
        }
        Backend::Aliyun { .. } | Backend::AliyunInstance { .. } => {
            return match err.kind() {
                ErrorKind::Kms | ErrorKind::UnknownKey | ErrorKind::Io => Failure {
                    code: ENVIRONMENT,
                    message: format!("Alibaba Cloud KMS: {err}"),
                },
                _ => config_failure_common(err, id),
            };
        }
    };
    let keyring = kp.path.display();
    match err {
        Error::UnknownKeyVersion => Failure::core(
            err,
            format!(
                "keyring {keyring} does not hold the key version that encrypted {:?}: \
                 use the keyring it was encrypted with (--keyring PATH or $NACOSCRYPT_KEYRING)",
                id.data_id
            ),
        ),
        Error::UnknownKeyId => Failure::core(
            err,
            format!(
                "unknown key id in keyring {keyring}: list its keys with `nacoscrypt keyring list`"
            ),
        ),
        Error::Kms { .. } | Error::KmsService(_) | Error::Io { .. } => Failure {
            code: ENVIRONMENT,
            message: format!("keyring {keyring}: {err}"),
        },
        _ => config_failure_common(err, id),
    }
}

fn config_failure_common(err: &Error, id: &ConfigId<'_>) -> Failure {
    match err {
        Error::AuthenticationFailed => Failure::core(
            err,
            format!(
                "authentication failed for {:?} (group {:?}, tenant {:?}): {}",
                id.data_id,
                id.group,
                id.tenant,
                generic_advice(ErrorKind::AuthenticationFailed).unwrap_or_default()
            ),
        ),
        _ => Failure::plain(err),
    }
}
