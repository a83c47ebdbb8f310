//! Decrypting a parsed file: the tree walk, the MAC, and the whole `sops decrypt` pipeline.

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::sops::cipher::{CipherError, ValueCipher};
use crate::sops::gonum;
use crate::sops::keys::{DataKeyError, Keyring, recover_data_key};
use crate::sops::metadata::{Metadata, MetadataError};
use crate::sops::rules::{CommentStack, Rule};
use crate::sops::stores::{self, EmitOptions, Format, StoreError};
use crate::sops::tree::{Comment, Document, Item, Mapping, Value};

/// What to decrypt and how to print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecryptOptions {
    /// The store the encrypted file is read with.
    pub input: Format,
    /// The store the plaintext is written with.
    pub output: Format,
    /// Skip the MAC check (`ksops decrypt --ignore-mac` only; the generator never sets it).
    pub ignore_mac: bool,
    /// Output settings from `.sops.yaml`.
    pub emit: EmitOptions,
}

/// Why a file could not be decrypted. Messages never contain plaintext or key material.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The encrypted file could not be parsed.
    #[error("Error unmarshalling file: {0}")]
    Parse(#[source] StoreError),
    /// The `sops` metadata is missing or invalid.
    #[error("{0}")]
    Metadata(#[from] MetadataError),
    /// No identity could recover the data key.
    #[error("{0}")]
    DataKey(#[from] DataKeyError),
    /// A value failed to decrypt (wrong AAD, tampering, malformed `ENC[…]`, bad type).
    #[error("Error decrypting tree: could not decrypt the value at {path}: {source}")]
    Value {
        /// The value's key path, sops-style (`a:b:`).
        path: String,
        /// What went wrong.
        #[source]
        source: CipherError,
    },
    /// A position that must hold an encrypted string holds another type.
    #[error(
        "Error decrypting tree: the value at {path} should be encrypted but is a {found}, not an ENC[…] string"
    )]
    NotEncrypted {
        /// The value's key path.
        path: String,
        /// The type found.
        found: &'static str,
    },
    /// The stored MAC could not be decrypted (`lastmodified` or `mac` altered, or wrong key).
    #[error("Cannot decrypt MAC: {0}")]
    MacUndecryptable(#[source] CipherError),
    /// The file has no MAC.
    #[error("MAC mismatch: the file has no MAC")]
    MacMissing,
    /// The MAC does not match the contents: something was changed after encryption.
    #[error(
        "MAC mismatch: the file's MAC does not match its contents (it was modified after encryption)"
    )]
    MacMismatch,
    /// The decrypted tree could not be written in the output format.
    #[error("Error dumping file: {0}")]
    Emit(#[source] StoreError),
}

impl DecryptError {
    /// The exit code `sops decrypt` uses for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            DecryptError::Parse(_) | DecryptError::Metadata(_) => 1,
            DecryptError::Emit(_) => 4,
            DecryptError::Value { .. } | DecryptError::NotEncrypted { .. } => 25,
            DecryptError::MacUndecryptable(_)
            | DecryptError::MacMissing
            | DecryptError::MacMismatch => 51,
            DecryptError::DataKey(_) => 128,
        }
    }
}

/// A decrypted file: its documents with every value in clear, and its metadata.
#[derive(Debug)]
pub struct Decrypted {
    /// The documents, decrypted in place; every key, value and comment is wiped on drop.
    pub documents: Zeroizing<Vec<Document>>,
    /// The file's metadata.
    pub metadata: Metadata,
}

/// Parses, decrypts and MAC-checks a file, returning the decrypted documents.
pub fn decrypt_documents(
    input: &[u8],
    format: Format,
    keyring: &Keyring,
    ignore_mac: bool,
) -> Result<Decrypted, DecryptError> {
    let parsed = stores::parse(format, input).map_err(DecryptError::Parse)?;
    let tree = parsed.metadata.ok_or(MetadataError::NotFound)?;
    let metadata = Metadata::from_tree(&tree, parsed.metadata_style)?;
    let key = recover_data_key(&metadata.key_groups, metadata.shamir_threshold, keyring)?;
    let cipher = ValueCipher::new(&key);
    // Wiped on drop from here on, also when the walk fails half way through.
    let mut documents = Zeroizing::new(parsed.documents);
    let computed = walk_documents(&mut documents, &metadata, &cipher)?;
    if !ignore_mac {
        verify_mac(&metadata, &cipher, &computed)?;
    }
    Ok(Decrypted {
        documents,
        metadata,
    })
}

