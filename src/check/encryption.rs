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
//! empty strings (sops never encrypts them). Which leaves the rule encrypts is what the engine's
//! walk says ([`visit_leaves`]), the walk decryption makes.

use crate::sops::DecryptError;
use crate::sops::EncryptionRule;
use crate::sops::Format;
use crate::sops::Metadata;
use crate::sops::is_encrypted;
use crate::sops::{Document, Mapping, Segment, Value};
use crate::sops::{LeafContent, inspect, visit_leaves};
use crate::sops::{parse_store, parse_yaml};

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
        let inspected = match inspect(bytes, format) {
            Ok(inspected) => inspected,
            Err(DecryptError::Metadata(error)) => {
                return Encryption::Plain {
                    invalid_metadata: Some(error.to_string()),
                };
            }
            Err(_) => {
                return Encryption::Plain {
                    invalid_metadata: None,
                };
            }
        };
        let (encrypted, clear) = tally(&inspected.documents, &inspected.metadata.rule);
        let metadata = Box::new(inspected.metadata);
        if encrypted > 0 && clear.is_empty() {
            Encryption::Encrypted { metadata }
        } else {
            Encryption::Partial { metadata, clear }
        }
    }

    /// Whether encrypting the file with sops under `rule` would encrypt at least one value
    /// (empty strings, nulls and comments never are). Files sops already encrypted are judged
    /// by their keys, which stay in clear. A file its store cannot read counts as yes.
    pub fn would_encrypt(format: Format, bytes: &[u8], rule: &EncryptionRule) -> bool {
        let Some(documents) = data_documents(format, bytes) else {
            return true;
        };
        let (encrypted, clear) = tally(&documents, rule);
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
    match (format, parse_store(format, bytes)) {
        (_, Ok(parsed)) if parsed.metadata.is_some() || format != Format::Yaml => {
            Some(parsed.documents)
        }
        (Format::Binary, Err(_)) => {
            let mut document = Mapping::new();
            document.push("data", Value::Str(bytes.to_vec()));
            Some(vec![document])
        }
        (Format::Yaml, _) => parse_yaml(bytes).ok(),
        _ => None,
    }
}

