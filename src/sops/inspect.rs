//! Reading an encrypted file without any key: its documents, its metadata, and which leaves are
//! encrypted (with their declared types).
//!
//! This is everything `sops decrypt` does before it needs the data key, and the walk here is the
//! one decryption uses, so "encrypted" means exactly what it means to sops: the file's rule
//! applied to the key path and the comment stack. A file refused here is refused by decryption
//! too; a file accepted here may still fail authentication, which needs the key.

use crate::sops::cipher::{self, ValueType};
use crate::sops::error::{DecryptError, type_name};
use crate::sops::metadata::Metadata;
use crate::sops::rules::{CommentStack, Rule};
use crate::sops::stores::{self, Format, StoreError};
use crate::sops::tree::{Comment, Document, Item, Mapping, Value};

/// A parsed encrypted file whose metadata is valid. Encrypted leaves still hold `ENC[…]` text.
#[derive(Clone, Debug)]
pub struct Inspected {
    /// The data documents, as stored.
    pub documents: Vec<Document>,
    /// The file's metadata.
    pub metadata: Metadata,
    /// An error sops meets only when it walks the data tree (see
    /// [`stores::ParsedFile::walk_error`]): decryption raises it once the key is recovered.
    pub walk_error: Option<String>,
}

/// Where an encrypted value stands, and what type it declares.
#[derive(Clone, Copy, Debug)]
pub struct EncryptedLeaf<'a> {
    /// The document's index in the file (YAML files may hold several).
    pub document: usize,
    /// The mapping keys from the document root to the value (sequence positions are not keys,
    /// as in sops' AAD).
    pub path: &'a [String],
    /// The declared type.
    pub value_type: ValueType,
}

/// Parses a file and reads its metadata, without any key: the first steps of `sops decrypt`.
pub fn inspect(input: &[u8], format: Format) -> Result<Inspected, DecryptError> {
    let parsed = stores::parse(format, input).map_err(|error| match error {
        StoreError::MetadataNotFound => DecryptError::unencrypted(true),
        error => DecryptError::Parse(error),
    })?;
    let tree = parsed
        .metadata
        .ok_or_else(|| DecryptError::unencrypted(false))?;
    let metadata = Metadata::from_tree(&tree, parsed.metadata_style)?;
    Ok(Inspected {
        documents: parsed.documents,
        metadata,
        walk_error: parsed.walk_error,
    })
}

impl Inspected {
    /// Replaces every encrypted value with what `replace` returns for it, after checking its
    /// structure (an `ENC[…]` string with valid base64 fields and a known type; an empty string
    /// counts as an encrypted `str`, as it decrypts to one). Clear values are kept.
    ///
    /// Fails as decryption would on a value that is not an `ENC[…]` string where the rule says
    /// one must be. A comment at an encrypted position that is not a valid `ENC[…]` value is kept
    /// as it is, as decryption keeps it.
    pub fn replace_encrypted(
        self,
        mut replace: impl FnMut(&EncryptedLeaf<'_>) -> Value,
    ) -> Result<Vec<Document>, DecryptError> {
        let Inspected {
            mut documents,
            metadata,
            walk_error,
        } = self;
        // Without a key this is as far as sops would get before failing the walk.
        if let Some(message) = walk_error {
            return Err(DecryptError::Walk(message));
        }
        walk(&mut documents, &metadata.rule, |at, leaf, encrypted| {
            if !encrypted {
                return Ok(leaf);
            }
            let value_type = match &leaf {
                Value::Comment(comment) => match cipher::value_type(&comment.0) {
                    Ok(value_type) => value_type,
                    Err(_) => return Ok(leaf),
                },
                Value::Str(text) if text.is_empty() => ValueType::Str,
                Value::Str(text) => std::str::from_utf8(text)
                    .map_err(|_| cipher::CipherError::Format)
                    .and_then(cipher::value_type)
                    .map_err(|source| DecryptError::Value {
                        path: at.aad(),
                        source,
                    })?,
                other => {
                    return Err(DecryptError::NotEncrypted {
                        path: at.aad(),
                        found: type_name(other),
                    });
                }
            };
            Ok(replace(&EncryptedLeaf {
                document: at.document,
                path: at.path,
                value_type,
            }))
        })?;
        Ok(documents)
    }
}

/// A leaf's position during a walk.
pub(crate) struct Position<'a> {
    /// The document's index in the file.
    pub(crate) document: usize,
    /// Mapping keys from the document root.
    pub(crate) path: &'a [String],
}

impl Position<'_> {
    /// The AAD of the position: every mapping key followed by `:` (a lone `:` at the root).
    pub(crate) fn aad(&self) -> String {
        let mut aad = String::new();
        for key in self.path {
            aad.push_str(key);
            aad.push(':');
        }
        if aad.is_empty() {
            aad.push(':');
        }
        aad
    }
}

/// Walks every leaf of every document depth-first in document order, as sops walks its tree,
/// replacing each leaf with what `visit` returns. `visit` is told whether the rule encrypts the
/// leaf.
pub(crate) fn walk(
    documents: &mut [Document],
    rule: &Rule,
    visit: impl FnMut(&Position<'_>, Value, bool) -> Result<Value, DecryptError>,
) -> Result<(), DecryptError> {
    let mut walker = Walker {
        rule,
        document: 0,
        path: Vec::new(),
        comments: CommentStack::default(),
        visit,
    };
    for (index, document) in documents.iter_mut().enumerate() {
        walker.document = index;
        walker.mapping(document)?;
    }
    Ok(())
}

/// The state of one walk.
struct Walker<'a, F> {
    rule: &'a Rule,
    document: usize,
    /// Mapping keys from the document root to the current position.
    path: Vec<String>,
    comments: CommentStack,
    visit: F,
}

