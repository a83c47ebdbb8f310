//! The binary store: any file sops cannot otherwise type.
//!
//! Encrypted, it is the JSON store holding one key, `{"data": "ENC[…]", "sops": {…}}`, whose
//! plaintext is the raw file bytes (possibly invalid UTF-8). Decrypted, it is those bytes and
//! nothing else.

use crate::sops::stores::{ParsedFile, StoreError, json};
use crate::sops::tree::{Document, Value};

/// The key holding the file's bytes.
const DATA_KEY: &str = "data";

/// Parses an encrypted binary file: exactly the JSON store's parsing.
pub fn parse(input: &[u8]) -> Result<ParsedFile, StoreError> {
    json::parse(input)
}

/// Emits the raw bytes of the first `data` entry, with sops' errors when there is none or it is
/// not a string.
pub fn emit(documents: &[Document]) -> Result<Vec<u8>, StoreError> {
    let error = |detail: &str| StoreError::Emit(format!("error emitting binary store: {detail}"));
    let [document] = documents else {
        return Err(error("there must be exactly one tree branch"));
    };
    let data = document
        .entries()
        .find(|entry| entry.key == DATA_KEY)
        .ok_or_else(|| error("no binary data found in tree"))?;
    match &data.value {
        Value::Str(bytes) => Ok(bytes.clone()),
        _ => Err(error("'data' key in tree does not have a string value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::tree::Mapping;

    const BIN_SOPS: &[u8] = include_bytes!("../../../tests/fixtures/vectors/bin.binary.sops");

    fn emit_error(documents: &[Document]) -> String {
        match emit(documents) {
            Ok(bytes) => panic!("expected an error, got {bytes:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn parses_the_json_envelope() {
        let file = parse(BIN_SOPS).unwrap_or_else(|err| panic!("{err}"));
        let data = file
            .documents
            .first()
            .and_then(|document| document.get(DATA_KEY));
        assert!(
            matches!(data, Some(Value::Str(bytes)) if bytes.starts_with(b"ENC[AES256_GCM,data:"))
        );
        assert!(file.metadata.is_some());
    }

    #[test]
    fn emits_the_raw_bytes_of_the_first_data_entry() {
        let mut document = Mapping::new();
        document.push_comment(" ignored");
        document.push("other", Value::Int(1));
        document.push(DATA_KEY, Value::Str(b"\xff\x00raw\r\n".to_vec()));
        document.push(DATA_KEY, Value::str("second"));
        assert_eq!(emit(&[document]), Ok(b"\xff\x00raw\r\n".to_vec()));
        let mut empty = Mapping::new();
        empty.push(DATA_KEY, Value::str(""));
        assert_eq!(emit(&[empty]), Ok(Vec::new()));
    }

    #[test]
    fn errors_are_worded_like_sops() {
        let mut document = Mapping::new();
        document.push("a", Value::str("x"));
        assert_eq!(
            emit_error(&[document]),
            "error emitting binary store: no binary data found in tree"
        );
        let mut document = Mapping::new();
        document.push(DATA_KEY, Value::Int(5));
        document.push(DATA_KEY, Value::str("later"));
        assert_eq!(
            emit_error(&[document]),
            "error emitting binary store: 'data' key in tree does not have a string value"
        );
        assert_eq!(
            emit_error(&[Mapping::new(), Mapping::new()]),
            "error emitting binary store: there must be exactly one tree branch"
        );
    }
}
