//! The generator commands: `ksops CONFIG` as kustomize's legacy exec plugin, and `ksops` with a
//! ResourceList on standard input as a KRM exec function.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::cli::{CliError, read_capped, read_file, write_stdout, write_stdout_with};
use crate::generator::binding::Binding;
use crate::generator::confine::{ConfineError, Limits, Root, RootPolicy};
use crate::generator::generate::{DEFAULT_CONCURRENCY_LIMIT, ValueMode, generate};
use crate::generator::krm;
use crate::generator::redact::Redactor;
use crate::generator::schema::{GeneratorConfig, GeneratorId};
use crate::sops::keys::{IdentitySources, Keyring};
use crate::sops::tree::Value;

/// Generator settings read once from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratorSettings {
    /// `KSOPS_CONCURRENCY_LIMIT`.
    pub concurrency: usize,
    /// `KSOPS_ROOT`.
    pub root_policy: RootPolicy,
    /// `KSOPS_CONFINE_TO`: an absolute outer bound (the checkout) set by `ksops argocd generate`
    /// for the generators it runs. When present it replaces `KSOPS_ROOT`, so no other setting
    /// can widen the root beyond it.
    pub confine_to: Option<PathBuf>,
    /// `KSOPS_BIND_NAMESPACE=1` with `ARGOCD_APP_NAMESPACE`: the tenant binding.
    pub binding: Binding,
    /// `KSOPS_PROJECT_KEYS_DIR/<ARGOCD_APP_PROJECT_NAME>/keys.txt`: when set, the only identity
    /// source.
    pub project_keys: Option<PathBuf>,
    /// `KSOPS_DRY_RUN` / `KSOPS_REDACT`.
    pub values: ValueSetting,
}

/// What the generators do with encrypted values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueSetting {
    /// Decrypt them.
    #[default]
    Decrypt,
    /// `KSOPS_DRY_RUN=1`: read no identity, emit placeholders.
    DryRun,
    /// `KSOPS_REDACT=1`: decrypt, emit a keyed digest marker for each value.
    Redact,
}

/// Turns on a dry run in every generator (documented in `ksops --help`).
pub(crate) const KSOPS_DRY_RUN: &str = "KSOPS_DRY_RUN";
/// Turns on redaction in every generator; set by `ksops render --redact`.
pub(crate) const KSOPS_REDACT: &str = "KSOPS_REDACT";

/// The variables [`GeneratorSettings`] reads (documented in `ksops --help`).
const SETTINGS_VARS: &[&str] = &[
    "KSOPS_CONCURRENCY_LIMIT",
    "KSOPS_ROOT",
    KSOPS_CONFINE_TO,
    "KSOPS_BIND_NAMESPACE",
    "ARGOCD_APP_NAMESPACE",
    "KSOPS_PROJECT_KEYS_DIR",
    "ARGOCD_APP_PROJECT_NAME",
    KSOPS_DRY_RUN,
    KSOPS_REDACT,
];

/// The variable through which `ksops argocd generate` hands the checkout root to generators.
pub(crate) const KSOPS_CONFINE_TO: &str = "KSOPS_CONFINE_TO";

