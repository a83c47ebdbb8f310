//! Stores: how each file format is parsed into a [`Document`] tree and emitted back.
//!
//! Chosen by file extension exactly like sops: `.yaml`/`.yml`, `.json`, `.env`, `.ini`, and
//! anything else is the binary store (a JSON envelope around the raw bytes).

pub mod binary;
pub mod dotenv;
mod flatten;
pub mod ini;
pub mod json;
pub mod yaml;

use crate::limits::MAX_NODES;
use std::path::Path;

use crate::sops::tree::{Document, Value};

/// A file format sops knows how to read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML, one or more documents.
    Yaml,
    /// JSON; the top level must be an object.
    Json,
    /// dotenv: `KEY=value` lines.
    Dotenv,
    /// INI sections.
    Ini,
    /// Raw bytes, wrapped in a JSON envelope when encrypted.
    Binary,
}

impl Format {
    /// The format sops picks for a file name.
    pub fn from_path(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Format::Yaml
        } else if name.ends_with(".json") {
            Format::Json
        } else if name.ends_with(".env") {
            Format::Dotenv
        } else if name.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// The format named by `--input-type`/`--output-type` (`yaml`, `json`, `dotenv`, `ini`, `binary`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "yaml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "dotenv" => Some(Format::Dotenv),
            "ini" => Some(Format::Ini),
            "binary" => Some(Format::Binary),
            _ => None,
        }
    }

    /// The lower-case name of the format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
            Format::Dotenv => "dotenv",
            Format::Ini => "ini",
            Format::Binary => "binary",
        }
    }
}

/// How the metadata section was written, which decides how its field names are matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataStyle {
    /// YAML: exact, case-sensitive field names, typed values.
    Yaml,
    /// JSON (and binary): Go `encoding/json` rules, field names matched case-insensitively and
    /// the last duplicate winning.
    Json,
    /// dotenv and INI: flattened `key__list_0__map_field` names unflattened back into a tree;
    /// every value is a string, so `mac_only_encrypted` and `shamir_threshold` arrive as text.
    Flat,
}

/// An encrypted file split into its data documents and its `sops` metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedFile {
    /// The data documents, with the `sops` entry removed from each.
    pub documents: Vec<Document>,
    /// The metadata tree (the value of the `sops` key, or the unflattened `sops_*` lines /
    /// `[sops]` section), if the file has one.
    pub metadata: Option<Value>,
    /// How `metadata` is to be read.
    pub metadata_style: MetadataStyle,
    /// An error sops meets only when it walks the data tree (YAML: a key that is not a
    /// string): decryption raises it once the data key is recovered, with the walk's exit code.
    pub walk_error: Option<String>,
}

/// Output settings that `.sops.yaml`'s `stores:` section can change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmitOptions {
    /// `stores.yaml.indent` (default 4).
    pub yaml_indent: Option<usize>,
    /// `stores.json.indent` / `stores.json_binary.indent` (default: one tab; -1 also means tab).
    pub json_indent: Option<i64>,
}

/// A store failed to parse or emit a document. The message follows sops' wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The input could not be parsed.
    #[error("{0}")]
    Parse(String),
    /// A YAML file has no `sops` metadata (the other stores leave this to the caller).
    #[error("sops metadata not found")]
    MetadataNotFound,
    /// The tree cannot be written in this format.
    #[error("{0}")]
    Emit(String),
    /// The input holds more than [`MAX_NODES`] nodes (sops has no such limit).
    #[error(
        "the file holds more than {limit} keys, values and comments, the most ksops reads \
         (a limit that bounds memory use; no secrets file comes near it)"
    )]
    TooManyNodes {
        /// The limit in force.
        limit: usize,
    },
}

impl StoreError {
    /// The error for an input over [`MAX_NODES`].
    pub fn too_many_nodes() -> StoreError {
        StoreError::TooManyNodes { limit: MAX_NODES }
    }
}

/// Counts the nodes a parser creates, against [`MAX_NODES`].
#[derive(Debug, Default)]
pub(crate) struct NodeCount(usize);

impl NodeCount {
    /// Counts `n` more nodes; an error once the total exceeds [`MAX_NODES`].
    pub(crate) fn add(&mut self, n: usize) -> Result<(), StoreError> {
        self.0 = self.0.saturating_add(n);
        if self.0 > MAX_NODES {
            return Err(StoreError::too_many_nodes());
        }
        Ok(())
    }
}

/// Parses an encrypted file of the given format.
pub fn parse(format: Format, input: &[u8]) -> Result<ParsedFile, StoreError> {
    match format {
        Format::Yaml => yaml::parse(input),
        Format::Json => json::parse(input),
        Format::Dotenv => dotenv::parse(input),
        Format::Ini => ini::parse(input),
        Format::Binary => binary::parse(input),
    }
}

/// Emits decrypted documents in the given format, byte for byte as `sops decrypt` prints them.
pub fn emit(
    format: Format,
    documents: &[Document],
    options: &EmitOptions,
) -> Result<Vec<u8>, StoreError> {
    match format {
        Format::Yaml => yaml::emit(documents, options.yaml_indent.unwrap_or(4)),
        Format::Json => json::emit(documents, options.json_indent),
        Format::Dotenv => dotenv::emit(documents),
        Format::Ini => ini::emit(documents),
        Format::Binary => binary::emit(documents),
    }
}
