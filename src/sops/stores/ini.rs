//! The ini store.

use crate::sops::stores::{ParsedFile, StoreError};
use crate::sops::tree::Document;

/// Parses an encrypted ini file.
pub fn parse(_input: &[u8]) -> Result<ParsedFile, StoreError> {
    Err(StoreError::Parse("ini store not implemented yet".into()))
}

/// Emits documents as ini.
pub fn emit(_documents: &[Document]) -> Result<Vec<u8>, StoreError> {
    Err(StoreError::Emit("ini store not implemented yet".into()))
}
