//! The command line, parsed once into a plain [`Command`].
//!
//! Every command is described once, in a [`CommandSpec`]: its operands, flags and help text.
//! One loop (`parse_flags`) reads every command's flags through that description, and
//! `--help` prints the same description, so the parser and the help cannot drift apart.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::check::Host;
use crate::cli::env::{self, ValueModeKind};
use crate::cli::error::UsageError;
use crate::cli::kustomize::{KUSTOMIZE_FLAGS, KustomizeFlag};
use crate::generator::RootPolicy;
use crate::sops::Format;

/// One flag of a command.
#[derive(Debug)]
pub struct FlagSpec {
    /// The flag, with its dashes (`--input-type`).
    pub name: &'static str,
    /// The placeholder of its value (`TYPE`), or `None` for an on/off flag.
    pub value: Option<&'static str>,
    /// One or more lines of help.
    pub help: &'static str,
}

/// One command: what the parser accepts and what `--help` prints.
#[derive(Debug)]
pub struct CommandSpec {
    /// The words that select it (`decrypt`, `argocd generate`).
    pub name: &'static str,
    /// Its operands as shown in the usage line (`FILE`, `[DIR]`).
    pub operands: &'static str,
    /// One line for the command list.
    pub summary: &'static str,
    /// What it does, a paragraph.
    pub about: &'static str,
    /// Its own flags.
    pub flags: &'static [FlagSpec],
    /// Whether it passes kustomize's build flags through to the kustomize it runs.
    pub kustomize_flags: bool,
    /// Further sections of its help (rules, exit codes).
    pub details: &'static str,
}

/// `--help`, which every command accepts.
const HELP_FLAG: FlagSpec = FlagSpec {
    name: "--help",
    value: None,
    help: "Print this help and exit.",
};

/// `ksops decrypt`.
pub const DECRYPT: CommandSpec = CommandSpec {
    name: "decrypt",
    operands: "FILE",
    summary: "Print the decrypted FILE exactly as `sops decrypt` does.",
    about: "Decrypts FILE with the identities sops 3.11 would use (see IDENTITIES in `ksops \
            --help`) and prints it exactly as `sops decrypt` prints it. The MAC is verified.",
    flags: &[
        FlagSpec {
            name: "--input-type",
            value: Some("TYPE"),
            help: "Read FILE as yaml, json, dotenv, ini or binary\n\
                   (default: from the file name, as sops does).",
        },
        FlagSpec {
            name: "--output-type",
            value: Some("TYPE"),
            help: "Print as yaml, json, dotenv, ini or binary\n\
                   (default: from the file name, not from --input-type).",
        },
        FlagSpec {
            name: "--ignore-mac",
            value: None,
            help: "Do not verify the file's MAC. Values are still authenticated.",
        },
        FlagSpec {
            name: "--config",
            value: Some("PATH"),
            help: "The sops config file for output settings (default: $SOPS_CONFIG,\n\
                   else .sops.yaml in the working directory or a parent).",
        },
    ],
    kustomize_flags: false,
    details: "\
EXIT CODES (the same as sops, so scripts written for `sops decrypt` keep working):
    0     decrypted
    1     invalid file or metadata (not encrypted, not parseable, bad `sops` section)
    2     FILE cannot be read (a directory, no permission), bad usage
    3     the output cannot be written (for example a closed pipe)
    4     the result cannot be printed in the output format
    5     the sops config file cannot be used
    25    a value failed to decrypt (tampered, moved or renamed)
    51    MAC mismatch
    100   FILE does not exist
    128   no identity could recover the data key
",
};

