//! The `ksops` binary: dispatches to the library and maps errors to exit codes.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    match ksops::cli::run(std::env::args_os().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ksops: {error}");
            let code = error.exit_code();
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
