//! Keyring files (`std`): load with the permission check; every change made under a lock and
//! written atomically.
//!
//! The rules are documented in the [`kms` module](crate::kms#keyring-files).

use super::Keyring;
use super::keyring::MAX_KEYRING_LEN;
use crate::fs::io_error;
use crate::{Error, Result};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::time::{Instant, SystemTime};

/// How long a writer waits for another writer's lock on a keyring file before failing.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

impl Keyring {
    /// Loads a keyring file.
    ///
    /// On Unix the file must not be accessible to its group or to others (mode `0600` or
    /// stricter), like ssh's private keys; otherwise the error is
    /// [`ErrorKind::LoosePermissions`](crate::ErrorKind::LoosePermissions). Only a regular file
    /// is read (a FIFO, device or directory is an [`Error::Io`] saying what it is, never a
    /// hang); files over 1 MiB are refused while reading.
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
        Ok(Self::load_with_identity(path.as_ref())?.0)
    }

    /// [`load`](Self::load), and the identity of the file that was read.
    pub(crate) fn load_with_identity(path: &Path) -> Result<(Self, FileIdentity)> {
        let (file, meta) = crate::fs::open_regular(path, "opening the keyring file")?;
        check_permissions(&meta)?;
        let identity = FileIdentity::of(&meta);
        let text = crate::fs::read_text_bounded(
            file,
            &meta,
            MAX_KEYRING_LEN,
            "reading the keyring file",
            too_large,
        )?;
        Ok((Self::parse(&text)?, identity))
    }

    /// Writes this keyring to `path`, replacing what the file holds, under the keyring's lock
    /// and atomically (see [keyring files](crate::kms#keyring-files)), readable by the owner only.
    ///
    /// This replaces versions another process may have added since this keyring was loaded: to
    /// change a keyring file, use [`update_file`](Self::update_file) (or
    /// [`rotate_file`](Self::rotate_file)), which loads, changes and saves under one lock.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let target = resolve(path.as_ref())?;
        let _lock = WriteLock::acquire(&target)?;
        replace_file(&target, self.to_text().as_bytes())
    }

    /// Changes the keyring file at `path` safely: takes the keyring's lock, loads the file,
    /// calls `change` and, if it succeeds, writes the result back atomically. Returns what
    /// `change` returned. If `change` fails the file is left as it was.
    ///
    /// ```
    /// use nacoscrypt_core::kms::Keyring;
    ///
    /// let dir = std::env::temp_dir().join(format!("nacoscrypt-doc-update-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("keyring");
    /// # let _ = std::fs::remove_file(&path);
    /// Keyring::create(&path, "alias/nacos")?;
    /// Keyring::update_file(&path, |k| k.add_new_key("alias/other").map(|_| ()))?;
    /// assert_eq!(Keyring::load(&path)?.key_ids(), ["alias/nacos", "alias/other"]);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn update_file<T>(
        path: impl AsRef<Path>,
        change: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let target = resolve(path.as_ref())?;
        let _lock = WriteLock::acquire(&target)?;
        let mut keyring = Self::load(&target)?;
        let out = change(&mut keyring)?;
        replace_file(&target, keyring.to_text().as_bytes())?;
        Ok(out)
    }

    /// Creates a new keyring file at `path` holding one fresh key `key_id`; fails if anything
    /// exists at `path` (a dangling symbolic link included). The file appears whole or not at
    /// all: it is written under another name, flushed, then linked into place. Returns the
    /// keyring.
    #[cfg(feature = "getrandom")]
    pub fn create(path: impl AsRef<Path>, key_id: &str) -> Result<Self> {
        let path = path.as_ref();
        let mut keyring = Self::new();
        keyring.add_new_key(key_id)?;
        let _lock = WriteLock::acquire(path)?;
        if fs::symlink_metadata(path).is_ok() {
            return Err(Error::Io {
                operation: "creating the keyring file",
                message: std::format!("{} exists already", path.display()),
            });
        }
        let (dir, name) = split(path)?;
        let tmp = write_temporary(dir, &name, keyring.to_text().as_bytes())?;
        // A hard link fails if the name was taken meanwhile (by a writer that does not take the
        // lock); where links are not supported the rename under the lock is the next best.
        let placed = match fs::hard_link(&tmp, path) {
            Ok(()) => fs::remove_file(&tmp).map_err(io_error("creating the keyring file")),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(io_error("creating the keyring file")(e))
            }
            Err(_) => fs::rename(&tmp, path).map_err(io_error("creating the keyring file")),
        };
        if placed.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        placed?;
        sync_dir(dir)?;
        Ok(keyring)
    }

    /// Adds a new primary version to `key_id` in the keyring file at `path` (creating the key
    /// if `create_key` is set and it is missing), under the keyring's lock (see
    /// [`update_file`](Self::update_file)). Returns the new version id.
    #[cfg(feature = "getrandom")]
    pub fn rotate_file(path: impl AsRef<Path>, key_id: &str, create_key: bool) -> Result<String> {
        Self::update_file(path, |keyring| {
            let version = if create_key && keyring.primary_version(key_id).is_none() {
                keyring.add_new_key(key_id)?
            } else {
                keyring.rotate(key_id)?
            };
            Ok(version.to_string())
        })
    }
}

