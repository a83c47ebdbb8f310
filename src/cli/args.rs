//! Command-line parsing into plain structs. No work happens here beyond reading flags.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::CliError;
use crate::cli::generate::ValueSetting;
use crate::sops::stores::Format;

/// The `CHECK OPTIONS AND RULES` section, shared by `ksops --help` and `ksops check --help`.
macro_rules! check_section {
    () => {
        "\
CHECK OPTIONS AND RULES:
    --format human|json   Report for people (default) or one JSON object for tools.
    --host kubectl|kustomize|kpt
                          Also report generators this host silently skips (kubectl: KRM
                          exec functions; kpt: legacy exec plugins). Default: no host checks.
    --root kustomization|git-worktree
                          How far generator files may reach (as KSOPS_ROOT; default
                          kustomization).
    --decrypt             Also decrypt every encrypted file, with the identities
                          `ksops decrypt` uses (SOPS_AGE_KEY_FILE, …), MAC verified;
                          failures are findings. Values are never printed.

    unencrypted-file      a file matched by a .sops.yaml creation rule's path_regex, or read
                          by a ksops generator, is not SOPS-encrypted (or has values in clear)
    plaintext-secret      a v1 Secret manifest with literal data/stringData values, or a
                          secretGenerator with literals or plaintext files (templated values
                          such as {{ .x }}, ${VAR} are fine; annotation
                          ksops.dev/allow-plaintext: <reason> marks a deliberate exception)
    missing-file          a ksops generator names a file that does not exist
    outside-root          a ksops generator names a file outside its kustomization root
    invalid-generator     a ksops generator config that ksops refuses
    skipped-generator     a ksops generator the --host would silently skip
    invalid-kustomization a kustomization file that is not valid YAML
    invalid-sops-config   a .sops.yaml sops cannot use (YAML, path_regex, conflicting rules)
    invalid-recipient     a .sops.yaml key that is not a valid age recipient or SSH public
                          key (placeholders such as age1xxxx) or PGP fingerprint
    recipient-drift       an encrypted file whose recipients differ from its creation rule's
                          (fix: sops updatekeys FILE)
    decrypt-failed        with --decrypt: a file that does not decrypt or fails its MAC

    Exit codes: 0 no findings, 1 findings, 2 the check could not run.
    Files ignored by .gitignore are not checked. DIR/.ksops-check.yaml lists exceptions:
        allow:
          - paths: [docs/examples/]     (gitignore-style, relative to DIR)
            rules: [plaintext-secret]   (every rule when left out)
            reason: sample manifests    (required)

"
    };
}

