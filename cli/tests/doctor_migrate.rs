//! `config doctor` and `config migrate`, run as the built binary on generated corpora: every
//! scheme, both formats, server plugin configs (`aes` and `doubleAes` vectors made with Python
//! `cryptography` following the plugin's source), missing and swapped encryptedDataKeys, a
//! deleted key, a key service that is unreachable (exit 3, time-bounded), and reruns over the
//! output (plugin -> KMS and a rotation inside one keyring) that skip everything.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use nacoscrypt_core::config::{self, ConfigId, Format, doctor};
use nacoscrypt_core::kms::Keyring;
use serde_json::{Value, json};
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");
/// The `aes` plugin's secret key text for key bytes 00..0f, and `password=s3cret` encrypted
/// with it by Python `cryptography` (AES-128-CBC, IV = the first 16 hex characters, PKCS#7).
const PLUGIN_KEY: &str = "MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=";
const PLUGIN_CONTENT: &str = "8e27654221ff9ad8f82f4a6dfcf9ed34";

struct Sandbox(PathBuf);

impl Sandbox {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nacoscrypt-dm-{}-{name}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn keyring(&self, name: &str, key_id: &str) -> (PathBuf, Keyring) {
        let mut k = Keyring::new();
        k.add_new_key(key_id).unwrap();
        let path = self.path(name);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        f.write_all(k.to_text().as_bytes()).unwrap();
        (path, k)
    }
    fn write_lines(&self, name: &str, lines: &[Value]) -> PathBuf {
        let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
        let path = self.path(name);
        fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NACOSCRYPT_KEYRING")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap()
}

fn entry(id: &ConfigId<'_>, content: &str, edk: &str) -> Value {
    json!({"dataId": id.data_id, "group": id.group, "tenant": id.tenant,
           "content": content, "encryptedDataKey": edk})
}

/// Every scheme in both formats, plaintext `value-<i>`.
fn corpus(k: &Keyring, key_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, data_id) in ["cipher-kms-aes-256-a", "cipher-kms-aes-128-b", "cipher-c"]
        .iter()
        .enumerate()
    {
        for format in [Format::Nacos, Format::V1] {
            let id = ConfigId::new(data_id, "G", "prod");
            let s = config::encrypt(k, &id, &format!("value-{i}"), key_id, format).unwrap();
            out.push(entry(&id, &s.content, &s.encrypted_data_key));
        }
    }
    out
}

fn s(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap().to_owned()
}

fn reports(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn doctor_passes_a_healthy_corpus_with_and_without_keys() {
    let sb = Sandbox::new("healthy");
    let (kr, k) = sb.keyring("keyring", "alias/a");
    let mut lines = corpus(&k, "alias/a");
    lines.push(entry(
        &ConfigId::new("cipher-aes-p", "G", ""),
        PLUGIN_CONTENT,
        PLUGIN_KEY,
    ));
    let input = sb.write_lines("in.jsonl", &lines);
    let input = input.to_str().unwrap();
    let out = run(&["config", "doctor", "--json", input]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "--keyring",
        kr.to_str().unwrap(),
        "config",
        "doctor",
        "--check",
        "--json",
        input,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = reports(&out);
    assert_eq!(r.len(), 7);
    assert!(r.iter().all(|r| r["check"]["ok"] == true));
    assert_eq!(r[6]["format"], "server-plugin");
    assert_eq!(r[0]["keyOrigin"]["kind"], "local-keyring");
    // Never the plaintext.
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("value-") && !text.contains("s3cret"));
}

#[test]
fn doctor_names_missing_and_swapped_keys_and_deleted_keys() {
    let sb = Sandbox::new("broken");
    let (kr, k) = sb.keyring("keyring", "alias/a");
    let (other, _) = sb.keyring("other", "alias/a");
    let lines = corpus(&k, "alias/a");
    let mut missing = lines[0].clone();
    missing["encryptedDataKey"] = json!("");
    let mut swapped = lines[0].clone();
    swapped["encryptedDataKey"] = lines[2]["encryptedDataKey"].clone(); // a 128-bit key
    let mut hyphenless = lines[0].clone();
    hyphenless["dataId"] = json!("cipher-kms-aes-256a");
    let input = sb.write_lines("in.jsonl", &[missing, swapped, hyphenless]);
    let input = input.to_str().unwrap();

    let out = run(&["config", "doctor", "--json", input]);
    assert_eq!(out.status.code(), Some(1));
    let r = reports(&out);
    let codes = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| s(f, "code"))
            .collect()
    };
    assert!(codes(&r[0]).contains(&"missing-encrypted-data-key".to_owned()));
    assert!(codes(&r[1]).contains(&"data-key-size-mismatch".to_owned()));
    assert!(codes(&r[2]).contains(&"sdks-disagree".to_owned()));
    assert_eq!(r[2]["schemes"]["java"], "direct");
    assert_eq!(r[2]["schemes"]["go"], "kms-aes-256");

    let out = run(&[
        "--keyring",
        kr.to_str().unwrap(),
        "config",
        "doctor",
        "--check",
        "--json",
        input,
    ]);
    let r = reports(&out);
    assert_eq!(r[0]["check"]["failedStep"], "structure");
    assert_eq!(r[1]["check"]["failedStep"], "data-key-length");

    // The key was deleted: another keyring.
    let healthy = sb.write_lines("ok.jsonl", &lines[..1]);
    let out = run(&[
        "--keyring",
        other.to_str().unwrap(),
        "config",
        "doctor",
        "--check",
        healthy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("fails at step key-not-found"), "{text}");
}

