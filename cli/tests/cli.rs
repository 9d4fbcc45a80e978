//! The `nacoscrypt` binary, run as a user runs it: every subcommand, stdin and file input, each
//! exit code, the default keyring in a temporary HOME, and configs that the core library and
//! the vectors' rules (an independent AES-ECB/PKCS#7 check) read back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use nacoscrypt_core::config::{self, ConfigId};
use nacoscrypt_core::kms::{Context, Keyring};
use nacoscrypt_core::token::{Algorithm, SecretKey};
use serde_json::Value;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");
const SETTING: &str = "nacos.core.auth.plugin.nacos.token.secret.key";
/// A key from `secret new`-like bytes: not publicly known.
const SECRET: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const DOC_SECRET: &str = "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=";

// ---------------------------------------------------------------------------------------------
// Harness

/// A temporary folder that also serves as the child's HOME; removed on drop.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nacoscrypt-cli-test-{}-{name}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// A keyring file with `text`, mode 0600.
    fn keyring(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
        path
    }

    /// The default keyring under this sandbox as HOME.
    fn default_keyring(&self) -> PathBuf {
        self.dir.join(".config/nacoscrypt/keyring")
    }

    /// A command with HOME set to the sandbox and no nacoscrypt/Nacos variables.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("HOME", &self.dir)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("NACOSCRYPT_KEYRING")
            .env_remove("NACOSCRYPT_SECRET")
            .current_dir(&self.dir);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("NACOS_") {
                cmd.env_remove(name);
            }
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args), None)
    }

    fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        run(self.cmd(args), Some(stdin))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A finished run.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.out()))
    }

    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        self
    }

    /// Exits with `code` and one error line on stderr.
    #[track_caller]
    fn fails(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            code,
            "stdout: {} stderr: {}",
            self.out(),
            self.stderr
        );
        if code != 2 || self.stderr.starts_with("nacoscrypt: error:") {
            assert_eq!(self.stderr.lines().count(), 1, "one line: {}", self.stderr);
            assert!(
                self.stderr.starts_with("nacoscrypt: error: "),
                "{}",
                self.stderr
            );
        }
        self
    }

    #[track_caller]
    fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}: {}",
            self.stderr
        );
        self
    }
}

fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The command may exit before reading everything (a usage error): ignore EPIPE.
        let _ = pipe.write_all(bytes);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().expect("exited normally"),
        stdout,
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn s<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no string {name} in {v}"))
}

/// Strict standard base64 with padding (the tests' own decoder).
fn b64decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    assert_eq!(text.len() % 4, 0, "padded base64: {text}");
    let body = text.trim_end_matches('=');
    assert!(text.len() - body.len() <= 2);
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in body.bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("not base64: {text}"));
        acc = acc << 6 | u32::try_from(v).unwrap();
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

/// AES-ECB decryption of whole blocks with the `aes` crate (128 or 256 by key length).
fn ecb_decrypt(key: &[u8], data: &[u8]) -> Vec<u8> {
    assert_eq!(data.len() % 16, 0, "whole blocks");
    let mut out = data.to_vec();
    for block in out.chunks_exact_mut(16) {
        let mut b = Array::from(<[u8; 16]>::try_from(&*block).unwrap());
        match key.len() {
            16 => aes::Aes128::new_from_slice(key)
                .unwrap()
                .decrypt_block(&mut b),
            32 => aes::Aes256::new_from_slice(key)
                .unwrap()
                .decrypt_block(&mut b),
            n => panic!("data key of {n} bytes"),
        }
        block.copy_from_slice(&b);
    }
    out
}

fn ecb_encrypt_block(key: &[u8], block: [u8; 16]) -> [u8; 16] {
    let mut b = Array::from(block);
    aes::Aes256::new_from_slice(key)
        .unwrap()
        .encrypt_block(&mut b);
    b.into()
}

/// Strips PKCS#7 padding, checking every padding byte.
fn pkcs7_unpad(mut data: Vec<u8>) -> Vec<u8> {
    let pad = usize::from(*data.last().unwrap());
    assert!((1..=16).contains(&pad), "padding byte {pad}");
    assert!(
        data[data.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad)
    );
    data.truncate(data.len() - pad);
    data
}

fn encrypt(sb: &Sandbox, args: &[&str], plaintext: &[u8]) -> Value {
    let mut all = vec!["config", "encrypt"];
    all.extend_from_slice(args);
    sb.run_stdin(&all, plaintext).ok().json()
}

// ---------------------------------------------------------------------------------------------
// Help and version

