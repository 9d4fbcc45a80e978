//! `config doctor` and `config migrate`, run as the built binary on generated corpora: every
//! scheme, both formats, a server plugin config (vector made with Python `cryptography`
//! following the plugin's source), missing and swapped encryptedDataKeys, a deleted key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use nacoscrypt_core::config::{self, ConfigId, Format};
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