/// `ksops render`.
pub const RENDER: CommandSpec = CommandSpec {
    name: "render",
    operands: "[DIR]",
    summary: "Build a kustomization with this binary as its ksops plugin.",
    about: "Builds the kustomization DIR (default: the working directory) with this binary wired \
            in as its ksops plugin through a temporary plugin home (nothing is installed). Uses \
            `kustomize build --enable-alpha-plugins --enable-exec` when kustomize is on PATH, \
            else `kubectl kustomize --enable-alpha-plugins` (and refuses generators kubectl \
            would silently skip). kustomize's own build flags (below) are passed through, and \
            anything after `--` is passed to kustomize as it is.",
    flags: &[
        FlagSpec {
            name: "--dry-run",
            value: None,
            help: "Read no key: every value is a placeholder\n\
                   (sets KSOPS_DRY_RUN=1).",
        },
        FlagSpec {
            name: "--redact",
            value: None,
            help: "Decrypt, but print each value as a marker a pull request can diff\n\
                   (sets KSOPS_REDACT=1).",
        },
    ],
    kustomize_flags: true,
    details: "",
};

/// `ksops check`.
pub const CHECK: CommandSpec = CommandSpec {
    name: "check",
    operands: "[DIR]",
    summary: "Guardrails for CI and pre-commit hooks: report every finding.",
    about: "Checks DIR (default: the working directory) before it reaches a cluster, without keys \
            unless --decrypt is given, and reports every finding with its file, line, rule id \
            and fix. No secret value is ever printed.",
    flags: &[
        FlagSpec {
            name: "--format",
            value: Some("human|json"),
            help: "Report for people (default) or one JSON object for tools.",
        },
        FlagSpec {
            name: "--host",
            value: Some("kubectl|kustomize|kpt"),
            help: "Also report generators this host would not run:\n\
                   kubectl skips KRM exec functions; kubectl and\n\
                   kustomize fail on legacy generators with no entry in\n\
                   the plugin home ksops installs. kpt runs any config\n\
                   given to --fn-config. Default: no host checks.",
        },
        FlagSpec {
            name: "--root",
            value: Some("kustomization|git-worktree"),
            help: "How far generator files may reach (as KSOPS_ROOT; default\n\
                   kustomization).",
        },
        FlagSpec {
            name: "--decrypt",
            value: None,
            help: "Also decrypt every encrypted file, with the identities\n\
                   `ksops decrypt` uses, MAC verified; failures are\n\
                   findings. Values are never printed.",
        },
    ],
    kustomize_flags: false,
    details: "\
RULES:
    unencrypted-file      a file matched by a .sops.yaml creation rule's path_regex, or read
                          by a ksops generator, is not SOPS-encrypted (or has values in clear)
    plaintext-secret      a v1 Secret manifest with literal data/stringData values, or a
                          secretGenerator with literals or plaintext files (templated values
                          such as {{ .x }}, ${VAR} are fine; annotation
                          ksops.dev/allow-plaintext: <reason> marks a deliberate exception)
    missing-file          a ksops generator names a file that does not exist
    outside-root          a ksops generator names a file outside its kustomization root
    invalid-generator     a ksops generator config that ksops refuses
    skipped-generator     with --host kubectl: a ksops generator declared as a KRM exec
                          function, which kubectl kustomize silently skips
    missing-plugin        with --host kubectl or kustomize: a legacy ksops generator whose
                          apiVersion/kind has no plugin entry (ksops installs viaduct.ai/v1
                          ksops, viaduct.ai/v2 ksops and viaduct.ai/v1 ksops-exec)
    invalid-kustomization a kustomization file that is not valid YAML
    invalid-sops-config   a .sops.yaml sops cannot use (YAML, path_regex, conflicting rules)
    invalid-recipient     a .sops.yaml key that is not a valid age recipient or SSH public
                          key (placeholders such as age1xxxx) or PGP fingerprint
    recipient-drift       an encrypted file whose recipients differ from its creation rule's
                          (fix: sops updatekeys FILE)
    decrypt-failed        with --decrypt: a file that does not decrypt or fails its MAC
    unreferenced-encrypted-file
                          an encrypted file under a kustomization directory that no ksops
                          generator, resource, secretGenerator, configMapGenerator or patch
                          reads: it never deploys

EXIT CODES:
    0     no findings
    1     findings (the report is on standard output)
    2     the check could not run (bad usage, unreadable directory, invalid settings)

Files ignored by .gitignore are not checked. DIR/.ksops-check.yaml lists exceptions:
    allow:
      - paths: [docs/examples/]     (gitignore-style, relative to DIR)
        rules: [plaintext-secret]   (every rule when left out)
        reason: sample manifests    (required)
",
};

