//! Where the keyring is, opening it (creating the default one on first use), and the
//! `keyring create|rotate|list` commands.

use crate::failure::{ENVIRONMENT, Failure};
use crate::io::{note, println};
use nacoscrypt_core::kms::Keyring;
use nacoscrypt_core::{Error, ErrorKind};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The key the default keyring is created with, and the default `--key-id`.
pub(crate) const DEFAULT_KEY_ID: &str = "alias/nacoscrypt";

/// The environment variable naming the keyring file.
pub(crate) const KEYRING_ENV: &str = "NACOSCRYPT_KEYRING";

/// Where the keyring path came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--keyring PATH`.
    Flag,
    /// `$NACOSCRYPT_KEYRING`.
    Env,
    /// `<config dir>/nacoscrypt/keyring`: created on first use.
    Default,
}

/// The keyring file to use and where that choice came from.
#[derive(Clone, Debug)]
pub(crate) struct KeyringPath {
    pub(crate) path: PathBuf,
    pub(crate) source: Source,
}

impl KeyringPath {
    /// `--keyring`, else `$NACOSCRYPT_KEYRING`, else the default under the config directory.
    pub(crate) fn resolve(flag: Option<&Path>) -> Result<Self, Failure> {
        if let Some(path) = flag {
            return Ok(Self {
                path: path.to_path_buf(),
                source: Source::Flag,
            });
        }
        if let Some(path) = std::env::var_os(KEYRING_ENV).filter(|v| !v.is_empty()) {
            return Ok(Self {
                path: PathBuf::from(path),
                source: Source::Env,
            });
        }
        let dir = config_dir().ok_or_else(|| Failure {
            code: ENVIRONMENT,
            message: format!(
                "no config directory: neither HOME nor XDG_CONFIG_HOME is set; \
                 pass --keyring PATH or set {KEYRING_ENV}"
            ),
        })?;
        Ok(Self {
            path: dir.join("nacoscrypt").join("keyring"),
            source: Source::Default,
        })
    }

    fn display(&self) -> std::path::Display<'_> {
        self.path.display()
    }

    /// Loads the keyring; the default one is created first if it does not exist yet.
    pub(crate) fn open(&self) -> Result<Keyring, Failure> {
        if self.source == Source::Default && !exists(&self.path)? {
            match create_file(&self.path, DEFAULT_KEY_ID) {
                Ok(keyring) => {
                    note(&format!(
                        "created the default keyring {} (mode 0600) with a new key `{DEFAULT_KEY_ID}`; \
                         back it up: configs encrypted with it cannot be decrypted without it",
                        self.display()
                    ));
                    return Ok(keyring);
                }
                // Another process created it in the meantime: use that one.
                Err(_) if exists(&self.path)? => {}
                Err(failure) => return Err(failure),
            }
        }
        self.open_existing()
    }

    /// Loads the keyring without ever creating one (commands that only read: `config doctor`,
    /// the source of `config migrate`).
    pub(crate) fn open_existing(&self) -> Result<Keyring, Failure> {
        if !exists(&self.path)? {
            return Err(Failure {
                code: ENVIRONMENT,
                message: format!(
                    "keyring {} does not exist{}: create it with `nacoscrypt keyring create --keyring {}`",
                    self.display(),
                    if self.source == Source::Env {
                        format!(" (from ${KEYRING_ENV})")
                    } else {
                        String::new()
                    },
                    self.display()
                ),
            });
        }
        if self.path.is_dir() {
            return Err(Failure::usage(format!(
                "keyring {} is a folder: give the path of the keyring file in it",
                self.display()
            )));
        }
        Keyring::load(&self.path).map_err(|e| self.failure(&e))
    }

    /// A message for a core error about this keyring, with what to do.
    pub(crate) fn failure(&self, err: &Error) -> Failure {
        let path = self.display();
        let message = match (err, err.kind()) {
            (Error::LoosePermissions { mode }, _) => format!(
                "keyring {path} can be read by its group or others (mode {mode:03o}): \
                 run `chmod 600 {path}`"
            ),
            (Error::Io { operation, message }, _) => {
                format!("{operation} {path}: {message}")
            }
            (
                _,
                ErrorKind::KeyringSyntax
                | ErrorKind::DuplicateKeyVersion
                | ErrorKind::KeyringKeyLength,
            ) => format!(
                "keyring {path}: {err}: fix the file or restore it from a backup \
                 (each line is `key <key-id> <version-id> <base64 of 32 bytes>`)"
            ),
            _ => match crate::failure::generic_advice(err.kind()) {
                Some(advice) => format!("keyring {path}: {err}: {advice}"),
                None => format!("keyring {path}: {err}"),
            },
        };
        Failure::core(err, message)
    }
}

