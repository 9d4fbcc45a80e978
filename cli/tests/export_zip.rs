//! `config migrate` and `config doctor` on console export ZIPs, run as the built binary. The
//! exports are made by Python's `zipfile` written to a stream (DEFLATE, data descriptors, zero
//! sizes in the local headers, as Java's `ZipOutputStream` writes them), with metadata texts as
//! SnakeYAML and the v1 exporter write them; what the command writes is read back by `zipfile`
//! (and by PyYAML when the interpreter has it).
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
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");

/// Writes the files given as JSON `[[name, text], ...]` on stdin to the ZIP at argv[1] through a
/// non-seekable stream, so that `zipfile` uses data descriptors as Java does.
const MAKE_ZIP: &str = r#"
import io, json, sys, zipfile
class Stream(io.RawIOBase):
    def __init__(self): self.b = bytearray()
    def writable(self): return True
    def write(self, d): self.b += d; return len(d)
s = Stream()
with zipfile.ZipFile(s, "w", zipfile.ZIP_DEFLATED) as z:
    for name, text in json.load(sys.stdin):
        z.writestr(name, text.encode("utf-8"))
data = bytes(s.b)
# The local header of the first entry has the data-descriptor flag and zero sizes.
assert data[6] & 8 and data[18:26] == bytes(8), "not written as a stream"
open(sys.argv[1], "wb").write(data)
"#;

/// Prints `{"names": [...], "files": {name: text}, "yaml": <parsed .metadata.yml or null>}`.
const READ_ZIP: &str = r#"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
files = {i.filename: z.read(i).decode("utf-8") for i in z.infolist()}
try:
    import yaml
    parsed = yaml.safe_load(files[".metadata.yml"])
except ImportError:
    parsed = None
print(json.dumps({"names": z.namelist(), "files": files, "yaml": parsed}))
"#;

struct Sandbox(PathBuf);