/// `ksops install`.
pub const INSTALL: CommandSpec = CommandSpec {
    name: "install",
    operands: "DIR",
    summary: "Copy this binary into DIR, for init containers of images without a shell.",
    about: "Copies this binary to DIR/ksops (and, with --with-kustomize, the kustomize found on \
            PATH to DIR/kustomize), mode 0755. Everything is checked before anything is copied: \
            DIR must be a writable directory and, with --with-kustomize, kustomize must be on \
            PATH.",
    flags: &[FlagSpec {
        name: "--with-kustomize",
        value: None,
        help: "Also copy the `kustomize` found on PATH.",
    }],
    kustomize_flags: false,
    details: "",
};

/// `ksops argocd generate`.
pub const ARGOCD_GENERATE: CommandSpec = CommandSpec {
    name: "argocd generate",
    operands: "",
    summary: "The `generate` command of an Argo CD Config Management Plugin sidecar.",
    about: "Run in <checkout>/$ARGOCD_APP_SOURCE_PATH by an Argo CD CMP sidecar: builds the app \
            like `render`, with every generator confined to the checkout and the Application's \
            ARGOCD_ENV_* variables dropped. Prints only the objects. kustomize's own build flags \
            (below) are passed through, and anything after `--` is passed to kustomize as it is.",
    flags: &[],
    kustomize_flags: true,
    details: "",
};

/// Every command, in the order `ksops --help` lists them.
pub const COMMANDS: [&CommandSpec; 5] = [&DECRYPT, &RENDER, &CHECK, &ARGOCD_GENERATE, &INSTALL];

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print usage: the overview, or one command's.
    Help(Option<&'static str>),
    /// Print the version.
    Version,
    /// `ksops decrypt`.
    Decrypt(DecryptArgs),
    /// `ksops CONFIG`: the legacy exec-plugin generator.
    Generate(PathBuf),
    /// No arguments: a KRM function reading a ResourceList from standard input.
    Krm,
    /// `ksops install`.
    Install(InstallArgs),
    /// `ksops render`.
    Render(RenderArgs),
    /// `ksops argocd generate`: the Argo CD CMP v2 `generate` command.
    ArgocdGenerate(ArgocdArgs),
    /// `ksops check`.
    Check(CheckArgs),
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
    pub values: Option<ValueModeKind>,
    /// kustomize build flags to pass through.
    pub kustomize_args: Vec<OsString>,
}

/// The flags of `ksops argocd generate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgocdArgs {
    /// kustomize build flags to pass through.
    pub kustomize_args: Vec<OsString>,
}

/// How `ksops check` prints its report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// One block per finding and a summary line.
    #[default]
    Human,
    /// One JSON object.
    Json,
}

/// The flags of `ksops check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckArgs {
    /// The directory to check (default: the working directory).
    pub dir: PathBuf,
    /// `--format`.
    pub format: ReportFormat,
    /// `--host`.
    pub host: Option<Host>,
    /// `--root`.
    pub root_policy: RootPolicy,
    /// `--decrypt`.
    pub decrypt: bool,
}

/// The flags of `ksops install`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallArgs {
    /// Where to copy the binaries.
    pub destination: PathBuf,
    /// Also copy the `kustomize` found on `PATH`.
    pub with_kustomize: bool,
}

/// The words that are commands (for the suggestion on a misspelled one).
const COMMAND_WORDS: [&str; 7] = [
    "decrypt", "render", "check", "argocd", "install", "help", "version",
];

