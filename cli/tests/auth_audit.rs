//! `nacoscrypt auth audit`: the built binary over properties files, env files and the
//! environment; exit codes for CI and the JSON report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");
const GOOD_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const DOC_KEY: &str = "SecretKey012345678901234567890123456789012345678901234567890123456789";

fn dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("nacoscrypt-audit-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn audit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["auth", "audit"]).args(args).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

fn codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_weak_properties_file_fails_with_exit_1() {
    let path = dir().join("weak.properties");
    std::fs::write(
        &path,
        format!(
            "nacos.core.auth.enabled=false\n\
             nacos.core.auth.enable.userAgentAuthWhite=true\n\
             nacos.core.auth.plugin.nacos.token.secret.key={DOC_KEY}\n\
             nacos.core.auth.plugin.nacos.token.expire.seconds=31536000\n\
             nacos.core.auth.plugin.nacos.token.cache.enable=true\n"
        ),
    )
    .unwrap();
    let out = audit(&["--properties", path.to_str().unwrap(), "--json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["ok"], false);
    let c = codes(&report);
    for code in [
        "auth_disabled",
        "user_agent_white_list",
        "public_secret_key",
        "identity_missing",
        "token_expiry_long",
        "token_cache_enabled",
    ] {
        assert!(c.iter().any(|x| x == code), "{code} missing: {c:?}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains(DOC_KEY));
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth audit failed"));
}

#[test]
fn a_good_docker_environment_passes_strict() {
    let env = [
        ("NACOS_AUTH_ENABLE", "true"),
        ("NACOS_AUTH_TOKEN", GOOD_KEY),
        ("NACOS_AUTH_IDENTITY_KEY", "X-Peer"),
        ("NACOS_AUTH_IDENTITY_VALUE", "9c1f0e"),
    ];
    let out = audit(&["--env", "--strict"], &env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 error(s), 0 warning(s)"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(GOOD_KEY));
}

#[test]
fn env_file_and_strict_warnings() {
    let path = dir().join("nacos.env");
    std::fs::write(
        &path,
        format!(
            "# docker env file\nNACOS_AUTH_ENABLE=true\nNACOS_AUTH_TOKEN={GOOD_KEY}\n\
             NACOS_AUTH_IDENTITY_KEY=serverIdentity\nNACOS_AUTH_IDENTITY_VALUE=9c1f0e\n"
        ),
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let out = audit(&["--env-file", p, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(codes(&json(&out)), ["identity_default"]);
    assert_eq!(
        audit(&["--env-file", p, "--strict"], &[]).status.code(),
        Some(1)
    );
}

#[test]
fn usage_and_io_errors() {
    assert_eq!(audit(&[], &[]).status.code(), Some(2));
    assert_eq!(
        audit(
            &["--properties", "/nonexistent/application.properties"],
            &[]
        )
        .status
        .code(),
        Some(3)
    );
}
