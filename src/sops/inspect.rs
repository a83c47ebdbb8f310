//! Reading an encrypted file without any key: its documents, its metadata, and which leaves are
//! encrypted (with their declared types).
//!
//! This is everything `sops decrypt` does before it needs the data key, and the walk here is the
//! one decryption uses, so "encrypted" means exactly what it means to sops: the file's rule
//! applied to the key path and the comment stack. A file refused here is refused by decryption
//! too; a file accepted here may still fail authentication, which needs the key. Readers that
//! only look at the leaves ([`visit_leaves`]) get the same walk, without changing anything.

use std::convert::Infallible;

use crate::sops::cipher::{self, ValueType};
use crate::sops::error::DecryptError;
use crate::sops::metadata::Metadata;
use crate::sops::rules::{CommentStack, EncryptionRule};
use crate::sops::stores::{self, Format, StoreError};
use crate::sops::tree::{Comment, Document, Item, Mapping, Segment, Value};

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
                    .map_err(|cause| DecryptError::Value {
                        path: at.aad(),
                        cause,
                    })?,
                other => {
                    return Err(DecryptError::NotEncrypted {
                        path: at.aad(),
                        found: other.type_name(),
                    });
                }
            };
            Ok(replace(&EncryptedLeaf {
                document: at.document,
                path: at.keys,
                value_type,
            }))
        })?;
        Ok(documents)
    }
}

/// A leaf as [`visit_leaves`] shows it.
#[derive(Clone, Copy, Debug)]
pub struct Leaf<'a> {
    /// The document's index in the file (YAML files may hold several).
    pub document: usize,
    /// The mapping keys and sequence indexes from the document root to the leaf; a comment
    /// stands at the path of the mapping or sequence holding it. The tree keeps no line
    /// numbers: this path is what locates the leaf in the file's text.
    pub path: &'a [Segment],
    /// What the leaf holds.
    pub content: LeafContent<'a>,
    /// Whether the file's rule encrypts the leaf, so that it must hold an `ENC[…]` value
    /// (decryption fails on any other value there, except an empty string or a clear comment).
    pub rule_encrypts: bool,
}

/// What a leaf holds.
#[derive(Clone, Copy, Debug)]
pub enum LeafContent<'a> {
    /// A string, number, boolean or timestamp.
    Scalar(&'a Value),
    /// A comment's text.
    Comment(&'a str),
}

impl Leaf<'_> {
    /// Whether the leaf holds an `ENC[…]` value. Only its form is checked: whether it decrypts
    /// takes the key.
    pub fn is_encrypted(&self) -> bool {
        match self.content {
            LeafContent::Scalar(Value::Str(text)) => {
                std::str::from_utf8(text).is_ok_and(cipher::is_encrypted)
            }
            LeafContent::Scalar(_) => false,
            LeafContent::Comment(text) => cipher::is_encrypted(text),
        }
    }
}