/// Parses the arguments that follow the program name.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    let mut args = args.into_iter();
    let Some(first) = args.next() else {
        return Ok(Command::Krm);
    };
    let rest: Vec<OsString> = args.collect();
    let word = first.to_str().unwrap_or_default();
    let spec = match word {
        "--help" | "-h" => return Ok(Command::Help(None)),
        "help" => return help_topic(rest.first()),
        "--version" | "-V" | "version" => return Ok(Command::Version),
        "decrypt" => &DECRYPT,
        "render" => &RENDER,
        "check" => &CHECK,
        "install" => &INSTALL,
        "argocd" => {
            return match rest.split_first() {
                Some((sub, more)) if sub == "generate" => {
                    parse_command(&ARGOCD_GENERATE, more.iter().cloned())
                }
                Some((flag, _)) if flag == "--help" || flag == "-h" => {
                    Ok(Command::Help(Some(ARGOCD_GENERATE.name)))
                }
                _ => Err(UsageError::UnknownSubcommand {
                    command: "argocd",
                    expected: "generate",
                }),
            };
        }
        flag if flag.starts_with('-') => {
            return Err(UsageError::UnknownOption {
                command: None,
                option: flag.to_owned(),
                suggestion: nearest(flag, ["--help", "--version"]),
            });
        }
        _ => return generator_or_typo(first, rest),
    };
    parse_command(spec, rest.into_iter())
}

/// `ksops help [COMMAND]`.
fn help_topic(topic: Option<&OsString>) -> Result<Command, UsageError> {
    let Some(topic) = topic else {
        return Ok(Command::Help(None));
    };
    let topic = topic.to_string_lossy();
    let spec = COMMANDS
        .iter()
        .find(|spec| spec.name == topic || spec.name.split(' ').next() == Some(&topic));
    match spec {
        Some(spec) => Ok(Command::Help(Some(spec.name))),
        None => Err(UsageError::UnknownCommand {
            suggestion: nearest(&topic, COMMAND_WORDS),
            given: topic.into_owned(),
        }),
    }
}

/// kustomize runs a legacy exec plugin with exactly one argument, the path of the config file it
/// wrote. A single argument that names an existing file, or looks like a path, is one; anything
/// else is a command that does not exist (`ksops rendr .`), never a config path.
fn generator_or_typo(first: OsString, rest: Vec<OsString>) -> Result<Command, UsageError> {
    let text = first.to_string_lossy();
    let looks_like_path = text.contains('/') || text.contains('.');
    if rest.is_empty() && (looks_like_path || std::path::Path::new(&first).exists()) {
        return Ok(Command::Generate(PathBuf::from(first)));
    }
    Err(UsageError::UnknownCommand {
        suggestion: nearest(&text, COMMAND_WORDS),
        given: text.into_owned(),
    })
}

/// Parses one command's arguments into its struct.
fn parse_command(
    spec: &'static CommandSpec,
    args: impl Iterator<Item = OsString>,
) -> Result<Command, UsageError> {
    let parsed = parse_flags(spec, args)?;
    if parsed.help {
        return Ok(Command::Help(Some(spec.name)));
    }
    Ok(match spec.name {
        "decrypt" => Command::Decrypt(DecryptArgs {
            file: parsed.one_operand("FILE")?,
            input_type: parsed.format("--input-type")?,
            output_type: parsed.format("--output-type")?,
            ignore_mac: parsed.has("--ignore-mac"),
            config: parsed.value("--config").map(PathBuf::from),
        }),
        "render" => Command::Render(RenderArgs {
            dir: parsed.optional_operand("DIR")?,
            values: match (parsed.has("--dry-run"), parsed.has("--redact")) {
                (true, true) => {
                    return Err(UsageError::Conflict {
                        command: spec.name,
                        flags: ["--dry-run", "--redact"],
                    });
                }
                (true, false) => Some(ValueModeKind::DryRun),
                (false, true) => Some(ValueModeKind::Redact),
                (false, false) => None,
            },
            kustomize_args: parsed.kustomize,
        }),
        "check" => Command::Check(CheckArgs {
            dir: parsed.optional_operand("DIR")?,
            format: match parsed.choice("--format", &["human", "json"])? {
                Some("json") => ReportFormat::Json,
                _ => ReportFormat::Human,
            },
            host: parsed
                .choice("--host", &["kubectl", "kustomize", "kpt"])?
                .and_then(Host::from_name),
            root_policy: match parsed.choice("--root", &["kustomization", "git-worktree"])? {
                Some("git-worktree") => RootPolicy::GitWorkTree,
                _ => RootPolicy::Kustomization,
            },
            decrypt: parsed.has("--decrypt"),
        }),
        "install" => Command::Install(InstallArgs {
            destination: parsed.one_operand("DIR")?,
            with_kustomize: parsed.has("--with-kustomize"),
        }),
        _ => {
            parsed.no_operands()?;
            Command::ArgocdGenerate(ArgocdArgs {
                kustomize_args: parsed.kustomize,
            })
        }
    })
}