impl Sandbox {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("nacoscrypt-zip-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn keyring(&self, name: &str, key_id: &str) -> (String, Keyring) {
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
        (path.to_str().unwrap().to_owned(), k)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn python(script: &str, args: &[&Path], stdin: &str) -> String {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (the tests build and read ZIPs with its zipfile module)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn make_zip(path: &Path, files: &[(&str, &str)]) {
    python(MAKE_ZIP, &[path], &json!(files).to_string());
}

fn read_zip(path: &Path) -> Value {
    serde_json::from_str(&python(READ_ZIP, &[path], "")).unwrap()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NACOSCRYPT_KEYRING")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// SnakeYAML's `dumpAsMap` of the metadata: block style, keys in order, `'…'` where plain would
/// not read back, a folded long plain scalar, a literal block for multi-line text.
fn snakeyaml_metadata(items: &[(&str, &str, &str)]) -> String {
    let mut y = String::from("metadata:\n");
    for (i, (data_id, group, ty)) in items.iter().enumerate() {
        match i {
            0 => y.push_str(
                "- appName: ' shop'\n  configTags: a,b\n  dataId: DID\n  desc: 'db: primary #1, \"q\" ''s'' 中文'\n",
            ),
            1 => y.push_str(
                "- appName: billing\n  dataId: DID\n  desc: a rather long description that SnakeYAML folds\n    over two lines\n",
            ),
            2 => y.push_str("- dataId: DID\n  desc: |-\n    line one\n      line two\n"),
            _ => y.push_str("- dataId: DID\n"),
        }
        y = y.replace("DID", data_id);
        y.push_str(&format!("  group: {group}\n  type: {ty}\n"));
    }
    y
}

#[test]
fn a_v2_export_migrates_to_a_zip_that_keeps_its_keys_and_metadata() {
    let sb = Sandbox::new("v2");
    let (old_path, old) = sb.keyring("old.keyring", "alias/old");
    let (new_path, new) = sb.keyring("new.keyring", "alias/new");
    let tenant = "prod";
    let mut files: Vec<(String, String)> = Vec::new();
    let mut sidecar = String::new();
    let mut items = Vec::new();
    let configs = [
        ("cipher-kms-aes-256-db:main.yaml", Format::Nacos, "yaml"),
        (
            "cipher-kms-aes-128-app.properties",
            Format::V1,
            "properties",
        ),
        ("cipher-token", Format::Nacos, "text"),
        ("cipher-kms-aes-256-nokey", Format::Nacos, "text"),
    ];
    for (i, (data_id, format, ty)) in configs.iter().enumerate() {
        let id = ConfigId::new(data_id, "DEFAULT_GROUP", tenant);
        let s = config::encrypt(&old, &id, &format!("v={i}&x"), "alias/old", *format).unwrap();
        files.push((format!("DEFAULT_GROUP/{data_id}"), s.content));
        // The last envelope config's key is lost: not in the sidecar.
        if i != 3 {
            sidecar.push_str(&format!(
                "{}\n",
                json!({"dataId": data_id, "group": "DEFAULT_GROUP", "tenant": tenant,
                       "content": "ignored", "encryptedDataKey": s.encrypted_data_key})
            ));
        }
        items.push((*data_id, "DEFAULT_GROUP", *ty));
    }
    files.push(("OTHER/plain.txt".into(), "hello: world".into()));
    items.push(("plain.txt", "OTHER", "text"));
    files.push((".metadata.yml".into(), snakeyaml_metadata(&items)));
    let export = sb.path("export.zip");
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    make_zip(&export, &refs);
    let keys = sb.path("keys.jsonl");
    fs::write(&keys, &sidecar).unwrap();
    let out_zip = sb.path("backup.zip");

    let o = run(&[
        "--keyring",
        &new_path,
        "config",
        "migrate",
        "--from-keyring",
        &old_path,
        "--key-id",
        "alias/new",
        "--edk-sidecar",
        keys.to_str().unwrap(),
        "--tenant",
        tenant,
        "--output",
        out_zip.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("entry \"DEFAULT_GROUP/cipher-kms-aes-256-nokey\": failed")
            && err.contains("at step structure: missing encryptedDataKey"),
        "{err}"
    );
    assert!(
        err.contains(
            "3 migrated (0 renamed), 0 already migrated, 1 not encrypted (copied), 1 failed, of 5"
        ),
        "{err}"
    );

    let back = read_zip(&out_zip);
    let names: Vec<&str> = back["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "DEFAULT_GROUP/cipher-kms-aes-256-db:main.yaml",
            "DEFAULT_GROUP/cipher-kms-aes-128-app.properties",
            "DEFAULT_GROUP/cipher-token",
            "OTHER/plain.txt",
            ".metadata.yml"
        ]
    );
    assert_eq!(back["files"]["OTHER/plain.txt"], "hello: world");
    let meta = back["files"][".metadata.yml"].as_str().unwrap();
    // Each migrated config decrypts under the new key with the encryptedDataKey the metadata
    // carries (read here by a line scan; PyYAML below when present).
    for (i, (data_id, _, _)) in configs.iter().take(3).enumerate() {
        let content = back["files"][format!("DEFAULT_GROUP/{data_id}")]
            .as_str()
            .unwrap();
        // The direct scheme (cipher-token) has no encryptedDataKey: the content is the blob.
        let item = &meta[meta.find(&format!("dataId: {data_id}\n")).unwrap()..];
        let item = &item[..item.find("\n- ").unwrap_or(item.len())];
        let edk = item
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("encryptedDataKey: "))
            .unwrap_or("");
        assert_eq!(edk.is_empty(), *data_id == "cipher-token", "{meta}");
        let id = ConfigId::new(data_id, "DEFAULT_GROUP", tenant);
        let plain = config::decrypt(&new, &id, content, edk).unwrap();
        assert_eq!(plain.as_str(), format!("v={i}&x"));
    }
    if back["yaml"].is_null() {
        eprintln!("PyYAML not installed: .metadata.yml checked by line scan only");
    } else {
        let m = back["yaml"]["metadata"].as_array().unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0]["appName"], " shop");
        assert_eq!(m[0]["configTags"], "a,b");
        assert_eq!(m[0]["desc"], "db: primary #1, \"q\" 's' 中文");
        assert_eq!(m[0]["type"], "yaml");
        assert_eq!(
            m[1]["desc"],
            "a rather long description that SnakeYAML folds over two lines"
        );
        assert_eq!(m[2]["desc"], "line one\n  line two");
        assert_eq!(m[3]["dataId"], "plain.txt");
        assert!(m[3].get("encryptedDataKey").is_none());
        for item in &m[..3] {
            let data_id = item["dataId"].as_str().unwrap();
            let content = back["files"][format!("DEFAULT_GROUP/{data_id}")]
                .as_str()
                .unwrap();
            let id = ConfigId::new(data_id, "DEFAULT_GROUP", tenant);
            let edk = item["encryptedDataKey"].as_str().unwrap_or("");
            assert!(config::decrypt(&new, &id, content, edk).is_ok());
        }
    }

    // Resumable: the backup fed back in (keys from its own metadata, no sidecar) is already
    // in the target form; doctor --check passes on it.
    let again = sb.path("again.zip");
    let o = run(&[
        "--keyring",
        &new_path,
        "config",
        "migrate",
        "--from-keyring",
        &old_path,
        "--key-id",
        "alias/new",
        "--tenant",
        tenant,
        "--output",
        again.to_str().unwrap(),
        out_zip.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "0 migrated (0 renamed), 3 already migrated, 1 not encrypted (copied), 0 failed"
        ),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "--keyring",
        &new_path,
        "config",
        "doctor",
        "--check",
        "--json",
        "--tenant",
        tenant,
        again.to_str().unwrap(),
    ]);
    let reports: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 4);
    assert!(
        reports[..3].iter().all(|r| r["healthy"] == true),
        "{reports:?}"
    );
    // JSON lines out of a ZIP in.
    let jsonl = sb.path("out.jsonl");
    let o = run(&[
        "--keyring",
        &new_path,
        "config",
        "migrate",
        "--key-id",
        "alias/new",
        "--tenant",
        tenant,
        "--output",
        jsonl.to_str().unwrap(),
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = fs::read_to_string(&jsonl).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<Value>(l).unwrap()["tenant"] == tenant)
    );
}

