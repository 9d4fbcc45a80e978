//! Keyring files under concurrency, crashes, full disks and odd file types (issue 11): every
//! change is locked and atomic, and a long-running `KeyringFile` follows the file.
//!
//! Several tests run this test binary again as child processes (`child_entry`, selected with
//! `--exact` and told what to do through environment variables), so that the writers are real
//! separate processes.
#![cfg(all(unix, feature = "std", feature = "getrandom"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::{Keyring, KeyringFile, LOCK_TIMEOUT};
use nacoscrypt_core::{Error, ErrorKind};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "alias/nacos";
const CHILD_ENV: &str = "NACOSCRYPT_TEST_CHILD";

/// A fresh folder for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "nacoscrypt-kf-{name}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        let dir = PathBuf::from(dir.to_string_lossy().replace([' ', '{', '}', ':'], ""));
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn versions(path: &Path) -> Vec<String> {
    Keyring::load(path)
        .unwrap()
        .versions(KEY)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// Runs `f` on another thread and fails the test if it takes longer than `limit` (a hang).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

/// This test binary again, running only `child_entry` with `task` and `path`.
fn child(task: &str, path: &Path, extra: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, task)
    .env("NACOSCRYPT_TEST_PATH", path)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

/// The entry point of the child processes (not a test of its own).
#[test]
#[ignore = "entry point of the child processes the other tests start"]
fn child_entry() {
    let Ok(task) = std::env::var(CHILD_ENV) else {
        return;
    };
    let path = PathBuf::from(std::env::var("NACOSCRYPT_TEST_PATH").unwrap());
    match task.as_str() {
        // Rotates N times, as fast as it can.
        "rotate" => {
            let n: usize = std::env::var("NACOSCRYPT_TEST_N").unwrap().parse().unwrap();
            for _ in 0..n {
                Keyring::rotate_file(&path, KEY, false).unwrap();
            }
        }
        // Rotates until killed.
        "rotate-forever" => loop {
            Keyring::rotate_file(&path, KEY, false).unwrap();
        },
        // Rotates once, then prints a config encrypted with the new primary version.
        "rotate-and-encrypt" => {
            Keyring::rotate_file(&path, KEY, false).unwrap();
            let keyring = Keyring::load(&path).unwrap();
            let stored =
                config::encrypt(&keyring, &config_id(), "password=s3cret", KEY, Format::V1)
                    .unwrap();
            println!("STORED {} {}", stored.content, stored.encrypted_data_key);
        }
        other => panic!("unknown child task {other}"),
    }
}

fn config_id() -> ConfigId<'static> {
    ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "")
}

/// The content and encrypted data key a `rotate-and-encrypt` child printed.
fn stored_of(out: &str) -> (&str, &str) {
    let at = out.find("STORED ").expect("the child printed no config");
    let mut parts = out[at..].lines().next().unwrap().split(' ').skip(1);
    (parts.next().unwrap(), parts.next().unwrap())
}

fn wait_ok(mut c: Child) -> String {
    let mut out = String::new();
    use std::io::Read;
    c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(c.wait().unwrap().success(), "a child process failed");
    out
}

#[test]
fn concurrent_processes_lose_no_version() {
    let dir = TempDir::new("procs");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let (n, m) = (4, 25);
    let children: Vec<Child> = (0..n)
        .map(|_| {
            child("rotate", &path, &[("NACOSCRYPT_TEST_N", m.to_string())])
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        wait_ok(c);
    }
    let all = versions(&path);
    assert_eq!(all.len(), 1 + n * m);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), all.len());
    // No temporary file is left behind; the lock file stays.
    let names: Vec<String> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let names: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["keyring", "keyring.lock"]));
}