/// `sops decrypt`: returns exactly the bytes sops prints.
pub fn decrypt(
    input: &[u8],
    options: &DecryptOptions,
    keyring: &Keyring,
) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
    let decrypted = decrypt_documents(input, options.input, keyring, options.ignore_mac)?;
    stores::emit(options.output, &decrypted.documents, &options.emit)
        .map(Zeroizing::new)
        .map_err(DecryptError::Emit)
}

fn verify_mac(
    metadata: &Metadata,
    cipher: &ValueCipher,
    computed: &str,
) -> Result<(), DecryptError> {
    if metadata.mac.is_empty() {
        return Err(DecryptError::MacMissing);
    }
    let aad = metadata.last_modified.to_rfc3339();
    let stored = cipher
        .decrypt_value(&metadata.mac, aad.as_bytes())
        .map_err(DecryptError::MacUndecryptable)?;
    match stored {
        Value::Str(stored) if bool::from(stored.as_slice().ct_eq(computed.as_bytes())) => Ok(()),
        _ => Err(DecryptError::MacMismatch),
    }
}

/// The 32 bytes sops feeds the hash first when `mac_only_encrypted` is set: SHA-256("sops").
fn mac_only_encrypted_init() -> [u8; 32] {
    let mut init = [0u8; 32];
    init.copy_from_slice(&sha2::Sha256::digest(b"sops"));
    init
}

/// Decrypts every document in place and returns the MAC of the file (upper-case hex SHA-512).
fn walk_documents(
    documents: &mut [Document],
    metadata: &Metadata,
    cipher: &ValueCipher,
) -> Result<String, DecryptError> {
    let mut walker = Walker {
        rule: &metadata.rule,
        mac_only_encrypted: metadata.mac_only_encrypted,
        cipher,
        hash: Sha512::new(),
        path: Vec::new(),
        comments: CommentStack::default(),
    };
    if metadata.mac_only_encrypted {
        walker.hash.update(mac_only_encrypted_init());
    }
    for document in documents {
        walker.mapping(document)?;
    }
    let digest = walker.hash.finalize();
    Ok(digest.iter().map(|b| format!("{b:02X}")).collect())
}

/// The state of one depth-first walk, in document order, as sops walks its tree.
struct Walker<'a> {
    rule: &'a Rule,
    mac_only_encrypted: bool,
    cipher: &'a ValueCipher,
    hash: Sha512,
    /// Mapping keys from the document root to the current position.
    path: Vec<String>,
    comments: CommentStack,
}

impl Walker<'_> {
    fn mapping(&mut self, mapping: &mut Mapping) -> Result<(), DecryptError> {
        self.comments.enter();
        for item in &mut mapping.items {
            match item {
                Item::Comment(comment) => {
                    self.comments.push(comment.0.as_bytes());
                    let leaf = Value::Comment(std::mem::replace(comment, Comment(String::new())));
                    *comment = match self.leaf(leaf)? {
                        Value::Comment(decrypted) => decrypted,
                        // A comment position that decrypts to a string stays a comment.
                        Value::Str(text) => Comment(String::from_utf8_lossy(&text).into_owned()),
                        other => {
                            return Err(DecryptError::NotEncrypted {
                                path: self.aad_path(),
                                found: type_name(&other),
                            });
                        }
                    };
                }
                Item::Entry(entry) => {
                    self.path.push(entry.key.clone());
                    let result = self.value(&mut entry.value);
                    self.path.pop();
                    result?;
                    self.comments.clear_innermost();
                }
            }
        }
        self.comments.leave();
        Ok(())
    }

    fn sequence(&mut self, items: &mut [Value]) -> Result<(), DecryptError> {
        self.comments.enter();
        for item in items {
            // Only a comment node joins the stack; an encrypted list comment is still a string
            // here and clears it, exactly as in sops (whose own output can then fail its MAC).
            let was_comment = matches!(item, Value::Comment(_));
            if let Value::Comment(comment) = item {
                self.comments.push(comment.0.as_bytes());
            }
            self.value(item)?;
            if !was_comment {
                self.comments.clear_innermost();
            }
        }
        self.comments.leave();
        Ok(())
    }

    fn value(&mut self, value: &mut Value) -> Result<(), DecryptError> {
        match value {
            Value::Null => Ok(()),
            Value::Mapping(mapping) => self.mapping(mapping),
            Value::Sequence(items) => self.sequence(items),
            _ => {
                let leaf = std::mem::replace(value, Value::Null);
                *value = self.leaf(leaf)?;
                Ok(())
            }
        }
    }

    /// Decrypts one leaf if the rule says it is encrypted, and feeds it to the MAC.
    fn leaf(&mut self, leaf: Value) -> Result<Value, DecryptError> {
        let is_comment = matches!(leaf, Value::Comment(_));
        let keys: Vec<&str> = self.path.iter().map(String::as_str).collect();
        let encrypted = self.rule.encrypts(&keys, &self.comments, is_comment);
        let value = if !encrypted {
            leaf
        } else {
            let aad = self.aad_path();
            match leaf {
                // A comment that does not decrypt is kept as it is: files from old sops
                // versions have clear comments at encrypted positions.
                Value::Comment(comment) => {
                    match self.cipher.decrypt_value(&comment.0, aad.as_bytes()) {
                        Ok(decrypted) => decrypted,
                        Err(_) => Value::Comment(comment),
                    }
                }
                Value::Str(text) => {
                    let text = std::str::from_utf8(&text).map_err(|_| DecryptError::Value {
                        path: aad.clone(),
                        source: CipherError::Format,
                    })?;
                    self.cipher
                        .decrypt_value(text, aad.as_bytes())
                        .map_err(|source| DecryptError::Value { path: aad, source })?
                }
                other => {
                    return Err(DecryptError::NotEncrypted {
                        path: aad,
                        found: type_name(&other),
                    });
                }
            }
        };
        // With mac_only_encrypted, clear values may be edited freely: only encrypted ones count.
        if encrypted || !self.mac_only_encrypted {
            hash_value(&mut self.hash, &value);
        }
        Ok(value)
    }

    /// The AAD of the current position: every mapping key followed by `:`.
    fn aad_path(&self) -> String {
        let mut aad = String::new();
        for key in &self.path {
            aad.push_str(key);
            aad.push(':');
        }
        if aad.is_empty() {
            aad.push(':');
        }
        aad
    }
}