/// Hands every leaf of `documents` to `visit`, in the order sops walks them, with whether `rule`
/// encrypts it: the walk decryption makes, reading only. Nulls are no leaves (sops never
/// encrypts them).
pub fn visit_leaves(
    documents: &[Document],
    rule: &EncryptionRule,
    mut visit: impl FnMut(&Leaf<'_>),
) {
    let Ok(()) =
        walk_documents::<&Value, Infallible>(documents, rule, |at, slot, rule_encrypts| {
            let content = match slot {
                Slot::Comment(Comment(text)) | Slot::Value(Value::Comment(Comment(text))) => {
                    LeafContent::Comment(text)
                }
                Slot::Value(value) => LeafContent::Scalar(value),
            };
            visit(&Leaf {
                document: at.document,
                path: at.path,
                content,
                rule_encrypts,
            });
            Ok(())
        });
}

impl Inspected {
    /// [`visit_leaves`] over the file's documents under its own rule. An error sops would meet
    /// in its walk ([`Inspected::walk_error`]) is left to decryption.
    pub fn visit_leaves(&self, visit: impl FnMut(&Leaf<'_>)) {
        visit_leaves(&self.documents, &self.metadata.rule, visit);
    }
}

/// A leaf's position during a walk.
pub(crate) struct Position<'a> {
    /// The document's index in the file.
    pub(crate) document: usize,
    /// Mapping keys from the document root: all that sops' rules and AADs look at.
    pub(crate) keys: &'a [String],
    /// Mapping keys and sequence indexes from the document root.
    pub(crate) path: &'a [Segment],
}

impl Position<'_> {
    /// The AAD of the position: every mapping key followed by `:` (a lone `:` at the root).
    pub(crate) fn aad(&self) -> String {
        let mut aad = String::new();
        for key in self.keys {
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
    rule: &EncryptionRule,
    mut visit: impl FnMut(&Position<'_>, Value, bool) -> Result<Value, DecryptError>,
) -> Result<(), DecryptError> {
    walk_documents::<&mut Value, _>(documents, rule, |at, slot, encrypted| match slot {
        Slot::Value(value) => {
            let leaf = std::mem::replace(value, Value::Null);
            *value = visit(at, leaf, encrypted)?;
            Ok(())
        }
        Slot::Comment(comment) => {
            let leaf = Value::Comment(std::mem::replace(comment, Comment(String::new())));
            *comment = match visit(at, leaf, encrypted)? {
                Value::Comment(visited) => visited,
                // A comment position that decrypts to a string stays a comment.
                Value::Str(text) => Comment(String::from_utf8_lossy(&text).into_owned()),
                other => {
                    return Err(DecryptError::NotEncrypted {
                        path: at.aad(),
                        found: other.type_name(),
                    });
                }
            };
            Ok(())
        }
    })
}

/// How a walk holds the tree: shared, to read it ([`visit_leaves`]), or exclusive, to replace
/// its leaves ([`walk`]). Both go through [`walk_documents`], so reading a file and decrypting
/// it cannot disagree on which leaves are encrypted.
trait Access: Sized {
    /// A mapping, held the same way.
    type Mapping;
    /// A comment item of a mapping, held the same way.
    type Comment;
    /// A sequence's elements.
    type Elements: Iterator<Item = Self>;

    /// What the node is.
    fn shape(self) -> Shape<Self>;
    /// A mapping's items, in order.
    fn items(mapping: Self::Mapping) -> impl Iterator<Item = Part<Self>>;
    /// A comment item's text.
    fn text(comment: &Self::Comment) -> &str;
    /// The text of the node when it is a comment (an element of a sequence).
    fn comment_text(&self) -> Option<&str>;
}

/// A node, as a walk sees it.
enum Shape<A: Access> {
    /// Nothing to visit: a null.
    Null,
    /// A mapping.
    Mapping(A::Mapping),
    /// A sequence.
    Sequence(A::Elements),
    /// A scalar or a comment.
    Leaf(A),
}

/// An item of a mapping, as a walk sees it.
enum Part<A: Access> {
    /// A key and its value.
    Entry(String, A),
    /// A comment.
    Comment(A::Comment),
}

/// A leaf handed to a walk's visitor.
enum Slot<A: Access> {
    /// A scalar, or a comment element of a sequence.
    Value(A),
    /// A comment item of a mapping.
    Comment(A::Comment),
}

impl<'t> Access for &'t Value {
    type Mapping = &'t Mapping;
    type Comment = &'t Comment;
    type Elements = std::slice::Iter<'t, Value>;

    fn shape(self) -> Shape<Self> {
        match self {
            Value::Null => Shape::Null,
            Value::Mapping(mapping) => Shape::Mapping(mapping),
            Value::Sequence(elements) => Shape::Sequence(elements.iter()),
            leaf => Shape::Leaf(leaf),
        }
    }

    fn items(mapping: &'t Mapping) -> impl Iterator<Item = Part<Self>> {
        mapping.items.iter().map(|item| match item {
            Item::Entry(entry) => Part::Entry(entry.key.clone(), &entry.value),
            Item::Comment(comment) => Part::Comment(comment),
        })
    }

    fn text<'c>(comment: &'c &'t Comment) -> &'c str {
        &comment.0
    }

    fn comment_text(&self) -> Option<&str> {
        match self {
            Value::Comment(comment) => Some(&comment.0),
            _ => None,
        }
    }
}

impl<'t> Access for &'t mut Value {
    type Mapping = &'t mut Mapping;
    type Comment = &'t mut Comment;
    type Elements = std::slice::IterMut<'t, Value>;

    fn shape(self) -> Shape<Self> {
        match self {
            Value::Null => Shape::Null,
            Value::Mapping(mapping) => Shape::Mapping(mapping),
            Value::Sequence(elements) => Shape::Sequence(elements.iter_mut()),
            leaf => Shape::Leaf(leaf),
        }
    }

    fn items(mapping: &'t mut Mapping) -> impl Iterator<Item = Part<Self>> {
        mapping.items.iter_mut().map(|item| match item {
            Item::Entry(entry) => Part::Entry(entry.key.clone(), &mut entry.value),
            Item::Comment(comment) => Part::Comment(comment),
        })
    }

    fn text<'c>(comment: &'c &'t mut Comment) -> &'c str {
        &comment.0
    }

    fn comment_text(&self) -> Option<&str> {
        match &**self {
            Value::Comment(comment) => Some(&comment.0),
            _ => None,
        }
    }
}

/// The one walk: every leaf of every document, depth-first in document order as sops walks its
/// tree, handed to `visit` with whether the rule encrypts it.
fn walk_documents<A: Access, E>(
    documents: impl IntoIterator<Item = A::Mapping>,
    rule: &EncryptionRule,
    visit: impl FnMut(&Position<'_>, Slot<A>, bool) -> Result<(), E>,
) -> Result<(), E> {
    let mut walker = Walker {
        rule,
        document: 0,
        keys: Vec::new(),
        path: Vec::new(),
        comments: CommentStack::default(),
        visit,
    };
    for (index, document) in documents.into_iter().enumerate() {
        walker.document = index;
        walker.mapping(document)?;
    }
    Ok(())
}

/// The state of one walk.
struct Walker<'a, F> {
    rule: &'a EncryptionRule,
    document: usize,
    /// Mapping keys from the document root to the current position.
    keys: Vec<String>,
    /// Mapping keys and sequence indexes from the document root to the current position.
    path: Vec<Segment>,
    comments: CommentStack,
    visit: F,
}

impl<F> Walker<'_, F> {
    fn mapping<A: Access, E>(&mut self, mapping: A::Mapping) -> Result<(), E>
    where
        F: FnMut(&Position<'_>, Slot<A>, bool) -> Result<(), E>,
    {
        self.comments.enter();
        for item in A::items(mapping) {
            match item {
                Part::Comment(comment) => {
                    self.comments.push(A::text(&comment).as_bytes());
                    self.leaf(Slot::Comment(comment), true)?;
                }
                Part::Entry(key, value) => {
                    self.path.push(Segment::Key(key.clone()));
                    self.keys.push(key);
                    let result = self.value(value);
                    self.keys.pop();
                    self.path.pop();
                    result?;
                    self.comments.clear_innermost();
                }
            }
        }
        self.comments.leave();
        Ok(())
    }

    fn sequence<A: Access, E>(&mut self, elements: A::Elements) -> Result<(), E>
    where
        F: FnMut(&Position<'_>, Slot<A>, bool) -> Result<(), E>,
    {
        self.comments.enter();
        let mut index = 0;
        for element in elements {
            // Only a comment node joins the stack; an encrypted list comment is still a string
            // here and clears it, exactly as in sops (whose own output can then fail its MAC).
            if let Some(text) = element.comment_text() {
                self.comments.push(text.as_bytes());
                self.leaf(Slot::Value(element), true)?;
                continue;
            }
            self.path.push(Segment::Index(index));
            let result = self.value(element);
            self.path.pop();
            result?;
            self.comments.clear_innermost();
            index += 1;
        }
        self.comments.leave();
        Ok(())
    }

    fn value<A: Access, E>(&mut self, value: A) -> Result<(), E>
    where
        F: FnMut(&Position<'_>, Slot<A>, bool) -> Result<(), E>,
    {
        match value.shape() {
            Shape::Null => Ok(()),
            Shape::Mapping(mapping) => self.mapping(mapping),
            Shape::Sequence(elements) => self.sequence(elements),
            Shape::Leaf(leaf) => {
                let is_comment = leaf.comment_text().is_some();
                self.leaf(Slot::Value(leaf), is_comment)
            }
        }
    }

    /// Asks the rule whether the leaf is encrypted and hands it to the visitor.
    fn leaf<A: Access, E>(&mut self, slot: Slot<A>, is_comment: bool) -> Result<(), E>
    where
        F: FnMut(&Position<'_>, Slot<A>, bool) -> Result<(), E>,
    {
        let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        let encrypted = self.rule.encrypts(&keys, &self.comments, is_comment);
        let position = Position {
            document: self.document,
            keys: &self.keys,
            path: &self.path,
        };
        (self.visit)(&position, slot, encrypted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::error::FailureKind;

    #[test]
    fn aad_of_the_root_is_a_lone_colon() {
        let keys = [];
        assert_eq!(
            Position {
                document: 0,
                keys: &keys,
                path: &[]
            }
            .aad(),
            ":"
        );
        let keys = ["merged".to_owned(), "<<".to_owned(), "user".to_owned()];
        assert_eq!(
            Position {
                document: 0,
                keys: &keys,
                path: &[]
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
            ("port: 5\n", "should be encrypted but is an integer"),
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
