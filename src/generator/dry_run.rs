//! The dry run: what the generator would emit, made without any key.
//!
//! Each file is still read through the confined root and checked as far as it can be without the
//! data key: it parses, its `sops` metadata is valid, and wherever its rule says a value is
//! encrypted there is a well-formed `ENC[…]` value. Instead of being decrypted, each encrypted
//! value is then replaced by a placeholder of its declared type:
//!
//! | declared type | placeholder |
//! |---|---|
//! | `str` | [`PLACEHOLDER`]; in a Secret's `data`, [`PLACEHOLDER_BASE64`] |
//! | `int`, `float` | `0` |
//! | `bool` | `false` |
//! | `time` | `1970-01-01T00:00:00Z` |
//! | `comment` | the comment ` KSOPS_DRY_RUN_PLACEHOLDER` |
//!
//! so objects stay valid for schema checks. In a `files` manifest, clear values are kept; a
//! field that identifies the object ([`is_identity_field`]) cannot be guessed, so an encrypted
//! one is an error saying how to encrypt only the values.

use crate::generator::manifest::{field_name, is_data_value, is_identity_field, is_secret};
use crate::sops::Format;
use crate::sops::Metadata;
use crate::sops::Timestamp;
use crate::sops::ValueType;
use crate::sops::{Comment, Document, Value};
use crate::sops::{DecryptError, Decrypted};
use crate::sops::{EncryptedLeaf, inspect};
use zeroize::Zeroizing;

/// What stands for every encrypted string in a dry run.
pub const PLACEHOLDER: &str = "KSOPS_DRY_RUN_PLACEHOLDER";

/// [`PLACEHOLDER`] in base64, as it appears in a Secret's `data`.
pub const PLACEHOLDER_BASE64: &str = "S1NPUFNfRFJZX1JVTl9QTEFDRUhPTERFUg==";

/// Why a file cannot be dry-run. Messages name fields, never values.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    /// The file is not a valid SOPS file (what decryption would refuse before needing a key).
    #[error("checking the SOPS file without a key: {0}")]
    Invalid(DecryptError),
    /// Fields the output needs are encrypted.
    #[error(
        "document {document}: {} encrypted, so a dry run (which has no key) cannot know {}. \
         Encrypt only the Secret's values: set `encrypted_regex: ^(data|stringData)$` in the \
         .sops.yaml creation rule and re-encrypt the file",
        field_list(.fields),
        if .fields.len() == 1 { "it" } else { "them" }
    )]
    EncryptedFields {
        /// 1-based document index within the file (the first document with such fields).
        document: usize,
        /// The fields, e.g. `metadata.name`, in file order.
        fields: Vec<String>,
    },
}

/// "`a` is" / "`a`, `b` and `c` are".
fn field_list(fields: &[String]) -> String {
    let quoted: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => format!("{last} is"),
        Some((last, rest)) => format!("{} and {last} are", rest.join(", ")),
        None => "no field is".to_owned(),
    }
}

/// Reads a file without a key: every encrypted value replaced by its placeholder. For a `files`
/// `manifest`, an encrypted identity field is an error and placeholders in a Secret's `data`
/// are base64. The result has the shape of [`Decrypted`], so the rest of the generator treats
/// it like a decrypted file (its metadata is unauthenticated).
pub fn read(input: &[u8], format: Format, manifest: bool) -> Result<Decrypted, DryRunError> {
    let inspected = inspect(input, format).map_err(DryRunError::Invalid)?;
    let metadata: Metadata = inspected.metadata.clone();
    let secrets: Vec<bool> = inspected.documents.iter().map(is_secret).collect();
    let mut encrypted_fields: Option<(usize, Vec<String>)> = None;
    let documents: Vec<Document> = inspected
        .replace_encrypted(|leaf| {
            if manifest && is_identity_field(leaf.path) {
                match &mut encrypted_fields {
                    None => encrypted_fields = Some((leaf.document, vec![field_name(leaf.path)])),
                    Some((document, fields)) if *document == leaf.document => {
                        fields.push(field_name(leaf.path));
                    }
                    Some(_) => {}
                }
            }
            let base64 = manifest
                && is_data_value(leaf.path)
                && secrets.get(leaf.document).copied().unwrap_or(false);
            placeholder(leaf, base64)
        })
        .map_err(DryRunError::Invalid)?;
    match encrypted_fields {
        Some((document, fields)) => Err(DryRunError::EncryptedFields {
            document: document + 1,
            fields,
        }),
        None => Ok(Decrypted {
            documents: Zeroizing::new(documents),
            metadata,
        }),
    }
}

/// The placeholder for one encrypted value.
fn placeholder(leaf: &EncryptedLeaf<'_>, base64: bool) -> Value {
    match leaf.value_type {
        ValueType::Str if base64 => Value::str(PLACEHOLDER_BASE64),
        ValueType::Str => Value::str(PLACEHOLDER),
        ValueType::Int => Value::Int(0),
        ValueType::Float => Value::Float(0.0),
        ValueType::Bool => Value::Bool(false),
        ValueType::Time => Value::Time(Timestamp {
            unix_seconds: 0,
            nanos: 0,
            offset_seconds: 0,
        }),
        ValueType::Comment => Value::Comment(Comment(format!(" {PLACEHOLDER}"))),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn documented_base64_is_the_placeholder() {
        assert_eq!(STANDARD.encode(PLACEHOLDER), PLACEHOLDER_BASE64);
    }

    #[test]
    fn names_every_encrypted_field() {
        let error = |fields: &[&str]| {
            DryRunError::EncryptedFields {
                document: 1,
                fields: fields.iter().map(|f| f.to_string()).collect(),
            }
            .to_string()
        };
        assert!(error(&["kind"]).starts_with("document 1: `kind` is encrypted, so a dry run"));
        assert!(error(&["kind"]).contains("cannot know it."));
        assert!(error(&["apiVersion", "kind", "metadata.name"]).starts_with(
            "document 1: `apiVersion`, `kind` and `metadata.name` are encrypted, so a dry run \
             (which has no key) cannot know them."
        ));
    }
}
