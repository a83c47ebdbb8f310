//! The binary store.

use crate::sops::stores::{ParsedFile, StoreError};
use crate::sops::tree::Document;

/// Parses an encrypted binary file.
pub fn parse(_input: &[u8]) -> Result<ParsedFile, StoreError> {
    Err(StoreError::Parse("binary store not implemented yet".into()))
}

/// Emits documents as binary.
pub fn emit(_documents: &[Document]) -> Result<Vec<u8>, StoreError> {
    Err(StoreError::Emit("binary store not implemented yet".into()))
}