impl<F> Walker<'_, F>
where
    F: FnMut(&Position<'_>, Value, bool) -> Result<Value, DecryptError>,
{
    fn mapping(&mut self, mapping: &mut Mapping) -> Result<(), DecryptError> {
        self.comments.enter();
        for item in &mut mapping.items {
            match item {
                Item::Comment(comment) => {
                    self.comments.push(comment.0.as_bytes());
                    let leaf = Value::Comment(std::mem::replace(comment, Comment(String::new())));
                    *comment = match self.leaf(leaf)? {
                        Value::Comment(visited) => visited,
                        // A comment position that decrypts to a string stays a comment.
                        Value::Str(text) => Comment(String::from_utf8_lossy(&text).into_owned()),
                        other => {
                            return Err(DecryptError::NotEncrypted {
                                path: self.position().aad(),
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

    /// Asks the rule whether the leaf is encrypted and hands it to the visitor.
    fn leaf(&mut self, leaf: Value) -> Result<Value, DecryptError> {
        let is_comment = matches!(leaf, Value::Comment(_));
        let keys: Vec<&str> = self.path.iter().map(String::as_str).collect();
        let encrypted = self.rule.encrypts(&keys, &self.comments, is_comment);
        let position = Position {
            document: self.document,
            path: &self.path,
        };
        (self.visit)(&position, leaf, encrypted)
    }

    fn position(&self) -> Position<'_> {
        Position {
            document: self.document,
            path: &self.path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::error::FailureKind;

    #[test]
    fn aad_of_the_root_is_a_lone_colon() {
        let path = [];
        assert_eq!(
            Position {
                document: 0,
                path: &path
            }
            .aad(),
            ":"
        );
        let path = ["merged".to_owned(), "<<".to_owned(), "user".to_owned()];
        assert_eq!(
            Position {
                document: 0,
                path: &path
            }
            .aad(),
            "merged:<<:user:"
        );
    }

    const USER: &str = "ENC[AES256_GCM,data:76UAAQo=,iv:ICPH0pFU2Ui7onGvkP6Zzv21um3QHwbWsmKGlaYjLiY=,tag:R5MJJesksxiH7HYLTADXtg==,type:str]";
    const PORT: &str = "ENC[AES256_GCM,data:DuC5Ng==,iv:+Gi0ihC6vhyY+mK31Xd1RoWZh/3XcVd2FHvAZxUsyCM=,tag:p71h1pu7Wxf5AscryEKzYA==,type:int]";

    fn file(body: &str) -> Vec<u8> {
        format!(
            "{body}sops:\n    age:\n        - recipient: age1x\n          enc: x\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: x\n    unencrypted_suffix: _unencrypted\n    version: 3.11.0\n"
        )
        .into_bytes()
    }

    #[test]
    fn finds_encrypted_leaves_with_their_types() {
        let input = file(&format!(
            "user: {USER}\nport: {PORT}\nname_unencrypted: clear\nlist:\n    - {USER}\nempty: \"\"\n"
        ));
        let inspected = inspect(&input, Format::Yaml).unwrap();
        let mut seen = Vec::new();
        let documents = inspected
            .replace_encrypted(|leaf| {
                seen.push((leaf.path.join(":"), leaf.value_type));
                Value::str("X")
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                ("user".to_owned(), ValueType::Str),
                ("port".to_owned(), ValueType::Int),
                ("list".to_owned(), ValueType::Str),
                ("empty".to_owned(), ValueType::Str),
            ]
        );
        let doc = &documents[0];
        assert_eq!(doc.get("user"), Some(&Value::str("X")));
        assert_eq!(doc.get("name_unencrypted"), Some(&Value::str("clear")));
    }

    #[test]
    fn refuses_what_decryption_refuses() {
        let cases = [
            ("user: plain\n", "does not match sops' data format"),
            ("port: 5\n", "should be encrypted but is a integer"),
            (
                "user: ENC[AES256_GCM,data:76UAAQo,iv:ICPH,tag:R5MJ,type:str]\n",
                "base64",
            ),
            (
                "user: ENC[AES256_GCM,data:76UAAQo=,iv:ICPH0pFU2Ui7onGvkP6Zzv21um3QHwbWsmKGlaYjLiY=,tag:R5MJJesksxiH7HYLTADXtg==,type:bytes]\n",
                "bytes",
            ),
        ];
        for (body, needle) in cases {
            let inspected = inspect(&file(body), Format::Yaml).unwrap();
            let error = inspected.replace_encrypted(|_| Value::Null).unwrap_err();
            assert!(error.to_string().contains(needle), "{body}: {error}");
            assert_eq!(error.kind(), FailureKind::ValueDecryption, "{body}");
        }
        let error = inspect(b"user: x\n", Format::Yaml).unwrap_err();
        assert!(
            error.to_string().contains("sops metadata not found"),
            "{error}"
        );
        assert_eq!(error.kind(), FailureKind::InvalidFile);
    }
}