fn too_large() -> Error {
    Error::KeyringSyntax {
        line: 0,
        reason: "keyring file is larger than 1 MiB",
    }
}

/// What tells one version of a file from the next: a replaced keyring has a new inode; an
/// edited one a new size or modification time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileIdentity {
    pub(crate) fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let (device, inode) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (device, inode) = (0, 0);
        Self {
            device,
            inode,
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// The file a keyring path names: symbolic links resolved, so the file is replaced in its own
/// folder and the link stays a link. A path where nothing exists yet is kept as it is; a
/// dangling link is an error.
fn resolve(path: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(path.to_path_buf()),
        _ => fs::canonicalize(path).map_err(io_error("opening the keyring file")),
    }
}

/// The folder and file name of `path`.
fn split(path: &Path) -> Result<(&Path, String)> {
    let name = path
        .file_name()
        .ok_or(Error::InvalidArgument {
            reason: "the keyring path names no file",
        })?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

/// Replaces `target` by `bytes` atomically: a flushed temporary file renamed over it, then the
/// folder flushed. The caller holds the lock.
fn replace_file(target: &Path, bytes: &[u8]) -> Result<()> {
    let (dir, name) = split(target)?;
    let tmp = write_temporary(dir, &name, bytes)?;
    if let Err(e) = fs::rename(&tmp, target) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("replacing the keyring file")(e));
    }
    sync_dir(dir)
}

/// The prefix of the temporary files of keyring `name`.
fn temporary_prefix(name: &str) -> String {
    std::format!(".{name}.tmp-")
}

/// Writes `bytes` to a new temporary file (mode 0600) beside `name` in `dir`, flushed to disk;
/// returns its path. Names never collide: process id, a per-process counter and the clock, and
/// the file is created exclusively. On failure nothing is left behind.
fn write_temporary(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for _ in 0..8 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(std::format!(
            "{}{}-{n}-{nanos:08x}",
            temporary_prefix(name),
            std::process::id()
        ));
        let mut file = match private_options().create_new(true).open(&tmp) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(io_error("creating a temporary keyring file")(e)),
        };
        return match file.write_all(bytes).and_then(|()| file.sync_all()) {
            Ok(()) => Ok(tmp),
            Err(e) => {
                drop(file);
                let _ = fs::remove_file(&tmp);
                Err(io_error("writing the keyring file")(e))
            }
        };
    }
    Err(last.map_or_else(
        || Error::Io {
            operation: "creating a temporary keyring file",
            message: "no free name".to_string(),
        },
        io_error("creating a temporary keyring file"),
    ))
}

/// Flushes a folder, so that a rename or link in it survives a crash.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("flushing the keyring's folder"))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
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

/// The advisory write lock of one keyring file, held until dropped.
#[derive(Debug)]
struct WriteLock {
    file: fs::File,
}

impl WriteLock {
    /// Locks the keyring at `target` (`<target>.lock`), waiting up to [`LOCK_TIMEOUT`]; then
    /// removes temporary files that a killed writer left behind.
    fn acquire(target: &Path) -> Result<Self> {
        let (dir, name) = split(target)?;
        let lock_path = dir.join(std::format!("{name}.lock"));
        let mut options = private_options();
        options.create(true).truncate(false);
        let file = options
            .open(&lock_path)
            .map_err(io_error("creating the keyring's lock file"))?;
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::Io {
                        operation: "locking the keyring file",
                        message: std::format!(
                            "another writer held {} for over {} s",
                            lock_path.display(),
                            LOCK_TIMEOUT.as_secs()
                        ),
                    });
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(io_error("locking the keyring file")(e));
                }
            }
        }
        remove_stale_temporaries(dir, &name);
        Ok(Self { file })
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Removes the temporary files of keyring `name` in `dir`: only a writer holding the lock makes
/// them, so any found by the lock's holder belong to a writer that died.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = temporary_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_file(entry.path());
        }
    }
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
