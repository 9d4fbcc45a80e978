//! `--kms aliyun` and `kms check`, running the binary against the loopback test KMS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../../kms/aliyun/tests/common/mod.rs"]
mod common;

use common::{AK, SECRET, server};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");

fn run(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .env_remove("NACOSCRYPT_KMS_PROPERTIES")
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
fn encrypt_decrypt_and_check_with_alibaba_cloud_kms() {
    let Some((s, _g)) = server() else { return };
    let dir = std::env::temp_dir().join(format!("nacoscrypt-cli-aliyun-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let props = dir.join("kms.properties");
    std::fs::write(
        &props,
        format!(
            "kmsEndpoint={}\naccessKey={AK}\nsecretKey={SECRET}\nkeyId=alias/test\nkmsCaFile={}\n",
            s.kms(),
            s.get("ca")
        ),
    )
    .unwrap();
    let p = props.to_str().unwrap();
    for data_id in ["cipher-kms-aes-256-db.properties", "cipher-token.json"] {
        let (code, out, err) = run(
            &[
                "--kms",
                "aliyun",
                "--kms-properties",
                p,
                "config",
                "encrypt",
                "--data-id",
                data_id,
            ],
            &[],
            b"password=s3cret",
        );
        assert_eq!(code, 0, "{err}");
        let (code, plain, err) = run(
            &[
                "--kms",
                "aliyun",
                "--kms-properties",
                p,
                "config",
                "decrypt",
            ],
            &[],
            &out,
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(plain, b"password=s3cret");
    }
    // kms check: which credentials, which key; never the secret.
    let (code, out, err) = run(
        &["--kms", "aliyun", "kms", "check"],
        &[("NACOSCRYPT_KMS_PROPERTIES", p)],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["usable"], true);
    assert_eq!(report["provider"], "static_ak");
    assert_eq!(report["key_id"], "alias/test");
    assert!(!String::from_utf8_lossy(&out).contains(SECRET));
    // The environment instead of a file: endpoint and CA from NACOSCRYPT_*, the key pair from
    // the official variables.
    let env = [
        ("NACOSCRYPT_KMS_ENDPOINT", s.kms()),
        ("NACOSCRYPT_KMS_CA_FILE", s.get("ca")),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", AK.to_owned()),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET.to_owned()),
        ("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true".to_owned()),
        ("HOME", dir.to_str().unwrap().to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, out, err) = run(&["--kms", "aliyun", "kms", "check"], &env, b"");
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["provider"], "env");
    assert_eq!(report["key_id"], "alias/acs/mse");
    // A KMS outage: exit 3 with the service's code.
    s.faults(serde_json::json!([{"server": "kms", "kind": "unavailable", "count": 20}]));
    let (code, out, err) = run(
        &["--kms", "aliyun", "--kms-properties", p, "kms", "check"],
        &[],
        b"",
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("ServiceUnavailableTemporary"), "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["usable"], false);
    s.reset();
    // Usage errors.
    let (code, _, err) = run(
        &["--kms", "aliyun", "kms", "check"],
        &[("HOME", dir.to_str().unwrap())],
        b"",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--kms-properties"), "{err}");
    let (code, _, _) = run(&["--kms-properties", p, "kms", "check"], &[], b"");
    assert_eq!(code, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn encrypt_decrypt_and_check_with_a_kms_instance() {
    let Some((s, _g)) = common::instance_server() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("nacoscrypt-cli-instance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let props = dir.join("instance.properties");
    std::fs::write(
        &props,
        format!(
            "kmsEndpoint={}\nclientKeyFile={}\nclientKeyPasswordFromEnvVariable=CK_PASSWORD\nkmsCaFile={}\n",
            s.get("instance"),
            s.get("client_key_good"),
            s.get("ca")
        ),
    )
    .unwrap();
    let password = std::fs::read_to_string(s.get("client_key_good_password")).unwrap();
    let env = [("CK_PASSWORD", password.as_str())];
    let p = props.to_str().unwrap();
    let base = ["--kms", "aliyun-instance", "--kms-properties", p];
    let (code, out, err) = run(
        &[
            &base[..],
            &["config", "encrypt", "--data-id", "cipher-kms-aes-256-x"],
        ]
        .concat(),
        &env,
        b"password=s3cret",
    );
    assert_eq!(code, 0, "{err}");
    let (code, plain, err) = run(&[&base[..], &["config", "decrypt"]].concat(), &env, &out);
    assert_eq!(code, 0, "{err}");
    assert_eq!(plain, b"password=s3cret");
    let (code, out, err) = run(&[&base[..], &["kms", "check"]].concat(), &env, b"");
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["usable"], true);
    assert_eq!(
        report["client_key_id"],
        s.get("client_key_good_id").as_str()
    );
    assert!(!String::from_utf8_lossy(&out).contains(&password));
    // Without the password variable: a settings error naming it, exit 2.
    let (code, _, err) = run(&[&base[..], &["kms", "check"]].concat(), &[], b"");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("environment variable"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
