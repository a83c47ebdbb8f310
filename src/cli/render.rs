//! `ksops render [--dry-run | --redact] [KUSTOMIZE OPTIONS] [DIR]`: a local render of a
//! kustomization with this binary wired in as its ksops plugin, through a temporary plugin home
//! (nothing is installed). `--dry-run` and `--redact` reach the generators through their
//! environment variables, which every generator kustomize starts inherits.

use std::process::Command;

use crate::cli::args::RenderArgs;
use crate::cli::env::{KSOPS_DRY_RUN, KSOPS_REDACT, absolute_key_files};
use crate::cli::error::CliError;
use crate::cli::io::write_stdout;
use crate::cli::kustomize::{TempPluginHome, kustomize_program, run_build};

/// Runs `ksops render`.
pub fn run(args: &RenderArgs) -> Result<(), CliError> {
    let dir = args.dir.as_path();
    let home = TempPluginHome::create()?;
    let (program, program_args) = kustomize_program(dir)?;
    let mut command = Command::new(&program);
    command
        .args(&program_args)
        .args(&args.kustomize_args)
        .arg(dir)
        .env("KUSTOMIZE_PLUGIN_HOME", &home.path)
        .env("TMPDIR", &home.scratch);
    if let Some(values) = args.values {
        command.env_remove(KSOPS_DRY_RUN).env_remove(KSOPS_REDACT);
        if let Some(variable) = values.variable() {
            command.env(variable, "1");
        }
    }
    // Generators run in each kustomization's directory, where a key file named relative to
    // where `ksops render` was started would not be found.
    command.envs(absolute_key_files());
    // Messages name directories relative to where the render was started.
    let shown: Vec<_> = std::env::current_dir()
        .map(|cwd| vec![(cwd, "."), (home.path.clone(), "<plugin home>")])
        .unwrap_or_default();
    let output = run_build(command, &program, &shown)?;
    write_stdout(&output)
}