#[test]
fn version_and_help_on_every_level() {
    let sb = Sandbox::new("help");
    let version = sb.run(&["--version"]).ok().out();
    assert_eq!(
        version.trim(),
        format!("nacoscrypt {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &["--help"][..],
        &["keyring", "--help"],
        &["keyring", "create", "--help"],
        &["keyring", "rotate", "--help"],
        &["keyring", "list", "--help"],
        &["config", "--help"],
        &["config", "encrypt", "--help"],
        &["config", "decrypt", "--help"],
        &["token", "--help"],
        &["token", "issue", "--help"],
        &["token", "verify", "--help"],
        &["secret", "--help"],
        &["secret", "new", "--help"],
    ] {
        let out = sb.run(args).ok().out();
        assert!(out.contains("Usage: nacoscrypt"), "{args:?}: {out}");
        assert!(out.contains("Example"), "{args:?} has no example: {out}");
    }
    // The root help documents the exit codes and the default keyring.
    let root = sb.run(&["--help"]).ok().out();
    assert!(root.contains("Exit codes: 0 ok, 1"), "{root}");
    assert!(root.contains("NACOSCRYPT_KEYRING"), "{root}");
    // Nothing at all, an unknown command, a missing required option: usage, exit 2.
    assert_eq!(sb.run(&[]).code, 2);
    assert_eq!(sb.run(&["frobnicate"]).code, 2);
    assert_eq!(sb.run_stdin(&["config", "encrypt"], b"x").code, 2);
    // The secret is never an argument.
    let r = sb.run(&["token", "issue", "--sub", "a", "--secret", SECRET]);
    assert_eq!(r.code, 2);
}

// ---------------------------------------------------------------------------------------------
// The keyring

#[test]
fn default_keyring_is_created_on_first_use_in_home() {
    let sb = Sandbox::new("default");
    let keyring = sb.default_keyring();
    assert!(!keyring.exists());
    let first = encrypt(&sb, &["--data-id", "cipher-kms-aes-256-a"], b"a=1");
    assert_eq!(s(&first, "dataId"), "cipher-kms-aes-256-a");
    assert_eq!(mode(&keyring), 0o600);
    assert_eq!(mode(keyring.parent().unwrap()), 0o700);
    let loaded = Keyring::load(&keyring).unwrap();
    assert_eq!(loaded.key_ids(), ["alias/nacoscrypt"]);

    // The note on stderr the first time, silence the second time; both decrypt.
    let r = sb
        .run_stdin(&["config", "encrypt", "--data-id", "cipher-b"], b"b=2")
        .ok();
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let r = sb
        .run_stdin(&["config", "decrypt"], first.to_string().as_bytes())
        .ok();
    assert_eq!(r.stdout, b"a=1");
    assert!(r.stderr.is_empty());

    // The first-use note, seen in a fresh HOME.
    let fresh = Sandbox::new("default-note");
    fresh
        .run(&["keyring", "list"])
        .ok()
        .stderr_has("created the default keyring")
        .stderr_has(&fresh.default_keyring().display().to_string());
}

#[test]
fn xdg_config_home_and_nacoscrypt_keyring_choose_the_file() {
    let sb = Sandbox::new("xdg");
    let xdg = sb.path("xdg");
    let r = run(
        {
            let mut c = sb.cmd(&["keyring", "list"]);
            c.env("XDG_CONFIG_HOME", &xdg);
            c
        },
        None,
    )
    .ok();
    assert!(xdg.join("nacoscrypt/keyring").exists(), "{}", r.stderr);
    assert!(!sb.default_keyring().exists());

    // $NACOSCRYPT_KEYRING is used as given and never created behind the user's back.
    let named = sb.path("named-keyring");
    let mut c = sb.cmd(&["keyring", "list"]);
    c.env("NACOSCRYPT_KEYRING", &named);
    run(c, None)
        .fails(3)
        .stderr_has("does not exist")
        .stderr_has("keyring create");
    let mut c = sb.cmd(&["keyring", "create"]);
    c.env("NACOSCRYPT_KEYRING", &named);
    run(c, None).ok();
    assert_eq!(mode(&named), 0o600);
    // --keyring wins over the variable.
    let flag = sb.path("flag-keyring");
    let mut c = sb.cmd(&["--keyring", flag.to_str().unwrap(), "keyring", "create"]);
    c.env("NACOSCRYPT_KEYRING", &named);
    run(c, None).ok();
    assert!(flag.exists());
}

#[test]
fn keyring_create_rotate_list() {
    let sb = Sandbox::new("keyring");
    let path = sb.path("sub/dir/keyring");
    let p = path.to_str().unwrap();

    let out = sb.run(&["keyring", "create", "--keyring", p]).ok().out();
    assert!(out.contains("created keyring"), "{out}");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);

    // Creating the same key again is a usage error; another key id is added to the file.
    sb.run(&["--keyring", p, "keyring", "create"])
        .fails(2)
        .stderr_has("already exists")
        .stderr_has("keyring rotate");
    sb.run(&[
        "--keyring",
        p,
        "keyring",
        "create",
        "--key-id",
        "alias/payments",
    ])
    .ok();
    sb.run(&["--keyring", p, "keyring", "create", "--key-id", "has space"])
        .fails(2);

    let encrypted = encrypt(
        &sb,
        &[
            "--keyring",
            p,
            "--data-id",
            "cipher-kms-aes-128-x",
            "--key-id",
            "alias/payments",
        ],
        b"before rotation",
    );
    let out = sb
        .run(&[
            "--keyring",
            p,
            "keyring",
            "rotate",
            "--key-id",
            "alias/payments",
        ])
        .ok()
        .out();
    assert!(out.contains("new primary version"), "{out}");
    assert_eq!(mode(&path), 0o600, "rotation keeps the mode");

    let keyring = Keyring::load(&path).unwrap();
    let versions = keyring.versions("alias/payments");
    assert_eq!(versions.len(), 2);
    let listing = sb.run(&["--keyring", p, "keyring", "list"]).ok().out();
    let lines: Vec<&str> = listing.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 3, "{listing}");
    let line_of = |v: &str| *lines.iter().find(|l| l.contains(v)).unwrap();
    assert!(line_of(versions[0]).starts_with("alias/payments"));
    assert!(!line_of(versions[0]).ends_with("primary"));
    assert!(line_of(versions[1]).ends_with("primary"));
    assert!(line_of(keyring.versions("alias/nacoscrypt")[0]).ends_with("primary"));
    // Never the key bytes.
    for line in fs::read_to_string(&path).unwrap().lines() {
        if let Some(key) = line.strip_prefix("key ").and_then(|l| l.split(' ').nth(2)) {
            assert!(!listing.contains(key), "key bytes listed");
        }
    }

    // The config encrypted before the rotation still decrypts.
    let r = sb
        .run_stdin(
            &["--keyring", p, "config", "decrypt"],
            encrypted.to_string().as_bytes(),
        )
        .ok();
    assert_eq!(r.stdout, b"before rotation");

    // Rotating a key that is not there: a keyring (KMS) error.
    sb.run(&[
        "--keyring",
        p,
        "keyring",
        "rotate",
        "--key-id",
        "alias/none",
    ])
    .fails(3)
    .stderr_has("keyring create --key-id alias/none");
    // Rotating or listing a file that is not there.
    sb.run(&["--keyring", "missing", "keyring", "rotate"])
        .fails(3)
        .stderr_has("does not exist");
}

