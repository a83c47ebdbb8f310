//! The command line's errors: what is printed on standard error (after `ksops: `) and the exit
//! code each failure maps to.

use std::io;
use std::path::PathBuf;

use crate::check::CheckError;
use crate::cli::env::SettingError;
use crate::generator::ConfineError;
use crate::generator::GenerateError;
use crate::generator::krm::{KrmError, KrmFailure};
use crate::generator::{GeneratorId, SchemaError};
use crate::sops::ConfigError;
use crate::sops::{DecryptError, FailureKind};

/// A command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong.
    #[error("{0}\n\n{hint}", hint = .0.help_hint())]
    Usage(UsageError),
    /// A file named on the command line could not be read.
    #[error("reading {file}: {reason}")]
    Input {
        /// The file as named on the command line.
        file: String,
        /// Why.
        reason: InputError,
    },
    /// Decrypting a file failed.
    #[error("decrypting {file}: {reason}")]
    Decrypt {
        /// The file as named on the command line.
        file: String,
        /// What failed.
        reason: DecryptError,
    },
    /// The sops config file could not be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A generator (legacy plugin or KRM function) failed.
    #[error(transparent)]
    Generator(Box<GeneratorFailure>),
    /// `ksops render` failed.
    #[error("render: {0}")]
    Render(RenderError),
    /// `ksops argocd generate` failed (the message names no absolute checkout path).
    #[error("argocd generate: {0}")]
    Argocd(ArgocdError),
    /// `ksops install` failed.
    #[error("install: {0}")]
    Install(InstallError),
    /// `ksops check` could not run.
    #[error("check: {0}")]
    Check(CheckError),
    /// `ksops check` found problems; the report, count included, is already on standard output.
    #[error("check: {0} finding(s)")]
    Findings(usize),
    /// Standard output could not be written.
    #[error("writing output: {0}")]
    Write(io::Error),
}

impl From<UsageError> for CliError {
    fn from(error: UsageError) -> Self {
        CliError::Usage(error)
    }
}

impl From<RenderError> for CliError {
    fn from(error: RenderError) -> Self {
        CliError::Render(error)
    }
}

impl From<ArgocdError> for CliError {
    fn from(error: ArgocdError) -> Self {
        CliError::Argocd(error)
    }
}

impl From<InstallError> for CliError {
    fn from(error: InstallError) -> Self {
        CliError::Install(error)
    }
}

impl From<CheckError> for CliError {
    fn from(error: CheckError) -> Self {
        CliError::Check(error)
    }
}

impl CliError {
    /// The process exit code for this failure (sops' codes for `decrypt`; see `ksops decrypt
    /// --help`).
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            // sops' ErrorGeneric, ErrorDumpingTree, ErrorDecryptingTree, MacMismatch and
            // CouldNotRetrieveKey.
            CliError::Decrypt { reason, .. } => match reason.kind() {
                FailureKind::InvalidFile => 1,
                FailureKind::CannotEmit => 4,
                FailureKind::ValueDecryption => 25,
                FailureKind::Mac => 51,
                FailureKind::DataKey => 128,
            },
            // sops: a missing file is 100, any other read failure 2.
            CliError::Input {
                reason: InputError::Io(error),
                ..
            } if error.kind() == io::ErrorKind::NotFound => 100,
            CliError::Input { .. } => 2,
            CliError::Config(_) => 5,
            // KSOPS exits 1 for every generator failure.
            CliError::Generator(_) | CliError::Render(_) | CliError::Argocd(_) => 1,
            CliError::Install(error) => error.exit_code(),
            CliError::Write(_) => 3,
            // Findings are the check's answer (1); a check that could not run is a usage or
            // I/O failure (2), so CI can tell "the repository is wrong" from "the job is wrong".
            CliError::Findings(_) => 1,
            CliError::Check(_) => 2,
        }
    }

    /// Whether the failure was already reported on standard output, so that standard error
    /// must not repeat it (`ksops check`'s findings and their count).
    pub fn already_reported(&self) -> bool {
        matches!(self, CliError::Findings(_))
    }
}

impl From<GeneratorFailure> for CliError {
    fn from(failure: GeneratorFailure) -> Self {
        CliError::Generator(Box::new(failure))
    }
}

