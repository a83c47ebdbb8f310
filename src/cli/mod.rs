//! The command line: flags parsed once into a plain [`Command`] (`args`), one module per
//! command, and the pieces they share: errors and exit codes (`error`), standard input and
//! output (`io`), every `KSOPS_*` variable (`env`), and running kustomize (`kustomize`).
//! Command modules do not use each other.

mod argocd;
mod args;
mod check;
mod decrypt;
mod env;
mod error;
mod generate;
mod install;
mod io;
mod kustomize;
mod render;

use std::ffi::OsString;

pub use args::{COMMANDS, Command, CommandSpec, FlagSpec, parse_args};
pub use error::{CliError, UsageError};

/// Parses the arguments (without the program name) and runs the command.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<(), CliError> {
    match parse_args(args)? {
        Command::Help(None) => io::write_stdout(args::overview().as_bytes()),
        Command::Help(Some(command)) => io::write_stdout(args::command_help(command).as_bytes()),
        Command::Version => {
            io::write_stdout(format!("ksops {}\n", env!("CARGO_PKG_VERSION")).as_bytes())
        }
        Command::Decrypt(decrypt_args) => decrypt::run(&decrypt_args),
        Command::Generate(config) => generate::run_legacy(&config),
        Command::Krm => generate::run_krm(),
        Command::Install(install_args) => install::run(&install_args),
        Command::Render(render_args) => render::run(&render_args),
        Command::ArgocdGenerate(argocd_args) => argocd::run(&argocd_args),
        Command::Check(check_args) => check::run(&check_args),
    }
}
