//! `ksops decrypt FILE`: prints exactly what `sops decrypt FILE` prints, with sops' exit codes.

use std::path::Path;

use crate::cli::args::DecryptArgs;
use crate::cli::error::CliError;
use crate::cli::io::{read_file, write_stdout};
use crate::sops::Keyring;
use crate::sops::{DecryptOptions, decrypt};
use crate::sops::{EmitOptions, Format};
use crate::sops::{find_config, load_emit_options};

/// Runs `ksops decrypt`.
pub fn run(args: &DecryptArgs) -> Result<(), CliError> {
    let shown = args.file.display().to_string();
    let input = read_file(&args.file).map_err(|reason| CliError::Input {
        file: shown.clone(),
        reason,
    })?;
    // Like sops, the output store follows the file name, not --input-type.
    let options = DecryptOptions {
        input: args
            .input_type
            .unwrap_or_else(|| Format::from_path(&args.file)),
        output: args
            .output_type
            .unwrap_or_else(|| Format::from_path(&args.file)),
        ignore_mac: args.ignore_mac,
        emit: emit_options(args.config.as_deref())?,
    };
    let keyring = Keyring::load(&crate::cli::env::identity_sources());
    let plaintext = decrypt(&input, &options, &keyring).map_err(|reason| CliError::Decrypt {
        reason: reason.for_file(&shown),
        file: shown,
    })?;
    write_stdout(&plaintext)
}

fn emit_options(explicit: Option<&Path>) -> Result<EmitOptions, CliError> {
    let from_env = std::env::var_os("SOPS_CONFIG").map(std::path::PathBuf::from);
    let path = match explicit.map(Path::to_path_buf).or(from_env) {
        Some(path) => Some(path),
        None => std::env::current_dir()
            .ok()
            .and_then(|cwd| find_config(&cwd)),
    };
    match path {
        Some(path) => Ok(load_emit_options(&path)?),
        None => Ok(EmitOptions::default()),
    }
}
