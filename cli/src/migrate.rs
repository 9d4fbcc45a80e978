//! `config migrate`: re-encrypt a stream of stored configs under another key, scheme or format.

use crate::failure::{ENVIRONMENT, Failure, REFUSED};
use crate::io::note;
use crate::stream::{InputSpec, StreamFormat, read_input, to_json_line, write_atomically};
use nacoscrypt_core::config::doctor::Step;
use nacoscrypt_core::config::export::{self, ExportEntry};
use nacoscrypt_core::config::migrate::{self, Outcome, Plan};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What `config migrate` was asked, besides the keys.
#[derive(Debug)]
pub(crate) struct MigrateRequest<'a> {
    pub(crate) input: InputSpec<'a>,
    pub(crate) output: Option<&'a Path>,
    /// `--out-format` (else from the output's extension).
    pub(crate) out_format: Option<StreamFormat>,
    pub(crate) dry_run: bool,
    pub(crate) threads: usize,
}

/// Runs the migration. Exit: 0 every entry migrated or already migrated; 1 some entries failed
/// on their own merits (each reported on standard error: a missing or swapped key, a deleted
/// key, the wrong key); 3 the key service itself failed for some entry (step `kms`:
/// unreachable, refusing, throttled; a rerun resumes), or a file could not be read or written;
/// 2 usage.
pub(crate) fn run(req: &MigrateRequest<'_>, plan: &Plan<'_>) -> Result<(), Failure> {
    if let (Some(out), Some(input)) = (req.output, req.input.path)
        && (out == input
            || std::fs::canonicalize(out)
                .ok()
                .is_some_and(|o| std::fs::canonicalize(input).ok().is_some_and(|i| i == o)))
    {
        return Err(Failure::usage(
            "--output must not be the input: the input is never modified",
        ));
    }
    if req.output.is_none() && !req.dry_run {
        return Err(Failure::usage(
            "give --output FILE (written atomically), or --dry-run",
        ));
    }
    let out_format = StreamFormat::pick(req.out_format, req.output);
    let input = read_input(&req.input)?;
    // For an export, each config's metadata, in the same order (every entry of a ZIP is read).
    let meta = input.export.unwrap_or_default();
    let (good, bad): (Vec<_>, Vec<_>) = input.entries.into_iter().partition(|(_, e)| e.is_ok());
    let lines: Vec<_> = good.iter().map(|(l, _)| l.clone()).collect();
    let configs: Vec<_> = good.into_iter().filter_map(|(_, e)| e.ok()).collect();
    let started = Instant::now();
    let progress = Progress::new(configs.len(), started);
    let outcomes = migrate::migrate_all(plan, &configs, req.threads, &|done| progress.show(done));
    progress.finish();
    let elapsed = started.elapsed();

    let mut out = String::with_capacity(configs.len() * 256);
    let mut zip_entries: Vec<ExportEntry> = Vec::new();
    let mut emit = |i: usize, config: &migrate::StoredConfig, out: &mut String| match out_format {
        StreamFormat::Jsonl => out.push_str(&to_json_line(config)),
        StreamFormat::Zip => {
            // The export's metadata stays with its config (JSON lines input: none).
            let mut e = meta.get(i).cloned().unwrap_or_default();
            e.config = config.clone();
            zip_entries.push(e);
        }
    };
    let (mut migrated, mut skipped, mut failed, mut renamed) = (0usize, 0usize, bad.len(), 0usize);
    let mut copied = 0usize;
    // Entries that failed because the key service did (step kms), not because of themselves.
    let mut kms_failed = 0usize;
    let from_export = !meta.is_empty();
    for (line, why) in &bad {
        if let Err(why) = why {
            note(&format!("{line}: failed: unreadable: {why}"));
        }
    }
    for (i, ((line, config), outcome)) in lines.iter().zip(&configs).zip(&outcomes).enumerate() {
        match outcome {
            Outcome::Migrated {
                config: new,
                renamed_from,
            } => {
                migrated += 1;
                if let Some(old) = renamed_from {
                    renamed += 1;
                    note(&format!(
                        "{line}: renamed {old:?} -> {:?} (group {:?}, tenant {:?}): publish the new data ID, then delete the old one",
                        new.data_id, new.group, new.tenant
                    ));
                }
                emit(i, new, &mut out);
            }
            Outcome::AlreadyMigrated => {
                skipped += 1;
                emit(i, config, &mut out);
            }
            // An export holds the namespace's plain configs too: a backup keeps them as they are.
            Outcome::Failed { error, .. }
                if from_export && *error == nacoscrypt_core::Error::NotEncryptedDataId =>
            {
                copied += 1;
                emit(i, config, &mut out);
            }
            Outcome::Failed { step, error } => {
                failed += 1;
                if *step == Step::Kms {
                    kms_failed += 1;
                }
                note(&format!(
                    "{line}: failed: {:?} (group {:?}, tenant {:?}) at step {}: {error}",
                    config.data_id,
                    config.group,
                    config.tenant,
                    step.as_str()
                ));
            }
        }
    }
    let bytes = match out_format {
        StreamFormat::Jsonl => out.into_bytes(),
        StreamFormat::Zip => export::write_export_now(&zip_entries)
            .map_err(|e| Failure::usage(format!("cannot write the export ZIP: {e}")))?,
    };
    if let (Some(path), false) = (req.output, req.dry_run) {
        write_atomically(path, &bytes)?;
    }
    let secs = elapsed.as_secs_f64();
    let total = lines.len() + bad.len();
    note(&format!(
        "{}{migrated} migrated ({renamed} renamed), {skipped} already migrated{}, {failed} failed, of {total} in {secs:.2} s ({:.0} entries/s)",
        if req.dry_run { "dry run: " } else { "" },
        if from_export {
            format!(", {copied} not encrypted (copied)")
        } else {
            String::new()
        },
        if secs > 0.0 { total as f64 / secs } else { 0.0 }
    ));
    if failed > 0 {
        return Err(Failure {
            code: if kms_failed > 0 { ENVIRONMENT } else { REFUSED },
            message: format!(
                "{failed} entr{} failed (listed above){}; the others are in the output",
                if failed == 1 { "y" } else { "ies" },
                if kms_failed > 0 {
                    format!(
                        ", {kms_failed} because the key service failed: check it with \
                         `nacoscrypt kms check`, then run again over the same input"
                    )
                } else {
                    String::new()
                }
            ),
        });
    }
    Ok(())
}

