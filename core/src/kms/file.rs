//! Keyring files (`std`): load with the permission check, save atomically with mode 0600.

use super::Keyring;
use super::keyring::MAX_KEYRING_LEN;
use crate::{Error, Result};
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::string::{String, ToString};
use zeroize::Zeroizing;

fn io_error(operation: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::Io {
        operation,
        message: e.to_string(),
    }
}

impl Keyring {
    /// Loads a keyring file.
    ///
    /// On Unix the file must not be accessible to its group or to others (mode `0600` or
    /// stricter), like ssh's private keys; otherwise the error is
    /// [`ErrorKind::LoosePermissions`](crate::ErrorKind::LoosePermissions). Files over 1 MiB
    /// are refused.
    ///
    /// ```
    /// use nacoscrypt_core::kms::Keyring;
    ///
    /// let dir = std::env::temp_dir().join(format!("nacoscrypt-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("keyring");
    /// # let _ = std::fs::remove_file(&path);
    /// Keyring::create(&path, "alias/nacos")?;
    /// let keyring = Keyring::load(&path)?;
    /// assert_eq!(keyring.key_ids(), ["alias/nacos"]);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = fs::File::open(path).map_err(io_error("opening the keyring file"))?;
        let meta = file
            .metadata()
            .map_err(io_error("reading the keyring file's metadata"))?;
        check_permissions(&meta)?;
        if meta.len() > MAX_KEYRING_LEN as u64 {
            return Err(Error::KeyringSyntax {
                line: 0,
                reason: "keyring file is larger than 1 MiB",
            });
        }
        // Sized up front so the buffer holding key material is never reallocated (and a stale,
        // unwiped copy freed); `take` bounds a file that grows while being read.
        let capacity = usize::try_from(meta.len()).unwrap_or(MAX_KEYRING_LEN) + 1;
        let mut text = Zeroizing::new(String::with_capacity(capacity));
        file.take(MAX_KEYRING_LEN as u64 + 1)
            .read_to_string(&mut text)
            .map_err(io_error("reading the keyring file"))?;
        Self::parse(&text)
    }

    /// Writes the keyring to `path` atomically (a temporary file in the same folder, then a
    /// rename), readable by the owner only.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = self.to_text();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or(Error::InvalidArgument {
                reason: "the keyring path names no file",
            })?
            .to_string_lossy();
        let tmp = dir.join(std::format!(".{name}.tmp-{}", std::process::id()));
        let result = write_private(&tmp, text.as_bytes())
            .and_then(|()| fs::rename(&tmp, path).map_err(io_error("replacing the keyring file")));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Creates a new keyring file at `path` holding one fresh key `key_id`; fails if the file
    /// exists. Returns the keyring.
    #[cfg(feature = "getrandom")]
    pub fn create(path: impl AsRef<Path>, key_id: &str) -> Result<Self> {
        let path = path.as_ref();
        let mut keyring = Self::new();
        keyring.add_new_key(key_id)?;
        let text = keyring.to_text();
        let mut file = private_options()
            .create_new(true)
            .open(path)
            .map_err(io_error("creating the keyring file"))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_error("writing the keyring file"))?;
        Ok(keyring)
    }

    /// Loads the keyring at `path`, adds a new primary version to `key_id` (creating the key if
    /// `create_key` is set and it is missing) and saves it back atomically. Returns the new
    /// version id.
    #[cfg(feature = "getrandom")]
    pub fn rotate_file(path: impl AsRef<Path>, key_id: &str, create_key: bool) -> Result<String> {
        let path = path.as_ref();
        let mut keyring = Self::load(path)?;
        let version = if create_key && keyring.primary_version(key_id).is_none() {
            keyring.add_new_key(key_id)?.to_string()
        } else {
            keyring.rotate(key_id)?.to_string()
        };
        keyring.save(path)?;
        Ok(version)
    }
}

fn private_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = private_options()
        .create_new(true)
        .open(path)
        .map_err(io_error("creating a temporary keyring file"))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error("writing the keyring file"))
}

#[cfg(unix)]
fn check_permissions(meta: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::LoosePermissions { mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_meta: &fs::Metadata) -> Result<()> {
    Ok(())
}
