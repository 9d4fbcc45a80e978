//! Reading the input (a file or standard input) and writing the output.

use crate::failure::{Failure, io_text};
use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;

/// The largest input read, in bytes: far above Nacos' 50 KiB config limit, so the core's error
/// (which names the size and the limit) is what a user sees for a config that is too large.
pub(crate) const MAX_INPUT: u64 = 4 << 20;

/// `true` if `path` means standard input: absent or `-`.
pub(crate) fn is_stdin(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// Reads the whole input: the file at `path`, or standard input if `path` is absent or `-`.
/// `what` names the input in messages (`the config`, `the token`). Over [`MAX_INPUT`] it is a
/// usage error about a config; inputs of other kinds use [`read_input_or`].
pub(crate) fn read_input(path: Option<&Path>, what: &str) -> Result<Vec<u8>, Failure> {
    read_input_or(path, what, || {
        Failure::usage(format!(
            "{what} is larger than {} MiB: give a Nacos config (at most 50 KiB)",
            MAX_INPUT >> 20
        ))
    })
}

/// [`read_input`], with `too_large` making the failure for an input over [`MAX_INPUT`] (read
/// no further than one byte past it), so that it names the real cause for that kind of input.
pub(crate) fn read_input_or(
    path: Option<&Path>,
    what: &str,
    too_large: impl FnOnce() -> Failure,
) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::with_capacity(64 * 1024);
    match path {
        Some(p) if !is_stdin(Some(p)) => {
            let file = fs::File::open(p).map_err(|e| Failure::io("cannot open", p, &e))?;
            file.take(MAX_INPUT + 1)
                .read_to_end(&mut buf)
                .map_err(|e| Failure::io("cannot read", p, &e))?;
        }
        _ => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                note(&format!(
                    "reading {what} from standard input (end it with Ctrl-D), or pass a file"
                ));
            }
            stdin
                .lock()
                .take(MAX_INPUT + 1)
                .read_to_end(&mut buf)
                .map_err(|e| Failure {
                    code: crate::failure::ENVIRONMENT,
                    message: format!("cannot read standard input: {}", io_text(&e)),
                })?;
        }
    }
    if buf.len() as u64 > MAX_INPUT {
        return Err(too_large());
    }
    Ok(buf)
}

/// Writes `bytes` to standard output exactly. A closed pipe (`| head`) is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure {
            code: crate::failure::ENVIRONMENT,
            message: format!("cannot write standard output: {}", io_text(&e)),
        }),
    }
}

/// Writes `line` and a newline to standard output.
pub(crate) fn println(line: &str) -> Result<(), Failure> {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    write_stdout(text.as_bytes())
}

/// Writes a note (`nacoscrypt: …`) to standard error; errors writing it are ignored.
pub(crate) fn note(line: &str) {
    let _ = writeln!(io::stderr().lock(), "nacoscrypt: {line}");
}