#[test]
fn concurrent_threads_lose_no_version() {
    let dir = TempDir::new("threads");
    let path = Arc::new(dir.path("keyring"));
    Keyring::create(&*path, KEY).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = Arc::clone(&path);
            std::thread::spawn(move || {
                for _ in 0..20 {
                    Keyring::rotate_file(&*path, KEY, false).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(versions(&path).len(), 81);
}

/// A tiny deterministic generator for the kill delays (reproducible from the printed seed).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn a_writer_killed_at_any_point_loses_nothing() {
    let dir = TempDir::new("kill");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let mut seed = u64::from(std::process::id()) | 1;
    println!("seed {seed}");
    let trials = 200;
    let mut grew = 0;
    for trial in 0..trials {
        let before = versions(&path);
        let mut c = child("rotate-forever", &path, &[]).spawn().unwrap();
        // Up to 8 ms: the child's start-up takes a few, so kills land before, during and
        // between rotations.
        std::thread::sleep(Duration::from_micros(next(&mut seed) % 8000));
        c.kill().unwrap();
        c.wait().unwrap();
        let after = Keyring::load(&path)
            .unwrap_or_else(|e| panic!("trial {trial}: the keyring no longer loads: {e}"));
        let after: BTreeSet<&str> = after.versions(KEY).into_iter().collect();
        for v in &before {
            assert!(
                after.contains(v.as_str()),
                "trial {trial}: version {v} lost"
            );
        }
        if after.len() > before.len() {
            grew += 1;
        }
    }
    // The kills did interrupt rotations in flight, not only idle children.
    assert!(
        grew > trials / 10,
        "only {grew} of {trials} trials saw a rotation"
    );
    // The next writer cleans up the temporary files killed writers left.
    Keyring::rotate_file(&path, KEY, false).unwrap();
    let leftovers = fs::read_dir(&dir.0)
        .unwrap()
        .filter(|e| {
            let name = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            name.starts_with(".keyring.tmp-")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn a_long_running_handle_decrypts_what_another_process_wrote() {
    let dir = TempDir::new("follow");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let service = KeyringFile::open(&path).unwrap();
    let before = service.keyring().versions(KEY).len();

    let out = wait_ok(child("rotate-and-encrypt", &path, &[]).spawn().unwrap());
    let (content, edk) = stored_of(&out);

    // The handle never saw that version; it reads the file again and decrypts.
    let plain = config::decrypt(&service, &config_id(), content, edk).unwrap();
    assert_eq!(plain.as_str(), "password=s3cret");
    assert_eq!(service.keyring().versions(KEY).len(), before + 1);
}

#[test]
fn a_fixed_keyring_does_not_see_new_versions() {
    // The contrast to the test above: what `Keyring::load` gives is a snapshot.
    let dir = TempDir::new("snapshot");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let snapshot = Keyring::load(&path).unwrap();
    let out = wait_ok(child("rotate-and-encrypt", &path, &[]).spawn().unwrap());
    let (content, edk) = stored_of(&out);
    let err = config::decrypt(&snapshot, &config_id(), content, edk).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
}

#[test]
fn new_primaries_are_used_within_the_refresh_interval() {
    let dir = TempDir::new("primary");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let interval = Duration::from_millis(100);
    let service = KeyringFile::open(&path)
        .unwrap()
        .with_refresh_interval(interval);
    let id = config_id();
    let old_primary = service.keyring().primary_version(KEY).unwrap().to_owned();
    let new_primary = Keyring::rotate_file(&path, KEY, false).unwrap();
    std::thread::sleep(interval + Duration::from_millis(20));
    let stored = config::encrypt(&service, &id, "x=1", KEY, Format::Nacos).unwrap();
    // The blob names the version that wrapped the data key.
    let blob = blob_version(&stored.encrypted_data_key);
    assert_eq!(blob, new_primary);
    assert_ne!(blob, old_primary);
}

/// The version id at the start of a local keyring blob (SPEC 2.4).
fn blob_version(blob: &str) -> String {
    String::from_utf8(common::unb64(blob)[..36].to_vec()).unwrap()
}

#[test]
fn a_reread_checks_permissions_again() {
    let dir = TempDir::new("perm");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let service = KeyringFile::open(&path).unwrap();
    let out = wait_ok(child("rotate-and-encrypt", &path, &[]).spawn().unwrap());
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let (content, edk) = stored_of(&out);
    let err = config::decrypt(&service, &config_id(), content, edk).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LoosePermissions);
    // The keys loaded before stay in use.
    config::encrypt(&service, &config_id(), "x=1", KEY, Format::V1).unwrap();
}

#[test]
fn unknown_versions_of_an_unchanged_file_cost_no_read() {
    let dir = TempDir::new("flood");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let service = KeyringFile::open(&path).unwrap();
    // A blob of a version nobody has: refused as unknown, and the file is not read again
    // (it did not change), so `reload` reports no change.
    let foreign = {
        let mut other = Keyring::new();
        other.add_new_key(KEY).unwrap();
        config::encrypt(&other, &config_id(), "x", KEY, Format::V1).unwrap()
    };
    for _ in 0..100 {
        let err = config::decrypt(
            &service,
            &config_id(),
            &foreign.content,
            &foreign.encrypted_data_key,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownKey);
    }
    assert!(!service.reload().unwrap());
}

#[test]
fn only_regular_files_are_read() {
    let dir = TempDir::new("types");
    let fifo = dir.path("fifo");
    assert!(
        Command::new("mkfifo")
            .arg("-m")
            .arg("600")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (path, what) in [
        (fifo.clone(), "a named pipe (FIFO)"),
        (PathBuf::from("/dev/zero"), "a character device"),
        (dir.0.clone(), "a directory"),
    ] {
        let shown = path.clone();
        let err = within(Duration::from_secs(5), move || {
            Keyring::load(&path).unwrap_err()
        });
        assert_eq!(err.kind(), ErrorKind::Io, "{shown:?}");
        let text = err.to_string();
        assert!(
            text.contains(what) && text.contains("not a regular file"),
            "{text}"
        );
        let path = shown.clone();
        let err = within(Duration::from_secs(5), move || {
            KeyringFile::open(&path).unwrap_err()
        });
        assert_eq!(err.kind(), ErrorKind::Io);
        // Writers refuse it too, without waiting.
        let path = shown.clone();
        let err = within(Duration::from_secs(5), move || {
            Keyring::rotate_file(&path, KEY, false).unwrap_err()
        });
        assert_eq!(err.kind(), ErrorKind::Io, "{shown:?}: {err}");
    }
}

#[test]
fn a_symlinked_keyring_is_followed_and_stays_a_link() {
    let dir = TempDir::new("link");
    fs::create_dir(dir.path("real")).unwrap();
    let real = dir.path("real/keyring");
    let link = dir.path("link");
    Keyring::create(&real, KEY).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let version = Keyring::rotate_file(&link, KEY, false).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(versions(&real).last().unwrap(), &version);
    assert_eq!(versions(&real).len(), 2);
    // The lock and any temporary file live beside the real file, not the link.
    assert!(dir.path("real/keyring.lock").exists());
    assert!(!dir.path("link.lock").exists());

    // Writers through the link and through the real path exclude each other.
    let (a, b) = (Arc::new(link), Arc::new(real.clone()));
    let ta = std::thread::spawn(move || {
        for _ in 0..20 {
            Keyring::rotate_file(&*a, KEY, false).unwrap();
        }
    });
    let tb = std::thread::spawn(move || {
        for _ in 0..20 {
            Keyring::rotate_file(&*b, KEY, false).unwrap();
        }
    });
    ta.join().unwrap();
    tb.join().unwrap();
    assert_eq!(versions(&real).len(), 42);

    // A dangling link is refused, not replaced by a file.
    let dangling = dir.path("dangling");
    std::os::unix::fs::symlink(dir.path("nowhere"), &dangling).unwrap();
    assert_eq!(
        Keyring::rotate_file(&dangling, KEY, false)
            .unwrap_err()
            .kind(),
        ErrorKind::Io
    );
    assert!(Keyring::create(&dangling, KEY).is_err());
    assert!(
        fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!dir.path("nowhere").exists());
}

#[test]
fn create_is_all_or_nothing() {
    let dir = TempDir::new("create");
    let path = Arc::new(dir.path("keyring"));
    // Eight threads race to create the same keyring: one wins, the rest see it exists.
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let path = Arc::clone(&path);
            std::thread::spawn(move || Keyring::create(&*path, KEY).is_ok())
        })
        .collect();
    let winners = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|&ok| ok)
        .count();
    assert_eq!(winners, 1);
    assert_eq!(versions(&path).len(), 1);
    let mode = fs::metadata(&*path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Creating over an existing keyring fails and leaves it as it was.
    let before = fs::read(&*path).unwrap();
    let err = Keyring::create(&*path, "alias/other").unwrap_err();
    assert!(err.to_string().contains("exists"), "{err}");
    assert_eq!(fs::read(&*path).unwrap(), before);
    let stray = fs::read_dir(&dir.0)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    assert_eq!(stray, 0);
}

#[test]
fn a_held_lock_makes_writers_wait_then_fail_with_a_clear_error() {
    let dir = TempDir::new("lock");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(dir.path("keyring.lock"))
        .unwrap();
    lock.lock().unwrap();

    // Released after 300 ms: the writer waits for it and succeeds.
    let started = Instant::now();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(lock);
    });
    Keyring::rotate_file(&path, KEY, false).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    release.join().unwrap();

    // Never released: the writer gives up after LOCK_TIMEOUT and the file is unchanged.
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(dir.path("keyring.lock"))
        .unwrap();
    lock.lock().unwrap();
    let before = fs::read(&path).unwrap();
    let started = Instant::now();
    let err = Keyring::rotate_file(&path, KEY, false).unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= LOCK_TIMEOUT && waited < LOCK_TIMEOUT + Duration::from_secs(2),
        "{waited:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("keyring.lock"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
}

/// A small tmpfs mounted for one test (needs the right to mount, as CI's root has); `None`
/// where mounting is not allowed, and the test says it was skipped.
struct Tmpfs(TempDir);

impl Tmpfs {
    fn mount(name: &str, size: &str) -> Option<Self> {
        let dir = TempDir::new(name);
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir.0)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Some(Self(dir))
        } else {
            println!("SKIPPED: cannot mount a tmpfs here (not root?)");
            None
        }
    }
    fn remount(&self, option: &str) {
        let s = Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.0.0)
            .status()
            .unwrap();
        assert!(s.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0.0).status();
    }
}