impl GeneratorSettings {
    /// Reads the settings (KSOPS semantics for `KSOPS_CONCURRENCY_LIMIT`: empty means the
    /// default, otherwise a whole number of at least 1). Values are never echoed in errors.
    pub fn from_env() -> Result<Self, CliError> {
        let vars = SETTINGS_VARS
            .iter()
            .filter_map(|name| Some((*name, std::env::var(name).ok()?)))
            .collect::<Vec<_>>();
        Self::parse(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        })
    }

    fn parse<'a>(var: impl Fn(&str) -> &'a str) -> Result<Self, CliError> {
        let concurrency = match var("KSOPS_CONCURRENCY_LIMIT").trim() {
            "" => DEFAULT_CONCURRENCY_LIMIT,
            text => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    CliError::Setting(
                        "KSOPS_CONCURRENCY_LIMIT must be a whole number of at least 1".into(),
                    )
                })?,
        };
        let root_policy = match var("KSOPS_ROOT") {
            "" | "kustomization" => RootPolicy::Kustomization,
            "git-worktree" => RootPolicy::GitWorkTree,
            "unconfined-unsafe" => RootPolicy::Unconfined,
            _ => {
                return Err(CliError::Setting(
                    "KSOPS_ROOT must be `kustomization`, `git-worktree` or `unconfined-unsafe`"
                        .into(),
                ));
            }
        };
        let confine_to = match var(KSOPS_CONFINE_TO) {
            "" => None,
            path if Path::new(path).is_absolute() => Some(PathBuf::from(path)),
            _ => {
                return Err(CliError::Setting(
                    "KSOPS_CONFINE_TO must be an absolute path".into(),
                ));
            }
        };
        let binding = match (
            switch(&var, "KSOPS_BIND_NAMESPACE")?,
            var("ARGOCD_APP_NAMESPACE"),
        ) {
            (false, _) => Binding::default(),
            (true, "") => {
                return Err(CliError::Setting(
                    "KSOPS_BIND_NAMESPACE is on but ARGOCD_APP_NAMESPACE is not set: \
                     the application needs a destination namespace"
                        .into(),
                ));
            }
            (true, namespace) => Binding {
                namespace: Some(namespace.to_owned()),
            },
        };
        let values = match (switch(&var, KSOPS_DRY_RUN)?, switch(&var, KSOPS_REDACT)?) {
            (false, false) => ValueSetting::Decrypt,
            (true, false) => ValueSetting::DryRun,
            (false, true) => ValueSetting::Redact,
            (true, true) => {
                return Err(CliError::Setting(format!(
                    "{KSOPS_DRY_RUN} and {KSOPS_REDACT} are both on; a run either decrypts or \
                     does not: turn one off"
                )));
            }
        };
        let project_keys = match var("KSOPS_PROJECT_KEYS_DIR") {
            "" => None,
            dir => {
                let project = var("ARGOCD_APP_PROJECT_NAME");
                if !is_safe_component(project) {
                    return Err(CliError::Setting(
                        "KSOPS_PROJECT_KEYS_DIR is set but ARGOCD_APP_PROJECT_NAME is missing or \
                         not a plain name (letters, digits, `-`, `_`, `.`; not `.` or `..`)"
                            .into(),
                    ));
                }
                Some(Path::new(dir).join(project).join("keys.txt"))
            }
        };
        Ok(GeneratorSettings {
            concurrency,
            root_policy,
            confine_to,
            binding,
            project_keys,
            values,
        })
    }

    /// Opens the root the generators read through: the checkout bound when one was handed down,
    /// else `KSOPS_ROOT`'s policy.
    fn open_root(&self) -> Result<Root, ConfineError> {
        match &self.confine_to {
            Some(bound) => Root::open_within(Path::new("."), bound, Limits::default()),
            None => Root::open(Path::new("."), self.root_policy, Limits::default()),
        }
    }

    /// What the generators do with values, with the identities that needs: none at all for a
    /// dry run (no identity source is read, no key command run).
    fn value_mode(&self) -> Result<ValueMode, CliError> {
        Ok(match self.values {
            ValueSetting::Decrypt => ValueMode::Decrypt(self.keyring()),
            ValueSetting::DryRun => ValueMode::DryRun,
            ValueSetting::Redact => {
                let keyring = self.keyring();
                let redactor = Redactor::from_keyring(&keyring)
                    .map_err(|e| CliError::Setting(format!("{KSOPS_REDACT}: {e}")))?;
                ValueMode::Redact(keyring, redactor)
            }
        })
    }

    /// Loads the identities: only the project's key file when project keys are on (nothing else
    /// is read, not even `$HOME`), else every source sops reads.
    fn keyring(&self) -> Keyring {
        let sources = match &self.project_keys {
            Some(file) => IdentitySources {
                age_key_file: Some(file.clone()),
                ..IdentitySources::default()
            },
            None => IdentitySources::from_env(),
        };
        Keyring::load(&sources)
    }
}

/// An on/off variable: empty, `0` or `false` is off, `1` or `true` is on. Anything else is
/// refused rather than guessed (the value is not echoed).
fn switch<'a>(var: &impl Fn(&str) -> &'a str, name: &str) -> Result<bool, CliError> {
    match var(name) {
        "" | "0" | "false" => Ok(false),
        "1" | "true" => Ok(true),
        _ => Err(CliError::Setting(format!(
            "{name} must be 1 (or true) to turn it on, or 0, false or empty to leave it off"
        ))),
    }
}