/// A command's arguments sorted into flags, operands and kustomize flags.
#[derive(Debug)]
struct Parsed {
    command: &'static str,
    /// Each flag given, with its value; a repeated flag's last value wins, as in sops.
    flags: Vec<(&'static FlagSpec, Option<OsString>)>,
    operands: Vec<OsString>,
    kustomize: Vec<OsString>,
    help: bool,
}

/// The one flag loop every command uses: `--flag`, `--flag VALUE`, `--flag=VALUE`, `--help`
/// anywhere, and `--` (then everything that follows is an operand, or for commands that run
/// kustomize, passed to kustomize as it is). A kustomize build flag is passed through where
/// the command runs kustomize; anything else unknown is refused with the nearest flag.
fn parse_flags(
    spec: &'static CommandSpec,
    mut args: impl Iterator<Item = OsString>,
) -> Result<Parsed, UsageError> {
    let mut parsed = Parsed {
        command: spec.name,
        flags: Vec::new(),
        operands: Vec::new(),
        kustomize: Vec::new(),
        help: false,
    };
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        if text == "--" {
            if spec.kustomize_flags {
                parsed.kustomize.extend(args.by_ref());
            } else {
                parsed.operands.extend(args.by_ref());
            }
            break;
        }
        if !text.starts_with('-') || text == "-" {
            parsed.operands.push(arg);
            continue;
        }
        if text == "--help" || text == "-h" {
            parsed.help = true;
            continue;
        }
        let (name, inline) = match text.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(OsString::from(value))),
            None => (text.clone(), None),
        };
        if let Some(flag) = spec.flags.iter().find(|f| f.name == name) {
            let value = match (flag.value, inline) {
                (None, None) => None,
                (None, Some(_)) => {
                    return Err(UsageError::UnexpectedValue {
                        command: spec.name,
                        flag: flag.name,
                    });
                }
                (Some(_), Some(value)) => Some(value),
                (Some(placeholder), None) => Some(args.next().ok_or(UsageError::MissingValue {
                    command: spec.name,
                    flag: flag.name,
                    placeholder,
                })?),
            };
            parsed.flags.push((flag, value));
            continue;
        }
        if spec.kustomize_flags
            && let Some(flag) = KustomizeFlag::find(&name)
        {
            if flag.refused {
                return Err(UsageError::RefusedKustomizeFlag {
                    command: spec.name,
                    flag: flag.name,
                });
            }
            parsed.kustomize.push(arg);
            if flag.takes_value && inline.is_none() {
                parsed
                    .kustomize
                    .push(args.next().ok_or(UsageError::MissingValue {
                        command: spec.name,
                        flag: flag.name,
                        placeholder: "VALUE",
                    })?);
            }
            continue;
        }
        let known = spec.flags.iter().map(|f| f.name).chain(["--help"]);
        let suggestion = if spec.kustomize_flags {
            nearest(&name, known.chain(KUSTOMIZE_FLAGS.iter().map(|f| f.name)))
        } else {
            nearest(&name, known)
        };
        return Err(UsageError::UnknownOption {
            command: Some(spec.name),
            option: name,
            suggestion,
        });
    }
    Ok(parsed)
}