/// Feeds a leaf's typed rendering to the MAC: sops hashes values, never keys or structure.
fn hash_value(hash: &mut Sha512, value: &Value) {
    match value {
        Value::Str(bytes) => hash.update(bytes),
        Value::Int(i) => hash.update(i.to_string()),
        Value::Float(f) => hash.update(gonum::format_f(*f)),
        Value::Bool(true) => hash.update(b"True"),
        Value::Bool(false) => hash.update(b"False"),
        Value::Time(t) => hash.update(t.to_rfc3339_nano()),
        Value::Comment(_) | Value::Null | Value::Mapping(_) | Value::Sequence(_) => {}
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "float",
        Value::Str(_) => "string",
        Value::Time(_) => "timestamp",
        Value::Mapping(_) => "mapping",
        Value::Sequence(_) => "list",
        Value::Comment(_) => "comment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_of_the_root_is_a_lone_colon() {
        let cipher = ValueCipher::new(&crate::sops::cipher::DataKey::new([0; 32]));
        let rule = Rule::UnencryptedSuffix("_unencrypted".into());
        let mut walker = Walker {
            rule: &rule,
            mac_only_encrypted: false,
            cipher: &cipher,
            hash: Sha512::new(),
            path: vec![],
            comments: CommentStack::default(),
        };
        assert_eq!(walker.aad_path(), ":");
        walker.path = vec!["merged".into(), "<<".into(), "user".into()];
        assert_eq!(walker.aad_path(), "merged:<<:user:");
    }

    #[test]
    fn mac_renders_typed_values_like_sops() {
        // The worked example: alice 5432 a 1.5 hunter2 True.
        let mut hash = Sha512::new();
        for v in [
            Value::str("alice"),
            Value::Int(5432),
            Value::str("a"),
            Value::Float(1.5),
            Value::str("hunter2"),
            Value::Bool(true),
            Value::str(""),
            Value::Comment(Comment(" note".into())),
        ] {
            hash_value(&mut hash, &v);
        }
        let hex: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(
            hex,
            "7F99D5E9B073F8529786D5B4DB4DF8C721DEF76E207B83E08DAD66EEEFC8EE01BFA73CA60045A9145971B51F4C4247421FDF1B6C2253B696D725536E6668400D"
        );
    }

    #[test]
    fn mac_only_encrypted_init_is_sha256_of_sops() {
        let hex: String = mac_only_encrypted_init()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            hex.starts_with("8a3fd2ad") && hex.ends_with("7d69"),
            "{hex}"
        );
    }
}