/// `$XDG_CONFIG_HOME` if set to an absolute path, else `$HOME/.config`.
fn config_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME") {
        let xdg = PathBuf::from(xdg);
        // The XDG spec: a relative path is invalid and is ignored.
        if xdg.is_absolute() {
            return Some(xdg);
        }
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".config"))
}

fn exists(path: &Path) -> Result<bool, Failure> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::io("cannot access", path, &e)),
    }
}

/// Creates the folders above `path` (mode 0700 for those it creates).
fn create_parent(path: &Path) -> Result<(), Failure> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Failure::io("cannot create the folder", dir, &e))
}

/// Creates a new keyring file at `path` (mode 0600) holding one fresh key `key_id`.
fn create_file(path: &Path, key_id: &str) -> Result<Keyring, Failure> {
    create_parent(path)?;
    Keyring::create(path, key_id).map_err(|e| match &e {
        Error::Io { operation, message } => Failure {
            code: ENVIRONMENT,
            message: format!("{operation} {}: {message}", path.display()),
        },
        _ => Failure::plain(&e),
    })
}

/// `keyring create`: a new file with one key, or a new key added to an existing file.
pub(crate) fn create(kp: &KeyringPath, key_id: &str) -> Result<(), Failure> {
    check_key_id(key_id)?;
    if !exists(&kp.path)? {
        let keyring = create_file(&kp.path, key_id)?;
        let version = keyring.primary_version(key_id).unwrap_or_default();
        return println(&format!(
            "created keyring {} (mode 0600) with key {key_id} (version {version})",
            kp.display()
        ));
    }
    // Checked and added under the keyring's lock: a concurrent writer's versions are kept.
    let added = Keyring::update_file(&kp.path, |keyring| {
        if keyring.primary_version(key_id).is_some() {
            return Ok(None);
        }
        keyring.add_new_key(key_id).map(|v| Some(v.to_string()))
    })
    .map_err(|e| kp.failure(&e))?;
    let Some(version) = added else {
        return Err(Failure::usage(format!(
            "key {key_id} already exists in keyring {}: add a version with \
             `nacoscrypt keyring rotate --key-id {key_id}`",
            kp.display()
        )));
    };
    println(&format!(
        "added key {key_id} (version {version}) to keyring {}",
        kp.display()
    ))
}

/// `keyring rotate`: a new primary version for `key_id`; older versions still decrypt.
pub(crate) fn rotate(kp: &KeyringPath, key_id: &str) -> Result<(), Failure> {
    let keyring = kp.open()?;
    if keyring.primary_version(key_id).is_none() {
        return Err(unknown_key_id(kp, &keyring, key_id));
    }
    drop(keyring);
    let version = Keyring::rotate_file(&kp.path, key_id, false).map_err(|e| kp.failure(&e))?;
    println(&format!(
        "rotated key {key_id} in keyring {}: new primary version {version} \
         (configs encrypted before still decrypt)",
        kp.display()
    ))
}

/// `keyring list`: key ids and version ids, the primary marked; never key bytes.
pub(crate) fn list(kp: &KeyringPath) -> Result<(), Failure> {
    let keyring = kp.open()?;
    let mut out = format!("# keyring {}\n", kp.display());
    let ids = keyring.key_ids();
    let width = ids.iter().map(|id| id.len()).max().unwrap_or(0);
    if ids.is_empty() {
        out.push_str("# no keys: add one with `nacoscrypt keyring create --key-id ID`\n");
    }
    for id in ids {
        let versions = keyring.versions(id);
        let last = versions.len().saturating_sub(1);
        for (i, version) in versions.iter().enumerate() {
            out.push_str(&format!("{id:<width$}  {version}"));
            if i == last {
                out.push_str("  primary");
            }
            out.push('\n');
        }
    }
    crate::io::write_stdout(out.as_bytes())
}

/// The error for a key id that is not in the keyring.
pub(crate) fn unknown_key_id(kp: &KeyringPath, keyring: &Keyring, key_id: &str) -> Failure {
    let known = keyring.key_ids().join(", ");
    Failure {
        code: ENVIRONMENT,
        message: format!(
            "key {key_id} is not in keyring {}{}: add it with \
             `nacoscrypt keyring create --key-id {key_id}`{}",
            kp.display(),
            if known.is_empty() {
                String::new()
            } else {
                format!(" (it has: {known})")
            },
            if known.is_empty() {
                ""
            } else {
                ", or pass --key-id with one it has"
            }
        ),
    }
}

fn check_key_id(key_id: &str) -> Result<(), Failure> {
    if key_id.is_empty() || key_id.len() > 128 || !key_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Failure::usage(format!(
            "invalid key id {key_id:?}: use 1 to 128 printable ASCII characters without spaces, \
             for example alias/nacoscrypt"
        )));
    }
    Ok(())
}
