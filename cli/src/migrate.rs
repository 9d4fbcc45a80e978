//! `config migrate`: re-encrypt a stream of stored configs under another key, scheme or format.

use crate::failure::{Failure, REFUSED};
use crate::io::note;
use crate::stream::{read_entries, to_json_line, write_atomically};
use nacoscrypt_core::config::migrate::{self, Outcome, Plan};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What `config migrate` was asked, besides the keys.
#[derive(Debug)]
pub(crate) struct MigrateRequest<'a> {
    pub(crate) input: Option<&'a Path>,
    pub(crate) output: Option<&'a Path>,
    pub(crate) dry_run: bool,
    pub(crate) threads: usize,
}

/// Runs the migration. Exit: 0 every entry migrated or already migrated, 1 some failed (each
/// reported on standard error), 2 usage, 3 I/O.
pub(crate) fn run(req: &MigrateRequest<'_>, plan: &Plan<'_>) -> Result<(), Failure> {
    if let (Some(out), Some(input)) = (req.output, req.input)
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
    let entries = read_entries(req.input)?;
    let (good, bad): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(_, e)| e.is_ok());
    let lines: Vec<usize> = good.iter().map(|(l, _)| *l).collect();
    let configs: Vec<_> = good.into_iter().filter_map(|(_, e)| e.ok()).collect();
    let started = Instant::now();
    let progress = Progress::new(configs.len(), started);
    let outcomes = migrate::migrate_all(plan, &configs, req.threads, &|done| progress.show(done));
    progress.finish();
    let elapsed = started.elapsed();

    let mut out = String::with_capacity(configs.len() * 256);
    let (mut migrated, mut skipped, mut failed, mut renamed) = (0usize, 0usize, bad.len(), 0usize);
    for (line, why) in &bad {
        if let Err(why) = why {
            note(&format!("line {line}: failed: unreadable: {why}"));
        }
    }
    for ((line, config), outcome) in lines.iter().zip(&configs).zip(&outcomes) {
        match outcome {
            Outcome::Migrated {
                config: new,
                renamed_from,
            } => {
                migrated += 1;
                if let Some(old) = renamed_from {
                    renamed += 1;
                    note(&format!(
                        "line {line}: renamed {old:?} -> {:?} (group {:?}, tenant {:?}): publish the new data ID, then delete the old one",
                        new.data_id, new.group, new.tenant
                    ));
                }
                out.push_str(&to_json_line(new));
            }
            Outcome::AlreadyMigrated => {
                skipped += 1;
                out.push_str(&to_json_line(config));
            }
            Outcome::Failed { step, error } => {
                failed += 1;
                note(&format!(
                    "line {line}: failed: {:?} (group {:?}, tenant {:?}) at step {}: {error}",
                    config.data_id,
                    config.group,
                    config.tenant,
                    step.as_str()
                ));
            }
        }
    }
    if let (Some(path), false) = (req.output, req.dry_run) {
        write_atomically(path, out.as_bytes())?;
    }
    let secs = elapsed.as_secs_f64();
    let total = lines.len() + bad.len();
    note(&format!(
        "{}{migrated} migrated ({renamed} renamed), {skipped} already migrated, {failed} failed, of {total} in {secs:.2} s ({:.0} entries/s)",
        if req.dry_run { "dry run: " } else { "" },
        if secs > 0.0 { total as f64 / secs } else { 0.0 }
    ));
    if failed > 0 {
        return Err(Failure {
            code: REFUSED,
            message: format!(
                "{failed} entr{} failed (listed above); the others are in the output",
                if failed == 1 { "y" } else { "ies" }
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
        let now = Instant::now();
        if let Ok(mut last) = self.last.try_lock() {
            if now.duration_since(*last) < Duration::from_millis(100) && done < self.total {
                return;
            }
            *last = now;
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
    }

    fn finish(&self) {
        if self.tty {
            let _ = writeln!(std::io::stderr().lock());
        }
    }
}