/// The command line is wrong.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// Not a command, and not a generator config.
    #[error("`{given}` is not a ksops command{}", suggest(.suggestion, " (a legacy generator takes exactly one argument: its config file)"))]
    UnknownCommand {
        /// What was given.
        given: String,
        /// The nearest command, when it is close.
        suggestion: Option<String>,
    },
    /// A command that needs a subcommand did not get it.
    #[error("`ksops {command}` needs a subcommand: `ksops {command} {expected}`")]
    UnknownSubcommand {
        /// The command.
        command: &'static str,
        /// Its subcommand.
        expected: &'static str,
    },
    /// A flag the command does not have.
    #[error("{}unknown option `{option}`{}", prefix(*.command), suggest(.suggestion, ""))]
    UnknownOption {
        /// The command, or `None` before one was chosen.
        command: Option<&'static str>,
        /// The flag as given.
        option: String,
        /// The nearest flag, when it is close.
        suggestion: Option<String>,
    },
    /// A flag that needs a value was last.
    #[error("{command}: {flag} needs a value ({placeholder})")]
    MissingValue {
        /// The command.
        command: &'static str,
        /// The flag.
        flag: &'static str,
        /// What the value is.
        placeholder: &'static str,
    },
    /// An on/off flag was given a value.
    #[error("{command}: {flag} takes no value")]
    UnexpectedValue {
        /// The command.
        command: &'static str,
        /// The flag.
        flag: &'static str,
    },
    /// A value outside the flag's choices.
    #[error("{command}: {flag} must be one of {allowed} (got {got:?})")]
    BadValue {
        /// The command.
        command: &'static str,
        /// The flag.
        flag: &'static str,
        /// The choices.
        allowed: String,
        /// What was given.
        got: String,
    },
    /// A required operand is missing.
    #[error("{command}: {operand} is missing")]
    MissingOperand {
        /// The command.
        command: &'static str,
        /// The operand's name in the usage line.
        operand: &'static str,
    },
    /// More operands than the command takes.
    #[error("{command}: unexpected argument `{extra}`")]
    ExtraOperand {
        /// The command.
        command: &'static str,
        /// The first extra argument.
        extra: String,
    },
    /// Two flags that exclude each other.
    #[error("{command}: {} and {} cannot be combined", .flags[0], .flags[1])]
    Conflict {
        /// The command.
        command: &'static str,
        /// The two flags.
        flags: [&'static str; 2],
    },
    /// A kustomize flag that would defeat the command.
    #[error(
        "{command}: {flag} is not passed to kustomize: ksops prints the build on standard \
         output; redirect it instead (`> FILE`)"
    )]
    RefusedKustomizeFlag {
        /// The command.
        command: &'static str,
        /// The flag.
        flag: &'static str,
    },
    /// Run without arguments from a terminal, where no ResourceList can arrive.
    #[error(
        "no arguments and standard input is a terminal: ksops reads a ResourceList on standard \
         input when kustomize or kpt runs it as a KRM function, or takes a generator config path \
         as a legacy plugin"
    )]
    Terminal {
        /// The overview to print after the message (`ksops --help`).
        usage: String,
    },
}

impl UsageError {
    /// Where to read more: the command's help, or the overview (printed in full when ksops
    /// was started by hand with nothing to do).
    pub fn help_hint(&self) -> String {
        if let UsageError::Terminal { usage } = self {
            return usage.clone();
        }
        let command = match self {
            UsageError::UnknownCommand { .. } | UsageError::Terminal { .. } => None,
            UsageError::UnknownSubcommand { command, .. } => Some(*command),
            UsageError::UnknownOption { command, .. } => *command,
            UsageError::MissingValue { command, .. }
            | UsageError::UnexpectedValue { command, .. }
            | UsageError::BadValue { command, .. }
            | UsageError::MissingOperand { command, .. }
            | UsageError::ExtraOperand { command, .. }
            | UsageError::Conflict { command, .. }
            | UsageError::RefusedKustomizeFlag { command, .. } => Some(*command),
        };
        match command {
            Some(command) => format!("Run `ksops {command} --help` for usage."),
            None => "Run `ksops --help` for usage.".into(),
        }
    }
}

fn suggest(suggestion: &Option<String>, otherwise: &str) -> String {
    match suggestion {
        Some(nearest) => format!("; did you mean `{nearest}`?"),
        None => otherwise.to_owned(),
    }
}

fn prefix(command: Option<&str>) -> String {
    command.map(|c| format!("{c}: ")).unwrap_or_default()
}

/// A file or standard input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The operating system refused.
    #[error(transparent)]
    Io(io::Error),
    /// Larger than the cap every input is read under.
    #[error(
        "larger than the limit of {limit} bytes (32 MiB) that ksops reads; no Secret file comes \
         near it (Kubernetes refuses Secrets over 1 MiB)"
    )]
    TooLarge {
        /// The limit in force.
        limit: u64,
    },
}

/// A generator run by kustomize (legacy exec plugin) or as a KRM function failed. Messages name
/// the generator and the kustomization directory, never the temporary file kustomize wrote the
/// config to.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorFailure {
    /// The config kustomize handed over could not be read.
    #[error("the generator config kustomize handed to ksops in {dir}: {reason}")]
    ReadConfig {
        /// The kustomization directory.
        dir: String,
        /// Why.
        reason: InputError,
    },
    /// The config is invalid.
    #[error("{} in {dir}: {reason}", named(.generator))]
    Config {
        /// The generator, as far as it could be read.
        generator: GeneratorId,
        /// The kustomization directory.
        dir: String,
        /// What is wrong.
        reason: SchemaError,
    },
    /// A file of the config failed.
    #[error(
        "generator `{generator}` in {dir}: {origin}: {failure}",
        generator = .error.generator,
        origin = .error.origin,
        failure = .error.failure
    )]
    Run {
        /// The kustomization directory.
        dir: String,
        /// What failed.
        error: Box<GenerateError>,
    },
    /// The kustomization root could not be opened.
    #[error("{dir}: {reason}")]
    Root {
        /// The kustomization directory.
        dir: String,
        /// Why.
        reason: ConfineError,
    },
    /// A `KSOPS_*` setting is invalid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The answering ResourceList could not be written.
    #[error(transparent)]
    KrmOutput(KrmError),
    /// The KRM function failed; the ResourceList with its error results is already on stdout.
    #[error(transparent)]
    Krm(KrmFailure),
}

