//! `nacoscrypt completions` and `nacoscrypt man`, run as a packager runs them: every shell's
//! script names every command, the bash one loads into a real bash and completes, the man pages
//! are well-formed roff for every subcommand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_nacoscrypt");
const COMMANDS: [&str; 8] = [
    "keyring",
    "config",
    "token",
    "kms",
    "auth",
    "secret",
    "completions",
    "man",
];

fn stdout(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_shell_gets_a_script_naming_every_command() {
    for (shell, marker) in [
        ("bash", "complete -F _nacoscrypt"),
        ("zsh", "#compdef nacoscrypt"),
        ("fish", "complete -c nacoscrypt"),
        ("elvish", "edit:completion:arg-completer[nacoscrypt]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = stdout(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for command in COMMANDS {
            assert!(script.contains(command), "{shell}: {command} missing");
        }
        // Nested commands and their options too.
        assert!(
            script.contains("encrypt") && script.contains("data-id"),
            "{shell}"
        );
    }
    let bad = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_bash_script_loads_and_completes() {
    let script = stdout(&["completions", "bash"]);
    let dir = std::env::temp_dir().join(format!("nacoscrypt-completions-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nacoscrypt.bash");
    fs::write(&path, script).unwrap();
    // Source it, then ask the completion function what follows `nacoscrypt con`.
    let probe = format!(
        "source '{}' && complete -p nacoscrypt && COMP_WORDS=(nacoscrypt con) COMP_CWORD=1 \
         COMP_LINE='nacoscrypt con' COMP_POINT=14 && _nacoscrypt nacoscrypt con nacoscrypt \
         && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &probe])
        .output()
        .unwrap();
    fs::remove_dir_all(&dir).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.lines().any(|l| l == "config"), "{text}");
}

#[test]
fn man_page_to_stdout_and_one_page_per_command() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH nacoscrypt 1"), "{page}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH OPTIONS",
        ".SH SUBCOMMANDS",
    ] {
        assert!(page.contains(section), "{section}");
    }
    for command in COMMANDS {
        assert!(page.contains(command), "{command}");
    }
    let dir = std::env::temp_dir().join(format!("nacoscrypt-man-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    stdout(&["man", "--dir", dir.to_str().unwrap()]);
    for name in [
        "nacoscrypt.1",
        "nacoscrypt-config.1",
        "nacoscrypt-config-encrypt.1",
        "nacoscrypt-kms-check.1",
    ] {
        let text = fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            text.contains(".TH nacoscrypt-") || name == "nacoscrypt.1",
            "{name}"
        );
    }
    // roff that man(1) renders without a warning, where man is installed.
    if Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let out = Command::new("man")
            .args(["--warnings", "-E", "UTF-8", "-l"])
            .arg(dir.join("nacoscrypt-config-encrypt.1"))
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).trim().is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("--data-id"));
    }
    fs::remove_dir_all(&dir).unwrap();
}