#[test]
fn a_v1_export_and_doctor_name_the_missing_keys() {
    let sb = Sandbox::new("v1");
    let (kr, k) = sb.keyring("k.keyring", "alias/k");
    let id = ConfigId::new("cipher-kms-aes-256-db.yaml", "G", "");
    let s = config::encrypt(&k, &id, "a=1", "alias/k", Format::Nacos).unwrap();
    let export = sb.path("v1.zip");
    make_zip(
        &export,
        &[
            ("G/cipher-kms-aes-256-db.yaml", &s.content),
            ("G/", ""),
            (".meta.yml", "G.cipher-kms-aes-256-db~yaml.app=shop\r\n"),
        ],
    );
    // No key anywhere: doctor says so and names the sidecar.
    let o = run(&["config", "doctor", "--json", export.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("give --edk-sidecar"), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["healthy"], false);
    // With the sidecar (what `config encrypt` printed), it decrypts; the v1 app name travels
    // into the written v2 metadata.
    let keys = sb.path("keys.jsonl");
    fs::write(&keys, format!("{}\n", json!({"dataId": id.data_id, "group": "G", "tenant": "", "content": s.content, "encryptedDataKey": s.encrypted_data_key}))).unwrap();
    let o = run(&[
        "--keyring",
        &kr,
        "config",
        "doctor",
        "--check",
        "--edk-sidecar",
        keys.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = sb.path("out.bin");
    let o = run(&[
        "--keyring",
        &kr,
        "config",
        "migrate",
        "--mode",
        "rewrap",
        "--key-id",
        "alias/k",
        "--out-format",
        "zip",
        "--edk-sidecar",
        keys.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = read_zip(&out);
    let meta = back["files"][".metadata.yml"].as_str().unwrap();
    assert!(
        meta.starts_with(
            "metadata:\n- appName: shop\n  dataId: cipher-kms-aes-256-db.yaml\n  encryptedDataKey: "
        ),
        "{meta}"
    );
    assert!(meta.ends_with("  group: G\n  type: text\n"), "{meta}");
}

#[test]
fn bad_archives_and_sidecars_are_usage_errors() {
    let sb = Sandbox::new("bad");
    let junk = sb.path("junk.zip");
    fs::write(&junk, b"PK\x03\x04 not really").unwrap();
    let o = run(&["config", "doctor", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid ZIP archive"), "{}", stderr(&o));
    let export = sb.path("e.zip");
    make_zip(
        &export,
        &[
            ("G/cipher-x", "abc"),
            (".metadata.yml", "metadata:\n- {dataId: a}\n"),
        ],
    );
    let o = run(&["config", "doctor", export.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(".metadata.yml line 2: flow collections are not supported"),
        "{}",
        stderr(&o)
    );
    make_zip(&export, &[("G/cipher-x", "abc")]);
    let keys = sb.path("k.jsonl");
    fs::write(&keys, "{\"dataId\":\"cipher-x\"}\n").unwrap();
    let o = run(&[
        "config",
        "doctor",
        "--edk-sidecar",
        keys.to_str().unwrap(),
        export.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("line 1: needs dataId, group and encryptedDataKey"),
        "{}",
        stderr(&o)
    );
    // A sidecar with JSON lines input is refused: they carry their keys.
    let lines = sb.path("in.jsonl");
    fs::write(&lines, "{}\n").unwrap();
    let o = run(&[
        "config",
        "doctor",
        "--edk-sidecar",
        keys.to_str().unwrap(),
        lines.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
