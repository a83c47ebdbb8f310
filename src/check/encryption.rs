//! Whether a file is SOPS-encrypted, decided without any key.
//!
//! A file counts as encrypted when all of these hold:
//! - it parses with the store sops picks for its name (`.yaml`/`.yml`, `.json`, `.env`, `.ini`,
//!   anything else the binary store's JSON envelope), and carries `sops` metadata that decodes
//!   ([`Metadata::from_tree`]);
//! - every leaf the file's own encryption rule (`unencrypted_suffix`, `encrypted_regex`, …)
//!   says is encrypted holds an `ENC[…]` value: a clear value there was added or edited without
//!   sops (sops itself would refuse to decrypt it);
//! - at least one value is encrypted: metadata over data that is all in clear (a rule matching
//!   no key) protects nothing.
//!
//! Comments are not held to the rule (sops versions before 3.7 left them in clear), nor are
//! empty strings (sops never encrypts them).

use crate::check::locate::Segment;
use crate::sops::cipher::is_encrypted;
use crate::sops::metadata::Metadata;
use crate::sops::rules::{CommentStack, Rule};
use crate::sops::stores::{self, Format};
use crate::sops::tree::{Document, Item, Mapping, Value};

/// What a file is, as far as SOPS is concerned.
#[derive(Debug)]
pub enum Encryption {
    /// No usable `sops` metadata (or the file does not parse in its store): plain data.
    Plain {
        /// When the file has a `sops` section that does not decode: why.
        invalid_metadata: Option<String>,
    },
    /// Valid metadata, but values are in clear.
    Partial {
        /// The metadata.
        metadata: Box<Metadata>,
        /// Leaves in clear where the rule requires encryption (empty when nothing at all is
        /// encrypted), with the document they are in.
        clear: Vec<(usize, Vec<Segment>)>,
    },
    /// Properly encrypted.
    Encrypted {
        /// The metadata.
        metadata: Box<Metadata>,
    },
}

impl Encryption {
    /// Inspects a file's bytes, read with the store for `format`.
    pub fn inspect(format: Format, bytes: &[u8]) -> Encryption {
        let Some((documents, tree, style)) = stores::parse(format, bytes)
            .ok()
            .and_then(|parsed| Some((parsed.documents, parsed.metadata?, parsed.metadata_style)))
        else {
            return Encryption::Plain {
                invalid_metadata: None,
            };
        };
        let metadata = match Metadata::from_tree(&tree, style) {
            Ok(metadata) => Box::new(metadata),
            Err(e) => {
                return Encryption::Plain {
                    invalid_metadata: Some(e.to_string()),
                };
            }
        };
        let (encrypted, clear) = Scan::run(&metadata.rule, &documents);
        if encrypted > 0 && clear.is_empty() {
            Encryption::Encrypted { metadata }
        } else {
            Encryption::Partial { metadata, clear }
        }
    }

    /// Whether encrypting the file with sops under `rule` would encrypt at least one value
    /// (empty strings, nulls and comments never are). Files sops already encrypted are judged
    /// by their keys, which stay in clear. A file its store cannot read counts as yes.
    pub fn would_encrypt(format: Format, bytes: &[u8], rule: &Rule) -> bool {
        let Some(documents) = data_documents(format, bytes) else {
            return true;
        };
        let (encrypted, clear) = Scan::run(rule, &documents);
        encrypted > 0 || !clear.is_empty()
    }

    /// The metadata, when the file has valid metadata.
    pub fn metadata(&self) -> Option<&Metadata> {
        match self {
            Encryption::Plain { .. } => None,
            Encryption::Partial { metadata, .. } | Encryption::Encrypted { metadata } => {
                Some(metadata)
            }
        }
    }

    /// Whether the file is properly encrypted.
    pub fn is_encrypted(&self) -> bool {
        matches!(self, Encryption::Encrypted { .. })
    }
}

/// The data a file holds, as sops reads it for encryption: its documents without any `sops`
/// section, and for the binary store the whole content as the `data` value.
fn data_documents(format: Format, bytes: &[u8]) -> Option<Vec<Document>> {
    match (format, stores::parse(format, bytes)) {
        (_, Ok(parsed)) if parsed.metadata.is_some() || format != Format::Yaml => {
            Some(parsed.documents)
        }
        (Format::Binary, Err(_)) => {
            let mut document = Mapping::new();
            document.push("data", Value::Str(bytes.to_vec()));
            Some(vec![document])
        }
        (Format::Yaml, _) => stores::yaml::parse_documents(bytes).ok(),
        _ => None,
    }
}

/// A walk over the data in sops' order, keeping the comment stack sops' rules look at.
struct Scan<'a> {
    rule: &'a Rule,
    /// Keys and indexes from the document root (the rule looks only at the keys).
    path: Vec<Segment>,
    comments: CommentStack,
    encrypted: usize,
    clear: Vec<(usize, Vec<Segment>)>,
    document: usize,
}