/// How many leaves hold encrypted data, and where the leaves the rule encrypts are in clear,
/// with the document they are in.
fn tally(documents: &[Document], rule: &EncryptionRule) -> (usize, Vec<(usize, Vec<Segment>)>) {
    let mut encrypted = 0;
    let mut clear = Vec::new();
    visit_leaves(documents, rule, |leaf| match leaf.content {
        // An encrypted comment counts as encrypted data; a clear one is tolerated.
        LeafContent::Comment(text) => encrypted += usize::from(is_encrypted(text.trim_start())),
        _ if !leaf.rule_encrypts => {}
        // sops leaves empty strings as they are.
        LeafContent::Scalar(Value::Str(text)) if text.is_empty() => {}
        _ if leaf.is_encrypted() => encrypted += 1,
        _ => clear.push((leaf.document, leaf.path.to_vec())),
    });
    (encrypted, clear)
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
        let rule = EncryptionRule::EncryptedRegex(crate::sops::GoRegex::new("^(data|stringData)$"));
        let yaml = |text: &str| Encryption::would_encrypt(Format::Yaml, text.as_bytes(), &rule);
        assert!(!yaml("kind: Deployment\nspec:\n  replicas: 1\n"));
        assert!(!yaml("kind: Secret\nstringData:\n  empty: ''\n"));
        assert!(yaml("kind: Secret\nstringData:\n  a: b\n"));
        assert!(yaml("not: [valid"));
        let any = EncryptionRule::UnencryptedSuffix("_unencrypted".into());
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

/// The committed fixtures, read by this module and by decryption: both must see the same leaves
/// with the same verdicts, and agree on whether each file is properly encrypted.
#[cfg(test)]
mod agreement {
    use std::fs;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::sops::{Position, walk};

    /// Every file under `dir`, recursively, in a stable order.
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    /// The store a fixture is read with: `X.<store>.sops` names it (the shared vectors), any
    /// other file gets the store `ksops check` picks for its name.
    fn fixture_format(path: &Path) -> Format {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        name.strip_suffix(".sops")
            .and_then(|stem| stem.rsplit('.').next())
            .and_then(Format::from_name)
            .unwrap_or_else(|| Format::from_path(path))
    }

    /// The AAD decryption uses for a leaf at `path`.
    fn aad(document: usize, path: &[Segment]) -> String {
        let keys: Vec<String> = path
            .iter()
            .filter_map(|segment| match segment {
                Segment::Key(key) => Some(key.clone()),
                Segment::Index(_) => None,
            })
            .collect();
        Position {
            document,
            keys: &keys,
            path,
        }
        .aad()
    }

    /// A leaf as compared: document, path, whether it is a comment, whether the rule
    /// encrypts it.
    type Seen = (usize, Vec<Segment>, bool, bool);

    #[test]
    fn check_and_decryption_see_every_fixture_alike() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut paths = Vec::new();
        for dir in ["vectors", "generated", "check"] {
            files(&root.join(dir), &mut paths);
        }
        let (mut with_metadata, mut encrypted, mut partial) = (0, 0, 0);
        for path in paths {
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("reading {name}: {e}"));
            let format = fixture_format(&path);
            let verdict = Encryption::inspect(format, &bytes);
            let inspected = match inspect(&bytes, format) {
                Ok(inspected) => inspected,
                Err(error) => {
                    let invalid = match error {
                        DecryptError::Metadata(error) => Some(error.to_string()),
                        _ => None,
                    };
                    assert!(
                        matches!(&verdict, Encryption::Plain { invalid_metadata } if *invalid_metadata == invalid),
                        "{name}: decryption refuses it ({invalid:?}), check does not"
                    );
                    continue;
                }
            };
            with_metadata += 1;

            // Leaf by leaf: what decryption's walk meets, and what this module is shown.
            let mut walked: Vec<Seen> = Vec::new();
            let mut documents = inspected.documents.clone();
            walk(
                &mut documents,
                &inspected.metadata.rule,
                |at, leaf, rule_encrypts| {
                    let is_comment = matches!(leaf, Value::Comment(_));
                    walked.push((at.document, at.path.to_vec(), is_comment, rule_encrypts));
                    Ok(leaf)
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut shown: Vec<Seen> = Vec::new();
            inspected.visit_leaves(|leaf| {
                let is_comment = matches!(leaf.content, LeafContent::Comment(_));
                shown.push((
                    leaf.document,
                    leaf.path.to_vec(),
                    is_comment,
                    leaf.rule_encrypts,
                ));
            });
            assert!(!walked.is_empty(), "{name}: no leaf");
            assert_eq!(walked, shown, "{name}");

            // The verdict: a file check accepts is one decryption accepts, and a clear value
            // check reports is where decryption stops.
            let mut decrypted = 0;
            let outcome = inspected
                .replace_encrypted(|_| {
                    decrypted += 1;
                    Value::str("")
                })
                .map(|_| ());
            match (&verdict, outcome) {
                (Encryption::Encrypted { .. }, Ok(())) if decrypted > 0 => encrypted += 1,
                (Encryption::Partial { clear, .. }, Ok(())) if clear.is_empty() => {}
                (
                    Encryption::Partial { clear, .. },
                    Err(DecryptError::NotEncrypted { path, .. } | DecryptError::Value { path, .. }),
                ) if clear
                    .first()
                    .is_some_and(|(document, first)| aad(*document, first) == path) =>
                {
                    partial += 1;
                }
                (verdict, outcome) => {
                    let verdict = match verdict {
                        Encryption::Plain { .. } => "plain".to_owned(),
                        Encryption::Partial { clear, .. } => format!("clear at {clear:?}"),
                        Encryption::Encrypted { .. } => "encrypted".to_owned(),
                    };
                    panic!(
                        "{name}: check says {verdict}, decryption {outcome:?} ({decrypted} values)"
                    )
                }
            }
        }
        // Enough of each to mean something: every store and rule, and the partially
        // encrypted check fixtures.
        assert!(
            with_metadata >= 50 && encrypted >= 50 && partial >= 1,
            "{with_metadata} files with metadata, {encrypted} encrypted, {partial} partial"
        );
    }
}
