//! The command line's input and output: files named on the command line and standard input
//! (read under the same size cap as every generator input), the one writer for standard
//! output, and progress notes on standard error.

use std::io::{Read, Write};
use std::path::Path;

use crate::cli::error::{CliError, InputError};
use crate::limits::{self, Limits};

/// Writes the command's output to standard output. A closed or failing stdout (EPIPE: the
/// reader went away) is an error, never a panic: the process then exits non-zero, so a partial
/// output is not mistaken for success.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    write_stdout_with(|stdout| stdout.write_all(bytes))
}

/// Like [`write_stdout`], for output written in parts.
pub fn write_stdout_with(
    write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    write(&mut stdout)
        .and_then(|()| stdout.flush())
        .map_err(CliError::Write)
}

/// Writes a line to standard error, ignoring failures: a closed stderr must not turn a
/// finished command into a failure (or a panic, as `eprintln!` would).
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Reads all of `input` unless it holds more than [`Limits::DEFAULT_MAX_FILE_BYTES`], the cap
/// applied to every input: nothing larger is read into memory, whatever the input (a huge file,
/// `/dev/zero`).
pub fn read_capped(input: impl Read) -> Result<Vec<u8>, InputError> {
    let limit = Limits::DEFAULT_MAX_FILE_BYTES;
    limits::read_capped(input, 0, limit)
        .map_err(InputError::Io)?
        .ok_or(InputError::TooLarge { limit })
}

/// Reads a file named on the command line under the same cap as [`read_capped`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, InputError> {
    let limit = Limits::DEFAULT_MAX_FILE_BYTES;
    limits::read_file_capped(path, limit)
        .map_err(InputError::Io)?
        .ok_or(InputError::TooLarge { limit })
}
