//! `--kms aws` and `kms check`, running the binary against moto behind the TLS front.
#![cfg(feature = "aws")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../../kms/aws/tests/common/mod.rs"]
mod common;

use common::server;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");

fn run(args: &[&str], env: &[(&str, String)], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut cmd = Command::new(BIN);
    // Only what the test gives: no AWS variable of the machine, no ~/.aws, no IMDS.
    cmd.args(args)
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", std::env::temp_dir())
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
fn encrypt_decrypt_and_check_with_aws_kms() {
    let Some((s, _g)) = server() else { return };
    let env = [
        ("AWS_ACCESS_KEY_ID", s.get("access_key_id")),
        ("AWS_SECRET_ACCESS_KEY", s.get("secret")),
    ];
    let endpoint = s.kms();
    let ca = s.get("ca");
    let aws = [
        "--kms",
        "aws",
        "--aws-region",
        "us-east-1",
        "--aws-endpoint",
        &endpoint,
        "--aws-ca-file",
        &ca,
    ];
    for data_id in [
        "cipher-kms-aes-256-db.properties",
        "cipher-kms-aes-128-x.yaml",
        "cipher-token.json",
    ] {
        let mut args = aws.to_vec();
        args.extend([
            "config",
            "encrypt",
            "--data-id",
            data_id,
            "--key-id",
            "alias/nacos",
        ]);
        let (code, out, err) = run(&args, &env, b"password=s3cret");
        assert_eq!(code, 0, "{data_id}: {err}");
        let mut args = aws.to_vec();
        args.extend(["config", "decrypt"]);
        let (code, plain, err) = run(&args, &env, &out);
        assert_eq!(code, 0, "{data_id}: {err}");
        assert_eq!(plain, b"password=s3cret");
    }
    let mut args = aws.to_vec();
    args.extend(["kms", "check", "--key-id", "alias/nacos"]);
    let (code, out, err) = run(&args, &env, b"");
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["kms"], "aws");
    assert_eq!(report["usable"], true);
    assert_eq!(report["provider"], "env");
    assert_eq!(report["region"], "us-east-1");
    assert_eq!(report["key_id"], serde_json::json!(s.key("alias/nacos")));
    assert!(!String::from_utf8_lossy(&out).contains(&s.get("secret")));
    // The key from $NACOSCRYPT_KMS_KEY_ID, the CA from $NACOSCRYPT_AWS_CA_FILE, the region and
    // endpoint from the AWS SDKs' variables.
    let env2 = [
        env[0].clone(),
        env[1].clone(),
        ("NACOSCRYPT_KMS_KEY_ID", "alias/other".to_owned()),
        ("NACOSCRYPT_AWS_CA_FILE", ca.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL_KMS", format!("https://{endpoint}")),
    ];
    let (code, out, err) = run(&["--kms", "aws", "kms", "check"], &env2, b"");
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["key_id"], serde_json::json!(s.key("alias/other")));
    // An outage: exit 3 with the service's code, a report saying unusable.
    s.faults(serde_json::json!([{"server": "kms", "kind": "unavailable", "count": 20}]));
    let mut args = aws.to_vec();
    args.extend(["kms", "check", "--key-id", "alias/nacos"]);
    let (code, out, err) = run(&args, &env, b"");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("ServiceUnavailableException"), "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["usable"], false);
    s.reset();
    // No key id, no region, plain http: clear errors, never a panic.
    let mut args = aws.to_vec();
    args.extend(["config", "encrypt", "--data-id", "cipher-kms-aes-256-x"]);
    let (code, _, err) = run(&args, &env, b"x");
    assert_ne!(code, 0);
    assert!(err.contains("no AWS KMS key id"), "{err}");
    let (code, _, err) = run(&["--kms", "aws", "kms", "check"], &env, b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no AWS region"), "{err}");
    let (code, _, err) = run(
        &[
            "--kms",
            "aws",
            "--aws-region",
            "us-east-1",
            "--aws-endpoint",
            "http://127.0.0.1:1",
            "kms",
            "check",
        ],
        &env,
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("https://"), "{err}");
}
