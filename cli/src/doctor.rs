//! `config doctor`: why a stored config will not decrypt.

use crate::failure::{ENVIRONMENT, Failure, REFUSED, USAGE};
use crate::io::write_stdout;
use crate::kms::Opened;
use crate::stream::{InputSpec, Origin, read_input};
use nacoscrypt_core::config::doctor::{self, Diagnosis, Keys, Severity, Step};
use std::fmt::Write;

/// What `config doctor` was asked.
#[derive(Debug)]
pub(crate) struct DoctorRequest<'a> {
    /// The stream (a file, or standard input), JSON lines or an export ZIP.
    pub(crate) input: InputSpec<'a>,
    /// One JSON report a line instead of text.
    pub(crate) json: bool,
}

/// Diagnoses every config of the input, with `opened` (and a plugin secret) if given.
/// Exit: 0 nothing worse than a warning, 1 some config will not decrypt, 3 a key service failed.
pub(crate) fn run(
    req: &DoctorRequest<'_>,
    opened: Option<&Opened>,
    plugin_server_secret: Option<&str>,
) -> Result<(), Failure> {
    let entries = read_input(&req.input)?.entries;
    let keys = Keys {
        kms: opened.map(Opened::as_kms),
        plugin_server_secret,
    };
    let check = opened.is_some() || plugin_server_secret.is_some();
    let mut out = String::new();
    let (mut bad, mut kms_failed, mut unreadable) = (0usize, false, 0usize);
    for (line, entry) in &entries {
        let c = match entry {
            Ok(c) => c,
            Err(why) => {
                unreadable += 1;
                if req.json {
                    let at = match line {
                        Origin::Line(n) => format!("\"line\":{n}"),
                        Origin::Entry(name) => {
                            format!("\"entry\":{}", serde_json::Value::from(name.as_str()))
                        }
                    };
                    let _ = writeln!(
                        out,
                        "{{{at},\"error\":{}}}",
                        serde_json::Value::from(why.as_str())
                    );
                } else {
                    let _ = writeln!(out, "{line}: unreadable: {why}");
                }
                continue;
            }
        };
        let id = c.id();
        let d = if check {
            doctor::diagnose_with_keys(&keys, &id, &c.content, &c.encrypted_data_key)
        } else {
            doctor::diagnose(&id, &c.content, &c.encrypted_data_key)
        };
        if !d.is_healthy() {
            bad += 1;
        }
        if d.check.as_ref().and_then(|c| c.failed_step) == Some(Step::Kms) {
            kms_failed = true;
        }
        if req.json {
            out.push_str(&d.to_json());
            out.push('\n');
        } else {
            text(&mut out, &d);
        }
    }
    write_stdout(out.as_bytes())?;
    if unreadable > 0 && bad == 0 {
        return Err(Failure {
            code: USAGE,
            message: format!("{unreadable} input line(s) are not configs"),
        });
    }
    if bad > 0 || unreadable > 0 {
        return Err(Failure {
            code: if kms_failed { ENVIRONMENT } else { REFUSED },
            message: format!(
                "{bad} of {} config(s) will not decrypt as stored{}",
                entries.len(),
                if kms_failed {
                    " (a key service failed: check it with `nacoscrypt kms check`)"
                } else {
                    ""
                }
            ),
        });
    }
    Ok(())
}

fn text(out: &mut String, d: &Diagnosis) {
    let verdict = match d.worst() {
        Severity::Error => "WILL NOT DECRYPT",
        Severity::Warning => "ok, with warnings",
        Severity::Info => "ok",
    };
    let _ = writeln!(
        out,
        "{} (group {}, tenant {:?}): {verdict}",
        d.data_id, d.group, d.tenant
    );
    let _ = writeln!(
        out,
        "  scheme: java {}, go {}, python {}; format {}; key blob {}; content {} B, encryptedDataKey {} B",
        d.schemes.java.as_str(),
        d.schemes.go.as_str(),
        d.schemes.python.as_str(),
        d.format.as_str(),
        d.key_origin.as_str(),
        d.content_len,
        d.encrypted_data_key_len
    );
    for f in &d.findings {
        let _ = writeln!(out, "  {}: {} ({})", f.severity.as_str(), f.message, f.code);
    }
    if let Some(c) = &d.check {
        match c.failed_step {
            None => {
                let _ = writeln!(
                    out,
                    "  check: decrypts ({} bytes of plaintext)",
                    c.plaintext_len.unwrap_or(0)
                );
            }
            Some(step) => {
                let _ = writeln!(
                    out,
                    "  check: fails at step {}: {}",
                    step.as_str(),
                    c.message
                );
            }
        }
    }
}