/// `generator `apiVersion/kind/name``, or what to call a config too broken to name.
fn named(generator: &GeneratorId) -> String {
    if *generator == GeneratorId::default() {
        "the generator config".into()
    } else {
        format!("generator `{generator}`")
    }
}

/// `ksops render` (and the build of `ksops argocd generate`) failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No kustomize to run.
    #[error("neither `kustomize` nor `kubectl` is on PATH: install one of them")]
    NoKustomize,
    /// kubectl would build without the Secrets of a KRM-declared generator.
    #[error(
        "{generator} is declared as a KRM function (config.kubernetes.io/function), which \
         `kubectl kustomize` silently skips: its Secrets would be missing. Install a standalone \
         `kustomize`, or remove the annotation to use the legacy plugin layout"
    )]
    SkippedByKubectl {
        /// The generator and its file.
        generator: String,
    },
    /// The temporary plugin home could not be made.
    #[error(
        "creating a temporary plugin home in {tmp}: {reason}; the temporary directory ($TMPDIR, \
         else /tmp) must be writable (in an Argo CD sidecar, mount an emptyDir at /tmp)",
        tmp = .tmp.display()
    )]
    PluginHome {
        /// The temporary directory.
        tmp: PathBuf,
        /// Why.
        reason: io::Error,
    },
    /// The running binary cannot be located (to wire it in as the plugin).
    #[error("locating the running ksops executable: {0}")]
    CurrentExe(io::Error),
    /// kustomize could not be started.
    #[error("running {program}: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        reason: io::Error,
    },
    /// The build failed: ksops's own message when a generator failed, else kustomize's.
    #[error("{}", build_failure(.program, .message, *.from_ksops))]
    Build {
        /// The program that ran.
        program: String,
        /// The message, cleaned of kubectl's log framing.
        message: String,
        /// Whether the message is a ksops generator's.
        from_ksops: bool,
    },
}

fn build_failure(program: &str, message: &str, from_ksops: bool) -> String {
    if from_ksops {
        message.to_owned()
    } else {
        format!("{program} failed: {message}")
    }
}

/// `ksops argocd generate` cannot place itself in the checkout.
#[derive(Debug, thiserror::Error)]
pub enum ArgocdError {
    /// No working directory.
    #[error("cannot determine the working directory")]
    WorkingDirectory,
    /// `ARGOCD_APP_SOURCE_PATH` escapes.
    #[error("ARGOCD_APP_SOURCE_PATH must be a relative path without `..`")]
    SourcePath,
    /// The working directory is not `<checkout>/<ARGOCD_APP_SOURCE_PATH>`.
    #[error("the working directory does not end with ARGOCD_APP_SOURCE_PATH")]
    NotAtSourcePath,
    /// The checkout would be `/`.
    #[error("the checkout root would be the file system root; refusing")]
    FileSystemRoot,
    /// The plugin home would be inside the checkout, where the repository could plant it.
    #[error("the temporary directory is inside the checkout; set TMPDIR outside it")]
    TempInsideCheckout,
    /// A setting is invalid.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The build failed.
    #[error(transparent)]
    Build(#[from] RenderError),
}

/// `ksops install` failed. Everything is checked before anything is copied.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The destination is missing or not a directory.
    #[error("the destination {0} is not a directory")]
    NotADirectory(String),
    /// The destination cannot be written.
    #[error("the destination {dir} is not writable: {reason}")]
    NotWritable {
        /// The destination.
        dir: String,
        /// Why.
        reason: io::Error,
    },
    /// `--with-kustomize` without a kustomize to copy.
    #[error("--with-kustomize: no `kustomize` found on PATH")]
    NoKustomize,
    /// A binary would be copied onto itself.
    #[error("{0} is the file being installed; choose another destination")]
    SameFile(String),
    /// The running binary cannot be located.
    #[error("locating the running ksops executable: {0}")]
    CurrentExe(io::Error),
    /// A copy failed.
    #[error("writing {file}: {reason}")]
    Copy {
        /// The file being written.
        file: String,
        /// Why.
        reason: io::Error,
    },
}

impl InstallError {
    /// Checks that fail before anything is copied are usage errors (2); a failed copy is 1.
    fn exit_code(&self) -> i32 {
        match self {
            InstallError::Copy { .. } | InstallError::CurrentExe(_) => 1,
            _ => 2,
        }
    }
}
