//! SoftHSM2 for the tests: one configuration and token folder per test binary (SoftHSM reads
//! `SOFTHSM2_CONF` once, at `C_Initialize`), tokens initialised by `softhsm2-util
//! --init-token`, AES keys generated inside the token through cryptoki.
//!
//! The module is `$NACOSCRYPT_PKCS11_MODULE` or Debian's `/usr/lib/softhsm/libsofthsm2.so`
//! (`scripts/softhsm-test-env.sh` installs it and prints its path). Without it the tests say
//! SKIPPED and pass, unless `$NACOSCRYPT_REQUIRE_SERVERS` is set (as `make test` and CI do):
//! then they fail.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// SoftHSM2 keeps its slots and sessions per process, and reuses session handles: a test that
/// removes a token (or brings one back) changes what the other tests' sessions and handles
/// refer to. Those tests run alone ([`exclusive`]); every other test holds [`shared`], so they
/// still run side by side (and the concurrency tests use their own threads).
static TOKEN_SET: RwLock<()> = RwLock::new(());

/// For a test that leaves the set of tokens as it is.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    TOKEN_SET.read().unwrap_or_else(PoisonError::into_inner)
}

/// For a test that removes or inserts a token while the process runs.
pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    TOKEN_SET.write().unwrap_or_else(PoisonError::into_inner)
}

pub const USER_PIN: &str = "4321-user";
pub const SO_PIN: &str = "8765-so";

/// Where SoftHSM2 is on Debian and Ubuntu.
const CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The tokens of the test binary, all initialised (user PIN [`USER_PIN`]) before the module is
/// first loaded: one per test that changes a token's state (login, removal).
pub const TOKENS: &[&str] = &[
    "main",
    "threads",
    "wrong-pin",
    "removal",
    "comeback",
    "rotation",
    "garbage",
];

/// The prepared SoftHSM2: module path and folder.
#[derive(Debug)]
pub struct Env {
    pub module: PathBuf,
    pub dir: PathBuf,
}

/// The SoftHSM2 of this test binary, or `None` (and the test is skipped) when it is not
/// installed. Every test calls this first: it sets `SOFTHSM2_CONF` once, before any thread
/// loads the module or reads the environment.
pub fn env() -> Option<&'static Env> {
    static ENV: OnceLock<Option<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let found = std::env::var_os("NACOSCRYPT_PKCS11_MODULE")
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .or_else(|| CANDIDATES.iter().map(PathBuf::from).find(|p| p.exists()));
        let Some(module) = found else {
            assert!(
                std::env::var_os("NACOSCRYPT_REQUIRE_SERVERS").is_none(),
                "SoftHSM2 is not installed (run scripts/softhsm-test-env.sh, or set \
                 NACOSCRYPT_PKCS11_MODULE) and NACOSCRYPT_REQUIRE_SERVERS is set"
            );
            eprintln!(
                "SKIPPED: SoftHSM2 is not installed (scripts/softhsm-test-env.sh installs it)"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "nacoscrypt-softhsm-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
                 slots.removable = true\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        set_conf(&conf);
        for token in TOKENS {
            init_token(token);
        }
        Some(Env { module, dir })
    })
    .as_ref()
}

#[allow(unsafe_code)]
fn set_conf(conf: &Path) {
    // SAFETY: called once, inside the OnceLock that every test passes before it starts a
    // thread, loads the module or reads the environment.
    unsafe { std::env::set_var("SOFTHSM2_CONF", conf) };
}

/// Runs `softhsm2-util` with the binary's configuration.
pub fn softhsm_util(args: &[&str]) -> std::process::Output {
    let out = Command::new("softhsm2-util")
        .args(args)
        .output()
        .expect("softhsm2-util (Debian softhsm2) runs");
    assert!(
        out.status.success(),
        "softhsm2-util {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Initialises a new token labelled `label` (user PIN [`USER_PIN`]) in the first free slot.
fn init_token(label: &str) {
    softhsm_util(&[
        "--init-token",
        "--free",
        "--label",
        label,
        "--so-pin",
        SO_PIN,
        "--pin",
        USER_PIN,
    ]);
}

/// The test's own handle on the module (the same loaded library and state as the KMS's).
pub fn raw_module(path: &Path) -> Pkcs11 {
    let m = Pkcs11::new(path).unwrap();
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    m
}

/// The slot of the token labelled `label`.
pub fn slot(m: &Pkcs11, label: &str) -> Slot {
    m.get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| {
            m.get_token_info(*s)
                .map(|i| i.label().trim_end() == label)
                .unwrap_or(false)
        })
        .unwrap_or_else(|| panic!("no token {label}"))
}

/// A logged-in read-write session on the token labelled `token`.
pub fn rw_session(m: &Pkcs11, token: &str) -> Session {
    let s = m.open_rw_session(slot(m, token)).unwrap();
    match s.login(UserType::User, Some(&AuthPin::from(USER_PIN.to_owned()))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("C_Login: {e}"),
    }
    s
}

/// Generates an AES key of `bytes` bytes labelled `label` inside the token: a token object,
/// sensitive, never extractable, for encrypt and decrypt.
pub fn generate_aes_key(m: &Pkcs11, token: &str, label: &str, bytes: u64) -> ObjectHandle {
    let s = rw_session(m, token);
    s.generate_key(
        &cryptoki::mechanism::Mechanism::AesKeyGen,
        &[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(bytes.into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Label(label.as_bytes().to_vec()),
        ],
    )
    .unwrap()
}

/// Puts an AES key of known `value` labelled `label` into the token (a token object, sensitive,
/// never extractable): the same key can then be put into another token, as an HSM's backup
/// restores it.
pub fn import_aes_key(m: &Pkcs11, token: &str, label: &str, value: &[u8]) -> ObjectHandle {
    let s = rw_session(m, token);
    s.create_object(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Value(value.to_vec()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Label(label.as_bytes().to_vec()),
    ])
    .unwrap()
}

/// A token labelled `label` (user PIN [`USER_PIN`]) initialised from inside this process in the
/// module's free slot: SoftHSM2 only sees tokens that existed when it was initialised and those
/// its own process initialises, so this is how a token comes (back) into a running test.
pub fn insert_token(m: &Pkcs11, label: &str) -> Slot {
    let free = m
        .get_all_slots()
        .unwrap()
        .into_iter()
        .find(|s| {
            m.get_token_info(*s)
                .map(|i| !i.token_initialized())
                .unwrap_or(false)
        })
        .expect("SoftHSM2 keeps one slot with an uninitialised token");
    m.init_token(free, &AuthPin::from(SO_PIN.to_owned()), label)
        .unwrap();
    let s = m.open_rw_session(free).unwrap();
    s.login(UserType::So, Some(&AuthPin::from(SO_PIN.to_owned())))
        .unwrap();
    s.init_pin(&AuthPin::from(USER_PIN.to_owned())).unwrap();
    s.logout().unwrap();
    free
}

/// Destroys the AES key(s) labelled `label`.
pub fn destroy_key(m: &Pkcs11, token: &str, label: &str) {
    let s = rw_session(m, token);
    for h in s
        .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
        .unwrap()
    {
        s.destroy_object(h).unwrap();
    }
}

/// A file holding `pin` (mode 0600) in the binary's folder.
pub fn pin_file(name: &str, pin: &str) -> PathBuf {
    let p = env().expect("SoftHSM2").dir.join(name);
    std::fs::write(&p, format!("{pin}\n")).unwrap();
    p
}
