//! The generator commands: `ksops CONFIG` as kustomize's legacy exec plugin.

use std::io::Write;
use std::path::Path;

use crate::cli::CliError;
use crate::generator::confine::{Limits, Root, RootPolicy};
use crate::generator::generate::{DEFAULT_CONCURRENCY_LIMIT, generate};
use crate::generator::schema::GeneratorConfig;
use crate::sops::keys::{IdentitySources, Keyring};

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
    let output = generate(&config, &root, &keyring, settings.concurrency)
        .map_err(|e| CliError::Generate(Box::new(e)))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&output)
        .and_then(|()| stdout.flush())
        .map_err(CliError::Write)
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