/// A progress line on standard error when it is a terminal: done/total, entries/s, ETA.
struct Progress {
    total: usize,
    started: Instant,
    tty: bool,
    last: Mutex<Instant>,
}

impl Progress {
    fn new(total: usize, started: Instant) -> Self {
        Self {
            total,
            started,
            tty: std::io::stderr().is_terminal(),
            last: Mutex::new(started),
        }
    }

    fn show(&self, done: usize) {
        if !self.tty {
            return;
        }
        // Workers never wait for the terminal: an update while another is drawn is dropped
        // (the final one is drawn by `finish`).
        if let Ok(mut last) = self.last.try_lock() {
            let now = Instant::now();
            if now.duration_since(*last) < Duration::from_millis(100) {
                return;
            }
            *last = now;
            self.draw(done, now);
        }
    }

    fn draw(&self, done: usize, now: Instant) {
        let secs = now.duration_since(self.started).as_secs_f64().max(1e-9);
        let rate = done as f64 / secs;
        let eta = if rate > 0.0 {
            (self.total.saturating_sub(done)) as f64 / rate
        } else {
            0.0
        };
        let _ = write!(
            std::io::stderr().lock(),
            "\r{done}/{} {rate:.0} entries/s ETA {eta:.0} s   ",
            self.total
        );
    }

    /// The final line, always drawn (after any update in flight), then a newline.
    fn finish(&self) {
        if self.tty {
            let _last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            self.draw(self.total, Instant::now());
            let _ = writeln!(std::io::stderr().lock());
        }
    }
}
