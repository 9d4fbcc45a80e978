//! `--kms pkcs11` and `kms check`, running the binary against SoftHSM2 tokens made by
//! kms/pkcs11/tests/common (skipped without SoftHSM2 unless NACOSCRYPT_REQUIRE_SERVERS is set).
#![cfg(feature = "pkcs11")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../../kms/pkcs11/tests/common/mod.rs"]
mod common;

use common::{USER_PIN, env, generate_aes_key, pin_file, raw_module};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");

fn run(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("NACOSCRYPT_PKCS11_PIN")
        .env_remove("NACOSCRYPT_PKCS11_MODULE")
        .env_remove("NACOSCRYPT_PKCS11_KEY_LABEL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn encrypt_decrypt_check_and_rotate_with_a_pkcs11_token() {
    let Some(env) = env() else { return };
    let m = raw_module(&env.module);
    generate_aes_key(&m, "main", "cli-2025", 32);
    generate_aes_key(&m, "main", "cli-2026", 32);
    let module = env.module.to_str().unwrap();
    let pin = pin_file("cli-pin", USER_PIN);
    let pin = pin.to_str().unwrap();
    let base = [
        "--kms",
        "pkcs11",
        "--pkcs11-module",
        module,
        "--pkcs11-token-label",
        "main",
        "--pkcs11-pin-file",
        pin,
    ];
    let with = |more: &[&'static str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(more);
        v
    };

    let mut stored = Vec::new();
    for (data_id, label) in [
        ("cipher-kms-aes-256-db.properties", "cli-2025"),
        ("cipher-token.json", "cli-2025"),
        ("cipher-kms-aes-128-db.properties", "cli-2026"),
    ] {
        let mut args = with(&["--pkcs11-key-label"]);
        args.push(label);
        args.extend_from_slice(&["config", "encrypt", "--data-id", data_id]);
        let (code, out, err) = run(&args, &[], b"password=s3cret");
        assert_eq!(code, 0, "{err}");
        stored.push(out);
    }
    // Decrypt needs no key label: each blob names its key (both labels live in the token).
    for out in &stored {
        let (code, plain, err) = run(&with(&["config", "decrypt"]), &[], out);
        assert_eq!(code, 0, "{err}");
        assert_eq!(plain, b"password=s3cret");
    }
    // The PIN from the environment instead of a file, the module from the environment too.
    let (code, plain, err) = run(
        &[
            "--kms",
            "pkcs11",
            "--pkcs11-token-label",
            "main",
            "config",
            "decrypt",
        ],
        &[
            ("NACOSCRYPT_PKCS11_PIN", USER_PIN),
            ("NACOSCRYPT_PKCS11_MODULE", module),
        ],
        &stored[0],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(plain, b"password=s3cret");

    // kms check: module, token and key; never the PIN.
    let (code, out, err) = run(
        &with(&["--pkcs11-key-label", "cli-2026", "kms", "check"]),
        &[],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["kms"], "pkcs11");
    assert_eq!(report["usable"], true);
    assert_eq!(report["token_label"], "main");
    assert_eq!(report["key_label"], "cli-2026");
    assert!(!String::from_utf8_lossy(&out).contains(USER_PIN));
    // --key-id names another label.
    let (code, out, _) = run(&with(&["kms", "check", "--key-id", "cli-2025"]), &[], b"");
    assert_eq!(code, 0);
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["key_label"], "cli-2025");

    // A missing key: exit 3, a report that says so.
    let (code, out, err) = run(&with(&["kms", "check", "--key-id", "no-such"]), &[], b"");
    assert_eq!(code, 3, "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["usable"], false);
    assert!(err.contains("unknown key"), "{err}");
    // No key label at all for encrypt: a clear error.
    let (code, _, err) = run(
        &with(&["config", "encrypt", "--data-id", "cipher-x"]),
        &[],
        b"x",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("key label"), "{err}");
}

#[test]
fn pkcs11_usage_errors_and_a_wrong_pin() {
    let Some(env) = env() else { return };
    let module = env.module.to_str().unwrap();
    // No PIN: refused before anything is loaded, and the PIN cannot be an argument.
    let (code, _, err) = run(
        &[
            "--kms",
            "pkcs11",
            "--pkcs11-module",
            module,
            "--pkcs11-token-label",
            "main",
            "kms",
            "check",
        ],
        &[],
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("NACOSCRYPT_PKCS11_PIN"), "{err}");
    let (code, _, err) = run(
        &["--kms", "pkcs11", "--pkcs11-pin", "1234", "kms", "check"],
        &[],
        b"",
    );
    assert_eq!(code, 2, "{err}");
    // No module, no token.
    let (code, _, err) = run(&["--kms", "pkcs11", "kms", "check"], &[], b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--pkcs11-module"), "{err}");
    let (code, _, err) = run(
        &["--kms", "pkcs11", "--pkcs11-module", module, "kms", "check"],
        &[],
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--pkcs11-token-label"), "{err}");
    // PKCS#11 options with another KMS.
    let (code, _, err) = run(&["--pkcs11-module", module, "kms", "check"], &[], b"");
    assert_eq!(code, 2, "{err}");
    // A wrong PIN: exit 3, the module's code, not the PIN.
    let wrong = pin_file("cli-wrong-pin", "not-the-pin-9");
    let (code, _, err) = run(
        &[
            "--kms",
            "pkcs11",
            "--pkcs11-module",
            module,
            "--pkcs11-token-label",
            "wrong-pin",
            "--pkcs11-pin-file",
            wrong.to_str().unwrap(),
            "kms",
            "check",
        ],
        &[],
        b"",
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("CKR_PIN_INCORRECT"), "{err}");
    assert!(!err.contains("not-the-pin-9"), "{err}");
}

/// `kms check` of a PKCS#11 KMS that cannot be opened still prints its one report line.
#[test]
fn kms_check_reports_a_pkcs11_kms_that_cannot_be_opened() {
    let Some(env) = env() else { return };
    let module = env.module.to_str().unwrap();
    let wrong = pin_file("cli-check-wrong-pin", "not-the-pin-7");
    let right = pin_file("cli-check-pin", USER_PIN);
    let missing_module = env.dir.join("no-such-module.so");
    let missing_module = missing_module.to_str().unwrap();
    // (module, token, PIN file, what the error says)
    let cases = [
        (module, "wrong-pin", &wrong, "CKR_PIN_INCORRECT"),
        (module, "no-such-token", &right, "CKR_TOKEN_NOT_PRESENT"),
        (missing_module, "main", &right, "no-such-module.so"),
    ];
    for (module, token, pin, says) in cases {
        let (code, out, err) = run(
            &[
                "--kms",
                "pkcs11",
                "--pkcs11-module",
                module,
                "--pkcs11-token-label",
                token,
                "--pkcs11-pin-file",
                pin.to_str().unwrap(),
                "kms",
                "check",
            ],
            &[],
            b"",
        );
        assert_eq!(code, 3, "{token}: {err}");
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().count(), 1, "one report line: {out}");
        let report: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["kms"], "pkcs11", "{out}");
        assert_eq!(report["module"], module, "{out}");
        assert_eq!(report["usable"], false, "{out}");
        let reason = report["error"].as_str().unwrap();
        assert!(reason.contains(says), "{token}: {reason}");
        assert!(err.contains(says), "{token}: {err}");
        for text in [&out, &err] {
            assert!(
                !text.contains("not-the-pin-7") && !text.contains(USER_PIN),
                "{text}"
            );
        }
    }
    // The PIN given through the environment is not printed either.
    let (code, out, _) = run(
        &[
            "--kms",
            "pkcs11",
            "--pkcs11-module",
            module,
            "--pkcs11-token-label",
            "wrong-pin",
            "kms",
            "check",
        ],
        &[("NACOSCRYPT_PKCS11_PIN", "env-pin-5555")],
        b"",
    );
    assert_eq!(code, 3);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("\"usable\":false") && !out.contains("env-pin-5555"),
        "{out}"
    );
}