impl Parsed {
    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(flag, _)| flag.name == name)
    }

    fn value(&self, name: &str) -> Option<&OsString> {
        self.flags
            .iter()
            .rev()
            .find(|(flag, _)| flag.name == name)
            .and_then(|(_, value)| value.as_ref())
    }

    /// A flag whose value must be one of `allowed`.
    fn choice(
        &self,
        name: &'static str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, UsageError> {
        let Some(value) = self.value(name) else {
            return Ok(None);
        };
        let value = value.to_string_lossy();
        match allowed.iter().find(|choice| **choice == value) {
            Some(choice) => Ok(Some(choice)),
            None => Err(UsageError::BadValue {
                command: self.command,
                flag: name,
                allowed: allowed.join(", "),
                got: value.into_owned(),
            }),
        }
    }

    fn format(&self, name: &'static str) -> Result<Option<Format>, UsageError> {
        let allowed = ["yaml", "json", "dotenv", "ini", "binary"];
        Ok(self.choice(name, &allowed)?.and_then(Format::from_name))
    }

    fn one_operand(&self, operand: &'static str) -> Result<PathBuf, UsageError> {
        match self.operands.as_slice() {
            [one] => Ok(PathBuf::from(one)),
            [] => Err(UsageError::MissingOperand {
                command: self.command,
                operand,
            }),
            [_, extra, ..] => Err(self.extra(extra)),
        }
    }

    fn optional_operand(&self, operand: &'static str) -> Result<PathBuf, UsageError> {
        match self.operands.as_slice() {
            [] => Ok(PathBuf::from(".")),
            [_] => self.one_operand(operand),
            [_, extra, ..] => Err(self.extra(extra)),
        }
    }

    fn no_operands(&self) -> Result<(), UsageError> {
        match self.operands.first() {
            None => Ok(()),
            Some(extra) => Err(self.extra(extra)),
        }
    }

    fn extra(&self, extra: &OsString) -> UsageError {
        UsageError::ExtraOperand {
            command: self.command,
            extra: extra.to_string_lossy().into_owned(),
        }
    }
}

/// The candidate closest to `given` when it is close enough to be a likely typo: at most two
/// edits for longer words, one for short ones, or `given` is a prefix of it.
fn nearest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = if given.trim_start_matches('-').len() <= 4 {
        1
    } else {
        2
    };
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(given, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= limit || (given.len() >= 3 && candidate.starts_with(given))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.to_owned())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// `ksops --help`.
pub fn overview() -> String {
    let mut out = String::from(
        "ksops: decrypt SOPS files into Kubernetes manifests (a drop-in replacement for KSOPS)\n\n\
         USAGE:\n    \
         ksops < RESOURCE_LIST       run by kustomize or kpt as a KRM exec function\n    \
         ksops GENERATOR_CONFIG      run by kustomize as a legacy exec plugin\n",
    );
    for spec in COMMANDS {
        out.push_str(&format!("    {}\n", usage_line(spec)));
    }
    out.push_str("    ksops --help | --version\n\nCOMMANDS:\n");
    for spec in COMMANDS {
        out.push_str(&format!("    {:<18}{}\n", spec.name, spec.summary));
    }
    out.push_str(
        "\nRun `ksops COMMAND --help` for a command's options.\n\n\
         GENERATOR:\n\
         \x20   As a KRM function, ksops reads a ResourceList on standard input (the config in\n\
         \x20   functionConfig) and writes one back with the generated objects appended. As a\n\
         \x20   legacy exec plugin, kustomize runs `ksops <config>`. Either way the working\n\
         \x20   directory is the kustomization root, every file the config names is decrypted\n\
         \x20   (in parallel), and files must stay inside that root.\n\n\
         ENVIRONMENT:\n",
    );
    for (name, help) in env::SETTINGS_HELP {
        out.push_str(&two_columns(name, help, 26));
    }
    out.push_str(
        "\nIDENTITIES (read as sops 3.12 reads them, all used together):\n    \
         SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, SOPS_AGE_SSH_PRIVATE_KEY_FILE,\n    \
         SOPS_AGE_SSH_PRIVATE_KEY_CMD, ~/.ssh/id_ed25519, ~/.ssh/id_rsa,\n    \
         $XDG_CONFIG_HOME/sops/age/keys.txt (else ~/.config/sops/age/keys.txt). The two\n    \
         commands run once per recipient tried, with SOPS_AGE_RECIPIENT set to it. A\n    \
         relative key file path is resolved in the directory ksops runs in: as a plugin,\n    \
         the kustomization directory.\n    \
         PGP keys: the gpg program (SOPS_GPG_EXEC, else gpg; GNUPGHOME).\n    \
         AWS KMS keys: the KMS API of the ARN's region (AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL\n    \
         replace it), credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,\n    \
         AWS_WEB_IDENTITY_TOKEN_FILE+AWS_ROLE_ARN, the shared files (AWS_SHARED_CREDENTIALS_FILE,\n    \
         AWS_CONFIG_FILE, AWS_PROFILE or the key's aws_profile) or the container endpoint\n    \
         (AWS_CONTAINER_CREDENTIALS_*); not the EC2 instance metadata service (IMDS).\n    \
         Vault/OpenBao transit keys: VAULT_TOKEN (else ~/.vault-token), VAULT_AGENT_ADDR,\n    \
         VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY,\n    \
         VAULT_SKIP_VERIFY, VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES. A file's vault_address\n    \
         is contacted only when it is VAULT_ADDR's address or listed in\n    \
         SOPS_HC_VAULT_ALLOWLIST.\n    \
         Keys are tried age first, then PGP, then the others in the file, unless\n    \
         SOPS_DECRYPTION_ORDER (e.g. pgp,age) says otherwise.\n",
    );
    out
}

