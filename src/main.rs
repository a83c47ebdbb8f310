//! The `ksops` binary: dispatches to the library and maps errors to exit codes.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::process::ExitCode;

/// musl's allocator serializes the decryption threads (see Cargo.toml).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match ksops::cli::run(std::env::args_os().skip(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.already_reported() {
                // Not `eprintln!`, which panics when stderr is a closed pipe.
                let _ = writeln!(std::io::stderr().lock(), "ksops: {error}");
            }
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}
