//! The generator commands: `ksops CONFIG` as kustomize's legacy exec plugin, and `ksops` with a
//! ResourceList on standard input as a KRM exec function. Both run in the kustomization
//! directory, with the settings of [`GeneratorSettings`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::cli::args::overview;
use crate::cli::env::{GeneratorSettings, KSOPS_CONFINE_TO};
use crate::cli::error::{CliError, GeneratorFailure, UsageError};
use crate::cli::io::{read_capped, read_file, write_stdout, write_stdout_with};
use crate::generator::GeneratorConfig;
use crate::generator::generate;
use crate::generator::krm::{self, Setup};

/// Runs the generator config at `config` (the temporary file kustomize wrote) with the working
/// directory as the kustomization root, printing the manifests only when every file succeeded.
/// Errors name the generator and the directory, never the temporary file.
pub fn run_legacy(config: &Path) -> Result<(), CliError> {
    // The directory is looked up only for a message: a successful run never needs it.
    let text = read_file(config).map_err(|reason| GeneratorFailure::ReadConfig {
        dir: kustomization_dir(),
        reason,
    })?;
    let config = GeneratorConfig::parse_identified(&text).map_err(|named| {
        let (generator, reason) = *named;
        GeneratorFailure::Config {
            generator,
            dir: kustomization_dir(),
            reason,
        }
    })?;
    let settings = GeneratorSettings::from_env().map_err(GeneratorFailure::from)?;
    let root = settings
        .open_root()
        .map_err(|reason| GeneratorFailure::Root {
            dir: kustomization_dir(),
            reason,
        })?;
    let values = settings.value_mode().map_err(GeneratorFailure::from)?;
    let output = generate(
        &config,
        &root,
        &values,
        settings.concurrency,
        &settings.binding,
    )
    .map_err(|error| GeneratorFailure::Run {
        dir: kustomization_dir(),
        error,
    })?;
    write_stdout_with(|out| output.write_to(out))
}

/// The kustomization directory kustomize ran us in, for messages: relative to the Argo CD
/// checkout or the enclosing git work tree (`overlays/dev`), else its own name. Never an
/// absolute path, which would say where the repository lives on this machine (or, in Argo CD,
/// which checkout it is).
fn kustomization_dir() -> String {
    let Ok(cwd) = std::env::current_dir() else {
        return "the kustomization directory".into();
    };
    // In an Argo CD sidecar the checkout bound is the top; elsewhere the git work tree.
    let bound = std::env::var_os(KSOPS_CONFINE_TO).map(PathBuf::from);
    let top = bound.filter(|bound| cwd.starts_with(bound)).or_else(|| {
        cwd.ancestors()
            .find(|dir| dir.join(".git").exists())
            .map(Path::to_path_buf)
    });
    match top.as_deref().and_then(|top| cwd.strip_prefix(top).ok()) {
        Some(relative) if relative.as_os_str().is_empty() => ".".into(),
        Some(relative) => relative.display().to_string(),
        None => cwd
            .file_name()
            .map_or_else(|| ".".into(), |name| name.to_string_lossy().into_owned()),
    }
}

/// Runs as a KRM function: reads a ResourceList from standard input and writes one back. On
/// failure the output carries error results and no generated object, and the exit is non-zero.
pub fn run_krm() -> Result<(), CliError> {
    if std::io::stdin().is_terminal() {
        return Err(UsageError::Terminal { usage: overview() }.into());
    }
    let input = read_capped(std::io::stdin().lock()).map_err(|reason| CliError::Input {
        file: "standard input".into(),
        reason,
    })?;
    let response = krm::respond(&input, || {
        let settings = GeneratorSettings::from_env().map_err(GeneratorFailure::from)?;
        Ok::<_, CliError>(Setup {
            root: settings
                .open_root()
                .map_err(|reason| GeneratorFailure::Root {
                    dir: kustomization_dir(),
                    reason,
                })?,
            values: settings.value_mode().map_err(GeneratorFailure::from)?,
            concurrency: settings.concurrency,
            binding: settings.binding,
        })
    })
    .map_err(GeneratorFailure::KrmOutput)?;
    write_stdout(&response.output)?;
    match response.failure {
        None => Ok(()),
        Some(failure) => Err(GeneratorFailure::Krm(failure).into()),
    }
}