#[test]
fn a_full_disk_leaves_the_old_keyring_intact() {
    let Some(fs_) = Tmpfs::mount("enospc", "64k") else {
        return;
    };
    let path = fs_.0.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    for _ in 0..3 {
        Keyring::rotate_file(&path, KEY, false).unwrap();
    }
    let before = fs::read(&path).unwrap();
    // Fill the file system.
    {
        use std::io::Write;
        let mut filler = fs::File::create(fs_.0.path("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        while filler
            .write_all(&chunk)
            .and_then(|()| filler.sync_all())
            .is_ok()
        {}
    }
    let err = Keyring::rotate_file(&path, KEY, false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("No space left"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(versions(&path).len(), 4);
    let stray = fs::read_dir(&fs_.0.0)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    assert_eq!(stray, 0);
}

#[test]
fn a_read_only_folder_leaves_the_old_keyring_intact() {
    let Some(fs_) = Tmpfs::mount("rofs", "1m") else {
        return;
    };
    let path = fs_.0.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let before = fs::read(&path).unwrap();
    fs_.remount("ro");
    let err = Keyring::rotate_file(&path, KEY, false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("Read-only"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    // It still loads and serves.
    KeyringFile::open(&path).unwrap();
    fs_.remount("rw");
}

#[test]
fn io_errors_name_the_operation() {
    let err = Keyring::load("/nonexistent/keyring").unwrap_err();
    match err {
        Error::Io { operation, .. } => assert_eq!(operation, "opening the keyring file"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn is_current_version_follows_a_rotation_by_another_writer() {
    use nacoscrypt_core::kms::Kms;
    let dir = TempDir::new("current");
    let path = dir.path("keyring");
    Keyring::create(&path, KEY).unwrap();
    let interval = Duration::from_millis(100);
    let service = KeyringFile::open(&path)
        .unwrap()
        .with_refresh_interval(interval);
    let id = config_id();
    let old = config::encrypt(&service, &id, "x=1", KEY, Format::Nacos).unwrap();
    assert_eq!(
        service.is_current_version(KEY, &old.encrypted_data_key),
        Some(true)
    );
    assert_eq!(
        service.is_current_version("alias/none", &old.encrypted_data_key),
        Some(false)
    );
    // Another writer rotates the file: within the refresh interval the old blob is not under
    // the current version any more, and a new one is.
    Keyring::rotate_file(&path, KEY, false).unwrap();
    std::thread::sleep(interval + Duration::from_millis(20));
    assert_eq!(
        service.is_current_version(KEY, &old.encrypted_data_key),
        Some(false)
    );
    let new = config::encrypt(&service, &id, "x=1", KEY, Format::Nacos).unwrap();
    assert_eq!(
        service.is_current_version(KEY, &new.encrypted_data_key),
        Some(true)
    );
    assert_eq!(service.is_current_version(KEY, "not a blob"), Some(false));
}
