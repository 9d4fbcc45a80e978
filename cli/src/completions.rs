//! Shell completions and the man pages, generated from the command's own clap definitions, so
//! they cannot drift from `--help`.

use crate::failure::Failure;
use crate::io;
use std::path::Path;

/// Writes the completion script for `shell` to standard output.
pub(crate) fn completions(
    mut cmd: clap::Command,
    shell: clap_complete::Shell,
) -> Result<(), Failure> {
    let mut out = Vec::with_capacity(64 * 1024);
    clap_complete::generate(shell, &mut cmd, "nacoscrypt", &mut out);
    io::write_stdout(&out)
}

/// Writes the man page `nacoscrypt(1)` to standard output, or, with `dir`, one page per command
/// (`nacoscrypt.1`, `nacoscrypt-config.1`, `nacoscrypt-config-encrypt.1`, ...) into `dir`.
pub(crate) fn man(cmd: clap::Command, dir: Option<&Path>) -> Result<(), Failure> {
    let Some(dir) = dir else {
        let mut out = Vec::with_capacity(32 * 1024);
        clap_mangen::Man::new(cmd)
            .render(&mut out)
            .map_err(|e| Failure::usage(format!("cannot render the man page: {e}")))?;
        return io::write_stdout(&out);
    };
    std::fs::create_dir_all(dir).map_err(|e| Failure::io("cannot create", dir, &e))?;
    clap_mangen::generate_to(cmd, dir)
        .map_err(|e| Failure::io("cannot write the man pages into", dir, &e))
}
