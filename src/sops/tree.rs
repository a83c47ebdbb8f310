//! The document model every store parses into and emits from.
//!
//! It mirrors sops' own tree: a file is a list of documents, a document is an ordered mapping,
//! and comments are first-class leaves (they are encrypted, carry an AAD, and take part in the
//! comment-regex rules). Order and duplicate keys are kept exactly as read.

use zeroize::Zeroize;

use crate::sops::gotime::Timestamp;

/// One document of a file: YAML files may hold several, every other store holds one.
pub type Document = Mapping;

/// An ordered mapping. Duplicate keys are kept (JSON allows them and sops keeps them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapping {
    /// The entries and comments, in file order.
    pub items: Vec<Item>,
}

/// One position inside a mapping.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A key and its value.
    Entry(Entry),
    /// A comment standing between entries (or after the last one).
    Comment(Comment),
}

/// A key with its value. Keys are always strings: sops refuses any other key type.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key, exactly as parsed (no escaping; it becomes part of value AADs verbatim).
    pub key: String,
    /// The value.
    pub value: Value,
}

/// The text of a comment, without the leading `#` (YAML, dotenv) or `;`/`#` (INI).
///
/// The text keeps its leading space, so `# note` is stored as `" note"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment(pub String);

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index (comments not counted).
    Index(usize),
}

/// A node of the tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty YAML value. Never encrypted, never hashed.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer (YAML ints; sops never produces other integer widths).
    Int(i64),
    /// A float64 (YAML floats and every JSON number).
    Float(f64),
    /// A string. Bytes rather than `String` because the binary store and YAML `!!binary`
    /// carry arbitrary bytes; every other source holds valid UTF-8.
    Str(Vec<u8>),
    /// A timestamp (YAML timestamps, `type:time`).
    Time(Timestamp),
    /// An ordered mapping.
    Mapping(Mapping),
    /// A sequence. Its elements may be [`Value::Comment`]s.
    Sequence(Vec<Value>),
    /// A comment standing inside a sequence (sops stores these as list elements).
    Comment(Comment),
}

impl Value {
    /// How messages name this value's type, with its article: `a string`, `an integer`, `a
    /// list`, … (one wording for every layer).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Time(_) => "a timestamp",
            Value::Mapping(_) => "a mapping",
            Value::Sequence(_) => "a list",
            Value::Comment(_) => "a comment",
        }
    }

    /// Builds a string value from text.
    pub fn str(text: impl Into<String>) -> Self {
        Value::Str(text.into().into_bytes())
    }

    /// The string's bytes, if this is a string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(bytes) => Some(bytes),
            _ => None,
        }
    }
}

impl Mapping {
    /// Creates an empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry.
    pub fn push(&mut self, key: impl Into<String>, value: Value) {
        self.items.push(Item::Entry(Entry {
            key: key.into(),
            value,
        }));
    }

    /// Appends a comment.
    pub fn push_comment(&mut self, text: impl Into<String>) {
        self.items.push(Item::Comment(Comment(text.into())));
    }

    /// The entries, skipping comments.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.items.iter().filter_map(|item| match item {
            Item::Entry(entry) => Some(entry),
            Item::Comment(_) => None,
        })
    }

    /// The value of the last entry with this exact key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries()
            .filter(|entry| entry.key == key)
            .last()
            .map(|entry| &entry.value)
    }

    /// Whether the mapping holds no items at all (entries or comments).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Wipes every key, comment and value in place, so a decrypted tree held in
/// [`zeroize::Zeroizing`] leaves no plaintext behind when it is dropped.
impl Zeroize for Mapping {
    fn zeroize(&mut self) {
        for item in &mut self.items {
            match item {
                Item::Entry(entry) => {
                    entry.key.zeroize();
                    entry.value.zeroize();
                }
                Item::Comment(comment) => comment.0.zeroize(),
            }
        }
    }
}

/// Wipes the value in place (see the [`Mapping`] implementation).
impl Zeroize for Value {
    fn zeroize(&mut self) {
        match self {
            Value::Null => {}
            Value::Time(time) => {
                time.unix_seconds.zeroize();
                time.nanos.zeroize();
                time.offset_seconds.zeroize();
            }
            Value::Bool(b) => b.zeroize(),
            Value::Int(i) => i.zeroize(),
            Value::Float(f) => f.zeroize(),
            Value::Str(bytes) => bytes.zeroize(),
            Value::Mapping(mapping) => mapping.zeroize(),
            Value::Sequence(items) => items.iter_mut().for_each(Zeroize::zeroize),
            Value::Comment(comment) => comment.0.zeroize(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroize_wipes_keys_values_and_comments_at_every_depth() {
        let mut inner = Mapping::new();
        inner.push("password", Value::str("hunter2"));
        inner.push("port", Value::Int(5432));
        inner.push_comment(" secret note");
        let mut doc = Mapping::new();
        doc.push(
            "list",
            Value::Sequence(vec![
                Value::Mapping(inner),
                Value::Float(1.5),
                Value::Bool(true),
                Value::Comment(Comment(" item note".into())),
            ]),
        );
        doc.zeroize();
        let Some(Item::Entry(entry)) = doc.items.first() else {
            panic!("the structure stays");
        };
        assert!(entry.key.is_empty());
        let Value::Sequence(items) = &entry.value else {
            panic!("the structure stays");
        };
        let Value::Mapping(inner) = &items[0] else {
            panic!("the structure stays");
        };
        assert_eq!(
            inner.items[0],
            Item::Entry(Entry {
                key: String::new(),
                value: Value::Str(Vec::new())
            })
        );
        assert_eq!(
            inner.items[1],
            Item::Entry(Entry {
                key: String::new(),
                value: Value::Int(0)
            })
        );
        assert_eq!(inner.items[2], Item::Comment(Comment(String::new())));
        assert_eq!(
            items[1..],
            [
                Value::Float(0.0),
                Value::Bool(false),
                Value::Comment(Comment(String::new()))
            ]
        );
    }
}