#[test]
fn loose_keyring_permissions_are_refused_with_the_chmod_to_run() {
    let sb = Sandbox::new("loose");
    let path = sb.path("keyring");
    let p = path.to_str().unwrap();
    sb.run(&["--keyring", p, "keyring", "create"]).ok();
    for loose in [0o644, 0o640, 0o604, 0o660] {
        fs::set_permissions(&path, fs::Permissions::from_mode(loose)).unwrap();
        sb.run(&["--keyring", p, "keyring", "list"])
            .fails(3)
            .stderr_has(&format!("run `chmod 600 {p}`"));
        sb.run_stdin(
            &["--keyring", p, "config", "encrypt", "--data-id", "cipher-x"],
            b"x",
        )
        .fails(3)
        .stderr_has("chmod 600");
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    sb.run(&["--keyring", p, "keyring", "list"]).ok();

    // The default keyring too.
    let sb = Sandbox::new("loose-default");
    sb.run(&["keyring", "list"]).ok();
    let default = sb.default_keyring();
    fs::set_permissions(&default, fs::Permissions::from_mode(0o644)).unwrap();
    sb.run(&["keyring", "list"])
        .fails(3)
        .stderr_has(&format!("chmod 600 {}", default.display()));
}

#[test]
fn corrupt_keyring_names_the_line() {
    let sb = Sandbox::new("corrupt");
    let path = sb.keyring("keyring", "# header\nkey alias/x not-a-uuid AAAA\n");
    sb.run(&["--keyring", path.to_str().unwrap(), "keyring", "list"])
        .fails(3)
        .stderr_has("line 2");
}

// ---------------------------------------------------------------------------------------------
// Configs

#[test]
fn encrypt_prints_the_open_api_members_in_order() {
    let sb = Sandbox::new("json");
    let r = sb
        .run_stdin(
            &[
                "config",
                "encrypt",
                "--data-id",
                "cipher-kms-aes-256-db.properties",
                "--group",
                "payments",
                "--tenant",
                "prod",
            ],
            b"password=s3cret",
        )
        .ok();
    let text = r.out();
    assert!(text.ends_with("}\n") && text.lines().count() == 1, "{text}");
    let keys: Vec<usize> = [
        "\"dataId\"",
        "\"group\"",
        "\"tenant\"",
        "\"content\"",
        "\"encryptedDataKey\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "member order: {text}");
    let v = r.json();
    assert_eq!(v.as_object().unwrap().len(), 5);
    assert_eq!(s(&v, "group"), "payments");
    assert_eq!(s(&v, "tenant"), "prod");
    assert!(!text.contains("s3cret"));
    // Defaults: DEFAULT_GROUP and the public namespace ("").
    let v = encrypt(&sb, &["--data-id", "cipher-x"], b"x");
    assert_eq!(s(&v, "group"), "DEFAULT_GROUP");
    assert_eq!(s(&v, "tenant"), "");
    assert_eq!(s(&v, "encryptedDataKey"), "", "direct scheme: no data key");
}

#[test]
fn round_trip_from_files_and_stdin_every_scheme_and_format() {
    let sb = Sandbox::new("roundtrip");
    let plaintexts: [&[u8]; 4] = [
        b"username=nacos\npassword=secret&x=1\n",
        b"no final newline",
        "cl\u{e9}: \u{4e2d}\u{6587}\r\n\ttab\n\n".as_bytes(),
        &[b'y'; 6144],
    ];
    for (n, plain) in plaintexts.iter().enumerate() {
        let file = sb.write(&format!("plain-{n}"), plain);
        for data_id in [
            "cipher-kms-aes-256-a.yaml",
            "cipher-kms-aes-128-b",
            "cipher-c.json",
        ] {
            for format in ["nacos", "v1"] {
                let base = [
                    "config",
                    "encrypt",
                    "--data-id",
                    data_id,
                    "--format",
                    format,
                ];
                // The three ways to give the input: a file, `-`, nothing.
                let mut outputs = vec![];
                let mut args = base.to_vec();
                args.push(file.to_str().unwrap());
                outputs.push(sb.run(&args).ok().stdout);
                let mut args = base.to_vec();
                args.push("-");
                outputs.push(sb.run_stdin(&args, plain).ok().stdout);
                outputs.push(sb.run_stdin(&base, plain).ok().stdout);
                for (i, out) in outputs.iter().enumerate() {
                    let json = sb.write(&format!("enc-{n}-{i}.json"), out);
                    // Decrypt from the file and from stdin: the exact bytes, no newline added.
                    let r = sb.run(&["config", "decrypt", json.to_str().unwrap()]).ok();
                    assert_eq!(&r.stdout, plain, "{data_id} {format}");
                    let r = sb.run_stdin(&["config", "decrypt", "-"], out).ok();
                    assert_eq!(&r.stdout, plain);
                    let r = sb.run_stdin(&["config", "decrypt"], out).ok();
                    assert_eq!(&r.stdout, plain);
                    let v: Value = serde_json::from_slice(out).unwrap();
                    assert_eq!(s(&v, "content").starts_with("nc1:"), format == "v1");
                }
            }
        }
    }
}

#[test]
fn a_config_encrypted_by_the_cli_decrypts_with_the_core() {
    let sb = Sandbox::new("core");
    let path = sb.path("keyring");
    let p = path.to_str().unwrap();
    sb.run(&["--keyring", p, "keyring", "create"]).ok();
    let plain = "spring.datasource.password=s3cret\n";
    for data_id in [
        "cipher-kms-aes-256-db",
        "cipher-kms-aes-128-db",
        "cipher-db",
    ] {
        for format in ["nacos", "v1"] {
            let v = encrypt(
                &sb,
                &[
                    "--keyring",
                    p,
                    "--data-id",
                    data_id,
                    "--group",
                    "g",
                    "--tenant",
                    "t",
                    "--format",
                    format,
                ],
                plain.as_bytes(),
            );
            let keyring = Keyring::load(&path).unwrap();
            let id = ConfigId::new(data_id, "g", "t");
            let back = config::decrypt(&keyring, &id, s(&v, "content"), s(&v, "encryptedDataKey"))
                .unwrap();
            assert_eq!(back.as_str(), plain);
        }
    }
}

#[test]
fn the_nacos_format_follows_the_vectors_rules_ecb_pkcs7() {
    let sb = Sandbox::new("ecb");
    let path = sb.path("keyring");
    let p = path.to_str().unwrap();
    sb.run(&["--keyring", p, "keyring", "create"]).ok();
    let keyring = Keyring::load(&path).unwrap();
    let version = keyring
        .primary_version("alias/nacoscrypt")
        .unwrap()
        .to_owned();

    // Two identical 16-byte blocks, then 3 bytes: ECB shows as two identical cipher blocks.
    let plain = b"0123456789abcdef0123456789abcdefxyz";
    for (data_id, key_len) in [("cipher-kms-aes-256-e", 32), ("cipher-kms-aes-128-e", 16)] {
        let v = encrypt(&sb, &["--keyring", p, "--data-id", data_id], plain);
        // encryptedDataKey: a keyring blob, version id ‖ iv ‖ GCM(data key) ‖ tag, unwrapped
        // under the empty context (the `nacos` format binds none).
        let edk = s(&v, "encryptedDataKey");
        let blob = b64decode(edk);
        assert_eq!(&blob[..36], version.as_bytes());
        assert_eq!(blob.len(), 36 + 12 + key_len + 16);
        let data_key = keyring.decrypt(edk, &Context::new()).unwrap();
        assert_eq!(data_key.len(), key_len);

        // content: base64 of AES-ECB(data key, PKCS#7(plaintext)), no IV.
        let raw = b64decode(s(&v, "content"));
        assert_eq!(raw.len(), 48, "35 bytes pad to three blocks");
        assert_eq!(raw[..16], raw[16..32], "ECB: equal blocks encrypt equally");
        let padded = ecb_decrypt(&data_key, &raw);
        assert_eq!(&padded[35..], &[13u8; 13], "PKCS#7 padding");
        assert_eq!(pkcs7_unpad(padded), plain);
        if key_len == 32 {
            let first: [u8; 16] = plain[..16].try_into().unwrap();
            assert_eq!(ecb_encrypt_block(&data_key, first), raw[..16]);
        }
    }

    // A whole-block plaintext gets a full block of padding.
    let v = encrypt(
        &sb,
        &["--keyring", p, "--data-id", "cipher-kms-aes-256-f"],
        &[b'q'; 32],
    );
    let key = keyring
        .decrypt(s(&v, "encryptedDataKey"), &Context::new())
        .unwrap();
    let padded = ecb_decrypt(&key, &b64decode(s(&v, "content")));
    assert_eq!(padded.len(), 48);
    assert_eq!(&padded[32..], &[16u8; 16]);

    // Direct scheme: content is the keyring blob of the plaintext itself, no data key.
    let v = encrypt(&sb, &["--keyring", p, "--data-id", "cipher-g"], b"direct");
    assert_eq!(s(&v, "encryptedDataKey"), "");
    let raw = b64decode(s(&v, "content"));
    assert_eq!(&raw[..36], version.as_bytes());
    assert_eq!(raw.len(), 36 + 12 + 6 + 16);
    assert_eq!(
        keyring
            .decrypt(s(&v, "content"), &Context::new())
            .unwrap()
            .as_bytes(),
        b"direct"
    );

    // v1: nc1: + nonce ‖ GCM ‖ tag, and the data key is bound to the config's identity.
    let v = encrypt(
        &sb,
        &[
            "--keyring",
            p,
            "--data-id",
            "cipher-kms-aes-256-h",
            "--format",
            "v1",
        ],
        b"bound",
    );
    let body = s(&v, "content").strip_prefix("nc1:").unwrap();
    assert_eq!(b64decode(body).len(), 12 + 5 + 16);
    let context: Context<'_> = [
        ("dataId", "cipher-kms-aes-256-h"),
        ("group", "DEFAULT_GROUP"),
        ("tenant", "public"),
    ]
    .into_iter()
    .collect();
    assert!(keyring.decrypt(s(&v, "encryptedDataKey"), &context).is_ok());
    assert!(
        keyring
            .decrypt(s(&v, "encryptedDataKey"), &Context::new())
            .is_err()
    );
}

#[test]
fn the_local_kms_vectors_decrypt_through_the_cli() {
    let sb = Sandbox::new("vectors");
    let vectors: Value = serde_json::from_str(
        &fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../core/tests/vectors/config-local-kms.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let keyring = sb.keyring("keyring", s(&vectors, "keyring"));
    let k = keyring.to_str().unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        // The case object itself is the input: extra members are ignored.
        let r = sb
            .run_stdin(
                &["--keyring", k, "config", "decrypt"],
                case.to_string().as_bytes(),
            )
            .ok();
        assert_eq!(r.out(), s(case, "plaintext"), "{case}");
    }
    let must_fail = vectors["must_fail"].as_array().unwrap();
    assert!(!must_fail.is_empty());
    for case in must_fail {
        let r = sb.run_stdin(
            &["--keyring", k, "config", "decrypt"],
            case.to_string().as_bytes(),
        );
        let r = r.fails(1);
        assert!(r.stdout.is_empty(), "{}", s(case, "reason"));
    }
}

#[test]
fn config_errors_have_their_exit_codes() {
    let sb = Sandbox::new("config-errors");
    let path = sb.path("keyring");
    let p = path.to_str().unwrap();
    sb.run(&["--keyring", p, "keyring", "create"]).ok();
    let enc = |args: &[&str], input: &[u8]| {
        let mut all = vec!["--keyring", p, "config", "encrypt"];
        all.extend_from_slice(args);
        sb.run_stdin(&all, input)
    };
    let dec = |input: &[u8]| sb.run_stdin(&["--keyring", p, "config", "decrypt"], input);

    // 2: usage.
    enc(&["--data-id", "db.properties"], b"x")
        .fails(2)
        .stderr_has("cipher-kms-aes-256-");
    enc(&["--data-id", "cipher-x"], b"")
        .fails(2)
        .stderr_has("empty");
    enc(&["--data-id", "cipher-x"], &[b'a'; 6145])
        .fails(2)
        .stderr_has("6145")
        .stderr_has("6144");
    enc(&["--data-id", "cipher-kms-aes-256-x"], &[b'a'; 51_201])
        .fails(2)
        .stderr_has("51200");
    enc(&["--data-id", "cipher-x"], b"\xff\xfe")
        .fails(2)
        .stderr_has("UTF-8");
    enc(&["--data-id", "cipher-x", "--format", "v2"], b"x").fails(2);
    dec(b"not json").fails(2).stderr_has("not JSON");
    dec(b"[1]").fails(2).stderr_has("JSON object");
    let good = encrypt(
        &sb,
        &["--keyring", p, "--data-id", "cipher-kms-aes-256-x"],
        b"x",
    );
    for member in ["dataId", "group", "tenant", "content", "encryptedDataKey"] {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(member);
        dec(v.to_string().as_bytes())
            .fails(2)
            .stderr_has(&format!("no `{member}`"));
        let mut v = good.clone();
        v[member] = Value::from(7);
        dec(v.to_string().as_bytes()).fails(2).stderr_has(member);
    }
    let mut plain_id = good.clone();
    plain_id["dataId"] = Value::from("db.properties");
    dec(plain_id.to_string().as_bytes()).fails(2);

    // 1: refused on its merits.
    let v1 = encrypt(
        &sb,
        &[
            "--keyring",
            p,
            "--data-id",
            "cipher-kms-aes-256-x",
            "--format",
            "v1",
        ],
        b"x",
    );
    let mut moved = v1.clone();
    moved["group"] = Value::from("other");
    dec(moved.to_string().as_bytes())
        .fails(1)
        .stderr_has("authentication failed");
    let mut tampered = good.clone();
    tampered["content"] = Value::from("AAAAAAAAAAAAAAAAAAAAAA==");
    dec(tampered.to_string().as_bytes()).fails(1);
    let mut partial = good.clone();
    partial["content"] = Value::from("AAAA");
    dec(partial.to_string().as_bytes())
        .fails(1)
        .stderr_has("blocks");
    let mut no_key = good.clone();
    no_key["encryptedDataKey"] = Value::from("");
    dec(no_key.to_string().as_bytes()).fails(1);

    // 3: the environment.
    enc(&["--data-id", "cipher-x", "--key-id", "alias/none"], b"x")
        .fails(3)
        .stderr_has("keyring create --key-id alias/none");
    let other = sb.path("other-keyring");
    sb.run(&["--keyring", other.to_str().unwrap(), "keyring", "create"])
        .ok();
    sb.run_stdin(
        &["--keyring", other.to_str().unwrap(), "config", "decrypt"],
        good.to_string().as_bytes(),
    )
    .fails(3)
    .stderr_has("does not hold the key version");
    sb.run(&["--keyring", p, "config", "decrypt", "no-such-file.json"])
        .fails(3)
        .stderr_has("no-such-file.json");
    sb.run(&[
        "--keyring",
        p,
        "config",
        "encrypt",
        "--data-id",
        "cipher-x",
        "no-such-file",
    ])
    .fails(3);
}

// ---------------------------------------------------------------------------------------------
// Tokens and secrets

/// Environment variables for a child.
type Vars<'a> = Vec<(&'a str, &'a str)>;

fn with_env(mut cmd: Command, vars: &[(&str, &str)]) -> Command {
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn token_issue_then_verify_with_every_secret_source() {
    let sb = Sandbox::new("token");
    let secret_file = sb.write("secret", format!("{SECRET}\n").as_bytes());
    fs::set_permissions(&secret_file, fs::Permissions::from_mode(0o600)).unwrap();
    let properties = sb.write(
        "application.properties",
        format!("nacos.core.auth.enabled=true\n{SETTING}={SECRET}\nnacos.core.auth.plugin.nacos.token.expire.seconds=600\n")
            .as_bytes(),
    );
    let docker_properties = sb.write(
        "docker.properties",
        format!("{SETTING}=${{NACOS_AUTH_TOKEN:}}\n").as_bytes(),
    );
    let sf = secret_file.to_str().unwrap();
    let pf = properties.to_str().unwrap();
    let dpf = docker_properties.to_str().unwrap();
    // (flags, environment, expected tokenTtl)
    let sources: Vec<(Vec<&str>, Vars<'_>, u64)> = vec![
        (vec!["--secret-file", sf], vec![], 18_000),
        (vec!["--properties", pf], vec![], 600),
        (
            vec!["--properties", dpf],
            vec![("NACOS_AUTH_TOKEN", SECRET)],
            18_000,
        ),
        (vec![], vec![("NACOSCRYPT_SECRET", SECRET)], 18_000),
        (vec![], vec![("NACOS_AUTH_TOKEN", SECRET)], 18_000),
        (
            vec![],
            vec![
                ("NACOS_AUTH_TOKEN", SECRET),
                ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "60"),
            ],
            60,
        ),
    ];
    let key = SecretKey::from_base64(SECRET).unwrap();
    for (flags, vars, ttl) in &sources {
        let mut args = vec!["token"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["issue", "--sub", "nacos"]);
        let before = now();
        let issued = run(with_env(sb.cmd(&args), vars), None).ok().json();
        assert_eq!(issued["tokenTtl"], *ttl, "{flags:?} {vars:?}");
        assert_eq!(issued["globalAdmin"], false);
        assert_eq!(s(&issued, "username"), "nacos");
        let token = s(&issued, "accessToken");
        // The core reads what the command signed.
        let claims = key.verify(token, now(), 0).unwrap();
        assert_eq!(claims.sub, "nacos");
        assert!((before + i64::try_from(*ttl).unwrap()..=now() + 18_000).contains(&claims.exp));

        // verify: the token from stdin (bare, with a newline), as `-`, as an argument, and as
        // the login JSON.
        let mut verify = vec!["token"];
        verify.extend_from_slice(flags);
        verify.push("verify");
        let inputs: [(Vec<&str>, Option<Vec<u8>>); 4] = [
            (vec![], Some(format!("{token}\n").into_bytes())),
            (vec!["-"], Some(token.as_bytes().to_vec())),
            (vec![token], None),
            (vec![], Some(issued.to_string().into_bytes())),
        ];
        for (extra, stdin) in inputs {
            let mut a = verify.clone();
            a.extend_from_slice(&extra);
            let r = run(with_env(sb.cmd(&a), vars), stdin.as_deref()).ok();
            let claims = r.json();
            assert_eq!(s(&claims, "sub"), "nacos");
            assert_eq!(
                claims["exp"].as_i64(),
                Some(key.verify(token, now(), 0).unwrap().exp)
            );
        }
    }
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[test]
fn token_issue_options() {
    let sb = Sandbox::new("token-options");
    let env = [("NACOSCRYPT_SECRET", SECRET)];
    let r = run(
        with_env(
            sb.cmd(&[
                "token",
                "issue",
                "--sub",
                "a \"b\"",
                "--validity",
                "60",
                "--global-admin",
            ]),
            &env,
        ),
        None,
    )
    .ok();
    let v = r.json();
    assert_eq!(v["tokenTtl"], 60);
    assert_eq!(v["globalAdmin"], true);
    assert_eq!(s(&v, "username"), "a \"b\"");
    let out = r.out();
    assert!(
        out.starts_with("{\"accessToken\":\"eyJhbGciOiJIUzI1NiJ9."),
        "{out}"
    );
    assert!(out.ends_with(",\"tokenTtl\":60,\"globalAdmin\":true,\"username\":\"a \\\"b\\\"\"}\n"));
    let claims = SecretKey::from_base64(SECRET)
        .unwrap()
        .verify(s(&v, "accessToken"), now(), 0)
        .unwrap();
    assert!((now() + 55..=now() + 60).contains(&claims.exp));
    // --validity 0 is a usage error.
    run(
        with_env(
            sb.cmd(&["token", "issue", "--sub", "a", "--validity", "0"]),
            &env,
        ),
        None,
    )
    .fails(2);
    // A 48-byte secret signs HS384.
    let key48 = SecretKey::from_bytes(&[9u8; 48]).unwrap();
    let v = run(
        with_env(
            sb.cmd(&["token", "issue", "--sub", "a"]),
            &[("NACOSCRYPT_SECRET", key48.to_base64().as_str())],
        ),
        None,
    )
    .ok()
    .json();
    assert!(s(&v, "accessToken").starts_with(Algorithm::Hs384.header()));
}

#[test]
fn token_verify_failures_exit_1_with_the_kind_and_the_server_message() {
    let sb = Sandbox::new("token-fail");
    let env = [("NACOSCRYPT_SECRET", SECRET)];
    let key = SecretKey::from_base64(SECRET).unwrap();
    let verify = |token: &str| {
        run(
            with_env(sb.cmd(&["token", "verify"]), &env),
            Some(token.as_bytes()),
        )
    };

    let expired = key.sign("nacos", 1_000);
    verify(&expired)
        .fails(1)
        .stderr_has("expired")
        .stderr_has("\"token expired!\"");
    // Within a leeway it is still accepted.
    let recent = key.sign("nacos", now() - 5);
    verify(&recent).fails(1);
    run(
        with_env(sb.cmd(&["token", "verify", "--leeway", "3600"]), &env),
        Some(recent.as_bytes()),
    )
    .ok();

    let other = SecretKey::from_bytes(&[1u8; 32]).unwrap();
    verify(&other.sign("nacos", now() + 100))
        .fails(1)
        .stderr_has("invalid_signature")
        .stderr_has("\"Invalid signature\"");
    verify("a.b")
        .fails(1)
        .stderr_has("malformed")
        .stderr_has("\"token invalid!\"");
    verify("   ").fails(1).stderr_has("\"user not found!\"");
    let hs512 = SecretKey::from_bytes(&[2u8; 64]).unwrap();
    verify(&hs512.sign("nacos", now() + 100))
        .fails(1)
        .stderr_has("unsupported_algorithm");
}

#[test]
fn token_secret_errors_are_usage_errors() {
    let sb = Sandbox::new("token-secret");
    // None given.
    sb.run(&["token", "issue", "--sub", "a"])
        .fails(2)
        .stderr_has("--secret-file");
    // The publicly known secret of the Nacos docs: refused unless allowed.
    let doc = [("NACOS_AUTH_TOKEN", DOC_SECRET)];
    run(
        with_env(sb.cmd(&["token", "issue", "--sub", "a"]), &doc),
        None,
    )
    .fails(2)
    .stderr_has("secret new")
    .stderr_has("--allow-publicly-known");
    let v = run(
        with_env(
            sb.cmd(&["token", "--allow-publicly-known", "issue", "--sub", "a"]),
            &doc,
        ),
        None,
    )
    .ok()
    .json();
    // The server's own token for this key verifies (its expiry aside).
    let r = run(
        with_env(sb.cmd(&["token", "verify", "--allow-publicly-known"]), &doc),
        Some(s(&v, "accessToken").as_bytes()),
    );
    r.ok();
    // Too short, illegal characters.
    run(
        with_env(
            sb.cmd(&["token", "issue", "--sub", "a"]),
            &[("NACOSCRYPT_SECRET", "c2hvcnQ=")],
        ),
        None,
    )
    .fails(2)
    .stderr_has("bits");
    run(
        with_env(
            sb.cmd(&["token", "issue", "--sub", "a"]),
            &[("NACOSCRYPT_SECRET", "not base64!")],
        ),
        None,
    )
    .fails(2)
    .stderr_has("Illegal base64 character");
    // A missing file: I/O; a properties file without the setting: usage.
    sb.run(&["token", "--secret-file", "missing", "issue", "--sub", "a"])
        .fails(3);
    let props = sb.write("app.properties", b"nacos.core.auth.enabled=true\n");
    sb.run(&[
        "token",
        "--properties",
        props.to_str().unwrap(),
        "issue",
        "--sub",
        "a",
    ])
    .fails(2)
    .stderr_has(SETTING);
    // Both sources at once: clap's usage error.
    let f = sb.write("s", SECRET.as_bytes());
    assert_eq!(
        sb.run(&[
            "token",
            "--secret-file",
            f.to_str().unwrap(),
            "--properties",
            props.to_str().unwrap(),
            "issue",
            "--sub",
            "a"
        ])
        .code,
        2
    );
    // The secret from stdin, the token as the argument.
    let token = SecretKey::from_base64(SECRET)
        .unwrap()
        .sign("x", now() + 60);
    let r = sb
        .run_stdin(
            &["token", "--secret-file", "-", "verify", &token],
            SECRET.as_bytes(),
        )
        .ok();
    assert_eq!(s(&r.json(), "sub"), "x");
    sb.run_stdin(
        &["token", "--secret-file", "-", "verify"],
        SECRET.as_bytes(),
    )
    .fails(2);
}

#[test]
fn secret_new_prints_a_key_and_the_properties_line() {
    let sb = Sandbox::new("secret");
    let mut seen = Vec::new();
    for (bytes, algorithm) in [
        (None, Algorithm::Hs256),
        (Some("48"), Algorithm::Hs384),
        (Some("64"), Algorithm::Hs512),
    ] {
        let mut args = vec!["secret", "new"];
        if let Some(b) = bytes {
            args.extend_from_slice(&["--bytes", b]);
        }
        let r = sb.run(&args).ok();
        let out = r.out();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let key = SecretKey::from_base64(lines[0]).unwrap();
        assert_eq!(key.algorithm(), algorithm);
        assert_eq!(key.to_base64().as_str(), lines[0], "padded standard base64");
        assert_eq!(lines[1], format!("{SETTING}={}", lines[0]));
        assert!(r.stderr.contains(algorithm.name()), "{}", r.stderr);
        seen.push(lines[0].to_owned());
        // What it prints works as the server's setting, and for this command.
        let v = run(
            with_env(
                sb.cmd(&["token", "issue", "--sub", "n"]),
                &[("NACOSCRYPT_SECRET", lines[0])],
            ),
            None,
        )
        .ok()
        .json();
        assert!(s(&v, "accessToken").starts_with(algorithm.header()));
    }
    let again = sb.run(&["secret", "new"]).ok().out();
    assert!(
        !seen.iter().any(|k| again.contains(k.as_str())),
        "fresh each time"
    );
    assert_eq!(sb.run(&["secret", "new", "--bytes", "16"]).code, 2);
    assert_eq!(sb.run(&["secret", "new", "--bytes", "65"]).code, 2);
}

// ---------------------------------------------------------------------------------------------
// Keyring files under concurrency (issue 11)

#[test]
fn concurrent_rotations_from_three_shells_all_land() {
    // The issue's report: three shells × 40 `keyring rotate` at the same moment kept 58 of 121.
    let sb = Sandbox::new("rotate-race");
    let path = sb.path("kr");
    let p = path.to_str().unwrap().to_owned();
    sb.run(&["keyring", "create", "--keyring", &p]).ok();
    let shells: Vec<_> = (0..3)
        .map(|_| {
            let script = format!(
                "for i in $(seq 40); do '{BIN}' --keyring '{p}' keyring rotate >/dev/null || exit 1; done"
            );
            Command::new("sh")
                .args(["-c", &script])
                .env("HOME", &sb.dir)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut shell in shells {
        assert!(shell.wait().unwrap().success());
    }
    assert_eq!(
        Keyring::load(&path)
            .unwrap()
            .versions("alias/nacoscrypt")
            .len(),
        121
    );
}

#[test]
fn a_symlinked_keyring_is_rotated_through_the_link() {
    let sb = Sandbox::new("rotate-link");
    let real = sb.path("real");
    sb.run(&["keyring", "create", "--keyring", real.to_str().unwrap()])
        .ok();
    let link = sb.path("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    sb.run(&["--keyring", "link", "keyring", "rotate"]).ok();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        Keyring::load(&real)
            .unwrap()
            .versions("alias/nacoscrypt")
            .len(),
        2
    );
}

#[test]
fn a_fifo_keyring_is_refused_at_once() {
    let sb = Sandbox::new("fifo");
    let fifo = sb.path("fifo");
    assert!(
        Command::new("mkfifo")
            .args(["-m", "600"])
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut child = sb
        .cmd(&["--keyring", "fifo", "keyring", "list"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("`keyring list` blocked on a FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("named pipe"), "{stderr}");
}

/// Issue 12: hostile `--properties` files fail fast with the real cause.
#[test]
fn hostile_properties_files_fail_fast() {
    use std::time::{Duration, Instant};
    let sb = Sandbox::new("token-hostile-props");
    let fast = |args: &[&str]| {
        let start = Instant::now();
        let r = sb.run(args);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{args:?} took {:?}",
            start.elapsed()
        );
        r
    };
    // 2 KB of placeholders that expanded to 9.5 GB.
    let mut text = format!("{SETTING}=${{p0}}\n");
    for i in 0..4 {
        text.push_str(&format!(
            "p{i}={}\n",
            format!("${{p{}}}", i + 1).repeat(100)
        ));
    }
    text.push_str(&format!("p4={}\n", "A".repeat(44)));
    let exponential = sb.write("exponential.properties", text.as_bytes());
    fast(&[
        "token",
        "--properties",
        exponential.to_str().unwrap(),
        "issue",
        "--sub",
        "a",
    ])
    .fails(2)
    .stderr_has("placeholders");
    // A device and a FIFO: refused, never read or waited on.
    fast(&["token", "--properties", "/dev/zero", "issue", "--sub", "a"])
        .fails(3)
        .stderr_has("character device");
    let fifo = sb.dir.join("fifo.properties");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    fast(&[
        "token",
        "--properties",
        fifo.to_str().unwrap(),
        "issue",
        "--sub",
        "a",
    ])
    .fails(3)
    .stderr_has("FIFO");
    // One byte over the 4 MiB bound.
    let mut big = format!("{SETTING}={SECRET}\n");
    big.push_str(&"#".repeat((4 << 20) - big.len() + 1));
    let over = sb.write("over.properties", big.as_bytes());
    fast(&[
        "token",
        "--properties",
        over.to_str().unwrap(),
        "issue",
        "--sub",
        "a",
    ])
    .fails(2)
    .stderr_has("too large");
    big.pop();
    let at = sb.write("at.properties", big.as_bytes());
    fast(&[
        "token",
        "--properties",
        at.to_str().unwrap(),
        "issue",
        "--sub",
        "a",
    ])
    .ok();
}

/// Issue 12: what `token issue` writes, `token verify` reads, and errors name their cause.
#[test]
fn token_bounds_name_the_real_cause() {
    let sb = Sandbox::new("token-bounds");
    let env = [("NACOSCRYPT_SECRET", SECRET)];
    // A subject whose token would be too long to verify is refused when issuing.
    let long = "u".repeat(6_200);
    run(
        with_env(sb.cmd(&["token", "issue", "--sub", &long]), &env),
        None,
    )
    .fails(1)
    .stderr_has("longer than 8300 bytes");
    // A token over the 4 MiB input bound is a malformed token, not "a Nacos config".
    let huge = "a".repeat(5 << 20);
    let r = run(
        with_env(sb.cmd(&["token", "verify"]), &env),
        Some(huge.as_bytes()),
    )
    .fails(1)
    .stderr_has("malformed")
    .stderr_has("\"token invalid!\"");
    assert!(!r.stderr.contains("Nacos config"), "{}", r.stderr);
    // A validly signed token whose subject holds NUL: refused, as issue refuses to make it.
    let key = SecretKey::from_base64(SECRET).unwrap();
    run(
        with_env(sb.cmd(&["token", "verify"]), &env),
        Some(key.sign("a\0b", now() + 100).as_bytes()),
    )
    .fails(1)
    .stderr_has("invalid_claims")
    .stderr_has("NUL");
}
