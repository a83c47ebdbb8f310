//! The json store.

use crate::sops::stores::{ParsedFile, StoreError};
use crate::sops::tree::Document;

/// Parses an encrypted json file.
pub fn parse(_input: &[u8]) -> Result<ParsedFile, StoreError> {
    Err(StoreError::Parse("json store not implemented yet".into()))
}

/// Emits documents as json.
pub fn emit(_documents: &[Document], _indent: Option<i64>) -> Result<Vec<u8>, StoreError> {
    Err(StoreError::Emit("json store not implemented yet".into()))
}
