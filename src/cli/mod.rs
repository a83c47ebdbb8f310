//! Command-line commands. Flags are parsed once into a plain [`Command`]; each command lives in
//! its own module and returns a typed [`CliError`] that `main.rs` maps to an exit code.

mod argocd;
mod args;
mod check;
mod decrypt;
mod generate;
mod install;
mod render;

use std::ffi::OsString;
use std::io::Read;

use crate::generator::confine::Limits;

pub use args::{Command, DecryptArgs, RenderArgs, parse_args};
pub use check::{CheckArgs, ReportFormat};
pub use generate::ValueSetting;
pub use install::InstallArgs;

/// A command failed. The `Display` text is what is printed on stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong.
    #[error("{0}\n\nRun `ksops --help` for usage.")]
    Usage(String),
    /// Decrypting a file failed.
    #[error("decrypting {file}: {source}")]
    Decrypt {
        /// The file as named on the command line.
        file: String,
        /// What failed.
        #[source]
        source: crate::sops::DecryptError,
    },
    /// A file could not be read.
    #[error("reading {file}: {source}")]
    Read {
        /// The file as named on the command line.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An input is larger than [`Limits::DEFAULT_MAX_FILE_BYTES`].
    #[error(
        "reading {file}: larger than the limit of {limit} bytes (32 MiB) that ksops reads; \
         no Secret file comes near it (Kubernetes refuses Secrets over 1 MiB)"
    )]
    TooLarge {
        /// The file as named on the command line, or `standard input`.
        file: String,
        /// The limit in force.
        limit: u64,
    },
    /// `.sops.yaml` could not be used.
    #[error("{0}")]
    Config(#[from] crate::sops::config::ConfigError),
    /// A generator failed.
    #[error("{0}")]
    Generate(Box<crate::generator::generate::GenerateError>),
    /// Run without arguments from a terminal, where no ResourceList can arrive.
    #[error(
        "no arguments and standard input is a terminal: ksops reads a ResourceList on standard input when kustomize or kpt runs it as a KRM function, or takes a generator config path as a legacy plugin\n\n{}",
        args::HELP
    )]
    Terminal,
    /// The KRM function failed; the ResourceList with the error result is already on stdout.
    #[error("{0}")]
    Krm(String),
    /// The generator config is invalid.
    #[error("generator config {file}: {source}")]
    Schema {
        /// The config file as named on the command line.
        file: String,
        /// What is wrong with it.
        #[source]
        source: crate::generator::schema::SchemaError,
    },
    /// The kustomization root could not be opened.
    #[error("{0}")]
    Root(#[from] crate::generator::confine::ConfineError),
    /// `ksops install` could not write a file.
    #[error("install: writing {file}: {source}")]
    Install {
        /// The file being written.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `ksops render` could not render.
    #[error("render: {0}")]
    Render(String),
    /// `ksops argocd generate` failed (the message names no absolute checkout path).
    #[error("argocd generate: {0}")]
    Argocd(String),
    /// A setting from the environment is invalid.
    #[error("{0}")]
    Setting(String),
    /// `ksops check` could not run.
    #[error("check: {0}")]
    Check(#[from] crate::check::CheckError),
    /// `ksops check` found problems; the report is already on standard output.
    #[error("check: {0} finding(s)")]
    Findings(usize),
    /// Standard output could not be written.
    #[error("writing output: {0}")]
    Write(#[source] std::io::Error),
}

impl CliError {
    /// The process exit code for this failure (sops' codes for `decrypt`).
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Decrypt { source, .. } => source.exit_code(),
            CliError::Read { .. } | CliError::TooLarge { .. } => 2,
            CliError::Config(_) => 5,
            // KSOPS exits 1 for every generator failure.
            CliError::Generate(_)
            | CliError::Schema { .. }
            | CliError::Root(_)
            | CliError::Setting(_)
            | CliError::Install { .. }
            | CliError::Terminal
            | CliError::Krm(_)
            | CliError::Render(_)
            | CliError::Argocd(_) => 1,
            CliError::Write(_) => 3,
            // Findings are the check's answer (1); a check that could not run is a usage or
            // I/O failure (2), so CI can tell "the repository is wrong" from "the job is wrong".
            CliError::Findings(_) => 1,
            CliError::Check(_) => 2,
        }
    }
}

/// Writes the command's output to standard output. A closed or failing stdout (EPIPE: the
/// reader went away) is an error, never a panic: the process then exits non-zero, so a partial
/// output is not mistaken for success.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write as _;
    write_stdout_with(|stdout| stdout.write_all(bytes))
}

/// Like [`write_stdout`], for output written in parts.
pub(crate) fn write_stdout_with(
    write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    write(&mut stdout)
        .and_then(|()| stdout.flush())
        .map_err(CliError::Write)
}

/// Writes a progress line to standard error, ignoring failures: a closed stderr must not turn
/// a finished command into a failure (or a panic, as `eprintln!` would).
pub(crate) fn note(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Reads all of `input` (a file named on the command line, or standard input) unless it holds
/// more than [`Limits::DEFAULT_MAX_FILE_BYTES`], the cap the generator applies to every file it
/// reads: nothing larger is read into memory, whatever the input (a huge file, `/dev/zero`).
fn read_capped(input: impl Read, file: &str) -> Result<Vec<u8>, CliError> {
    let limit = Limits::DEFAULT_MAX_FILE_BYTES;
    let mut bytes = Vec::new();
    input
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| CliError::Read {
            file: file.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(CliError::TooLarge {
            file: file.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// Opens a file named on the command line and reads it with [`read_capped`].
fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| CliError::Read {
        file: shown.clone(),
        source,
    })?;
    read_capped(file, &shown)
}

/// The first executable file called `name` in a `PATH` directory.
fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Parses the arguments (without the program name) and runs the command.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<(), CliError> {
    match parse_args(args)? {
        Command::Help => write_stdout(args::HELP.as_bytes()),
        Command::Version => {
            write_stdout(format!("ksops {}\n", env!("CARGO_PKG_VERSION")).as_bytes())
        }
        Command::Decrypt(decrypt_args) => decrypt::run(&decrypt_args),
        Command::Generate(config) => generate::run_legacy(&config),
        Command::Krm => generate::run_krm(),
        Command::Install(install_args) => install::run(&install_args),
        Command::Render(render_args) => render::run(&render_args),
        Command::ArgocdGenerate => argocd::run_generate(),
        Command::Check(check_args) => check::run(&check_args),
        Command::CheckHelp => {
            print!("{}", args::CHECK_HELP);
            Ok(())
        }
    }
}