/// `ksops --help`.
pub const HELP: &str = concat!(
    "\
ksops: decrypt SOPS files into Kubernetes manifests (a drop-in replacement for KSOPS)

USAGE:
    ksops < RESOURCE_LIST           (run by kustomize or kpt as a KRM exec function)
    ksops GENERATOR_CONFIG          (run by kustomize as a legacy exec plugin)
    ksops decrypt [OPTIONS] FILE
    ksops install [--with-kustomize] DIR
    ksops render [--dry-run | --redact] DIR
    ksops check [--format human|json] [--host HOST] [--root ROOT] [--decrypt] [DIR]
    ksops argocd generate           (Argo CD Config Management Plugin `generate` command)
    ksops --help | --version

GENERATOR:
    As a KRM function, ksops reads a ResourceList on standard input (the config in functionConfig)
    and writes one back with the generated objects appended. As a legacy exec plugin, kustomize
    runs `ksops <config>`. Either way the working directory is the kustomization root, every file
    the config names is decrypted (in parallel), and files must stay inside that root.

    KSOPS_CONCURRENCY_LIMIT   at most this many files are decrypted at once (default 20)
    KSOPS_ROOT                how far file references may reach: `kustomization` (default),
                              `git-worktree` (the enclosing git work tree), or
                              `unconfined-unsafe` (anything readable; for local use only)
    KSOPS_BIND_NAMESPACE=1    every decrypted `files` manifest must carry the authenticated
                              namespace $ARGOCD_APP_NAMESPACE (mac_only_encrypted files are
                              refused); secretFrom Secrets are put in it
    KSOPS_PROJECT_KEYS_DIR    identities come only from DIR/$ARGOCD_APP_PROJECT_NAME/keys.txt
    KSOPS_DRY_RUN=1           read no identity: check each file without a key and emit every
                              object with each encrypted value replaced by the placeholder
                              KSOPS_DRY_RUN_PLACEHOLDER (base64-encoded in a Secret's `data`)
    KSOPS_REDACT=1            decrypt, but emit each value as <redacted len=N hmac-sha256=HEX>
                              (HMAC keyed from your private keys); set by `render --redact`

COMMANDS:
    decrypt     Print the decrypted FILE exactly as `sops decrypt` does.
    render      Build the kustomization DIR with this binary as its ksops plugin (a temporary
                plugin home; nothing is installed). Uses `kustomize build --enable-alpha-plugins
                --enable-exec` when kustomize is on PATH, else `kubectl kustomize
                --enable-alpha-plugins` (and refuses generators kubectl would silently skip).
                --dry-run: no key needed, values are placeholders (sets KSOPS_DRY_RUN=1).
                --redact: values are markers a pull request can diff (sets KSOPS_REDACT=1).
    argocd generate
                Run in <checkout>/$ARGOCD_APP_SOURCE_PATH by an Argo CD CMP sidecar: build the
                app like `render`, with every generator confined to the checkout and the
                Application's ARGOCD_ENV_* variables dropped. Prints only the objects.
    check       Guardrails for CI and pre-commit over DIR (default: the working directory):
                report every finding, exit 1 if there is any (2 if the check cannot run).
                See CHECK below.
    install     Copy this binary (and, with --with-kustomize, the kustomize on PATH) into DIR,
                for init containers of images without a shell.

DECRYPT OPTIONS:
    --input-type TYPE     Read FILE as yaml, json, dotenv, ini or binary
                          (default: from the file name, as sops does).
    --output-type TYPE    Print as yaml, json, dotenv, ini or binary
                          (default: from the file name, not from --input-type).
    --ignore-mac          Do not verify the file's MAC. Values are still authenticated.
    --config PATH         The sops config file for output settings (default: $SOPS_CONFIG,
                          else .sops.yaml in the working directory or a parent).

",
    check_section!(),
    "\
IDENTITIES (read as sops 3.11 reads them, all used together):
    SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, SOPS_AGE_SSH_PRIVATE_KEY_FILE,
    ~/.ssh/id_ed25519, ~/.ssh/id_rsa, $XDG_CONFIG_HOME/sops/age/keys.txt
    (else ~/.config/sops/age/keys.txt).

EXIT CODES (as sops): 1 invalid file, 4 cannot print, 25 a value failed to decrypt,
    51 MAC mismatch, 128 no identity could recover the data key.
"
);

/// `ksops check --help`.
pub const CHECK_HELP: &str = concat!(
    "\
ksops check: guardrails for CI and pre-commit hooks

USAGE:
    ksops check [--format human|json] [--host HOST] [--root ROOT] [--decrypt] [DIR]

Checks DIR (default: the working directory) and reports every finding with its file, line,
rule id and fix.

",
    check_section!()
);

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print usage.
    Help,
    /// Print the version.
    Version,
    /// `ksops decrypt`.
    Decrypt(DecryptArgs),
    /// `ksops CONFIG`: the legacy exec-plugin generator.
    Generate(PathBuf),
    /// No arguments: a KRM function reading a ResourceList from standard input.
    Krm,
    /// `ksops install`.
    Install(crate::cli::InstallArgs),
    /// `ksops render [--dry-run | --redact] DIR`.
    Render(RenderArgs),
    /// `ksops argocd generate`: the Argo CD CMP v2 `generate` command.
    ArgocdGenerate,
    /// `ksops check [DIR]`.
    Check(crate::cli::CheckArgs),
    /// `ksops check --help`.
    CheckHelp,
}

/// The flags of `ksops decrypt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptArgs {
    /// The file to decrypt.
    pub file: PathBuf,
    /// `--input-type`.
    pub input_type: Option<Format>,
    /// `--output-type`.
    pub output_type: Option<Format>,
    /// `--ignore-mac`.
    pub ignore_mac: bool,
    /// `--config`.
    pub config: Option<PathBuf>,
}

/// The flags of `ksops render`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderArgs {
    /// The kustomization directory.
    pub dir: PathBuf,
    /// `--dry-run` or `--redact`; `None` leaves the environment's setting.
    pub values: Option<ValueSetting>,
}

