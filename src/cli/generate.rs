//! The generator commands: `ksops CONFIG` as kustomize's legacy exec plugin, and `ksops` with a
//! ResourceList on standard input as a KRM exec function.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use crate::cli::CliError;
use crate::generator::confine::{Limits, Root, RootPolicy};
use crate::generator::generate::{DEFAULT_CONCURRENCY_LIMIT, generate};
use crate::generator::krm;
use crate::generator::schema::{GeneratorConfig, GeneratorId};
use crate::sops::keys::{IdentitySources, Keyring};
use crate::sops::tree::Value;

/// Generator settings read once from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneratorSettings {
    /// `KSOPS_CONCURRENCY_LIMIT`.
    pub concurrency: usize,
    /// `KSOPS_ROOT`.
    pub root_policy: RootPolicy,
}

impl GeneratorSettings {
    /// Reads `KSOPS_CONCURRENCY_LIMIT` (KSOPS semantics: empty means the default, otherwise a
    /// whole number of at least 1) and `KSOPS_ROOT`. Values are never echoed in errors.
    pub fn from_env() -> Result<Self, CliError> {
        let var = |name| std::env::var(name).unwrap_or_default();
        Self::parse(&var("KSOPS_CONCURRENCY_LIMIT"), &var("KSOPS_ROOT"))
    }

    fn parse(concurrency: &str, root: &str) -> Result<Self, CliError> {
        let concurrency = match concurrency.trim() {
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
        let root_policy = match root {
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
        Ok(GeneratorSettings {
            concurrency,
            root_policy,
        })
    }
}

/// Runs the generator config at `config` with the working directory as the kustomization
/// root, printing the manifests only when every file succeeded.
pub fn run_legacy(config: &Path) -> Result<(), CliError> {
    let shown = config.display().to_string();
    let text = std::fs::read(config).map_err(|source| CliError::Read {
        file: shown.clone(),
        source,
    })?;
    let config = GeneratorConfig::parse(&text).map_err(|source| CliError::Schema {
        file: shown,
        source,
    })?;
    let settings = GeneratorSettings::from_env()?;
    let root = Root::open(Path::new("."), settings.root_policy, Limits::default())?;
    let keyring = Keyring::load(&IdentitySources::from_env());
    let output =
        generate(&config, &root, &keyring, settings.concurrency).map_err(CliError::Generate)?;
    write_stdout(&output)
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(CliError::Write)
}

/// Runs as a KRM function: reads a ResourceList from standard input and writes one back. On
/// failure the output carries an error result and no generated object, and the exit is non-zero.
pub fn run_krm() -> Result<(), CliError> {
    if std::io::stdin().is_terminal() {
        return Err(CliError::Terminal);
    }
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|source| CliError::Read {
            file: "standard input".into(),
            source,
        })?;
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
    let root = Root::open(Path::new("."), settings.root_policy, Limits::default())
        .map_err(|e| (e.to_string(), None))?;
    let keyring = Keyring::load(&IdentitySources::from_env());
    let mut generated = Vec::new();
    for value in configs {
        let config = GeneratorConfig::from_value(value).map_err(|e| {
            (
                format!("generator `{}`: {e}", GeneratorId::peek(value)),
                None,
            )
        })?;
        let stream = generate(&config, &root, &keyring, settings.concurrency)
            .map_err(|e| (e.to_string(), e.path.clone()))?;
        generated.extend(krm::objects(&stream).map_err(|e| (e.to_string(), None))?);
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

    #[test]
    fn settings_follow_ksops() {
        let ok = GeneratorSettings::parse("", "").unwrap();
        assert_eq!(ok.concurrency, 20);
        assert_eq!(ok.root_policy, RootPolicy::Kustomization);
        assert_eq!(
            GeneratorSettings::parse("3", "git-worktree")
                .unwrap()
                .concurrency,
            3
        );
        for bad in ["0", "-1", "abc", "1.5"] {
            assert!(GeneratorSettings::parse(bad, "").is_err(), "{bad}");
        }
        assert!(GeneratorSettings::parse("", "everything").is_err());
    }
}
