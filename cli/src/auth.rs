//! `auth audit`: what in a Nacos server's settings weakens its auth, from its
//! `application.properties` and/or the Docker image's environment (the core's
//! [`audit`](nacoscrypt_core::token::audit::audit)).

use crate::failure::{Failure, REFUSED};
use crate::io::println;
use nacoscrypt_core::SecretString;
use nacoscrypt_core::properties::MAX_PROPERTIES_LEN;
use nacoscrypt_core::token::audit::{self, AUDIT_ENV_NAMES, AuditReport, Severity};
use nacoscrypt_core::token::settings::ENV_NAMES;
use std::path::Path;

/// What `auth audit` reads.
pub(crate) struct AuditSources<'a> {
    /// The server's `application.properties`.
    pub(crate) properties: Option<&'a Path>,
    /// A Docker env file (`NAME=value` lines, as `docker run --env-file` reads).
    pub(crate) env_file: Option<&'a Path>,
    /// Read the Docker image's names from this process's environment.
    pub(crate) process_env: bool,
}

/// `auth audit`: prints the findings (or the JSON report) and fails with exit 1 if any is an
/// error (with `strict`, a warning too).
pub(crate) fn audit(src: &AuditSources<'_>, json: bool, strict: bool) -> Result<(), Failure> {
    if src.properties.is_none() && src.env_file.is_none() && !src.process_env {
        return Err(Failure::usage(
            "nothing to audit: give --properties FILE, --env-file FILE and/or --env",
        ));
    }
    let text = src
        .properties
        .map(|p| read(p, "reading application.properties"))
        .transpose()?;
    let mut env: Vec<(String, SecretString)> = Vec::new();
    if src.process_env {
        let names = ENV_NAMES
            .iter()
            .chain(AUDIT_ENV_NAMES.iter())
            .map(|(n, _)| *n);
        for name in names {
            if let Some(v) = std::env::var_os(name).and_then(|v| v.into_string().ok()) {
                env.push((name.to_string(), SecretString::from(v)));
            }
        }
    }
    if let Some(path) = src.env_file {
        let text = read(path, "reading the env file")?;
        env.extend(parse_env_file(&text));
    }
    let report = audit::audit(
        text.as_ref().map(|t| t.as_str()),
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|e| Failure::plain(&e).prefixed("--properties"))?;
    if json {
        println(&report.to_json())?;
    } else {
        print_text(&report)?;
    }
    if report.passes(strict) {
        return Ok(());
    }
    Err(Failure {
        code: REFUSED,
        message: format!(
            "auth audit failed: {} error(s), {} warning(s){}",
            report.count(Severity::Error),
            report.count(Severity::Warning),
            if strict { " (--strict)" } else { "" }
        ),
    })
}

fn read(path: &Path, what: &'static str) -> Result<SecretString, Failure> {
    nacoscrypt_core::fs::read_text_file(path, MAX_PROPERTIES_LEN, what)
        .map(|t| SecretString::from(t.to_string()))
        .map_err(|e| Failure::plain(&e))
}

/// `NAME=value` lines; blank lines and `#` comments skipped; a line without `=` is ignored (Docker
/// takes the value from its own environment then, which an audit does not see).
fn parse_env_file(text: &str) -> Vec<(String, SecretString)> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), SecretString::from(v.to_string())))
        .collect()
}

fn print_text(report: &AuditReport) -> Result<(), Failure> {
    for f in &report.findings {
        println(&format!(
            "{:<7} {:<22} {}: {}",
            f.severity.name(),
            f.code,
            f.setting,
            f.message
        ))?;
    }
    println(&format!(
        "{} error(s), {} warning(s), {} note(s)",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info)
    ))
}