/// Parses the arguments that follow the program name.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, CliError> {
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        return Ok(Command::Krm);
    };
    match first.to_str() {
        Some("--help" | "-h" | "help") => Ok(Command::Help),
        Some("--version" | "-V" | "version") => Ok(Command::Version),
        Some("decrypt") => parse_decrypt(args).map(Command::Decrypt),
        Some("install") => parse_install(args).map(Command::Install),
        Some("argocd") => match (args.next(), args.next()) {
            (Some(sub), None) if sub == "generate" => Ok(Command::ArgocdGenerate),
            _ => Err(CliError::Usage("usage: ksops argocd generate".into())),
        },
        Some("check") => {
            let args: Vec<OsString> = args.collect();
            if args.iter().any(|a| a == "--help" || a == "-h") {
                Ok(Command::CheckHelp)
            } else {
                parse_check(args.into_iter()).map(Command::Check)
            }
        }
        Some("render") => parse_render(args).map(Command::Render),
        Some(flag) if flag.starts_with('-') => {
            Err(CliError::Usage(format!("unknown option {flag:?}")))
        }
        // kustomize runs legacy exec plugins with exactly one argument: the config file.
        _ => match args.next() {
            None => Ok(Command::Generate(PathBuf::from(first))),
            Some(_) => Err(CliError::Usage(
                "a generator takes exactly one argument, the config file".into(),
            )),
        },
    }
}

fn parse_decrypt(mut args: impl Iterator<Item = OsString>) -> Result<DecryptArgs, CliError> {
    let mut file = None;
    let mut input_type = None;
    let mut output_type = None;
    let mut ignore_mac = false;
    let mut config = None;
    let mut only_files = false;
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if only_files || !text.starts_with("--") {
            if file.replace(PathBuf::from(&arg)).is_some() {
                return Err(CliError::Usage("decrypt takes exactly one FILE".into()));
            }
            continue;
        }
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(OsString::from(value))),
            None => (text.into_owned(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| CliError::Usage(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--" => only_files = true,
            "--input-type" => {
                input_type = Some(format_flag("--input-type", value("--input-type")?)?)
            }
            "--output-type" => {
                output_type = Some(format_flag("--output-type", value("--output-type")?)?)
            }
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--ignore-mac" => ignore_mac = true,
            other => return Err(CliError::Usage(format!("unknown option {other}"))),
        }
    }
    let file = file.ok_or_else(|| CliError::Usage("decrypt needs a FILE".into()))?;
    Ok(DecryptArgs {
        file,
        input_type,
        output_type,
        ignore_mac,
        config,
    })
}

fn parse_render(args: impl Iterator<Item = OsString>) -> Result<RenderArgs, CliError> {
    let mut dir = None;
    let mut values = None;
    for arg in args {
        let flag = match arg.to_str() {
            Some("--dry-run") => Some(ValueSetting::DryRun),
            Some("--redact") => Some(ValueSetting::Redact),
            Some(flag) if flag.starts_with('-') => {
                return Err(CliError::Usage(format!("render: unknown option {flag}")));
            }
            _ => None,
        };
        match flag {
            Some(setting) if values.replace(setting).is_some_and(|old| old != setting) => {
                return Err(CliError::Usage(
                    "render: --dry-run and --redact cannot be combined".into(),
                ));
            }
            Some(_) => {}
            None if dir.replace(PathBuf::from(&arg)).is_some() => {
                return Err(CliError::Usage("render takes exactly one directory".into()));
            }
            None => {}
        }
    }
    let dir = dir.ok_or_else(|| CliError::Usage("render takes exactly one directory".into()))?;
    Ok(RenderArgs { dir, values })
}

fn parse_install(
    args: impl Iterator<Item = OsString>,
) -> Result<crate::cli::InstallArgs, CliError> {
    let mut destination = None;
    let mut with_kustomize = false;
    for arg in args {
        match arg.to_str() {
            Some("--with-kustomize") => with_kustomize = true,
            Some(flag) if flag.starts_with('-') => {
                return Err(CliError::Usage(format!("install: unknown option {flag}")));
            }
            _ => {
                if destination.replace(PathBuf::from(&arg)).is_some() {
                    return Err(CliError::Usage(
                        "install takes exactly one destination directory".into(),
                    ));
                }
            }
        }
    }
    let destination = destination
        .ok_or_else(|| CliError::Usage("install requires a destination directory".into()))?;
    Ok(crate::cli::InstallArgs {
        destination,
        with_kustomize,
    })
}

