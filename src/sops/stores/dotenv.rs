//! The dotenv store.

use crate::sops::stores::{ParsedFile, StoreError};
use crate::sops::tree::Document;

/// Parses an encrypted dotenv file.
pub fn parse(_input: &[u8]) -> Result<ParsedFile, StoreError> {
    Err(StoreError::Parse("dotenv store not implemented yet".into()))
}

/// Emits documents as dotenv.
pub fn emit(_documents: &[Document]) -> Result<Vec<u8>, StoreError> {
    Err(StoreError::Emit("dotenv store not implemented yet".into()))
}
