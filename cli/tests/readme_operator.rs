//! The README's operator examples ("a config will not decrypt — what now?", "moving off the
//! Shared KMS / off the server plugin"): every `sh` block marked `<!-- ci:operator -->` is run
//! as written with the built `nacoscrypt` first on `PATH`, under `bash -euo pipefail`, in an
//! empty folder of its own (and `HOME` there, so nothing outside is touched). Blocks that need
//! real cloud credentials carry no marker and say so in the README.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");
const MARKER: &str = "<!-- ci:operator -->";

/// The repository's README (this crate sits one folder below it).
fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `sh` blocks right after each marker, in order.
fn marked_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(MARKER) {
        rest = &rest[at + MARKER.len()..];
        let body = rest
            .trim_start()
            .strip_prefix("```sh\n")
            .unwrap_or_else(|| panic!("{MARKER} is not followed by a ```sh block"));
        let end = body.find("\n```").expect("an unterminated ```sh block");
        blocks.push(body[..end + 1].to_owned());
        rest = &body[end..];
    }
    blocks
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs one block in a fresh folder: its stdout and stderr, panicking if it fails.
fn run_block(n: usize, block: &str) -> (Dir, String, String) {
    let dir =
        Dir(std::env::temp_dir().join(format!("nacoscrypt-readme-{}-{n}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(&dir.0)
        .env("PATH", path)
        .env("HOME", &dir.0)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NACOSCRYPT_KEYRING")
        .env_remove("NACOSCRYPT_KMS_PROPERTIES")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "README operator block {n} failed ({}):\n{block}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    (dir, stdout, stderr)
}

#[test]
fn the_readme_operator_examples_run_as_written() {
    let text = readme();
    let blocks = marked_blocks(&text);
    assert_eq!(
        blocks.len(),
        2,
        "the README's two runnable operator examples are marked {MARKER}"
    );

    // A config will not decrypt — what now?
    let (_dir, out, err) = run_block(0, &blocks[0]);
    assert!(out.contains("WILL NOT DECRYPT"), "{out}");
    assert!(out.contains("missing-encrypted-data-key"), "{out}");
    assert!(
        out.contains("check: decrypts (15 bytes of plaintext)"),
        "{out}"
    );
    assert_eq!(out.matches("exit 1").count(), 2, "{out}");
    assert!(
        out.contains("\"healthy\":true\n\"healthy\":false\n\"failedStep\":\"structure\"\n"),
        "{out}"
    );
    assert!(!out.contains("s3cret") && !err.contains("s3cret"));

    // Off the server plugin, and a second run over the output.
    let (dir, out, err) = run_block(1, &blocks[1]);
    assert!(
        out.starts_with("created keyring ./keyring (mode 0600)"),
        "{out}"
    );
    assert!(out.ends_with("\npassword=s3cret"), "{out}\n{err}");
    for line in [
        r#"line 1: renamed "cipher-aes-db.properties" -> "cipher-kms-aes-256-db.properties""#,
        r#"line 2: renamed "cipher-doubleAes-app.properties" -> "cipher-kms-aes-256-app.properties""#,
        "2 migrated (2 renamed), 0 already migrated, 0 failed, of 2",
        "0 migrated (0 renamed), 2 already migrated, 0 failed, of 2",
    ] {
        assert!(err.contains(line), "{line}\n{err}");
    }
    let kms = std::fs::read(dir.0.join("kms.jsonl")).unwrap();
    assert_eq!(std::fs::read(dir.0.join("again.jsonl")).unwrap(), kms);
}