fn parse_check(
    mut args: impl Iterator<Item = OsString>,
) -> Result<crate::cli::CheckArgs, CliError> {
    use crate::check::Host;
    use crate::cli::ReportFormat;
    use crate::generator::confine::RootPolicy;
    let mut dir = None;
    let mut format = ReportFormat::Human;
    let mut host = None;
    let mut root_policy = RootPolicy::Kustomization;
    let mut decrypt = false;
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        if !text.starts_with("--") {
            if dir.replace(PathBuf::from(&arg)).is_some() {
                return Err(CliError::Usage("check takes at most one DIR".into()));
            }
            continue;
        }
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (text.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next().map(|v| v.to_string_lossy().into_owned()))
                .ok_or_else(|| CliError::Usage(format!("check: {name} needs a value")))
        };
        let bad = |name: &str, allowed: &str, got: &str| {
            CliError::Usage(format!(
                "check: {name} must be one of {allowed} (got {got:?})"
            ))
        };
        match flag.as_str() {
            "--format" => {
                format = match value("--format")?.as_str() {
                    "human" => ReportFormat::Human,
                    "json" => ReportFormat::Json,
                    other => return Err(bad("--format", "human, json", other)),
                }
            }
            "--host" => {
                let name = value("--host")?;
                host = Some(
                    Host::from_name(&name)
                        .ok_or_else(|| bad("--host", "kubectl, kustomize, kpt", &name))?,
                );
            }
            "--root" => {
                root_policy = match value("--root")?.as_str() {
                    "kustomization" => RootPolicy::Kustomization,
                    "git-worktree" => RootPolicy::GitWorkTree,
                    other => return Err(bad("--root", "kustomization, git-worktree", other)),
                }
            }
            "--decrypt" if inline.is_none() => decrypt = true,
            other => return Err(CliError::Usage(format!("check: unknown option {other}"))),
        }
    }
    Ok(crate::cli::CheckArgs {
        dir: dir.unwrap_or_else(|| PathBuf::from(".")),
        format,
        host,
        root_policy,
        decrypt,
    })
}

fn format_flag(flag: &str, value: OsString) -> Result<Format, CliError> {
    let text = value.to_string_lossy();
    Format::from_name(&text).ok_or_else(|| {
        CliError::Usage(format!(
            "{flag} must be one of yaml, json, dotenv, ini, binary (got {text:?})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, CliError> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_decrypt_flags() {
        let cmd = parse(&[
            "decrypt",
            "--input-type",
            "json",
            "--output-type=yaml",
            "--ignore-mac",
            "f.enc",
        ]);
        assert_eq!(
            cmd.unwrap(),
            Command::Decrypt(DecryptArgs {
                file: "f.enc".into(),
                input_type: Some(Format::Json),
                output_type: Some(Format::Yaml),
                ignore_mac: true,
                config: None,
            })
        );
    }

    #[test]
    fn parses_render_flags() {
        let render = |args: &[&str]| match parse(args) {
            Ok(Command::Render(args)) => (args.dir, args.values),
            other => panic!("{other:?}"),
        };
        assert_eq!(render(&["render", "d"]), ("d".into(), None));
        assert_eq!(
            render(&["render", "--dry-run", "d"]),
            ("d".into(), Some(ValueSetting::DryRun))
        );
        assert_eq!(
            render(&["render", "d", "--redact"]),
            ("d".into(), Some(ValueSetting::Redact))
        );
    }

    #[test]
    fn parses_check_flags() {
        use crate::check::Host;
        use crate::cli::{CheckArgs, ReportFormat};
        use crate::generator::confine::RootPolicy;
        assert_eq!(
            parse(&["check"]).unwrap(),
            Command::Check(CheckArgs {
                dir: ".".into(),
                format: ReportFormat::Human,
                host: None,
                root_policy: RootPolicy::Kustomization,
                decrypt: false,
            })
        );
        assert_eq!(
            parse(&[
                "check",
                "--format=json",
                "--host",
                "kubectl",
                "--root",
                "git-worktree",
                "--decrypt",
                "deploy"
            ])
            .unwrap(),
            Command::Check(CheckArgs {
                dir: "deploy".into(),
                format: ReportFormat::Json,
                host: Some(Host::Kubectl),
                root_policy: RootPolicy::GitWorkTree,
                decrypt: true,
            })
        );
    }

    #[test]
    fn refuses_bad_usage() {
        assert!(matches!(parse(&["decrypt"]), Err(CliError::Usage(_))));
        assert!(matches!(
            parse(&["decrypt", "a", "b"]),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            parse(&["decrypt", "--input-type", "toml", "a"]),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            parse(&["decrypt", "--frobnicate", "a"]),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            parse(&["check", "--format", "xml"]),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            parse(&["check", "a", "b"]),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            parse(&["check", "--host=docker"]),
            Err(CliError::Usage(_))
        ));
        assert_eq!(parse(&["--version"]).unwrap(), Command::Version);
        for bad in [
            &["render"][..],
            &["render", "a", "b"],
            &["render", "--dry-run", "--redact", "a"],
            &["render", "--frobnicate", "a"],
        ] {
            assert!(matches!(parse(bad), Err(CliError::Usage(_))), "{bad:?}");
        }
        assert_eq!(parse(&["--help"]).unwrap(), Command::Help);
    }
}