impl Scan<'_> {
    /// Walks the documents: how many values at encrypted positions are `ENC[…]`, and where
    /// the others are.
    fn run(rule: &Rule, documents: &[Document]) -> (usize, Vec<(usize, Vec<Segment>)>) {
        let mut scan = Scan {
            rule,
            path: Vec::new(),
            comments: CommentStack::default(),
            encrypted: 0,
            clear: Vec::new(),
            document: 0,
        };
        for (index, document) in documents.iter().enumerate() {
            scan.document = index;
            scan.mapping(document);
        }
        (scan.encrypted, scan.clear)
    }

    fn mapping(&mut self, mapping: &Mapping) {
        self.comments.enter();
        for item in &mapping.items {
            match item {
                Item::Comment(comment) => {
                    self.comments.push(comment.0.as_bytes());
                    self.comment(&comment.0);
                }
                Item::Entry(entry) => {
                    self.path.push(Segment::Key(entry.key.clone()));
                    self.value(&entry.value);
                    self.path.pop();
                    self.comments.clear_innermost();
                }
            }
        }
        self.comments.leave();
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => {}
            Value::Mapping(mapping) => self.mapping(mapping),
            Value::Sequence(items) => {
                self.comments.enter();
                let mut index = 0;
                for item in items {
                    if let Value::Comment(comment) = item {
                        self.comments.push(comment.0.as_bytes());
                        self.comment(&comment.0);
                        continue;
                    }
                    self.path.push(Segment::Index(index));
                    self.value(item);
                    self.path.pop();
                    self.comments.clear_innermost();
                    index += 1;
                }
                self.comments.leave();
            }
            Value::Comment(comment) => self.comment(&comment.0),
            leaf => {
                let keys: Vec<&str> = self
                    .path
                    .iter()
                    .filter_map(|segment| match segment {
                        Segment::Key(key) => Some(key.as_str()),
                        Segment::Index(_) => None,
                    })
                    .collect();
                if !self.rule.encrypts(&keys, &self.comments, false) {
                    return;
                }
                match leaf {
                    // sops leaves empty strings as they are.
                    Value::Str(text) if text.is_empty() => {}
                    Value::Str(text) if std::str::from_utf8(text).is_ok_and(is_encrypted) => {
                        self.encrypted += 1;
                    }
                    _ => self.clear.push((self.document, self.path.clone())),
                }
            }
        }
    }

    /// An encrypted comment counts as encrypted data; a clear one is tolerated.
    fn comment(&mut self, text: &str) {
        if is_encrypted(text.trim_start()) {
            self.encrypted += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: &str = "sops:\n    age:\n        - recipient: age1x\n          enc: E\n    lastmodified: \"2026-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:m,iv:i,tag:t,type:str]\n    version: 3.11.0\n";
    const ENC: &str = "ENC[AES256_GCM,data:YQ==,iv:aXY=,tag:dGFn,type:str]";

    fn yaml(body: &str, extra_meta: &str) -> Encryption {
        let text = format!("{body}{META}{extra_meta}");
        Encryption::inspect(Format::Yaml, text.as_bytes())
    }

    #[test]
    fn plain_files_and_foreign_sops_keys_are_plain() {
        assert!(matches!(
            Encryption::inspect(Format::Yaml, b"a: 1\n"),
            Encryption::Plain { .. }
        ));
        assert!(matches!(
            Encryption::inspect(Format::Yaml, b"sops:\n  enabled: true\n"),
            Encryption::Plain { .. }
        ));
        assert!(matches!(
            Encryption::inspect(Format::Binary, b"hello"),
            Encryption::Plain { .. }
        ));
    }

    #[test]
    fn every_encrypted_position_must_hold_enc() {
        assert!(yaml(&format!("a: {ENC}\nb:\n    - {ENC}\n"), "").is_encrypted());
        let Encryption::Partial { clear, .. } = yaml(&format!("a: {ENC}\nb:\n    - x\n"), "")
        else {
            panic!("expected partial");
        };
        assert_eq!(
            clear,
            [(0, vec![Segment::Key("b".into()), Segment::Index(0)])]
        );
    }

    #[test]
    fn would_encrypt_follows_the_rule() {
        let rule = Rule::EncryptedRegex(crate::sops::rules::GoRegex::new("^(data|stringData)$"));
        let yaml = |text: &str| Encryption::would_encrypt(Format::Yaml, text.as_bytes(), &rule);
        assert!(!yaml("kind: Deployment\nspec:\n  replicas: 1\n"));
        assert!(!yaml("kind: Secret\nstringData:\n  empty: ''\n"));
        assert!(yaml("kind: Secret\nstringData:\n  a: b\n"));
        assert!(yaml("not: [valid"));
        let any = Rule::UnencryptedSuffix("_unencrypted".into());
        assert!(Encryption::would_encrypt(Format::Binary, b"x", &any));
        assert!(!Encryption::would_encrypt(Format::Binary, b"", &any));
        assert!(Encryption::would_encrypt(Format::Dotenv, b"A=1\n", &any));
        assert!(!Encryption::would_encrypt(
            Format::Dotenv,
            b"# only a comment\n",
            &any
        ));
    }

    #[test]
    fn the_files_own_rule_decides() {
        let rule = "    encrypted_regex: ^(data|stringData)$\n";
        assert!(yaml(&format!("kind: Secret\ndata:\n    k: {ENC}\n"), rule).is_encrypted());
        assert!(matches!(
            yaml("kind: Secret\ndata:\n    k: plain\n", rule),
            Encryption::Partial { .. }
        ));
        // Metadata over data with nothing encrypted protects nothing.
        assert!(matches!(
            yaml("kind: ConfigMap\nother: x\n", rule),
            Encryption::Partial { clear, .. } if clear.is_empty()
        ));
        assert!(yaml(&format!("a: {ENC}\nb_unencrypted: clear\n"), "").is_encrypted());
    }
}
