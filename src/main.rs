//! The `ksops` binary: dispatches to the library and maps errors to exit codes.

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    match ksops::cli::run(std::env::args_os().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Not `eprintln!`, which panics when stderr is a closed pipe.
            let _ = writeln!(std::io::stderr().lock(), "ksops: {error}");
            let code = error.exit_code();
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
