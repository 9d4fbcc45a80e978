//! Reading the files that hold secrets (`std`): keyrings and `application.properties`.
//!
//! Only regular files are read: a FIFO would block the reader forever, a device such as
//! `/dev/zero` never ends, a directory is a mistake. The file is opened without blocking
//! (`O_NONBLOCK`), its type checked on the open descriptor (so a swap between a check and the
//! open cannot fool it), and read with a bound: never more than `max + 1` bytes, into a buffer
//! sized once so that text holding secrets is never reallocated (which would leave an unwiped
//! copy behind).

use crate::{Error, Result};
use std::fs;
use std::io::Read;
use std::path::Path;
use std::string::{String, ToString};
use zeroize::Zeroizing;

/// Maps an I/O error to [`Error::Io`] with `operation`.
pub(crate) fn io_error(operation: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::Io {
        operation,
        message: e.to_string(),
    }
}

/// The kind of a file that is not a regular file, for messages.
fn file_kind(file_type: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading and checks that it is a regular file (following symbolic links).
/// `operation` names the file in errors (`opening the keyring file`).
pub(crate) fn open_regular(
    path: &Path,
    operation: &'static str,
) -> Result<(fs::File, fs::Metadata)> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO opened for reading would wait for a writer; without blocking it opens at once
        // and is refused below. Regular files ignore the flag.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io_error(operation))?;
    let meta = file.metadata().map_err(io_error(operation))?;
    if !meta.is_file() {
        return Err(Error::Io {
            operation,
            message: std::format!(
                "{} is {}, not a regular file",
                path.display(),
                file_kind(meta.file_type())
            ),
        });
    }
    Ok((file, meta))
}

/// Reads the open regular file `file` (of metadata `meta`) as UTF-8 text of at most `max`
/// bytes; `too_large` makes the error for a longer file. The bound holds while reading, also for
/// a file that grows meanwhile.
pub(crate) fn read_text_bounded(
    file: fs::File,
    meta: &fs::Metadata,
    max: usize,
    operation: &'static str,
    too_large: impl Fn() -> Error,
) -> Result<Zeroizing<String>> {
    if meta.len() > max as u64 {
        return Err(too_large());
    }
    // Sized up front (one byte over the bound, to see a file that grew) so the buffer is never
    // reallocated.
    let capacity = usize::try_from(meta.len()).unwrap_or(max).min(max) + 1;
    let mut bytes = Zeroizing::new(std::vec::Vec::with_capacity(capacity));
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(operation))?;
    if bytes.len() > max {
        return Err(too_large());
    }
    let not_utf8 = || Error::Io {
        operation,
        message: "the file is not UTF-8 text".to_string(),
    };
    // Moves the buffer into the string without copying; a refused buffer is wiped.
    String::from_utf8(core::mem::take(&mut *bytes))
        .map(Zeroizing::new)
        .map_err(|e| {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            not_utf8()
        })
}

/// [`open_regular`] then [`read_text_bounded`].
pub(crate) fn read_regular_text(
    path: &Path,
    max: usize,
    operation: &'static str,
    too_large: impl Fn() -> Error,
) -> Result<Zeroizing<String>> {
    let (file, meta) = open_regular(path, operation)?;
    read_text_bounded(file, &meta, max, operation, too_large)
}
