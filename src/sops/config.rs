//! The parts of sops' `.sops.yaml` that change `sops decrypt` output: `stores.*.indent`.
//!
//! Like sops, the file is found through `--config`, else `$SOPS_CONFIG`, else by looking for
//! `.sops.yaml` in the working directory and its parents. A malformed file fails the decrypt.

use std::path::{Path, PathBuf};

use crate::sops::stores::{EmitOptions, yaml};
use crate::sops::tree::{Mapping, Value};

/// The name sops looks for.
pub const CONFIG_FILE_NAME: &str = ".sops.yaml";

/// How many parent directories sops climbs looking for the file.
const MAX_DEPTH: usize = 100;

/// The config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("error reading config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not valid YAML or has the wrong shape.
    #[error("error loading config file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Finds `.sops.yaml` in `start` or one of its parents.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .take(MAX_DEPTH + 1)
        .map(|dir| dir.join(CONFIG_FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// Reads the output settings from a config file.
pub fn load_emit_options(path: &Path) -> Result<EmitOptions, ConfigError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    let invalid = |reason: String| ConfigError::Invalid {
        path: shown.clone(),
        reason,
    };
    let documents = yaml::parse_documents(&bytes).map_err(|e| invalid(e.to_string()))?;
    let mut options = EmitOptions::default();
    let Some(stores) = documents.first().and_then(|doc| doc.get("stores")) else {
        return Ok(options);
    };
    let stores = as_mapping(stores).ok_or_else(|| invalid("`stores` is not a mapping".into()))?;
    let indent = |store: &str| -> Result<Option<i64>, ConfigError> {
        let Some(settings) = stores.get(store) else {
            return Ok(None);
        };
        let settings = as_mapping(settings)
            .ok_or_else(|| invalid(format!("`stores.{store}` is not a mapping")))?;
        match settings.get("indent") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(_) => Err(invalid(format!(
                "`stores.{store}.indent` is not an integer"
            ))),
        }
    };
    options.yaml_indent = indent("yaml")?.map(|n| usize::try_from(n).unwrap_or(4));
    options.json_indent = indent("json")?;
    Ok(options)
}

fn as_mapping(value: &Value) -> Option<&Mapping> {
    match value {
        Value::Mapping(m) => Some(m),
        _ => None,
    }
}