#[test]
fn migrate_rewraps_and_rekeys_atomically_and_resumably() {
    let sb = Sandbox::new("migrate");
    let (old_path, old) = sb.keyring("old", "alias/old");
    let (new_path, new) = sb.keyring("new", "alias/new");
    let mut lines = corpus(&old, "alias/old");
    let mut broken = lines[0].clone();
    broken["encryptedDataKey"] = json!("");
    lines.push(broken);
    let input = sb.write_lines("in.jsonl", &lines);
    let before = fs::read(&input).unwrap();
    let output = sb.path("out.jsonl");
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    let (oldp, newp) = (old_path.to_str().unwrap(), new_path.to_str().unwrap());

    // Dry run: nothing written; the broken entry fails (exit 1).
    let out = run(&[
        "--keyring",
        newp,
        "config",
        "migrate",
        "--from-keyring",
        oldp,
        "--key-id",
        "alias/new",
        "--dry-run",
        i,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!output.exists());

    // rekey: every good entry moves; the broken one is reported, the rest written.
    let out = run(&[
        "--keyring",
        newp,
        "config",
        "migrate",
        "--from-keyring",
        oldp,
        "--key-id",
        "alias/new",
        "--threads",
        "2",
        "--output",
        o,
        i,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("line 7: failed") && err.contains("6 migrated"),
        "{err}"
    );
    assert_eq!(
        fs::read(&input).unwrap(),
        before,
        "the input is never modified"
    );
    let moved: Vec<Value> = fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(moved.len(), 6);
    for (m, orig) in moved.iter().zip(&lines) {
        let id = ConfigId::new(m["dataId"].as_str().unwrap(), "G", "prod");
        let p = config::decrypt(&new, &id, &s(m, "content"), &s(m, "encryptedDataKey")).unwrap();
        let q =
            config::decrypt(&old, &id, &s(orig, "content"), &s(orig, "encryptedDataKey")).unwrap();
        assert_eq!(p.as_str(), q.as_str());
    }

    // Resumable: the output fed back in is already migrated, copied unchanged.
    let again = sb.path("again.jsonl");
    let out = run(&[
        "--keyring",
        newp,
        "config",
        "migrate",
        "--from-keyring",
        oldp,
        "--key-id",
        "alias/new",
        "--output",
        again.to_str().unwrap(),
        o,
    ]);
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("6 already migrated")
    );
    assert_eq!(fs::read(&again).unwrap(), fs::read(&output).unwrap());

    // rewrap keeps nacos-format content.
    let envelope = sb.write_lines("env.jsonl", &lines[..4]);
    let rewrapped = sb.path("rw.jsonl");
    let out = run(&[
        "--keyring",
        newp,
        "config",
        "migrate",
        "--from-keyring",
        oldp,
        "--key-id",
        "alias/new",
        "--mode",
        "rewrap",
        "--output",
        rewrapped.to_str().unwrap(),
        envelope.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rw: Vec<Value> = fs::read_to_string(&rewrapped)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rw[0]["content"], lines[0]["content"]);
    assert_ne!(rw[0]["encryptedDataKey"], lines[0]["encryptedDataKey"]);

    // The output may not be the input.
    let out = run(&["--keyring", newp, "config", "migrate", "--output", i, i]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn migrate_moves_server_plugin_configs_to_kms_and_reports_the_rename() {
    let sb = Sandbox::new("plugin");
    let (kr, k) = sb.keyring("keyring", "alias/k");
    let input = sb.write_lines(
        "in.jsonl",
        &[entry(
            &ConfigId::new("cipher-aes-db.properties", "G", ""),
            PLUGIN_CONTENT,
            PLUGIN_KEY,
        )],
    );
    let output = sb.path("out.jsonl");
    let krp = kr.to_str().unwrap();
    let out = run(&[
        "--keyring",
        krp,
        "config",
        "migrate",
        "--key-id",
        "alias/k",
        "--output",
        output.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a plugin config needs a target scheme"
    );
    let out = run(&[
        "--keyring",
        krp,
        "config",
        "migrate",
        "--key-id",
        "alias/k",
        "--to-scheme",
        "kms-aes-256",
        "--output",
        output.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(
            "renamed \"cipher-aes-db.properties\" -> \"cipher-kms-aes-256-db.properties\""
        ),
        "{err}"
    );
    let m: Value = serde_json::from_str(fs::read_to_string(&output).unwrap().trim()).unwrap();
    let id = ConfigId::new("cipher-kms-aes-256-db.properties", "G", "");
    let p = config::decrypt(&k, &id, &s(&m, "content"), &s(&m, "encryptedDataKey")).unwrap();
    assert_eq!(p.as_str(), "password=s3cret");
    assert!(Path::new(&output).exists());
}

#[test]
fn doctor_check_never_creates_the_default_keyring() {
    let sb = Sandbox::new("nocreate");
    let (_, k) = sb.keyring("keyring", "alias/a");
    let input = sb.write_lines("in.jsonl", &corpus(&k, "alias/a")[..1]);
    let out = Command::new(BIN)
        .args(["config", "doctor", "--check", input.to_str().unwrap()])
        .env_remove("NACOSCRYPT_KEYRING")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", &sb.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("does not exist")
    );
    assert!(!sb.path(".config/nacoscrypt/keyring").exists());
}

/// The `aes` plugin key above wrapped with the server's `nacos.encrypt` secret (key bytes
/// 10..1f) for `cipher-doubleAes-`, by Python `cryptography` following
/// ServerAesEncryptionPluginService.
const SERVER_SECRET: &str = "MTAxMTEyMTMxNDE1MTYxNzE4MTkxYTFiMWMxZDFlMWY=";
const WRAPPED_KEY: &str = "fd0c164bfe7fb50e9e7ff12e2f2fdd19955892c6091543f68a77dcb77d86977bd974fe0db29c41e7520e48eba93a8f60";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Properties of `--kms aliyun` pointing at a loopback port nothing listens on (refused at
/// once: the retries are bounded, no test reaches the internet).
fn unreachable_aliyun(sb: &Sandbox) -> PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = sb.path("unreachable.properties");
    fs::write(
        &path,
        format!(
            "kmsEndpoint=127.0.0.1:{port}\naccessKey=LTAI5tTestAccessKeyId\n\
             secretKey=TestAccessKeySecret0123456789abc\nkeyId=alias/nacos\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn an_unreachable_key_service_exits_3_quickly_in_doctor_and_migrate() {
    let sb = Sandbox::new("unreachable");
    let (kr, k) = sb.keyring("keyring", "alias/a");
    let props = unreachable_aliyun(&sb);
    let props = props.to_str().unwrap();
    let lines = corpus(&k, "alias/a");
    let input = sb.write_lines("in.jsonl", &lines[..3]);
    let input = input.to_str().unwrap();

    // doctor --check: every entry fails at step kms, exit 3, within the retry budget.
    let started = std::time::Instant::now();
    let out = run(&[
        "--kms",
        "aliyun",
        "--kms-properties",
        props,
        "config",
        "doctor",
        "--check",
        "--json",
        input,
    ]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    let r = reports(&out);
    assert_eq!(r.len(), 3);
    for r in &r {
        assert_eq!(r["check"]["failedStep"], "kms", "{r}");
        assert_eq!(r["check"]["errorKind"], "kms", "{r}");
    }
    assert!(
        stderr(&out).contains("a key service failed"),
        "{}",
        stderr(&out)
    );

    // migrate to the unreachable service: each entry fails at step kms; a config broken on its
    // own beside them does not hide it: exit 3, and nothing but the failures is left out.
    let mut broken = lines[0].clone();
    broken["encryptedDataKey"] = json!("");
    let mixed = sb.write_lines("mixed.jsonl", &[lines[0].clone(), broken, lines[1].clone()]);
    let output = sb.path("out.jsonl");
    let started = std::time::Instant::now();
    let out = run(&[
        "--kms",
        "aliyun",
        "--kms-properties",
        props,
        "config",
        "migrate",
        "--from-keyring",
        kr.to_str().unwrap(),
        "--key-id",
        "alias/nacos",
        "--threads",
        "2",
        "--output",
        output.to_str().unwrap(),
        mixed.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    assert!(
        err.contains("line 1: failed") && err.contains("at step kms"),
        "{err}"
    );
    assert!(
        err.contains("line 2: failed") && err.contains("at step structure"),
        "{err}"
    );
    assert!(
        err.contains("3 failed") && err.contains("2 because the key service failed"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&output).unwrap(), "");

    // The source unreachable: the same.
    let (newp, _) = sb.keyring("new", "alias/new");
    let out = run(&[
        "--keyring",
        newp.to_str().unwrap(),
        "config",
        "migrate",
        "--from-kms",
        "aliyun",
        "--from-kms-properties",
        props,
        "--key-id",
        "alias/new",
        "--dry-run",
        input,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("at step kms"));

    // Failures of the entries alone (no key service failing): exit 1.
    let only_broken = sb.write_lines(
        "broken.jsonl",
        &[json!({"dataId": "cipher-kms-aes-256-x",
        "group": "G", "tenant": "", "content": s(&lines[0], "content"), "encryptedDataKey": ""})],
    );
    let out = run(&[
        "--keyring",
        newp.to_str().unwrap(),
        "config",
        "migrate",
        "--from-keyring",
        kr.to_str().unwrap(),
        "--key-id",
        "alias/new",
        "--dry-run",
        only_broken.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

fn read_lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn plugin_to_kms_without_a_source_option_resumes_over_its_output() {
    let sb = Sandbox::new("plugin-resume");
    let (kr, k) = sb.keyring("keyring", "alias/k");
    let secret = sb.path("nacos.encrypt");
    fs::write(&secret, format!("{SERVER_SECRET}\n")).unwrap();
    let done_id = ConfigId::new("cipher-kms-aes-256-done.yaml", "G", "");
    let done = config::encrypt(&k, &done_id, "moved: earlier", "alias/k", Format::Nacos).unwrap();
    let input = sb.write_lines(
        "plugin.jsonl",
        &[
            entry(
                &ConfigId::new("cipher-aes-db.properties", "G", ""),
                PLUGIN_CONTENT,
                PLUGIN_KEY,
            ),
            entry(
                &ConfigId::new("cipher-doubleAes-app.properties", "G", "prod"),
                PLUGIN_CONTENT,
                WRAPPED_KEY,
            ),
            entry(&done_id, &done.content, &done.encrypted_data_key),
        ],
    );
    let (krp, secretp) = (kr.to_str().unwrap(), secret.to_str().unwrap());
    let migrate = |from: &Path, to: &Path| {
        run(&[
            "--keyring",
            krp,
            "config",
            "migrate",
            "--key-id",
            "alias/k",
            "--to-scheme",
            "kms-aes-256",
            "--plugin-secret-file",
            secretp,
            "--output",
            to.to_str().unwrap(),
            from.to_str().unwrap(),
        ])
    };
    let first = sb.path("kms.jsonl");
    let out = migrate(&input, &first);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("2 migrated (2 renamed), 1 already migrated, 0 failed"),
        "{err}"
    );
    assert!(err.contains(
        "renamed \"cipher-doubleAes-app.properties\" -> \"cipher-kms-aes-256-app.properties\""
    ));
    let moved = read_lines(&first);
    assert_eq!(moved[1]["dataId"], "cipher-kms-aes-256-app.properties");
    assert_eq!(moved[1]["tenant"], "prod");
    for m in &moved[..2] {
        let id = ConfigId::new(
            m["dataId"].as_str().unwrap(),
            "G",
            m["tenant"].as_str().unwrap(),
        );
        let p = config::decrypt(&k, &id, &s(m, "content"), &s(m, "encryptedDataKey")).unwrap();
        assert_eq!(p.as_str(), "password=s3cret");
    }
    assert_eq!(moved[2], read_lines(&input)[2]);
    // A second run over the output skips everything and writes the same lines.
    let second = sb.path("again.jsonl");
    let out = migrate(&first, &second);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("0 migrated (0 renamed), 3 already migrated, 0 failed"),
        "{err}"
    );
    assert_eq!(fs::read(&second).unwrap(), fs::read(&first).unwrap());
}

#[test]
fn rotation_inside_one_keyring_resumes_over_its_output() {
    let sb = Sandbox::new("rotate-resume");
    let (kr, _) = sb.keyring("keyring", "alias/a");
    let krp = kr.to_str().unwrap();
    let k = Keyring::parse(&fs::read_to_string(&kr).unwrap()).unwrap();
    let input = sb.write_lines("in.jsonl", &corpus(&k, "alias/a"));
    let out = run(&["--keyring", krp, "keyring", "rotate", "--key-id", "alias/a"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rotated = Keyring::parse(&fs::read_to_string(&kr).unwrap()).unwrap();
    let primary = rotated.primary_version("alias/a").unwrap().to_owned();
    for mode in ["rekey", "rewrap"] {
        let migrate = |from: &Path, to: &Path| {
            run(&[
                "--keyring",
                krp,
                "config",
                "migrate",
                "--key-id",
                "alias/a",
                "--mode",
                mode,
                "--output",
                to.to_str().unwrap(),
                from.to_str().unwrap(),
            ])
        };
        let first = sb.path(&format!("{mode}.jsonl"));
        let out = migrate(&input, &first);
        let err = stderr(&out);
        // rewrap has no data key to keep in the direct scheme: those two entries fail (exit 1).
        let (migrated, failed) = if mode == "rekey" { (6, 0) } else { (4, 2) };
        assert!(
            err.contains(&format!(
                "{migrated} migrated (0 renamed), 0 already migrated, {failed} failed"
            )),
            "{mode}: {err}"
        );
        assert_eq!(
            out.status.code(),
            Some(if failed == 0 { 0 } else { 1 }),
            "{err}"
        );
        let moved = read_lines(&first);
        for m in &moved {
            let id = ConfigId::new(m["dataId"].as_str().unwrap(), "G", "prod");
            config::decrypt(&rotated, &id, &s(m, "content"), &s(m, "encryptedDataKey")).unwrap();
            let origin =
                doctor::diagnose(&id, &s(m, "content"), &s(m, "encryptedDataKey")).key_origin;
            let doctor_json = format!("{origin:?}");
            assert!(doctor_json.contains(&primary), "{mode}: {doctor_json}");
        }
        // Over the output: everything is under the new primary version, all skipped.
        let second = sb.path(&format!("{mode}-again.jsonl"));
        let out = migrate(&first, &second);
        let err = stderr(&out);
        assert!(out.status.success(), "{mode}: {err}");
        assert!(
            err.contains(&format!(
                "0 migrated (0 renamed), {migrated} already migrated, 0 failed"
            )),
            "{mode}: {err}"
        );
        assert_eq!(fs::read(&second).unwrap(), fs::read(&first).unwrap());
    }
}

#[test]
fn on_a_terminal_the_progress_line_ends_at_the_total() {
    // A pseudo-terminal from util-linux `script`: stderr is a terminal, so the progress line is
    // drawn; its last update is always the total, whatever the workers' timing.
    let sb = Sandbox::new("progress");
    let (kr, k) = sb.keyring("keyring", "alias/a");
    let mut lines = Vec::new();
    for _ in 0..20 {
        lines.extend(corpus(&k, "alias/a"));
    }
    let input = sb.write_lines("in.jsonl", &lines);
    let cmd = format!(
        "{BIN} --keyring {} config migrate --key-id alias/a --threads 4 --dry-run {}",
        kr.display(),
        input.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("NACOSCRYPT_KEYRING")
        .env("HOME", "/nonexistent")
        .output()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let last = text
        .split('\r')
        .rfind(|part| part.contains("entries/s ETA"))
        .unwrap_or_else(|| panic!("no progress line: {text:?}"));
    assert!(last.starts_with("120/120 "), "{last:?} in {text:?}");
    assert!(text.contains("0 failed, of 120"), "{text}");
}