/// A single path component safe to join under a directory: an Argo CD project name.
fn is_safe_component(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Runs the generator config at `config` with the working directory as the kustomization
/// root, printing the manifests only when every file succeeded.
pub fn run_legacy(config: &Path) -> Result<(), CliError> {
    let shown = config.display().to_string();
    let text = read_file(config)?;
    let config = GeneratorConfig::parse(&text).map_err(|source| CliError::Schema {
        file: shown,
        source,
    })?;
    let settings = GeneratorSettings::from_env()?;
    let root = settings.open_root()?;
    let values = settings.value_mode()?;
    let output = generate(
        &config,
        &root,
        &values,
        settings.concurrency,
        &settings.binding,
    )
    .map_err(CliError::Generate)?;
    write_stdout_with(|out| output.write_to(out))
}

/// Runs as a KRM function: reads a ResourceList from standard input and writes one back. On
/// failure the output carries an error result and no generated object, and the exit is non-zero.
pub fn run_krm() -> Result<(), CliError> {
    if std::io::stdin().is_terminal() {
        return Err(CliError::Terminal);
    }
    let input = read_capped(std::io::stdin().lock(), "standard input")?;
    let list = match krm::read(&input) {
        Ok(list) => list,
        Err(error) => return krm_failure(Vec::new(), None, &error.to_string(), None),
    };
    match krm_generate(&list.configs) {
        Ok(generated) => {
            let mut items = list.passthrough;
            items.extend(generated);
            let output = krm::write(items, list.function_config, None)
                .map_err(|e| CliError::Krm(e.to_string()))?;
            write_stdout(&output)
        }
        Err((message, path)) => krm_failure(
            list.passthrough,
            list.function_config,
            &message,
            path.as_deref(),
        ),
    }
}

/// Runs every config; the first failure is returned as its message and file.
fn krm_generate(configs: &[Value]) -> Result<Vec<Value>, (String, Option<String>)> {
    let settings = GeneratorSettings::from_env().map_err(|e| (e.to_string(), None))?;
    let root = settings.open_root().map_err(|e| (e.to_string(), None))?;
    let values = settings.value_mode().map_err(|e| (e.to_string(), None))?;
    let mut generated = Vec::new();
    for value in configs {
        let config = GeneratorConfig::from_value(value).map_err(|e| {
            (
                format!("generator `{}`: {e}", GeneratorId::peek(value)),
                None,
            )
        })?;
        let stream = generate(
            &config,
            &root,
            &values,
            settings.concurrency,
            &settings.binding,
        )
        .map_err(|e| (e.to_string(), e.path.clone()))?;
        generated.extend(krm::objects(&stream.to_bytes()).map_err(|e| (e.to_string(), None))?);
    }
    Ok(generated)
}

/// Writes the failure ResourceList (passed-through items only, never generated ones) and
/// returns the error that makes the process exit non-zero with one message on stderr.
fn krm_failure(
    passthrough: Vec<Value>,
    function_config: Option<Value>,
    message: &str,
    path: Option<&str>,
) -> Result<(), CliError> {
    if let Ok(output) = krm::write(passthrough, function_config, Some((message, path))) {
        write_stdout(&output)?;
    }
    Err(CliError::Krm(message.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &'static str)]) -> Result<GeneratorSettings, CliError> {
        let vars = vars.to_vec();
        GeneratorSettings::parse(move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, v)| *v)
        })
    }

    #[test]
    fn settings_follow_ksops() {
        let ok = parse(&[]).unwrap();
        assert_eq!(ok.concurrency, 20);
        assert_eq!(ok.root_policy, RootPolicy::Kustomization);
        assert_eq!(ok.binding, Binding::default());
        assert!(ok.confine_to.is_none() && ok.project_keys.is_none());
        let three = parse(&[
            ("KSOPS_CONCURRENCY_LIMIT", "3"),
            ("KSOPS_ROOT", "git-worktree"),
        ]);
        assert_eq!(three.unwrap().concurrency, 3);
        for bad in ["0", "-1", "abc", "1.5"] {
            assert!(parse(&[("KSOPS_CONCURRENCY_LIMIT", bad)]).is_err(), "{bad}");
        }
        assert!(parse(&[("KSOPS_ROOT", "everything")]).is_err());
        assert!(parse(&[(KSOPS_CONFINE_TO, "relative/dir")]).is_err());
    }

    #[test]
    fn value_settings_are_explicit() {
        assert_eq!(parse(&[]).unwrap().values, ValueSetting::Decrypt);
        for on in ["1", "true"] {
            let dry = parse(&[(KSOPS_DRY_RUN, on)]).unwrap();
            assert_eq!(dry.values, ValueSetting::DryRun);
            let redact = parse(&[(KSOPS_REDACT, on)]).unwrap();
            assert_eq!(redact.values, ValueSetting::Redact);
        }
        for off in ["", "0", "false"] {
            let settings = parse(&[(KSOPS_DRY_RUN, off), (KSOPS_REDACT, off)]).unwrap();
            assert_eq!(settings.values, ValueSetting::Decrypt);
        }
        // A value that might mean "on" is refused rather than decrypting by surprise.
        for unclear in ["yes", "TRUE", "on", " 1"] {
            let error = parse(&[(KSOPS_DRY_RUN, unclear)]).unwrap_err().to_string();
            assert!(error.starts_with("KSOPS_DRY_RUN must be 1"), "{error}");
        }
        assert!(parse(&[(KSOPS_DRY_RUN, "1"), (KSOPS_REDACT, "1")]).is_err());
    }

    #[test]
    fn tenant_settings_are_checked() {
        assert!(parse(&[("KSOPS_BIND_NAMESPACE", "1")]).is_err());
        let bound = parse(&[
            ("KSOPS_BIND_NAMESPACE", "1"),
            ("ARGOCD_APP_NAMESPACE", "team-a"),
        ])
        .unwrap();
        assert_eq!(bound.binding.namespace.as_deref(), Some("team-a"));
        for project in ["", ".", "..", "a/b", "../x", "a b"] {
            let settings = parse(&[
                ("KSOPS_PROJECT_KEYS_DIR", "/keys"),
                ("ARGOCD_APP_PROJECT_NAME", project),
            ]);
            assert!(settings.is_err(), "{project:?}");
        }
        let keys = parse(&[
            ("KSOPS_PROJECT_KEYS_DIR", "/keys"),
            ("ARGOCD_APP_PROJECT_NAME", "team-a"),
        ])
        .unwrap();
        assert_eq!(
            keys.project_keys,
            Some(PathBuf::from("/keys/team-a/keys.txt"))
        );
    }
}