/// `ksops COMMAND --help`, for the command called `name`.
pub fn command_help(name: &str) -> String {
    let Some(spec) = COMMANDS.iter().find(|spec| spec.name == name) else {
        return overview();
    };
    let mut out = format!(
        "ksops {}: {}\n\nUSAGE:\n    {}\n\n{}\n\nOPTIONS:\n",
        spec.name,
        spec.summary,
        usage_line(spec),
        wrap(spec.about, 96)
    );
    for flag in spec.flags.iter().chain([&HELP_FLAG]) {
        let shown = match flag.value {
            Some(placeholder) => format!("{} {placeholder}", flag.name),
            None => flag.name.to_owned(),
        };
        out.push_str(&two_columns(&shown, flag.help, 26));
    }
    if spec.kustomize_flags {
        out.push_str("\nKUSTOMIZE OPTIONS (passed through to the kustomize build):\n");
        for flag in KUSTOMIZE_FLAGS.iter().filter(|f| !f.refused) {
            let shown = match flag.takes_value {
                true => format!("{} VALUE", flag.name),
                false => flag.name.to_owned(),
            };
            out.push_str(&two_columns(&shown, flag.help, 26));
        }
        out.push_str(&two_columns(
            "-- ARGS…",
            "Passed to kustomize as they are.",
            26,
        ));
    }
    if !spec.details.is_empty() {
        out.push('\n');
        out.push_str(spec.details);
    }
    out
}

/// `ksops NAME [OPTIONS] OPERANDS`, as the usage line shows it.
fn usage_line(spec: &CommandSpec) -> String {
    let mut line = format!("ksops {}", spec.name);
    match spec.flags {
        [] => {}
        [flag] if flag.value.is_none() => line.push_str(&format!(" [{}]", flag.name)),
        _ => line.push_str(" [OPTIONS]"),
    }
    if spec.kustomize_flags {
        line.push_str(" [KUSTOMIZE OPTIONS]");
    }
    if !spec.operands.is_empty() {
        line.push(' ');
        line.push_str(spec.operands);
    }
    line
}

/// `    NAME    first line` with the following lines indented under the first.
fn two_columns(name: &str, help: &str, width: usize) -> String {
    let mut out = String::new();
    let mut lines = help.lines();
    let first = lines.next().unwrap_or_default();
    if name.len() + 2 > width {
        out.push_str(&format!("    {name}\n    {:width$}{first}\n", ""));
    } else {
        out.push_str(&format!("    {name:<width$}{first}\n"));
    }
    for line in lines {
        out.push_str(&format!("    {:width$}{line}\n", ""));
    }
    out
}

/// Wraps a paragraph at `limit` columns, indented by four spaces.
fn wrap(text: &str, limit: usize) -> String {
    let mut out = String::new();
    let mut line = String::from("   ");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > limit && !line.trim().is_empty() {
            out.push_str(&line);
            out.push('\n');
            line = String::from("   ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

#[cfg(test)]
mod tests;
